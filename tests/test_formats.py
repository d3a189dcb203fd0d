"""FloatFormat: identities, limits against numpy/ml_dtypes, golden values, registry."""

from fractions import Fraction

import numpy as np
import pytest

from quantlib import ALIASES, FORMATS, FloatFormat, get_format
from quantlib.codec import all_values, encode

ml_dtypes = pytest.importorskip("ml_dtypes")

ALL = list(FORMATS.values())
IDS = [f.name for f in ALL]
SMALL = [f for f in ALL if f.bits <= 16]


def oracle_finfo(fmt: FloatFormat):
    if fmt.name in ("float16", "float32", "float64"):
        return np.finfo(fmt.name)
    if hasattr(ml_dtypes, fmt.name):
        return ml_dtypes.finfo(getattr(ml_dtypes, fmt.name))
    return None


@pytest.mark.parametrize("fmt", ALL, ids=IDS)
def test_identities(fmt):
    assert fmt.bits == int(fmt.signed) + fmt.nexp + fmt.nmant
    assert fmt.eps == 2.0**fmt.machep
    assert fmt.epsneg == 2.0**fmt.negep
    assert fmt.smallest_normal == 2.0**fmt.minexp
    assert fmt.max_exact < Fraction(2) ** fmt.maxexp <= 2 * fmt.max_exact
    assert fmt.resolution == 10.0**-fmt.precision
    assert fmt.num_finite_values <= fmt.num_finite_codes <= 2**fmt.bits
    # half the smallest subnormal rounds to zero (ties to even) where a zero exists
    half = float(fmt.smallest_subnormal_exact / 2)
    code = int(encode(half, fmt))
    if fmt.has_zero:
        assert code == 0
    else:
        assert code == 0 and fmt.exact_value(0) == fmt.smallest_subnormal_exact
    # the next power of two above max overflows as the convention says
    over = int(encode(2.0**fmt.maxexp, fmt)) if fmt.maxexp < 1024 else None
    if over is not None:
        if fmt.nonfinite == "ieee":
            assert over == fmt.inf_code
        elif fmt.nonfinite in ("fn", "fnuz"):
            assert fmt.is_nan_code(over)
        else:
            assert over == fmt.max_code


@pytest.mark.parametrize("fmt", ALL, ids=IDS)
def test_limits_match_numpy_and_ml_dtypes(fmt):
    fi = oracle_finfo(fmt)
    if fi is None:
        pytest.skip(f"{fmt.name} has no numpy/ml_dtypes finfo (tested by golden values)")
    for attr in ("bits", "nexp", "nmant", "minexp", "maxexp", "machep", "negep"):
        assert getattr(fmt, attr) == int(getattr(fi, attr)), attr
    for attr in ("max", "min", "smallest_normal", "smallest_subnormal", "eps", "epsneg"):
        assert getattr(fmt, attr) == float(getattr(fi, attr)), attr
    if fmt.name in ("float16", "float32", "float64"):
        assert fmt.precision == fi.precision
        assert float(np.dtype(fmt.name).type(fmt.resolution)) == float(fi.resolution)


@pytest.mark.parametrize("fmt", SMALL, ids=[f.name for f in SMALL])
def test_counts_match_enumeration(fmt):
    t = all_values(fmt)
    finite = np.isfinite(t.values)
    assert finite.sum() == fmt.num_finite_codes
    assert len(np.unique(t.values[finite])) == fmt.num_finite_values
    assert np.isinf(t.values).any() == fmt.has_inf
    assert np.isnan(t.values).any() == fmt.has_nan
    assert np.isnan(t.values).sum() == fmt.num_nan_codes
    assert bool((finite & (t.values == 0) & np.signbit(t.values)).any()) == fmt.has_negative_zero
    assert np.nanmax(t.values[finite]) == fmt.max
    pos = t.values[finite & (t.values > 0)]
    assert pos.min() == fmt.smallest_subnormal


# Golden values, each with its source.
GOLDEN = [
    # name, bits, max, smallest_normal, smallest_subnormal, finite values, source
    ("float8_e4m3fn", 8, 448.0, 2.0**-6, 2.0**-9, 253, "OCP 8-bit FP spec v1.0, Table 1 (E4M3: max 448)"),
    ("float8_e5m2", 8, 57344.0, 2.0**-14, 2.0**-16, 247, "OCP 8-bit FP spec v1.0, Table 1 (E5M2: max 57344)"),
    ("float8_e4m3fnuz", 8, 240.0, 2.0**-7, 2.0**-10, 255, "Graphcore/AMD FP8 (arXiv 2206.02915): bias 8, max 240"),
    ("float8_e5m2fnuz", 8, 57344.0, 2.0**-15, 2.0**-17, 255, "Graphcore/AMD FP8 (arXiv 2206.02915): bias 16"),
    ("float4_e2m1fn", 4, 6.0, 1.0, 0.5, 15, "OCP MX spec v1.0 §5.3.3: E2M1 max 6, min subnormal 0.5"),
    ("float6_e2m3fn", 6, 7.5, 1.0, 0.125, 63, "OCP MX spec v1.0 §5.3.2: E2M3 max 7.5"),
    ("float6_e3m2fn", 6, 28.0, 0.25, 0.0625, 63, "OCP MX spec v1.0 §5.3.2: E3M2 max 28"),
    ("float8_e8m0fnu", 8, 2.0**127, 2.0**-127, 2.0**-127, 255, "OCP MX spec v1.0 §5.4.1: E8M0 2^-127..2^127, 0xFF NaN"),
    ("tfloat32", 19, float.fromhex("0x1.ffcp127"), 2.0**-126, 2.0**-136, 2 * (255 * 1024) - 1, "NVIDIA A100 whitepaper: TF32 = 1+8+10 bits"),
    ("float16", 16, 65504.0, 2.0**-14, 2.0**-24, 63487, "IEEE 754-2008 binary16"),
    ("bfloat16", 16, float.fromhex("0x1.fep127"), 2.0**-126, 2.0**-133, 65279, "Google brain float16"),
]


