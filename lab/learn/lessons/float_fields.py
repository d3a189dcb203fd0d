"""Lesson 2: the three fields of a float, fp = (−1)^s · 2^(e − bias) · (1 + m).

float32 0.1 is stored as 0 01111011 10011001100110011001101: s = 0, e = 123,
bias = 2^(8−1) − 1 = 127, m = 5033165/2^23 = 0.6000000238, so fp = 2^−4 · 1.6000000238 =
0.100000001490116…; the question, "is 0.1 + 0.2 == 0.3?", is answered by rounding in the
picked format with quantlib.exact (float32: yes; float64 and bfloat16: no).
"""

from __future__ import annotations

from fractions import Fraction

import streamlit as st

from quantlib import get_format
from quantlib.exact import code_value, decompose, parse_value, round_value

from lab.core.i18n import _
from lab.learn.core import Lesson, tex_number
from lab.learn.summary import NOTES_FORMATS

MAX_TERMS = 6  # mantissa terms written out before "+ ⋯"


def stored(text: str, fmt) -> Fraction | None:
    """The exact value ``text`` is stored as in ``fmt`` (None for inf/NaN): ``stored("0.1", "bfloat16") == Fraction(0.10009765625)``."""
    ev = code_value(round_value(text, fmt), fmt)
    return ev.as_fraction() if ev.kind == "finite" else None


def sum_check(fmt_name: str, a: str = "0.1", b: str = "0.2", c: str = "0.3") -> tuple[bool, dict[str, str]]:
    """Whether ``a + b == c`` in ``fmt_name``: a and b are stored, added exactly and the sum rounded
    once (what IEEE addition does), then compared with c as stored.  Returns (equal, the decimals)."""
    fmt = get_format(fmt_name)
    sa, sb = stored(a, fmt), stored(b, fmt)
    sum_code = round_value(sa + sb, fmt)
    c_code = round_value(c, fmt)
    equal = code_value(sum_code, fmt).as_fraction() == code_value(c_code, fmt).as_fraction()
    dec = {
        "a": decompose(round_value(a, fmt), fmt).decimal,
        "b": decompose(round_value(b, fmt), fmt).decimal,
        "s": decompose(sum_code, fmt).decimal,
        "c": decompose(c_code, fmt).decimal,
    }
    return equal, dec


def mantissa_terms(bits: str) -> str:
    """``mantissa_terms("101") == "2^{-1} + 2^{-3}"``; "0" when no bit is set."""
    ones = [n for n, b in enumerate(bits, start=1) if b == "1"]
    if not ones:
        return "0"
    terms = " + ".join(f"2^{{-{n}}}" for n in ones[:MAX_TERMS])
    return terms + (r" + \cdots" if len(ones) > MAX_TERMS else "")


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "A float is three fields of bits. The **sign** s (0: positive, 1: negative); the **exponent** e, E bits read as an unsigned integer from which the **bias** (偏移量, a fixed offset so that negative powers of two need no sign) is subtracted: more exponent bits, more range; and the **mantissa** m (尾数, also called fraction), M bits after a binary point: more mantissa bits, more precision. For a normal number the value is the formula below."
        )
    )
    c_fmt, c_val = st.columns(2)
    name = c_fmt.selectbox(_("Format"), NOTES_FORMATS, index=NOTES_FORMATS.index("float32"), key=lesson.key("format"))
    text = c_val.text_input(_("Value"), "0.1", key=lesson.key("value"), help=_("A decimal number such as 0.1, -3.5e-3 or 65504; it is rounded to the nearest value the format has."))
    fmt = get_format(name)
    try:
        parse_value(text)
    except ValueError:
        st.error(_("Type a decimal number, e.g. 0.1, -2.5 or 1e-3."), icon=":material/error:")
        return
    info = decompose(round_value(text, fmt), fmt)
    st.markdown(
        _("In {fmt}, {value} is stored as sign `{s}` · exponent `{e}` · mantissa `{m}` ({bits} bits: 1 + {E} + {M}).").format(
            fmt=name, value=text.strip(), s=info.sign_bits, e=info.exponent_bits, m=info.mantissa_bits or "—", bits=fmt.bits, E=fmt.nexp, M=fmt.nmant
        )
    )
    bias_rule = 2 ** (fmt.nexp - 1) - 1
    lesson.formula(r"\text{bias} = 2^{E-1} - 1 = 2^{%d-1} - 1 = %d" % (fmt.nexp, bias_rule))
    m = Fraction(info.mantissa_field, 2**fmt.nmant)
    lesson.formula(r"m = \sum_{n=1}^{M} \text{bit}_n \cdot 2^{-n} = %s = \frac{%d}{2^{%d}} = %.10g" % (mantissa_terms(info.mantissa_bits), info.mantissa_field, fmt.nmant, float(m)))
    if info.kind == "normal":
        lesson.formula(
            r"fp = (-1)^{s} \cdot 2^{e - \text{bias}} \cdot (1 + m) = (-1)^{%d} \cdot 2^{%d - %d} \cdot (1 + %.10g) = %s"
            % (info.sign, info.exponent_field, fmt.bias, float(m), tex_number(float(info.value), 10))
        )
    elif info.kind in ("subnormal", "zero"):
        lesson.formula(
            r"fp = (-1)^{s} \cdot 2^{1 - \text{bias}} \cdot (0 + m) = (-1)^{%d} \cdot 2^{1 - %d} \cdot (0 + %.10g) = %s"
            % (info.sign, fmt.bias, float(m), tex_number(float(info.value), 10))
        )
        st.caption(_("The exponent field is all zeros: a subnormal (or zero). The formula changes: the exponent is 1 − bias and the leading 1 becomes 0, so values keep shrinking evenly down to 0."))
    else:
        st.warning(_("{value} is outside {fmt}'s range: it is stored as {decimal}, which the formula does not give (the exponent field is all ones).").format(value=text.strip(), fmt=name, decimal=info.decimal), icon=":material/warning:")
    if info.value is not None:
        st.markdown(_("Exactly: {decimal}").format(decimal=f"`{info.decimal}`"))
    st.caption(
        _(
            "A correction to the notes: they give the exponent's range as [−2^(E−1) + 1, 2^(E−1)]. The all-zeros field is kept for zero and subnormals and, in IEEE formats, the all-ones field for inf and NaN, so the normal range of e − bias is [1 − bias, bias] = [{lo}, {hi}] in {fmt}; the top end 2^(E−1) is reached only by formats without inf, such as float8_e4m3fn (up to 8)."
        ).format(lo=fmt.minexp, hi=fmt.emax, fmt=name)
    )

    equal, dec = sum_check(name)
    why = _("In {fmt}, 0.1 is stored as {a} and 0.2 as {b}; their exact sum rounds (once, as an addition does) to {s}, while 0.3 is stored as {c}.").format(fmt=name, **dec)
    lesson.predict(
        _("In {fmt}, is 0.1 + 0.2 == 0.3?").format(fmt=name),
        [_("yes"), _("no")],
        0 if equal else 1,
        why,
    )
    lesson.open_tool(_("Open the Bit Inspector on this value: flip the bits yourself"), "app_pages/bits.py", {"format": name, "value": text.strip()})
