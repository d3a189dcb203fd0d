"""PTQ studio (``/model``) state <-> URL, and its lazy sections.

    /model?recipe=w8a8&calib=8&section=smoothquant

``recipe``: a key of :data:`quantlib.model.recipes.RECIPES` (default ``tflite_int8``);
``calib``: the representative-dataset size, 1..32 (default 16); ``section``: the open tab
(only that section is computed: the page's first visit no longer runs every study at once).
A bad value is reported on the page and the default is used.
"""

from __future__ import annotations


from lab.core.i18n import N_
from lab.core.state import Param, Sections, params_to_query, query_dict, read_params, url_is_new, write_url

__all__ = ["PAGE", "RECIPE", "N_CALIB", "TAB", "SECTIONS", "DEFAULT_RECIPE", "DEFAULT_N_CALIB", "model_load_url", "model_write_url", "open_section"]

PAGE = "model"
RECIPE = "model_recipe"
N_CALIB = "model_n_calib"
TAB = "model_tab"  # the open section's (translated) tab label
DEFAULT_RECIPE = "tflite_int8"
DEFAULT_N_CALIB = 16
SECTIONS: dict[str, str] = {
    "recipes": N_("Every recipe"),
    "outliers": N_("Activation outliers"),
    "smoothquant": N_("SmoothQuant"),
    "sensitivity": N_("Per-layer sensitivity"),
    "calibration": N_("Calibration"),
}
"""URL value -> tab label, in page order; the first is open by default."""


N_CALIB_RANGE = (1, 32)
CALIB_PARAM = Param("calib", N_CALIB, "int", default=DEFAULT_N_CALIB, lo=N_CALIB_RANGE[0], hi=N_CALIB_RANGE[1], clamp=False)
TABS = Sections(TAB, SECTIONS)


def recipe_param(recipe_keys: list[str]) -> Param:
    """``recipe``: one of the recipes the page offers (known only once they are loaded)."""
    return Param("recipe", RECIPE, "choice", default=DEFAULT_RECIPE, options=tuple(recipe_keys), lower=False)


def model_load_url(recipe_keys: list[str]) -> list[str]:
    """Apply a URL that came from outside to session state; returns the problems to show."""
    if not url_is_new(PAGE):
        return []
    qp = query_dict()
    return read_params(qp, (recipe_param(recipe_keys), CALIB_PARAM)) + TABS.read(qp)


def open_section() -> str:
    """The URL value of the open section (the first when none was chosen yet)."""
    return TABS.open()


def model_write_url() -> None:
    write_url(PAGE, {**params_to_query((recipe_param([]), CALIB_PARAM)), **TABS.to_query()})