@pytest.mark.parametrize("row", GOLDEN, ids=[r[0] for r in GOLDEN])
def test_golden(row):
    name, bits, mx, sn, ss, nvals, _source = row
    f = get_format(name)
    assert (f.bits, f.max, f.smallest_normal, f.smallest_subnormal, f.num_finite_values) == (bits, mx, sn, ss, nvals)


def test_dynamic_range():
    f = get_format("float8_e4m3fn")
    assert f.dynamic_range_binades == pytest.approx(np.log2(448 / 2**-9))
    assert f.dynamic_range_decades == pytest.approx(np.log10(448 / 2**-9))
    assert f.dynamic_range_binades_normal == pytest.approx(np.log2(448 / 2**-6))


def test_aliases_and_errors():
    assert get_format("bf16") is FORMATS["bfloat16"]
    assert get_format(" FP32 ") is FORMATS["float32"]
    for alias, name in ALIASES.items():
        assert get_format(alias).name == name
    assert get_format(FORMATS["float16"]) is FORMATS["float16"]
    with pytest.raises(ValueError, match="float8_e4m3fn"):
        get_format("float7")
    with pytest.raises(ValueError, match="no bare 'fp4'"):
        get_format("fp4")
    assert "fp4" not in ALIASES


def test_custom_formats():
    f = FloatFormat(nexp=3, nmant=4, bias=3, nonfinite="ieee")
    assert f.bits == 8 and f.max == 15.5 and f.name == "e3m4_b3_ieee"
    assert f == FORMATS["float8_e3m4"]  # same layout, equal whatever the name
    assert FloatFormat(nexp=11, nmant=52).max == np.finfo(np.float64).max
    big = FloatFormat(nexp=15, nmant=48)
    assert big.bits == 64 and big.max == float("inf") and big.max_exact > 2**16000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(nexp=0, nmant=3), "integer"),
        (dict(nexp=4, nmant=-1), "non-negative"),
        (dict(nexp=12, nmant=52), "at most 64 bits"),
        (dict(nexp=4, nmant=0), "at least 1 mantissa bit"),
        (dict(nexp=1, nmant=2), "at least 2 exponent bits"),
        (dict(nexp=4, nmant=3, signed=False, nonfinite="fnuz"), "sign bit"),
        (dict(nexp=4, nmant=3, nonfinite="weird"), "nonfinite must be one of"),
        (dict(nexp=4, nmant=3, bias=1.5), "bias must be an integer"),
        (dict(nexp=4, nmant=3, has_zero=False), "has_zero=False"),
        (dict(nexp=4, nmant=3, has_zero=False, nonfinite="fnuz"), "has_zero=False"),
        (dict(nexp=20, nmant=3), "at most 16"),
    ],
)
def test_impossible_formats_say_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FloatFormat(**kwargs)


def test_fits_in():
    f16, f32, bf16 = FORMATS["float16"], FORMATS["float32"], FORMATS["bfloat16"]
    assert f16.fits_in(f32) and bf16.fits_in(f32) and not bf16.fits_in(f16) and not f32.fits_in(f16)
    assert FORMATS["float8_e4m3fn"].fits_in(f16) and FORMATS["float8_e5m2fnuz"].fits_in(f16)
    assert not FORMATS["float8_e4m3b11fnuz"].fits_in(FORMATS["float8_e4m3fn"])


def test_format_colours_follow_the_format():
    """A format keeps its colour whatever else is selected and in whatever order; no two
    selected formats share one while colours are free."""
    from figures.formats.common import format_colors
    from quantlib import FORMATS, get_format

    alone = {n: format_colors([get_format(n)])[n] for n in FORMATS}
    pair = format_colors([get_format("float16"), get_format("bfloat16")])
    assert pair == {"bfloat16": alone["bfloat16"], "float16": alone["float16"]}
    assert format_colors([get_format("bfloat16"), get_format("float16")]) == pair
    ten = [get_format(n) for n in list(FORMATS)[:10]]
    assert len(set(format_colors(ten).values())) == 10
    many = [get_format(n) for n in FORMATS]
    assert len(set(format_colors(many).values())) == 10  # 16 formats: the 10 colours all used
