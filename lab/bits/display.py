"""Explanations with the worked numbers of the current code, as Markdown paragraphs.

Every number comes from quantlib (CodeInfo, FloatFormat, ConversionError); this module
only chooses the sentences.  Placeholders hold finished pieces (``pow="$2^{-4}$"``), so a
translation never has to deal with TeX braces.
"""

from __future__ import annotations

from fractions import Fraction

from quantlib import FloatFormat
from quantlib import exact

from lab.bits.cached import Inspection
from lab.core.display import approx, approx_eq, sci, value_text
from lab.core.i18n import _

__all__ = ["reading", "format_notes", "conversion_notes", "power", "value_label", "within_rounding_bound"]


def value_label(info: exact.CodeInfo | None, digits: int = 17) -> str:
    """:func:`lab.core.display.value_text`, but a negative zero is '-0', not '0'."""
    if info is not None and info.kind == "zero" and info.negative:
        return info.decimal  # '-0'
    return value_text(info, digits)


def within_rounding_bound(ulps, rounding: str) -> bool:
    """Whether an error of ``ulps`` is what rounding alone can give: at most ½ ulp to nearest,
    less than 1 ulp for the directed and stochastic modes (clamping to ±max can give more)."""
    if ulps is None:
        return False
    return ulps <= Fraction(1, 2) if rounding.startswith("nearest") else ulps < 1


def power(p: int | None) -> str:
    """'$2^{-4}$' (inline math)."""
    return f"$2^{{{p}}}$"


def _num(q) -> str:
    """An exact value written compactly for prose."""
    return approx(q, 12)


def _dec(q) -> str:
    """Every digit when that is short, else a 12-digit approximation (prose must stay readable)."""
    text = exact.exact_decimal(q)
    return text if len(text) <= 30 else approx(q, 12)


def _eq_dec(q) -> str:
    """'= 1.600000023841857910156250' (every digit when short) or '≈ 1.60000000000'."""
    text = _dec(q)
    return "≈ " + text[1:] if text.startswith("≈") else "= " + text


def _eq(q) -> str:
    return approx_eq(q, 12)


def _sibling(fmt: FloatFormat, **changes) -> FloatFormat | None:
    """The same layout with some fields changed, or None when that is not a valid format."""
    spec = dict(nexp=fmt.nexp, nmant=fmt.nmant, bias=fmt.bias, signed=fmt.signed, nonfinite=fmt.nonfinite, has_zero=fmt.has_zero)
    spec.update(changes)
    try:
        return FloatFormat(**spec)
    except ValueError:
        return None


