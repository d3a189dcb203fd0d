"""Lesson 3: the format table, float64 down to 4 bits: range (exponent bits) against precision
(mantissa bits).

bfloat16 (1/8/7) reaches max = (1 + 127/128)·2^127 ≈ 3.39e38 with eps = 2^−7 = 0.0078125;
float16 (1/5/10) only 65504 = (1 + 1023/1024)·2^15 but eps = 2^−10: same 16 bits, one spent
on range, the other on precision.  NF4 is no float: a 4-bit index into 16 levels.
"""

from __future__ import annotations

from fractions import Fraction

import streamlit as st

from quantlib import get_format
from quantlib.codebooks import NF4_CODEBOOK

from figures.learn import LABELS, range_figure
from lab.core.i18n import _, current_lang, translated
from lab.core.widgets import PLOTLY_CONFIG
from lab.learn.core import Lesson, tex_number
from lab.learn.summary import FINFO_COLUMNS, NOTES_FORMATS, format_rows


def max_fields(fmt) -> tuple[int, int]:
    """(k, emax) with ``max = (1 + k/2^M) · 2^emax``: float16 (1023, 15), float8_e4m3fn (6, 8)."""
    sig = fmt.max_exact / Fraction(2) ** fmt.emax
    return int((sig - 1) * 2**fmt.nmant), fmt.emax


def limits_tex(fmt) -> str:
    """The four limits of ``fmt`` from its fields, numbers filled in."""
    k, emax = max_fields(fmt)
    return r"\texttt{%s}:\ \max = \left(1 + \tfrac{%d}{2^{%d}}\right) 2^{%d} = %s,\quad \text{eps} = 2^{-%d} = %s,\quad \text{smallest\_normal} = 2^{%d},\quad \text{smallest\_subnormal} = 2^{%d - %d} = %s" % (
        fmt.name.replace("_", r"\_"),
        k,
        fmt.nmant,
        emax,
        tex_number(fmt.max),
        fmt.nmant,
        tex_number(fmt.eps),
        fmt.minexp,
        fmt.minexp,
        fmt.nmant,
        tex_number(fmt.smallest_subnormal, 3),
    )


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "The notes' table, with every limit computed from the three fields (named as numpy.finfo names them: **eps**, the gap between 1 and the next value, is the precision; **max** and **smallest_normal** bound the range; **smallest_subnormal** is the smallest non-zero value). Exponent bits buy range, mantissa bits buy precision. TF32 (tfloat32, NVIDIA Ampere) keeps float32's 8 exponent bits and float16's 10 mantissa bits: it sits in 32-bit registers but only 19 bits count. bfloat16 (Google Brain) is float32 with 16 mantissa bits cut off. The notes' FP4 is float4_e2m1fn; NF4 (QLoRA) is not a float at all: a 4-bit index 0–15 into 16 fixed levels, scaled by each block's absmax."
        )
    )
    rows = format_rows(current_lang())
    st.dataframe(rows, hide_index=True, column_order=("name", "bits", "S/E/M", "bias", *FINFO_COLUMNS))

    c_a, c_b = st.columns(2)
    a = c_a.selectbox(_("Format A"), NOTES_FORMATS, index=NOTES_FORMATS.index("bfloat16"), key=lesson.key("a"))
    b = c_b.selectbox(_("Format B"), NOTES_FORMATS, index=NOTES_FORMATS.index("float16"), key=lesson.key("b"))
    fa, fb = get_format(a), get_format(b)
    for f in (fa, fb):
        lesson.formula(limits_tex(f))

    fig = range_figure([(n, get_format(n).smallest_subnormal, get_format(n).smallest_normal, get_format(n).max) for n in NOTES_FORMATS], picked=(a, b), labels=translated(LABELS))
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=lesson.key("range"))
    st.caption(_("Each bar is the range of powers of two a format holds (dark: its normal numbers, light: the subnormals below them): compare the lengths of A and B; the bar's length is set by the exponent bits alone."))

    if fa.max == fb.max:
        answer = 2
    else:
        answer = 0 if fa.max > fb.max else 1
    why = _("{a} ({ea} exponent bits) reaches {ma:.4g} and {b} ({eb} exponent bits) {mb:.4g}. Precision goes the other way round to the mantissa bits: eps is {pa:.3g} for {a} and {pb:.3g} for {b}.").format(
        a=a, b=b, ea=fa.nexp, eb=fb.nexp, ma=fa.max, mb=fb.max, pa=fa.eps, pb=fb.eps
    )
    lesson.predict(_("Which has the larger range (the larger max), {a} or {b}?").format(a=a, b=b), [a, b, _("the same")], answer, why)
    st.caption(_("NF4's 16 levels, from code 0 to 15: {levels}").format(levels=", ".join(f"{v:.4g}" for v in NF4_CODEBOOK.values)))
    lesson.open_tool(_("Open the Format Comparison with these two formats"), "app_pages/formats.py", {"formats": f"{a},{b}" if a != b else a})
