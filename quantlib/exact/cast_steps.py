"""A float-to-float cast written out bit by bit: re-bias the exponent, keep or drop mantissa
bits, round half to even, then catch overflow and underflow.

The result is the code :func:`quantlib.exact.round_value` gives for the source code's exact
value (``rounding="nearest_even"``), so what the steps show is what the cast does.
Worked example, float32 0.1 (0x3DCCCCCD) to bfloat16::

    >>> s = cast_steps(0x3DCCCCCD, "float32", "bfloat16")
    >>> s.exponent, s.dst_field, s.kept, s.dropped, s.decision, s.result.hex
    (-4, 123, '1001100', '1100110011001101', 'up', '0x3DCD')

``exponent`` = 123 − 127 (float32's bias) = −4, re-biased ``−4 + 127`` = 123; the 16 dropped
bits start with 1 and are not exactly half, so the kept 7 bits round up: 0.10009765625.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..formats import FloatFormat, get_format
from ._types import CodeInfo
from .decompose import code_value, decompose
from .round import round_value

__all__ = ["CastSteps", "cast_steps"]

Decision = Literal["exact", "down", "up", "tie_down", "tie_up"]
Special = Literal["nan", "inf", "zero", "sign", "no_zero", "no_nan"]


@dataclass(frozen=True)
class CastSteps:
    """Every step of casting one code to another format (see :func:`cast_steps`).

    ``special`` is None for a finite non-zero source, else what decided the result without
    rounding: "nan" (NaN stays NaN), "inf", "zero", "sign" (a negative value into an unsigned
    format), "no_zero" (0 into a format without zero), "no_nan" (NaN into a format without
    NaN: ``code`` is None and ``problem`` says why).

    For a finite source: ``exponent`` = floor(log2|x|) (for a subnormal source lower than
    1 − bias), ``dst_field`` = exponent + the target's bias (≤ 0: below the target's normal
    range, > its largest field: overflow), ``target_exponent`` = max(exponent, target minexp),
    ``lead`` the significand's integer bit at that exponent ("0" for a subnormal result),
    ``kept`` the target's ``nmant`` fraction bits (``padded`` of them zeros appended),
    ``dropped`` the source bits beyond them; ``decision`` compares the dropped bits with half
    of the last kept bit: "down" (< half), "up" (> half), "tie_down" / "tie_up" (= half: to
    the even neighbour); ``carry`` when rounding up overflowed the significand into the next
    binade.  ``overflow`` is None, "inf", "nan", "max" (formats without inf/NaN) or
    "saturate"; ``underflow`` is None, "subnormal", "zero" or "smallest" (zero-less target).
    """

    src: CodeInfo
    dst: FloatFormat
    saturate: bool
    code: int | None
    result: CodeInfo | None
    special: Special | None = None
    problem: str | None = None
    exponent: int | None = None
    dst_field: int | None = None
    target_exponent: int | None = None
    lead: str = ""
    kept: str = ""
    padded: int = 0
    dropped: str = ""
    decision: Decision | None = None
    carry: bool = False
    overflow: Literal["inf", "nan", "max", "saturate"] | None = None
    underflow: Literal["subnormal", "zero", "smallest"] | None = None

    @property
    def guard(self) -> str:
        """The first dropped bit (worth half of the last kept bit), '' when nothing is dropped."""
        return self.dropped[:1]

    @property
    def sticky(self) -> bool:
        """Whether any dropped bit after the guard bit is 1."""
        return "1" in self.dropped[1:]


def _overflow_kind(dst: FloatFormat, saturate: bool) -> Literal["inf", "nan", "max", "saturate"]:
    if saturate:
        return "saturate"
    return {"ieee": "inf", "none": "max"}.get(dst.nonfinite, "nan")  # type: ignore[return-value]


def cast_steps(code: int, src: FloatFormat | str, dst: FloatFormat | str, *, saturate: bool = False) -> CastSteps:
    """Cast ``code`` of ``src`` to ``dst`` by round-half-to-even, keeping every step.

    float16 1.0009765625 (0x3C01) to float8_e4m3fn: exponent 0 re-biased 0 + 7 = 7, kept
    ``000``, dropped ``0000001`` (< half): down, 1.0 (0x38).  ``saturate=True`` clamps an
    overflow to ±max, as ``round_value(..., saturate=True)`` does.
    """
    src, dst = get_format(src), get_format(dst)
    info = decompose(code, src)

    def done(result: int | None, **fields) -> CastSteps:
        return CastSteps(
            src=info,
            dst=dst,
            saturate=saturate,
            code=result,
            result=decompose(result, dst) if result is not None else None,
            **fields,
        )

    def oracle() -> int:
        return round_value(_exact_of(info), dst, saturate=saturate)

    if info.kind == "nan":
        if not dst.has_nan:
            return done(None, special="no_nan", problem=f"{dst.name} has no NaN, so NaN cannot be stored")
        return done(oracle(), special="nan")
    if info.negative and not dst.signed and not (info.kind == "zero" and dst.has_zero):
        return done(oracle(), special="sign")
    if info.kind == "inf":
        return done(oracle(), special="inf", overflow=_overflow_kind(dst, saturate) if dst.nonfinite != "ieee" or saturate else None)
    if info.kind == "zero":
        return done(oracle(), special="zero" if dst.has_zero else "no_zero")

    # a finite, non-zero value: |x| = sig × 2**k exactly
    assert info.significand is not None and info.unbiased_exponent is not None
    sig_bits = src.nmant
    sig = int(info.significand * (1 << sig_bits))
    k = info.unbiased_exponent - sig_bits
    e = k + sig.bit_length() - 1
    big_e = max(e, dst.minexp)
    frac_len = big_e - k  # bits of sig after the binary point at 2**big_e (≥ 0)
    lead = sig >> frac_len
    frac = format(sig & ((1 << frac_len) - 1), f"0{frac_len}b") if frac_len else ""
    n = dst.nmant
    padded = max(0, n - len(frac))
    kept, dropped = (frac + "0" * padded)[:n], frac[n:]
    r = (lead << n) | (int(kept, 2) if kept else 0)
    before = r
    if "1" not in dropped:
        decision: Decision = "exact"
    elif dropped[0] == "0":
        decision = "down"
    elif "1" in dropped[1:]:
        decision, r = "up", r + 1
    elif r & 1:
        decision, r = "tie_up", r + 1
    else:
        decision = "tie_down"
    carry = (r >> n) > (before >> n)
    mag_code = ((big_e - dst.minexp) << n) + r
    if not dst.has_zero:
        mag_code = max(mag_code - (1 << n), 0)

    overflow = underflow = None
    sign = dst.sign_mask if info.negative else 0
    if mag_code > dst.max_code:
        overflow = _overflow_kind(dst, saturate)
    elif not dst.has_zero and e < dst.minexp:
        underflow = "smallest"
    elif r == 0:
        underflow = "zero"
    elif big_e > e and not (carry and r >> n):
        underflow = "subnormal"
    if overflow is None and mag_code == 0 and dst.has_zero and not dst.has_negative_zero:
        result = 0
    elif overflow is None:
        result = sign | mag_code
    else:
        result = oracle()  # inf / NaN / ±max exactly as round_value writes them
    return done(
        result,
        exponent=e,
        dst_field=e + dst.bias,
        target_exponent=big_e,
        lead=str(lead),
        kept=kept,
        padded=padded,
        dropped=dropped,
        decision=decision,
        carry=carry,
        overflow=overflow,
        underflow=underflow,
    )


def _exact_of(info: CodeInfo):
    """The ExactValue of a decomposed code (keeps -0, inf and NaN with their sign)."""
    return code_value(info.code, info.fmt)
