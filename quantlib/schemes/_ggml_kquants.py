"""llama.cpp's reference quantizers (ggml/src/ggml-quants.c), ported to numpy, vectorized
across blocks: ``quantize_blocks(name, X)`` with X a float32 ``(nb, block_size)`` matrix.

Bit-exactness: every float operation is the C one, in float32, in the C order (``a*b*c`` is
``(a*b)*c``); sums over a block's elements are sequential from 0 (:func:`_seqsum`, never
numpy's pairwise sum); ``nearest_int`` is the C magic-number trick itself (round half to even
within +-2^22, and the same bits beyond); integer stores wrap like the C casts.  The work
runs element-major: ``(n, S)`` matrices, row i = element i of all S (sub-)blocks, so a loop
over the 16 or 32 elements of a sub-block is a loop of vector operations over S.

ISO C semantics are assumed (no ``a*b + c`` contracted into an FMA): that is what x86-64
builds give, since ggml-quants.c is in ggml-base, compiled without -march flags.  A build
that contracts (e.g. GCC's default on aarch64) gives other bytes for many K-type blocks.
Float -> int casts of inf / NaN (a block whose scale is a float32 subnormal) give 0, as on
x86-64 and in numpy.  The old best_index_int8 of iq4_nl (before the midpoint rewrite)
compared rounded differences and can pick the other level for an ``al`` within an ulp of a
midpoint.

* ``q4_0`` ... ``q8_0``: quantize_row_q4_0_ref ... quantize_row_q8_0_ref (= gguf-py's
  ``quants.quantize``, checked against it in the tests).
* ``q2_k`` quantize_row_q2_K_ref, ``q3_k`` quantize_row_q3_K_ref, ``q4_k``
  quantize_row_q4_K_ref, ``q5_k`` quantize_row_q5_K_ref, ``q6_k`` quantize_row_q6_K_ref, with
  their helpers make_qkx2_quants, make_q3_quants, make_qx_quants (rmse_type 1, no weights).
* ``iq4_nl``: quantize_row_iq4_nl_ref = quantize_row_iq4_nl_impl(32, 32, ..., quant_weights
  NULL, ntry -1) with the current best_index_int8 (level i once 2x reaches val[i-1] + val[i]).

Returns ``(bytes (nb, type_size), codes (nb, block_size), clipped (nb, block_size))``.
"""

from __future__ import annotations

import numpy as np

from . import _ggml_layout as GL

F32 = np.float32
U8 = np.uint8
_MAGIC = F32(12582912.0)  # 1.5 * 2^23
_EPS = F32(1e-15)  # GROUP_MAX_EPS
_Z = F32(0.0)


# ============================================================== helpers
def _nearest_int(f: np.ndarray) -> np.ndarray:
    """nearest_int: ``bits(f + 12582912.f) & 0x7fffff) - 0x400000`` (int32)."""
    v = np.asarray(f, F32) + _MAGIC
    i = v.view(np.int32)
    i &= 0x7FFFFF
    i -= 0x400000
    return i


