"""quantlib.calibration: the chosen ranges, against plain re-computations."""

from __future__ import annotations

import numpy as np
import pytest

from quantlib.calibration import (
    CALIBRATION_METHODS,
    calibrate,
    kl_range,
    minmax_range,
    mse_range,
    percentile_range,
)
from quantlib.schemes import quantize


@pytest.fixture(scope="module")
def heavy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20_000)
    x[:20] *= 25  # a few outliers
    return x.astype(np.float32)


def test_minmax_worked():
    x = np.array([-1.0, 0.0, 0.5, 3.0])
    r = minmax_range(x)
    assert (r.lo, r.hi, r.threshold, r.symmetric) == (-3.0, 3.0, 3.0, True)
    r = minmax_range(x, symmetric=False)
    assert (r.lo, r.hi) == (-1.0, 3.0)


def test_percentile_matches_numpy(heavy):
    r = percentile_range(heavy, percentile=99.9)
    assert r.hi == pytest.approx(np.percentile(np.abs(heavy), 99.9)) and r.lo == -r.hi
    r = percentile_range(heavy, percentile=99.0, symmetric=False)
    lo, hi = np.percentile(heavy, [1.0, 99.0])
    assert (r.lo, r.hi) == (pytest.approx(lo), pytest.approx(hi))
    assert percentile_range(heavy, percentile=100).hi == pytest.approx(np.abs(heavy).max())


def _exact_mse(x, t, bits):
    qmax = 2 ** (bits - 1) - 1
    c = qmax / t
    q = np.clip(np.rint(x * c), -qmax, qmax)
    return np.mean((x - q / c) ** 2)


@pytest.mark.parametrize("bits", [4, 8])
def test_mse_search(heavy, bits):
    x = heavy.astype(np.float64)
    r = mse_range(x, bits=bits)
    amax = np.abs(x).max()
    assert 0 < r.hi < amax  # outliers make clipping pay
    assert r.candidates.shape == r.objective.shape == (100,)
    assert r.objective[np.argmin(r.objective)] == r.objective.min() and r.candidates[np.argmin(r.objective)] == r.hi
    # the histogram estimate picks a threshold whose exact MSE is within 5% of the best candidate's
    exact = np.array([_exact_mse(x, t, bits) for t in r.candidates])
    assert _exact_mse(x, r.hi, bits) <= exact.min() * 1.05
    ra = mse_range(x, bits=bits, symmetric=False)
    assert ra.lo < 0 < ra.hi and not ra.symmetric


def _kl_reference(x, bits, num_bins):
    """Migacz 2017, slide 'Entropy Calibration - pseudo code', written out with loops."""
    a = np.abs(x)
    hist, edges = np.histogram(a, bins=num_bins, range=(0, a.max()))
    nq = 2 ** (bits - 1)
    best, best_i = np.inf, None
    for i in range(nq, num_bins + 1):
        P = list(hist[:i].astype(float))
        P[i - 1] += hist[i:].sum()
        ref = hist[:i].astype(float)
        m = i // nq
        Q = [0.0] * i
        for j in range(nq):
            lo = j * m
            hi = i if j == nq - 1 else lo + m
            chunk = ref[lo:hi]
            nz = [k for k in range(lo, hi) if ref[k] != 0]
            if nz:
                for k in nz:
                    Q[k] = chunk.sum() / len(nz)
        P, Q = np.array(P), np.array(Q)

        def smooth(p, eps=1e-4):
            z = p == 0
            nzc = (~z).sum()
            return p + eps * z - eps * z.sum() / nzc * (~z)

        P, Q = smooth(P), smooth(Q)
        P, Q = P / P.sum(), Q / Q.sum()
        kl = sum(p * np.log(p / q) for p, q in zip(P, Q) if p > 0)
        if kl < best:
            best, best_i = kl, i
    return min((best_i + 0.5) * (edges[1] - edges[0]), a.max())


def test_kl_matches_the_pseudo_code(heavy):
    x = heavy[:4000].astype(np.float64)
    r = kl_range(x, bits=5, num_bins=128)
    assert r.hi == pytest.approx(_kl_reference(x, 5, 128), rel=1e-12)
    assert r.candidates.size == r.objective.size == 128 - 16 + 1


def test_kl_int8_on_gaussian(heavy):
    r = kl_range(heavy, bits=8)
    assert 2.0 < r.threshold < np.abs(heavy).max()  # clips the outliers, keeps the bulk
    assert r.method == "kl" and r.lo == -r.hi


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_int8_scheme_uses_the_range(heavy, method):
    q = quantize(heavy, f"int8:cal={method}")
    r = calibrate(heavy, method, bits=8)
    assert q.scales == np.float32(r.threshold)
    expect = np.abs(heavy) > r.threshold * (127.5 / 127)  # beyond the top level by half a step
    assert abs(int(q.clipped.sum()) - int(expect.sum())) <= 2
    assert np.all(np.abs(q.dequantize()) <= np.float32(r.threshold) * (1 + 1e-6))


def test_uint_scheme_calibrated(heavy):
    q = quantize(heavy, "uint8:cal=percentile,pct=99")
    r = calibrate(heavy, "percentile", bits=8, symmetric=False, percentile=99)
    assert np.isclose(float(q.scales), (r.hi - r.lo) / 255, rtol=1e-6)
    assert q.n_clipped > 0


def test_errors():
    with pytest.raises(ValueError):
        calibrate([1.0, 2.0], "magic")
    with pytest.raises(ValueError):
        calibrate([1.0, 2.0], "kl", symmetric=False)
    with pytest.raises(ValueError):
        minmax_range([])
    with pytest.raises(ValueError):
        minmax_range([1.0, np.nan])
    with pytest.raises(ValueError):
        percentile_range([1.0], percentile=0)
    with pytest.raises(ValueError):
        mse_range([1.0], bits=1)
    assert mse_range(np.zeros(10)).hi == 0.0 and kl_range(np.zeros(10)).hi == 0.0
