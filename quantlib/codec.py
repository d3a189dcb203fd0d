"""Vectorized, exact encode / decode / cast between numpy floats and any :class:`FloatFormat`.

Every value is rounded **once**, from the exact value of the input element: a float64
input is never rounded through float32 first.  (ml_dtypes does that, and turns
``1.0625 + 2**-40`` into 1.0 in E4M3 instead of 1.125.)

The rule, for ``|x|`` in the binade ``[2**e, 2**(e+1))``:

* quantum ``q = 2**(max(e, minexp) - nmant)`` (fixed below ``smallest_normal``: subnormals);
* ``R = round(|x| / q)`` by the rounding mode, on the exact integer significand;
* magnitude code ``= ((max(e, minexp) - minexp) << nmant) + R``, so a carry out of the
  mantissa lands on the next binade by itself;
* a code above ``fmt.max_code`` overflows: ±inf (``ieee``), NaN (``fn``/``fnuz``),
  ±max (``none``, or ``saturate=True``); directed modes clamp to ±max on the side they
  round toward zero, as IEEE 754 §7.4 says.

Worked number: float32 ``0.1`` (= 13421773 × 2**-27) into E4M3FN: e = -4, q = 2**-7,
``R = round(12.8000002) = 13``, code = ``((-4 + 6) << 3) + 13 = 29 = 0x1D``, value 0.1015625.

Speed: the common case (round-to-nearest or toward zero, input inside the normal range)
is done on the input's bit pattern in cache-sized chunks, one thread per core; the rest
(subnormals, overflow, NaN, directed and stochastic rounding) goes through an exact
integer kernel on just those elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._parallel import CHUNK, run_parallel, spans, thread_count
from .formats import FloatFormat, get_format
from .rounding import KINDS, ROUNDING_MODES, Rounding, check_rounding

__all__ = [
    "ROUNDING_MODES",
    "encode",
    "decode",
    "cast",
    "all_values",
    "classify",
    "AllValues",
    "KINDS",
]


# --------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _Domain:
    """The float type whose bit pattern a chunk is processed in."""

    ftype: type
    utype: type
    itype: type
    p: int  # stored mantissa bits
    bias: int
    width: int

    @property
    def sign(self):
        return self.utype(1 << (self.width - 1))

    @property
    def absmask(self):
        return self.utype((1 << (self.width - 1)) - 1)


_F32 = _Domain(np.float32, np.uint32, np.int32, 23, 127, 32)
_F64 = _Domain(np.float64, np.uint64, np.int64, 52, 1023, 64)
_F32_FMT = FloatFormat(name="float32", nexp=8, nmant=23)
_F16_FMT = FloatFormat(name="float16", nexp=5, nmant=10)
_F64_FMT = FloatFormat(name="float64", nexp=11, nmant=52)


def _as_float_array(x) -> np.ndarray:
    """numpy float array holding x exactly (float16/32/64 kept; ints and Python floats → float64)."""
    arr = np.asarray(x)
    if arr.dtype in (np.float16, np.float32, np.float64):
        return arr
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        out = arr.astype(np.float64)
        if arr.size and np.issubdtype(arr.dtype, np.integer):
            big = np.abs(arr.astype(np.float64)) > 2.0**53
            if big.any():
                raise ValueError(
                    f"{int(big.sum())} integer input(s) exceed 2**53 and are not exact in float64; "
                    "convert them to float yourself if rounding twice is acceptable"
                )
        return out
    if np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{arr.dtype} input is not supported: convert to float64 first")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("complex input is not supported: encode the real and imaginary parts separately")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"could not read the input as numbers ({arr.dtype}): {exc}") from None


def _threads(threads: int | None, n: int) -> int:
    return thread_count(n, threads)


def _run_chunked(n: int, threads: int, work) -> None:
    """Call work(start, stop) over contiguous spans of whole chunks, one span per thread.

    Floating-point warnings are silenced inside: widening a signalling NaN raises 'invalid',
    and lanes that the exact kernel overwrites may overflow on the way.
    """
    run_parallel(spans(n, threads), lambda span: work(*span), quiet=True)


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


# ------------------------------------------------------------------------ encode
def encode(
    x,
    fmt: FloatFormat | str,
    *,
    rounding: Rounding = "nearest_even",
    saturate: bool = False,
    rng: np.random.Generator | int | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Round every element of ``x`` once, exactly, to a code of ``fmt``.

    Returns unsigned, right-aligned codes (uint8/16/32/64 by ``fmt.bits``; an FP4 code is
    0..15) in the shape of ``x``.  Example: ``encode(0.1, "float32")`` → ``0x3DCCCCCD``;
    ``encode(500.0, "float8_e4m3fn")`` → ``0x7F`` (NaN), with ``saturate=True`` → ``0x7E`` (448).

    Parameters
    ----------
    x : array_like
        float16/32/64 arrays, Python floats, lists or integers (exact up to 2**53).
    rounding : str
        One of :data:`ROUNDING_MODES`. ``stochastic`` rounds up with probability equal to
        the distance fraction, from 64 random bits of ``rng`` (a Generator or a seed).
    saturate : bool
        Overflow and ±inf go to ±max instead of inf/NaN.
    threads : int, optional
        Worker threads for large inputs (default: one per core).
    """
    fmt = get_format(fmt)
    check_rounding(rounding)
    arr = _as_float_array(x)
    shape = arr.shape
    flat = np.ascontiguousarray(arr).reshape(-1)
    out = np.empty(flat.size, dtype=fmt.code_dtype)
    n = flat.size
    if n == 0:
        return out.reshape(shape)
    if rounding == "stochastic":
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        for s in range(0, n, CHUNK):
            out[s : s + CHUNK] = _encode_exact(flat[s : s + CHUNK].astype(np.float64), fmt, rounding, saturate, gen)
        return out.reshape(shape)
    plan = _pick_plan(fmt, flat.dtype, rounding)

    def work(start: int, stop: int) -> None:
        if plan is None:
            for s in range(start, stop, CHUNK):
                e_ = min(stop, s + CHUNK)
                out[s:e_] = _encode_exact(flat[s:e_].astype(np.float64), fmt, rounding, saturate, None)
            return
        dom = plan.dom
        U = dom.utype
        buf_t = np.empty(CHUNK, U)
        buf_r = np.empty(CHUNK, U)
        buf_s = np.empty(CHUNK, U)
        buf_x = np.empty(CHUNK, dom.ftype) if flat.dtype != dom.ftype else None
        special = np.empty(CHUNK, bool)
        negbuf = np.empty(CHUNK, bool) if plan.unsigned else None
        sign_shift = U(dom.width - fmt.bits)
        sign_t = U(fmt.sign_mask)
        pending: list[np.ndarray] = []  # special positions, done in one exact-kernel call per span
        for s in range(start, stop, CHUNK):
            e_ = min(stop, s + CHUNK)
            m = e_ - s
            xc = flat[s:e_]
            if buf_x is not None:
                np.copyto(buf_x[:m], xc, casting="unsafe")  # exact widening
                xc = buf_x[:m]
            u = xc.view(U)
            r, t, sp = buf_r[:m], buf_t[:m], special[:m]
            neg = negbuf[:m] if plan.unsigned else None
            has_special = _fast_round(plan, u, r, t, sp, neg)
            # bits of the rounded value -> code magnitude, then the sign
            if not plan.unsigned:
                np.bitwise_and(r, dom.absmask, out=r)
            if plan.sub_scale != 1.0:
                # |r| × 2**(domain minexp - format minexp): the format's subnormals land on the
                # domain's subnormals, its normals keep their mantissa; exact, a power of two
                rf = r.view(dom.ftype)
                with np.errstate(all="ignore"):  # special lanes may hold garbage
                    np.multiply(rf, dom.ftype(plan.sub_scale), out=rf)
                np.right_shift(r, U(plan.d0), out=r)
            else:
                np.right_shift(r, U(plan.d0), out=r)
                np.subtract(r, U(plan.off), out=r)
            if fmt.signed:
                sg = buf_s[:m]
                np.right_shift(u, sign_shift, out=sg)
                np.bitwise_and(sg, sign_t, out=sg)
                np.bitwise_or(r, sg, out=r)
            if plan.unsigned:  # NaN for negatives: the all-ones code, OR-ed in (a masked copy is slow)
                np.multiply(neg, U(fmt.nan_code), out=t)
                np.bitwise_or(r, t, out=r)
                np.bitwise_and(r, U(fmt.mag_mask), out=r)  # negative lanes held garbage above the code
            np.copyto(out[s:e_], r, casting="unsafe")
            idx = np.flatnonzero(sp) if has_special else None
            if idx is not None and idx.size:
                pending.append(idx + s)
        if pending:
            idx = np.concatenate(pending)
            out[idx] = _encode_exact(flat[idx].astype(np.float64), fmt, rounding, saturate, None)

    _run_chunked(n, _threads(threads, n), work)
    return out.reshape(shape)


