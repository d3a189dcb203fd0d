"""An exact rational reference for rounding into a FloatFormat, for tests only.

Written from the rule, in fractions.Fraction, one value at a time, with no numpy and no
bit tricks: slow and obviously right.  It is itself checked against brute-force
enumeration of every value in tests/test_codec.py.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from fractions import Fraction

from quantlib import FloatFormat

NEAREST = ("nearest_even", "nearest_away", "stochastic")


def floor_log2(q: Fraction) -> int:
    """e with 2**e <= q < 2**(e+1), for q > 0."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    assert Fraction(2) ** e <= q < Fraction(2) ** (e + 1)
    return e


def ref_encode(x, fmt: FloatFormat, *, rounding: str = "nearest_even", saturate: bool = False) -> int:
    """Code of x (a Python float, or a Fraction) in fmt; raises ValueError like encode()."""
    if isinstance(x, Fraction):
        neg, mag, kind = x < 0, abs(x), "finite"
    else:
        x = float(x)
        neg = math.copysign(1.0, x) < 0
        if math.isnan(x):
            kind, mag = "nan", None
        elif math.isinf(x):
            kind, mag = "inf", None
        else:
            kind, mag = "finite", Fraction(abs(x))
    sign = fmt.sign_mask if (neg and fmt.signed) else 0
    if kind == "nan":
        if not fmt.has_nan:
            raise ValueError("no NaN")
        if fmt.nonfinite == "fnuz" or not fmt.signed:
            return fmt.nan_code
        return fmt.nan_code | sign
    if not fmt.signed and neg and (kind == "inf" or mag != 0):
        if not fmt.has_nan:
            raise ValueError("negative")
        return fmt.nan_code
    if kind == "inf":
        if saturate or fmt.nonfinite == "none":
            return fmt.max_code | sign
        if fmt.nonfinite == "ieee":
            return fmt.inf_code | sign
        return fmt.nan_code | (sign if fmt.nonfinite == "fn" else 0)
    if not fmt.has_zero and mag == 0:
        return fmt.nan_code
    eb = fmt.minexp if mag == 0 else max(floor_log2(mag), fmt.minexp)
    quantum = Fraction(2) ** (eb - fmt.nmant)
    t = mag / quantum
    T = math.floor(t)
    rem = t - T
    if rounding == "nearest_even":
        up = rem > Fraction(1, 2) or (rem == Fraction(1, 2) and T % 2 == 1)
    elif rounding == "nearest_away":
        up = rem >= Fraction(1, 2)
    elif rounding == "toward_zero":
        up = False
    elif rounding == "toward_positive":
        up = rem > 0 and not neg
    elif rounding == "toward_negative":
        up = rem > 0 and neg
    else:
        raise ValueError(rounding)
    R = T + int(up)
    lead = 1 << fmt.nmant
    if fmt.has_zero:
        mag_code = 0 if R == 0 else ((eb - fmt.minexp) << fmt.nmant) + R
    else:
        mag_code = 0 if R < lead else ((eb - fmt.minexp) << fmt.nmant) + R - lead
    if mag_code > fmt.max_code:
        away = rounding in NEAREST or (rounding == "toward_positive" and not neg) or (rounding == "toward_negative" and neg)
        if saturate or fmt.nonfinite == "none" or not away:
            return fmt.max_code | sign
        if fmt.nonfinite == "ieee":
            return fmt.inf_code | sign
        return fmt.nan_code | (sign if fmt.nonfinite == "fn" else 0)
    if mag_code == 0 and fmt.nonfinite == "fnuz":
        return 0
    return mag_code | sign


def brute_nearest(mag: Fraction, values: list[Fraction]) -> list[Fraction]:
    """The candidates nearest to mag among the sorted non-negative values (1 or 2 on a tie)."""
    i = bisect_left(values, mag)
    around = values[max(0, i - 1) : i + 1]
    best = min(abs(v - mag) for v in around)
    return [v for v in around if abs(v - mag) == best]
