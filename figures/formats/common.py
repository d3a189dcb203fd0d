"""Exact values as text (:func:`num`, :func:`short`, :func:`pow2`), their log2 positions
(:func:`log2q`), format colours, and the page's typed inputs (:class:`Reference`,
:func:`parse_references`, :func:`parse_value_or_range`)."""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["pow2", "num", "short", "log2q", "format_colors", "Reference", "parse_references", "parse_value_or_range", "RANGE_SPLIT"]


from quantlib import FloatFormat, exact

from .labels import FORMAT_COLORS


# ============================================================== numbers as text
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pow2(k: int) -> str:
    """'2⁻¹²⁶' (Unicode superscripts, for tables and hovers)."""
    return "2" + str(int(k)).translate(_SUP)


def _decimal(q: Fraction, digits: int) -> tuple[decimal.Decimal, bool]:
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emin=-(10**9), Emax=10**9)
    d = ctx.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))
    return d, not ctx.flags[decimal.Inexact]


def num(q: Fraction | int | float | None, digits: int = 4, *, mark: bool = True) -> str:
    """A short decimal of an exact value: '448', '65504', '0.015625', '≈3.403e38', '≈1.401e-45'.

    Exact when it fits in ``digits`` significant digits (then no '≈'); plain notation for
    magnitudes from 1e-4 to below 1e6, else 'e' notation.  ``mark=False`` drops the '≈'.
    """
    if q is None:
        return "—"
    if isinstance(q, float):
        if math.isnan(q):
            return "nan"
        if math.isinf(q):
            return "inf" if q > 0 else "-inf"
    q = Fraction(q)
    if q == 0:
        return "0"
    d, is_exact = _decimal(q, digits)
    adj = d.adjusted()
    if -4 <= adj < 6:
        text = format(d.normalize(), "f")
    else:
        mant = d.scaleb(-adj).normalize()
        text = f"{format(mant, 'f')}e{adj}"
    return text if (is_exact or not mark) else "≈" + text


def short(q: Fraction | int | None, digits: int = 4, keep: int = 8) -> str:
    """Every digit when that takes at most ``keep`` characters ('65504', '0.015625', '-0.5'),
    else :func:`num` with ``digits`` significant digits ('≈3.403e38')."""
    if q is None:
        return "—"
    q = Fraction(q)
    if q.denominator & (q.denominator - 1) == 0:  # dyadic: a finite decimal
        text = exact.exact_decimal(q)
        if len(text) <= keep:
            return text
    return num(q, digits)


def log2q(q: Fraction) -> float:
    """log2 of a positive exact value, for plotting (works far beyond float64)."""
    q = Fraction(q)
    if q <= 0:
        raise ValueError("log2 of a non-positive value")
    return math.log2(q.numerator) - math.log2(q.denominator)


def _short(text: str, keep: int = 80, more: str = "… ({n} digits in all)") -> str:
    if len(text) <= keep:
        return text
    digits = sum(ch.isdigit() for ch in text)
    return text[:keep] + more.format(n=digits)


def format_colors(fmts: Sequence[FloatFormat]) -> dict[str, str]:
    """Format name -> colour that follows the format, not its place in the selection: a
    registry format has its own colour (its index in :data:`quantlib.FORMATS`, modulo the 10
    colours; ``bfloat16`` is always red), moved to the next free colour only when another
    selected format has it already; custom formats take the free colours in order."""
    from quantlib import FORMATS

    registry = list(FORMATS)
    n = len(FORMAT_COLORS)
    out: dict[str, str] = {}
    used: set[int] = set()
    wanted = sorted((registry.index(f.name), f.name) for f in fmts if f.name in registry)
    for idx, name in wanted:
        i = idx % n
        while i in used and len(used) < n:
            i = (i + 1) % n
        used.add(i)
        out[name] = FORMAT_COLORS[i]
    for f in fmts:
        if f.name not in out:
            free = [i for i in range(n) if i not in used] or list(range(n))
            used.add(free[0])
            out[f.name] = FORMAT_COLORS[free[0]]
    return out


def _digits(fmt: FloatFormat) -> float:
    """Decimal digits of precision as a float: log10(2**(nmant+1))."""
    return (fmt.nmant + 1) * math.log10(2.0)


def _has_subnormals(fmt: FloatFormat) -> bool:
    return fmt.has_zero and fmt.nmant > 0


def _smallest_normal_code(fmt: FloatFormat) -> int:
    return (1 << fmt.nmant) if fmt.has_zero else 0


# ============================================================== references and inputs
@dataclass(frozen=True)
class Reference:
    """A magnitude (or a range of them) to draw on the charts: 'my activations go up to 3000'.

    ``lo`` and ``hi`` are exact non-negative magnitudes (``hi`` None for a single value);
    ``label`` is the user's text; ``mine`` marks the value of "where does my number land".
    """

    lo: Fraction
    hi: Fraction | None = None
    label: str = ""
    text: str = ""
    mine: bool = False

    @property
    def is_range(self) -> bool:
        return self.hi is not None


def parse_references(text: str) -> tuple[list[Reference], list[tuple[str, str]]]:
    """'3000 activations, 1e-6 gradients' -> references; also returns (item, reason) for
    the items that cannot be drawn: quantlib's reason for text that is not a number, ''
    for 0, inf and nan (no place on a log scale).  Each comma-separated item is a number
    (anything :func:`quantlib.exact.parse_value` reads) optionally followed by a label."""
    refs: list[Reference] = []
    bad: list[tuple[str, str]] = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        number, _sep, label = item.partition(" ")
        try:
            ev = exact.parse_value(number)
        except ValueError as exc:
            bad.append((item, str(exc)))
            continue
        if ev.kind != "finite" or ev.magnitude == 0:
            bad.append((item, ""))  # a number, but not one a log scale can show
            continue
        refs.append(Reference(lo=ev.magnitude, label=label.strip(), text=number))
    return refs, bad


RANGE_SPLIT = re.compile(r"\s*(?:\.\.|…|\bto\b)\s*", re.IGNORECASE)


def parse_value_or_range(text: str) -> tuple[exact.ExactValue, exact.ExactValue | None]:
    """'3000' -> (3000, None); '1e-4 .. 3000' (or '…', 'to') -> (1e-4, 3000).

    ValueError with quantlib's message when a part is not a number."""
    parts = [p for p in RANGE_SPLIT.split((text or "").strip())]
    if len(parts) == 1:
        return exact.parse_value(parts[0]), None
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(f"could not read {text.strip()!r} as a range: write two numbers, like 1e-4 .. 3000")
    a, b = exact.parse_value(parts[0]), exact.parse_value(parts[1])
    if a.kind != "finite" or b.kind != "finite":
        raise ValueError("the ends of a range must be finite numbers")
    if abs(a.as_fraction()) > abs(b.as_fraction()):
        a, b = b, a
    return a, b


def _pct(q: float | Fraction) -> str:
    """A relative size as a percentage with 3 significant digits: 12.5%, 0.0977%, 5.96e-6%
    (exact fractions of any size too: 1e40%)."""
    if isinstance(q, Fraction):
        return num(q * 100, 3, mark=False) + "%"
    p = q * 100
    return f"{p:.3g}%".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
