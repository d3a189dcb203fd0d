"""Error metrics of a quantization, and histograms to plot instead of raw points.

:func:`metrics` computes every number in one sweep over ``x`` and ``xq`` in cache-sized
chunks (float64 accumulation), so all of them cost about as much as a few plain passes:

=====================  ==============================================  ======================
field                  definition (``e = xq - x``)                     worked: x=[1,2], xq=[1,1.5]
=====================  ==============================================  ======================
``mse``                ``mean(e^2)``                                   0.125
``rmse``               ``sqrt(mse)``                                   0.35355
``sqnr_db``            ``10 log10(sum x^2 / sum e^2)``                 13.0103 (5 / 0.25 = 20)
``max_abs_error``      ``max |e|``                                     0.5
``mean_abs_error``     ``mean |e|``                                    0.25
``rel_error``          ``||e|| / ||x||``                               0.22361
``cosine``             ``<x, xq> / (||x|| ||xq||)``                    0.99228
``frac_clipped``       clipped elements / n (None without a mask)
``frac_flushed``       ``#(x != 0 and xq == 0) / n``                   0
``per_block_mse``      ``mean(e^2)`` of every block (``block_size``)
=====================  ==============================================  ======================

The sweep keeps three float64 dot products per chunk, ``sum e^2``, ``sum x^2`` and
``sum e x``; ``||xq||^2 - ||x||^2 = 2 sum e x + sum e^2`` follows without cancellation, and
``one_minus_cosine`` is computed from it and ``||e||^2``, so it stays accurate when the
cosine is 0.99999999.

NaN and ±inf (see :func:`metrics` for the rule) are found from the sweep's own sums (a
non-finite ``sum e^2``), so inputs that are all finite pay for no extra pass.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ._parallel import CHUNK, run_parallel, spans, thread_count
from .blocks import layout_for

__all__ = ["Metrics", "block_mse", "metrics"]


@dataclass(frozen=True)
class Metrics:
    """Error metrics of ``xq`` against ``x`` (see the module docstring for definitions)."""

    n: int
    mse: float
    rmse: float
    sqnr_db: float
    max_abs_error: float
    mean_abs_error: float
    rel_error: float
    cosine: float
    one_minus_cosine: float
    frac_clipped: float | None
    frac_flushed: float
    signal_power: float
    per_block_mse: np.ndarray | None = None
    n_nonfinite: int = 0  # dequantized values that are NaN or ±inf (overflow, negatives in an unsigned format)

    def as_dict(self) -> dict[str, float]:
        """The scalar fields, for a table."""
        return {k: v for k, v in self.__dict__.items() if k != "per_block_mse"}


def _max_nan(a: float, b: float) -> float:
    """max that keeps a NaN (Python's max(0.0, nan) is 0.0): one NaN error makes the max NaN."""
    return a if (a != a or a >= b) else b


def _unpack(x, xq, clipped, block_size):
    from .schemes import QuantizedTensor

    if isinstance(xq, QuantizedTensor):
        if clipped is None:
            clipped = xq.clipped
        if block_size is None and xq.layout.kind == "block":
            block_size = xq.layout.block_size
        xq = xq.dequantize()
    x = np.asarray(x)
    xq = np.asarray(xq)
    if x.shape != xq.shape:
        raise ValueError(f"x and xq differ in shape: {x.shape} vs {xq.shape}")
    for name, a in (("x", x), ("xq", xq)):
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"{name} must hold real numbers, got {a.dtype}")
    if x.size == 0:
        raise ValueError("metrics of an empty array are undefined")
    if clipped is not None:
        clipped = np.asarray(clipped)
        if clipped.shape != x.shape:
            raise ValueError(f"clipped mask of shape {clipped.shape} does not match x {x.shape}")
    return x, xq, clipped, block_size


def block_mse(x, xq, block_size: int) -> np.ndarray:
    """``mean(e^2)`` of every block of ``block_size`` along the last axis (padding excluded),
    shape ``x.shape[:-1] + (n_blocks,)``."""
    x = np.asarray(x)
    lay = layout_for(x.shape, block_size=block_size)
    e = np.asarray(xq, dtype=np.float64) - x.astype(np.float64)
    sq = lay.groups(e * e).sum(axis=1) / lay.counts
    return sq.reshape(lay.scale_shape)


