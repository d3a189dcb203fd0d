"""The Tensor Lab's "one block up close" tab: the block picker, where the block is, its constant
c and scale Δ = 1/c, the scheme's formulas filled in with the block's own numbers
(:mod:`lab.tensor.formulas`), its levels and how every value was rounded."""

from __future__ import annotations

import streamlit as st

from figures import tensor as figs
from lab.core.i18n import N_, _
from lab.tensor import cached as tc
from lab.tensor.formulas import block_formulas, tex_num, worst_element
from lab.tensor.state import TL

__all__ = ["block_up_close", "RULES", "FORMULA_NOTES"]

RULES = {
    "log": N_("rounded in the log domain"),
    "ternary": N_("the threshold rule"),
    "binary": N_("the sign rule"),
    "nf4": N_("nearest of x / absmax, in float32"),
    "bnb_fp4": N_("nearest of x / absmax, in float32"),
    "codebook": N_("nearest of x / absmax, in float32"),
}
FORMULA_NOTES = {
    "int": N_("Block-wise symmetric int-k (absmax), the notes' rule:"),
    "uint": N_("Asymmetric uint-k with a zero point z: the range [min, max] (extended to include 0) is cut into 2^k − 1 steps Δ:"),
    "nf4": N_("NF4, the notes' rule: x·c is moved to the nearest of the 16 NF4 levels; q is that level's index:"),
    "bnb_fp4": N_("bitsandbytes FP4: x·c is moved to the nearest of its 16 levels; q is that level's index:"),
    "codebook": N_("A codebook: x·c is moved to the nearest of its levels; q is that level's index:"),
    "mx": N_("Microscaling (MX): the block shares one power-of-two scale s, stored as one E8M0 byte; each element is cast to the element format:"),
    "nvfp4": N_("NVFP4 has two scales: a float32 scale s_t for the whole tensor X, and a scale s_b per block, itself stored in E4M3:"),
    "float": N_("A float cast rounds each value on its own to a value of the format, by the scheme's rounding mode (by default to the nearest, ties to even):"),
    "log": N_("Logarithmic: each value becomes a signed power of two, rounded in the log domain:"),
    "binary": N_("Binary (XNOR-Net): the sign of each value times α, the mean |x| of the group:"),
    "ternary": N_("Ternary (TWN): values below the threshold δ become 0, the others ±α:"),
}


def _where(zoom: dict) -> str:
    sel = zoom["sel"]
    if sel[0] == "block":
        return _("row {r}, columns {c0} to {c1}").format(r=sel[1], c0=sel[2], c1=sel[3] - 1)
    if sel[0] == "channel":
        return _("index {i} along axis {axis}").format(i=sel[2], axis=sel[1])
    return _("all {n} values").format(n=f"{zoom['n']:,}")


def _facts(zoom: dict, an: tc.Analysis) -> list[str]:
    """c, Δ = 1/c and how the block's scale is stored, in one line."""
    be = zoom["explain"]
    n = be.numbers if be is not None else {}
    facts = []
    if "c" in n:
        facts.append(_("c = **{c}**, scale Δ = 1/c = **{d}**").format(c=figs.num(n["c"], 8), d=figs.num(1 / n["c"], 8)))
        if be.family in ("int", "nf4", "bnb_fp4", "codebook") and zoom["dq_original"] is None:
            facts.append(_("stored as its absmax {a} (float32)").format(a=figs.num(zoom["scale"], 8)))
        elif be.family == "uint":
            facts.append(_("stored as Δ (float32) and the zero point z = {z}").format(z=n["z"]))
    elif "alpha" in n:
        facts.append(_("scale α = **{a}**").format(a=figs.num(n["alpha"], 8)))
    elif zoom["scale"] is not None:
        facts.append(_("Scale: **{s}**").format(s=figs.num(zoom["scale"], 8)))
    if zoom["scale_code"] is not None:
        if an.family in ("mx", "log"):
            facts.append(_("stored as the E8M0 byte {code} = 2^{e}").format(code=zoom["scale_code"], e=zoom["scale_code"] - 127))
        else:
            facts.append(_("stored as the E4M3 code {code}").format(code=f"0x{zoom['scale_code']:02X}"))
    if zoom["tensor_scale"] is not None:
        facts.append(_("times the tensor scale {ts}").format(ts=figs.num(zoom["tensor_scale"], 8)))
    if zoom["zero_point"] is not None and be is None:
        facts.append(_("zero point {zp}").format(zp=zoom["zero_point"]))
    if zoom["dq_original"] is not None:
        facts.append(
            _("double quantization stores the absmax {a} as the 8-bit code {c}, which gives back {s}").format(
                a=figs.num(zoom["dq_original"], 8), c=zoom["dq_code"], s=figs.num(zoom["scale"], 8)
            )
        )
    facts.append(_("codes of {bits} bits").format(bits=zoom["code_bits"]))
    return facts


