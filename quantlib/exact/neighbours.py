"""A code's neighbours, its ulp, and the error of a conversion."""

from __future__ import annotations

from fractions import Fraction


from ..formats import FloatFormat, get_format
from ._types import ConversionError, ExactValue
from .decompose import _check_code, _kind, _pow2, code_value
from .round import _to_exact


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
