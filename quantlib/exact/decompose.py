"""A code's fields and exact value: sign, exponent, mantissa, kind, and its exact decimal."""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from numbers import Integral


from ..formats import FloatFormat, get_format
from ..rounding import Kind
from ._types import CodeInfo, ExactValue


# ================================================================ decomposition


def _check_code(code: int, fmt: FloatFormat) -> int:
    if isinstance(code, bool):
        raise ValueError(f"a code must be an integer, got {code!r}")
    try:
        code = operator.index(code)
    except TypeError:
        raise ValueError(f"a code must be an integer, got {type(code).__name__}") from None
    if not 0 <= code < (1 << fmt.bits):
        raise ValueError(f"code {code} is out of range for {fmt.name}: codes are 0 to {(1 << fmt.bits) - 1:#x}")
    return code


def _kind(code: int, fmt: FloatFormat) -> Kind:
    mag = code & fmt.mag_mask
    if fmt.is_nan_code(code):
        return "nan"
    if fmt.has_inf and mag == fmt.inf_code:
        return "inf"
    if fmt.has_zero and (mag >> fmt.nmant) == 0:
        return "zero" if mag == 0 else "subnormal"
    return "normal"


def _pow2(k: int) -> Fraction:
    return Fraction(1 << k) if k >= 0 else Fraction(1, 1 << -k)


def _magnitude(code: int, fmt: FloatFormat) -> Fraction:
    """Exact magnitude of a finite code (no Fraction powers: fast for float64)."""
    mag = code & fmt.mag_mask
    e_field, m = mag >> fmt.nmant, mag & ((1 << fmt.nmant) - 1)
    if fmt.has_zero and e_field == 0:
        sig, k = m, 1 - fmt.bias - fmt.nmant
    else:
        sig, k = m | (1 << fmt.nmant), e_field - fmt.bias - fmt.nmant
    return Fraction(sig << k) if k >= 0 else Fraction(sig, 1 << -k)


def _minus(a: int, b: int) -> str:
    """'a-b' as written in a formula, parenthesising a negative b."""
    return f"{a}-{b}" if b >= 0 else f"{a}-({b})"


def decompose(code: int, fmt: FloatFormat | str) -> CodeInfo:
    """Split a code into its fields, class, exact value, formula and exact decimal.

    Formulas (plain text, numbers filled in)::

        normal     (-1)^0 × 2^(123-127) × (1 + 5033165/8388608)
        subnormal  (-1)^0 × 2^(1-7) × (0 + 1/8)        zero: (-1)^1 × 2^(1-7) × (0 + 0/8)
        inf        exponent all ones, mantissa 0 → +inf
        NaN        exponent all ones, mantissa ≠ 0 → NaN (quiet)

    Unsigned formats drop the ``(-1)^s ×`` factor and formats without mantissa bits the
    significand factor (E8M0 code 128: ``2^(128-127)``).  In a zero-less format (E8M0) every
    non-NaN code is "normal" with significand 1.
    """
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    bits, nexp, nmant = fmt.bits, fmt.nexp, fmt.nmant
    binary = format(code, f"0{bits}b")
    s_len = int(fmt.signed)
    sign = (code >> (bits - 1)) & 1 if fmt.signed else 0
    mag = code & fmt.mag_mask
    e_field, m = mag >> nmant, mag & ((1 << nmant) - 1)
    kind = _kind(code, fmt)
    negative = bool(sign)

    sign_part = f"(-1)^{sign} × " if fmt.signed else ""
    unbiased: int | None
    significand: Fraction | None
    value: Fraction | None
    if kind in ("zero", "subnormal"):
        unbiased = None if kind == "zero" else 1 - fmt.bias
        significand = Fraction(m, 1 << nmant)
        magnitude = _magnitude(code, fmt)
        value = -magnitude if negative else magnitude
        formula = f"{sign_part}2^({_minus(1, fmt.bias)}) × (0 + {m}/{1 << nmant})"
        decimal = exact_decimal(value, negative_zero=negative and kind == "zero")
    elif kind == "normal":
        unbiased = e_field - fmt.bias
        significand = 1 + Fraction(m, 1 << nmant)
        magnitude = _magnitude(code, fmt)
        value = -magnitude if negative else magnitude
        sig_part = f" × (1 + {m}/{1 << nmant})" if nmant else ""
        formula = f"{sign_part}2^({_minus(e_field, fmt.bias)}){sig_part}"
        decimal = exact_decimal(value)
    elif kind == "inf":
        unbiased = significand = value = None
        formula = f"exponent all ones, mantissa 0 → {'-' if negative else '+'}inf"
        decimal = "-inf" if negative else "inf"
    else:  # nan
        unbiased = significand = value = None
        if fmt.nonfinite == "ieee":
            quiet = "quiet" if m >> (nmant - 1) else "signalling"
            formula = f"exponent all ones, mantissa ≠ 0 → NaN ({quiet})"
        elif fmt.nonfinite == "fnuz":
            formula = "sign 1, all other bits 0 (the code -0 would have) → NaN"
        elif nmant:
            formula = "exponent and mantissa all ones → NaN"
        else:
            formula = "exponent all ones → NaN"
        decimal = "nan"

    return CodeInfo(
        fmt=fmt,
        code=code,
        hex="0x" + format(code, f"0{(bits + 3) // 4}X"),
        binary=binary,
        sign_bits=binary[:s_len],
        exponent_bits=binary[s_len : s_len + nexp],
        mantissa_bits=binary[s_len + nexp :],
        sign=sign,
        exponent_field=e_field,
        mantissa_field=m,
        kind=kind,
        unbiased_exponent=unbiased,
        significand=significand,
        value=value,
        negative=negative,
        formula=formula,
        decimal=decimal,
    )


