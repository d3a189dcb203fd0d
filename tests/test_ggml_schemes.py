"""quantlib.schemes.ggml: llama.cpp's quant types, bit-exact with ggml.

Oracle: the gguf package (gguf-py, a runtime dependency): ``quants.quantize`` for q4_0 ...
q8_0 (our bytes must be its bytes) and ``quants.dequantize`` for every type (our float32
values must be its values, bit for bit, on our own bytes and on arbitrary stored bytes).
gguf has no quantizer for the K types and iq4_nl; for those the bytes are checked for
consistency (decoding them gives our codes, scales and values) and for quality.
"""

from __future__ import annotations

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType  # noqa: E402
from gguf import quants as gq  # noqa: E402

from quantlib.granularity import PerAxis, PerBlock  # noqa: E402
from quantlib.schemes import GGML_PRESETS, GGML_TYPES, SCHEMES, GGMLQuant, from_ggml_bytes, ggml_sub_blocks, parse_scheme, quantize  # noqa: E402
from quantlib.schemes import _ggml_kquants as KQ  # noqa: E402
from quantlib.schemes._ggml_layout import code_values  # noqa: E402

TYPES = list(GGML_TYPES)
LEGACY = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]
KTYPES = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]


def _qt(name):
    return GGMLQuantizationType[name.upper()]


def _bits(a):
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


