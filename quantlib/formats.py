"""Binary floating-point formats: one description, one derivation of limits, one registry.

A :class:`FloatFormat` is the whole specification of a binary float: how many
exponent and mantissa bits it has, its exponent bias, whether it has a sign bit,
and what it does with the top of its range (``nonfinite``).  Every limit
(``max``, ``eps``, ``smallest_subnormal``, ...) is *derived* from those fields by
the same code for every format, and named as :class:`numpy.finfo` names it.

Spec cards of the registry (``S`` sign, ``E`` exponent, ``M`` mantissa bits):

==========================  =========  ====  ==========  ===================
name                        S/E/M      bias  nonfinite   max
==========================  =========  ====  ==========  ===================
``float64``                 1/11/52    1023  ieee        0x1.fffffffffffffp1023
``float32``                 1/8/23     127   ieee        0x1.fffffep127
``tfloat32``                1/8/10     127   ieee        0x1.ffcp127
``bfloat16``                1/8/7      127   ieee        0x1.fep127
``float16``                 1/5/10     15    ieee        0x1.ffcp15  # 65504
``float8_e4m3fn``           1/4/3      7     fn          0x1.cp8     # 448
``float8_e5m2``             1/5/2      15    ieee        0x1.8p15    # 57344
``float8_e4m3fnuz``         1/4/3      8     fnuz        0x1.ep7     # 240
``float8_e5m2fnuz``         1/5/2      16    fnuz        0x1.cp15    # 57344
``float8_e4m3``             1/4/3      7     ieee        0x1.ep7     # 240
``float8_e3m4``             1/3/4      3     ieee        0x1.fp3     # 15.5
``float8_e4m3b11fnuz``      1/4/3      11    fnuz        0x1.ep4     # 30
``float6_e2m3fn``           1/2/3      1     none        0x1.ep2     # 7.5
``float6_e3m2fn``           1/3/2      3     none        0x1.cp4     # 28
``float4_e2m1fn``           1/2/1      1     none        0x1.8p2     # 6
``float8_e8m0fnu``          0/8/0      127   fn, no 0    0x1p127
==========================  =========  ====  ==========  ===================

``nonfinite`` conventions (LLVM/MLIR suffixes, as ml_dtypes spells them):

* ``"ieee"``: the all-ones exponent holds ±inf (mantissa 0) and NaNs.
* ``"fn"``  (finite): no inf; only the all-ones code ``S.111..1`` is NaN, so the
  top binade is usable: E4M3FN reaches 448 instead of 240.
* ``"fnuz"`` (finite, unsigned zero): no inf and no -0; the one NaN is the code
  ``1000...0`` that would have been -0.
* ``"none"``: every code is a finite number (FP6, FP4 of the OCP MX spec).

``has_zero=False`` describes E8M0 (the MX scale type): exponent field 0 is an
ordinary binade (2**-127), so there is no zero and no subnormal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Literal

__all__ = [
    "FloatFormat",
    "FORMATS",
    "ALIASES",
    "get_format",
    "format_names",
]

Nonfinite = Literal["ieee", "fn", "fnuz", "none"]
_NONFINITE = ("ieee", "fn", "fnuz", "none")


@dataclass(frozen=True, kw_only=True)
class FloatFormat:
    """A binary floating-point format, ``(-1)^s × 2^(e-bias) × (1+m)``.

    Parameters
    ----------
    nexp, nmant : int
        Exponent bits and *stored* mantissa (fraction) bits.
    bias : int, optional
        Exponent bias; default ``2**(nexp-1) - 1`` (7 for E4M3, 127 for float32).
    signed : bool
        Whether there is a sign bit.
    nonfinite : {"ieee", "fn", "fnuz", "none"}
        What the top codes mean (see the module docstring).
    has_zero : bool
        False only for E8M0-like formats whose exponent field 0 is a normal binade.
    name : str, optional
        Defaults to a descriptive ``e{E}m{M}_b{bias}_{nonfinite}`` name.

    Examples
    --------
    >>> f = FloatFormat(nexp=4, nmant=3, nonfinite="fn")   # E4M3FN
    >>> f.bits, f.bias, f.max, f.smallest_subnormal
    (8, 7, 448.0, 0.001953125)
    """

    nexp: int
    nmant: int
    bias: int | None = None
    signed: bool = True
    nonfinite: Nonfinite = "ieee"
    has_zero: bool = True
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for attr in ("nexp", "nmant"):
            v = getattr(self, attr)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"{attr} must be an integer, got {v!r}")
        if self.nexp > 16:
            raise ValueError(f"nexp is at most 16 here (got {self.nexp}): wider exponents reach beyond 2**32767, past anything this lab can show")
        if self.nexp < 1:
            raise ValueError(f"nexp must be at least 1 (got {self.nexp}); a format without exponent bits is an integer, not a float")
        if self.nmant < 0:
            raise ValueError(f"nmant must be non-negative (got {self.nmant})")
        if self.nonfinite not in _NONFINITE:
            raise ValueError(f"nonfinite must be one of {', '.join(_NONFINITE)} (got {self.nonfinite!r})")
        bias = 2 ** (self.nexp - 1) - 1 if self.bias is None else self.bias
        if not isinstance(bias, int) or isinstance(bias, bool):
            raise ValueError(f"bias must be an integer, got {bias!r}")
        object.__setattr__(self, "bias", bias)
        bits = int(self.signed) + self.nexp + self.nmant
        if bits > 64:
            raise ValueError(f"a format has at most 64 bits; 1 sign + {self.nexp} exponent + {self.nmant} mantissa = {bits}")
        if bits < 2:
            raise ValueError("a format needs at least 2 bits")
        if self.nonfinite == "ieee":
            if self.nmant == 0:
                raise ValueError("nonfinite='ieee' needs at least 1 mantissa bit: with nmant=0 the all-ones exponent can hold inf but no NaN")
            if self.nexp < 2:
                raise ValueError("nonfinite='ieee' needs at least 2 exponent bits: with 1 the only non-zero exponent is taken by inf/NaN")
            if not self.signed:
                raise ValueError("nonfinite='ieee' needs a sign bit (it has ±inf)")
        if self.nonfinite == "fnuz" and not self.signed:
            raise ValueError("nonfinite='fnuz' puts NaN at the negative-zero code 1000…0, so it needs a sign bit")
        if not self.has_zero and self.nonfinite in ("ieee", "fnuz"):
            raise ValueError("has_zero=False is only defined for nonfinite='fn' or 'none' (E8M0 is unsigned 'fn'): ieee needs ±inf, fnuz puts NaN on the -0 code")
        if self.max_code <= 0:
            raise ValueError("this layout has no positive finite value")
        if not self.name:
            suffix = "" if self.signed else "_unsigned"
            nz = "" if self.has_zero else "_nozero"
            object.__setattr__(self, "name", f"e{self.nexp}m{self.nmant}_b{bias}_{self.nonfinite}{suffix}{nz}")

    # ------------------------------------------------------------------ layout
    @property
    def bits(self) -> int:
        """Total bits: sign + exponent + mantissa (8 for E4M3, 19 for tfloat32)."""
        return int(self.signed) + self.nexp + self.nmant

    @property
    def sign_mask(self) -> int:
        """The sign bit as a code mask (0 for unsigned formats)."""
        return (1 << (self.nexp + self.nmant)) if self.signed else 0

    @property
    def mag_mask(self) -> int:
        """Mask of the exponent and mantissa bits (0x7F for an 8-bit signed format)."""
        return (1 << (self.nexp + self.nmant)) - 1

    @property
    def code_dtype(self) -> str:
        """Smallest unsigned numpy dtype name holding a code: uint8/16/32/64."""
        for n in (8, 16, 32, 64):
            if self.bits <= n:
                return f"uint{n}"
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------- special codes
    @cached_property
    def max_code(self) -> int:
        """Magnitude code of the largest finite value (0x7E for E4M3FN: 448)."""
        allones = self.mag_mask
        if self.nonfinite == "ieee":
            return ((1 << self.nexp) - 1 << self.nmant) - 1
        if self.nonfinite == "fn":
            return allones - 1
        return allones

    @property
    def num_nan_codes(self) -> int:
        """How many codes are NaN: 2 for E4M3FN (0x7F, 0xFF), 2046 for float16, 1 for fnuz."""
        if self.nonfinite == "ieee":
            return 2 * ((1 << self.nmant) - 1)
        if self.nonfinite == "fn":
            return 2 if self.signed else 1
        return 1 if self.nonfinite == "fnuz" else 0

    def is_nan_code(self, code: int) -> bool:
        """Whether ``code`` is a NaN of this format."""
        mag = code & self.mag_mask
        if self.nonfinite == "ieee":
            return mag > (((1 << self.nexp) - 1) << self.nmant)
        if self.nonfinite == "fn":
            return mag == self.mag_mask
        if self.nonfinite == "fnuz":
            return code == self.sign_mask
        return False

    @cached_property
    def nan_code(self) -> int | None:
        """The code encode() writes for a positive NaN (quiet NaN for ieee), or None."""
        if self.nonfinite == "ieee":
            return ((1 << self.nexp) - 1 << self.nmant) | (1 << (self.nmant - 1))
        if self.nonfinite == "fn":
            return self.mag_mask
        if self.nonfinite == "fnuz":
            return self.sign_mask
        return None

    @property
    def inf_code(self) -> int | None:
        """The code of +inf, or None when the format has no inf."""
        return ((1 << self.nexp) - 1) << self.nmant if self.nonfinite == "ieee" else None

    @property
    def has_inf(self) -> bool:
        return self.nonfinite == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.nonfinite in ("ieee", "fn", "fnuz")

    @property
    def has_negative_zero(self) -> bool:
        return self.signed and self.has_zero and self.nonfinite != "fnuz"

    # ------------------------------------------------------ exponent range
    @property
    def minexp(self) -> int:
        """Exponent of the smallest normal (numpy.finfo.minexp): -126 for float32, -6 for E4M3."""
        return (1 if self.has_zero else 0) - self.bias

    @cached_property
    def emax(self) -> int:
        """Exponent of the largest finite value: 8 for E4M3FN (448 = 1.75 × 2**8)."""
        field_ = self.max_code >> self.nmant
        return field_ - self.bias

    @property
    def maxexp(self) -> int:
        """Smallest power of two that overflows (numpy.finfo.maxexp): 128 for float32, 9 for E4M3FN."""
        return self.emax + 1

    @property
    def machep(self) -> int:
        """Exponent of eps: the quantum of the binade [1, 2), max(0, minexp) - nmant (-3 for E4M3)."""
        return max(0, self.minexp) - self.nmant

    @property
    def negep(self) -> int:
        """Exponent of epsneg: the quantum of the binade below 1, max(-1, minexp) - nmant.

        -4 for E4M3; -1 for float4_e2m1fn, where 1 is the smallest normal and 0.5 the step below.
        """
        return max(-1, self.minexp) - self.nmant

    # ----------------------------------------------------- exact limits
    def exact_value(self, code: int) -> Fraction:
        """Exact value of a finite code as a Fraction (E4M3FN 0x7E → 448).

        Raises ValueError for NaN/inf codes.
        """
        if not 0 <= code < (1 << self.bits):
            raise ValueError(f"code {code} out of range for a {self.bits}-bit format")
        if self.is_nan_code(code) or (self.has_inf and (code & self.mag_mask) == self.inf_code):
            raise ValueError(f"code {code:#x} of {self.name} is not finite")
        mag = code & self.mag_mask
        e_field, m = mag >> self.nmant, mag & ((1 << self.nmant) - 1)
        if self.has_zero and e_field == 0:
            sig, e = Fraction(m), 1 - self.bias - self.nmant
        else:
            sig, e = Fraction(m + (1 << self.nmant)), e_field - self.bias - self.nmant
        v = sig * (Fraction(2) ** e)
        return -v if code & self.sign_mask else v

    @cached_property
    def max_exact(self) -> Fraction:
        """Largest finite value, exactly (Fraction(448) for E4M3FN)."""
        return self.exact_value(self.max_code)

    @cached_property
    def smallest_normal_exact(self) -> Fraction:
        return Fraction(2) ** self.minexp

    @cached_property
    def smallest_subnormal_exact(self) -> Fraction:
        if not self.has_zero:
            return self.smallest_normal_exact
        return Fraction(2) ** (self.minexp - self.nmant)

    @property
    def max(self) -> float:
        """Largest finite value as a float (inf if beyond float64): 448.0 for E4M3FN."""
        return _to_float(self.max_exact)

    @property
    def min(self) -> float:
        """Most negative finite value (-max), or the smallest value of an unsigned format."""
        if self.signed:
            return -self.max
        return 0.0 if self.has_zero else self.smallest_normal

    @property
    def smallest_normal(self) -> float:
        """2**minexp: 2**-126 for float32, 2**-6 = 0.015625 for E4M3."""
        return _to_float(self.smallest_normal_exact)

    @property
    def tiny(self) -> float:
        return self.smallest_normal

    @property
    def smallest_subnormal(self) -> float:
        """2**(minexp - nmant): 2**-9 = 0.001953125 for E4M3 (= smallest_normal without subnormals)."""
        return _to_float(self.smallest_subnormal_exact)

    @property
    def eps(self) -> float:
        """Gap between 1 and the next larger value, 2**machep: 0.125 for E4M3."""
        return 2.0**self.machep

    @property
    def epsneg(self) -> float:
        """Gap between 1 and the next smaller value, 2**negep: 0.0625 for E4M3, 0.5 for E2M1."""
        return 2.0**self.negep

    @property
    def precision(self) -> int:
        """Decimal digits of precision as numpy defines it, int(-log10(eps)): 6 for float32, 0 for E4M3."""
        return int(-math.log10(self.eps))

    @property
    def resolution(self) -> float:
        """10**-precision (numpy.finfo.resolution)."""
        return 10.0 ** -self.precision

    # ---------------------------------------------------------- counts
    @cached_property
    def num_finite_codes(self) -> int:
        """Codes that decode to a finite number, ±0 counted twice (E4M3FN: 254)."""
        per_sign = self.max_code + 1
        if not self.signed:
            return per_sign
        n = 2 * per_sign
        if self.nonfinite == "fnuz":
            n -= 1  # 1000…0 is NaN, not -0
        return n

    @cached_property
    def num_finite_values(self) -> int:
        """Distinct finite values, ±0 counted once (E4M3FN: 253; float4_e2m1fn: 15)."""
        return self.num_finite_codes - (1 if self.has_negative_zero else 0)

    @property
    def dynamic_range_binades(self) -> float:
        """log2(max / smallest_subnormal): 17.807... for E4M3FN (448 / 2**-9)."""
        return _log2_fraction(self.max_exact / self.smallest_subnormal_exact)

    @property
    def dynamic_range_binades_normal(self) -> float:
        """log2(max / smallest_normal), the range without subnormals."""
        return _log2_fraction(self.max_exact / self.smallest_normal_exact)

    @property
    def dynamic_range_decades(self) -> float:
        """log10(max / smallest_subnormal): 5.36 for E4M3FN."""
        return self.dynamic_range_binades * math.log10(2.0)

    # ------------------------------------------------------- containment
    def fits_in(self, other: "FloatFormat") -> bool:
        """Whether every finite value of self is exactly a value of ``other``.

        float16 fits in float32 (E5M10 ⊂ E8M23); bfloat16 does not fit in float16.
        """
        if other.nmant < self.nmant:
            return False
        if self.max_exact > other.max_exact:
            return False
        # every subnormal / normal of self must lie on other's grid
        if self.has_zero and not other.has_zero:
            return False
        return self.smallest_subnormal_exact >= other.smallest_subnormal_exact and (
            self.signed <= other.signed
        )

    def __repr__(self) -> str:
        return (
            f"FloatFormat(name={self.name!r}, nexp={self.nexp}, nmant={self.nmant}, bias={self.bias}, "
            f"signed={self.signed}, nonfinite={self.nonfinite!r}"
            + ("" if self.has_zero else ", has_zero=False")
            + ")"
        )


def _to_float(q: Fraction) -> float:
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def _log2_fraction(q: Fraction) -> float:
    return math.log2(q.numerator) - math.log2(q.denominator)


def _registry() -> dict[str, FloatFormat]:
    specs = [
        # name, nexp, nmant, bias, signed, nonfinite, has_zero
        ("float64", 11, 52, None, True, "ieee", True),
        ("float32", 8, 23, None, True, "ieee", True),
        ("tfloat32", 8, 10, None, True, "ieee", True),
        ("bfloat16", 8, 7, None, True, "ieee", True),
        ("float16", 5, 10, None, True, "ieee", True),
        ("float8_e4m3fn", 4, 3, None, True, "fn", True),
        ("float8_e5m2", 5, 2, None, True, "ieee", True),
        ("float8_e4m3fnuz", 4, 3, 8, True, "fnuz", True),
        ("float8_e5m2fnuz", 5, 2, 16, True, "fnuz", True),
        ("float8_e4m3", 4, 3, None, True, "ieee", True),
        ("float8_e3m4", 3, 4, None, True, "ieee", True),
        ("float8_e4m3b11fnuz", 4, 3, 11, True, "fnuz", True),
        ("float6_e2m3fn", 2, 3, None, True, "none", True),
        ("float6_e3m2fn", 3, 2, None, True, "none", True),
        ("float4_e2m1fn", 2, 1, None, True, "none", True),
        ("float8_e8m0fnu", 8, 0, None, False, "fn", False),
    ]
    return {
        name: FloatFormat(name=name, nexp=e, nmant=m, bias=b, signed=s, nonfinite=nf, has_zero=z)
        for name, e, m, b, s, nf, z in specs
    }


FORMATS: dict[str, FloatFormat] = _registry()
"""Every named format, by its canonical (ml_dtypes) name, widest first."""

ALIASES: dict[str, str] = {
    "fp64": "float64",
    "fp32": "float32",
    "tf32": "tfloat32",
    "bf16": "bfloat16",
    "fp16": "float16",
    "e4m3": "float8_e4m3fn",
    "e5m2": "float8_e5m2",
    "fp6_e2m3": "float6_e2m3fn",
    "fp6_e3m2": "float6_e3m2fn",
    "fp4_e2m1": "float4_e2m1fn",
    "e8m0": "float8_e8m0fnu",
}
"""Short names accepted by :func:`get_format`. There is deliberately no bare ``fp4``:
bitsandbytes' "fp4" is a different codebook from OCP's E2M1."""


def format_names() -> list[str]:
    """Canonical names of the registry, widest first."""
    return list(FORMATS)


def get_format(name: str | FloatFormat) -> FloatFormat:
    """Look up a format by canonical name or alias (``"bf16"`` → bfloat16).

    A FloatFormat is returned unchanged. An unknown name raises ValueError listing the valid ones.
    """
    if isinstance(name, FloatFormat):
        return name
    if not isinstance(name, str):
        raise ValueError(f"a format name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return FORMATS[key]
    except KeyError:
        raise ValueError(
            f"unknown format {name!r}; valid names: {', '.join(FORMATS)}; aliases: {', '.join(ALIASES)}"
            + (" (there is no bare 'fp4': use float4_e2m1fn / fp4_e2m1 for OCP E2M1)" if key == "fp4" else "")
        ) from None
