"""GPTQ and AWQ (quantlib.ptq): the fixed grids against the schemes, GPTQ against a loop
transcription of the paper's Algorithm 1, and both against RTN on layers with outlier channels."""

from __future__ import annotations

import numpy as np
import pytest

from quantlib.ptq import ColumnGrid, awq_search, gptq, gptq_grid_problem, hessian, inverse_cholesky, output_error, rtn
from quantlib.schemes import parse_scheme, quantize

GRIDS = [
    "int4:block=32",
    "uint4:block=32",
    "uint3:axis=0",
    "int8:axis=0",
    "int4",
    "nf4:block=32",
    "bnb_fp4:block=32",
    "float4_e2m1fn:scaled,block=32",
    "float8_e4m3fn:scaled,axis=0",
    "float8_e4m3fn",
    "mxfp4",
    "mxfp6_e2m3",
    "mxint8",
]


def _layer(seed, rows=48, cols=128, n=512, outliers=4):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
    x = rng.standard_normal((n, cols)).astype(np.float32)
    x[:, rng.choice(cols, outliers, replace=False)] *= 20  # planted outlier channels
    return w, x


@pytest.mark.parametrize("scheme", GRIDS)
def test_column_grid_is_the_schemes_rounding(scheme):
    rng = np.random.default_rng(1)
    tile = (rng.standard_normal((40, 32)) * np.exp(rng.standard_normal((40, 1)))).astype(np.float32)
    q = quantize(tile, scheme)
    g = ColumnGrid(parse_scheme(scheme), tile)
    deq = q.dequantize()
    for j in range(tile.shape[1]):
        codes, vals, _ = g.encode(tile[:, j])
        np.testing.assert_array_equal(codes, q.codes[:, j])
        np.testing.assert_array_equal(vals, deq[:, j])


def test_column_grid_saturates_beyond_the_fixed_range():
    tile = np.array([[0.7, -0.2, 0.1, 0.35]], np.float32)
    g = ColumnGrid(parse_scheme("int4:block=4"), tile)
    codes, vals, clipped = g.encode(np.array([0.9], np.float32))
    assert codes[0] == 7 and vals[0] == np.float32(0.7) and clipped[0]


def _algorithm1(w, h, scheme, damp=0.01):
    """Algorithm 1 of the GPTQ paper, column by column, every update applied at once (float64);
    a group's scales are fixed from its current values when its first column comes."""
    s = parse_scheme(scheme)
    W = np.asarray(w, np.float64).copy()
    U, _ = inverse_cholesky(np.asarray(h, np.float64), damp)
    rows, cols = W.shape
    g = s.granularity
    width = getattr(g, "size", cols)
    codes = np.zeros((rows, cols), np.int64)
    Q = np.zeros_like(W)
    grid = None
    for j in range(cols):
        if j % width == 0:
            grid = ColumnGrid(s, W[:, j : j + width])
        c, q, _ = grid.encode(W[:, j])
        codes[:, j], Q[:, j] = c, q
        e = (W[:, j] - q) / U[j, j]
        for k in range(j + 1, cols):
            W[:, k] -= e * U[j, k]
    return codes, Q


@pytest.mark.parametrize("scheme", ["int4:block=32", "uint3:block=32", "nf4:block=32", "int4:axis=0", "mxfp4"])
def test_gptq_matches_a_loop_transcription_of_algorithm_1(scheme):
    w, x = _layer(2, rows=24, cols=96, n=256)
    h = hessian(x)
    ref_codes, ref_q = _algorithm1(w, h, scheme)
    r = gptq(w.astype(np.float64), h, scheme, block=64, dtype=np.float64)
    np.testing.assert_array_equal(r.quantized.codes.astype(np.int64), ref_codes)
    np.testing.assert_allclose(r.weight, ref_q.astype(np.float32), rtol=0, atol=0)


@pytest.mark.parametrize("scheme", ["int4:block=64", "uint3:block=64", "nf4:block=64", "mxfp4", "int8:axis=0", "uint3:block=32"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gptq_and_awq_beat_rtn_on_outlier_layers(scheme, seed):
    w, x = _layer(seed)
    h = hessian(x)
    r_rtn = output_error(w, rtn(w, scheme), h)
    for act_order in (False, True):
        r = gptq(w, h, scheme, act_order=act_order)
        assert output_error(w, r.weight, h) <= r_rtn
        np.testing.assert_array_equal(r.quantized.dequantize(), r.weight)
        assert r.quantized.total_bits == quantize(w, scheme).total_bits
    a = awq_search([w], x, scheme, max_tokens=None)
    assert a.errors[0] == pytest.approx(float(np.mean((x @ rtn(w, scheme).T - x @ w.T).astype(np.float64) ** 2)), rel=1e-6)
    assert a.error <= a.rtn_error


def test_gptq_refuses_grids_it_cannot_fix():
    assert gptq_grid_problem("nf4:block=64,dq") is not None
    assert gptq_grid_problem("q4_k") is not None
    assert "multiple" in gptq_grid_problem("int4:block=128", (8, 576))
    with pytest.raises(ValueError, match="double quantization"):
        gptq(np.ones((2, 64), np.float32), np.eye(64), "nf4:block=64,dq")


def test_trace_state_ends_at_the_quantized_matrix():
    w, x = _layer(3, rows=16, cols=64, n=256)
    h = hessian(x)
    r = gptq(w, h, "int4:block=32", trace=True, act_order=True)
    t = r.trace
    np.testing.assert_allclose(t.state(64), r.weight, atol=0)
    np.testing.assert_allclose(t.state(0), w, atol=0)
    assert t.pushed(0).shape == (16, 63)


@pytest.mark.parametrize("n", [3, 300, 700])
def test_inverse_cholesky_is_the_references_factor(n):
    """U equals the reference's route (invert H + lambda I, then its upper Cholesky factor),
    also past the size where :func:`lower_inverse` splits the matrix in halves."""
    from quantlib.ptq.gptq import lower_inverse

    rng = np.random.default_rng(n)
    x = rng.standard_normal((2 * n + 5, n))
    h = 2 * x.T @ x
    U, lam = inverse_cholesky(h, 0.01)
    assert lam == pytest.approx(0.01 * np.mean(np.diag(h)))
    ref = np.linalg.cholesky(np.linalg.inv(h + lam * np.eye(n))).T
    np.testing.assert_allclose(U, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    assert np.all(np.tril(U, -1) == 0)
    L = np.linalg.cholesky(h)
    np.testing.assert_allclose(lower_inverse(L, base=64) @ L, np.eye(n), atol=1e-9)
    np.testing.assert_array_equal(lower_inverse(np.array([[2.0, 0], [1, 4]])), [[0.5, 0], [-0.125, 0.25]])
