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


__all__ = ["COLORS", "approx", "approx_eq", "value_text", "sci", "short_decimal", "power_of_two", "hex_digits", "code_html", "field_html"]

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
