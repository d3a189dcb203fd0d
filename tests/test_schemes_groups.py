"""Groups and granularity as quantlib API: Layout.group_index / group_elements / group_size,
QuantizedTensor.group (GroupView), quantlib.granularity, and the block formats' element and
scale formats as data (MX, NVFP4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantlib.blocks import layout_for, matrix_shape
from quantlib.codec import decode
from quantlib.granularity import PerAxis, PerBlock, PerTensor, granularity_of, parse_granularity
from quantlib.schemes import MX, NVFP4, SCHEMES, parse_scheme, quantize

EXAMPLES = [ex for cls in SCHEMES.values() for ex in cls.examples]


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 3).astype(np.float32)


# ---------------------------------------------------------------- the Tensor Lab's old selection
def _old_group_index(shape, kind, axis, block, g):
    """lab/tensor_cached.py's _group_index before it moved into quantlib."""
    _rows, C = matrix_shape(shape)
    if kind == "block":
        nb = -(-C // block)
        r, b = divmod(g, nb)
        c0, c1 = b * block, min(C, (b + 1) * block)
        return ("block", r, c0, c1), c1 - c0
    if kind == "channel":
        return ("channel", axis, g), math.prod(shape) // shape[axis]
    return ("tensor",), math.prod(shape)


def _old_take(a, sel, limit):
    if sel[0] == "block":
        _k, r, c0, c1 = sel
        return np.asarray(a).reshape(matrix_shape(a.shape))[r, c0 : min(c1, c0 + limit)]
    if sel[0] == "channel":
        return np.take(a, sel[2], axis=sel[1]).reshape(-1)[:limit]
    return np.asarray(a).reshape(-1)[:limit]


CASES = [
    ("int8:axis=0", (6, 50)),
    ("int8:axis=1", (6, 50)),
    ("int8:axis=1", (3, 4, 5)),
    ("nf4:block=64", (3, 100)),  # ragged: 100 = 64 + 36
    ("nf4:block=64,dq", (2, 3, 70)),
    ("nf4:block=64", (150,)),
    ("int8", (6, 50)),
    ("int8", (7,)),
    ("uint4:block=32", (4, 40)),
    ("mxfp4", (2, 33)),
    ("nvfp4", (3, 20)),
    ("log4:axis=0", (5, 9)),
]


@pytest.mark.parametrize("text,shape", CASES, ids=[f"{t}-{s}" for t, s in CASES])
def test_group_views_equal_the_old_tagged_tuple_selection(text, shape):
    x = _data(shape)
    q = quantize(x, text)
    lay = q.layout
    xq = q.dequantize()
    for g in range(lay.n_groups):
        sel, n = _old_group_index(lay.shape, lay.kind, lay.axis, lay.block_size, g)
        gv = q.group(g)
        assert gv.index == g and gv.where == sel and gv.size == n == lay.group_size(g)
        assert lay.group_index(g) == sel
        for limit in (None, 128, 5):
            lim = n if limit is None else limit
            for a in (x, xq, q.codes, q.clipped):
                got = q.group_elements(a, g, limit)
                want = _old_take(a, sel, lim)
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
        # the real elements of the groups matrix row, in the same order
        np.testing.assert_array_equal(lay.group_elements(x, g), lay.groups(x)[g, : lay.counts[g]])
        # what block_zoom read by hand
        assert gv.scale == (None if q.scales is None else float(np.asarray(q.scales).reshape(-1)[g]))
        assert gv.scale_code == (None if q.scale_codes is None else int(np.asarray(q.scale_codes).reshape(-1)[g]))
        assert gv.zero_point == (None if q.zero_points is None else int(np.asarray(q.zero_points).reshape(-1)[g]))
        assert gv.tensor_scale == q.tensor_scale
        dq = q.double_quant
        assert gv.dq_original == (None if dq is None else float(np.asarray(dq.original).reshape(-1)[g]))
        assert gv.dq_code == (None if dq is None else int(np.asarray(dq.codes).reshape(-1)[g]))


def test_group_api_worked_and_errors():
    lay = layout_for((4, 100), block_size=32)
    assert [lay.group_size(g) for g in range(4)] == [32, 32, 32, 4]
    assert lay.group_index(7) == ("block", 1, 96, 100)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layout_for(x.shape, axis=1).group_elements(x, 1), [1.0, 4.0])
    np.testing.assert_array_equal(layout_for(x.shape).group_elements(x, 0, limit=2), [0.0, 1.0])
    with pytest.raises(ValueError, match="out of range"):
        lay.group_index(16)
    with pytest.raises(ValueError, match="does not match"):
        lay.group_elements(np.zeros((4, 99)), 0)
    q = quantize(_data((4, 100)), "int8:block=32")
    with pytest.raises(ValueError, match="out of range"):
        q.group(-1)


