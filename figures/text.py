"""Numbers as text for tables, hovers and labels, shared by the figure builders.

(:mod:`figures.formats` has its own exact ``num`` for Fractions: the values of a format.)
"""

from __future__ import annotations

import math

__all__ = ["num", "pct", "percent", "db", "nbytes_text"]


def num(v: float | None, digits: int = 4) -> str:
    """A float for a table or a label: '0.0123', '1.23e-6', '4.5', '∞', '—' for None/NaN."""
    if v is None:
        return "—"
    v = float(v)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 10 ** digits:
        text = f"{v:.{digits}g}"
        if "e" not in text:
            return text
    mant, _, exp = f"{v:.{digits - 1}e}".partition("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def pct(frac: float | None) -> str:
    """A fraction as a percentage: '0%', '<0.01%', '0.37%', '12.5%'; '—' for None."""
    if frac is None or (isinstance(frac, float) and math.isnan(frac)):
        return "—"
    p = 100.0 * float(frac)
    if p == 0:
        return "0%"
    if p < 0.01:
        return "<0.01%"
    return f"{p:.3g}%"


def db(v: float | None) -> str:
    """'20.73 dB'; '∞ dB' (lossless)."""
    if v is None or math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞ dB" if v > 0 else "−∞ dB"
    return f"{v:.2f} dB"


def nbytes_text(n: float) -> str:
    """'512 B', '147.5 KiB', '64 MiB', '1.25 GiB'."""
    n = float(n)
    for unit, k in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**k:
            v = n / 2**k
            return f"{v:.4g} {unit}"
    return f"{int(n)} B"


def percent(frac: float | None, digits: int = 1) -> str:
    """A fraction as a percentage with ``digits`` decimals: '12.3%' (``digits=2``: '12.35%'); '—' for None."""
    return "—" if frac is None else f"{100 * frac:.{digits}f}%"
