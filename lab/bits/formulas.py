"""The Bit Inspector's formulas as LaTeX (for ``st.latex``), filled in with the numbers of the
current code from quantlib's exact decomposition.

Only numbers and symbols go into the TeX (KaTeX renders no CJK in ``\\text``); the words that
go with a formula are :func:`formula_caption`'s, translated.  float32 0.1 (0x3DCCCCCD)::

    x = (-1)^{s} · 2^{e-bias} · (1+m)
    bias = 2^{E-1}-1 = 2^{7}-1 = 127
    m = 2^{-1}+2^{-4}+2^{-5}+2^{-8}+ ··· +2^{-21}+2^{-23} = 5033165/8388608
    x = (-1)^{0} · 2^{123-127} · (1 + 5033165/8388608) = 2^{-4} · 1.60000002384185791015625
      = 0.100000001490116119384765625
"""

from __future__ import annotations

from quantlib import FloatFormat
from quantlib import exact

from lab.core.display import approx
from lab.core.i18n import _

__all__ = ["code_formula", "formula_caption", "mantissa_terms", "standard_bias", "tex_number"]

MAX_TERMS = 8  # more set mantissa bits than this: the first 4, ···, the last 2
MAX_DIGITS = 48  # a longer exact decimal is shown to 17 digits (every digit is printed below)


def standard_bias(fmt: FloatFormat) -> int:
    """2^(E−1) − 1: the IEEE-style bias of ``fmt``'s exponent width (127 for 8 bits)."""
    return 2 ** (fmt.nexp - 1) - 1


def tex_number(q) -> str:
    """'= 0.5' for an exact value with every digit when short, else '\\approx' and 17 digits
    ('\\approx 1.4012984643248171\\times 10^{-45}')."""
    text = exact.exact_decimal(q)
    if len(text) <= MAX_DIGITS:
        return "= " + text
    short = approx(q, 17).lstrip("≈")
    if "e" in short:
        mant, _e, power = short.partition("e")
        short = f"{mant}\\times 10^{{{int(power)}}}"
    return "\\approx " + short


def mantissa_terms(mantissa_bits: str) -> str:
    """'2^{-1}+2^{-4}+…' for the bits that are 1 (bit n is worth 2^-n); '0' when none is set."""
    ns = [n for n, b in enumerate(mantissa_bits, start=1) if b == "1"]
    if not ns:
        return "0"
    terms = [f"2^{{-{n}}}" for n in ns]
    if len(terms) > MAX_TERMS:
        terms = terms[:4] + ["\\cdots"] + terms[-2:]
    return "+".join(terms)


def _sign(info: exact.CodeInfo, symbolic: bool) -> str:
    if not info.fmt.signed:
        return ""
    return "(-1)^{s}\\cdot " if symbolic else f"(-1)^{{{info.sign}}}\\cdot "


def _bias_line(fmt: FloatFormat) -> str:
    std = standard_bias(fmt)
    if fmt.bias == std:
        return f"\\mathrm{{bias}} = 2^{{E-1}}-1 = 2^{{{fmt.nexp - 1}}}-1 = {fmt.bias}"
    return f"\\mathrm{{bias}} = {fmt.bias} \\;\\ne\\; 2^{{E-1}}-1 = {std}"


def _frac(m: int, den: int) -> str:
    return "0" if m == 0 else f"\\tfrac{{{m}}}{{{den}}}"