def _nearest(f: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """``MAX(lo, MIN(hi, nearest_int(f)))`` as float32, and where the clamp acted."""
    i = _nearest_int(f)
    clip = (i < lo) | (i > hi)
    np.clip(i, lo, hi, out=i)
    return i.astype(F32), clip


_IN_RANGE = F32(4194304.0)  # |f| < 2^22: nearest_int(f) == (f + magic) - magic, exactly


def _nearest_inplace(T: np.ndarray, lo: int, hi: int, in_range: bool | None = None) -> np.ndarray:
    """T (float32) := ``MAX(lo, MIN(hi, nearest_int(T)))``, in place.  Within +-2^22 the magic
    addition rounds to the integer and subtracting it back is exact (clamping in between, at
    magic + lo / magic + hi, is the integer clamp); beyond (or NaN) the C bits are used.
    ``in_range``: the caller knows whether every T that matters is within +-2^22."""
    if in_range is None:
        in_range = bool(np.max(T) < _IN_RANGE and np.min(T) > -_IN_RANGE)
    if in_range:
        T += _MAGIC
        np.clip(T, _MAGIC + F32(lo), _MAGIC + F32(hi), out=T)
        T -= _MAGIC
    else:
        i = _nearest_int(T)
        np.clip(i, lo, hi, out=i)
        np.copyto(T, i, casting="unsafe")
    return T


def _within(lo: np.ndarray, hi: np.ndarray, keep: np.ndarray) -> bool:
    """Whether the products ``lo``, ``hi`` (the extremes of a column's values, by monotonicity)
    of the columns that matter (``keep``) are all within +-2^22 (False for NaN)."""
    a = np.maximum(np.abs(lo[keep]), np.abs(hi[keep]))
    return bool(a.size == 0 or a.max() < _IN_RANGE)


def _seqsum(T: np.ndarray) -> np.ndarray:
    """``s = 0; for i: s += T[i]`` over the rows of T (float32): numpy reduces a non-contiguous
    axis row by row, in order (checked in the tests against this loop)."""
    return np.add.reduce(T, axis=0, initial=_Z)


def _signed_max(X: np.ndarray) -> np.ndarray:
    """The element of largest |x| of each column, the first one on ties (``if (ax > amax)``)."""
    return np.take_along_axis(X, np.argmax(np.abs(X), axis=0)[None, :], axis=0)[0]


def _running_max(a: np.ndarray) -> np.ndarray:
    """``m = 0; for v: if (v > m) m = v`` along axis 1 (NaN never wins, the result is >= 0)."""
    return np.where(a > 0, a, _Z).max(axis=1)


def _running_absmax(v: np.ndarray) -> np.ndarray:
    """``amax = 0; for s: if (fabsf(s) > amax) { amax = fabsf(s); max = s; }`` along axis 1:
    the signed ``max`` (0 when no |s| > 0; NaN never wins)."""
    a = np.abs(v)
    a = np.where(a > 0, a, _Z)
    pick = np.argmax(a, axis=1)[:, None]
    return np.where(np.take_along_axis(a, pick, axis=1) > 0, np.take_along_axis(v, pick, axis=1), _Z)[:, 0]


def _f16(v: np.ndarray) -> np.ndarray:
    """GGML_FP16_TO_FP32(GGML_FP32_TO_FP16(v))."""
    return np.asarray(v, F32).astype(np.float16).astype(F32)


def _roundf(x: np.ndarray) -> np.ndarray:
    """C roundf: half away from zero (gguf-py's np_roundf)."""
    a = np.abs(x)
    f = np.floor(a)
    return np.copysign(f + np.floor(F32(2) * (a - f)), x)


def _c_int(t: np.ndarray) -> np.ndarray:
    """A float -> int cast of C on x86-64 (and numpy's): inf and NaN give 0 (the "integer
    indefinite" 0x80000000, truncated to 8 bits).  Reached when a block's scale is a float32
    subnormal, so that ``id = 1/d`` is inf."""
    return np.where(np.isfinite(t), t, _Z)


def make_qkx2_quants(X, W, nmax: int, rmin: float, rdelta: float, nstep: int, use_mad: bool):
    """make_qkx2_quants on each column of X (n, S) with weights W: ``(scale, the_min, L)``."""
    xmin = np.min(X, axis=0)
    mx = np.max(X, axis=0)
    sum_w = np.add.reduce(W, axis=0)  # starts from weights[0], as the C does
    sum_x = np.add.reduce(W * X, axis=0)
    mn = np.where(xmin > 0, _Z, xmin)
    flat = mx == mn
    mn0 = mn.copy()
    fn = F32(nmax)
    La, wl, tmp = np.empty_like(X), np.empty_like(X), np.empty_like(X)

    def err(scale, m, L):  # sum of w * |scale * L + m - x| (or its square)
        t = np.multiply(L, scale, out=tmp)
        t += m
        t -= X
        if use_mad:
            np.abs(t, out=t)
        else:
            np.multiply(t, t, out=t)
        t *= W
        return _seqsum(t)

    keep = ~flat

    def levels(iscale, out):  # MAX(0, MIN(nmax, nearest_int(iscale * (x - min))))
        np.subtract(X, mn, out=out)
        out *= iscale
        ok = _within(iscale * (xmin - mn), iscale * (mx - mn), keep)
        return _nearest_inplace(out, 0, nmax, ok)

    iscale = fn / (mx - mn)
    scale = F32(1) / iscale
    L = levels(iscale, np.empty_like(X))
    best = err(scale, mn, L)
    for s in range(nstep + 1):
        c = F32(F32(rmin) + F32(rdelta) * F32(s)) + fn
        levels(c / (mx - mn), La)
        np.multiply(W, La, out=wl)
        sum_l = _seqsum(wl)
        sum_l2 = _seqsum(np.multiply(wl, La, out=tmp))
        sum_xl = _seqsum(np.multiply(wl, X, out=tmp))
        D = sum_w * sum_l2 - sum_l * sum_l
        this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
        this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
        pos = this_min > 0
        this_min = np.where(pos, _Z, this_min)
        this_scale = np.where(pos, sum_xl / sum_l2, this_scale)
        cur = err(this_scale, this_min, La)
        take = (D > 0) & (cur < best)
        np.copyto(L, La, where=take)
        best = np.where(take, cur, best)
        scale = np.where(take, this_scale, scale)
        mn = np.where(take, this_min, mn)
    scale = np.where(flat, _Z, scale)
    L[:, flat] = 0
    mn = np.where(flat, mn0, mn)
    return scale, -mn, L


def make_qx_quants(X, nmax: int):
    """make_qx_quants(n, nmax, x, L, rmse_type=1, qw=NULL) per column: ``(scale, L + nmax)``."""
    mx = _signed_max(X)
    zero = np.abs(mx) < _EPS
    w = X * X
    wx = w * X
    fn = F32(nmax)
    l, tmp = np.empty_like(X), np.empty_like(X)
    xlo, xhi, keep = np.min(X, axis=0), np.max(X, axis=0), ~zero

    def trial(iscale, l):
        np.multiply(X, iscale, out=l)
        _nearest_inplace(l, -nmax, nmax - 1, _within(iscale * xlo, iscale * xhi, keep))
        sumlx = _seqsum(np.multiply(wx, l, out=tmp))
        np.multiply(w, l, out=tmp)
        return sumlx, _seqsum(np.multiply(tmp, l, out=tmp))

    L = np.empty_like(X)
    sumlx, suml2 = trial(F32(-nmax) / mx, L)
    scale = np.where(suml2 != 0, sumlx / suml2, _Z)
    best = scale * sumlx
    for s in range(-9, 10):
        if s == 0:
            continue
        sumlx, suml2 = trial(-(fn + F32(0.1) * F32(s)) / mx, l)
        take = (suml2 > 0) & (sumlx * sumlx > best * suml2)
        np.copyto(L, l, where=take)
        scale = np.where(take, sumlx / suml2, scale)
        best = np.where(take, scale * sumlx, best)
    L += fn
    L[:, zero] = 0
    return np.where(zero, _Z, scale), L


def make_q3_quants(X, nmax: int = 4):
    """make_q3_quants(n, nmax, x, L, do_rmse=true) per column: ``(scale, L + nmax)``."""
    n = X.shape[0]
    mx = _signed_max(X)
    zero = np.abs(mx) < _EPS
    L, _ = _nearest((F32(-nmax) / mx) * X, -nmax, nmax - 1)
    w = X * X
    wx = w * X
    sumlx = _seqsum(wx * L)
    suml2 = _seqsum((w * L) * L)
    # A pass without a change is a fixed point (the C breaks there, per sub-block): after the
    # first pass only the sub-blocks that changed in the previous one are worked on.
    cols = np.arange(X.shape[1])
    for _itry in range(5):
        if cols.size == 0:
            break
        full = cols.size == X.shape[1]
        Xa, wa, wxa = (X, w, wx) if full else (X[:, cols], w[:, cols], wx[:, cols])
        La = L if full else L[:, cols]
        sx, s2 = sumlx[cols], suml2[cols]
        changed = np.zeros(cols.size, bool)
        for i in range(n):
            Li, wi, wxi = La[i], wa[i], wxa[i]
            slx = sx - wxi * Li
            sl2 = s2 - (wi * Li) * Li
            new_l = _nearest_inplace((Xa[i] * sl2) / slx, -nmax, nmax - 1)
            slx2 = slx + wxi * new_l
            sl22 = sl2 + (wi * new_l) * new_l
            upd = (slx > 0) & (new_l != Li) & (sl22 > 0) & ((slx2 * slx2) * s2 > (sx * sx) * sl22)
            if upd.any():
                changed |= upd
                np.copyto(Li, new_l, where=upd)
                sx = np.where(upd, slx2, sx)
                s2 = np.where(upd, sl22, s2)
        if not full:
            L[:, cols] = La
        sumlx[cols], suml2[cols] = sx, s2
        cols = cols[changed]
    scale = np.where(suml2 > 0, sumlx / suml2, _Z)
    return np.where(zero, _Z, scale), np.where(zero, _Z, L + F32(nmax))


def _em(X: np.ndarray, n: int) -> np.ndarray:
    """(nb, block) -> element-major (n, nb * block / n): column = one sub-block of n elements."""
    return np.ascontiguousarray(X.reshape(-1, n).T)


def _bm(E: np.ndarray, nb: int) -> np.ndarray:
    """Inverse of :func:`_em`."""
    return np.ascontiguousarray(E.T).reshape(nb, -1)


def _requant(X, d, dm, lo, hi, L, offset=0):
    """The final pass of the K quantizers: ``l = nearest_int((x + dm) / d)`` (or ``x / d``)
    clamped, ``+ offset``, for sub-blocks with ``d != 0``; the others keep L (``if (!d) continue``)."""
    num = X if dm is None else X + dm
    l, clip = _nearest(num / d, lo, hi)
    skip = d == 0
    return np.where(skip, L, l + F32(offset)), clip & ~skip


# ============================================================== the 32-blocks
def _legacy(name: str, X: np.ndarray):
    if name in ("q4_0", "q5_0"):
        nmax = 8 if name == "q4_0" else 16
        top = 2 * nmax - 1
        mx = np.take_along_axis(X, np.argmax(np.abs(X), axis=1)[:, None], axis=1)
        d = mx / F32(-nmax)
        with np.errstate(divide="ignore"):
            inv = np.where(d == 0, _Z, F32(1) / d)
        t = _c_int(np.trunc(X * inv + F32(nmax + 0.5)))
        clip = t > top
        L = np.clip(t, 0, top).astype(U8)
        return GL.pack(name, L, {"d": d[:, 0]}), L, clip
    if name in ("q4_1", "q5_1"):
        top = 15 if name == "q4_1" else 31
        hi, lo = X.max(axis=1, keepdims=True), X.min(axis=1, keepdims=True)
        d = (hi - lo) / F32(top)
        with np.errstate(divide="ignore"):
            inv = np.where(d == 0, _Z, F32(1) / d)
        t = _c_int(np.trunc((X - lo) * inv + F32(0.5)))
        clip = t > top
        L = np.clip(t, 0, top).astype(U8)
        return GL.pack(name, L, {"d": d[:, 0], "m": lo[:, 0]}), L, clip
    # q8_0
    d = np.abs(X).max(axis=1, keepdims=True) / F32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, _Z, F32(1) / d)
    L = _c_int(_roundf(X * inv)).astype(np.int8)
    return GL.pack(name, L, {"d": d[:, 0]}), L, np.zeros(X.shape, bool)


