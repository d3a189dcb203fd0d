"""Lesson 4: float to float, bit by bit (quantlib.exact.cast_steps): re-bias the exponent,
round the mantissa half to even (narrowing) or pad it with zeros (widening), then check the
range.

float32 0.1 → bfloat16: e = 123 − 127 = −4, re-biased −4 + 127 = 123; the kept 7 bits are
1001100, the 16 dropped bits 1100110011001101 are more than half of the last kept bit: up,
0.10009765625.  float32 300 → float8_e4m3fn: 300 rounds to 288; 500 overflows to NaN.
"""

from __future__ import annotations

import streamlit as st

from quantlib import get_format
from quantlib.exact import parse_value, round_value
from quantlib.exact.cast_steps import cast_steps

from lab.core.i18n import N_, _
from lab.learn.core import Lesson, tex_number
from lab.learn.summary import NOTES_FORMATS

OUTCOMES = ("exact", "down", "up", "overflow", "underflow")
DECISIONS = {
    "exact": N_("exact, nothing dropped is non-zero"),
    "down": N_("less than half: round down"),
    "up": N_("more than half: round up"),
    "tie_down": N_("exactly half: to the even neighbour, down"),
    "tie_up": N_("exactly half: to the even neighbour, up"),
}
RESULT_KINDS = {"subnormal": N_("a subnormal"), "zero": N_("zero"), "normal": N_("a normal number")}


def outcome(steps) -> int:
    """Index into :data:`OUTCOMES` of what the cast did: overflow and underflow first, then the
    rounding decision (a tie counts as the way it went)."""
    if steps.overflow:
        return 3
    if steps.underflow:
        return 4
    if steps.decision in ("down", "tie_down"):
        return 1
    if steps.decision in ("up", "tie_up"):
        return 2
    return 0


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "Casting a float to another float (转型量化) works on the fields. The exponent is **re-biased**: subtract the source's bias, add the target's. The mantissa is **rounded** to the target's M bits when it is shorter (narrowing, e.g. float32 → bfloat16) or **padded with zeros** when it is longer (widening, exact). Then the range is checked: an exponent above the target's is an **overflow** (inf, or NaN in float8_e4m3fn), one below its smallest_normal a **subnormal** (fewer bits left) or zero. A correction to the notes: they say the low mantissa bits are truncated (截断); a cast rounds to nearest, ties to even (就近舍入（偶数优先）), as the dropped bits below decide."
        )
    )
    c_v, c_s, c_d = st.columns(3)
    text = c_v.text_input(_("Value"), "0.1", key=lesson.key("value"), help=_("A decimal number; it is first stored in the source format, then cast."))
    src_name = c_s.selectbox(_("From"), NOTES_FORMATS, index=NOTES_FORMATS.index("float32"), key=lesson.key("src"))
    dst_name = c_d.selectbox(_("To"), NOTES_FORMATS, index=NOTES_FORMATS.index("bfloat16"), key=lesson.key("dst"))
    try:
        parse_value(text)
    except ValueError:
        st.error(_("Type a decimal number, e.g. 0.1, -2.5 or 1e-3."), icon=":material/error:")
        return
    src, dst = get_format(src_name), get_format(dst_name)
    steps = cast_steps(round_value(text, src), src, dst)
    info = steps.src
    if steps.special is not None or info.value is None or info.value == 0:
        st.error(
            _("{value} is stored in {src} as {decimal}: there is nothing to re-bias or round. Type a non-zero value inside {src}'s range (up to {max:.4g}).").format(value=text.strip(), src=src_name, decimal=info.decimal, max=src.max),
            icon=":material/error:",
        )
        return
    res = steps.result
    st.markdown(
        _("In {src}: sign `{s}` · exponent `{e}` · mantissa `{m}` = {decimal}").format(src=src_name, s=info.sign_bits, e=info.exponent_bits, m=info.mantissa_bits or "—", decimal=f"`{info.decimal}`")
    )
    field = r"%d - %d = " % (info.exponent_field, src.bias) if info.kind == "normal" else ""
    lesson.formula(
        r"e = e_{\text{src}} - \text{bias}_{\text{src}} = %s%d,\qquad e_{\text{dst}} = e + \text{bias}_{\text{dst}} = %d + %d = %d" % (field, steps.exponent, steps.exponent, dst.bias, steps.dst_field)
    )
    if steps.padded:
        st.markdown(_("The mantissa is widened: {n} zero bits are appended, nothing is lost: `{kept}`").format(n=steps.padded, kept=steps.kept))
    else:
        st.markdown(
            _("Mantissa: the target keeps {M} bits `{kept}` and drops `{dropped}`; the dropped bits are compared with half of the last kept bit: **{decision}**.").format(
                M=dst.nmant, kept=steps.kept or "—", dropped=steps.dropped or "—", decision=_(DECISIONS[steps.decision or "exact"])
            )
        )
    if res is not None and res.value is not None:
        lesson.formula(r"%s \to %s:\quad %s \to %s" % (r"\texttt{%s}" % src_name.replace("_", r"\_"), r"\texttt{%s}" % dst_name.replace("_", r"\_"), tex_number(float(info.value), 10), tex_number(float(res.value), 10)))
    if steps.overflow:
        st.warning(_("Overflow: {dst}'s largest exponent is {emax}, so the result is {decimal}.").format(dst=dst_name, emax=dst.emax, decimal=res.decimal if res else "—"), icon=":material/warning:")
    elif steps.underflow:
        st.info(_("Underflow: the exponent {e} is below {dst}'s smallest normal exponent {minexp}, so the result is {kind}: {decimal}.").format(e=steps.exponent, dst=dst_name, minexp=dst.minexp, kind=_(RESULT_KINDS.get(res.kind, res.kind)) if res else "—", decimal=res.decimal if res else "—"), icon=":material/info:")

    options = [_("stays exactly the same"), _("rounds down (toward zero)"), _("rounds up (away from zero)"), _("overflows"), _("becomes subnormal or zero")]
    k = outcome(steps)
    why = _("{value} is {a} in {src} and {b} in {dst}; the exponent re-biases to field {field} and the dropped bits were `{dropped}`.").format(
        value=text.strip(), a=info.decimal, src=src_name, b=res.decimal if res else "—", dst=dst_name, field=steps.dst_field, dropped=steps.dropped or "—"
    )
    lesson.predict(_("Cast from {src} to {dst}, what happens to {value}?").format(src=src_name, dst=dst_name, value=text.strip()), options, k, why)
    lesson.open_tool(_("Open the Bit Inspector's cast view on this value"), "app_pages/bits.py", {"format": src_name, "value": text.strip(), "cast": dst_name})