def formulas(be) -> None:
    """The scheme's formulas with this block's numbers, for its value with the largest error."""
    lines = block_formulas(be)
    if not lines:
        return
    st.markdown(f"**{_('The formulas with this block’s numbers')}**")
    st.caption(
        _(
            "Notation of the notes: a block is multiplied by its constant c, x·c is rounded to q, and deq = q / c; the scale is Δ = 1/c, so deq = q·Δ. Every scale on this tab is Δ."
        )
    )
    st.markdown(_(FORMULA_NOTES[be.family]))
    with st.container(key="tl_formulas"):
        for tex in lines:
            st.latex(tex)
    n = be.numbers
    st.caption(
        _("Shown for element {i}, x = {x}: the value of this block (of those listed below) with the largest error, |ε| = {e}.").format(
            i=worst_element(be), x=figs.num(be.x[be.worst], 8), e=figs.num(abs(be.error[be.worst]), 4)
        )
    )
    if be.family == "mx" and n["rounding"] != "floor":
        st.caption(_("This scheme rounds the shared exponent with the {mode} rule instead of the spec's floor.").format(mode=n["rounding"]))
    if n.get("bits_dq") is not None:
        st.caption(
            _(
                "Bits per parameter: {b} code bits and a float32 absmax per block of {B}; double quantization stores each absmax as an 8-bit code instead, with one float32 per {k} absmaxes."
            ).format(b=n["code_bits"], B=n["block"], k=n["dq_block"])
        )
    if be.family == "nf4":
        st.caption(_("The 16 NF4 levels: {levels}").format(levels=", ".join(tex_num(v, 4) for v in n["levels"])))


def block_up_close(tensor: tc.Tensor, scheme: str, an: tc.Analysis, labels: dict) -> None:
    """The tab's content: pick a group (it starts at the worst), see its numbers and formulas."""
    ss = st.session_state
    x = tensor.array
    n_groups = an.n_groups
    if ss.get(TL.zoom_for) != (tensor.key, scheme):
        if ss.get(TL.zoom_for) != "url" or not isinstance(ss.get(TL.zoom), int):
            ss[TL.zoom] = an.worst_group
        ss[TL.zoom_for] = (tensor.key, scheme)
    ss[TL.zoom] = int(min(max(int(ss.get(TL.zoom) or 0), 0), n_groups - 1))
    c_num, c_where = st.columns([1, 2], vertical_alignment="bottom")
    if n_groups > 1:
        number_label = (_("Block number (0 to {last})") if an.kind == "block" else _("Channel number (0 to {last})")).format(last=n_groups - 1)
        group = c_num.number_input(
            number_label,
            min_value=0,
            max_value=n_groups - 1,
            step=1,
            key=TL.zoom,
            help=_("It starts at the one with the largest error. Blocks are numbered row by row."),
        )
    else:
        group = 0
        c_num.markdown(f"**{_('The whole tensor shares one scale')}**")
    zoom = tc.block_zoom(tensor.key, scheme, int(group), x)
    sel = zoom["sel"]
    c_where.markdown(
        _("{where} · {n} values · MSE {mse}{worst}").format(
            where=_where(zoom),
            n=f"{zoom['n']:,}",
            mse=figs.num(float(an.group_mse.reshape(-1)[zoom["group"]])),
            worst=(" · " + _("the largest error of all")) if zoom["group"] == an.worst_group and n_groups > 1 else "",
        )
    )
    st.markdown(" · ".join(_facts(zoom, an)))
    be = zoom["explain"]
    if be is not None:
        formulas(be)
    lv = zoom["levels"]
    if lv is not None and 0 < lv.size <= 32:
        st.markdown(_("Its {n} levels: {levels}").format(n=lv.size, levels=", ".join(figs.num(v, 4) for v in lv)))
    elif lv is not None:
        st.markdown(_("It has {n} levels, from {lo} to {hi}.").format(n=f"{lv.size:,}", lo=figs.num(lv.min()), hi=figs.num(lv.max())))
    if lv is None:
        st.info(_("This scheme has too many levels to list (a 32- or 64-bit format)."), icon=":material/info:")
        return
    integer_q = be is not None and be.family in ("int", "uint", "nf4", "bnb_fp4", "codebook", "binary", "ternary")
    table = figs.rounding_table(
        zoom["x"],
        zoom["xq"],
        None if integer_q else zoom["codes"],
        lv,
        scaled=be.scaled if be is not None and "c" in be.numbers else None,
        q=(be.codes if integer_q else be.values) if be is not None and be.family != "log" else None,
        clipped=zoom["clipped"],
        start=sel[2] if sel[0] == "block" else 0,
        rule=_(RULES[an.family]) if an.family in RULES else _("rounding {mode}").format(mode=scheme),
        labels=labels,
    )
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 460), key="tl_zoom_table")
    if be is not None and "c" in be.numbers:
        st.caption(_("x·c is the value before rounding, q what it rounds to (before the scale), and {stored} is deq = q·Δ.").format(stored=labels["col_xq"]))
    if zoom["n"] > zoom["x"].size:
        st.caption(_("The first {k} of its {n} values.").format(k=zoom["x"].size, n=f"{zoom['n']:,}"))