def code_formula(info: exact.CodeInfo) -> str:
    """The formula of this code with its numbers, as an ``aligned`` TeX block.

    Normal: (−1)^s · 2^(e − bias) · (1 + m); subnormal: (−1)^s · 2^(1 − bias) · (0 + m);
    no mantissa bits (E8M0): 2^(e − bias); zero, inf and NaN: the fields that make them so.
    """
    fmt = info.fmt
    e, bias, n = info.exponent_field, fmt.bias, fmt.nmant
    den = 1 << n
    lines: list[str] = []
    if info.kind in ("normal", "subnormal"):
        sub = info.kind == "subnormal"
        lead = "0" if sub else "1"
        power = "1-\\mathrm{bias}" if sub else "e-\\mathrm{bias}"
        sig_sym = f"\\cdot({lead}+m)" if n else ""
        lines.append(f"x &= {_sign(info, True)}2^{{{power}}}{sig_sym}")
        lines.append(_bias_line(fmt).replace(" = ", " &= ", 1))
        if n:
            lines.append(
                f"m &= \\textstyle\\sum_{{n=1}}^{{{n}}} b_n 2^{{-n}} = {mantissa_terms(info.mantissa_bits)}"
                + (f" = {_frac(info.mantissa_field, den)}" if info.mantissa_field else "")
            )
        exp_num = f"1-{bias}" if sub else f"{e}-{bias}" if bias >= 0 else f"{e}-({bias})"
        sig_num = f"\\cdot({lead}+{_frac(info.mantissa_field, den)})" if n else ""
        p = info.unbiased_exponent
        assert p is not None and info.significand is not None and info.value is not None
        line = f"x &= {_sign(info, False)}2^{{{exp_num}}}{sig_num}"
        sig_text = tex_number(info.significand)
        if n and sig_text.startswith("="):
            line += f" = {'-' if info.negative else ''}2^{{{p}}}\\cdot {sig_text[2:]}"
        lines.append(line)
        lines.append(f"&{tex_number(info.value)}")
    elif info.kind == "zero":
        sign = "-" if info.negative else ""
        lines.append(f"e = 0,\\; m = 0 \\;\\Rightarrow\\; x = {sign}0")
    elif info.kind == "inf":
        lines.append(f"e = {e} = 2^{{{fmt.nexp}}}-1,\\; m = 0 \\;\\Rightarrow\\; x = {'-' if info.negative else '+'}\\infty")
    else:  # NaN
        if fmt.nonfinite == "fnuz":
            lines.append("s = 1,\\; e = 0,\\; m = 0 \\;\\Rightarrow\\; \\mathrm{NaN}")
        elif fmt.nonfinite == "ieee":
            lines.append(f"e = {e} = 2^{{{fmt.nexp}}}-1,\\; m = {info.mantissa_field} \\ne 0 \\;\\Rightarrow\\; \\mathrm{{NaN}}")
        elif n:
            lines.append(f"e = {e},\\; m = {info.mantissa_field} = 2^{{{n}}}-1 \\;\\Rightarrow\\; \\mathrm{{NaN}}")
        else:
            lines.append(f"e = {e} = 2^{{{fmt.nexp}}}-1 \\;\\Rightarrow\\; \\mathrm{{NaN}}")
    if len(lines) == 1:
        return lines[0].replace("&", "")
    return "\\begin{aligned}" + "\\\\ ".join(lines) + "\\end{aligned}"


def formula_caption(info: exact.CodeInfo) -> str:
    """One sentence on what to look at in :func:`code_formula`, for this kind of code."""
    fmt = info.fmt
    std = standard_bias(fmt)
    bias_note = ""
    if fmt.bias != std:
        if fmt.nonfinite == "fnuz" and fmt.bias == std + 1:
            bias_note = " " + _(
                "This fnuz format uses bias {bias}, one more than 2^(E−1)−1 = {std}: its whole range sits one binade (a factor of 2) lower."
            ).format(bias=fmt.bias, std=std)
        else:
            bias_note = " " + _("{name} uses bias {bias} instead of 2^(E−1)−1 = {std}, which shifts its whole range by 2^{shift}.").format(
                name=fmt.name, bias=fmt.bias, std=std, shift=std - fmt.bias
            )
    if info.kind == "normal" and not fmt.nmant:
        text = _("No sign and no mantissa: the value is only the power of two 2^(e − {bias}), here e = {e}.").format(bias=fmt.bias, e=info.exponent_field)
    elif info.kind == "normal":
        text = _(
            "Read it left to right: the sign bit picks ±, the exponent field e = {e} minus the bias {bias} gives the power of two 2^{p}, and each mantissa bit that is 1 adds 2^−n to the hidden 1."
        ).format(e=info.exponent_field, bias=fmt.bias, p=info.unbiased_exponent)
    elif info.kind == "subnormal":
        text = _(
            "The exponent field is 0, so this is the subnormal form: the exponent is fixed at 1 − bias = {p} and there is no hidden 1 (0 + m instead of 1 + m)."
        ).format(p=info.unbiased_exponent)
    elif info.kind == "zero":
        text = _("Exponent and mantissa all zero: this code is {zero}, not an instance of the formula (it would need a hidden 1).").format(
            zero="-0" if info.negative else "0"
        )
    elif info.kind == "inf":
        text = _("The all-ones exponent with mantissa 0 is reserved for infinity: no formula applies.")
    else:
        text = _("This code is NaN (not a number): its fields are reserved, so no formula gives it a value.")
    return text + bias_note
