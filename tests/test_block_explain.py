"""quantlib.schemes.explain.block_explain: one block through the scheme's formula gives back the
scheme's own codes and dequantized values bit for bit, for every explained family, and the worked
numbers the Tensor Lab prints (int8 absmax 2.54 -> c = 50, uint's zero point, NF4's level, MX's
shared exponent, NVFP4's two scales)."""

from __future__ import annotations

import numpy as np
import pytest

from quantlib import quantize
from quantlib.codebooks import NF4_CODEBOOK
from quantlib.schemes import SCHEMES
from quantlib.schemes.explain import EXPLAINED_FAMILIES, block_explain


def _tensor(dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 100)) * np.exp(rng.standard_normal((4, 1)))
    x[1, 3] = 9.0  # an outlier
    x[2, :40] = 0.0  # a block of zeros
    return x.astype(dtype)


CASES = [(fam, ex) for fam in EXPLAINED_FAMILIES for ex in SCHEMES[fam].examples]


@pytest.mark.parametrize(("family", "scheme"), CASES, ids=[c[1] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_explained_block_is_the_schemes_block_bit_for_bit(family, scheme, dtype):
    x = _tensor(dtype)
    q = quantize(x, scheme)
    deq = q.dequantize()
    for g in range(q.layout.n_groups):
        be = block_explain(q, x, g)
        assert be.family == family
        ref = q.layout.group_elements(deq, g)
        assert be.deq.dtype == ref.dtype
        assert be.deq.tobytes() == ref.tobytes(), (scheme, g)
        assert np.array_equal(be.codes, q.layout.group_elements(q.codes, g).astype(np.int64))
        err = np.abs(be.error)
        assert err[be.worst] == err.max()


def test_every_family_but_ggml_is_explained():
    assert set(EXPLAINED_FAMILIES) == set(SCHEMES) - {"ggml"}
    x = _tensor(np.float32)
    with pytest.raises(ValueError, match="ggml"):
        block_explain(quantize(x, "q8_0"), x, 0)


def test_limit_keeps_the_first_values_and_the_blocks_scale():
    x = _tensor(np.float32)
    q = quantize(x, "int8")
    be = block_explain(q, x, 0, limit=10)
    assert be.x.size == 10 and be.size == x.size
    assert be.numbers["absmax"] == pytest.approx(9.0)


def test_int8_worked_number():
    x = np.float32([2.54, 1.0, -0.5, 0.3])
    be = block_explain(quantize(x, "int8"), x, 0)
    n = be.numbers
    assert n["qmax"] == 127 and n["c"] == 50.0
    assert be.codes.tolist() == [127, 50, -25, 15]
    assert be.scaled[1] == pytest.approx(50.0)
    assert be.deq[3] == np.float32(15 / np.float32(50.0))
    assert be.worst == int(np.argmax(np.abs(be.error)))


def test_uint_zero_point_worked_number():
    x = np.float32([-1.0, 3.0, 1.0])
    be = block_explain(quantize(x, "uint8"), x, 0)
    n = be.numbers
    assert (n["lo"], n["hi"], n["qmax"]) == (-1.0, 3.0, 255)
    assert n["scale"] == pytest.approx(4 / 255) and n["c"] == pytest.approx(255 / 4)
    assert n["z"] == 64  # round(63.75)
    assert be.codes.tolist() == [0, 255, 128]
    assert be.values.tolist() == [-64, 191, 64]


def test_nf4_level_and_double_quant_bits():
    x = np.zeros(64, np.float32)
    x[0], x[1] = 2.0, 1.0
    be = block_explain(quantize(x, "nf4:block=64"), x, 0)
    assert be.numbers["c"] == 0.5 and be.numbers["absmax"] == 2.0
    assert be.codes[1] == 12 and be.values[1] == pytest.approx(0.44070982933044434)
    assert be.deq[1] == np.float32(0.8814196586608887)
    assert be.numbers["bits_no_dq"] == 4.5
    assert be.numbers["bits_dq"] == pytest.approx(4 + 8 / 64 + 32 / (64 * 256))
    assert np.array_equal(be.numbers["levels"], NF4_CODEBOOK.array.astype(np.float64))
    dq = block_explain(quantize(np.tile(x, 4), "nf4:block=64,dq"), np.tile(x, 4), 0)
    assert dq.numbers["bits"] == pytest.approx(4.127, abs=1e-3) and "dq_code" in dq.numbers


def test_mx_shared_exponent():
    x = np.zeros(32, np.float32)
    x[0], x[1] = 7.0, 2.5
    be = block_explain(quantize(x, "mxfp4"), x, 0)
    n = be.numbers
    assert (n["floor_log2"], n["emax"], n["e"], n["scale"], n["scale_code"]) == (2, 2, 0, 1.0, 127)
    assert be.deq[0] == 6.0  # 7 saturates to E2M1's max
    m8 = block_explain(quantize(x, "mxfp8_e4m3"), x, 0).numbers
    assert (m8["emax"], m8["e"]) == (8, -6)


def test_nvfp4_two_scales():
    x = np.zeros(32, np.float32)
    x[0], x[1], x[16] = 2688.0, 1000.0, 6.0
    be = block_explain(quantize(x, "nvfp4"), x, 1)
    n = be.numbers
    assert n["tensor_amax"] == 2688.0 and n["s_t"] == 1.0  # 2688 / (448 * 6)
    assert n["absmax"] == 6.0 and n["s_b"] == 1.0 and n["s_b_code"] == 0x38
    assert be.deq[0] == 6.0


def test_float_cast_scale_and_neighbours():
    x = np.float32([7.0, 0.1, -3.0])
    be = block_explain(quantize(x, "float8_e4m3fn:scaled"), x, 0)
    n = be.numbers
    assert n["scale"] == 0.015625 and n["absmax"] == 7.0
    assert be.scaled[1] == pytest.approx(6.4, rel=1e-6) and be.values[1] == 6.5
    w = be.scaled[be.worst]
    assert n["below"] <= w <= n["above"]
    plain = block_explain(quantize(np.float32([0.1]), "bfloat16"), np.float32([0.1]), 0)
    assert plain.values[0] == 0.10009765625 and "scale" not in plain.numbers
