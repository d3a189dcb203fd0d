"""Rounding an exact value to a code of a format, once (the rule in :mod:`quantlib.exact`)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real

import numpy as np

from ..formats import FloatFormat, get_format
from ..rounding import Rounding, check_rounding
from ._types import ExactValue
from .parse import parse_value


# ===================================================================== rounding


def _to_exact(value: ExactValue | Fraction | int | float | str) -> ExactValue:
    """Any supported input as an ExactValue, exactly (a float is taken at its exact binary value)."""
    if isinstance(value, ExactValue):
        return value
    if isinstance(value, str):
        return parse_value(value)
    if isinstance(value, Fraction):
        return ExactValue(negative=value < 0, magnitude=abs(value))
    if isinstance(value, Integral):
        v = int(value)
        return ExactValue(negative=v < 0, magnitude=Fraction(abs(v)))
    if isinstance(value, Decimal):
        if value.is_nan():
            return ExactValue(negative=value.is_signed(), magnitude=None, kind="nan")
        if value.is_infinite():
            return ExactValue(negative=value.is_signed(), magnitude=None, kind="inf")
        return ExactValue(negative=value.is_signed(), magnitude=abs(Fraction(value)))
    if isinstance(value, Real):  # float, numpy floating scalars
        f = float(value)
        negative = math.copysign(1.0, f) < 0
        if math.isnan(f):
            return ExactValue(negative=negative, magnitude=None, kind="nan")
        if math.isinf(f):
            return ExactValue(negative=negative, magnitude=None, kind="inf")
        return ExactValue(negative=negative, magnitude=abs(Fraction(f)))
    raise ValueError(f"cannot round a {type(value).__name__}: give a number, a Fraction, text or an ExactValue")


def _floor_log2(n: int, d: int) -> int:
    """floor(log2(n/d)) for positive ints, exactly."""
    e = n.bit_length() - d.bit_length()
    if e >= 0:
        if n < (d << e):
            e -= 1
    elif (n << -e) < d:
        e -= 1
    return e


def _nan_result(fmt: FloatFormat, negative: bool, why: str) -> int:
    """The NaN code encode() writes (sign bit kept for ieee and fn, fnuz has one NaN)."""
    if fmt.nan_code is None:
        raise ValueError(f"{fmt.name} has no NaN, so {why} cannot be stored")
    if fmt.nonfinite == "fnuz":
        return fmt.nan_code
    return fmt.nan_code | (fmt.sign_mask if negative else 0)


def _infinite_result(fmt: FloatFormat, negative: bool, why: str) -> int:
    """What an infinite result becomes: inf (ieee), NaN (fn/fnuz) or ±max (none)."""
    sign = fmt.sign_mask if negative else 0
    if fmt.nonfinite == "ieee":
        assert fmt.inf_code is not None
        return sign | fmt.inf_code
    if fmt.nonfinite == "none":
        return sign | fmt.max_code
    return _nan_result(fmt, negative, why)


def _rng(rng) -> np.random.Generator:
    if rng is None:
        raise ValueError("stochastic rounding needs rng= (a numpy Generator or an int seed)")
    return np.random.default_rng(rng)


def round_value(
    value: ExactValue | Fraction | int | float | str,
    fmt: FloatFormat | str,
    *,
    rounding: Rounding = "nearest_even",
    saturate: bool = False,
    rng=None,
) -> int:
    """Correctly round an exact value to a code of ``fmt``, once (same rules as codec.encode).

    ``value`` may be an ExactValue, a Fraction, an int, a float (taken at its exact binary
    value; ``-0.0`` keeps its sign) or text (see :func:`parse_value`).

    * Overflow (rounded magnitude code above ``fmt.max_code``): ``nearest_*`` and ``stochastic``
      give inf ("ieee"), NaN ("fn"/"fnuz") or ±max ("none"); ``toward_zero`` gives ±max;
      ``toward_positive`` gives the infinite result for positive and -max for negative values,
      ``toward_negative`` the mirror image.  ``saturate=True`` gives ±max always (also for ±inf).
    * ±inf input: ±inf ("ieee"), NaN ("fn"/"fnuz"), ±max ("none" or ``saturate``).
    * NaN input: ``fmt.nan_code`` with the input's sign bit ("ieee", "fn"), ``fmt.nan_code``
      ("fnuz"); ValueError for formats without NaN.
    * Zero results keep the input's sign, except in "fnuz" formats (only +0).
    * Negative input to an unsigned format: the NaN code, or ValueError without NaN.
      Zero-less formats (E8M0) store 0 as NaN and anything below their smallest value as
      code 0 (the smallest value), in every mode.
    * ``stochastic`` rounds up in magnitude with probability equal to the distance fraction; it
      needs ``rng`` (a numpy Generator, or an int seed for a fresh one) and draws one
      ``rng.random()`` only when the value is not exactly representable.
    """
    fmt = get_format(fmt)
    check_rounding(rounding)
    ev = _to_exact(value)
    negative = ev.negative
    sign = fmt.sign_mask if negative else 0

    if ev.kind == "nan":
        return _nan_result(fmt, negative, "NaN")
    if negative and not fmt.signed and not (ev.kind == "finite" and ev.magnitude == 0 and fmt.has_zero):
        return _nan_result(fmt, False, f"the negative value {_describe(ev)} (the format is unsigned)")
    if ev.kind == "inf":
        if saturate:
            return sign | fmt.max_code
        return _infinite_result(fmt, negative, "inf")

    mag = ev.magnitude
    assert mag is not None
    if mag == 0:
        if not fmt.has_zero:
            return _nan_result(fmt, negative, "0 (it has no zero)")
        return sign if fmt.has_negative_zero else 0

    n, d = mag.numerator, mag.denominator
    e = _floor_log2(n, d)
    big_e = max(e, fmt.minexp)
    shift = big_e - fmt.nmant
    num, den = (n, d << shift) if shift >= 0 else (n << -shift, d)
    r, rem = divmod(num, den)
    if rem:
        if rounding == "nearest_even":
            twice = 2 * rem
            r += twice > den or (twice == den and r & 1)
        elif rounding == "nearest_away":
            r += 2 * rem >= den
        elif rounding == "toward_positive":
            r += not negative
        elif rounding == "toward_negative":
            r += negative
        elif rounding == "stochastic":
            u_num, u_den = float(_rng(rng).random()).as_integer_ratio()
            r += u_num * den < rem * u_den
        # toward_zero: truncate
    elif rounding == "stochastic":
        _rng(rng)  # validate rng even when nothing is drawn

    mag_code = ((big_e - fmt.minexp) << fmt.nmant) + r
    if not fmt.has_zero:
        mag_code = max(mag_code - (1 << fmt.nmant), 0)

    if mag_code > fmt.max_code:
        if saturate or rounding == "toward_zero" or (rounding == "toward_positive" and negative) or (
            rounding == "toward_negative" and not negative
        ):
            return sign | fmt.max_code
        return _infinite_result(fmt, negative, f"{_describe(ev)} (it overflows)")
    if mag_code == 0 and fmt.has_zero and not fmt.has_negative_zero:
        return 0
    return sign | mag_code


def _describe(ev: ExactValue) -> str:
    """A short text for an error message (never huge, never failing on huge numbers)."""
    sign = "-" if ev.negative else ""
    if ev.kind != "finite":
        return sign + ev.kind
    q = ev.magnitude
    assert q is not None
    if q.numerator.bit_length() <= 64 and q.denominator.bit_length() <= 64:
        return sign + str(q)
    log10 = math.log10(q.numerator) - math.log10(q.denominator)
    if abs(log10) < 300:
        return f"{sign}{float(q):.6g}"
    return f"about {sign}10^{log10:.0f}"
