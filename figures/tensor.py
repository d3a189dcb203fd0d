"""Builders of the Tensor Lab page (``/tensor``): what quantizing one tensor does to it.

Two kinds of functions, neither imports streamlit:

* **reductions** (numpy): turn a tensor of up to 64 Mi values and its dequantized copy into
  the few thousand numbers a chart needs, in chunks so that no full-size float64 temporary is
  made: :func:`value_histograms` (original, dequantized and error histograms in one pass),
  :func:`pooled_sq_error` (mean squared error per heatmap cell), :func:`pool_mean`,
  :func:`sample_points` (the scatter plot's sample), :func:`pareto_mask`, :func:`rounding_table`;
* **builders**: plotly figures, pandas tables and matplotlib PNGs from those reductions.

Point budget: a histogram has at most a few hundred bins, a heatmap at most
:data:`MAX_HEAT` x :data:`MAX_HEAT` cells, the scatter plot :data:`SCATTER_POINTS` points; a
chart never gets one point per element.

User-facing words come from ``labels`` (English defaults in :data:`LABELS`); the page passes
the translated ones (``lab.tensor.state.tensor_labels``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from .style import apply_layout

__all__ = [
    "LABELS",
    "MAX_HEAT",
    "SCATTER_POINTS",
    "LEVEL_LINES_MAX",
    "LEVEL_TICKS_MAX",
    "Hists",
    "num",
    "pct",
    "db",
    "nbytes_text",
    "matrix_shape",
    "value_histograms",
    "pooled_sq_error",
    "error_maps",
    "sweep",
    "ErrorMaps",
    "group_mse",
    "pool_mean",
    "sample_points",
    "pareto_mask",
    "front_order",
    "best_per_budget",
    "rounding_table",
    "metrics_rows",
    "compare_table",
    "value_histogram_figure",
    "error_histogram_figure",
    "scatter_figure",
    "heatmap_figure",
    "channel_figure",
    "rate_distortion_figure",
    "per_tensor_figure",
    "figure_html",
    "value_histogram_png",
    "error_histogram_png",
    "rate_distortion_png",
]

MAX_HEAT = 128
"""Heatmaps have at most this many rows and columns of cells (each cell pools a tile)."""
SCATTER_POINTS = 4000
"""The original-vs-dequantized scatter plot draws a random sample of this many elements."""
LEVEL_LINES_MAX = 40
"""Up to this many quantization levels in view are drawn as lines across the histogram ..."""
LEVEL_TICKS_MAX = 600
"""... up to this many as ticks along its bottom; more are too dense to draw."""

ORIGINAL_COLOR = "#1f77b4"
DEQUANT_COLOR = "#ff7f0e"
ERROR_COLOR = "#9467bd"
LEVEL_COLOR = "#2ca02c"
CLIP_COLOR = "#d62728"
FRONT_COLOR = "#d62728"
CURRENT_COLOR = "#111111"
FAMILY_COLORS = {
    "float": "#1f77b4", "int": "#ff7f0e", "uint": "#8c564b", "nf4": "#2ca02c", "bnb_fp4": "#17becf",
    "codebook": "#bcbd22", "mx": "#9467bd", "nvfp4": "#e377c2", "log": "#7f7f7f", "binary": "#444444", "ternary": "#aa4499",
}
_FONT = dict(size=13)

LABELS: dict[str, str] = {
    # histogram of values
    "axis_value": "value",
    "axis_count": "count",
    "axis_count_log": "count (log scale)",
    "legend_original": "original",
    "legend_dequantized": "dequantized",
    "legend_levels": "levels of {group}",
    "legend_clip": "clipping range",
    "clip_text": "±{t}",
    "clip_text_asym": "{lo} … {hi}",
    "hover_bin": "{lo} … {hi}: {count}",
    # error histogram
    "axis_error": "error (dequantized − original)",
    "legend_error": "error",
    # scatter
    "axis_original": "original value",
    "axis_dequantized": "dequantized value",
    "legend_identity": "no error (y = x)",
    "legend_sample": "{n} sampled elements",
    # heatmaps
    "axis_column": "column",
    "axis_row": "row",
    "axis_block": "block along the row",
    "axis_channel": "channel (index along axis {axis})",
    "colorbar_log_mse": "log10 MSE",
    "colorbar_scale": "scale",
    "colorbar_log_scale": "log2 scale",
    "hover_cell": "rows {r0}–{r1}, {what} {c0}–{c1}: {value}",
    "word_columns": "columns",
    "word_blocks": "blocks",
    "hover_channel": "{i}: {value}",
    "axis_index": "index",
    # rate-distortion
    "axis_bits": "bits per element (codes + scales; log scale)",
    "axis_sqnr": "SQNR (dB, higher is better)",
    "legend_front": "Pareto front",
    "legend_current": "current scheme",
    "legend_dominated": "other schemes",
    "lossless": "lossless",
    "fam_float": "float cast",
    "fam_int": "int (absmax)",
    "fam_uint": "uint (zero point)",
    "fam_nf4": "NF4",
    "fam_bnb_fp4": "bnb FP4",
    "fam_codebook": "codebook",
    "fam_mx": "MX",
    "fam_nvfp4": "NVFP4",
    "fam_log": "log",
    "fam_binary": "binary",
    "fam_ternary": "ternary",
    "hover_scheme": "{scheme}: {bits} bits per element, SQNR {sqnr}",
    # per-tensor
    "axis_tensor": "tensor",
    # tables
    "col_metric": "Metric",
    "col_value": "Value",
    "col_meaning": "What it means",
    "m_sqnr": "SQNR",
    "m_sqnr_help": "10·log10(Σx² / Σe²): signal over error power. +6 dB ≈ one more bit.",
    "m_mse": "MSE",
    "m_mse_help": "mean of e², e = dequantized − original",
    "m_rmse": "RMSE",
    "m_rmse_help": "√MSE, in the units of the tensor",
    "m_max": "Max |error|",
    "m_max_help": "the worst single element",
    "m_mean_abs": "Mean |error|",
    "m_mean_abs_help": "the typical element's error",
    "m_rel": "Relative error",
    "m_rel_help": "‖e‖ / ‖x‖",
    "m_cos": "Cosine similarity",
    "m_cos_help": "⟨x, x̃⟩ / (‖x‖‖x̃‖); 1 − cos in brackets",
    "m_clipped": "Clipped",
    "m_clipped_help": "share of elements saturated to the largest level",
    "m_flushed": "Flushed to zero",
    "m_flushed_help": "share of non-zero elements stored as 0",
    "m_bits": "Bits per element",
    "m_bits_help": "codes plus every scale, zero point and offset",
    "m_size": "Size",
    "m_size_help": "quantized storage vs the original's",
    "size_cell": "{q} vs {orig} ({dtype}): {ratio}",
    "cos_cell": "{cos} (1 − cos = {omc})",
    "col_scheme": "Scheme",
    "col_bits": "Bits/elem",
    "col_bytes": "Size (bytes)",
    "col_ratio": "vs original",
    "col_sqnr": "SQNR (dB)",
    "col_mse": "MSE",
    "col_max": "Max |error|",
    "col_omc": "1 − cos",
    "col_clipped": "Clipped",
    "col_flushed": "Flushed",
    "col_front": "Pareto",
    "col_tensor": "Tensor",
    "col_shape": "Shape",
    "col_elements": "Elements",
    "col_rel": "Rel. error",
    "col_problem": "Problem",
    # block zoom
    "col_index": "Index",
    "col_x": "Original x",
    "col_x_over_s": "x / scale",
    "col_below": "Level below",
    "col_above": "Level above",
    "col_code": "Code",
    "col_xq": "Stored as",
    "col_error": "Error",
    "col_how": "How it was rounded",
    "how_exact": "exact: a level itself",
    "how_down": "down to the nearer level",
    "how_up": "up to the nearer level",
    "how_tie_down": "a tie: down",
    "how_tie_up": "a tie: up",
    "how_clip_top": "clipped to the top level",
    "how_clip_bottom": "clipped to the bottom level",
    "how_zero": "flushed to 0",
    "how_far": "to a level that is not the nearest ({rule})",
    "how_nonfinite": "not a finite number",
}
"""Every user-facing string of the builders, by key; the page passes translations of these."""


def _labels(labels: Mapping[str, str] | None) -> Mapping[str, str]:
    return LABELS if not labels else {**LABELS, **labels}


# ============================================================== numbers as text
def num(v: float | None, digits: int = 4) -> str:
    """A float for a table or a label: '0.0123', '1.23e-6', '4.5', '∞', '—' for None/NaN."""
    if v is None:
        return "—"
    v = float(v)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 10 ** digits:
        text = f"{v:.{digits}g}"
        if "e" not in text:
            return text
    mant, _, exp = f"{v:.{digits - 1}e}".partition("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def pct(frac: float | None) -> str:
    """A fraction as a percentage: '0%', '<0.01%', '0.37%', '12.5%'; '—' for None."""
    if frac is None or (isinstance(frac, float) and math.isnan(frac)):
        return "—"
    p = 100.0 * float(frac)
    if p == 0:
        return "0%"
    if p < 0.01:
        return "<0.01%"
    return f"{p:.3g}%"


def db(v: float | None) -> str:
    """'20.73 dB'; '∞ dB' (lossless)."""
    if v is None or math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞ dB" if v > 0 else "−∞ dB"
    return f"{v:.2f} dB"


def nbytes_text(n: float) -> str:
    """'512 B', '147.5 KiB', '64 MiB', '1.25 GiB'."""
    n = float(n)
    for unit, k in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**k:
            v = n / 2**k
            return f"{v:.4g} {unit}"
    return f"{int(n)} B"


# ============================================================== reductions (numpy)
def matrix_shape(shape: Sequence[int]) -> tuple[int, int]:
    """The 2-D view of a tensor for heatmaps: (rows, last axis); a vector is one row."""
    shape = tuple(int(s) for s in shape)
    if not shape:
        return (1, 1)
    if len(shape) == 1:
        return (1, shape[0])
    return (math.prod(shape[:-1]), shape[-1])


_CHUNK = 1 << 18


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


def _finite_min_max(a: np.ndarray) -> tuple[float, float]:
    with np.errstate(invalid="ignore"):
        lo, hi = float(np.min(a)), float(np.max(a))
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    f = a[np.isfinite(a)]
    return (float(f.min()), float(f.max())) if f.size else (math.inf, -math.inf)


def _threads(n: int) -> int:
    return 1 if n < (1 << 20) else max(1, min(4, os.cpu_count() or 1))


def _parallel(parts: list, work) -> list:
    """``[work(p) for p in parts]``, on a thread each when there are several (numpy releases the GIL)."""
    if len(parts) <= 1:
        return [work(p) for p in parts]
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        return list(pool.map(work, parts))


def _split(n: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``range(n)``, boundaries at multiples of ``align``."""
    per = -(-n // max(1, parts))
    per = -(-per // align) * align
    return [(a, min(n, a + per)) for a in range(0, n, per)] or [(0, 0)]


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
    lo, hi = _finite_min_max(xf)
    qlo, qhi = _finite_min_max(qf)
    lo, hi = min(lo, qlo), max(hi, qhi)
    if not math.isfinite(lo):
        lo, hi = -1.0, 1.0
    if not lo < hi:
        lo, hi = lo - 0.5, hi + 0.5
    spans = _split(xf.size, _threads(xf.size), _CHUNK)

    def emax_of(span) -> float:
        ebuf, m = np.empty(_CHUNK), 0.0
        for s in range(span[0], span[1], _CHUNK):
            e = ebuf[: min(_CHUNK, span[1] - s)]
            np.subtract(qf[s : s + e.size], xf[s : s + e.size], out=e, dtype=np.float64)
            np.abs(e, out=e)
            c = float(e.max())
            if not math.isfinite(c):
                fin = e[np.isfinite(e)]
                c = float(fin.max()) if fin.size else 0.0
            m = max(m, c)
        return m

    if max_error is None or not math.isfinite(max_error):
        max_error = max(_parallel(spans, emax_of))
    elo, ehi = (-max_error, max_error) if max_error > 0 else (-0.5, 0.5)

    vdt = np.float32 if xf.dtype == np.float32 and qf.dtype == np.float32 else np.float64

    def count(span):
        hx, hq, he = np.zeros(bins, np.int64), np.zeros(bins, np.int64), np.zeros(error_bins, np.int64)
        vbuf, ebuf, fbuf, ibuf = np.empty(_CHUNK, vdt), np.empty(_CHUNK), np.empty(_CHUNK), np.empty(_CHUNK, np.int32)
        for s in range(span[0], span[1], _CHUNK):
            m = min(_CHUNK, span[1] - s)
            xc, qc = xf[s : s + m], qf[s : s + m]
            _bin_into(xc, lo, hi, bins, hx, vbuf, ibuf, finite)
            _bin_into(qc, lo, hi, bins, hq, vbuf, ibuf, finite)
            e = ebuf[:m]
            np.subtract(qc, xc, out=e, dtype=np.float64)
            _bin_into(e, elo, ehi, error_bins, he, fbuf, ibuf, finite)
        return hx, hq, he

    parts = _parallel(spans, count)
    hx = sum(p[0] for p in parts)
    hq = sum(p[1] for p in parts)
    he = sum(p[2] for p in parts)
    return Hists(np.linspace(lo, hi, bins + 1), hx, hq, np.linspace(elo, ehi, error_bins + 1), he)


def _steps(n: int, cells: int) -> int:
    return max(1, -(-n // cells))


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
) -> tuple[ErrorMaps, Hists | None]:
    """One pass over tiles of the 2-D view (:func:`matrix_shape`) of ``x`` and ``xq``: the
    per-group MSE of ``layout`` and the pooled MSE map, and with ``bins`` (and ``max_error``,
    the largest |xq - x|, e.g. from quantlib's metrics) the value and error histograms too.

    Tiles hold about 2**18 elements (a long row is cut into pieces aligned to the blocks and
    the map's cells), so only one tile of float64 errors exists per thread; large tensors are
    split between two threads.  ``finite``: the caller knows xq has no NaN/inf."""
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
    col_step = C if C <= _CHUNK else max(align, _CHUNK // align * align)
    band = max(rs, (_CHUNK // col_step) // rs * rs)
    tiles = [(r0, min(R, r0 + band), c0, min(C, c0 + col_step)) for r0 in range(0, R, band) for c0 in range(0, C, col_step)]
    cell_sums = np.zeros((nr, nc))
    groups = np.empty((R, -(-C // B))) if kind == "block" else None
    with_hist = bins is not None
    if with_hist:
        lo, hi = _finite_min_max(X2.reshape(-1))
        qlo, qhi = _finite_min_max(Q2.reshape(-1))
        lo, hi = min(lo, qlo), max(hi, qhi)
        if not math.isfinite(lo):
            lo, hi = -1.0, 1.0
        if not lo < hi:
            lo, hi = lo - 0.5, hi + 0.5
        if max_error is None or not math.isfinite(max_error):
            raise ValueError("histograms in the sweep need a finite max_error (the largest |xq - x|); else use value_histograms")
        elo, ehi = (-max_error, max_error) if max_error > 0 else (-0.5, 0.5)
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

    n_threads = _threads(X.size) if len(tiles) > 1 else 1
    per = -(-len(tiles) // n_threads)
    parts = _parallel([tiles[i : i + per] for i in range(0, len(tiles), per)], work)
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
    from quantlib.blocks import layout_for

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
        band = max(1, _CHUNK // max(C, 1))
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
        step = max(1, _CHUNK // per)
        out = np.empty(n)
        for c0 in range(0, n, step):
            e = Qm[c0 : c0 + step].astype(np.float64) - Xm[c0 : c0 + step]
            e *= e
            out[c0 : c0 + step] = e.reshape(e.shape[0], -1).mean(axis=1)
        return out
    xf, qf = X.reshape(-1), Q.reshape(-1)
    total = 0.0
    for s in range(0, xf.size, _CHUNK):
        e = qf[s : s + _CHUNK].astype(np.float64) - xf[s : s + _CHUNK]
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


def sample_points(x: np.ndarray, xq: np.ndarray, k: int = SCATTER_POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reproducible random sample of ``k`` element pairs (x, xq) (all of them when fewer)."""
    xf = np.asarray(x).reshape(-1)
    qf = np.asarray(xq).reshape(-1)
    n = xf.size
    if n <= k:
        return xf.astype(np.float64), qf.astype(np.float64)
    idx = np.unique(np.random.default_rng(seed).integers(0, n, k))
    return xf[idx].astype(np.float64), qf[idx].astype(np.float64)


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


def _how(x: float, xq: float, below: float, above: float, clipped: bool, lab: Mapping[str, str]) -> str:
    if not (math.isfinite(x) and math.isfinite(xq)):
        return lab["how_nonfinite"]
    if xq == x:
        return lab["how_exact"]
    if clipped:
        return lab["how_clip_top"] if x > 0 else lab["how_clip_bottom"]
    if xq == 0:
        return lab["how_zero"]
    d_lo = x - below if below <= x else math.inf  # beyond the last level there is none on that side
    d_hi = above - x if above >= x else math.inf
    if xq == below:
        if d_lo == d_hi:
            return lab["how_tie_down"]
        return lab["how_down"] if d_lo < d_hi else lab["how_far"]
    if xq == above:
        if d_lo == d_hi:
            return lab["how_tie_up"]
        return lab["how_up"] if d_hi < d_lo else lab["how_far"]
    return lab["how_far"]


def rounding_table(
    x: np.ndarray,
    xq: np.ndarray,
    codes: Sequence[str],
    levels: np.ndarray,
    *,
    scale: float | None = None,
    clipped: np.ndarray | None = None,
    start: int = 0,
    rule: str = "",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per element of a block: its value, the value it is stored as and in words how it
    was rounded, the error, its code, and the levels around it.  ``levels``: every value the group can
    decode to (sorted); ``scale``: the group's scale (adds an ``x / scale`` column);
    ``start``: the index of the first element (for the Index column); ``rule``: a word for
    schemes that do not round to the nearest level (e.g. "log domain")."""
    lab = _labels(labels)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xq = np.asarray(xq, dtype=np.float64).reshape(-1)
    lv = np.unique(np.asarray(levels, dtype=np.float64))
    lv = lv[np.isfinite(lv)]
    clip = np.zeros(x.size, bool) if clipped is None else np.asarray(clipped, bool).reshape(-1)
    i_hi = np.clip(np.searchsorted(lv, x, side="left"), 0, lv.size - 1)  # first level >= x
    i_lo = np.clip(np.searchsorted(lv, x, side="right") - 1, 0, lv.size - 1)  # last level <= x
    below, above = lv[i_lo], lv[i_hi]
    rows = []
    far = lab["how_far"].format(rule=rule or "?")
    words = {**lab, "how_far": far}
    for i in range(x.size):
        row = {
            lab["col_index"]: start + i,
            lab["col_x"]: num(x[i], 6),
            lab["col_xq"]: num(xq[i], 6),
            lab["col_how"]: _how(x[i], xq[i], below[i], above[i], bool(clip[i]), words),
            lab["col_error"]: num(xq[i] - x[i], 3),
            lab["col_code"]: codes[i],
        }
        if scale is not None:
            row[lab["col_x_over_s"]] = num(x[i] / scale, 5) if scale else "—"
        row[lab["col_below"]] = num(below[i], 6) if below[i] <= x[i] else "—"
        row[lab["col_above"]] = num(above[i], 6) if above[i] >= x[i] else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# ============================================================== tables
def metrics_rows(m: Mapping[str, float], *, bits_per_element: float, nbytes: int, orig_nbytes: int, orig_dtype: str,
                 labels: Mapping[str, str] | None = None) -> list[list[str]]:
    """The metrics table of one scheme as rows ``[metric, value, meaning]``.  ``m`` is
    :meth:`quantlib.metrics.Metrics.as_dict`."""
    lab = _labels(labels)
    ratio = nbytes / orig_nbytes if orig_nbytes else math.nan
    size = lab["size_cell"].format(q=nbytes_text(nbytes), orig=nbytes_text(orig_nbytes), dtype=orig_dtype, ratio=f"{ratio:.1%}")
    rows = [
        ("m_sqnr", db(m["sqnr_db"])),
        ("m_mse", num(m["mse"])),
        ("m_rmse", num(m["rmse"])),
        ("m_max", num(m["max_abs_error"])),
        ("m_mean_abs", num(m["mean_abs_error"])),
        ("m_rel", pct(m["rel_error"]) if math.isfinite(m["rel_error"]) else num(m["rel_error"])),
        ("m_cos", lab["cos_cell"].format(cos=f"{m['cosine']:.6f}", omc=num(m["one_minus_cosine"], 3)) if math.isfinite(m["cosine"]) else "—"),
        ("m_clipped", pct(m["frac_clipped"])),
        ("m_flushed", pct(m["frac_flushed"])),
        ("m_bits", f"{bits_per_element:.4g}"),
        ("m_size", size),
    ]
    return [[lab[k], v, lab[k + "_help"]] for k, v in rows]


COMPARE_FIELDS = ("scheme", "family", "bits", "nbytes", "ratio", "sqnr_db", "mse", "max_abs_error", "one_minus_cosine", "frac_clipped", "frac_flushed")


def compare_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The comparison as a DataFrame with translated headers, numbers kept numeric (sortable),
    sorted by bits per element, with a Pareto column (the front's numbers of the chart).  ``rows``: dicts with
    :data:`COMPARE_FIELDS`."""
    lab = _labels(labels)
    if not rows:
        return pd.DataFrame(columns=[lab[c] for c in ("col_scheme", "col_bits", "col_sqnr")])
    df = pd.DataFrame(list(rows))
    numbers = np.full(len(df), "", dtype=object)
    for k, i in enumerate(front_order(df["bits"], df["sqnr_db"])):
        numbers[i] = str(k + 1)
    out = pd.DataFrame(
        {
            lab["col_scheme"]: df["scheme"],
            lab["col_bits"]: df["bits"].astype(float),
            lab["col_sqnr"]: df["sqnr_db"].astype(float),
            lab["col_front"]: numbers,
            lab["col_mse"]: df["mse"].astype(float),
            lab["col_max"]: df["max_abs_error"].astype(float),
            lab["col_omc"]: df["one_minus_cosine"].astype(float),
            lab["col_clipped"]: (100 * df["frac_clipped"].astype(float)),
            lab["col_flushed"]: (100 * df["frac_flushed"].astype(float)),
            lab["col_bytes"]: df["nbytes"].astype(np.int64),
            lab["col_ratio"]: (100 * df["ratio"].astype(float)),
        }
    )
    return out.sort_values([lab["col_bits"], lab["col_sqnr"]], ascending=[True, False], kind="stable").reset_index(drop=True)


# ============================================================== plotly
_AXIS = dict(showline=True, linecolor="#999", gridcolor="rgba(128,128,128,0.2)", zeroline=False, automargin=True)


def _layout(fig: go.Figure, height: int, *, x: dict | None = None, y: dict | None = None, **extra) -> None:
    """The lab's chart style in one layout update (plotly's updates are slow): legend in a row
    above the plot, small margins, no background; ``x`` / ``y``: axis settings."""
    layout = dict(
        height=height,
        margin=dict(l=8, r=8, t=8, b=8),
        font=_FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
        hoverlabel=dict(namelength=-1, font_size=12),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        bargap=0,
        xaxis={**_AXIS, **(x or {})},
        yaxis={**_AXIS, **(y or {})},
    )
    layout.update(extra)
    apply_layout(fig, layout)


def _bars(edges: np.ndarray, counts: np.ndarray, name: str, color: str, opacity: float, lab: Mapping[str, str]) -> go.Bar:
    centers = (edges[:-1] + edges[1:]) / 2
    hover = [lab["hover_bin"].format(lo=num(a), hi=num(b), count=f"{int(c):,}") for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    return go.Bar(
        x=centers, y=counts, width=np.diff(edges), name=name, marker=dict(color=color, line_width=0), opacity=opacity,
        hovertext=hover, hoverinfo="text+name",
    )


def value_histogram_figure(
    h: Hists,
    *,
    levels: np.ndarray | None = None,
    level_group: int | str = 0,
    clip: tuple[float, float] | None = None,
    log_y: bool = False,
    show_levels: bool = True,
    labels: Mapping[str, str] | None = None,
    height: int = 380,
) -> go.Figure:
    """Original vs dequantized values (overlaid histograms on the same bins), the quantization
    levels of one group (lines when at most :data:`LEVEL_LINES_MAX` are in view, ticks along
    the bottom up to :data:`LEVEL_TICKS_MAX`) and the clipping range (dashed, red)."""
    lab = _labels(labels)
    fig = go.Figure()
    fig.add_trace(_bars(h.edges, h.original, lab["legend_original"], ORIGINAL_COLOR, 0.55, lab))
    fig.add_trace(_bars(h.edges, h.dequantized, lab["legend_dequantized"], DEQUANT_COLOR, 0.55, lab))
    lo, hi = float(h.edges[0]), float(h.edges[-1])
    pad = 0.02 * (hi - lo)
    shapes = []
    if clip is not None:
        c_lo, c_hi = clip
        if math.isfinite(c_lo) and math.isfinite(c_hi) and c_hi - c_lo < 50 * (hi - lo):
            for v in (c_lo, c_hi):
                shapes.append(dict(type="line", x0=v, x1=v, xref="x", yref="paper", y0=0, y1=1, line=dict(color=CLIP_COLOR, width=2, dash="dash")))
            sym = math.isclose(-c_lo, c_hi, rel_tol=1e-6)
            text = lab["clip_text"].format(t=num(c_hi)) if sym else lab["clip_text_asym"].format(lo=num(c_lo), hi=num(c_hi))
            fig.add_trace(
                go.Scatter(x=[c_lo, c_hi], y=[None, None], mode="lines", name=f"{lab['legend_clip']} {text}",
                           line=dict(color=CLIP_COLOR, width=2, dash="dash"), hoverinfo="skip")
            )
            lo, hi = min(lo, c_lo), max(hi, c_hi)
            pad = 0.02 * (hi - lo)
    if show_levels and levels is not None and len(levels):
        lv = np.asarray(levels, dtype=np.float64)
        lv = lv[(lv >= lo - pad) & (lv <= hi + pad)]
        if 0 < lv.size <= LEVEL_TICKS_MAX:
            fig.add_trace(level_lines(lv, tall=lv.size <= LEVEL_LINES_MAX, name=lab["legend_levels"].format(group=level_group)))
    _layout(
        fig, height, barmode="overlay", shapes=shapes,
        x=dict(title_text=lab["axis_value"], range=[lo - pad, hi + pad]),
        y=dict(title_text=lab["axis_count_log"] if log_y else lab["axis_count"], type="log" if log_y else "linear"),
        yaxis2=dict(overlaying="y", range=[0, 1], fixedrange=True, visible=False),
    )
    return fig


def level_lines(levels: np.ndarray, *, tall: bool, name: str) -> go.Scatter:
    """Quantization levels as vertical lines across the plot (``tall``, dotted) or short ticks
    along its bottom: ONE trace of segments ``x = v, v, gap`` on a hidden 0..1 axis (``y2``),
    not a layout shape per level (hundreds of shapes are slow to build and to draw)."""
    lv = np.asarray(levels, dtype=np.float64)
    n = lv.size
    xs = np.full(3 * n, np.nan)
    ys = np.full(3 * n, np.nan)
    xs[0::3] = xs[1::3] = lv
    ys[0::3], ys[1::3] = 0.0, 1.0 if tall else 0.07
    return go.Scatter(
        x=xs, y=ys, yaxis="y2", mode="lines", name=name, connectgaps=False, hoverinfo="skip",
        line=dict(color=LEVEL_COLOR, width=1, dash="dot" if tall else "solid"),
    )


def error_histogram_figure(h: Hists, *, log_y: bool = False, labels: Mapping[str, str] | None = None, height: int = 320) -> go.Figure:
    """The distribution of ``dequantized - original``."""
    lab = _labels(labels)
    fig = go.Figure(_bars(h.error_edges, h.error, lab["legend_error"], ERROR_COLOR, 0.85, lab))
    _layout(
        fig, height, showlegend=False, x=dict(title_text=lab["axis_error"]),
        y=dict(title_text=lab["axis_count_log"] if log_y else lab["axis_count"], type="log" if log_y else "linear"),
    )
    return fig


def scatter_figure(xs: np.ndarray, qs: np.ndarray, *, labels: Mapping[str, str] | None = None, height: int = 380) -> go.Figure:
    """Dequantized vs original for a sample of elements, with the line of no error: the
    quantizer's staircase."""
    lab = _labels(labels)
    xs = np.asarray(xs, dtype=np.float64)
    qs = np.asarray(qs, dtype=np.float64)
    lo = float(min(xs.min(), qs.min())) if xs.size else -1.0
    hi = float(max(xs.max(), qs.max())) if xs.size else 1.0
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name=lab["legend_identity"], line=dict(color="#999", width=1, dash="dash"), hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=xs, y=qs, mode="markers", name=lab["legend_sample"].format(n=f"{xs.size:,}"),
            marker=dict(color=DEQUANT_COLOR, size=4, opacity=0.6),
            hovertemplate="%{x:.4g} → %{y:.4g}<extra></extra>",
        )
    )
    _layout(fig, height, x=dict(title_text=lab["axis_original"]), y=dict(title_text=lab["axis_dequantized"]))
    return fig


def heatmap_figure(
    z: np.ndarray,
    *,
    row_step: int = 1,
    col_step: int = 1,
    log10: bool = False,
    log2: bool = False,
    colorbar: str = "",
    x_title: str = "",
    y_title: str = "",
    colorscale: str = "Viridis",
    col_word: str | None = None,
    labels: Mapping[str, str] | None = None,
    height: int = 360,
) -> go.Figure:
    """A heatmap of one value per tile (``row_step`` x ``col_step`` elements, or blocks);
    ``log10``/``log2`` colour by the logarithm (zeros are left blank); hover shows the value."""
    lab = _labels(labels)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if log10:
            c = np.where(z > 0, np.log10(np.where(z > 0, z, 1)), np.nan)
        elif log2:
            c = np.where(z > 0, np.log2(np.where(z > 0, z, 1)), np.nan)
        else:
            c = z
    R, C = z.shape
    ends = np.empty((R, C, 3))  # last row, last column and value of every cell, for the hover text
    ends[:, :, 0] = (np.arange(R) * row_step + row_step - 1)[:, None]
    ends[:, :, 1] = (np.arange(C) * col_step + col_step - 1)[None, :]
    ends[:, :, 2] = z
    hover = lab["hover_cell"].format(
        r0="%{y}", r1="%{customdata[0]}", what=col_word or lab["word_columns"], c0="%{x}", c1="%{customdata[1]}", value="%{customdata[2]:.4g}"
    )
    fig = go.Figure(
        go.Heatmap(
            z=c, x=np.arange(C) * col_step, y=np.arange(R) * row_step, colorscale=colorscale, customdata=ends,
            hovertemplate=hover + "<extra></extra>",
            colorbar=dict(title=dict(text=colorbar, side="right"), thickness=12, len=0.9),
        )
    )
    _layout(fig, height, x=dict(title_text=x_title or lab["axis_column"]), y=dict(title_text=y_title or lab["axis_row"], autorange="reversed"))
    return fig


def channel_figure(
    values: np.ndarray,
    *,
    title: str,
    axis: int = 0,
    x_step: int = 1,
    x_title: str | None = None,
    log_y: bool = False,
    labels: Mapping[str, str] | None = None,
    height: int = 300,
) -> go.Figure:
    """One value per channel (a per-channel scale or error) as a line over the channel index,
    averaged in windows when there are more than 4 x :data:`MAX_HEAT` values.  ``x_step``:
    the values are already windows of that many indices (``x_title`` then names the axis)."""
    lab = _labels(labels)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    step = _steps(v.size, 4 * MAX_HEAT)
    if step > 1:
        starts = np.arange(0, v.size, step)
        v = np.add.reduceat(v, starts) / np.diff(np.append(starts, v.size))
    step *= max(1, int(x_step))
    idx = np.arange(v.size) * step
    fig = go.Figure(
        go.Scatter(
            x=idx, y=v, mode="lines+markers" if v.size <= 64 else "lines", line=dict(color=ORIGINAL_COLOR, width=1.5), marker=dict(size=5),
            hovertext=[lab["hover_channel"].format(i=int(i), value=num(val)) for i, val in zip(idx, v, strict=True)], hoverinfo="text", name=title,
        )
    )
    _layout(
        fig, height, showlegend=False, x=dict(title_text=x_title or lab["axis_channel"].format(axis=axis)),
        y=dict(title_text=title, type="log" if log_y else "linear"),
    )
    return fig


def _plot_sqnr(sqnr: np.ndarray) -> tuple[np.ndarray, float | None]:
    """SQNR values to plot: +inf (lossless) drawn 6 dB above the best finite one."""
    s = np.asarray(sqnr, dtype=np.float64)
    finite = s[np.isfinite(s)]
    top = (float(finite.max()) if finite.size else 0.0) + 6.0
    lossless = np.isposinf(s)
    s = np.where(lossless, top, s)
    s = np.where(np.isneginf(s) | np.isnan(s), np.nan, s)
    return s, (top if lossless.any() else None)


FAMILY_NAMES = {f: f"fam_{f}" for f in FAMILY_COLORS}
"""The label key of each scheme family's legend name."""


def front_order(bits: Sequence[float], sqnr: Sequence[float]) -> list[int]:
    """Indices of the Pareto front (:func:`pareto_mask`), by bits per element: the numbers
    1, 2, ... that the rate-distortion chart and the comparison table show."""
    b = np.asarray(bits, dtype=np.float64)
    s = np.asarray(sqnr, dtype=np.float64)
    front = pareto_mask(b, s)
    return [int(i) for i in sorted(np.flatnonzero(front & ~np.isnan(s)), key=lambda i: (b[i], -s[i]))]


def rate_distortion_figure(
    schemes: Sequence[str],
    families: Sequence[str],
    bits: Sequence[float],
    sqnr: Sequence[float],
    *,
    current: str | None = None,
    labels: Mapping[str, str] | None = None,
    height: int = 480,
) -> go.Figure:
    """SQNR vs bits per element (scales included) of every compared scheme, coloured by family:
    the Pareto front (no scheme gives more SQNR for fewer bits) as a red staircase whose points
    are numbered 1, 2, ... by bits (:func:`front_order`; the page lists their names, which
    would collide on a phone), the current scheme ringed, every name on hover.  The x axis is
    log2, so 2, 4, 8 and 16 bits are evenly spaced; a lossless scheme (SQNR = inf) is drawn
    6 dB above the best finite one, on a dotted line."""
    lab = _labels(labels)
    b = np.asarray(bits, dtype=np.float64)
    s_true = np.asarray(sqnr, dtype=np.float64)
    s_plot, top = _plot_sqnr(s_true)
    fig = go.Figure()
    hover = [lab["hover_scheme"].format(scheme=n, bits=f"{bb:.4g}", sqnr=db(q)) for n, bb, q in zip(schemes, b, s_true, strict=True)]
    order = [i for i in np.argsort(b, kind="stable") if not np.isnan(s_plot[i])]
    fo = [i for i in front_order(b, s_true) if not np.isnan(s_plot[i])]
    if fo:
        fig.add_trace(go.Scatter(x=b[fo], y=s_plot[fo], mode="lines", line=dict(color=FRONT_COLOR, width=2, shape="hv"), name=lab["legend_front"], hoverinfo="skip"))
    for fam in dict.fromkeys(families[i] for i in order):
        idx = [i for i in order if families[i] == fam]
        fig.add_trace(
            go.Scatter(
                x=b[idx], y=s_plot[idx], mode="markers", name=lab.get(FAMILY_NAMES.get(fam, ""), fam), legendgroup=fam,
                marker=dict(size=10, color=FAMILY_COLORS.get(fam, "#777"), line=dict(width=0.5, color="#333")),
                hovertext=[hover[i] for i in idx], hoverinfo="text",
            )
        )
    if fo:
        fig.add_trace(
            go.Scatter(
                x=b[fo], y=s_plot[fo], mode="markers+text", showlegend=False, text=[str(k + 1) for k in range(len(fo))],
                textposition="middle center", textfont=dict(size=10, color="white", family="Arial Black, Arial, sans-serif"),
                marker=dict(size=18, color=[FAMILY_COLORS.get(families[i], "#777") for i in fo], line=dict(width=2, color=FRONT_COLOR)),
                hovertext=[f"{k + 1}: {hover[i]}" for k, i in enumerate(fo)], hoverinfo="text",
            )
        )
    if current is not None and current in schemes:
        i = list(schemes).index(current)
        if not np.isnan(s_plot[i]):
            fig.add_trace(
                go.Scatter(
                    x=[b[i]], y=[s_plot[i]], mode="markers", name=f"{lab['legend_current']}: {current}",
                    marker=dict(size=30, color="rgba(0,0,0,0)", line=dict(width=2, color=CURRENT_COLOR)), hovertext=[hover[i]], hoverinfo="text",
                )
            )
    annotations = []
    if top is not None:
        annotations.append(dict(xref="paper", x=0, y=top, text=lab["lossless"], showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=11, color="#777")))
    finite_b = b[np.isfinite(b) & (b > 0)]
    lo = math.log2(max(0.5, float(finite_b.min()) / 1.25)) if finite_b.size else 0
    hi = math.log2(float(finite_b.max()) * 1.6) if finite_b.size else 5
    ticks = [t for t in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 64) if 2**lo <= t <= 2**hi]
    yaxis = dict(title_text=lab["axis_sqnr"])
    yv = s_plot[~np.isnan(s_plot)]
    if yv.size:
        ypad = max(2.0, 0.06 * float(yv.max() - yv.min()))
        yaxis["range"] = [float(yv.min()) - ypad, float(yv.max()) + ypad]
    shapes = []
    if top is not None:
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=top, y1=top, line=dict(color="#bbb", width=1, dash="dot")))
    _layout(
        fig, height, annotations=annotations, shapes=shapes,
        x=dict(title_text=lab["axis_bits"], type="log", range=[math.log10(2**lo), math.log10(2**hi)], tickvals=ticks, ticktext=[str(t) for t in ticks]),
        y=yaxis,
    )
    return fig


def per_tensor_figure(names: Sequence[str], sqnr: Sequence[float], *, labels: Mapping[str, str] | None = None, max_bars: int = 40) -> go.Figure:
    """SQNR of every tensor of a file, worst first (the ``max_bars`` worst when there are more)."""
    lab = _labels(labels)
    s, _top = _plot_sqnr(np.asarray(sqnr, dtype=np.float64))
    order = [i for i in np.argsort(np.where(np.isnan(s), np.inf, s)) if not np.isnan(s[i])][:max_bars]
    fig = go.Figure(
        go.Bar(
            y=[names[i] for i in order], x=[s[i] for i in order], orientation="h", marker=dict(color=ORIGINAL_COLOR),
            hovertext=[f"{names[i]}: {db(float(np.asarray(sqnr, dtype=np.float64)[i]))}" for i in order], hoverinfo="text",
        )
    )
    _layout(
        fig, 80 + 22 * max(3, len(order)), bargap=0.25, showlegend=False,
        x=dict(title_text=lab["axis_sqnr"], side="top"), y=dict(autorange="reversed", title_text=lab["axis_tensor"]),
    )
    return fig


def figure_html(fig: go.Figure, title: str = "") -> bytes:
    """A standalone HTML file of a plotly figure (plotly.js embedded: it opens offline)."""
    f = go.Figure(fig)
    if title:
        f.update_layout(title=dict(text=title), margin=dict(t=60))
    return f.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


# ============================================================== matplotlib (PNG downloads)
def _mpl_figure(width: float = 8.0, height: float = 4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def value_histogram_png(h: Hists, *, levels: np.ndarray | None = None, clip: tuple[float, float] | None = None, log_y: bool = False,
                        title: str = "", level_group: int | str = 0, labels: Mapping[str, str] | None = None) -> bytes:
    """The value histogram (:func:`value_histogram_figure`) as a PNG, drawn by matplotlib."""
    lab = _labels(labels)
    fig = _mpl_figure()
    ax = fig.add_subplot()
    w = np.diff(h.edges)
    ax.bar(h.edges[:-1], h.original, width=w, align="edge", color=ORIGINAL_COLOR, alpha=0.55, label=lab["legend_original"])
    ax.bar(h.edges[:-1], h.dequantized, width=w, align="edge", color=DEQUANT_COLOR, alpha=0.55, label=lab["legend_dequantized"])
    lo, hi = float(h.edges[0]), float(h.edges[-1])
    if levels is not None:
        lv = np.asarray(levels, dtype=np.float64)
        lv = lv[(lv >= lo) & (lv <= hi)]
        if 0 < lv.size <= LEVEL_TICKS_MAX:
            if lv.size <= LEVEL_LINES_MAX:
                for v in lv:
                    ax.axvline(v, color=LEVEL_COLOR, lw=0.8, ls=":")
            else:
                ax.plot(lv, np.zeros(lv.size), "|", color=LEVEL_COLOR, ms=10, transform=ax.get_xaxis_transform())
            ax.plot([], [], color=LEVEL_COLOR, ls=":", label=lab["legend_levels"].format(group=level_group))
    if clip is not None and all(math.isfinite(v) for v in clip) and clip[1] - clip[0] < 50 * (hi - lo):
        for v in clip:
            ax.axvline(v, color=CLIP_COLOR, lw=1.5, ls="--")
        ax.plot([], [], color=CLIP_COLOR, ls="--", label=lab["legend_clip"])
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(lab["axis_value"])
    ax.set_ylabel(lab["axis_count_log"] if log_y else lab["axis_count"])
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)


def error_histogram_png(h: Hists, *, log_y: bool = False, title: str = "", labels: Mapping[str, str] | None = None) -> bytes:
    """The error histogram as a PNG."""
    lab = _labels(labels)
    fig = _mpl_figure(8.0, 3.6)
    ax = fig.add_subplot()
    ax.bar(h.error_edges[:-1], h.error, width=np.diff(h.error_edges), align="edge", color=ERROR_COLOR, alpha=0.85)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(lab["axis_error"])
    ax.set_ylabel(lab["axis_count_log"] if log_y else lab["axis_count"])
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)


def rate_distortion_png(schemes: Sequence[str], bits: Sequence[float], sqnr: Sequence[float], *, current: str | None = None, title: str = "",
                        labels: Mapping[str, str] | None = None) -> bytes:
    """The rate-distortion chart as a PNG (every scheme named, the Pareto front in red)."""
    lab = _labels(labels)
    b = np.asarray(bits, dtype=np.float64)
    s, _top = _plot_sqnr(np.asarray(sqnr, dtype=np.float64))
    front = pareto_mask(b, np.asarray(sqnr, dtype=np.float64))
    fig = _mpl_figure(8.0, 5.0)
    ax = fig.add_subplot()
    ax.set_xscale("log", base=2)
    fo = [i for i in np.argsort(b) if front[i] and not np.isnan(s[i])]
    if fo:
        ax.step(b[fo], s[fo], where="post", color=FRONT_COLOR, lw=1.5, label=lab["legend_front"])
    ok = ~np.isnan(s)
    ax.scatter(b[ok & ~front], s[ok & ~front], color="#9a9a9a", edgecolor="#555", s=30, label=lab["legend_dominated"], zorder=3)
    ax.scatter(b[ok & front], s[ok & front], color=FRONT_COLOR, s=40, zorder=4)
    for i in np.flatnonzero(ok):
        ax.annotate(schemes[i], (b[i], s[i]), xytext=(5, 3), textcoords="offset points", fontsize=7, color="#222" if front[i] else "#666")
    if current is not None and current in schemes:
        i = list(schemes).index(current)
        if ok[i]:
            ax.scatter([b[i]], [s[i]], s=160, facecolor="none", edgecolor=CURRENT_COLOR, lw=1.5, label=f"{lab['legend_current']}: {current}", zorder=5)
    ticks = [t for t in (1, 2, 3, 4, 6, 8, 12, 16, 32) if b[ok].size and b[ok].min() / 1.3 <= t <= b[ok].max() * 1.3]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(lab["axis_bits"])
    ax.set_ylabel(lab["axis_sqnr"])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)
