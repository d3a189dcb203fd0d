"""URL state of the "Smaller, not faster" page (``/cost``).

``?model=llama2-70b&ctx=8192&batch=4&hw=h100`` (defaults left out); ``model=custom`` adds
``params`` (millions), ``layers``, ``kvh`` and ``hd`` (the KV cache's shape).  ``kv`` (the KV
cache's format), ``scheme`` (the one worked out in the formulas) and ``deq`` (fused or
materialized dequantization) are kept too.  The hardware's figures are widgets filled in from
the chosen profile; edits stay in the session, the URL names the profile.
"""

from __future__ import annotations

import streamlit as st

from quantlib.cost import HARDWARE, KV_FORMATS, MODELS, WEIGHT_SCHEMES, Hardware, ModelShape

from lab.core.state import Param, params_to_query, query_dict, read_params, url_is_new, write_url

__all__ = [
    "COST",
    "CUSTOM",
    "HW_FIELDS",
    "MATMUL_SIZES",
    "MATVEC_SIZES",
    "PARAMS",
    "cost_load_url",
    "hardware",
    "model",
    "on_profile",
    "set_profile",
    "write_cost_url",
]

CUSTOM = "custom"
MATVEC_SIZES = (1024, 2048, 4096)
MATMUL_SIZES = (128, 256, 512)
HW_FIELDS = ("bandwidth", "float32", "bfloat16", "float8", "int8", "float4")


class COST:
    """Session-state keys of the page."""

    page = "cost"
    model = "cost_model"
    params = "cost_params"  # millions, custom model only
    layers = "cost_layers"
    kvh = "cost_kvh"
    hd = "cost_hd"
    ctx = "cost_ctx"
    batch = "cost_batch"
    kv = "cost_kv"
    scheme = "cost_scheme"
    hw = "cost_hw"
    deq = "cost_deq"
    block_scaled = "cost_hw_block_scaled"
    matvec = "cost_matvec"
    matmul = "cost_matmul"
    measured = "cost_measured"  # the (matvec, matmul) sizes last measured in this session
    notes = "cost_url_notes"

    @staticmethod
    def field(name: str) -> str:
        return "cost_hw_" + name


_SEVEN_B = MODELS["llama2-7b"]
PARAMS = (
    Param("model", COST.model, "choice", default="llama2-7b", options=(*MODELS, CUSTOM)),
    Param("params", COST.params, "float", default=7000.0, lo=1.0, hi=10_000_000.0),
    Param("layers", COST.layers, "int", default=_SEVEN_B.n_layers, lo=1, hi=1000),
    Param("kvh", COST.kvh, "int", default=_SEVEN_B.n_kv_heads, lo=1, hi=1024),
    Param("hd", COST.hd, "int", default=_SEVEN_B.kv_head_dim, lo=1, hi=4096),
    Param("ctx", COST.ctx, "int", default=2048, lo=1, hi=1_048_576),
    Param("batch", COST.batch, "int", default=1, lo=1, hi=4096),
    Param("kv", COST.kv, "choice", default="float16", options=KV_FORMATS),
    Param("scheme", COST.scheme, "choice", default="nf4:block=64,dq", options=WEIGHT_SCHEMES),
    Param("hw", COST.hw, "choice", default="a100", options=tuple(HARDWARE)),
    Param("deq", COST.deq, "choice", default="fused", options=("fused", "materialized")),
)
"""The page's URL parameters (``params``, ``layers``, ``kvh``, ``hd``: only for ``model=custom``)."""


def set_profile(name: str) -> None:
    """Fill the hardware widgets with the figures of profile ``name``."""
    ss = st.session_state
    hw = HARDWARE[name]
    for f in HW_FIELDS:
        ss[COST.field(f)] = float(getattr(hw, f))
    ss[COST.block_scaled] = hw.block_scaled


def on_profile() -> None:
    """The profile selector's callback: its figures replace any edits."""
    set_profile(st.session_state[COST.hw])


def _defaults() -> None:
    ss = st.session_state
    for p in PARAMS:
        ss.setdefault(p.key, p.default)
    ss.setdefault(COST.matvec, 2048)  # 4096: 64 MB of float32, a few seconds on a busy server's first run
    ss.setdefault(COST.matmul, MATMUL_SIZES[-1])
    if COST.field("bandwidth") not in ss:
        set_profile(ss[COST.hw])


def cost_load_url() -> None:
    """Apply the URL when it came from outside (a link, a reload); the notes of bad values are
    kept for the page to show."""
    _defaults()
    if not url_is_new(COST.page):
        return
    ss = st.session_state
    before = ss[COST.hw]
    ss[COST.notes] = read_params(query_dict(), PARAMS)
    if ss[COST.hw] != before or "hw" in query_dict():
        set_profile(ss[COST.hw])


def model() -> tuple[str, ModelShape, float]:
    """(name, shape, parameter count) of the model the widgets describe."""
    ss = st.session_state
    name = ss[COST.model]
    if name in MODELS:
        shape = MODELS[name]
        return name, shape, float(shape.params)
    layers, kvh, hd = int(ss[COST.layers]), int(ss[COST.kvh]), int(ss[COST.hd])
    shape = ModelShape(layers, kvh * hd, 0, kvh, kvh, 0, head_dim=hd)
    return name, shape, float(ss[COST.params]) * 1e6


def hardware() -> Hardware:
    """The profile as edited in the widgets."""
    ss = st.session_state
    values = {f: max(0.0, float(ss[COST.field(f)] or 0.0)) for f in HW_FIELDS}
    return HARDWARE[ss[COST.hw]].edited(**values, block_scaled=bool(ss[COST.block_scaled]))


def cost_url() -> dict[str, str]:
    ss = st.session_state
    custom = ss[COST.model] == CUSTOM
    params = [p for p in PARAMS if custom or p.name not in ("params", "layers", "kvh", "hd")]
    return params_to_query(params)


def write_cost_url() -> None:
    write_url(COST.page, cost_url())
