"""The exact integer rounding kernel (every element, every mode) and the fast bit-pattern path
(round-to-nearest / toward zero inside the normal range) with its plan per format."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..formats import FloatFormat
from ._common import _F32, _F32_FMT, _F64, _F64_FMT, _Domain


# ---------------------------------------------------------- the exact integer kernel
def _encode_exact(x: np.ndarray, fmt: FloatFormat, rounding: str, saturate: bool, rng) -> np.ndarray:
    """Codes for a float64 array, every rounding mode, every format: the reference kernel.

    Works on the exact integer significand S and exponent E of each input (|x| = S × 2**E).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    u = x.view(np.uint64)
    neg = (u >> np.uint64(63)).astype(bool)
    a = u & np.uint64(0x7FFF_FFFF_FFFF_FFFF)
    ef = (a >> np.uint64(52)).astype(np.int64)
    S = (a & np.uint64((1 << 52) - 1)) | ((ef != 0).astype(np.uint64) << np.uint64(52))
    E = np.maximum(ef, 1) - 1075
    e = np.maximum(ef, 1) - 1023
    if fmt.minexp - fmt.nmant < -1074 or fmt.minexp < -1022:
        # subnormal float64 inputs can be normal here: use their true exponent
        sub = (ef == 0) & (S != 0)
        if sub.any():
            e[sub] = np.frexp(x[sub])[1].astype(np.int64) - 1
    nonfinite = ef == 2047
    isnan = nonfinite & (S != np.uint64(1 << 52))
    isinf = nonfinite & ~isnan
    minexp, nmant = fmt.minexp, fmt.nmant
    eb = np.maximum(e, minexp)
    d = (eb - nmant) - E  # low bits of S that fall below the quantum
    d[nonfinite] = 0
    dc = np.clip(d, 0, 63).astype(np.uint64)
    T = S >> dc
    rem = S - (T << dc)
    if rounding == "nearest_even" or rounding == "nearest_away":
        half = np.uint64(1) << (np.maximum(dc, np.uint64(1)) - np.uint64(1))
        if rounding == "nearest_even":
            up = (rem > half) | ((rem == half) & ((T & np.uint64(1)) == 1))
        else:
            up = rem >= half
        up &= rem != 0
    elif rounding == "toward_zero":
        up = np.zeros(x.shape, bool)
    elif rounding == "toward_positive":
        up = (rem != 0) & ~neg
    elif rounding == "toward_negative":
        up = (rem != 0) & neg
    else:  # stochastic: round up with probability rem / 2**d, from 64 random bits
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        rbits = gen.integers(0, np.iinfo(np.uint64).max, size=x.shape, dtype=np.uint64, endpoint=True)
        dd = np.clip(d, 0, None)
        small = dd <= 64
        thr = np.zeros(x.shape, np.uint64)
        sh = np.clip(64 - dd, 0, 63).astype(np.uint64)
        thr[small] = np.where(dd[small] == 0, 0, rem[small] << sh[small])
        big = ~small
        if big.any():
            thr[big] = rem[big] >> np.clip(dd[big] - 64, 0, 63).astype(np.uint64)
        up = rbits < thr
    R = T + up.astype(np.uint64)
    finer = d < 0  # the format has more precision here than float64 (nmant > 52)
    if finer.any():
        R[finer] = S[finer] << (-d[finer]).astype(np.uint64)
    idx = (eb - minexp).astype(np.uint64)
    if fmt.has_zero:
        mag = np.where(R == 0, np.uint64(0), (idx << np.uint64(nmant)) + R)
    else:
        lead = np.uint64(1 << nmant)
        mag = np.where(R >= lead, (idx << np.uint64(nmant)) + R - lead, np.uint64(0))
    max_code = np.uint64(fmt.max_code)
    # magnitudes may have wrapped for absurd exponents; compare on the exponent first
    over = (mag > max_code) | (eb - minexp > (fmt.max_code >> nmant) + 1)
    over &= ~nonfinite
    # what an overflow becomes
    if saturate or fmt.nonfinite == "none":
        to_big = np.zeros(x.shape, bool)
    elif rounding == "toward_zero":
        to_big = np.zeros(x.shape, bool)
    elif rounding == "toward_positive":
        to_big = ~neg
    elif rounding == "toward_negative":
        to_big = neg.copy()
    else:
        to_big = np.ones(x.shape, bool)
    mag = np.where(over, max_code, mag)
    code_dtype = np.dtype(fmt.code_dtype)
    signed = fmt.signed
    sign_bit = np.uint64(fmt.sign_mask)
    # start from the magnitude with the input's sign
    code = mag.copy()
    if signed:
        code |= np.where(neg, sign_bit, np.uint64(0))
    # infinities
    inf_big = isinf | (over & to_big)
    if inf_big.any():
        if fmt.nonfinite == "ieee":
            code[inf_big] = np.uint64(fmt.inf_code) | np.where(neg[inf_big], sign_bit, np.uint64(0))
        elif saturate or fmt.nonfinite == "none":
            code[inf_big] = max_code | (np.where(neg[inf_big], sign_bit, np.uint64(0)) if signed else np.uint64(0))
        else:
            code[inf_big] = _nan_codes(fmt, neg[inf_big])
    if saturate and isinf.any():
        code[isinf] = max_code | (np.where(neg[isinf], sign_bit, np.uint64(0)) if signed else np.uint64(0))
    # zeros: fnuz has no -0; a format without zero has no zero at all
    if fmt.nonfinite == "fnuz":
        code[(mag == 0) & ~nonfinite] = 0
    if not fmt.has_zero:
        zero_in = a == 0
        if zero_in.any():
            if not fmt.has_nan:
                raise ValueError(
                    f"{int(zero_in.sum())} zero value(s) in the input, but {fmt.name} has neither a zero nor a NaN; "
                    "replace the zeros first"
                )
            code[zero_in] = np.uint64(fmt.nan_code)
    if not signed:
        negs = neg & (a != 0) & ~isnan
        if negs.any():
            if not fmt.has_nan:
                raise ValueError(
                    f"{int(negs.sum())} negative value(s) cannot be stored in the unsigned format {fmt.name}, "
                    "which has no NaN; take the absolute value or clip at 0 first"
                )
            code[negs] = np.uint64(fmt.nan_code)
    if isnan.any():
        if not fmt.has_nan:
            raise ValueError(
                f"{int(isnan.sum())} NaN value(s) in the input, but {fmt.name} has no NaN; "
                "drop or replace the NaNs first (e.g. np.nan_to_num)"
            )
        code[isnan] = _nan_codes(fmt, neg[isnan])
    return code.astype(code_dtype)


