"""quantlib.metrics: every metric against its plain numpy formula."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import quantlib.metrics as M
from quantlib.metrics import block_mse, metrics
from quantlib.schemes import quantize


def _plain(x, xq):
    x = x.astype(np.float64).ravel()
    xq = xq.astype(np.float64).ravel()
    e = xq - x
    return {
        "mse": np.mean(e * e),
        "sqnr_db": 10 * np.log10(np.sum(x * x) / np.sum(e * e)),
        "max_abs_error": np.max(np.abs(e)),
        "mean_abs_error": np.mean(np.abs(e)),
        "rel_error": np.linalg.norm(e) / np.linalg.norm(x),
        "cosine": np.dot(x, xq) / (np.linalg.norm(x) * np.linalg.norm(xq)),
        "frac_flushed": np.mean((xq == 0) & (x != 0)),
        "signal_power": np.mean(x * x),
    }


def test_worked_example():
    m = metrics(np.array([1.0, 2.0]), np.array([1.0, 1.5]))
    assert m.mse == 0.125 and m.rmse == math.sqrt(0.125)
    assert m.sqnr_db == pytest.approx(10 * math.log10(20))
    assert m.max_abs_error == 0.5 and m.mean_abs_error == 0.25
    assert m.rel_error == pytest.approx(math.sqrt(0.25 / 5))
    assert m.cosine == pytest.approx(4 / (math.sqrt(5) * math.sqrt(3.25)))
    assert m.frac_clipped is None and m.frac_flushed == 0 and m.n == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scheme", ["nf4:block=64", "int4:block=32", "mxfp4", "float8_e4m3fn:scaled"])
def test_matches_plain_formulas(dtype, scheme):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 256)).astype(dtype)
    x[0, :10] = 0
    q = quantize(x, scheme)
    xq = q.dequantize()
    m = metrics(x, q)
    for k, v in _plain(x, xq).items():
        assert getattr(m, k) == pytest.approx(v, rel=1e-9, abs=1e-15), k
    assert m.frac_clipped == q.n_clipped / x.size
    bs = q.layout.block_size
    if bs:
        e2 = (xq.astype(np.float64) - x) ** 2
        np.testing.assert_allclose(m.per_block_mse, e2.reshape(40, -1, bs).mean(axis=2), rtol=1e-12)


def test_one_minus_cosine_has_no_cancellation():
    x = np.random.default_rng(2).standard_normal(1000)
    xq = x * (1 + 1e-9) + 1e-9 * np.sin(np.arange(1000))
    m = metrics(x, xq)
    X = [Fraction(v) for v in x]
    Q = [Fraction(v) for v in xq]
    dot = sum(a * b for a, b in zip(X, Q))
    nx = sum(a * a for a in X)
    nq = sum(b * b for b in Q)
    exact = 1 - float(dot) / math.sqrt(float(nx) * float(nq))  # the difference, to ~1e-16 absolute
    exact_cos_def = float(1 - dot / Fraction(math.sqrt(nx * nq)))
    assert m.one_minus_cosine == pytest.approx(exact_cos_def, rel=1e-6)
    assert abs(exact - exact_cos_def) < 1e-15


def test_flushed_and_clipped():
    x = np.float32([1e-3, 0.0, 2.0, -3.0])
    xq = np.float32([0.0, 0.0, 2.0, -2.5])
    m = metrics(x, xq, clipped=np.array([False, False, False, True]))
    assert m.frac_flushed == 0.25 and m.frac_clipped == 0.25


def test_per_block_unaligned_and_threads():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 100)).astype(np.float32)
    xq = x + np.float32(0.01) * rng.standard_normal((3, 100)).astype(np.float32)
    m = metrics(x, xq, block_size=64)
    e2 = (xq.astype(np.float64) - x) ** 2
    np.testing.assert_allclose(m.per_block_mse[:, 0], e2[:, :64].mean(axis=1))
    np.testing.assert_allclose(m.per_block_mse[:, 1], e2[:, 64:].mean(axis=1))
    np.testing.assert_allclose(block_mse(x, xq, 64), m.per_block_mse)
    big = rng.standard_normal(1 << 19).astype(np.float32)
    bq = big + np.float32(1e-3)
    a, b = metrics(big, bq, block_size=64, threads=1), metrics(big, bq, block_size=64, threads=2)
    assert a.mse == pytest.approx(b.mse, rel=1e-12) and a.max_abs_error == b.max_abs_error
    np.testing.assert_array_equal(a.per_block_mse, b.per_block_mse)


def test_small_chunks(monkeypatch):
    monkeypatch.setattr(M, "CHUNK", 64)
    x = np.random.default_rng(4).standard_normal(1000).astype(np.float32)
    xq = np.round(x * 4) / 4
    m = metrics(x, xq, block_size=8)
    for k, v in _plain(x, xq).items():
        assert getattr(m, k) == pytest.approx(v, rel=1e-12, abs=1e-15), k


def test_degenerate():
    m = metrics(np.ones(4), np.ones(4))
    assert m.mse == 0 and m.sqnr_db == math.inf and m.cosine == 1.0
    m = metrics(np.zeros(4), np.ones(4))
    assert m.sqnr_db == -math.inf and math.isnan(m.cosine)
    with pytest.raises(ValueError):
        metrics(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        metrics(np.ones(0), np.ones(0))


def test_nonfinite_dequantized_values_are_reported_not_hidden():
    """NaN or inf in the dequantized tensor (overflow without saturation) must not look perfect."""
    x = np.float32([1, -1, 0.5, 2])
    m = metrics(x, np.float32([1, np.nan, 0.5, 2]))
    assert math.isnan(m.max_abs_error) and math.isnan(m.cosine) and math.isnan(m.sqnr_db)
    m = metrics(x, np.float32([1, -1, 0.5, np.inf]))
    assert m.max_abs_error == math.inf and m.sqnr_db == -math.inf and math.isnan(m.cosine)