_MIDS = (GL.KVALUES_IQ4NL[:-1].astype(F32) + GL.KVALUES_IQ4NL[1:].astype(F32))
_IQ4_LIMITS = (F32(-127 - 11.5), F32(113 + 12))  # half an outer step beyond the end levels


def _iq4_nl(X: np.ndarray):
    nb = X.shape[0]
    E = _em(X, 32)
    w = E * E
    mx = _signed_max(E)
    zero = np.abs(mx) < _EPS
    d0 = mx / F32(-127)
    al = (F32(1) / d0) * E
    Li = np.searchsorted(_MIDS, al + al, side="right")
    q = GL.KVALUES_IQ4NL.astype(F32)[Li]
    wq = w * q
    sumqx, sumq2 = _seqsum(wq * E), _seqsum(wq * q)
    d = np.where(sumq2 > 0, sumqx / sumq2, _Z)
    d = np.where(zero, _Z, d)
    Li = np.where(zero, 0, Li).astype(U8)
    clip = ((al < _IQ4_LIMITS[0]) | (al > _IQ4_LIMITS[1])) & ~zero
    L = _bm(Li, nb)
    return GL.pack("iq4_nl", L, {"d": d}), L, _bm(clip, nb)


# ============================================================== the K types
def _q2_k(X: np.ndarray):
    nb = X.shape[0]
    E = _em(X, 16)  # (16, nb * 16)
    scales, mins, L = make_qkx2_quants(E, np.abs(E), 3, -0.5, 0.1, 15, True)
    scales, mins = scales.reshape(nb, 16), mins.reshape(nb, 16)
    max_scale, max_min = _running_max(scales), _running_max(mins)
    q4 = F32(15)
    with np.errstate(divide="ignore"):
        isc = np.where(max_scale > 0, q4 / max_scale, _Z)
        imn = np.where(max_min > 0, q4 / max_min, _Z)
    ls = np.where(max_scale[:, None] > 0, _nearest_int(isc[:, None] * scales), 0)
    lm = np.where(max_min[:, None] > 0, _nearest_int(imn[:, None] * mins), 0)
    sc = ((ls & 0xFF) | ((lm << 4) & 0xFF)).astype(U8)
    d = np.where(max_scale > 0, max_scale / q4, _Z)
    dmin = np.where(max_min > 0, max_min / q4, _Z)
    dl = (_f16(d)[:, None] * (sc & 15).astype(F32)).reshape(-1)
    ml = (_f16(dmin)[:, None] * (sc >> 4).astype(F32)).reshape(-1)
    L, clip = _requant(E, dl, ml, 0, 3, L)
    L = _bm(L, nb).astype(U8)
    return GL.pack("q2_k", L, {"d": d, "dmin": dmin, "sc": sc}), L, _bm(clip, nb)


