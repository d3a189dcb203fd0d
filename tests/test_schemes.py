"""quantlib.schemes: every scheme of the registry, hand-worked numbers, oracles, properties.

The codebook family (NF4, bitsandbytes) is in test_schemes_codebook.py, MX and NVFP4 in
test_schemes_microscaling.py, groups and granularity in test_schemes_groups.py.

A new scheme class registered in SCHEMES with ``examples`` is tested by the parametrized
tests below without further work.  bitsandbytes (optional, requirements-bench.txt) and
ml_dtypes are oracles; the tests using them skip when they are missing.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantlib._kernels import Scratch, pack_codes, rint_exact_product
from quantlib.codec import all_values, decode
from quantlib.schemes import (
    MX,
    NF4,
    NVFP4,
    PRESETS,
    SCHEMES,
    AbsmaxInt,
    AsymmetricUInt,
    Binary,
    CodebookQuant,
    FloatCast,
    GGMLQuant,
    LogQuant,
    QuantizedTensor,
    Ternary,
    parse_scheme,
    quantize,
)

EXAMPLES = [ex for cls in SCHEMES.values() for ex in cls.examples]
HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _data(dtype=np.float32, shape=(6, 100), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * rng.uniform(0.5, 2.0, size=shape[:1] + (1,) * (len(shape) - 1))
    x.reshape(-1)[::37] *= 6  # some outliers
    x[x == 0] = 0.25
    return x.astype(dtype)


def _idempotent(s) -> bool:
    """Schemes whose codes survive a second quantization of their own output."""
    if isinstance(s, (AsymmetricUInt, NVFP4)):
        return False  # the range / tensor scale is recomputed from the dequantized values
    if isinstance(s, MX):
        return s.scale_rounding == "floor"
    if isinstance(s, AbsmaxInt):
        return s.calibration == "minmax"
    if isinstance(s, (Binary, Ternary)):
        return False  # mean(|x~|) is a float sum: checked on the codes instead
    if getattr(s, "double_quant", False):
        return False  # the reconstructed absmaxes differ from the exact ones
    if isinstance(s, GGMLQuant):
        return not s.type.endswith("_k")  # the k-quants search each sub-block's scale and min again
    if isinstance(s, FloatCast):
        return s.rounding.startswith("nearest") or s.rounding == "toward_zero"
    return True


# ====================================================================== registry-wide
@pytest.mark.parametrize("text", EXAMPLES)
def test_string_round_trip(text):
    s = parse_scheme(text)
    assert parse_scheme(str(s)) == s
    assert str(parse_scheme(str(s))) == str(s)
    assert hash(s) == hash(parse_scheme(str(s)))


@pytest.mark.parametrize("text", PRESETS)
def test_presets_are_canonical(text):
    assert str(parse_scheme(text)) == text


@pytest.mark.parametrize("text", EXAMPLES)
@pytest.mark.parametrize("dtype,shape", [(np.float32, (6, 100)), (np.float64, (301,))], ids=["f32-2d", "f64-1d"])
def test_invariants(text, dtype, shape):
    s = parse_scheme(text)
    x = _data(dtype, shape)
    if (getattr(s, "axis", None) or 0) >= len(shape):
        pytest.skip("a per-channel axis beyond a vector's")
    q = quantize(x, s)
    lay = s.layout(x.shape)
    assert isinstance(q, QuantizedTensor)
    assert q.codes.shape == x.shape and q.clipped.shape == x.shape and q.clipped.dtype == bool
    if q.scales is not None:
        assert q.scales.shape == lay.scale_shape
    # codes within range: the stored fields fit in code_bits
    fields = np.asarray(s._fields(q.codes)).astype(np.int64)
    assert fields.min() >= 0 and fields.max() < 2**s.code_bits
    # payload bytes and exact bit count
    payload = s.code_bits * x.size
    assert q.pack().size == -(-payload // 8)
    assert q.total_bits == payload + s._overhead_bits(lay)
    assert q.bits_per_element == q.total_bits / x.size
    assert q.nbytes == -(-q.total_bits // 8)
    # dequantized values: finite, right dtype, each one a level of its group
    d = q.dequantize()
    assert d.shape == x.shape and d.dtype == q.dtype
    assert np.all(np.isfinite(d))
    if s.code_bits <= 16:
        dg = lay.groups(d)
        for g in range(lay.n_groups):
            vals = dg[g, : lay.counts[g]]
            assert np.all(np.isin(vals, q.levels(g))), f"group {g}: a value is not one of its levels"
    # idempotence: quantizing the dequantized tensor changes nothing
    if _idempotent(s):
        np.testing.assert_array_equal(quantize(d, s).dequantize(), d)
    elif isinstance(s, (Binary, Ternary)):
        np.testing.assert_array_equal(quantize(d, s).codes, q.codes)
    # sign symmetry
    if s.symmetric:
        np.testing.assert_array_equal(quantize(-x, s).dequantize(), -d)


@pytest.mark.parametrize("text", EXAMPLES)
def test_bits_nominal_matches_large_tensor(text):
    s = parse_scheme(text)
    nominal = s.bits_per_element()
    big = (8192, 8192)
    assert abs(s.bits_per_element(big) - nominal) < 0.02


def test_threads_give_identical_results():
    x = _data(np.float32, (4, 1 << 17), seed=3)
    for text in ("nf4:block=64,dq", "int8:block=64", "mxfp4", "uint4:block=32", "int8"):
        a, b = quantize(x, text, threads=1), quantize(x, text, threads=2)
        np.testing.assert_array_equal(a.codes, b.codes)
        np.testing.assert_array_equal(a.scales, b.scales)
        np.testing.assert_array_equal(a.dequantize(threads=1), b.dequantize(threads=2))


# ====================================================================== bad options
@pytest.mark.parametrize(
    "make",
    [
        lambda: NF4(block_size=0),
        lambda: AbsmaxInt(bits=1),
        lambda: AbsmaxInt(bits=17),
        lambda: FloatCast(format="float8_e9m9"),
        lambda: FloatCast(format="bfloat16", block_size=32),
        lambda: AbsmaxInt(bits=8, axis=0, block_size=32),
        lambda: AbsmaxInt(bits=8, block_size=64, calibration="kl"),
        lambda: AbsmaxInt(bits=8, calibration="magic"),
        lambda: AsymmetricUInt(bits=8, calibration="kl"),
        lambda: MX(element="float8_e4m3fnuz"),
        lambda: MX(scale_rounding="nearest"),
        lambda: CodebookQuant(values=(1.0,)),
        lambda: CodebookQuant(values=(0.0, 0.0)),
        lambda: LogQuant(bits=9),
        lambda: Ternary(delta=-1),
        lambda: parse_scheme("int1"),
        lambda: parse_scheme("fp4"),
        lambda: parse_scheme("nf4:blok=64"),
        lambda: parse_scheme("nf4:block=x"),
        lambda: parse_scheme("nf4:block"),
        lambda: parse_scheme("nf4:dq=maybe"),
        lambda: parse_scheme(""),
        lambda: quantize(np.float32([]), "int8"),
        lambda: quantize(np.float32([1, np.nan]), "nf4:block=64"),
        lambda: quantize(np.float32([1, np.inf]), "int8"),
    ],
)
def test_bad_options_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_error_messages_are_clear():
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        NF4(block_size=0)
    with pytest.raises(ValueError, match="binary"):
        AbsmaxInt(bits=1)
    with pytest.raises(ValueError, match="unknown format"):
        FloatCast(format="float8_e9m9")
    with pytest.raises(ValueError, match="unknown option 'blok'"):
        parse_scheme("nf4:blok=64")


# ====================================================================== strings
def test_string_forms():
    assert parse_scheme("nf4:block=64,dq") == NF4(block_size=64, double_quant=True)
    assert str(NF4(block_size=64, double_quant=True)) == "nf4:block=64,dq"
    assert str(NF4()) == "nf4:block=64"
    assert parse_scheme("bf16") == FloatCast(format="bfloat16")
    assert str(parse_scheme("e4m3:scaled")) == "float8_e4m3fn:scaled"
    assert parse_scheme("mxfp8") == MX(element="float8_e4m3fn")
    assert str(MX(element="float4_e2m1fn", scale_rounding="rceil")) == "mxfp4:round=rceil"
    assert parse_scheme("INT4 : block = 128") == AbsmaxInt(bits=4, block_size=128)
    assert parse_scheme("nf4:block_size=32,double_quant=true") == NF4(block_size=32, double_quant=True)
    assert str(CodebookQuant(values=(-2, 0, 2))) == "codebook:block=64,values=-1;0;1"
    assert str(Binary(block_size=64)) == "binary:axis=none,block=64"
    assert str(AbsmaxInt(bits=8, calibration="percentile", percentile=99.9)) == "int8:cal=percentile,pct=99.9"


# ====================================================================== hand-worked numbers
def test_absmax_int_worked():
    q = quantize(np.float32([0.5, -2.0, 0.3, 1.0]), "int8")
    np.testing.assert_array_equal(q.codes, [32, -127, 19, 64])  # 31.75 -> 32, 63.5 -> 64 (even)
    assert q.scales == np.float32(2.0)
    c = np.float32(63.5)
    np.testing.assert_array_equal(q.dequantize(), np.float32([32, -127, 19, 64]) / c)
    assert quantize(np.float32([0, 0]), "int4").dequantize().tolist() == [0, 0]


def test_absmax_int_rounds_the_exact_product():
    """fl32(x * c) can land exactly on k + 0.5 when x * c does not: the kernel redoes those."""
    rng = np.random.default_rng(7)
    c = np.float32(127) / np.float32(1.9)
    k = rng.integers(-126, 126, 200_000)
    x = ((k + 0.5) / np.float64(c)).astype(np.float32)  # products within an ulp of a half
    p32 = x * c
    exact = np.rint(x.astype(np.float64) * np.float64(c))
    false_ties = (np.abs(p32 - np.rint(p32)) == 0.5) & (x.astype(np.float64) * c != np.rint(p32) + 0.5 * np.sign(p32 - np.rint(p32)))
    assert false_ties.any(), "the search found no float32 false tie"
    out = np.empty_like(x)
    rint_exact_product(x, c, out, Scratch())
    np.testing.assert_array_equal(out, exact)
    # end to end, float64 input: Fractions
    xd = np.array([1.9, 0.1, -0.7, 1.3, 0.55])
    qd = quantize(xd, "int8")
    cd = 127 / 1.9
    assert qd.codes.tolist() == [round(Fraction(v) * Fraction(cd)) for v in xd]


def test_asymmetric_worked():
    q = quantize(np.array([-1.0, 3.0, 1.0]), "uint8")
    assert q.scales == 4 / 255 and q.zero_points == 64  # round(63.75)
    assert q.codes.tolist() == [0, 255, 128]
    np.testing.assert_allclose(q.dequantize(), [-64 * 4 / 255, 191 * 4 / 255, 64 * 4 / 255])
    q = quantize(np.array([2.0, 5.0]), "uint8")  # a range without 0 is extended to [0, 5]
    assert q.zero_points == 0 and q.scales == 5 / 255 and q.codes.tolist() == [102, 255]
    q = quantize(np.array([-5.0, -2.0]), "uint8")
    assert q.zero_points == 255 and q.codes.tolist() == [0, 153]


def test_float_cast_worked():
    q = quantize(np.float32([0.1]), "bfloat16")
    assert q.dequantize()[0] == 0.10009765625 and q.codes[0] == 0x3DCD
    x = np.float32([7.0, 0.1, -3.0])
    q = quantize(x, "float8_e4m3fn:scaled")
    assert q.scales == np.float32(7 / 448)
    np.testing.assert_array_equal(q.dequantize(), np.float32([7.0, 0.1015625, -3.0]))
    q = quantize(np.float32([500.0, 1.0]), "float8_e4m3fn:sat")
    assert q.dequantize().tolist() == [448.0, 1.0] and q.clipped.tolist() == [True, False]
    q = quantize(np.float32([500.0]), "float8_e4m3fn")
    assert np.isnan(q.dequantize()[0]) and not q.clipped.any()
    q = quantize(np.float32([464.0, 465.0]), "float8_e4m3fn:sat")  # 464 ties to even 448
    assert q.clipped.tolist() == [False, True]


def test_log_worked():
    q = quantize(np.array([1.0, 0.3, 0.005, 0.7, 0.71, -0.3]), "log4")
    assert q.dequantize().tolist() == [1.0, 0.25, 0.0, 0.5, 1.0, -0.25]
    assert q.scales == 1.0
    assert q.codes.tolist()[:3] == [7, 5, 0] and q.codes[5] == 0b1101


def test_binary_ternary_worked():
    q = quantize(np.array([[0.5, -1.5, 1.0], [2.0, 2.0, -2.0]]), "binary")
    assert q.scales.tolist() == [1.0, 2.0]
    assert q.dequantize().tolist() == [[1, -1, 1], [2, 2, -2]]
    assert q.pack().tolist() == [0b10111000]
    q = quantize(np.array([[1.0, -0.2, 0.6, -2.2]]), "ternary")
    assert q.codes.tolist() == [[1, 0, 0, -1]]
    np.testing.assert_allclose(q.dequantize(), [[1.6, 0, 0, -1.6]])
    assert quantize(np.array([0.5, -1.5, 1.0]), "binary").layout.kind == "tensor"  # a vector is one channel


def test_bits_per_element_exact():
    assert quantize(np.zeros(4096, np.float32), "nf4:block=64").bits_per_element == 4.5
    n = 64 * 256 * 4
    q = quantize(np.ones(n, np.float32), "nf4:block=64,dq")
    assert q.total_bits == 4 * n + 8 * (n // 64) + 32 * 4 + 32
    assert NF4(block_size=64, double_quant=True).bits_per_element() == 4 + 8 / 64 + 32 / (64 * 256)
    assert round(NF4(double_quant=True).bits_per_element(), 3) == 4.127
    assert parse_scheme("mxfp4").bits_per_element() == 4.25
    assert parse_scheme("nvfp4").bits_per_element() == 4.5
    assert parse_scheme("uint4:block=64").bits_per_element() == 4 + 36 / 64
    # padding is not data: 100 elements in blocks of 64 = 2 scales, 100 codes
    assert quantize(np.ones((1, 100), np.float32), "int4:block=64").total_bits == 4 * 100 + 2 * 32


def test_pack_layouts():
    assert pack_codes(np.array([1, 2, 3]), 4, pad=7).tolist() == [0x12, 0x37]
    assert pack_codes(np.array([1, 2, 3]), 3).tolist() == [0b00101001, 0b10000000]
    assert pack_codes(np.array([0x3DCD]), 16).tolist() == [0xCD, 0x3D]
    q = quantize(np.float32([-1, 1, 0.5, -0.25]), "int4")
    assert q.codes.tolist() == [-7, 7, 4, -2] and q.pack().tolist() == [0x97, 0x4E]
    q = quantize(np.float32([1, -1, 0.1]), "ternary")
    assert q.pack().tolist() == [0b01110000]


def test_levels_and_groups():
    x = _data(np.float32, (4, 96))
    q = quantize(x, "int4:block=32")
    assert q.layout.n_groups == 12 and q.scales.shape == (4, 3)
    g = q.group_of((2, 40))
    assert g == 2 * 3 + 1
    lv = q.levels(g)
    assert lv.size == 15 and np.isclose(lv[-1], q.scales[2, 1])
    assert q.scales_per_element()[2, 40] == q.scales[2, 1]
    with pytest.raises(ValueError):
        q.levels(12)


# ====================================================================== properties
finite32 = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@HYP
@given(hnp.arrays(np.float32, st.integers(1, 200), elements=finite32), st.integers(2, 16), st.sampled_from([None, 8, 64]))
def test_absmax_int_error_bound(x, bits, block):
    s = AbsmaxInt(bits=bits, block_size=block)
    q = quantize(x, s)
    d = q.dequantize()
    lay = q.layout
    A = lay.expand(q.scales).astype(np.float64)
    qmax = 2 ** (bits - 1) - 1
    assert np.all(np.abs(q.codes) <= qmax)
    bound = A / qmax * 0.5 * (1 + 1e-6) + np.spacing(np.abs(d).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(d.astype(np.float64) - x) <= bound)
    np.testing.assert_array_equal(quantize(-x, s).codes, -q.codes)


@HYP
@given(hnp.arrays(np.float64, st.integers(1, 100), elements=st.floats(-1e3, 1e3)), st.integers(1, 12))
def test_asymmetric_codes_in_range_and_zero_exact(x, bits):
    q = quantize(np.append(x, 0.0), AsymmetricUInt(bits=bits))
    assert q.codes.min() >= 0 and q.codes.max() <= 2**bits - 1
    assert q.dequantize()[-1] == 0.0  # zero is exactly representable
    step = float(q.scales)
    assert np.all(np.abs(q.dequantize()[:-1] - x)[~q.clipped[:-1]] <= step / 2 * (1 + 1e-9) + 1e-12)


@HYP
@given(hnp.arrays(np.float32, st.integers(1, 64), elements=st.floats(-1e4, 1e4, width=32)), st.integers(2, 8))
def test_log_levels_are_powers_of_two(x, bits):
    q = quantize(x, LogQuant(bits=bits))
    d = q.dequantize()
    nz = d != 0
    m, _ = np.frexp(np.abs(d[nz]))
    assert np.all(m == 0.5)
    assert np.all(np.sign(d[nz]) == np.sign(x[nz]))


def test_all_values_fit_their_levels():
    """Every float format value survives an unscaled cast unchanged (the grid is the codec's)."""
    for name in ("float8_e4m3fn", "float6_e3m2fn", "float4_e2m1fn"):
        v = all_values(name).finite_sorted().astype(np.float32)
        np.testing.assert_array_equal(quantize(v, name).dequantize(), v)


# ---------------------------------------------------------------- dequantize: one rounding
@pytest.mark.parametrize(
    "scheme",
    ["float8_e4m3fn:scaled", "float8_e5m2:scaled", "float8_e4m3fn:scaled,block=32", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4", "mxint8", "nvfp4"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_table_dequantize_is_the_exact_product_rounded_once(scheme, dtype):
    """value(code) x scale (x NVFP4's tensor scale) is exact in float64 for these schemes, so the
    dequantized element must be that product rounded once to the output dtype, whatever tile
    or thread computed it (tiny and huge scales included, so products land in subnormals)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((37, 96)) * np.exp2(rng.integers(-140, 120, size=(37, 1)) if dtype == np.float64 else rng.integers(-120, 100, size=(37, 1)))
    x = x.astype(dtype)
    q = quantize(x, scheme)
    s = parse_scheme(scheme)
    lay = q.layout
    C = lay.groups(q.codes)
    if getattr(s, "is_int", False):
        v = C.astype(np.float64) / 64
    else:
        v = decode(C, s.fmt if hasattr(s, "fmt") else "float4_e2m1fn")
    sc = np.asarray(q.scales, np.float64).reshape(-1, 1) * (q.tensor_scale or 1.0)
    want = lay.ungroup((v * sc).astype(q.dtype))
    got = q.dequantize()
    assert got.dtype == q.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(q.dequantize(threads=1), got)