def _hard(nb_rows=12, seed=0):
    """Rows of 512 (2 super-blocks, 16 blocks of 32) with the cases that break quantizers."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((nb_rows, 512)) * np.exp2(rng.integers(-20, 20, (nb_rows, 1)))
    x[0] = 0.0  # all-zero blocks
    x[1] = 0.75  # constant blocks
    x[2] = np.round(rng.standard_normal(512) * 8) / 4  # ties on every grid
    x[3, :32] = np.arange(-16, 16) * 0.25  # q4_0 on its own grid, max = -4 first
    x[3, 32:64] = np.tile([2.0, -2.0], 16)  # equal |x|: the first one is the max
    x[4] = rng.uniform(0, 1, 512)  # all positive (min > 0)
    x[5] = -rng.uniform(0, 1, 512)  # all negative
    x[6] = rng.standard_normal(512) * 1e-30  # fp16 scales underflow
    x[7] = rng.standard_normal(512) * 1e-41  # float32 subnormals
    x[8, ::3] = 0
    x[8, 7] = 1e4  # one outlier
    x[9] = rng.standard_normal(512) * 1e30  # fp16 scales overflow: inf / NaN values, as in ggml
    x[10, :256] = 0
    x[10, 256:] = rng.laplace(size=256)
    return x.astype(np.float32)


# ====================================================================== registry & bits
@pytest.mark.parametrize("name", TYPES)
def test_string_form_table_and_bits(name):
    s = parse_scheme(name)
    assert s == GGMLQuant(type=name) and str(s) == name and parse_scheme(str(s)) == s
    assert SCHEMES["ggml"] is GGMLQuant and name in GGMLQuant.examples
    t = GGML_TYPES[name]
    qt = _qt(name)
    assert GGML_QUANT_SIZES[qt] == (t.block_size, t.type_size) and int(qt) == t.type_id == s.type_id
    assert s.block_size == t.block_size and s.granularity == PerBlock(t.block_size)
    assert s.bits_per_element() == t.type_size * 8 / t.block_size == t.bits_per_element
    shape = (3, 2 * t.block_size)
    assert s.bits_per_element(shape) == t.bits_per_element
    # a partial last block is stored (and counted) whole
    q = quantize(np.ones((3, t.block_size + 5), np.float32), s)
    assert q.total_bits == 3 * 2 * t.type_size * 8 and q.blocks.shape == (3, 2 * t.type_size)
    assert q.scales.shape == (3, 2) and q.codes.shape == (3, t.block_size + 5)


def test_bits_per_element_values():
    want = {"q4_0": 4.5, "q4_1": 5.0, "q5_0": 5.5, "q5_1": 6.0, "q8_0": 8.5, "q2_k": 2.625, "q3_k": 3.4375, "q4_k": 4.5, "q5_k": 5.5, "q6_k": 6.5625, "iq4_nl": 4.5}
    assert {n: parse_scheme(n).bits_per_element() for n in TYPES} == want
    assert set(GGML_PRESETS) <= set(TYPES)


def test_bad_options():
    with pytest.raises(ValueError, match="blocks of 256 elements"):
        GGMLQuant(type="q4_k", block_size=32)
    with pytest.raises(ValueError, match="unknown ggml type"):
        GGMLQuant(type="q7_k")
    with pytest.raises(ValueError, match="unknown option 'block'"):
        parse_scheme("q4_k:block=256")
    with pytest.raises(ValueError, match="blocks of 32"):
        parse_scheme("q8_0").with_granularity(PerBlock(64))
    with pytest.raises(ValueError, match="PerBlock granularity only"):
        parse_scheme("q4_0").with_granularity(PerAxis(0))
    assert parse_scheme("q4_0").with_granularity(PerBlock(32)) == parse_scheme("q4_0")
    with pytest.raises(ValueError, match="ggml types"):
        parse_scheme("q9_0")
    for bad in (np.float32([1, np.nan]), np.float32([np.inf, 0])):
        with pytest.raises(ValueError, match="NaN or inf"):
            quantize(bad, "q4_k")
    with pytest.raises(ValueError, match="float32's range"):
        quantize(np.array([1e300, 0.0]), "q8_0")


# ====================================================================== bytes and values
@pytest.mark.parametrize("name", LEGACY)
def test_legacy_bytes_equal_gguf_quantize(name):
    x = _hard()
    with np.errstate(all="ignore"):
        want = gq.quantize(x, _qt(name))
    q = quantize(x, name)
    assert q.blocks.dtype == np.uint8 and q.blocks.shape == want.shape
    np.testing.assert_array_equal(q.blocks, want)


@pytest.mark.parametrize("name", TYPES)
def test_dequantize_is_gguf_dequantize_bit_for_bit(name):
    x = _hard(seed=1)
    q = quantize(x, name)
    with np.errstate(all="ignore"):
        want = gq.dequantize(q.blocks, _qt(name))
    got = q.dequantize()
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))
    np.testing.assert_array_equal(_bits(q.dequantize(threads=2)), _bits(got))


@pytest.mark.parametrize("name", TYPES)
def test_codes_scales_and_bytes_agree(name):
    """What the quantizer reports is what the bytes say (codes, d); zero padding is stored."""
    t = GGML_TYPES[name]
    x = _hard(seed=2)[:, : 2 * t.block_size - 7]  # a partial last block per row
    q = quantize(x, name)
    r = from_ggml_bytes(name, q.blocks, x.shape)
    np.testing.assert_array_equal(r.codes, q.codes)
    np.testing.assert_array_equal(r.scales, q.scales)
    np.testing.assert_array_equal(_bits(r.dequantize()), _bits(q.dequantize()))
    with np.errstate(all="ignore"):
        want = gq.dequantize(q.blocks, _qt(name))[:, : x.shape[1]]
    np.testing.assert_array_equal(_bits(q.dequantize()), _bits(want))
    f = np.asarray(q.scheme._fields(q.codes))
    assert f.min() >= 0 and f.max() < 2**t.bits and q.clipped.shape == x.shape
    assert q.codes.dtype == (np.int8 if name == "q8_0" else np.uint8)


@pytest.mark.parametrize("name", TYPES)
def test_stored_bytes_decode_as_gguf_does(name):
    """Arbitrary stored blocks (finite fp16 scales) read by from_ggml_bytes: gguf's values."""
    t = GGML_TYPES[name]
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 256, (6, 3 * t.type_size), dtype=np.uint8)
    q = from_ggml_bytes(name, raw, (6, 3 * t.block_size))
    with np.errstate(all="ignore"):
        want = gq.dequantize(raw, _qt(name))
        got = q.dequantize()
    np.testing.assert_array_equal(_bits(got), _bits(want))
    np.testing.assert_array_equal(q.blocks, raw)
    # every finite value of a block is one of its levels
    for g in (0, 7, 17):
        v = q.group_elements(got, g)
        lv = q.levels(g)
        assert np.all(np.isin(v[np.isfinite(v)], lv))
    # the sub-block view: scale * (code - offset) - min
    mul, sub = ggml_sub_blocks(q)
    assert mul.shape == (6, 3, t.block_size // t.sub_block)
    assert from_ggml_bytes(name, raw.tobytes(), (6, 3 * t.block_size)).blocks.shape == raw.shape
    with pytest.raises(ValueError, match="bytes"):
        from_ggml_bytes(name, raw[:, :-1], (6, 3 * t.block_size))


@pytest.mark.parametrize("name", TYPES)
def test_sub_blocks_give_the_values(name):
    t = GGML_TYPES[name]
    x = np.random.default_rng(4).standard_normal((4, 512)).astype(np.float32)
    q = quantize(x, name)
    mul, sub = ggml_sub_blocks(q)
    n_sub = t.block_size // t.sub_block
    c = q.codes.reshape(4, -1, n_sub, t.sub_block).astype(np.int64)
    table = code_values(name)
    idx = c + 128 if name == "q8_0" else c
    v = table[idx] * mul[..., None] - sub[..., None]
    np.testing.assert_array_equal(_bits(v.reshape(x.shape)), _bits(q.dequantize()))


# ====================================================================== worked numbers & properties
def test_worked_q4_0_and_q8_0():
    x = np.concatenate([np.arange(-8, 8), np.arange(-8, 8)]).astype(np.float32) * 0.25  # max = -2 first: d = 0.25
    q = quantize(x, "q4_0")
    assert q.scales.tolist() == [0.25] and q.codes.tolist() == list(range(16)) * 2
    np.testing.assert_array_equal(q.dequantize(), x)
    assert q.blocks.tobytes() == np.float16(0.25).tobytes() + bytes(16 * i + i for i in range(16))
    q = quantize(np.float32([127, -63.5, 0.5, 1.5] + [0] * 28), "q8_0")  # d = 1; roundf: half away
    assert q.codes[:4].tolist() == [127, -64, 1, 2] and q.dequantize()[:4].tolist() == [127, -64, 1, 2]


@pytest.mark.parametrize("name", ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "iq4_nl"])
def test_values_on_the_grid_survive_requantization(name):
    """Quantizing the dequantized tensor again gives it back (true for these types; the
    K types re-fit their scales and mins and need not)."""
    x = np.random.default_rng(5).standard_normal((64, 256)).astype(np.float32)
    d = quantize(x, name).dequantize()
    np.testing.assert_array_equal(quantize(d, name).dequantize(), d)


