"""PTQ studio (``/model``) state <-> URL, and its lazy sections.

    /model?recipe=w8a8&calib=8&section=smoothquant

``recipe``: a key of :data:`quantlib.model.recipes.RECIPES` (default ``tflite_int8``);
``calib``: the representative-dataset size, 1..32 (default 16); ``section``: the open tab
(only that section is computed: the page's first visit no longer runs every study at once).
A bad value is reported on the page and the default is used.
"""

from __future__ import annotations

import streamlit as st

from lab.core.i18n import N_, _
from lab.core.state import _choice_param, _int_param, query_dict, url_is_new, write_url

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


def model_load_url(recipe_keys: list[str]) -> list[str]:
    """Apply a URL that came from outside to session state; returns the problems to show."""
    if not url_is_new(PAGE):
        return []
    qp, problems, ss = query_dict(), [], st.session_state
    if "recipe" in qp:
        try:
            ss[RECIPE] = _choice_param(qp, "recipe", recipe_keys)
        except ValueError as exc:
            problems.append(str(exc))
    if "calib" in qp:
        try:
            n = _int_param(qp, "calib")
            if not 1 <= n <= 32:
                raise ValueError
            ss[N_CALIB] = n
        except ValueError:
            problems.append(_("URL parameter {name}={value!r} is not one of {options}.").format(name="calib", value=qp["calib"], options="1 … 32"))
    if "section" in qp:
        try:
            ss[TAB] = _(SECTIONS[_choice_param(qp, "section", SECTIONS)])
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def open_section() -> str:
    """The URL value of the open section (the first when none was chosen yet)."""
    label = st.session_state.get(TAB)
    for key, msgid in SECTIONS.items():
        if label == _(msgid):
            return key
    return next(iter(SECTIONS))


def model_write_url() -> None:
    ss, params = st.session_state, {}
    if ss.get(RECIPE, DEFAULT_RECIPE) != DEFAULT_RECIPE:
        params["recipe"] = ss[RECIPE]
    if ss.get(N_CALIB, DEFAULT_N_CALIB) != DEFAULT_N_CALIB:
        params["calib"] = str(ss[N_CALIB])
    if open_section() != next(iter(SECTIONS)):
        params["section"] = open_section()
    write_url(PAGE, params)
