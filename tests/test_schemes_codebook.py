"""quantlib.schemes.codebook: NF4, bitsandbytes FP4, user codebooks and double quantization:
hand-worked numbers, the tables, bitsandbytes as an oracle (skipped without it), properties."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantlib import codebooks as cbk
from quantlib.schemes import NF4, BnbFP4, double_quantize, parse_scheme, quantize

HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite32 = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


# ====================================================================== hand-worked numbers
def test_nf4_worked():
    x = np.zeros(64, np.float32)
    x[0], x[1], x[2] = 2.0, 1.0, -2.0
    q = quantize(x, "nf4:block=64")
    assert q.codes[:3].tolist() == [15, 12, 0] and q.codes[3] == 7  # s = 0.5 < midpoint 0.50166
    assert q.scales.tolist() == [2.0]
    assert q.dequantize()[1] == np.float32(0.44070982933044434 * 2)
    assert q.bits_per_element == 4.5


def test_nf4_ties_go_to_the_lower_code():
    cb = cbk.NF4_CODEBOOK
    m = cb.midpoints
    x = np.concatenate([[1.0], m]).astype(np.float32)  # absmax 1: s == x exactly
    q = quantize(x, "nf4:block=none")
    assert q.codes[1:].tolist() == list(range(15))
    above = np.nextafter(m, np.float32(2))
    q = quantize(np.concatenate([[1.0], above]).astype(np.float32), "nf4:block=none")
    assert q.codes[1:].tolist() == list(range(1, 16))


def test_bnb_fp4_worked():
    q = quantize(np.float32([1.0, 0.3, 1e-3, -1e-3, 0.0, -1.0]), "bnb_fp4:block=none")
    assert q.codes.tolist() == [3, 4, 8, 0, 0, 11]
    assert np.isin(q.dequantize(), cbk.BNB_FP4_CODEBOOK.array).all()


def test_codebook_worked():
    s = parse_scheme("codebook:values=-2;-1;0;1;2,block=4")
    assert s.values == (-1.0, -0.5, 0.0, 0.5, 1.0) and s.code_bits == 3
    q = quantize(np.float32([4, 1.1, -0.9, -1.1]), s)  # s = [1, 0.275, -0.225, -0.275]
    assert q.codes.tolist() == [4, 3, 2, 1]
    np.testing.assert_array_equal(q.dequantize(), [4, 2, 0, -2])


# ====================================================================== NF4 tables
def test_nf4_table_and_build():
    t = cbk.NF4_CODEBOOK.array
    assert t.size == 16 and t[0] == -1 and t[7] == 0 and t[15] == 1 and np.all(np.diff(t) > 0)
    built = cbk.build_nf4()
    drift = np.abs(built.astype(np.float32) - t).max()
    assert 0 < drift <= 9e-8  # the typed table, not a regeneration
    assert np.abs(built - t).max() < 1.1e-7
    sym = cbk.build_nf4(use_extra_value=False)
    assert sym.size == 15 and np.allclose(sym, -sym[::-1])
    with pytest.raises(ValueError):
        cbk.build_nf4(1.5)


def test_normal_quantile_is_accurate():
    """statistics.NormalDist.inv_cdf (used by build_nf4) against Newton on math.erfc."""
    from statistics import NormalDist

    for p in (0.9677083, 0.9, 0.75, 0.5625, 0.51):
        z = NormalDist().inv_cdf(p)
        for _ in range(3):
            f = 0.5 * math.erfc(-z / math.sqrt(2)) - p
            z -= f / (math.exp(-z * z / 2) / math.sqrt(2 * math.pi))
        assert abs(NormalDist().inv_cdf(p) - z) < 1e-14


def test_dynamic_map():
    d = cbk.DYNAMIC_MAP
    assert d.size == 256 and np.all(np.diff(d) > 0) and (d == 0).sum() == 1
    assert d[-1] == 1.0 and d[0] == np.float32(-0.99296874)
    assert cbk.bnb_cpu_codes(np.float32([1.0, -1.0])).tolist() == [255, 0]
    z = cbk.bnb_cpu_codes(np.float32([0.0]))[0]  # the table's bin at 0 is 3e-5 wide: a tiny positive code
    assert 0 < d[z] < 3e-5 and cbk.nearest_dynamic(np.float32([0.0]))[0] == np.flatnonzero(d == 0)[0]
    s = np.random.default_rng(2).uniform(-1, 1, 50_000).astype(np.float32)
    near = cbk.nearest_dynamic(s)
    lut = cbk.bnb_cpu_codes(s)
    assert (near != lut).mean() < 0.01  # the 65536-bin table is nearly the nearest code
    dist = np.abs(s - d[near])
    assert np.all(dist <= np.abs(s - d[lut]))


def test_double_quant_state():
    a = np.abs(np.random.default_rng(4).standard_normal(1000)).astype(np.float32) + 0.1
    st_ = double_quantize(a)
    assert st_.codes.shape == a.shape and st_.absmax.shape == (4,)
    assert st_.offset == np.float32(a.astype(np.float64).mean())
    rec = st_.dequantize()
    assert np.abs(rec - a).max() < 0.02 * a.max()
    near = double_quantize(a, rule="nearest").dequantize()
    assert np.abs(near - a).max() <= np.abs(rec - a).max() + 1e-6
    with pytest.raises(ValueError):
        double_quantize(a, rule="closest")


# ====================================================================== bitsandbytes oracle
@pytest.fixture(scope="module")
def bnb():
    F = pytest.importorskip("bitsandbytes.functional")
    torch = pytest.importorskip("torch")
    return F, torch


@pytest.mark.parametrize("quant_type,cls", [("nf4", NF4), ("fp4", BnbFP4)])
@pytest.mark.parametrize("dq", [False, True], ids=["plain", "dq"])
@pytest.mark.parametrize("shape", [(64 * 600 + 37,), (48, 512)], ids=["1d-tail", "2d"])
@pytest.mark.parametrize("block", [64, 128])
def test_matches_bitsandbytes(bnb, quant_type, cls, dq, shape, block):
    F, torch = bnb
    rng = np.random.default_rng(zlib.crc32(repr((quant_type, dq, shape, block)).encode()))
    x = (rng.standard_normal(shape) * rng.uniform(0.01, 20)).astype(np.float32)
    packed, state = F.quantize_4bit(torch.from_numpy(x), blocksize=block, quant_type=quant_type, compress_statistics=dq)
    q = quantize(x, cls(block_size=block, double_quant=dq))
    np.testing.assert_array_equal(q.pack(), packed.numpy().reshape(-1))  # the codes, as stored
    if not dq:
        np.testing.assert_array_equal(q.scales.reshape(-1), state.absmax.numpy())
        np.testing.assert_array_equal(q.dequantize().reshape(-1), F.dequantize_4bit(packed, state).numpy().reshape(-1))
    else:
        off = state.offset.item()
        assert abs(q.double_quant.offset - off) <= 4 * np.spacing(np.float32(off))  # torch sums in float32
        ours = double_quantize(q.double_quant.original, offset=off)
        np.testing.assert_array_equal(ours.codes.reshape(-1), state.absmax.numpy())
        np.testing.assert_array_equal(ours.absmax, state.state2.absmax.numpy())
        np.testing.assert_array_equal(ours.dequantize().reshape(-1), F.dequantize_blockwise(state.absmax, state.state2).numpy() + np.float32(off))


def test_bitsandbytes_ties_and_tables(bnb):
    F, torch = bnb
    np.testing.assert_array_equal(cbk.NF4_CODEBOOK.array, F.get_4bit_type("nf4", device="cpu").numpy())
    np.testing.assert_array_equal(cbk.BNB_FP4_CODEBOOK.array, F.get_4bit_type("fp4", device="cpu").numpy())
    np.testing.assert_array_equal(cbk.DYNAMIC_MAP, F.create_dynamic_map().numpy())
    for cls, cb, qt in ((NF4, cbk.NF4_CODEBOOK, "nf4"), (BnbFP4, cbk.BNB_FP4_CODEBOOK, "fp4")):
        m = cb.midpoints
        x = np.concatenate([[1.0], m, -m, np.nextafter(m, 2), np.nextafter(m, -2), [0.0, 1e-3, -1e-3]]).astype(np.float32)
        x = np.concatenate([x, np.zeros(-x.size % 64, np.float32)])
        packed, _ = F.quantize_4bit(torch.from_numpy(x), blocksize=64, quant_type=qt)
        np.testing.assert_array_equal(quantize(x, cls(block_size=64)).pack(), packed.numpy().reshape(-1))


# ====================================================================== properties
@HYP
@given(hnp.arrays(np.float32, st.integers(1, 130), elements=finite32), st.sampled_from(["nf4:block=64", "bnb_fp4:block=32", "nf4:block=none"]))
def test_codebook_error_bound(x, text):
    q = quantize(x, text)
    s = parse_scheme(text)
    half_gap = float(np.max(np.diff(s.codebook.sorted_values))) / 2
    A = q.layout.expand(q.scales).astype(np.float64)
    assert np.all(np.abs(q.dequantize() - x.astype(np.float64)) <= A * (half_gap + 1e-6))
    np.testing.assert_array_equal(quantize(q.dequantize(), s).dequantize(), q.dequantize())


@pytest.mark.parametrize("text", ["nf4:block=64", "bnb_fp4:block=64", "nf4:block=none"])
def test_codebook_block_of_subnormals_is_divided_by_its_own_absmax(text):
    """bitsandbytes clamps absmax at 1e-38, so a block of subnormals would all become code 0
    while its absmax is stored as is; here the block's largest value comes back exactly."""
    x = np.float32([1.12e-43, -3e-44, 0.0])
    q = quantize(x, text)
    d = q.dequantize()
    assert d[0] == x[0]
    assert d[1] < 0 and d[2] == 0