@pytest.mark.parametrize("shape, expected", [((), (1, 1)), ((7,), (1, 7)), ((3, 5, 40), (15, 40)), ((2, 0), (2, 0)), ((4, 100), (4, 100))])
def test_matrix_shape(shape, expected):
    assert matrix_shape(shape) == expected


# ---------------------------------------------------------------- granularity
@pytest.mark.parametrize("text", EXAMPLES)
def test_granularity_round_trip(text):
    s = parse_scheme(text)
    g = s.granularity
    assert isinstance(g, (PerTensor, PerAxis, PerBlock))
    assert parse_granularity(str(g)) == g
    assert s.with_granularity(g) == s
    assert parse_scheme(str(s)).granularity == g
    shape = (6, 100)
    assert s.layout(shape) == g.layout(shape)
    # the string form says it
    opts = dict(o.partition("=")[::2] for o in text.partition(":")[2].split(",") if o)
    if opts.get("block", "none") != "none":
        assert g == PerBlock(int(opts["block"]))
    elif opts.get("axis", "none") != "none":
        assert g == PerAxis(int(opts["axis"]))


def test_granularity_values():
    assert parse_scheme("int8:axis=1").granularity == PerAxis(1)
    assert parse_scheme("nf4:block=64").granularity == PerBlock(64, axis=-1)
    assert parse_scheme("nf4:block=none").granularity == PerTensor()
    assert parse_scheme("int8").granularity == PerTensor()
    assert parse_scheme("mxfp4").granularity == PerBlock(32)
    assert parse_scheme("nvfp4").granularity == PerBlock(16)
    assert parse_scheme("binary").granularity == PerAxis(0)
    assert parse_scheme("bfloat16").granularity == PerTensor()
    assert PerBlock(32).layout((4, 100)).n_groups == 16
    assert PerAxis(-1).layout((4, 100)).axis == 1
    assert granularity_of(None, 64) == PerBlock(64) and granularity_of(0, None) == PerAxis(0) and granularity_of() == PerTensor()
    assert str(parse_scheme("int8").with_granularity(PerBlock(32))) == "int8:block=32"
    assert str(parse_scheme("nf4:block=64,dq").with_granularity(PerTensor())) == "nf4:block=none,dq"
    assert str(parse_scheme("nf4").with_granularity(PerAxis(1))) == "nf4:block=none,axis=1"
    assert str(parse_scheme("binary").with_granularity(PerTensor())) == "binary:axis=none"
    assert str(parse_scheme("ternary").with_granularity(PerBlock(8))) == "ternary:axis=none,block=8"
    assert str(parse_scheme("mxfp4").with_granularity(PerBlock(16))) == "mxfp4:block=16"
    assert str(parse_scheme("float8_e4m3fn:scaled").with_granularity(PerAxis(0))) == "float8_e4m3fn:scaled,axis=0"


def test_granularity_errors():
    with pytest.raises(ValueError, match="last axis"):
        PerBlock(32, axis=0)
    with pytest.raises(ValueError, match="positive integer"):
        PerBlock(0)
    with pytest.raises(ValueError, match="integer"):
        PerAxis(True)
    with pytest.raises(ValueError, match="unknown granularity"):
        parse_granularity("blok=3")
    with pytest.raises(ValueError, match="not both"):
        granularity_of(0, 32)
    with pytest.raises(ValueError, match="PerBlock granularity only"):
        parse_scheme("mxfp4").with_granularity(PerTensor())
    with pytest.raises(ValueError, match="PerBlock granularity only"):
        parse_scheme("nvfp4").with_granularity(PerAxis(0))
    with pytest.raises(ValueError, match="add 'scaled'"):
        parse_scheme("bfloat16").with_granularity(PerAxis(0))
    with pytest.raises(ValueError, match="per tensor"):
        parse_scheme("int8:cal=mse").with_granularity(PerBlock(64))
    with pytest.raises(ValueError, match="granularity is"):
        parse_scheme("int8").with_granularity("block=64")


