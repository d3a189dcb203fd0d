"""PTQ studio (``/model``) state <-> URL, and its lazy sections.

    /model?recipe=w8a8&calib=8&section=smoothquant
    /model?recipe=nf4&method=gptq&ptq_calib=64&section=methods
    /model?recipe=nf4&emb=1
    /model?section=closeup&layer=layer0.ffn_down&grid=int2:block=64&order=1

``recipe``: a key of :data:`quantlib.model.recipes.RECIPES` (default ``tflite_int8``);
``calib``: the representative-dataset size, 1..32 (default 16); ``method``: how a weight-only
recipe's weights are rounded, ``rtn`` / ``gptq`` / ``awq`` (default ``rtn``: the recipe as it
is); ``ptq_calib``: GPTQ's and AWQ's calibration texts, one of :data:`PTQ_N_OPTIONS` (default
128); ``emb``: 1 to quantize the token embedding table too, with the recipe's weight scheme
(default 0: it stays float32, as in every recipe but float16); ``section``: the open tab (only that section is computed: the page's first visit no
longer runs every study at once).  A bad value is reported on the page and the default is used.

The settings are held under *value keys* (``model_recipe_value`` …), not only under the widgets'
keys: :func:`pin_widgets` copies each value into its widget's key before the widget is drawn, on
every run, and the widget's ``on_change`` (:func:`remember`) copies a user's choice back.  Why:
a keyed widget whose value was set once through session state (``setdefault`` on the first run)
is then displayed from the *browser's* copy of its state; when a tab click's rerun interrupts a
run, that copy can be dropped, the browser then shows the widget's own default (the first
recipe, "float32 (reference)", and the slider's minimum, 1) and sends it back as the user's
choice: the flake of ``tests/e2e/test_model_browser.py::test_each_section_opens``.  With the value
re-sent on every run the browser never decides a setting the session did not choose.
"""

from __future__ import annotations

import streamlit as st

from lab.core.i18n import N_
from lab.llm.state import METHODS as METHOD_LABELS  # the same three methods, the same words
from lab.model.closeup import PARAMS as CLOSEUP_PARAMS
from lab.core.state import Param, Sections, params_to_query, query_dict, read_params, url_is_new, write_url

__all__ = [
    "PAGE",
    "RECIPE",
    "N_CALIB",
    "METHOD",
    "PTQ_N",
    "EMB",
    "TAB",
    "SECTIONS",
    "DEFAULT_RECIPE",
    "DEFAULT_N_CALIB",
    "DEFAULT_METHOD",
    "DEFAULT_PTQ_N",
    "DEFAULT_EMB",
    "METHODS",
    "METHOD_LABELS",
    "PTQ_N_OPTIONS",
    "model_load_url",
    "model_write_url",
    "open_section",
    "pin_widgets",
    "remember",
    "value",
    "value_key",
]

PAGE = "model"
RECIPE = "model_recipe"
N_CALIB = "model_n_calib"
METHOD = "model_method"
PTQ_N = "model_ptq_n"
EMB = "model_emb"
TAB = "model_tab"  # the open section's (translated) tab label
DEFAULT_RECIPE = "tflite_int8"
DEFAULT_N_CALIB = 16
METHODS = ("rtn", "gptq", "awq")  # quantlib.model.ptq.METHODS (not imported: no model needed here)
DEFAULT_METHOD = "rtn"
PTQ_N_OPTIONS = (32, 64, 128, 256)
DEFAULT_PTQ_N = 128
DEFAULT_EMB = False
SECTIONS: dict[str, str] = {
    "recipes": N_("Every recipe"),
    "outliers": N_("Activation outliers"),
    "smoothquant": N_("SmoothQuant"),
    "sensitivity": N_("Per-layer sensitivity"),
    "calibration": N_("Calibration"),
    "methods": N_("GPTQ and AWQ"),
    "closeup": N_("One layer up close"),
}
"""URL value -> tab label, in page order; the first is open by default."""

DEFAULTS = {RECIPE: DEFAULT_RECIPE, N_CALIB: DEFAULT_N_CALIB, METHOD: DEFAULT_METHOD, PTQ_N: DEFAULT_PTQ_N, EMB: DEFAULT_EMB}
"""Widget key -> default, for the settings pinned by :func:`pin_widgets`."""


def value_key(widget_key: str) -> str:
    """The non-widget session key that holds a pinned widget's value."""
    return widget_key + "_value"


N_CALIB_RANGE = (1, 32)
CALIB_PARAM = Param("calib", value_key(N_CALIB), "int", default=DEFAULT_N_CALIB, lo=N_CALIB_RANGE[0], hi=N_CALIB_RANGE[1], clamp=False)
METHOD_PARAM = Param("method", value_key(METHOD), "choice", default=DEFAULT_METHOD, options=METHODS)
PTQ_N_PARAM = Param("ptq_calib", value_key(PTQ_N), "int", default=DEFAULT_PTQ_N, options=PTQ_N_OPTIONS)
EMB_PARAM = Param("emb", value_key(EMB), "bool", default=DEFAULT_EMB)
TABS = Sections(TAB, SECTIONS)


def recipe_param(recipe_keys: list[str]) -> Param:
    """``recipe``: one of the recipes the page offers (known only once they are loaded)."""
    return Param("recipe", value_key(RECIPE), "choice", default=DEFAULT_RECIPE, options=tuple(recipe_keys), lower=False)


def _params(recipe_keys: list[str]) -> tuple[Param, ...]:
    return (recipe_param(recipe_keys), CALIB_PARAM, METHOD_PARAM, PTQ_N_PARAM, EMB_PARAM, *CLOSEUP_PARAMS)


def model_load_url(recipe_keys: list[str]) -> list[str]:
    """Apply a URL that came from outside to session state; returns the problems to show."""
    if not url_is_new(PAGE):
        return []
    qp = query_dict()
    return read_params(qp, _params(recipe_keys)) + TABS.read(qp)


def pin_widgets() -> None:
    """Before the widgets are drawn, on every run: each pinned widget's key gets the session's
    value (its default on a session's first visit).  See the module docstring for why."""
    ss = st.session_state
    for key, default in DEFAULTS.items():
        vk = value_key(key)
        if vk not in ss:
            ss[vk] = default
        ss[key] = ss[vk]


def remember(widget_key: str) -> None:
    """A pinned widget's ``on_change``: keep the user's choice under its value key."""
    st.session_state[value_key(widget_key)] = st.session_state[widget_key]


def value(widget_key: str):
    """The session's value of a pinned setting."""
    return st.session_state.get(value_key(widget_key), DEFAULTS[widget_key])


def open_section() -> str:
    """The URL value of the open section (the first when none was chosen yet)."""
    return TABS.open()


def model_write_url() -> None:
    write_url(PAGE, {**params_to_query(_params([])), **TABS.to_query()})
