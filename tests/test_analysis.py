"""The reductions of quantlib/analysis.py, checked against plain numpy on the full arrays:
histograms (the project's one histogram implementation), error maps, samples, Pareto fronts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantlib import analysis as A
from quantlib import quantize
from quantlib.blocks import layout_for
from quantlib.metrics import block_mse, metrics


def rng_tensor(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_matrix_shape():
    assert A.matrix_shape(()) == (1, 1)
    assert A.matrix_shape((7,)) == (1, 7)
    assert A.matrix_shape((3, 5, 40)) == (15, 40)


def test_value_histograms_match_numpy():
    x = rng_tensor((300, 70))
    xq = quantize(x, "int4:block=32").dequantize()
    h = A.value_histograms(x, xq, bins=50, error_bins=40)
    assert h.original.sum() == h.dequantized.sum() == h.error.sum() == x.size
    assert h.edges[0] == min(x.min(), xq.min()) and h.edges[-1] == max(x.max(), xq.max())
    # float32 binning may move a value lying within a rounding error of an edge
    assert np.abs(h.original - np.histogram(x, bins=h.edges)[0]).sum() <= 2
    assert np.abs(h.dequantized - np.histogram(xq, bins=h.edges)[0]).sum() <= 2
    e = xq.astype(np.float64) - x
    assert h.error_edges[-1] == pytest.approx(np.abs(e).max())
    assert np.array_equal(h.error, np.histogram(e, bins=h.error_edges)[0])
    # the known max error gives the same histogram in one pass
    h1 = A.value_histograms(x, xq, bins=50, error_bins=40, max_error=float(np.abs(e).max()), finite=True)
    assert np.array_equal(h1.error, h.error)


def test_value_histograms_leave_out_nonfinite():
    x = np.array([-1.0, 0.0, 1.0, 2.0], np.float32)
    xq = np.array([-1.0, np.nan, 1.0, np.inf], np.float32)
    h = A.value_histograms(x, xq, bins=4)
    assert h.original.sum() == 4
    assert h.dequantized.sum() == 2
    assert h.error.sum() == 2
    with pytest.raises(ValueError):
        A.value_histograms(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize(
    ("shape", "scheme"),
    [((40, 100), "nf4:block=64"), ((40, 100), "int8:axis=0"), ((40, 100), "int8:axis=1"), ((40, 100), "int8"), ((3, 5, 40), "int8:axis=1"), ((7,), "int4:block=4"), ((2, 3, 130), "nf4:block=64")],
)
def test_error_maps_match_numpy(shape, scheme):
    x = rng_tensor(shape)
    q = quantize(x, scheme)
    xq = q.dequantize()
    e2 = (xq.astype(np.float64) - x) ** 2
    m = A.error_maps(x, xq, q.layout, max_cells=8)
    lay = q.layout
    if lay.kind == "block":
        assert np.allclose(m.group_mse, block_mse(x, xq, lay.block_size).reshape(-1))
    elif lay.kind == "channel":
        expect = np.moveaxis(e2, lay.axis, 0).reshape(shape[lay.axis], -1).mean(axis=1)
        assert np.allclose(m.group_mse, expect)
    else:
        assert np.allclose(m.group_mse, [metrics(x, xq).mse])
    assert np.allclose(m.group_mse, A.group_mse(x, xq, lay))
    R, C = A.matrix_shape(shape)
    M = e2.reshape(R, C)
    assert m.cells.shape == (-(-R // m.row_step), -(-C // m.col_step))
    assert max(m.cells.shape) <= 8
    assert m.cells[0, 0] == pytest.approx(M[: m.row_step, : m.col_step].mean())
    i, j = m.cells.shape[0] - 1, m.cells.shape[1] - 1
    assert m.cells[i, j] == pytest.approx(M[i * m.row_step :, j * m.col_step :].mean())  # the short edge tile


def test_error_maps_large_tensor_uses_bands_and_threads():
    x = rng_tensor((2048, 1024))
    q = quantize(x, "int4:block=64")
    xq = q.dequantize()
    m = A.error_maps(x, xq, q.layout)
    assert m.cells.shape == (128, 128) and (m.row_step, m.col_step) == (16, 8)
    assert np.allclose(m.group_mse, block_mse(x, xq, 64).reshape(-1))
    e2 = (xq.astype(np.float64) - x) ** 2
    assert m.cells.mean() == pytest.approx(e2.mean())


@pytest.mark.parametrize(("shape", "scheme"), [((1 << 19,), "nf4:block=64"), ((3, 300_001), "int4:block=48"), ((2048, 1024), "int8:axis=1"), ((600, 700), "int8")])
def test_sweep_tiles_long_rows_and_fuses_the_histograms(shape, scheme):
    """Rows longer than a tile are cut into pieces aligned to the blocks and the map's cells;
    the fused histograms equal value_histograms'."""
    x = rng_tensor(shape, seed=2)
    q = quantize(x, scheme)
    xq = q.dequantize()
    m = metrics(x, xq)
    maps, h = A.sweep(x, xq, q.layout, bins=61, max_error=m.max_abs_error, finite=True)
    assert np.allclose(maps.group_mse, A.group_mse(x, xq, q.layout))
    R, C = A.matrix_shape(shape)
    e2 = ((xq.astype(np.float64) - x) ** 2).reshape(R, C)
    assert maps.cells[0, -1] == pytest.approx(e2[: maps.row_step, (maps.cells.shape[1] - 1) * maps.col_step :].mean())
    assert maps.cells.mean() == pytest.approx(e2.mean(), rel=0.05)
    ref = A.value_histograms(x, xq, bins=61, error_bins=61, max_error=m.max_abs_error, finite=True)
    for a, b in ((h.original, ref.original), (h.dequantized, ref.dequantized), (h.error, ref.error)):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        A.sweep(x, xq, q.layout, bins=61)  # the error range must be known
    lo, hi = min(x.min(), xq.min()), max(x.max(), xq.max())  # the caller's range: the same edges and counts
    _m2, h2 = A.sweep(x, xq, q.layout, bins=61, max_error=m.max_abs_error, finite=True, value_range=(float(lo), float(hi)))
    assert np.array_equal(h2.edges, h.edges) and np.array_equal(h2.original, h.original) and np.array_equal(h2.dequantized, h.dequantized)