def reading(info: exact.CodeInfo) -> list[str]:
    """How to read this code: sign, biased exponent, mantissa, value, with its numbers."""
    fmt = info.fmt
    out: list[str] = []
    if fmt.signed and info.kind != "nan":
        out.append(
            (_("**Sign.** The sign bit is {s}: the value is negative.") if info.sign else _("**Sign.** The sign bit is {s}: the value is positive.")).format(
                s=info.sign
            )
        )
    elif not fmt.signed:
        out.append(_("**Sign.** {name} has no sign bit: it holds only values ≥ 0.").format(name=fmt.name))
    den = 2**fmt.nmant  # written in the formula exactly like this
    if info.kind == "normal":
        out.append(
            _(
                "**Exponent.** The field `{ebits}` is the unsigned number {e}. Exponents are stored with a *bias* so that no sign bit is needed: the stored exponent {e} minus the bias {bias} gives {pow}."
            ).format(ebits=info.exponent_bits, e=info.exponent_field, bias=fmt.bias, pow=power(info.unbiased_exponent))
        )
        if fmt.nmant:
            out.append(
                _(
                    "**Mantissa.** The {n} stored bits `{mbits}` are the fraction after a leading 1 that is not stored (the *hidden bit*: every normal number starts with 1, so it costs nothing): significand = 1 + {m}/{den} {eq_sig}."
                ).format(n=fmt.nmant, mbits=info.mantissa_bits, m=info.mantissa_field, den=den, eq_sig=_eq_dec(info.significand))
            )
            out.append(
                _("**Value.** {sign}{sig} × {pow} {eq_value}.").format(
                    sign="−" if info.negative else "", sig=_dec(info.significand), pow=power(info.unbiased_exponent), eq_value=_eq(info.value)
                )
            )
        else:
            out.append(
                _("**Value.** There are no mantissa bits: the value is the power of two {pow} {eq_value}.").format(
                    pow=power(info.unbiased_exponent), eq_value=_eq(info.value)
                )
            )
    elif info.kind == "subnormal":
        out.append(
            _(
                "**Exponent.** The field is all zeros: this is a **subnormal** number. It has no hidden 1, and its exponent is fixed at 1 − bias = 1 − {bias} = {p}, the exponent of the smallest normal numbers, so the step between values stays {step} all the way down to 0."
            ).format(bias=fmt.bias, p=info.unbiased_exponent, step=_num(fmt.smallest_subnormal_exact))
        )
        out.append(
            _("**Mantissa.** significand = 0 + {m}/{den} {eq_sig}, so the value is {sig} × {pow} {eq_value}.").format(
                m=info.mantissa_field,
                den=den,
                eq_sig=_eq_dec(info.significand),
                sig=_dec(info.significand),
                pow=power(info.unbiased_exponent),
                eq_value=_eq(info.value),
            )
        )
        out.append(
            _(
                "**Why subnormals exist.** Without them the next value below the smallest normal number {sn} would be 0: a hole around zero, where x − y could be 0 although x ≠ y. Subnormals fill it with evenly spaced values (gradual underflow), with fewer significant bits the closer they get to 0."
            ).format(sn=_num(fmt.smallest_normal_exact))
        )
    elif info.kind == "zero":
        out.append(
            _("**Zero.** Exponent and mantissa are all zeros: the value is 0. (Zero is a subnormal with mantissa 0: there is no hidden 1 to make it 1 × 2^e.)")
        )
        if info.negative:
            out.append(_("The sign bit makes this **−0**: equal to +0 in comparisons, but 1/(−0) = −∞, and it remembers that a negative value underflowed."))
        elif fmt.nonfinite == "fnuz":
            out.append(_("This fnuz format has only one zero: the code that would be −0 is its NaN."))
    elif info.kind == "inf":
        out.append(
            _(
                "**Infinity.** The exponent is all ones (`{ebits}`) and the mantissa is 0: {sign}∞. IEEE-style formats reserve the all-ones exponent for ∞ and NaN; results too large to store (and 1/0) become ∞."
            ).format(ebits=info.exponent_bits, sign="−" if info.negative else "+")
        )
    else:
        if fmt.nonfinite == "ieee":
            out.append(
                _(
                    "**NaN.** The exponent is all ones and the mantissa is not zero: Not a Number (0/0, ∞ − ∞, …). With the top mantissa bit set it is a *quiet* NaN; the other mantissa bits are a payload, and the sign bit means nothing."
                )
            )
        elif fmt.nonfinite == "fnuz":
            out.append(_("**NaN.** In an fnuz format the single NaN is the code that would have been −0: a 1 followed by zeros ({hex}).").format(hex=info.hex))
        else:
            out.append(_("**NaN.** In an fn format only the all-ones pattern (after the sign) is NaN, so the rest of the top binade holds ordinary numbers."))
    return out


def format_notes(fmt: FloatFormat) -> list[str]:
    """What is special about this format: bias, inf/NaN convention, sign, zero."""
    out: list[str] = []
    standard = _sibling(fmt, bias=None)
    std_note = ""
    if standard is not None and standard.bias != fmt.bias:
        std_note = _(" (not the usual 2^(E−1)−1 = {std}: the whole range is shifted)").format(std=standard.bias)
    out.append(
        _(
            "**Bias.** {name} has {e} exponent bits and bias {bias}{std_note}, so normal numbers have exponents {lo} … {hi}: from {smallest} up to {max}."
        ).format(
            name=fmt.name,
            e=fmt.nexp,
            bias=fmt.bias,
            std_note=std_note,
            lo=fmt.minexp,
            hi=fmt.emax,
            smallest=_num(fmt.smallest_normal_exact),
            max=_num(fmt.max_exact),
        )
    )
    ieee_twin = _sibling(fmt, nonfinite="ieee")
    if fmt.nonfinite == "ieee":
        out.append(
            _("**ieee.** The top exponent (all ones) is reserved: mantissa 0 means ±∞, anything else NaN. So the largest finite number is {max}.").format(
                max=_num(fmt.max_exact)
            )
        )
    elif fmt.nonfinite == "fn":
        twin = (
            _(", where an IEEE-style layout with inf would stop at {ieee_max}").format(ieee_max=_num(ieee_twin.max_exact))
            if ieee_twin is not None and ieee_twin.max_exact != fmt.max_exact
            else ""
        )
        out.append(
            _(
                "**fn = finite.** No infinity; only the all-ones code is NaN, so the rest of the top binade holds numbers: max = {max}{twin}. Overflow gives NaN unless you saturate."
            ).format(max=_num(fmt.max_exact), twin=twin)
        )
    elif fmt.nonfinite == "fnuz":
        out.append(
            _("**fnuz = finite, unsigned zero.** No infinity and no −0: the code 1000…0 that would be −0 is the one NaN. max = {max}.").format(
                max=_num(fmt.max_exact)
            )
        )
    else:
        out.append(
            _(
                "**No inf, no NaN.** Every one of the {n} codes is a number (±0 counted twice). Overflow saturates to ±max = {max}, and NaN cannot be stored at all."
            ).format(n=fmt.num_finite_codes, max=_num(fmt.max_exact))
        )
    if not fmt.has_zero:
        out.append(
            _(
                "**No zero.** Exponent field 0 is the ordinary binade {pow}: every code is a power of two (or NaN). E8M0 is the shared scale of an MX block, not a number format for data."
            ).format(pow=power(fmt.minexp))
        )
    return out


