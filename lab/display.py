"""Text formatting of exact numbers and codes for display (no numerics of its own).

quantlib gives exact values (Fractions, every decimal digit); these helpers only decide how
many digits a person should see and mark shortened numbers, so a table stays readable
while the exact value stays one click away.
"""

from __future__ import annotations

import decimal
import html
from fractions import Fraction

from quantlib import exact

from .i18n import _

__all__ = ["formats_labels", "COLORS", "approx", "approx_eq", "value_text", "sci", "short_decimal", "power_of_two", "hex_digits", "code_html", "field_html"]

COLORS = {"S": "#d62728", "E": "#1f77b4", "M": "#2ca02c"}
"""Field colours (sign red, exponent blue, mantissa green); always shown with the letters S/E/M."""


def _to_decimal(q: Fraction, digits: int) -> tuple[decimal.Decimal, bool]:
    """``q`` rounded to ``digits`` significant digits, and whether that was exact."""
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emin=-10**9, Emax=10**9)
    d = ctx.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))
    return d, not ctx.flags[decimal.Inexact]


def approx(q: Fraction | None, digits: int = 10) -> str:
    """A short decimal of an exact value: '0.1000000015' shown as '≈0.1000000015'.

    Exact values that fit in ``digits`` significant digits are shown as they are
    ('448', '0.001953125'); huge or tiny ones use exponent notation ('≈1.797693135e+308').
    """
    if q is None:
        return "—"
    if q == 0:
        return "0"
    d, is_exact = _to_decimal(q, digits)
    text = f"{d:g}" if -7 <= d.adjusted() < digits else f"{d:e}"
    text = text.replace("E", "e")
    return text if is_exact else "≈" + text


def approx_eq(q: Fraction | None, digits: int = 12) -> str:
    """'= 448' when shown exactly, '≈ 0.100000001490' when shortened (for 'x = …' prose)."""
    text = approx(q, digits)
    return "≈ " + text[1:] if text.startswith("≈") else "= " + text


def value_text(info: exact.CodeInfo | None, digits: int = 17) -> str:
    """A code's value for a label or table cell: '≈0.1000000015', '448', 'nan', '-inf'; '—' for None."""
    if info is None:
        return "—"
    return approx(info.value, digits) if info.value is not None else info.decimal


def sci(q: Fraction | None, digits: int = 3) -> str:
    """An error in exponent notation with ``digits`` significant digits: '1.49e-9'; '0' for 0."""
    if q is None:
        return "—"
    if q == 0:
        return "0"
    d, _ = _to_decimal(q, digits)
    if -3 <= d.adjusted() < 4:
        text = f"{d:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mant, _, exp = f"{d:e}".partition("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def power_of_two(q: Fraction | None) -> str | None:
    """'$2^{-23}$' when ``q`` is a power of two (an ulp), else None."""
    if q is None or q <= 0:
        return None
    n, d = q.numerator, q.denominator
    if n & (n - 1) == 0 and d == 1:
        return f"$2^{{{n.bit_length() - 1}}}$"
    if n == 1 and d & (d - 1) == 0:
        return f"$2^{{{-(d.bit_length() - 1)}}}$"
    return None


def hex_digits(bits: int) -> int:
    """Hex digits of a ``bits``-bit code: 8 for 32 bits, 5 for 19."""
    return (bits + 3) // 4


def short_decimal(text: str, keep: int = 24) -> str:
    """An exact decimal string cut to ``keep`` characters with '…' (for table cells)."""
    return text if len(text) <= keep else text[: keep - 1] + "…"


def field_html(bits: str, letter: str) -> str:
    """One field's bits as a coloured monospace span."""
    if not bits:
        return ""
    return (
        f'<span class="ql-field ql-{letter}" style="color:{COLORS[letter]}" title="{letter}">'
        f"{html.escape(bits)}</span>"
    )


def code_html(info: exact.CodeInfo, *, sep: str = " ") -> str:
    """The code's bits, sign / exponent / mantissa coloured and separated, with S/E/M labels."""
    parts = []
    for letter, bits in (("S", info.sign_bits), ("E", info.exponent_bits), ("M", info.mantissa_bits)):
        if bits:
            parts.append(
                f'<span class="ql-group"><sub style="color:{COLORS[letter]}">{letter}</sub>'
                f"{field_html(bits, letter)}</span>"
            )
    return f'<span class="ql-code">{sep.join(parts)}</span>'