def test_pool_mean_and_sample_points():
    m = np.arange(12.0).reshape(3, 4)
    p, rs, cs = A.pool_mean(m, max_cells=2)
    assert (rs, cs) == (2, 2)
    assert p.tolist() == [[2.5, 4.5], [8.5, 10.5]]
    x = rng_tensor((100, 100))
    xs, qs = A.sample_points(x, x * 2, k=500)
    assert 450 < xs.size <= 500 and np.allclose(qs, 2 * xs)
    assert np.array_equal(A.sample_points(x, x, k=500)[0], xs)  # reproducible
    xs, _ = A.sample_points(x[:2, :3], x[:2, :3], k=500)
    assert xs.size == 6


def test_pareto_front_and_best_per_budget():
    bits = [4.127, 4.25, 4.5, 4.5, 6.25, 8.0, 8.0, 16.0, 16.0]
    sqnr = [20.7, 18.7, 20.7, 20.4, 31.0, 39.6, 31.6, 73.7, math.inf]
    names = ["nf4dq", "mxfp4", "nf4", "nvfp4", "mxfp6", "int8", "fp8", "fp16", "same"]
    front = A.pareto_mask(bits, sqnr)
    assert [n for n, f in zip(names, front, strict=True) if f] == ["nf4dq", "mxfp6", "int8", "same"]
    assert A.pareto_mask([4, 4], [10, 10]).tolist() == [True, True]  # equal points are both kept
    # NVFP4's per-tensor scale (4.5 + 32/n bits) does not make it "cost more" than NF4's 4.5
    assert A.pareto_mask([4.5, 4.5000019], [19.3, 24.1]).tolist() == [False, True]
    best = A.best_per_budget(names[:8], bits[:8], sqnr[:8])
    assert [(b, n) for b, n, _bits, _q in best] == [(4.6, "nf4dq"), (6.6, "mxfp6"), (8.6, "int8"), (16.6, "fp16")]


def test_layout_for_matches_group_mse_layouts():
    """group_mse takes any object with kind/axis/block_size, e.g. quantlib's Layout."""
    x = rng_tensor((8, 10))
    lay = layout_for(x.shape, block_size=4)
    assert A.group_mse(x, x, lay).shape == (8 * 3,)


# ------------------------------------------------------------------ histograms (from tests/test_metrics.py)
def test_histograms():
    """The three histograms of a quantization (formerly quantlib.metrics.histograms and
    histogram): every element counted once, x and xq on the same edges spanning them, the
    error with its own bins; bins as np.histogram's over the data's range; NaN/inf left out."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(10_000).astype(np.float32)
    q = quantize(x, "int4:block=64").dequantize()
    h = A.value_histograms(x, q, bins=50, error_bins=50)
    assert h.original.sum() == h.dequantized.sum() == h.error.sum() == x.size
    assert h.edges.size == 51  # one set of edges for both
    assert h.edges[0] <= x.min() and h.edges[-1] >= x.max()
    assert h.error.size == 50 and h.error_edges.size == 51
    x64 = rng.uniform(-1, 1, 10_000)
    c, e = np.histogram(x64, bins=20, range=(x64.min(), x64.max()))
    hh = A.value_histograms(x64, x64, bins=20)
    np.testing.assert_array_equal(hh.original, c)
    np.testing.assert_array_equal(hh.edges, e)
    a = np.float32([1.0, np.nan, np.inf])
    with np.errstate(invalid="ignore"):  # inf - inf
        assert A.value_histograms(a, a, bins=3).original.sum() == 1
    with pytest.raises(ValueError):
        A.value_histograms(x, x, bins=0)


def test_finite_min_max():
    assert A.finite_min_max(np.float32([3.0, -2.0, 1.0])) == (-2.0, 3.0)
    assert A.finite_min_max(np.float32([np.nan, 5.0, -np.inf, 1.0])) == (1.0, 5.0)
    assert A.finite_min_max(np.float32([np.nan, np.inf])) == (math.inf, -math.inf)


def test_window_mean():
    v, step = A.window_mean(np.arange(10.0), 4)
    assert step == 3 and v.tolist() == [1.0, 4.0, 7.0, 9.0]
    v, step = A.window_mean(np.arange(3.0), 4)
    assert step == 1 and v.tolist() == [0.0, 1.0, 2.0]


def test_value_histograms_threads_give_the_same_counts(monkeypatch):
    """Counts summed over threads equal one thread's (integer counts: exact)."""
    import quantlib.analysis as mod

    x = rng_tensor((1 << 20,), seed=3)
    xq = quantize(x, "int4:block=32").dequantize()
    many = A.value_histograms(x, xq)
    monkeypatch.setattr(mod, "thread_count", lambda n, threads=None: 1)
    one = A.value_histograms(x, xq)
    for a, b in ((many.original, one.original), (many.dequantized, one.dequantized), (many.error, one.error), (many.edges, one.edges)):
        assert np.array_equal(a, b)
