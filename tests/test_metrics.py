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
    # a NaN stored is an infinite error, like an inf (it was NaN here before metrics took over the
    # Tensor Lab's safe_metrics, whose inf / -inf the page shows)
    assert m.max_abs_error == math.inf and math.isnan(m.cosine) and m.sqnr_db == -math.inf
    m = metrics(x, np.float32([1, -1, 0.5, np.inf]))
    assert m.max_abs_error == math.inf and m.sqnr_db == -math.inf and math.isnan(m.cosine)
    assert m.n_nonfinite == 1


# ------------------------------------------------------------------ NaN / inf against the lab's old safe_metrics
def old_safe_metrics(x, xq, clipped):
    """lab/tensor_cached.py::safe_metrics as it was before metrics handled NaN/inf (the reference)."""
    ok = np.isfinite(xq)
    n_bad = int(ok.size - np.count_nonzero(ok))
    if n_bad == 0:
        return metrics(x, xq, clipped=clipped).as_dict(), 0
    m = {"n": int(x.size), "signal_power": float(np.mean(np.square(x, dtype=np.float64)))}
    m.update(mse=math.inf, rmse=math.inf, sqnr_db=-math.inf, max_abs_error=math.inf, mean_abs_error=math.inf, rel_error=math.inf,
             cosine=math.nan, one_minus_cosine=math.nan, frac_clipped=None, frac_flushed=0.0)
    if n_bad < ok.size:
        part = metrics(x[ok], xq[ok], clipped=None if clipped is None else clipped[ok])
        m["frac_clipped"] = None if part.frac_clipped is None else part.frac_clipped * part.n / x.size
        m["frac_flushed"] = part.frac_flushed * part.n / x.size
    return m, n_bad


def _same(a, b) -> bool:
    return a is b or a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _spoil(xq, rng, what, k):
    xq = xq.copy()
    flat = xq.reshape(-1)
    idx = rng.choice(flat.size, k, replace=False)
    flat[idx] = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}[what] if what != "mixed" else rng.choice([np.inf, -np.inf, np.nan], k)
    return xq


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("what", ["inf", "-inf", "nan", "mixed"])
@pytest.mark.parametrize("shape, k", [((4,), 1), ((40, 256), 7), ((1 << 19,), 1000)])
@pytest.mark.parametrize("with_mask", [False, True])
def test_nonfinite_xq_is_exactly_the_old_safe_metrics(dtype, what, shape, k, with_mask):
    rng = np.random.default_rng(21)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:3] = 0  # some flushed candidates
    xq = np.round(x * 4) / 4
    xq = _spoil(xq, rng, what, k)
    clipped = (rng.random(shape) < 0.1) if with_mask else None
    ref, ref_bad = old_safe_metrics(x, xq, clipped)
    m = metrics(x, xq, clipped=clipped)
    got = m.as_dict()
    assert got.pop("n_nonfinite") == ref_bad == m.n_nonfinite == k
    assert set(got) == set(ref)
    for key, v in ref.items():
        assert _same(got[key], v), (key, got[key], v)
    assert m.mse == m.max_abs_error == math.inf and m.sqnr_db == -math.inf and math.isnan(m.cosine)


