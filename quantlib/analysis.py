"""Numeric reductions of one quantized tensor: the few thousand numbers a chart needs.

numpy only (layer 1, no plotting): they turn a tensor of up to 64 Mi values and its
dequantized copy into histograms, pooled error maps, samples and Pareto fronts, in chunks so
that no full-size float64 temporary is made, threaded by :mod:`quantlib._parallel`:

* :func:`value_histograms` (original, dequantized and error histograms in one pass, the
  project's one histogram), :func:`finite_min_max`;
* :func:`sweep` / :func:`error_maps` (per-group MSE and the pooled MSE map, optionally the
  histograms in the same pass), :func:`group_mse`, :func:`pooled_sq_error`, :func:`pool_mean`,
  :func:`window_mean`, :func:`matrix_shape` (the 2-D view of a tensor);
* :func:`sample_points` (the scatter plot's sample);
* :func:`pareto_mask`, :func:`front_order`, :func:`best_per_budget` (rate-distortion).

Point budget: a histogram has at most a few hundred bins, a heatmap at most
:data:`MAX_HEAT` x :data:`MAX_HEAT` cells, the scatter plot :data:`SCATTER_POINTS` points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._parallel import CHUNK, run_parallel, shares, spans, thread_count
from .blocks import layout_for, matrix_shape

__all__ = [
    "MAX_HEAT",
    "SCATTER_POINTS",
    "BITS_TOLERANCE",
    "BUDGETS",
    "Hists",
    "ErrorMaps",
    "matrix_shape",
    "finite_min_max",
    "value_histograms",
    "sweep",
    "error_maps",
    "pooled_sq_error",
    "group_mse",
    "pool_mean",
    "window_mean",
    "sample_points",
    "pareto_mask",
    "front_order",
    "best_per_budget",
]

MAX_HEAT = 128
"""Heatmaps have at most this many rows and columns of cells (each cell pools a tile)."""
SCATTER_POINTS = 4000
"""The original-vs-dequantized scatter plot draws a random sample of this many elements."""


# ============================================================== histograms
@dataclass(frozen=True)
class Hists:
    """Histograms of one quantization: ``x`` and ``xq`` over the same ``edges``, and the error
    ``xq - x`` over ``error_edges`` (counts as int64)."""

    edges: np.ndarray
    original: np.ndarray
    dequantized: np.ndarray
    error_edges: np.ndarray
    error: np.ndarray


def _bin_into(a: np.ndarray, lo: float, hi: float, bins: int, out: np.ndarray, buf: np.ndarray, ibuf: np.ndarray, finite: bool) -> None:
    """Add the histogram of the finite values of ``a`` over [lo, hi] (edges inclusive) to ``out``.

    ``buf``: float scratch of ``a``'s width (float32 work for float32 data: a value within a
    rounding error of a bin edge may land in the neighbouring bin, which a chart cannot
    show); ``finite``: the caller knows ``a`` holds no NaN/inf."""
    if not finite and not np.isfinite(a).all():
        a = a[np.isfinite(a)]
    b = buf[: a.size]
    np.subtract(a, b.dtype.type(lo), out=b, casting="unsafe")
    np.multiply(b, b.dtype.type(bins / (hi - lo)), out=b)
    np.clip(b, 0, bins - 1, out=b)  # hi itself falls in the last bin (as np.histogram)
    i = ibuf[: a.size]
    np.copyto(i, b, casting="unsafe")
    out += np.bincount(i, minlength=bins)[:bins]


def finite_min_max(a: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value of ``a``; ``(inf, -inf)`` when it has none."""
    with np.errstate(invalid="ignore"):
        lo, hi = float(np.min(a)), float(np.max(a))
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    f = a[np.isfinite(a)]
    return (float(f.min()), float(f.max())) if f.size else (math.inf, -math.inf)


def _value_range(xf: np.ndarray, qf: np.ndarray, known: tuple[float, float] | None = None) -> tuple[float, float]:
    """The shared edges' range of the value histograms: the finite min..max of x and xq
    together (``known``, when the caller has it); (-1, 1) when neither has a finite value,
    widened by 0.5 each way when it is one point."""
    if known is None:
        lo, hi = finite_min_max(xf)
        qlo, qhi = finite_min_max(qf)
        lo, hi = min(lo, qlo), max(hi, qhi)
    else:
        lo, hi = known
    if not math.isfinite(lo):
        lo, hi = -1.0, 1.0
    if not lo < hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _error_range(max_error: float) -> tuple[float, float]:
    """The error histogram's range ±max|e|; (-0.5, 0.5) for a lossless quantization."""
    return (-max_error, max_error) if max_error > 0 else (-0.5, 0.5)