def conversion_notes(insp: Inspection, text: str, rounding: str, rounding_label: str, saturate: bool) -> list[str]:
    """What happened to the typed input: exact, rounded (by how much), overflow, underflow.

    The "never errs by more than ½ ulp" sentence is said only when it holds (see
    :func:`within_rounding_bound`); a clamped value (saturated, or a format without inf)
    says it was clamped and by how much instead.
    """
    info, err, fmt = insp.info, insp.error, insp.info.fmt
    out: list[str] = []
    shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
    if err is None:
        return out
    clamped = err.absolute is not None and err.absolute != 0 and not within_rounding_bound(err.ulps, rounding)
    if err.overflow and clamped:
        if saturate:
            why = _("*Saturate* is on")
        elif not fmt.has_nan:
            why = _("{name} has no infinity and no NaN").format(name=fmt.name)
        else:
            why = _("rounding {mode} stops at ±max").format(mode=rounding_label)
        out.append(
            _(
                "**Overflow, clamped.** {x} is beyond the largest finite value {max} of {name}, and {why}, so it was clamped to {stored}. The error is {ulps} ulp: clamping is not rounding, so it is not bounded by ½ ulp."
            ).format(x=shown, max=_num(fmt.max_exact), name=fmt.name, why=why, stored=info.decimal, ulps=sci(err.ulps))
        )
        return out
    if err.overflow:
        hint = "" if saturate else " " + _("Turn on *Saturate* to clamp it to ±max instead.")
        out.append(
            _("**Overflow.** {x} is beyond the largest finite value {max} of {name}, so it was stored as {stored}.").format(
                x=shown, max=_num(fmt.max_exact), name=fmt.name, stored=info.decimal
            )
            + hint
        )
    elif err.underflow and clamped:
        out.append(
            _(
                "**Below the smallest value.** {x} is smaller than {tiny}, the smallest value of {name}, which has no zero, so it was stored as {stored}. The error is {ulps} ulp: this is a clamp, not a rounding, so it is not bounded by ½ ulp."
            ).format(x=shown, tiny=_num(fmt.smallest_subnormal_exact), name=fmt.name, stored=info.decimal, ulps=sci(err.ulps))
        )
        return out
    elif err.underflow:
        out.append(
            _("**Underflow.** {x} is too small for {name} (smallest non-zero magnitude {tiny}), so it was stored as {stored}.").format(
                x=shown, name=fmt.name, tiny=_num(fmt.smallest_subnormal_exact), stored=info.decimal
            )
        )
    if err.absolute == 0:
        out.append(_("{x} is exactly representable in {name}: no rounding error.").format(x=shown, name=fmt.name))
    elif err.absolute is not None and not clamped:
        out.append(
            _(
                "{x} is not a {name} value, so it was rounded ({mode}) to {stored}. The error is {ulps} ulp: round-to-nearest never errs by more than ½ ulp, directed rounding by less than 1 ulp."
            ).format(x=shown, name=fmt.name, mode=rounding_label, stored=_num(info.value), ulps=sci(err.ulps))
        )
    elif err.absolute is not None:
        out.append(
            _("{x} is not a {name} value; it was stored as {stored}, {ulps} ulp away: more than rounding alone gives.").format(
                x=shown, name=fmt.name, stored=_num(info.value), ulps=sci(err.ulps)
            )
        )
    return out