def test_only_q8_0_is_symmetric():
    x = np.random.default_rng(6).standard_normal((8, 64)).astype(np.float32)
    assert [n for n in TYPES if parse_scheme(n).symmetric] == ["q8_0"]
    np.testing.assert_array_equal(quantize(-x, "q8_0").dequantize(), -quantize(x, "q8_0").dequantize())


def test_error_ordering_on_gaussian_data():
    x = np.random.default_rng(7).standard_normal((64, 1024)).astype(np.float32)
    rms = {n: float(np.sqrt(np.mean((quantize(x, n).dequantize() - x) ** 2))) for n in TYPES}
    assert rms["q2_k"] > rms["q3_k"] > rms["q4_k"] > rms["q5_k"] > rms["q6_k"] > rms["q8_0"]
    assert rms["q4_k"] < rms["q4_0"] and rms["q5_k"] < rms["q5_0"] and rms["q4_1"] < rms["q4_0"]
    assert rms["iq4_nl"] < rms["q4_0"]
    assert rms["q8_0"] < 0.01 and rms["q2_k"] < 0.45


def test_threads_give_identical_bytes():
    x = np.random.default_rng(8).standard_normal((4, 1 << 17)).astype(np.float32)
    for name in ("q4_k", "q3_k", "iq4_nl"):
        a, b = quantize(x, name, threads=1), quantize(x, name, threads=2)
        np.testing.assert_array_equal(a.blocks, b.blocks)
        np.testing.assert_array_equal(a.clipped, b.clipped)


def test_float64_input_is_rounded_to_float32_first():
    x = np.random.default_rng(9).standard_normal((3, 256))
    for name in ("q4_k", "q5_0"):
        np.testing.assert_array_equal(quantize(x, name).blocks, quantize(x.astype(np.float32), name).blocks)


# ====================================================================== the C arithmetic helpers
def test_nearest_int_is_the_magic_number_trick():
    f = np.float32([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, 3.7, -3.7, 4194303.0, -4194304.0, 5e6, -1e9, 1e30])
    v = (f + np.float32(12582912.0)).view(np.int32)
    np.testing.assert_array_equal(KQ._nearest_int(f), (v & 0x7FFFFF) - 0x400000)
    assert KQ._nearest_int(f[:8]).tolist() == [0, 2, 2, 0, -2, 0, 4, -4]
    for lo, hi in ((0, 15), (-32, 31)):
        want = np.clip(KQ._nearest_int(f), lo, hi).astype(np.float32)
        np.testing.assert_array_equal(KQ._nearest_inplace(f.copy(), lo, hi), want)
        np.testing.assert_array_equal(KQ._nearest_inplace(f[:8].copy(), lo, hi, True), want[:8])


def test_seqsum_is_a_sequential_float32_sum():
    rng = np.random.default_rng(10)
    for n in (16, 32):
        T = (rng.standard_normal((n, 4096)) * np.exp2(rng.integers(-20, 20, (n, 4096)))).astype(np.float32)
        s = np.float32(0) + T[0]
        for i in range(1, n):
            s = s + T[i]
        np.testing.assert_array_equal(KQ._seqsum(T), s)


def test_save_quantized_keeps_the_ggml_blocks():
    """A download of a llama.cpp-type result holds its exact bytes, so it can be dequantized again."""
    from quantlib.schemes import from_ggml_bytes
    from quantlib.tensorio import load_tensors, save_quantized

    x = np.random.default_rng(5).standard_normal((4, 256)).astype(np.float32)
    q = quantize(x, "q4_k")
    data = save_quantized(q, source="x")
    back = load_tensors(data, select=["tensor.ggml_blocks"])
    loaded = back["tensor.ggml_blocks"] if isinstance(back, dict) else back[0]
    arr = np.asarray(loaded.array).astype(np.uint8)  # read back as float32: bytes 0..255 are exact
    np.testing.assert_array_equal(arr, q.blocks)
    np.testing.assert_array_equal(from_ggml_bytes("q4_k", arr, x.shape).dequantize(), q.dequantize())