def value_histograms(
    x: np.ndarray, xq: np.ndarray, *, bins: int = 121, error_bins: int = 121, max_error: float | None = None, finite: bool = False
) -> Hists:
    """The original, dequantized and error histograms, in chunks (float64 work per chunk only).

    ``x`` and ``xq`` have the same shape; values and dequantized values share edges over their
    common finite range, the error uses its own symmetric range ``±max|e|`` (``max_error``
    when known, e.g. from :func:`quantlib.metrics.metrics`: then one pass over the data).
    Non-finite values (a cast that overflowed to inf, a negative value in an unsigned format:
    NaN) are left out of every histogram; ``finite=True`` skips looking for them.
    """
    xf = np.ascontiguousarray(x).reshape(-1)
    qf = np.ascontiguousarray(xq).reshape(-1)
    if xf.shape != qf.shape:
        raise ValueError(f"x and xq differ in size: {xf.size} vs {qf.size}")
    if xf.size == 0:
        raise ValueError("histograms of an empty tensor are undefined")
    if bins < 1 or error_bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins} and {error_bins}")
    lo, hi = _value_range(xf, qf)
    parts_of = spans(xf.size, thread_count(xf.size), align=CHUNK)

    def emax_of(span) -> float:
        ebuf, m = np.empty(CHUNK), 0.0
        for s in range(span[0], span[1], CHUNK):
            e = ebuf[: min(CHUNK, span[1] - s)]
            np.subtract(qf[s : s + e.size], xf[s : s + e.size], out=e, dtype=np.float64)
            np.abs(e, out=e)
            c = float(e.max())
            if not math.isfinite(c):
                fin = e[np.isfinite(e)]
                c = float(fin.max()) if fin.size else 0.0
            m = max(m, c)
        return m

    if max_error is None or not math.isfinite(max_error):
        max_error = max(run_parallel(parts_of, emax_of))
    elo, ehi = _error_range(max_error)

    vdt = np.float32 if xf.dtype == np.float32 and qf.dtype == np.float32 else np.float64

    def count(span):
        hx, hq, he = np.zeros(bins, np.int64), np.zeros(bins, np.int64), np.zeros(error_bins, np.int64)
        vbuf, ebuf, fbuf, ibuf = np.empty(CHUNK, vdt), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK, np.int32)
        for s in range(span[0], span[1], CHUNK):
            m = min(CHUNK, span[1] - s)
            xc, qc = xf[s : s + m], qf[s : s + m]
            _bin_into(xc, lo, hi, bins, hx, vbuf, ibuf, finite)
            _bin_into(qc, lo, hi, bins, hq, vbuf, ibuf, finite)
            e = ebuf[:m]
            np.subtract(qc, xc, out=e, dtype=np.float64)
            _bin_into(e, elo, ehi, error_bins, he, fbuf, ibuf, finite)
        return hx, hq, he

    parts = run_parallel(parts_of, count)
    hx = sum(p[0] for p in parts)
    hq = sum(p[1] for p in parts)
    he = sum(p[2] for p in parts)
    return Hists(np.linspace(lo, hi, bins + 1), hx, hq, np.linspace(elo, ehi, error_bins + 1), he)


