"""quantlib.exact.cast_steps: the bit-by-bit cast equals quantlib's exact rounding (round_value)
for every pair of registry formats, on every code of the narrow sources and on chosen ties,
subnormal and overflow boundaries of the target; and equals ml_dtypes' astype where it has both
dtypes (except from float64, which ml_dtypes rounds twice, through float32)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from quantlib import FORMATS, FloatFormat
from quantlib.exact import code_value, next_down, next_up, round_value
from quantlib.exact.cast_steps import cast_steps

PAIRS = list(itertools.product(FORMATS, FORMATS))
DTYPES = {name: np.dtype(getattr(ml_dtypes, name, None) or name) for name in FORMATS if name != "tfloat32"}


def ml_dtypes_casts(src: str, dst: str) -> bool:
    """Whether ml_dtypes casts src to dst directly (it refuses e.g. float8_e4m3fn to E8M0)."""
    try:
        np.zeros(1, DTYPES[src]).astype(DTYPES[dst])
    except TypeError:
        return False
    return True


ML_PAIRS = [p for p in PAIRS if p[0] in DTYPES and p[1] in DTYPES and p[0] != "float64" and ml_dtypes_casts(*p)]


def boundary_values(dst: FloatFormat) -> list[Fraction]:
    """Values where a cast into ``dst`` is decided: ties between neighbours, the subnormal
    range, the smallest values and the overflow threshold."""
    out: list[Fraction] = []
    tops = [dst.max_code, dst.max_code - 1, 1, 2, 3, (1 << dst.nmant), (1 << dst.nmant) + 1]
    for c in {t for t in tops if 0 <= t < dst.max_code}:
        a, b = dst.exact_value(c), dst.exact_value(c + 1)
        mid = (a + b) / 2
        out += [a, mid, mid + (b - a) / 1024, mid - (b - a) / 1024]
    top = dst.max_exact
    half = (top - dst.exact_value(dst.max_code - 1)) / 2 if dst.max_code else top
    out += [top, top + half / 2, top + half, top + 2 * half, top * 4]
    tiny = dst.smallest_subnormal_exact
    out += [tiny, tiny / 2, tiny * 3 / 4, tiny / 4, tiny * 3 / 2, tiny * 5 / 2, dst.smallest_normal_exact * 255 / 256]
    return out


def source_codes(src: FloatFormat, dst: FloatFormat) -> list[int]:
    """Every code of an 8-bit-or-narrower source; otherwise the boundary values of ``dst``
    rounded into ``src`` (and their neighbours), the special codes and 200 random codes."""
    if src.bits <= 8:
        return list(range(1 << src.bits))
    codes = {0, src.sign_mask, src.max_code, src.sign_mask | src.max_code, 1}
    for special in (src.inf_code, src.nan_code):
        if special is not None:
            codes |= {special, special | src.sign_mask}
    for v in boundary_values(dst):
        for negative in (False, True):
            c = round_value(-v if negative else v, src, saturate=True)
            codes |= {c} | {n for n in (next_up(c, src), next_down(c, src)) if n is not None}
    rng = np.random.default_rng(src.bits * 131 + dst.bits)
    codes |= {int(c) for c in rng.integers(0, 1 << src.bits, size=200, dtype=np.uint64)}
    return sorted(codes)


def expected(code: int, src: FloatFormat, dst: FloatFormat, saturate: bool) -> int | None:
    try:
        return round_value(code_value(code, src), dst, saturate=saturate)
    except ValueError:
        return None  # NaN (or a negative value) into a format without NaN


@pytest.mark.parametrize(("src_name", "dst_name"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_cast_steps_equal_round_value_for_every_pair(src_name, dst_name):
    src, dst = FORMATS[src_name], FORMATS[dst_name]
    for code in source_codes(src, dst):
        for saturate in (False, True):
            s = cast_steps(code, src, dst, saturate=saturate)
            assert s.code == expected(code, src, dst, saturate), (src_name, dst_name, hex(code), saturate)
            if s.code is None:
                assert s.special == "no_nan" and s.problem
                continue
            assert s.result.code == s.code
            if s.special is None:  # the steps are consistent with the result
                assert len(s.kept) == dst.nmant
                assert s.dst_field == s.exponent + dst.bias
                assert s.target_exponent == max(s.exponent, dst.minexp)
                if s.decision == "exact":
                    assert "1" not in s.dropped
                    if s.overflow is None and s.underflow is None:
                        assert s.result.value == code_value(code, src).as_fraction()


@pytest.mark.parametrize(("src_name", "dst_name"), ML_PAIRS, ids=[f"{a}-{b}" for a, b in ML_PAIRS])
def test_cast_steps_equal_ml_dtypes(src_name, dst_name):
    """NaN sources are left out (ml_dtypes writes some code for a NaN it cannot store), and so
    are values below 2^-126 into E8M0, which ml_dtypes rounds wrongly (tests/test_codec.py)."""
    src, dst = FORMATS[src_name], FORMATS[dst_name]
    codes = [c for c in source_codes(src, dst) if not src.is_nan_code(c)]
    if not dst.has_zero:
        tiny = Fraction(1, 2**126)
        codes = [c for c in codes if (v := code_value(c, src)).kind != "finite" or v.magnitude >= tiny]
    uint = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
    src_dt, dst_dt = DTYPES[src_name], DTYPES[dst_name]
    x = np.array(codes, dtype=uint[src_dt.itemsize * 8]).view(src_dt)
    with np.errstate(over="ignore"):
        y = x.astype(dst_dt)
    got = y.view(uint[dst_dt.itemsize * 8]).tolist()
    for code, theirs, value in zip(codes, got, y):
        s = cast_steps(code, src, dst)
        if s.code is None:  # ml_dtypes writes something for a NaN it cannot store
            continue
        if s.result.kind == "nan":
            assert np.isnan(value), (src_name, dst_name, hex(code))
        else:
            assert s.code == int(theirs), (src_name, dst_name, hex(code), hex(int(theirs)))


def test_float32_0_1_to_bfloat16_step_by_step():
    s = cast_steps(0x3DCCCCCD, "float32", "bfloat16")
    assert (s.exponent, s.dst_field, s.target_exponent) == (-4, 123, -4)  # 123 − 127 + 127
    assert s.lead == "1" and s.kept == "1001100" and s.dropped == "1100110011001101"
    assert (s.guard, s.sticky, s.decision, s.carry) == ("1", True, "up", False)
    assert s.result.hex == "0x3DCD" and s.result.decimal == "0.10009765625"
    assert s.overflow is None and s.underflow is None


def test_ties_go_to_even():
    # bfloat16 1 + 2^-8 is half way between 1 and 1 + 2^-7: kept LSB 0 stays (tie_down)
    down = cast_steps(0x3F808000, "float32", "bfloat16")
    assert down.dropped == "1" + "0" * 15 and down.decision == "tie_down" and down.result.hex == "0x3F80"
    # 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up to even
    up = cast_steps(0x3F818000, "float32", "bfloat16")
    assert up.decision == "tie_up" and up.result.hex == "0x3F82"


def test_widening_pads_with_zeros_and_is_exact():
    s = cast_steps(0x3DCD, "bfloat16", "float32")
    assert s.padded == 16 and s.kept == "1001101" + "0" * 16 and s.dropped == "" and s.decision == "exact"
    assert s.result.hex == "0x3DCD0000"


def test_overflow_per_convention():
    big = 0x47800000  # 65536 in float32
    assert cast_steps(big, "float32", "float16").overflow == "inf"
    assert cast_steps(big, "float32", "float16").result.decimal == "inf"
    e4 = cast_steps(big, "float32", "float8_e4m3fn")
    assert e4.overflow == "nan" and e4.result.kind == "nan"
    fp4 = cast_steps(big, "float32", "float4_e2m1fn")
    assert fp4.overflow == "max" and fp4.result.decimal == "6"
    sat = cast_steps(big, "float32", "float8_e4m3fn", saturate=True)
    assert sat.overflow == "saturate" and sat.result.decimal == "448"
    # 65520 is half way between float16's max 65504 and 65536: the tie rounds to 65536, overflow
    edge = cast_steps(0x477FF000, "float32", "float16")
    assert edge.decision == "tie_up" and edge.carry and edge.overflow == "inf"


def test_underflow_to_subnormal_and_zero():
    sub = cast_steps(0x3B000000, "float32", "float8_e4m3fn")  # 2^-9: e4m3fn's smallest subnormal
    assert sub.exponent == -9 and sub.dst_field == -2 and sub.target_exponent == -6
    assert sub.lead == "0" and sub.kept == "001" and sub.underflow == "subnormal" and sub.result.hex == "0x01"
    zero = cast_steps(0x3A800000, "float32", "float8_e4m3fn")  # 2^-10: a tie with 0, even is 0
    assert zero.decision == "tie_down" and zero.underflow == "zero" and zero.result.hex == "0x00"
    neg = cast_steps(0xBA800000, "float32", "float8_e4m3fn")
    assert neg.result.decimal == "-0"
    fnuz = cast_steps(0xBA000000, "float32", "float8_e4m3fnuz")  # -2^-11: half of fnuz's smallest 2^-10
    assert fnuz.underflow == "zero" and fnuz.result.code == 0  # fnuz has no -0


def test_specials():
    assert cast_steps(0x7FC00000, "float32", "float4_e2m1fn").special == "no_nan"
    nan = cast_steps(0x7FC00000, "float32", "float8_e4m3fn")
    assert nan.special == "nan" and nan.result.kind == "nan"
    inf = cast_steps(0xFF800000, "float32", "float8_e5m2")
    assert inf.special == "inf" and inf.result.decimal == "-inf" and inf.overflow is None
    assert cast_steps(0xFF800000, "float32", "float8_e4m3fn").overflow == "nan"
    e8 = cast_steps(0x00000000, "float32", "float8_e8m0fnu")
    assert e8.special == "no_zero" and e8.result.kind == "nan"
    neg = cast_steps(0xBF800000, "float32", "float8_e8m0fnu")
    assert neg.special == "sign" and neg.result.kind == "nan"
    small = cast_steps(0x00000001, "float32", "float8_e8m0fnu")
    assert small.underflow == "smallest" and small.result.code == 0


def test_subnormal_source_is_normalised():
    s = cast_steps(0x0001, "float16", "float32")  # 2^-24, float16's smallest subnormal
    assert s.src.kind == "subnormal" and s.exponent == -24 and s.dst_field == 103
    assert s.lead == "1" and s.kept == "0" * 23 and s.result.hex == "0x33800000"


def test_ml_dtypes_from_float64_rounds_twice():
    """Why float64 sources are checked against round_value only: 1 + 2^-8 + 2^-40 is above the
    bfloat16 tie, so it rounds up once; ml_dtypes goes through float32 (1 + 2^-8, a tie) and
    rounds down to 1."""
    code = int(np.array([1 + 2.0**-8 + 2.0**-40]).view(np.uint64)[0])
    assert cast_steps(code, "float64", "bfloat16").result.hex == "0x3F81"
    assert int(np.array([1 + 2.0**-8 + 2.0**-40]).astype(ml_dtypes.bfloat16).view(np.uint16)[0]) == 0x3F80