def _int_to_str(n: int) -> str:
    """str(n) for a non-negative int of any size (Python limits str() to 4300 digits)."""
    if n.bit_length() <= 12_000:
        return str(n)
    k = int(n.bit_length() * 0.30102999566398120 / 2)
    hi, lo = divmod(n, 10**k)
    return _int_to_str(hi) + _int_to_str(lo).zfill(k)


def exact_decimal(value: Fraction, *, negative_zero: bool = False) -> str:
    """Every decimal digit of a dyadic rational: Fraction(13421773, 134217728) →
    '0.100000001490116119384765625'.

    No exponent notation and no trailing zeros: '1', '0.5', '448', '-0.001953125'.  Any
    rational whose denominator is 2**a * 5**b (so it has a finite decimal expansion) works;
    others (1/3) raise ValueError.  ``negative_zero=True`` turns a zero into '-0'.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no decimal digits")
        q = Fraction(value)
    elif isinstance(value, (Fraction, Integral)):
        q = Fraction(value)
    else:
        raise ValueError(f"exact_decimal needs a Fraction or an int, got {type(value).__name__}")
    if q == 0:
        return "-0" if negative_zero else "0"
    n, d = abs(q.numerator), q.denominator
    a = (d & -d).bit_length() - 1
    d >>= a
    b = 0
    if d != 1:
        guess = round(math.log(d) / math.log(5))
        b = next((k for k in (guess, guess - 1, guess + 1) if k > 0 and 5**k == d), -1)
        if b < 0:
            raise ValueError(f"{q} has no finite decimal expansion (its denominator is not 2**a × 5**b)")
    k = max(a, b)
    digits = _int_to_str((n << (k - a)) * 5 ** (k - b))
    if k:
        digits = digits.zfill(k + 1)
        int_part, frac = digits[:-k], digits[-k:].rstrip("0")
        text = int_part + ("." + frac if frac else "")
    else:
        text = digits
    return "-" + text if q < 0 else text


def code_value(code: int, fmt: FloatFormat | str) -> ExactValue:
    """The exact value of a code as an ExactValue (keeps -0, inf, NaN).

    ``negative`` is the sign bit (so the fnuz NaN code 0x80 is a "negative" NaN)."""
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    negative = bool(code & fmt.sign_mask)
    kind = _kind(code, fmt)
    if kind in ("nan", "inf"):
        return ExactValue(negative=negative, magnitude=None, kind=kind)
    return ExactValue(negative=negative, magnitude=_magnitude(code, fmt))
