"""The PTQ studio's (``/model``) "One layer up close" tab: one MiniLM Linear under GPTQ and AWQ.

    /model?section=closeup&layer=layer0.ffn_down&grid=int2:block=64&order=1

``layer``: a Linear of MiniLM (``layer0.q`` … ``layer5.ffn_down``; a bad name is reported and
:data:`DEFAULT_LAYER` shown); ``grid``: one of :data:`GRIDS`; ``order``: GPTQ's act order, 1 or
0.  :data:`PARAMS` are read and written with the page's other parameters (lab.model.state), into
*value keys* pinned onto the widgets on every run, as the page's other settings are (see
lab.model.state's docstring for why).

The close-ups are cached for every session (``st.cache_resource``: the page's inputs and GPTQ
traces are read only); :func:`render` draws the tab through :mod:`lab.core.closeup`, which the
language model page draws with too.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab.core.closeup import layer_problem, pickers, render_closeup
from lab.core.i18n import _
from lab.core.state import Param
from lab.llm.display import ptq_labels
from lab.model import cached as mc

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_LAYER",
    "DEFAULT_TEXTS",
    "GRID",
    "GRIDS",
    "LAYER",
    "ORDER",
    "PARAMS",
    "awq_closeup",
    "awq_note",
    "closeup_input",
    "gptq_closeup",
    "pin",
    "remember",
    "render",
    "value_key",
]

LAYER, GRID, ORDER = "model_closeup_layer", "model_closeup_grid", "model_closeup_order"
GRIDS = ("int4:block=64", "int3:block=64", "int2:block=64", "uint4:block=64", "nf4:block=64", "mxfp4")
DEFAULT_LAYER = "layer2.ffn_up"
DEFAULT_GRID = GRIDS[1]
DEFAULT_TEXTS = 128  # quantlib.model.ptq.DEFAULT_N, the page's default GPTQ / AWQ calibration
DEFAULTS = {LAYER: DEFAULT_LAYER, GRID: DEFAULT_GRID, ORDER: False}


def value_key(widget_key: str) -> str:
    """The non-widget session key that holds a pinned widget's value (lab.model.state's rule)."""
    return widget_key + "_value"


PARAMS = (
    Param("layer", value_key(LAYER), "text", default=DEFAULT_LAYER),
    Param("grid", value_key(GRID), "choice", default=DEFAULT_GRID, options=GRIDS, lower=False),
    Param("order", value_key(ORDER), "bool", default=False),
)
"""The tab's URL parameters (lab.model.state adds them to the page's)."""


def pin() -> None:
    """Each close-up widget's key gets the session's value (its default on a first visit)."""
    ss = st.session_state
    for key, default in DEFAULTS.items():
        ss.setdefault(value_key(key), default)
        ss[key] = ss[value_key(key)]


def remember(widget_key: str) -> None:
    """A pinned widget's ``on_change``: keep the user's choice under its value key."""
    st.session_state[value_key(widget_key)] = st.session_state[widget_key]


# --------------------------------------------------------------------------- cached work
@st.cache_resource(show_spinner=False, max_entries=8)
def closeup_input(name: str, n: int) -> np.ndarray:
    """The float model's input to the Linear ``name`` on ``n`` calibration texts (tokens, in)."""
    from quantlib.model.closeup import linear_input

    return linear_input(mc.model(), mc.ptq_batch(n), name)


@st.cache_resource(show_spinner=False, max_entries=8)
def gptq_closeup(name: str, grid: str, act_order: bool, n: int):
    """:func:`quantlib.model.closeup.gptq_closeup` of one Linear (kept for every session)."""
    from quantlib.model.closeup import gptq_closeup as run

    return run(mc.model(), closeup_input(name, n), name, grid, act_order=bool(act_order))


@st.cache_resource(show_spinner=False, max_entries=16)
def awq_closeup(name: str, grid: str, n: int):
    """:func:`quantlib.model.closeup.awq_closeup` of the group of one Linear."""
    from quantlib.model.closeup import awq_closeup as run

    return run(mc.model(), closeup_input(name, n), name, grid)


def awq_note(acu) -> str:
    """Where the group's ``1 / s`` goes in MiniLM, and why (the whole-model run's choice)."""
    from quantlib.model.ptq import RUNTIME_SCALE_BYTES

    if acu.prev is not None:
        return _(
            "In MiniLM this 1 / s costs nothing at run time: channel j of the attention context mixes channel j of v only (the softmax weights act on tokens), so it goes into row j of {prev} and its bias, exactly."
        ).format(prev=acu.prev)
    nbytes = RUNTIME_SCALE_BYTES * int(acu.search.scales.size)
    if acu.name.endswith("ffn_down"):
        return _(
            "In MiniLM this input comes out of GELU, and GELU(x / s) ≠ GELU(x) / s, so 1 / s cannot go into ffn_up's rows: the input is divided by s at run time, a stored float32 scale per channel ({b} bytes)."
        ).format(b=f"{nbytes:,}")
    return _(
        "In MiniLM this input is a LayerNorm's output that also feeds the residual, so folding 1 / s into the LayerNorm would divide the residual too: the input is divided by s at run time, a stored float32 scale per channel ({b} bytes)."
    ).format(b=f"{nbytes:,}")


# --------------------------------------------------------------------------- the tab
def render(*, n_texts: int = DEFAULT_TEXTS) -> None:
    """The tab's content: the pickers, then GPTQ and AWQ on the chosen Linear, calibrated on
    the first ``n_texts`` of GPTQ / AWQ's calibration texts (the page's setting)."""
    names = mc.linear_names()
    if problem := layer_problem(value_key(LAYER), names, DEFAULT_LAYER):
        st.warning(problem, icon=":material/link_off:")
    pin()
    layer, grid, order = pickers(names=names, grids=GRIDS, layer_key=LAYER, grid_key=GRID, order_key=ORDER, on_change=remember)
    n = int(n_texts)
    with st.spinner(_("Running the float model to {name} and GPTQ on it…").format(name=layer)):
        cu = gptq_closeup(layer, grid, order, n)
        acu = awq_closeup(layer, grid, n)
    render_closeup(
        gptq=cu,
        awq=acu,
        source=_("{n} calibration texts").format(n=n),
        key_prefix="model",
        labels=ptq_labels(),
        awq_note=awq_note(acu),
    )