def _nan_codes(fmt: FloatFormat, neg: np.ndarray) -> np.ndarray:
    """The NaN code written for NaN input (sign kept where the format has signed NaNs)."""
    base = np.uint64(fmt.nan_code)
    if fmt.nonfinite in ("ieee", "fn") and fmt.signed:
        return base | np.where(neg, np.uint64(fmt.sign_mask), np.uint64(0))
    return np.full(neg.shape, base, np.uint64)


# -------------------------------------------------------------------- fast path plan
@dataclass(frozen=True)
class _Plan:
    """Constants of the fast path for one (format, domain, rounding).

    ``magic``: round-to-nearest-even by adding, per element, C = 2**(max(e, minexp) - nmant + p)
    and subtracting it again: the hardware's one correctly rounded addition lands |x| on the
    format's grid, subnormals included (|x| + C stays in C's binade, whose ulp is the quantum).
    ``bits``: round the bit pattern itself (ties to even via the kept LSB), for formats whose
    range is as wide as the domain's.
    Elements whose |x| bit pattern is outside ``[lo, lo + span]`` go to the exact kernel.
    """

    dom: _Domain
    magic: bool
    d0: int  # dropped low bits in the normal range
    lo: int  # bit pattern of the smallest |x| handled by the fast path
    span: int  # hi - lo
    lo_field: int  # magic: smallest exponent field used for C (the format's minexp)
    c_add: int  # magic: p - nmant, added to the exponent field to make C
    half_m1: int  # bits: (1 << (d0-1)) - 1 for ties-to-even, 1 << (d0-1) for ties-away, 0 for toward zero
    parity: bool  # bits: add the kept LSB (ties to even)
    keep: int  # bits: mask clearing the d0 low bits
    off: int  # subtract from (bits >> d0) to get the code magnitude (normal results)
    sub_scale: float  # encode: |r| * sub_scale maps the format's subnormals onto the domain's
    unsigned: bool
    has_zero: bool
    nan_bits: int  # unsigned formats: domain bit pattern of NaN for negative inputs


