"""encode: numpy floats -> codes of a format, rounded once (the rule in :mod:`quantlib.codec`)."""

from __future__ import annotations


import numpy as np

from .._parallel import CHUNK
from ..formats import FloatFormat, get_format
from ..rounding import Rounding, check_rounding
from ._common import _as_float_array, _run_chunked, _threads
from ._kernel import _encode_exact, _fast_round, _pick_plan


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