def _q3_k(X: np.ndarray):
    nb = X.shape[0]
    E = _em(X, 16)
    scales, L = make_q3_quants(E, 4)
    scales = scales.reshape(nb, 16)
    max_scale = _running_absmax(scales)
    ok = max_scale != 0
    with np.errstate(divide="ignore"):
        iscale = np.where(ok, F32(-32) / max_scale, _Z)
    l = _nearest_int(iscale[:, None] * scales)
    l = ((l + 128) & 0xFF) - 128  # int8_t l = nearest_int(...)
    l6 = np.where(ok[:, None], np.clip(l, -32, 31) + 32, 0).astype(U8)
    with np.errstate(divide="ignore"):
        d = np.where(ok, F32(1) / iscale, _Z)
    dl = (_f16(d)[:, None] * (l6.astype(np.int16) - 32).astype(F32)).reshape(-1)
    L, clip = _requant(E, dl, None, -4, 3, L, 4)
    L = _bm(L, nb).astype(U8)
    return GL.pack("q3_k", L, {"d": d, "sc": l6}), L, _bm(clip, nb)


def _q45_k(name: str, X: np.ndarray):
    nb = X.shape[0]
    nmax, rmin, nstep = (15, -1.0, 20) if name == "q4_k" else (31, -0.5, 15)
    E = _em(X, 32)  # (32, nb * 8)
    av = np.sqrt(_seqsum(E * E) / F32(32))
    W = av + np.abs(E)
    scales, mins, L = make_qkx2_quants(E, W, nmax, rmin, 0.1, nstep, False)
    scales, mins = scales.reshape(nb, 8), mins.reshape(nb, 8)
    max_scale, max_min = _running_max(scales), _running_max(mins)
    c63 = F32(63)
    with np.errstate(divide="ignore"):
        isc = np.where(max_scale > 0, c63 / max_scale, _Z)
        imn = np.where(max_min > 0, c63 / max_min, _Z)
    ls = np.minimum(_nearest_int(isc[:, None] * scales) & 0xFF, 63).astype(U8)
    lm = np.minimum(_nearest_int(imn[:, None] * mins) & 0xFF, 63).astype(U8)
    d, dmin = max_scale / c63, max_min / c63
    dl = (_f16(d)[:, None] * ls.astype(F32)).reshape(-1)
    ml = (_f16(dmin)[:, None] * lm.astype(F32)).reshape(-1)
    L, clip = _requant(E, dl, ml, 0, nmax, L)
    L = _bm(L, nb).astype(U8)
    return GL.pack(name, L, {"d": d, "dmin": dmin, "ls": ls, "lm": lm}), L, _bm(clip, nb)