@pytest.mark.parametrize("threads", [1, 2])
def test_nonfinite_xq_threads_and_blocks(threads):
    rng = np.random.default_rng(22)
    x = rng.standard_normal((8, 1 << 16)).astype(np.float32)
    xq = x + np.float32(0.01)
    xq[5, 100] = np.inf
    xq[1, 7] = np.nan
    m = metrics(x, xq, block_size=64, threads=threads)
    ref, bad = old_safe_metrics(x, xq, None)
    assert m.n_nonfinite == bad == 2 and m.sqnr_db == ref["sqnr_db"] == -math.inf
    assert m.frac_flushed == ref["frac_flushed"] and m.signal_power == ref["signal_power"]
    assert m.per_block_mse[5, 100 // 64] == math.inf and math.isnan(m.per_block_mse[1, 0])
    finite = np.ones(m.per_block_mse.shape, bool)
    finite[5, 1] = finite[1, 0] = False
    assert np.isfinite(m.per_block_mse[finite]).all()
    unaligned = metrics(x[:, :100], xq[:, :100], block_size=64)  # block_mse, not the sweep
    assert unaligned.per_block_mse[1, 0] != unaligned.per_block_mse[1, 0] and unaligned.n_nonfinite == 1


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_all_nonfinite_xq(bad):
    x = np.float32([1, 0, -2, 3])
    ref, n_bad = old_safe_metrics(x, np.full(4, bad, np.float32), np.array([True, False, False, True]))
    m = metrics(x, np.full(4, bad, np.float32), clipped=np.array([True, False, False, True]))
    assert m.n_nonfinite == n_bad == 4
    assert m.frac_clipped is None and ref["frac_clipped"] is None and m.frac_flushed == 0.0
    assert m.rmse == m.rel_error == m.mean_abs_error == math.inf and m.sqnr_db == -math.inf
    assert math.isnan(m.one_minus_cosine) and m.signal_power == ref["signal_power"] == 3.5


def test_nonfinite_in_x_is_undefined_never_an_error_or_garbage():
    """NaN/inf in the original: every error field NaN (undefined), no exception, no warning;
    the shares count the finite pairs; n_nonfinite counts xq only."""
    import warnings

    x = np.float32([1, np.nan, np.inf, -np.inf, 0.5, 2, 1e-3, 0])
    cases = {
        "xq finite": np.float32([1, 0, 448, -448, 0.5, 2, 0, 0]),
        "xq keeps them": np.float32([1, np.nan, np.inf, -np.inf, 0.5, 2, 0, 0]),
        "xq overflows too": np.float32([np.inf, np.nan, np.inf, 0, 0.5, 2, 0, 0]),
    }
    clipped = np.array([False, False, True, True, True, False, False, False])
    for name, xq in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m = metrics(x, xq, clipped=clipped)
        for f in ("mse", "rmse", "sqnr_db", "max_abs_error", "mean_abs_error", "rel_error", "cosine", "one_minus_cosine"):
            assert math.isnan(getattr(m, f)), (name, f)
        assert m.n_nonfinite == int((~np.isfinite(xq)).sum()), name
        assert math.isnan(m.signal_power)  # mean x^2 with a NaN in x
        ok = np.isfinite(x) & np.isfinite(xq)
        n_ok = int(ok.sum())
        assert m.frac_clipped == pytest.approx(np.count_nonzero(clipped & ok) / 8), name
        assert m.frac_flushed == pytest.approx(np.count_nonzero((xq == 0) & (x != 0) & ok) / 8), name
        assert n_ok < 8
    m = metrics(np.float64([1.0, np.inf]), np.float64([1.0, 2.0]))
    assert m.signal_power == math.inf and math.isnan(m.mse) and m.n_nonfinite == 0 and m.frac_flushed == 0.0
    m = metrics(np.full(3, np.nan), np.full(3, np.nan), clipped=np.ones(3, bool))
    assert math.isnan(m.mse) and m.frac_clipped is None and m.n_nonfinite == 3


def test_finite_overflow_keeps_the_usual_formulas():
    """float64 values whose squares overflow are finite: not the NaN/inf rule (max error stays finite)."""
    m = metrics(np.float64([1e200, 0.0]), np.float64([-1e200, 0.0]))
    assert m.n_nonfinite == 0 and m.max_abs_error == 2e200 and m.mean_abs_error == 1e200
    assert m.mse == math.inf and m.sqnr_db == -math.inf


def test_finite_inputs_take_no_extra_pass(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("the non-finite path ran for finite inputs")

    monkeypatch.setattr(M, "_nonfinite_metrics", boom)
    x = np.random.default_rng(23).standard_normal((64, 300)).astype(np.float32)
    m = metrics(x, np.round(x * 8) / 8, block_size=64)
    assert m.n_nonfinite == 0 and math.isfinite(m.sqnr_db)