# ---------------------------------------------------------------- block formats as data
def test_mx_formats_are_fields():
    assert MX(element="float4_e2m1fn", scale_format="float8_e8m0fnu") == parse_scheme("mxfp4")
    assert parse_scheme("mxfp4:scale=e8m0") == parse_scheme("mxfp4") and str(parse_scheme("mxfp4:scale=e8m0")) == "mxfp4"
    assert str(MX(element="float8_e4m3fn", block_size=32)) == "mxfp8_e4m3"
    assert parse_scheme("mxfp4").scale_format == "float8_e8m0fnu" and parse_scheme("mxfp4").code_format == "float4_e2m1fn"
    with pytest.raises(ValueError, match="powers of two"):
        MX(element="float4_e2m1fn", scale_format="float8_e4m3fn")
    with pytest.raises(ValueError, match="powers of two"):
        parse_scheme("mxfp4:scale=float8_e5m2")
    with pytest.raises(ValueError, match="float format name"):
        MX(scale_format="e9m9")


def test_nvfp4_formats_are_fields():
    s = parse_scheme("nvfp4")
    assert s == NVFP4(element="float4_e2m1fn", scale_format="float8_e4m3fn")
    assert str(NVFP4(block_size=32)) == "nvfp4:block=32"
    assert s.scale_format == "float8_e4m3fn" and s.code_format == "float4_e2m1fn"
    t = parse_scheme("nvfp4:scale=float8_e5m2")
    assert str(t) == "nvfp4:scale=float8_e5m2" and parse_scheme(str(t)) == t
    u = parse_scheme("nvfp4:element=float6_e2m3fn")
    assert u.element == "float6_e2m3fn" and u.code_bits == 6 and str(u) == "nvfp4:element=float6_e2m3fn"
    with pytest.raises(ValueError, match="signed float format"):
        NVFP4(element="float8_e8m0fnu")
    with pytest.raises(ValueError, match="at most 8 bits"):
        NVFP4(scale_format="bfloat16")
    with pytest.raises(ValueError, match="float format name"):
        NVFP4(element="int4")


@pytest.mark.parametrize("text", ["nvfp4:scale=float8_e5m2", "nvfp4:scale=float8_e8m0fnu", "nvfp4:element=float6_e2m3fn,block=32", "nvfp4:scale=float8_e4m3fnuz"])
def test_nvfp4_other_formats_give_valid_results(text):
    s = parse_scheme(text)
    x = _data((5, 48), seed=3)
    x[0, :16] = 0  # an all-zero block
    q = quantize(x, s)
    el, sf = s.fmt, s.scale_fmt
    assert q.total_bits == el.bits * x.size + sf.bits * q.layout.n_groups + 32
    assert s.bits_per_element() == el.bits + sf.bits / s.block_size
    np.testing.assert_array_equal(decode(q.scale_codes, sf), q.scales.astype(np.float64))
    d = q.dequantize()
    assert np.all(np.isfinite(d))
    want = q.layout.ungroup((decode(q.layout.groups(q.codes), el) * (q.scales.reshape(-1, 1).astype(np.float64) * q.tensor_scale)).astype(np.float32))
    np.testing.assert_array_equal(d, want)
    np.testing.assert_array_equal(quantize(-x, s).dequantize(), -d)
    rel = np.abs(d - x).max() / np.abs(x).max()
    assert rel < 0.3


@pytest.mark.parametrize("text", ["mxfp4", "mxfp8_e5m2:round=rceil", "mxint8", "nvfp4", "log4:block=16"])
def test_scale_codes_are_codes_of_scale_format(text):
    q = quantize(_data((4, 64), seed=5) * np.float32(1e-3), text)
    np.testing.assert_array_equal(decode(q.scale_codes, q.scheme.scale_format), q.scales.astype(np.float64))


def test_scale_format_is_none_without_scale_codes():
    for text in EXAMPLES:
        s = parse_scheme(text)
        if s.family not in ("mx", "nvfp4", "log"):
            assert s.scale_format is None
