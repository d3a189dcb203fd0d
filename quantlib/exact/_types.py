"""The values the exact layer returns: an exact value, a code's fields, a conversion's error."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral
from typing import Literal


from ..formats import FloatFormat
from ..rounding import Kind


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