def _steps(n: int, cells: int) -> int:
    return max(1, -(-n // cells))


# ============================================================== error maps
@dataclass(frozen=True)
class ErrorMaps:
    """Where the error is: ``group_mse`` (one MSE per group of the layout, flat, in group
    order) and ``cells`` (the MSE of every ``row_step`` x ``col_step`` tile of the 2-D view)."""

    group_mse: np.ndarray
    cells: np.ndarray
    row_step: int
    col_step: int


def error_maps(x: np.ndarray, xq: np.ndarray, layout, *, max_cells: int = MAX_HEAT) -> ErrorMaps:
    """Per-group MSE of a :class:`quantlib.blocks.Layout` (flat, in group order) and the pooled
    MSE map (:class:`ErrorMaps`), in one sweep (see :func:`sweep`)."""
    return sweep(x, xq, layout, max_cells=max_cells)[0]


def sweep(
    x: np.ndarray,
    xq: np.ndarray,
    layout,
    *,
    max_cells: int = MAX_HEAT,
    bins: int | None = None,
    max_error: float | None = None,
    finite: bool = False,
    value_range: tuple[float, float] | None = None,
) -> tuple[ErrorMaps, Hists | None]:
    """One pass over tiles of the 2-D view (:func:`matrix_shape`) of ``x`` and ``xq``: the
    per-group MSE of ``layout`` and the pooled MSE map, and with ``bins`` (and ``max_error``,
    the largest |xq - x|, e.g. from quantlib's metrics) the value and error histograms too.

    Tiles hold about 2**18 elements (a long row is cut into pieces aligned to the blocks and
    the map's cells), so only one tile of float64 errors exists per thread; large tensors are
    split between threads (:func:`quantlib._parallel.thread_count`).  ``finite``: the caller knows xq has no NaN/inf.
    ``value_range``: the finite min and max of x and xq together, when the caller has them (two
    passes over 16 Mi values saved: about 30 ms)."""
    X = np.asarray(x)
    Q = np.asarray(xq)
    R, C = matrix_shape(X.shape)
    X2, Q2 = np.ascontiguousarray(X).reshape(R, C), np.ascontiguousarray(Q).reshape(R, C)
    rs, cs = _steps(R, max_cells), _steps(C, max_cells)
    nr, nc = -(-R // rs), -(-C // cs)
    kind = layout.kind
    axis = None if layout.axis is None else int(layout.axis)
    rows_are_groups = kind == "channel" and axis == 0 and X.ndim == 2
    cols_are_groups = kind == "channel" and axis == X.ndim - 1 and X.ndim >= 1
    B = int(layout.block_size) if kind == "block" else 1
    align = cs * B // math.gcd(cs, B)
    col_step = C if C <= CHUNK else max(align, CHUNK // align * align)
    band = max(rs, (CHUNK // col_step) // rs * rs)
    tiles = [(r0, min(R, r0 + band), c0, min(C, c0 + col_step)) for r0 in range(0, R, band) for c0 in range(0, C, col_step)]
    cell_sums = np.zeros((nr, nc))
    groups = np.empty((R, -(-C // B))) if kind == "block" else None
    with_hist = bins is not None
    if with_hist:
        lo, hi = _value_range(X2.reshape(-1), Q2.reshape(-1), value_range)
        if max_error is None or not math.isfinite(max_error):
            raise ValueError("histograms in the sweep need a finite max_error (the largest |xq - x|); else use value_histograms")
        elo, ehi = _error_range(max_error)
        vdt = np.float32 if X2.dtype == np.float32 and Q2.dtype == np.float32 else np.float64

    def work(share):
        row_acc = np.zeros(R) if rows_are_groups else None
        col_acc = np.zeros(C) if cols_are_groups else None
        total = 0.0
        hx = hq = he = None
        if with_hist:
            hx, hq, he = np.zeros(bins, np.int64), np.zeros(bins, np.int64), np.zeros(bins, np.int64)
            n_max = max((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in share)
            vbuf, fbuf, ibuf = np.empty(n_max, vdt), np.empty(n_max), np.empty(n_max, np.int32)
        for r0, r1, c0, c1 in share:
            xt, qt = X2[r0:r1, c0:c1], Q2[r0:r1, c0:c1]
            e = qt.astype(np.float64)
            e -= xt
            if with_hist:
                _bin_into(xt.reshape(-1), lo, hi, bins, hx, vbuf, ibuf, True)
                _bin_into(qt.reshape(-1), lo, hi, bins, hq, vbuf, ibuf, finite)
                _bin_into(e.reshape(-1), elo, ehi, bins, he, fbuf, ibuf, finite)
            e *= e
            if kind == "block":
                starts = np.arange(0, c1 - c0, B)
                lens = np.diff(np.append(starts, c1 - c0)).astype(np.float64)
                groups[r0:r1, c0 // B : c0 // B + starts.size] = np.add.reduceat(e, starts, axis=1) / lens
            elif rows_are_groups:
                row_acc[r0:r1] += e.sum(axis=1)
            elif cols_are_groups:
                col_acc[c0:c1] += e.sum(axis=0)
            else:
                total += float(e.sum())
            cstarts = np.arange(0, c1 - c0, cs)
            rstarts = np.arange(0, r1 - r0, rs)
            cell = np.add.reduceat(np.add.reduceat(e, cstarts, axis=1), rstarts, axis=0)
            cell_sums[r0 // rs : r0 // rs + rstarts.size, c0 // cs : c0 // cs + cstarts.size] = cell
        return row_acc, col_acc, total, hx, hq, he

    n_threads = thread_count(X.size) if len(tiles) > 1 else 1
    parts = run_parallel(shares(tiles, n_threads), work)
    row_counts = np.minimum(rs, R - np.arange(nr) * rs).astype(np.float64)
    col_counts = np.minimum(cs, C - np.arange(nc) * cs).astype(np.float64)
    cells = cell_sums / row_counts[:, None] / col_counts[None, :]
    if kind == "block":
        gm = groups.reshape(-1)
    elif rows_are_groups:
        gm = sum(p[0] for p in parts) / C
    elif cols_are_groups:
        gm = sum(p[1] for p in parts) / R
    elif kind == "channel":
        gm = group_mse(X, Q, layout)
    else:
        gm = np.array([sum(p[2] for p in parts) / max(X.size, 1)])
    hists = None
    if with_hist:
        hists = Hists(
            np.linspace(lo, hi, bins + 1), sum(p[3] for p in parts), sum(p[4] for p in parts), np.linspace(elo, ehi, bins + 1), sum(p[5] for p in parts)
        )
    return ErrorMaps(gm, cells, rs, cs), hists


def pooled_sq_error(x: np.ndarray, xq: np.ndarray, *, max_cells: int = MAX_HEAT) -> tuple[np.ndarray, int, int]:
    """Mean squared error of every tile of the 2-D view (:func:`matrix_shape`) of x.

    Returns ``(cells, row_step, col_step)``: ``cells[i, j]`` is the MSE of rows
    ``i*row_step ...`` and columns ``j*col_step ...`` (edge tiles are smaller, their means
    count only real elements).
    """
    m = error_maps(x, xq, layout_for(np.shape(x)), max_cells=max_cells)
    return m.cells, m.row_step, m.col_step


def group_mse(x: np.ndarray, xq: np.ndarray, layout) -> np.ndarray:
    """Mean squared error of every group of a :class:`quantlib.blocks.Layout` (flat, in group
    order: row-major blocks, channels by index, or one value per tensor), in chunks."""
    X = np.asarray(x)
    Q = np.asarray(xq)
    kind = layout.kind
    if kind == "block":
        R, C = matrix_shape(X.shape)
        B = int(layout.block_size)
        X2, Q2 = X.reshape(R, C), Q.reshape(R, C)
        starts = np.arange(0, C, B)
        counts = np.diff(np.append(starts, C)).astype(np.float64)
        out = np.empty((R, starts.size))
        band = max(1, CHUNK // max(C, 1))
        for r0 in range(0, R, band):
            e = Q2[r0 : r0 + band].astype(np.float64) - X2[r0 : r0 + band]
            e *= e
            out[r0 : r0 + band] = np.add.reduceat(e, starts, axis=1) / counts
        return out.reshape(-1)
    if kind == "channel":
        ax = int(layout.axis)
        Xm, Qm = np.moveaxis(X, ax, 0), np.moveaxis(Q, ax, 0)
        n = Xm.shape[0]
        per = max(1, X.size // max(n, 1))
        step = max(1, CHUNK // per)
        out = np.empty(n)
        for c0 in range(0, n, step):
            e = Qm[c0 : c0 + step].astype(np.float64) - Xm[c0 : c0 + step]
            e *= e
            out[c0 : c0 + step] = e.reshape(e.shape[0], -1).mean(axis=1)
        return out
    xf, qf = X.reshape(-1), Q.reshape(-1)
    total = 0.0
    for s in range(0, xf.size, CHUNK):
        e = qf[s : s + CHUNK].astype(np.float64) - xf[s : s + CHUNK]
        total += float(np.dot(e, e))
    return np.array([total / max(xf.size, 1)])


def pool_mean(m: np.ndarray, *, max_cells: int = MAX_HEAT) -> tuple[np.ndarray, int, int]:
    """A 2-D array averaged over tiles so that it has at most ``max_cells`` rows and columns."""
    m = np.asarray(m, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    R, C = m.shape
    rs, cs = _steps(R, max_cells), _steps(C, max_cells)
    if rs == cs == 1:
        return m.copy(), 1, 1
    cols = np.add.reduceat(m, np.arange(0, C, cs), axis=1) / np.diff(np.append(np.arange(0, C, cs), C))[None, :]
    rows = np.add.reduceat(cols, np.arange(0, R, rs), axis=0) / np.diff(np.append(np.arange(0, R, rs), R))[:, None]
    return rows, rs, cs


def window_mean(values: np.ndarray, max_points: int) -> tuple[np.ndarray, int]:
    """A 1-D array averaged over windows of ``step`` values so that at most ``max_points``
    remain (the last window may be shorter): ``(means, step)``; ``step == 1`` leaves it as is."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    step = _steps(v.size, max_points)
    if step > 1:
        starts = np.arange(0, v.size, step)
        v = np.add.reduceat(v, starts) / np.diff(np.append(starts, v.size))
    return v, step


def sample_points(x: np.ndarray, xq: np.ndarray, k: int = SCATTER_POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reproducible random sample of ``k`` element pairs (x, xq) (all of them when fewer)."""
    xf = np.asarray(x).reshape(-1)
    qf = np.asarray(xq).reshape(-1)
    n = xf.size
    if n <= k:
        return xf.astype(np.float64), qf.astype(np.float64)
    idx = np.unique(np.random.default_rng(seed).integers(0, n, k))
    return xf[idx].astype(np.float64), qf[idx].astype(np.float64)


# ============================================================== rate-distortion
BITS_TOLERANCE = 1e-3
"""Bits per element within this relative difference count as equal for the Pareto front: NVFP4's
4.5 + 32/n bits (its one per-tensor scale) is not "more" than NF4's 4.5."""


def pareto_mask(bits: Sequence[float], sqnr: Sequence[float], *, tol: float = BITS_TOLERANCE) -> np.ndarray:
    """True for the schemes no other scheme beats: none has at most as many bits per element
    (within ``tol``, relative) and at least the SQNR, with one of the two strictly better
    (equal points are both kept)."""
    b = np.asarray(bits, dtype=np.float64)
    s = np.asarray(sqnr, dtype=np.float64)
    s = np.where(np.isnan(s), -np.inf, s)
    keep = np.ones(b.size, bool)
    for i in range(b.size):
        no_more = b <= b[i] * (1 + tol)
        fewer = b < b[i] * (1 - tol)
        better = no_more & (s >= s[i]) & (fewer | (s > s[i]))
        keep[i] = not better.any()
    return keep


def front_order(bits: Sequence[float], sqnr: Sequence[float]) -> list[int]:
    """Indices of the Pareto front (:func:`pareto_mask`), by bits per element: the numbers
    1, 2, ... that the rate-distortion chart and the comparison table show."""
    b = np.asarray(bits, dtype=np.float64)
    s = np.asarray(sqnr, dtype=np.float64)
    front = pareto_mask(b, s)
    return [int(i) for i in sorted(np.flatnonzero(front & ~np.isnan(s)), key=lambda i: (b[i], -s[i]))]


BUDGETS = (2.5, 4.6, 6.6, 8.6, 16.6)
"""Bit budgets of :func:`best_per_budget`: about 2, 4, 6, 8 and 16 bits (scales included)."""


def best_per_budget(schemes: Sequence[str], bits: Sequence[float], sqnr: Sequence[float]) -> list[tuple[float, str, float, float]]:
    """For each budget in :data:`BUDGETS` that gains a new best: ``(budget, scheme, bits, sqnr)``
    of the highest-SQNR scheme within it (ties: fewer bits)."""
    out = []
    last = None
    for budget in BUDGETS:
        cand = [(s, b, q) for s, b, q in zip(schemes, bits, sqnr, strict=True) if b <= budget and not math.isnan(q)]
        if not cand:
            continue
        best = max(cand, key=lambda t: (t[2], -t[1]))
        if best[0] != last:
            out.append((budget, *best))
            last = best[0]
    return out
