"""Language model page (``/llm``) state <-> URL.

    /llm?w=q4_k&emb=q8_0&keep=0,29&act=int8:axis=0&kv=int8:axis=0&method=gptq&calib=16&prompt=...&section=presets

``w``: the scheme of the blocks' Linears (``shipped``: as shipped); ``emb``: the scheme of the
token embedding / output head (absent: as shipped); ``keep``: blocks left as shipped; ``act``,
``kv``: activation and KV-cache quantization (one of the page's options); ``prompt``: the
user's prompt; ``method``: how the weights are rounded (rtn, gptq, awq) and ``calib`` on how
many calibration windows of 128 tokens (1 ... 64); ``order`` (GPTQ's act order) and ``clip``
(AWQ's clip search), 1 or 0; ``layer`` and ``grid``: the Linear and the grid of the close-up
tab; ``section``: the open tab.  A bad value is reported and the default used.
"""

from __future__ import annotations


from lab.core.i18n import N_, _
from lab.core.state import Param, Sections, params_to_query, query_dict, read_params, shown_value, url_is_new, write_url

__all__ = [
    "ACT",
    "ACT_OPTIONS",
    "ACT_ORDER",
    "CALIB",
    "CLIP",
    "CLOSEUP_GRIDS",
    "CLOSEUP_GRID",
    "CLOSEUP_LAYER",
    "CLOSEUP_ORDER",
    "DEFAULT_CALIB",
    "DEFAULT_CLOSEUP_LAYER",
    "DEFAULT_PRESET",
    "EMB",
    "KEEP",
    "KV",
    "KV_OPTIONS",
    "METHOD",
    "METHODS",
    "PAGE",
    "PARAMS",
    "PROMPT",
    "SECTIONS",
    "SHIPPED",
    "TAB",
    "WEIGHTS",
    "llm_load_url",
    "llm_write_url",
    "open_section",
    "parse_keep",
]

PAGE = "llm"
WEIGHTS, EMB, KEEP, ACT, KV, PROMPT, TAB = "llm_w", "llm_emb", "llm_keep", "llm_act", "llm_kv", "llm_prompt", "llm_tab"
SHIPPED = "shipped"
DEFAULT_PRESET = "Q4_K"
DEFAULT_WEIGHTS = "q4_k"
DEFAULT_PROMPT = "What is the capital of France?"
METHOD, CALIB, ACT_ORDER, CLIP = "llm_method", "llm_calib", "llm_act_order", "llm_clip"
CLOSEUP_LAYER, CLOSEUP_GRID, CLOSEUP_ORDER = "llm_closeup_layer", "llm_closeup_grid", "llm_closeup_order"
DEFAULT_CALIB = 16
CALIB_RANGE = (1, 64)
METHODS: dict[str, str] = {
    "rtn": N_("RTN (round to nearest)"),
    "gptq": N_("GPTQ (error compensation)"),
    "awq": N_("AWQ (activation-aware scales)"),
}
CLOSEUP_GRIDS = ("uint4:block=64", "uint3:block=64", "uint2:block=64", "int4:block=128", "nf4:block=64", "mxfp4")
DEFAULT_CLOSEUP_LAYER = "blk.2.ffn_up"

ACT_OPTIONS: dict[str, str] = {
    "none": N_("float32 (as the reference)"),
    "int8:axis=0": N_("int8, one scale per token (dynamic)"),
    "int8": N_("int8, one scale per tensor (dynamic)"),
    "float8_e4m3fn:scaled,axis=0": N_("FP8 E4M3, one scale per token"),
}
KV_OPTIONS: dict[str, str] = {
    "none": N_("float32 (as the reference)"),
    "int8:axis=0": N_("int8, one scale per token and head"),
    "float8_e4m3fn": N_("FP8 E4M3 (a plain cast)"),
    "int4:axis=0": N_("int4, one scale per token and head"),
}
SECTIONS: dict[str, str] = {
    "presets": N_("Every preset"),
    "sensitivity": N_("Per-block sensitivity"),
    "outliers": N_("Activation outliers"),
    "methods": N_("RTN, GPTQ and AWQ"),
    "closeup": N_("One layer up close"),
}

PARAMS = (
    Param("w", WEIGHTS, "text", default=DEFAULT_WEIGHTS),
    Param("emb", EMB, "text", default=""),
    Param("keep", KEEP, "text", default=""),
    Param("act", ACT, "choice", default="none", options=tuple(ACT_OPTIONS), lower=False),
    Param("kv", KV, "choice", default="none", options=tuple(KV_OPTIONS), lower=False),
    Param("prompt", PROMPT, "text", default=DEFAULT_PROMPT),
    Param("method", METHOD, "choice", default="rtn", options=tuple(METHODS)),
    Param("calib", CALIB, "int", default=DEFAULT_CALIB, lo=CALIB_RANGE[0], hi=CALIB_RANGE[1]),
    Param("order", ACT_ORDER, "bool", default=False),
    Param("clip", CLIP, "bool", default=False),
    Param("layer", CLOSEUP_LAYER, "text", default=DEFAULT_CLOSEUP_LAYER),
    Param("grid", CLOSEUP_GRID, "choice", default=CLOSEUP_GRIDS[1], options=CLOSEUP_GRIDS, lower=False),
)
TABS = Sections(TAB, SECTIONS)


def parse_keep(text: str, n_blocks: int) -> tuple[tuple[int, ...], str | None]:
    """``"0, 29"`` -> ((0, 29), None); a bad entry is dropped with a note."""
    out, bad = set(), []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        if part.isdigit() and int(part) < n_blocks:
            out.add(int(part))
        else:
            bad.append(part)
    note = _("Blocks {bad} do not exist (the model has blocks 0…{last}) and are ignored.").format(bad=", ".join(shown_value(b) for b in bad), last=n_blocks - 1) if bad else None
    return tuple(sorted(out)), note


def llm_load_url() -> list[str]:
    """Apply a URL that came from outside to session state; returns the problems to show."""
    if not url_is_new(PAGE):
        return []
    qp = query_dict()
    return read_params(qp, PARAMS) + TABS.read(qp)


def open_section() -> str:
    return TABS.open()


def llm_write_url() -> None:
    write_url(PAGE, {**params_to_query(PARAMS), **TABS.to_query()})
