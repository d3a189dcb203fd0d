"""Scalar, exact arithmetic on single codes: what the Bit Inspector shows.

CONTRACT STUB -- signatures and semantics are fixed; bodies are being written.
Everything here works on Python ints (codes) and fractions.Fraction (values), never on
rounded floats, so a value typed with 40 digits is rounded once, correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from .formats import FloatFormat, get_format

Rounding = Literal["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "stochastic"]
Kind = Literal["zero", "subnormal", "normal", "inf", "nan"]


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

    def as_fraction(self) -> Fraction:
        """The signed exact value; ValueError for inf/NaN."""
        raise NotImplementedError


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
    significand: Fraction | None    # 1 + m/2**nmant for normals, m/2**nmant for subnormals
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


def parse_value(text: str) -> ExactValue:
    """Parse a decimal as typed, exactly: any number of digits, exponent notation
    ('2.5e-3'), a fraction ('1/3'), a C99 hex float ('0x1.8p3'), 'inf', '-inf', 'nan', '-0'.

    ValueError with a readable message for anything else.
    """
    raise NotImplementedError


def parse_code(text: str, fmt: FloatFormat | str, *, base: Literal[2, 16]) -> int:
    """Parse a code typed as hex ('3f80', '0x3F80') or binary ('0b0011_1111...', spaces and
    underscores allowed); ValueError when it has more than ``fmt.bits`` bits."""
    raise NotImplementedError


def round_value(
    value: ExactValue | Fraction | int | float | str,
    fmt: FloatFormat | str,
    *,
    rounding: Rounding = "nearest_even",
    saturate: bool = False,
    rng=None,
) -> int:
    """Correctly round an exact value to a code of ``fmt``, once (same rules as codec.encode)."""
    raise NotImplementedError


def decompose(code: int, fmt: FloatFormat | str) -> CodeInfo:
    """Split a code into its fields, class, exact value, formula and exact decimal."""
    raise NotImplementedError


def exact_decimal(value: Fraction, *, negative_zero: bool = False) -> str:
    """Every decimal digit of a dyadic rational: Fraction(13421773, 134217728) →
    '0.100000001490116119384765625'."""
    raise NotImplementedError


def code_value(code: int, fmt: FloatFormat | str) -> ExactValue:
    """The exact value of a code as an ExactValue (keeps -0, inf, NaN)."""
    raise NotImplementedError


def next_up(code: int, fmt: FloatFormat | str) -> int | None:
    """The code of the next larger value (toward +inf), or None past the top / for NaN."""
    raise NotImplementedError


def next_down(code: int, fmt: FloatFormat | str) -> int | None:
    """The code of the next smaller value (toward -inf), or None past the bottom / for NaN."""
    raise NotImplementedError


def ulp(code: int, fmt: FloatFormat | str) -> Fraction | None:
    """Quantum of the binade the code lives in: 2**(max(e, minexp) - nmant); None for inf/NaN.

    float32 1.0 → 2**-23; E4M3FN 448 → 32."""
    raise NotImplementedError


def conversion_error(value: ExactValue, code: int, fmt: FloatFormat | str) -> ConversionError:
    """Absolute, relative and ulp error of storing ``value`` as ``code``."""
    raise NotImplementedError