# ------------------------------------------------------------------------ decode
@lru_cache(maxsize=64)
def _decode_table(fmt: FloatFormat) -> np.ndarray:
    codes = np.arange(1 << fmt.bits, dtype=np.uint64)
    tab = _decode_arith(codes, fmt)
    tab.setflags(write=False)
    return tab


def _fits_f64(fmt: FloatFormat) -> bool:
    return fmt.fits_in(_F64_FMT) or (not fmt.has_zero and fmt.emax <= 1023 and fmt.minexp >= -1022 and fmt.nmant <= 52)


def _fits_f32(fmt: FloatFormat) -> bool:
    return fmt.fits_in(_F32_FMT) or (not fmt.has_zero and fmt.emax <= 127 and fmt.minexp - fmt.nmant >= -149 and fmt.nmant <= 23)


def _decode_arith(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Exact float64 values of codes by arithmetic (format must fit in float64)."""
    c = codes.astype(np.uint64)
    nm = np.uint64(fmt.nmant)
    mag = c & np.uint64(fmt.mag_mask)
    ef = (mag >> nm).astype(np.int64)
    m = mag & np.uint64((1 << fmt.nmant) - 1)
    if fmt.has_zero:
        sig = m + ((ef != 0).astype(np.uint64) << nm)
        ex = np.maximum(ef, 1) - fmt.bias - fmt.nmant
    else:
        sig = m + (np.uint64(1) << nm)
        ex = ef - fmt.bias - fmt.nmant
    with np.errstate(over="ignore"):  # the inf/NaN codes of ieee formats are overwritten below
        val = np.ldexp(sig.astype(np.float64), ex.astype(np.int32))  # sig < 2**53: exact
    if fmt.signed:
        val = np.where((c & np.uint64(fmt.sign_mask)) != 0, -val, val)
    if fmt.nonfinite == "ieee":
        top = ef == (1 << fmt.nexp) - 1
        val = np.where(top & (m == 0), np.copysign(np.inf, val), val)
        val = np.where(top & (m != 0), np.copysign(np.nan, val), val)
    elif fmt.nonfinite == "fn":
        val = np.where(mag == np.uint64(fmt.mag_mask), np.copysign(np.nan, val), val)
    elif fmt.nonfinite == "fnuz":
        val = np.where(c == np.uint64(fmt.sign_mask), np.nan, val)
    return val


def decode(codes, fmt: FloatFormat | str, *, dtype=np.float64) -> np.ndarray:
    """Exact values of codes: ``decode(0x3F80, "bfloat16")`` → 1.0.

    ``dtype`` is float64 (default) or float32/float16 when every value of ``fmt`` is exact
    in it; otherwise ValueError.  Codes outside ``0 .. 2**bits-1`` raise ValueError.
    """
    fmt = get_format(fmt)
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        ok = _fits_f64(fmt)
    elif dtype == np.float32:
        ok = _fits_f32(fmt)
    elif dtype == np.float16:
        ok = fmt.fits_in(_F16_FMT)
    else:
        raise ValueError(f"decode dtype must be float16, float32 or float64, not {dtype}")
    if not ok:
        raise ValueError(
            f"not every value of {fmt.name} is exact in {dtype}; decode to a wider dtype, "
            "or use quantlib.exact for exact values"
        )
    c = np.asarray(codes)
    if not (np.issubdtype(c.dtype, np.integer) or c.dtype == np.bool_):
        raise ValueError(f"codes must be integers, got {c.dtype}")
    if c.size:
        if np.issubdtype(c.dtype, np.signedinteger) and c.min() < 0:
            raise ValueError("codes must be non-negative")
        if int(c.max()) >> fmt.bits:
            raise ValueError(f"code {int(c.max()):#x} does not fit in {fmt.bits} bits of {fmt.name}")
    if fmt.bits > 16:
        return _decode_arith(c, fmt).astype(dtype, copy=False)
    table = _decode_table_as(fmt, dtype)  # exact in dtype (checked above)
    flat = np.ascontiguousarray(c).reshape(-1)
    out = np.empty(flat.size, dtype)

    def work(a: int, b: int) -> None:
        for i in range(a, b, CHUNK):  # per chunk: the index conversion stays in cache
            j = min(b, i + CHUNK)
            np.take(table, flat[i:j], out=out[i:j])

    _run_chunked(flat.size, _threads(None, flat.size), work)
    return out.reshape(c.shape)


@lru_cache(maxsize=64)
def _decode_table_as(fmt: FloatFormat, dtype: np.dtype) -> np.ndarray:
    tab = _decode_table(fmt).astype(dtype)
    tab.setflags(write=False)
    return tab


# -------------------------------------------------------------------------- cast
@lru_cache(maxsize=256)
def _cast_dtype(in_dtype: np.dtype, fmt: FloatFormat) -> np.dtype:
    for dt, ok in ((np.float16, lambda: fmt.fits_in(_F16_FMT)), (np.float32, lambda: _fits_f32(fmt)), (np.float64, lambda: _fits_f64(fmt))):
        if np.dtype(dt).itemsize >= in_dtype.itemsize and ok():
            return np.dtype(dt)
    raise ValueError(f"not every value of {fmt.name} is exact in float64; use encode() and quantlib.exact instead of cast()")


def cast(
    x,
    fmt: FloatFormat | str,
    *,
    rounding: Rounding = "nearest_even",
    saturate: bool = False,
    rng: np.random.Generator | int | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """``decode(encode(x, fmt))``, returned in x's float dtype when every value of ``fmt`` is
    exact in it (else the next wider float): float32 ``0.1`` cast to bfloat16 → 0.10009765625.

    Same options as :func:`encode`. The round trip is done on the bit pattern without
    materialising codes.
    """
    fmt = get_format(fmt)
    check_rounding(rounding)
    arr = _as_float_array(x)
    out_dtype = _cast_dtype(arr.dtype, fmt)
    shape = arr.shape
    flat = np.ascontiguousarray(arr).reshape(-1)
    n = flat.size
    if n == 0:
        return np.empty(shape, out_dtype)
    if rounding == "stochastic":
        return decode(encode(flat, fmt, rounding=rounding, saturate=saturate, rng=rng), fmt, dtype=out_dtype).reshape(shape)
    own = {np.dtype(np.float16): _F16_FMT, np.dtype(np.float32): _F32_FMT, np.dtype(np.float64): _F64_FMT}[flat.dtype]
    if fmt == own and not saturate:  # same layout as the input: nothing to round
        return flat.copy().reshape(shape)
    plan = _pick_plan(fmt, flat.dtype, rounding)
    if plan is None:
        return decode(encode(flat, fmt, rounding=rounding, saturate=saturate, threads=threads), fmt, dtype=out_dtype).reshape(shape)
    dom = plan.dom
    direct = np.dtype(dom.ftype) == out_dtype
    out = np.empty(n, out_dtype)
    table = _decode_table(fmt) if fmt.bits <= 16 else None

    def specials(vals: np.ndarray) -> np.ndarray:
        codes = _encode_exact(vals.astype(np.float64), fmt, rounding, saturate, None)
        return table.take(codes.astype(np.intp)) if table is not None else _decode_arith(codes, fmt)

    def work(start: int, stop: int) -> None:
        U = dom.utype
        size = min(CHUNK, stop - start)  # small arrays (a training step's tensors) get small buffers
        buf_t = np.empty(size, U)
        buf_r = None if direct else np.empty(size, U)
        buf_x = np.empty(size, dom.ftype) if flat.dtype != dom.ftype else None
        special = np.empty(size, bool)
        negbuf = np.empty(size, bool) if plan.unsigned else None
        nan_bits = U(plan.nan_bits)
        pending: list[np.ndarray] = []  # special positions, done in one exact-kernel call per span
        for s in range(start, stop, CHUNK):
            e_ = min(stop, s + CHUNK)
            m = e_ - s
            xc = flat[s:e_]
            if buf_x is not None:
                np.copyto(buf_x[:m], xc, casting="unsafe")
                xc = buf_x[:m]
            u = xc.view(U)
            r = out[s:e_].view(U) if direct else buf_r[:m]
            neg = negbuf[:m] if plan.unsigned else None
            has_special = _fast_round(plan, u, r, buf_t[:m], special[:m], neg)
            if plan.unsigned:  # NaN for negatives: OR-ing a quiet NaN's bits makes any lane NaN
                np.multiply(negbuf[:m], nan_bits, out=buf_t[:m])
                np.bitwise_or(r, buf_t[:m], out=r)
            idx = np.flatnonzero(special[:m]) if has_special else None
            if idx is not None and idx.size:
                pending.append(idx + s)
            if not direct:
                np.copyto(out[s:e_], r.view(dom.ftype), casting="unsafe")  # exact: every value fits
        if pending:
            idx = np.concatenate(pending)
            out[idx] = specials(flat[idx])

    _run_chunked(n, _threads(threads, n), work)
    return out.reshape(shape)


# --------------------------------------------------------------------- tables
def classify(codes, fmt: FloatFormat | str) -> np.ndarray:
    """Index into :data:`KINDS` for each code: 0 zero, 1 subnormal, 2 normal, 3 inf, 4 nan."""
    fmt = get_format(fmt)
    c = np.asarray(codes).astype(np.uint64)
    mag = c & np.uint64(fmt.mag_mask)
    ef = mag >> np.uint64(fmt.nmant)
    m = mag & np.uint64((1 << fmt.nmant) - 1)
    kind = np.full(c.shape, 2, np.int8)
    if fmt.has_zero:
        kind[(ef == 0) & (m != 0)] = 1
        kind[mag == 0] = 0
    if fmt.nonfinite == "ieee":
        top = ef == np.uint64((1 << fmt.nexp) - 1)
        kind[top & (m == 0)] = 3
        kind[top & (m != 0)] = 4
    elif fmt.nonfinite == "fn":
        kind[mag == np.uint64(fmt.mag_mask)] = 4
    elif fmt.nonfinite == "fnuz":
        kind[c == np.uint64(fmt.sign_mask)] = 4
    return kind


@dataclass(frozen=True)
class AllValues:
    """Every code of a format with its exact value and class, in code order."""

    codes: np.ndarray
    values: np.ndarray
    kinds: np.ndarray  # index into KINDS

    def finite_sorted(self) -> np.ndarray:
        """The distinct finite values in increasing order (±0 once)."""
        v = self.values[np.isfinite(self.values)]
        return np.unique(v)


def all_values(fmt: FloatFormat | str) -> AllValues:
    """Every code of a format of at most 16 bits with its value: ``all_values("float4_e2m1fn")``
    has 16 codes, values 0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, ... -6."""
    fmt = get_format(fmt)
    if fmt.bits > 16:
        raise ValueError(f"{fmt.name} has {fmt.bits} bits: all_values lists formats of at most 16 bits ({1 << fmt.bits:,} codes would be too many)")
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    return AllValues(codes=codes, values=decode(codes, fmt), kinds=classify(codes, fmt))
