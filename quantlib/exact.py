"""Scalar, exact arithmetic on single codes: what the Bit Inspector shows.

Everything here works on Python ints (codes) and fractions.Fraction (values), never on
rounded floats, so a value typed with 40 digits is rounded once, correctly.

Rounding rule (shared with the vectorized codec)
------------------------------------------------
For a finite magnitude ``|v| > 0`` with binade exponent ``e = floor(log2|v|)``, let
``E = max(e, fmt.minexp)`` and the quantum ``q = 2**(E - fmt.nmant)``.  ``R = |v| / q`` is
rounded to an integer once, per the rounding mode, and the magnitude code is

* ``((E - minexp) << nmant) + R`` for formats with a zero (a carry of ``R`` into the
  next binade lands on the right code automatically), and
* ``((E - minexp) << nmant) + R - 2**nmant`` for zero-less formats (E8M0), clamped below at
  code 0: there is no zero, so anything under the smallest value becomes the smallest value.

``nearest_even`` breaks ties toward even ``R``; ``stochastic`` rounds ``R`` up (in magnitude)
with probability equal to the fraction it lies above ``floor(R)``.  A magnitude code above
``fmt.max_code`` is an overflow: see :func:`round_value`.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Literal

import numpy as np

from .formats import FloatFormat, get_format
from .rounding import ROUNDING_MODES, Kind, Rounding, check_rounding

__all__ = [
    "ROUNDING_MODES",
    "ExactValue",
    "CodeInfo",
    "ConversionError",
    "parse_value",
    "parse_code",
    "round_value",
    "decompose",
    "exact_decimal",
    "code_value",
    "next_up",
    "next_down",
    "ulp",
    "conversion_error",
]


@dataclass(frozen=True)
class ExactValue:
    """A real number as typed, exactly: sign kept apart from magnitude so -0 survives.

    ``kind`` is "finite", "inf" or "nan"; ``magnitude`` is a non-negative Fraction for
    finite values and None otherwise.  ``parse_value("-0.1")`` is
    ``ExactValue(negative=True, magnitude=Fraction(1, 10), kind="finite")``.
    """

    negative: bool
    magnitude: Fraction | None
    kind: Literal["finite", "inf", "nan"] = "finite"

    def __post_init__(self) -> None:
        if self.kind not in ("finite", "inf", "nan"):
            raise ValueError(f"kind must be 'finite', 'inf' or 'nan', got {self.kind!r}")
        if self.kind == "finite":
            if self.magnitude is None:
                raise ValueError("a finite ExactValue needs a magnitude")
            mag = self.magnitude
            if not isinstance(mag, Fraction):
                if isinstance(mag, float) or not isinstance(mag, (Integral, Decimal)):
                    raise ValueError(f"magnitude must be a Fraction or an int, got {type(mag).__name__}")
                mag = Fraction(mag)
                object.__setattr__(self, "magnitude", mag)
            if mag < 0:
                raise ValueError(f"magnitude must be non-negative (the sign goes in negative=), got {mag}")
        elif self.magnitude is not None:
            raise ValueError(f"an ExactValue of kind {self.kind!r} has magnitude None")
        object.__setattr__(self, "negative", bool(self.negative))

    def as_fraction(self) -> Fraction:
        """The signed exact value; ValueError for inf/NaN."""
        if self.kind != "finite":
            raise ValueError(f"{self.kind} has no exact rational value")
        assert self.magnitude is not None
        return -self.magnitude if self.negative else self.magnitude


@dataclass(frozen=True)
class CodeInfo:
    """Everything about one code of one format (see :func:`decompose`)."""

    fmt: FloatFormat
    code: int
    hex: str            # '0x3DCCCCCD', zero-padded to ceil(bits/4) digits, upper-case digits
    binary: str         # '00111101110011001100110011001101', exactly fmt.bits characters
    sign_bits: str      # '0' ('' for unsigned formats)
    exponent_bits: str  # '01111011'
    mantissa_bits: str  # '10011001100110011001101' ('' when nmant == 0)
    sign: int           # 0 or 1
    exponent_field: int
    mantissa_field: int
    kind: Kind
    unbiased_exponent: int | None   # e - bias (1 - bias for subnormals); None for inf/nan/zero
    significand: Fraction | None    # 1 + m/2**nmant for normals, m/2**nmant for subnormals (0 for zeros)
    value: Fraction | None          # signed exact value; None for inf/nan
    negative: bool
    formula: str        # '(-1)^0 × 2^(123-127) × (1 + 5033165/8388608)' filled in with this code's numbers
    decimal: str        # every digit: '0.100000001490116119384765625'; 'inf', '-inf', 'nan', '-0'


@dataclass(frozen=True)
class ConversionError:
    """Error of storing an input in a format, exactly."""

    absolute: Fraction | None     # |stored - input|; None when input or stored is not finite
    relative: Fraction | None     # absolute / |input|; None when input is 0 or not finite
    ulps: Fraction | None         # absolute / ulp(stored)
    overflow: bool                # finite input became inf / NaN / was clamped to ±max
    underflow: bool               # non-zero input became zero (or the smallest value of a zero-less format)


# ====================================================================== parsing

# Largest decimal / binary exponent accepted from text.  Far beyond any format up to 64
# bits that can be printed at all (float64 spans 1e-324 .. 1e308), small enough that
# 10**exponent is computed instantly.
_MAX_DEC_EXP = 10_000
_MAX_BIN_EXP = 33_300

_DIGITS = r"[0-9](?:_?[0-9])*"
_HEXDIGITS = r"[0-9a-f](?:_?[0-9a-f])*"
_DEC_RE = re.compile(rf"(?P<int>{_DIGITS})?(?:\.(?P<frac>{_DIGITS})?)?(?:e(?P<exp>[+-]?{_DIGITS}))?")
_HEX_RE = re.compile(rf"0x(?P<int>{_HEXDIGITS})?(?:\.(?P<frac>{_HEXDIGITS})?)?(?:p(?P<exp>[+-]?{_DIGITS}))?")
_SPECIAL = {"inf": "inf", "infinity": "inf", "∞": "inf", "nan": "nan"}
_HELP = "expected a decimal like 0.1 or -2.5e-3, a fraction like 1/3, a hex float like 0x1.8p3, inf or nan"


class _Unreadable(Exception):
    """Internal: why a piece of text is not a number."""


def _split_sign(s: str) -> tuple[bool, str]:
    if s[:1] in ("+", "-"):
        return s[0] == "-", s[1:].lstrip()
    return False, s


def _exponent(text: str, limit: int, letter: str) -> int:
    e = int(text.replace("_", ""))
    if abs(e) > limit:
        raise _Unreadable(f"the exponent {letter}{e} is too large for this tool (limit ±{limit})")
    return e


def _str_to_int(digits: str, base: int = 10) -> int:
    """int(digits, base) for any length (Python limits int(str) to 4300 decimal digits)."""
    if base != 10 or len(digits) <= 4000:
        return int(digits, base)
    k = len(digits) // 2
    return _str_to_int(digits[:k]) * 10 ** (len(digits) - k) + _str_to_int(digits[k:])


def _parse_unsigned(s: str) -> Fraction:
    """An unsigned decimal or hex float, exactly (no inf/nan, no fraction bar)."""
    if s.startswith("0x"):
        m = _HEX_RE.fullmatch(s)
        if not m or (m["int"] is None and m["frac"] is None):
            raise _Unreadable("a hex float looks like 0x1.8p3 (hex digits 0-9 a-f, binary exponent after p)")
        int_digits = (m["int"] or "").replace("_", "")
        frac_digits = (m["frac"] or "").replace("_", "")
        mant = int(int_digits + frac_digits or "0", 16)
        shift = (_exponent(m["exp"], _MAX_BIN_EXP, "p") if m["exp"] else 0) - 4 * len(frac_digits)
        return Fraction(mant << shift) if shift >= 0 else Fraction(mant, 1 << -shift)
    m = _DEC_RE.fullmatch(s)
    if not m or (m["int"] is None and m["frac"] is None):
        raise _Unreadable(_reason(s))
    int_digits = (m["int"] or "").replace("_", "")
    frac_digits = (m["frac"] or "").replace("_", "")
    mant = _str_to_int(int_digits + frac_digits or "0")
    shift = (_exponent(m["exp"], _MAX_DEC_EXP, "e") if m["exp"] else 0) - len(frac_digits)
    if mant == 0:
        return Fraction(0)
    return Fraction(mant * 10**shift) if shift >= 0 else Fraction(mant, 10**-shift)


def _reason(s: str) -> str:
    """A student-readable reason why ``s`` (lower-case, sign removed) is not a decimal."""
    if not s:
        return "there are no digits"
    if "," in s:
        return "use '.' as the decimal point and no ',' (write 0.5, or 1000 / 1_000)"
    if s.count(".") > 1:
        return "it has more than one decimal point"
    if s.count("e") > 1:
        return "it has more than one exponent 'e'"
    if re.search(r"[+-]", re.sub(r"e[+-]", "e", s)):
        return "a sign may only appear at the start (and right after the exponent's 'e')"
    if re.search(r"e[+-]?$", s):
        return "the exponent after 'e' has no digits"
    if re.match(r"\.?e", s):
        return "there are no digits before the exponent 'e'"
    if s == ".":
        return "there are no digits"
    if " " in s:
        return "it contains a space"
    bad = next((c for c in s if c not in "0123456789._e"), None)
    if bad is not None:
        return f"unexpected character {bad!r}; {_HELP}"
    if "_" in s:
        return "'_' may only separate two digits (1_000_000)"
    return _HELP


def _parse_real(s: str) -> tuple[bool, Fraction]:
    negative, body = _split_sign(s)
    if not body:
        raise _Unreadable("there is a sign but no number")
    return negative, _parse_unsigned(body)


def parse_value(text: str) -> ExactValue:
    """Parse a decimal as typed, exactly: any number of digits, exponent notation
    ('2.5e-3'), a fraction ('1/3'), a C99 hex float ('0x1.8p3'), 'inf', '-inf', 'nan', '-0'.

    Case-insensitive; surrounding whitespace, a leading '+', the Unicode minus '−' and '_'
    between digits ('1_000') are accepted.  ``'-0'`` keeps its sign (``negative=True``,
    magnitude 0), as does ``'-nan'``.  ValueError with a readable message for anything else:
    ``could not read '1.2.3' as a number: it has more than one decimal point``.
    """
    if not isinstance(text, str):
        raise ValueError(f"could not read {text!r} as a number: expected text, got {type(text).__name__}")
    s = text.strip().lower().replace("\u2212", "-")
    try:
        if not s:
            raise _Unreadable("the text is empty")
        if "/" in s:
            parts = s.split("/")
            if len(parts) != 2:
                raise _Unreadable("a fraction has exactly one '/' (like 1/3)")
            num_text, den_text = (p.strip() for p in parts)
            if not num_text or not den_text:
                raise _Unreadable("a fraction needs a number on both sides of '/' (like 1/3)")
            for part in (num_text, den_text):
                if _split_sign(part)[1] in _SPECIAL:
                    raise _Unreadable("inf and nan cannot be part of a fraction")
            neg_n, num = _parse_real(num_text)
            neg_d, den = _parse_real(den_text)
            if den == 0:
                raise _Unreadable("division by zero (the part after '/' is 0)")
            return ExactValue(negative=neg_n != neg_d, magnitude=num / den)
        negative, body = _split_sign(s)
        if body in _SPECIAL:
            return ExactValue(negative=negative, magnitude=None, kind=_SPECIAL[body])  # type: ignore[arg-type]
        if not body:
            raise _Unreadable("there is a sign but no number")
        return ExactValue(negative=negative, magnitude=_parse_unsigned(body))
    except _Unreadable as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(f"could not read {shown!r} as a number: {exc}") from None


def parse_code(text: str, fmt: FloatFormat | str, *, base: Literal[2, 16]) -> int:
    """Parse a code typed as hex ('3f80', '0x3F80') or binary ('0b0011_1111...', spaces and
    underscores allowed); ValueError when it has more than ``fmt.bits`` bits.

    Leading zeros are fine (``'0x007E'`` is a valid E4M3FN code); a code whose *value* needs
    more than ``fmt.bits`` bits is not.
    """
    fmt = get_format(fmt)
    if base not in (2, 16):
        raise ValueError(f"base must be 2 or 16, got {base!r}")
    if not isinstance(text, str):
        raise ValueError(f"could not read {text!r} as a code: expected text")
    s = re.sub(r"[\s_]", "", text).lower()
    what = "hex" if base == 16 else "binary"
    prefix = "0x" if base == 16 else "0b"
    if s.startswith(prefix):
        s = s[2:]
    elif base == 2 and s.startswith("0x"):
        raise ValueError(f"could not read {text.strip()!r} as a binary code: it looks like hex (0x...); switch the input to hex")
    if not s:
        raise ValueError(f"could not read {text.strip()!r} as a {what} code: there are no digits")
    allowed = "01" if base == 2 else "0123456789abcdef"
    bad = next((c for c in s if c not in allowed), None)
    if bad is not None:
        digits = "only 0 and 1" if base == 2 else "only 0-9 and a-f"
        raise ValueError(f"could not read {text.strip()!r} as a {what} code: {bad!r} is not a {what} digit ({digits})")
    code = int(s, base)
    if code >> fmt.bits:
        limit = f"0x{(1 << fmt.bits) - 1:X}" if base == 16 else "1" * fmt.bits
        raise ValueError(
            f"code {text.strip()!r} needs {code.bit_length()} bits, but {fmt.name} codes have {fmt.bits} "
            f"(largest code {limit})"
        )
    return code


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


# ================================================================== neighbours


def next_up(code: int, fmt: FloatFormat | str) -> int | None:
    """The code of the next larger value (toward +inf), or None past the top / for NaN.

    ``next_up(-0) == next_up(+0) ==`` the smallest positive value; ``next_up(max)`` is +inf
    when the format has inf, else None; ``next_up(-smallest subnormal)`` is -0 (+0 in fnuz).
    """
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    kind = _kind(code, fmt)
    if kind == "nan":
        return None
    mag = code & fmt.mag_mask
    sign = code & fmt.sign_mask
    if kind == "inf":
        return None if not sign else sign | fmt.max_code
    if not sign or (mag == 0 and fmt.has_zero):  # positive or -0: grow the magnitude
        if mag < fmt.max_code:
            return mag + 1
        return fmt.inf_code if fmt.has_inf else None
    if mag == 0:  # -smallest of a zero-less format
        return 0
    mag -= 1
    if mag == 0 and fmt.has_zero and not fmt.has_negative_zero:
        return 0
    return sign | mag


def next_down(code: int, fmt: FloatFormat | str) -> int | None:
    """The code of the next smaller value (toward -inf), or None past the bottom / for NaN.

    ``next_down(+0) == next_down(-0) ==`` -smallest subnormal (None for unsigned formats);
    ``next_down(-max)`` is -inf when the format has inf, else None.
    """
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    kind = _kind(code, fmt)
    if kind == "nan":
        return None
    mag = code & fmt.mag_mask
    sign = code & fmt.sign_mask
    if kind == "inf":
        return None if sign else fmt.max_code
    if sign or (mag == 0 and fmt.has_zero):  # negative or ±0: grow the magnitude, negative
        if not fmt.signed:
            return None
        if mag == 0 and fmt.has_zero:
            return fmt.sign_mask | 1
        if mag < fmt.max_code:
            return fmt.sign_mask | (mag + 1)
        return fmt.sign_mask | fmt.inf_code if fmt.has_inf else None  # type: ignore[operator]
    if mag == 0:  # +smallest of a zero-less format
        return fmt.sign_mask | 0 if fmt.signed else None
    return mag - 1


def ulp(code: int, fmt: FloatFormat | str) -> Fraction | None:
    """Quantum of the binade the code lives in: 2**(max(e, minexp) - nmant); None for inf/NaN.

    float32 1.0 → 2**-23; E4M3FN 448 → 32; zeros and subnormals → the smallest subnormal."""
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    if _kind(code, fmt) in ("nan", "inf"):
        return None
    e = ((code & fmt.mag_mask) >> fmt.nmant) - fmt.bias
    return _pow2(max(e, fmt.minexp) - fmt.nmant)


def conversion_error(value: ExactValue, code: int, fmt: FloatFormat | str) -> ConversionError:
    """Absolute, relative and ulp error of storing ``value`` as ``code``.

    ``value`` may be anything :func:`round_value` accepts.  ``overflow`` is True when a finite
    input beyond ±max was stored as inf/NaN, or as ±max while more than half a step (ulp(max)/2)
    beyond it; ``underflow`` when a non-zero input
    was stored as ±0 (or, in a zero-less format, as the smallest value while below it).
    """
    fmt = get_format(fmt)
    code = _check_code(code, fmt)
    ev = _to_exact(value)
    stored = code_value(code, fmt)
    overflow = underflow = False
    absolute = relative = ulps = None
    if ev.kind == "finite":
        mag = ev.magnitude
        assert mag is not None
        sign_problem = ev.negative and mag != 0 and not fmt.signed
        if mag > fmt.max_exact and not sign_problem:
            # inf/NaN, or clamped to ±max from more than half a step beyond it (460 → 448 in
            # E4M3FN is plain rounding, 500 → 448 with saturation is an overflow)
            beyond = mag - fmt.max_exact > ulp(fmt.max_code, fmt) / 2
            overflow = stored.kind != "finite" or (stored.magnitude == fmt.max_exact and beyond)
        if stored.kind == "finite" and mag != 0:
            underflow = stored.magnitude == 0 or (
                not fmt.has_zero and stored.magnitude == fmt.smallest_subnormal_exact and mag < stored.magnitude
            )
        if stored.kind == "finite":
            absolute = abs(stored.as_fraction() - ev.as_fraction())
            relative = absolute / mag if mag != 0 else None
            u = ulp(code, fmt)
            assert u is not None
            ulps = absolute / u
    return ConversionError(absolute=absolute, relative=relative, ulps=ulps, overflow=overflow, underflow=underflow)