def formats_labels() -> dict[str, str]:
    """The words of the Format Comparison figures and tables (:data:`figures.formats.LABELS`),
    translated into the session's language.  The English msgids here equal the defaults
    there (tests/test_figures.py checks it), so the catalog stays the single place to
    translate them."""
    return {
        "zero": _("zero"),
        "subnormal": _("subnormal"),
        "normal": _("normal"),
        "inf": _("infinity"),
        "nan": _("NaN"),
        "axis_magnitude": _("magnitude |x| (log2 scale: 2^k)"),
        "axis_rel_spacing": _("relative spacing ulp(x) / |x| (log2 scale)"),
        "axis_value": _("value"),
        "axis_scaled": _("value ÷ the format's max"),
        "axis_log_positive": _("positive values (log2 scale: 2^k)"),
        "range_ends": _("{lo} … {hi}"),
        "hover_normal_range": _("{name}: normal numbers from {lo} to {hi}, {binades} binades"),
        "hover_subnormal_range": _("{name}: subnormals from {lo} to {hi} (fewer significant bits)"),
        "legend_overflow": _("overflow above max"),
        "hover_binade": _("{name}: |x| from {lo} to {hi}: ulp = {ulp}, ulp/|x| from {rel_hi} down to {rel_lo}"),
        "hover_envelope": _("{name}: in each of its {n} binades ulp/|x| falls from {rel_hi} to {rel_lo} (the teeth are too dense to draw)"),
        "hover_ramp": _("{name}: subnormals, fixed step {ulp}: ulp/|x| grows from {rel_lo} to 100% toward the smallest subnormal {tiny}"),
        "hover_overflow": _("{name} overflows above max = {max}"),
        "codebook_suffix": _("{name} (codebook)"),
        "legend_codebook": _("codebook value (not IEEE)"),
        "hover_value": _("{name} {hex}: {value} ({kind})"),
        "hover_codebook": _("{name} code {code}: {value}"),
        "mark_value": _("your value {value}"),
        "mark_range": _("your range {lo} … {hi}"),
        "col_property": _("Property"),
        "prop_bits": _("Bits: sign + exponent + mantissa"),
        "prop_bias": _("Exponent bias"),
        "prop_max": _("Largest finite value (max)"),
        "prop_normal": _("Smallest normal"),
        "prop_subnormal": _("Smallest subnormal"),
        "prop_eps": _("eps (gap from 1 to the next value)"),
        "prop_digits": _("Decimal digits of precision"),
        "prop_binades": _("Dynamic range in binades (factors of 2)"),
        "prop_decades": _("Dynamic range in decades (factors of 10)"),
        "prop_db": _("Dynamic range in dB"),
        "prop_finite": _("Distinct finite values"),
        "prop_inf": _("Infinity"),
        "prop_nan": _("NaN"),
        "prop_negzero": _("Negative zero"),
        "cell_digits": _("{digits} (numpy: {precision})"),
        "cell_none": _("none"),
        "cell_no_subnormals": _("none (no subnormals)"),
        "cell_inf": _("±inf"),
        "cell_nan_codes": _("{n} codes"),
        "cell_nan_code": _("1 code: {hex}"),
        "cell_yes": _("yes"),
        "cell_negzero_fnuz": _("no: its code is the NaN"),
        "cell_negzero_unsigned": _("no: unsigned"),
        "cell_no_zero": _("no zero at all"),
        "hover_exact": _("code {hex} = {decimal}"),
        "hover_digits": _("log10(2^(M+1)) = {digits}; numpy's finfo.precision = int(−log10(eps)) = {precision}"),
        "hover_bits": _("{layout} ({bits} bits)"),
        "hover_db": _("20 × log10(max / smallest subnormal)"),
        "hover_more_digits": _("… ({n} digits in all)"),
        "col_format": _("Format"),
        "col_limit": _("Limit"),
        "col_code": _("Code"),
        "col_power": _("Power of two"),
        "col_decimal": _("Exact decimal (every digit)"),
        "code_title": _("{hex} = {value} ({kind})"),
        "col_stored": _("Stored as"),
        "col_abs_error": _("Abs error"),
        "col_rel_error": _("Rel error"),
        "col_result": _("Result"),
        "col_low": _("Low end stored as"),
        "col_high": _("High end stored as"),
        "col_worst": _("Worst rel. error (round to nearest)"),
        "res_exact": _("exact"),
        "res_rounded": _("rounded"),
        "res_subnormal": _("rounded; subnormal: fewer significant bits"),
        "res_underflow": _("underflow to {stored}"),
        "res_overflow": _("overflow to {stored} (max {max})"),
        "res_saturated": _("overflow, saturated to {stored}"),
        "res_cannot": _("cannot store: {reason}"),
        "res_fits": _("fits: every value in the normal range"),
        "res_low_subnormal": _("low end is subnormal (fewer significant bits)"),
        "res_low_underflow": _("low end underflows (the smallest value is {tiny})"),
        "res_crosses_zero": _("the range includes 0: the smallest magnitudes round to 0"),
        "res_nan": _("{value} is stored as NaN"),
        "res_high_overflow": _("high end overflows (max {max})"),
        "tk_widest": _("Of the chosen formats, **{name}** has the widest range: {binades} binades ({decades} decades), from {tiny} to {max}."),
        "tk_finest": _("**{name}** has the finest precision: eps = {eps}, about {digits} decimal digits."),
        "tk_same_range": _("**{names}** have the same {e} exponent bits and reach about the same max ({maxes}), but differ in precision: {digits} decimal digits."),
        "tk_overflow": _("**{name}** overflows above {max}, where {wide} still reaches {wide_max}."),
        "tk_tradeoff": _("Same {bits} bits, split differently: **{fine}** (E{fe}M{fm}) overflows above {fine_max}, while **{wide}** (E{we}M{wm}) reaches {wide_max}; in exchange its values are {ratio}× coarser ({wide_digits} instead of {fine_digits} decimal digits)."),
        "tk_lesson": _("Exponent bits buy range, mantissa bits buy precision: gradients, which span many orders of magnitude, need range (E5M2); weights and activations, whose scale is known, need precision (E4M3)."),
        "tk_few_values": _("**{name}** holds only {n} distinct values: {values}. Between its two largest there is a gap of {gap} ({pct}% of the value)."),
        "tk_ref_overflow": _("{value} overflows in {bad} but fits in {good}."),
        "tk_ref_all_fit": _("{value} lies in the normal range of every chosen format."),
        "tk_ref_none_fit": _("{value} overflows in every chosen format."),
        "tk_ref_underflow": _("{value} underflows to 0 in {bad}."),
        "tk_ref_subnormal": _("{value} is subnormal (fewer significant bits) in {bad}."),
        "tk_and": _("{a} and {b}"),
        "tk_sep": _(", "),
        "tk_max_of": _("{name} (max {max})"),
    }