_DOT_ROW = 8192  # OpenBLAS threads a ddot above 10000 elements; its spinning threads would
# fight ours, so long dot products are taken as rows of 8192 (np.vecdot, one BLAS thread each)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    m = a.size
    if m <= _DOT_ROW:
        return float(np.dot(a, b))
    k = m - m % _DOT_ROW
    r = float(np.vecdot(a[:k].reshape(-1, _DOT_ROW), b[:k].reshape(-1, _DOT_ROW)).sum())
    return r + float(np.dot(a[k:], b[k:])) if k < m else r


def _sweep(xf, qf, start, stop, step, block_size, per_block):
    """Partial sums over [start, stop): (sum e^2, sum x^2, sum e x, sum |e|, max |e|, flushed)."""
    wide = xf.dtype == np.float64
    xb = None if wide else np.empty(step)
    qb = None if wide else np.empty(step)
    eb = np.empty(step)  # e = xq - x, exact in float64 for float32 data
    ab = np.empty(step)
    bb = np.empty(step, bool)
    E = X = DX = abs_sum = 0.0
    abs_max = 0.0
    flushed = 0
    with np.errstate(invalid="ignore", over="ignore"):
        for s in range(start, stop, step):
            m = min(step, stop - s)
            x32, q32 = xf[s : s + m], qf[s : s + m]
            if wide:
                xc, qc = x32, q32
            else:
                xc, qc = xb[:m], qb[:m]
                np.copyto(xc, x32, casting="unsafe")  # exact widening (faster than a casting ufunc)
                np.copyto(qc, q32, casting="unsafe")
            ec, ac = eb[:m], ab[:m]
            np.subtract(qc, xc, out=ec)
            X += _dot(xc, xc)
            DX += _dot(ec, xc)
            if block_size:
                eb2 = ec.reshape(-1, block_size)
                sums = np.vecdot(eb2, eb2)  # sum e^2 of every block
                per_block[s // block_size : (s + m) // block_size] = sums / block_size
                E += float(sums.sum())
            else:
                E += _dot(ec, ec)
            np.abs(ec, out=ac)
            abs_max = _max_nan(abs_max, float(ac.max()))
            abs_sum += float(np.add.reduce(ac))
            np.equal(q32, 0, out=bb[:m])
            z = np.flatnonzero(bb[:m])
            if z.size:
                flushed += int(np.count_nonzero(x32[z]))
    return E, X, DX, abs_sum, abs_max, flushed


def metrics(x, xq, *, clipped=None, block_size: int | None = None, threads: int | None = None) -> Metrics:
    """All error metrics of ``xq`` (an array, or a :class:`~quantlib.schemes.QuantizedTensor`,
    whose clipped mask and block size are then used) against ``x``, in one chunked sweep.

    ``clipped``: the boolean mask of clipped elements (``frac_clipped`` is None without it).
    ``block_size``: also compute ``per_block_mse`` along the last axis.
    ``threads``: the sweep is split over this many threads for large inputs (default one per core).

    Non-finite values never raise and never look like a small error:

    * NaN or ±inf in ``xq`` (a value the format could not store: an overflowing cast, a negative
      value in an unsigned format) is an infinite error: ``mse``, ``rmse``, ``max_abs_error``,
      ``mean_abs_error`` and ``rel_error`` are inf, ``sqnr_db`` is -inf, ``cosine`` and
      ``one_minus_cosine`` are NaN; ``n_nonfinite`` counts those values.
    * NaN or ±inf in ``x`` (the original) makes the error undefined: every error field above
      (``sqnr_db`` included) is NaN, whatever ``xq`` holds; ``signal_power`` is the mean of
      ``x^2`` (inf or NaN); ``n_nonfinite`` still counts ``xq`` only.

    In both cases ``frac_clipped`` and ``frac_flushed`` are the shares among the elements where
    ``x`` and ``xq`` are both finite, scaled by (their number) / n: they count clipped / flushed
    elements out of all n; ``frac_clipped`` is None without a mask or when no element is
    finite. ``per_block_mse`` is per block as usual (inf or NaN in the blocks concerned).
    """
    x, xq, clipped, block_size = _unpack(x, xq, clipped, block_size)
    n = x.size
    xf = np.ascontiguousarray(x).reshape(-1)
    qf = np.ascontiguousarray(xq).reshape(-1)
    if xf.dtype != qf.dtype or xf.dtype not in (np.float32, np.float64):
        xf, qf = xf.astype(np.float64), qf.astype(np.float64)
    L = x.shape[-1] if x.ndim else 1
    aligned = block_size is not None and L % block_size == 0
    step = CHUNK if not aligned else max(block_size, (CHUNK // block_size) * block_size)
    per_block = np.empty(n // block_size) if aligned else None
    parts = run_parallel(
        spans(n, thread_count(n, threads, step=step), align=step),
        lambda span: _sweep(xf, qf, *span, step, block_size if aligned else None, per_block if aligned else None),
    )
    E = sum(p[0] for p in parts)
    X = sum(p[1] for p in parts)
    DX = sum(p[2] for p in parts)
    abs_sum = sum(p[3] for p in parts)
    abs_max = functools.reduce(_max_nan, (p[4] for p in parts))
    flushed = sum(p[5] for p in parts)
    ee, xx, ex = E, X, DX
    qq = xx + 2 * ex + ee  # ||x + e||^2
    pb = None
    if block_size is not None:
        if aligned:
            pb = per_block.reshape(tuple(x.shape[:-1]) + (L // block_size,))
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                pb = block_mse(x, xq, block_size)
    if not (math.isfinite(ee) and math.isfinite(xx)):  # a NaN or ±inf somewhere (or float64 overflow)
        special = _nonfinite_metrics(x, xq, clipped, pb)
        if special is not None:
            return special
    mse = ee / n
    if not math.isfinite(ee):  # NaN or ±inf stored (overflow without saturation): no SQNR
        sqnr = -math.inf if ee == math.inf else math.nan
    elif ee == 0:
        sqnr = math.inf
    elif xx == 0:
        sqnr = -math.inf
    else:
        sqnr = 10 * math.log10(xx / ee)
    nx, nq = math.sqrt(xx), math.sqrt(qq)
    if nx == 0 or nq == 0 or not math.isfinite(ee):
        one_minus = math.nan
    else:
        d = 2 * ex + ee  # = ||xq||^2 - ||x||^2, without cancellation
        one_minus = max(0.0, (ee - d * d / (nx + nq) ** 2) / (2 * nx * nq))
    return Metrics(
        n=n,
        mse=mse,
        rmse=math.sqrt(mse),
        sqnr_db=sqnr,
        max_abs_error=abs_max,
        mean_abs_error=abs_sum / n,
        rel_error=math.sqrt(ee / xx) if xx > 0 else (0.0 if ee == 0 else math.inf),
        cosine=1.0 - one_minus,
        one_minus_cosine=one_minus,
        frac_clipped=None if clipped is None else int(np.count_nonzero(clipped)) / n,
        frac_flushed=flushed / n,
        signal_power=xx / n,
        per_block_mse=pb,
    )


def _nonfinite_metrics(x: np.ndarray, xq: np.ndarray, clipped: np.ndarray | None, pb: np.ndarray | None) -> Metrics | None:
    """The metrics when ``x`` or ``xq`` holds NaN or ±inf (the rule in :func:`metrics`); None
    when neither does (finite values whose squares overflowed float64: the usual formulas)."""
    okq = np.isfinite(xq)
    okx = np.isfinite(x)
    n = int(x.size)
    n_bad = n - int(np.count_nonzero(okq))
    x_bad = n - int(np.count_nonzero(okx))
    if n_bad == 0 and x_bad == 0:
        return None
    ok = okq & okx if x_bad else okq
    n_ok = int(np.count_nonzero(ok))
    with np.errstate(invalid="ignore", over="ignore"):
        signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    err = math.nan if x_bad else math.inf
    frac_clipped, frac_flushed = None, 0.0
    if n_ok:
        # the share among the n_ok finite elements, scaled by n_ok / n (in that order of operations)
        if clipped is not None:
            frac_clipped = int(np.count_nonzero(clipped & ok)) / n_ok * n_ok / n
        flushed = int(np.count_nonzero((xq == 0) & (x != 0) & ok))
        frac_flushed = flushed / n_ok * n_ok / n
    return Metrics(
        n=n,
        mse=err,
        rmse=err,
        sqnr_db=-err,  # -inf, or NaN
        max_abs_error=err,
        mean_abs_error=err,
        rel_error=err,
        cosine=math.nan,
        one_minus_cosine=math.nan,
        frac_clipped=frac_clipped,
        frac_flushed=frac_flushed,
        signal_power=signal_power,
        per_block_mse=pb,
        n_nonfinite=n_bad,
    )