@lru_cache(maxsize=256)
def _plan(fmt: FloatFormat, dom: _Domain, rounding: str) -> _Plan | None:
    if rounding not in ("nearest_even", "nearest_away", "toward_zero"):
        return None
    d0 = dom.p - fmt.nmant
    if d0 < 1 or fmt.emax > dom.bias:
        return None
    dom_fmt = _F32_FMT if dom is _F32 else _F64_FMT
    dom_minexp = dom_fmt.minexp
    # largest input bit pattern that rounds to at most max
    maxbits = ((fmt.emax + dom.bias) << dom.p) | ((fmt.max_code & ((1 << fmt.nmant) - 1)) << d0)
    top = (2 * dom.bias + 1) << dom.p  # the inf pattern
    if rounding == "toward_zero":
        hi = min(maxbits | ((1 << d0) - 1), top - 1)
    else:
        mid = maxbits + (1 << (d0 - 1))  # exactly halfway to the next (virtual) value
        ties_even = rounding == "nearest_even" and fmt.nmant > 0
        hi = mid if (ties_even and (fmt.max_code & 1) == 0) else mid - 1
    magic = (
        rounding == "nearest_even"
        and fmt.minexp >= -60  # wide formats (bfloat16, tfloat32) rarely meet their subnormals: bit path
        and fmt.emax + d0 + 1 <= dom.bias  # C and |x| + C stay finite
        and fmt.minexp - fmt.nmant + dom.p >= dom_minexp  # C is a normal number
        and (fmt.minexp >= dom_minexp or (not fmt.has_zero and fmt.minexp + dom.bias >= 0))
    )
    # formats without zero round everything below their smallest value up to it: exact kernel
    if magic and fmt.nonfinite == "fnuz":
        # |x| <= smallest_subnormal / 2 may round to 0, which has no sign here: exact kernel
        lo = ((fmt.minexp - fmt.nmant - 1 + dom.bias) << dom.p) + 1
    elif magic:
        lo = 0 if fmt.has_zero else (fmt.minexp + dom.bias) << dom.p if fmt.minexp >= dom_minexp else 1 << (dom.p + fmt.minexp - dom_minexp)
    elif fmt.minexp == dom_minexp and fmt.has_zero:
        lo = 0  # the format's subnormals share the domain's subnormal grid
    else:
        lo = (max(fmt.minexp, dom_minexp) + dom.bias) << dom.p
    if hi < lo:
        return None
    if rounding == "toward_zero":
        half_m1, parity = 0, False
    elif rounding == "nearest_even" and fmt.nmant > 0:
        half_m1, parity = (1 << (d0 - 1)) - 1, True
    else:  # ties away (also ties-to-even when nmant == 0: the significand 1 is odd)
        half_m1, parity = 1 << (d0 - 1), False
    keep = ((1 << dom.width) - 1) ^ ((1 << d0) - 1)
    off = (dom.bias - fmt.bias) << fmt.nmant
    sub_scale = 2.0 ** (dom_minexp - fmt.minexp) if (fmt.minexp > dom_minexp and fmt.has_zero) else 1.0
    if not fmt.signed and not fmt.has_nan:
        return None  # negative input must raise: leave it to the exact kernel
    nan_bits = ((2 * dom.bias + 1) << dom.p) | (1 << (dom.p - 1))
    return _Plan(dom, magic, d0, lo, hi - lo, fmt.minexp + dom.bias, d0, half_m1, parity, keep, off, sub_scale, not fmt.signed, fmt.has_zero, nan_bits)


def _pick_plan(fmt: FloatFormat, dtype: np.dtype, rounding: str) -> _Plan | None:
    """The input's own domain if the fast path works there, else float64's, else None."""
    src = _F64 if dtype == np.float64 else _F32
    plan = _plan(fmt, src, rounding)
    if plan is None and src is _F32:
        plan = _plan(fmt, _F64, rounding)
    return plan


def _fast_round(plan: _Plan, u: np.ndarray, r: np.ndarray, t: np.ndarray, special: np.ndarray, neg: np.ndarray | None = None) -> bool:
    """r = bit pattern of u rounded (sign kept); special marks elements the fast path cannot take.

    Returns whether any lane is special (``special`` is only filled in then: one max-reduction
    usually saves the mask).  For unsigned formats ``neg`` receives the negative lanes (-0
    included when the format has no zero); they are not special: the caller writes NaN into them.
    """
    dom = plan.dom
    U = dom.utype
    a = r if plan.magic else t  # |x| bits: the magic path rounds |x| in r itself
    np.bitwise_and(u, dom.absmask, out=a)
    w = a
    if plan.lo:
        np.subtract(a, U(plan.lo), out=t)  # below lo wraps high: special
        w = t
    any_special = plan.unsigned or w.size == 0 or bool(w.max() > plan.span)
    if any_special:
        np.greater(w, U(plan.span), out=special)
    if plan.unsigned:
        np.greater(u, dom.sign if plan.has_zero else dom.absmask, out=neg)  # -0 is zero where zero exists
        np.greater(special, neg, out=special)  # special and not negative
    if plan.magic:
        F = dom.ftype
        # C = 2**(max(e, minexp) - nmant + p): exponent field of max(|x|, 2**minexp), plus p - nmant
        np.maximum(r, U(plan.lo_field << dom.p), out=t)
        np.bitwise_and(t, U(((1 << (dom.width - 1 - dom.p)) - 1) << dom.p), out=t)
        np.add(t, U(plan.c_add << dom.p), out=t)
        with np.errstate(all="ignore"):  # inf/NaN/huge lanes are special and overwritten
            rf, tf = r.view(F), t.view(F)
            np.add(rf, tf, out=rf)
            np.subtract(rf, tf, out=rf)
            if not plan.unsigned:
                np.copysign(rf, u.view(F), out=rf)
        return any_special
    if plan.parity:
        np.right_shift(u, U(plan.d0), out=t)
        np.bitwise_and(t, U(1), out=t)
        np.add(u, t, out=r)
        np.add(r, U(plan.half_m1), out=r)
    elif plan.half_m1:
        np.add(u, U(plan.half_m1), out=r)
    else:
        np.copyto(r, u)
    np.bitwise_and(r, U(plan.keep), out=r)
    return any_special