def _q6_k(X: np.ndarray):
    nb = X.shape[0]
    E = _em(X, 16)
    scales, L = make_qx_quants(E, 32)
    scales = scales.reshape(nb, 16)
    max_scale = _running_absmax(scales)
    zero = np.abs(max_scale) < _EPS  # the whole block is stored as zeros
    with np.errstate(divide="ignore"):
        iscale = np.where(zero, _Z, F32(-128) / max_scale)
        d = np.where(zero, _Z, F32(1) / iscale)
    sc = np.minimum(_nearest_int(iscale[:, None] * scales), 127)
    sc = np.where(zero[:, None], 0, ((sc + 128) & 0xFF) - 128).astype(np.int8)
    dl = (_f16(d)[:, None] * sc.astype(F32)).reshape(-1)
    L, clip = _requant(E, dl, None, -32, 31, L, 32)
    zsub = np.repeat(zero, 16)
    L = np.where(zsub, _Z, L)
    L = _bm(L, nb).astype(U8)
    return GL.pack("q6_k", L, {"d": d, "sc": sc}), L, _bm(clip & ~zsub, nb)


def quantize_blocks(name: str, X: np.ndarray):
    """Quantize whole blocks X (nb, block_size), float32, finite: ``(bytes, codes, clipped)``."""
    X = np.ascontiguousarray(X, F32)
    with np.errstate(all="ignore"):
        if name in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0"):
            return _legacy(name, X)
        if name == "iq4_nl":
            return _iq4_nl(X)
        if name == "q2_k":
            return _q2_k(X)
        if name == "q3_k":
            return _q3_k(X)
        if name in ("q4_k", "q5_k"):
            return _q45_k(name, X)
        if name == "q6_k":
            return _q6_k(X)
    raise ValueError(name)  # pragma: no cover
