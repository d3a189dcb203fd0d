"""cast: numpy floats -> the nearest values of a format, as numpy floats (encode + decode fused)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._parallel import CHUNK
from ..formats import FloatFormat, get_format
from ..rounding import Rounding, check_rounding
from ._common import _F16_FMT, _F32_FMT, _F64_FMT, _as_float_array, _run_chunked, _threads
from ._decode import _decode_arith, _decode_table, _fits_f32, _fits_f64, decode
from ._encode import encode
from ._kernel import _encode_exact, _fast_round, _pick_plan


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
