"""Tests of quantlib.exact on single codes: parsing typed values and codes, decompose,
exact_decimal, next_up / next_down, ulp and conversion_error (the rounding oracle is in
tests/test_exact.py)."""

from __future__ import annotations

import math
import random
import sys
import time
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import pytest

from quantlib import FORMATS, FloatFormat
from quantlib.exact import (
    CodeInfo,
    ConversionError,
    ExactValue,
    code_value,
    conversion_error,
    decompose,
    exact_decimal,
    next_down,
    next_up,
    parse_code,
    parse_value,
    round_value,
    ulp,
)
from tests.test_exact import ALL, CUSTOM, SMALL, F, _ids, table  # the oracle's formats and its table of every value


# ================================================================ parsing


@pytest.mark.parametrize(
    "text,want",
    [
        ("0.1000000000000000000000000000000001", F(10**33 + 1, 10**34)),
        ("  -2.5e-3 ", F(-1, 400)),
        ("+7", F(7)),
        ("1E3", F(1000)),
        ("1/3", F(1, 3)),
        ("-1 / 3", F(-1, 3)),
        ("0x1.8p3", F(12)),
        ("-0X1P-2", F(-1, 4)),
        ("0x10", F(16)),
        ("1_000.000_5", F(10000005, 10000)),
        (".5", F(1, 2)),
        ("5.", F(5)),
        ("\u22123", F(-3)),
    ],
)
def test_parse_value_numbers(text, want):
    ev = parse_value(text)
    assert ev.kind == "finite" and ev.as_fraction() == want


def test_parse_value_specials():
    assert parse_value("-0") == ExactValue(negative=True, magnitude=F(0))
    assert parse_value("-0.000e5").negative
    assert parse_value("0") == ExactValue(negative=False, magnitude=F(0))
    for text in ("inf", "Infinity", "+INF", " inf "):
        assert parse_value(text) == ExactValue(negative=False, magnitude=None, kind="inf")
    assert parse_value("-Inf") == ExactValue(negative=True, magnitude=None, kind="inf")
    assert parse_value("NaN").kind == "nan"
    assert parse_value("-nan").negative
    assert parse_value("-0.1") == ExactValue(negative=True, magnitude=F(1, 10), kind="finite")
    with pytest.raises(ValueError):
        parse_value("inf").as_fraction()


@pytest.mark.parametrize(
    "text,message",
    [
        ("1.2.3", "could not read '1.2.3' as a number: it has more than one decimal point"),
        ("", "the text is empty"),
        ("   ", "the text is empty"),
        ("abc", "unexpected character 'a'"),
        ("1,5", "decimal point"),
        ("1e", "exponent after 'e' has no digits"),
        ("--1", "sign may only appear at the start"),
        ("1-2", "sign may only appear at the start"),
        ("1/0", "division by zero"),
        ("1/2/3", "exactly one '/'"),
        ("/3", "on both sides"),
        ("inf/2", "cannot be part of a fraction"),
        ("0x1.g", "hex float"),
        ("1__0", "'_' may only separate two digits"),
        ("1 2", "space"),
        ("-", "sign but no number"),
        ("1e999999", "too large"),
        ("0.1f", "unexpected character 'f'"),
    ],
)
def test_parse_value_errors(text, message):
    with pytest.raises(ValueError, match="could not read") as err:
        parse_value(text)
    assert message in str(err.value)


def test_parse_code():
    assert parse_code("3f80", "bfloat16", base=16) == 0x3F80
    assert parse_code("0x3F80", "bf16", base=16) == 0x3F80
    assert parse_code(" 0X3f_80 ", "bfloat16", base=16) == 0x3F80
    assert parse_code("0b0011_1111 1000 0000", "bfloat16", base=2) == 0x3F80
    assert parse_code("00111111 10000000", "bfloat16", base=2) == 0x3F80
    assert parse_code("0b1", "bfloat16", base=16) == 0xB1  # in hex, 'b' is a digit
    assert parse_code("007E", "float8_e4m3fn", base=16) == 0x7E  # leading zeros are fine
    assert parse_code("0000 1111", "float4_e2m1fn", base=2) == 0xF
    assert parse_code("FFFFFFFFFFFFFFFF", "float64", base=16) == 2**64 - 1


@pytest.mark.parametrize(
    "text,fmt,base,message",
    [
        ("", "float8_e4m3fn", 16, "no digits"),
        ("0x", "float8_e4m3fn", 16, "no digits"),
        ("0b", "float8_e4m3fn", 2, "no digits"),
        ("g1", "float8_e4m3fn", 16, "'g' is not a hex digit"),
        ("0b102", "float8_e4m3fn", 2, "'2' is not a binary digit"),
        ("0x12", "float8_e4m3fn", 2, "looks like hex"),
        ("0x100", "float8_e4m3fn", 16, "needs 9 bits, but float8_e4m3fn codes have 8"),
        ("10", "float4_e2m1fn", 16, "needs 5 bits"),
        ("1000000", "float6_e2m3fn", 2, "needs 7 bits"),
        ("1" + "0" * 16, "float64", 16, "needs 65 bits"),
    ],
)
def test_parse_code_errors(text, fmt, base, message):
    with pytest.raises(ValueError) as err:
        parse_code(text, fmt, base=base)
    assert message in str(err.value)


def test_parse_code_bad_base():
    with pytest.raises(ValueError, match="base"):
        parse_code("10", "float16", base=10)  # type: ignore[arg-type]


# ================================================================ decompose


def test_decompose_normal_float32():
    info = decompose(0x3DCCCCCD, "float32")
    assert isinstance(info, CodeInfo)
    assert info.hex == "0x3DCCCCCD"
    assert info.binary == "00111101110011001100110011001101"
    assert (info.sign_bits, info.exponent_bits, info.mantissa_bits) == ("0", "01111011", "10011001100110011001101")
    assert (info.sign, info.exponent_field, info.mantissa_field) == (0, 123, 5033165)
    assert info.kind == "normal" and info.unbiased_exponent == -4
    assert info.significand == 1 + F(5033165, 2**23)
    assert info.value == F(13421773, 2**27) and not info.negative
    assert info.formula == "(-1)^0 × 2^(123-127) × (1 + 5033165/8388608)"
    assert info.decimal == "0.100000001490116119384765625"


def test_decompose_subnormal_zero_negative_zero():
    sub = decompose(0x01, "float8_e4m3fn")
    assert sub.kind == "subnormal" and sub.unbiased_exponent == -6 and sub.significand == F(1, 8)
    assert sub.value == F(1, 512) and sub.decimal == "0.001953125"
    assert sub.formula == "(-1)^0 × 2^(1-7) × (0 + 1/8)"
    neg_sub = decompose(0x83, "float8_e4m3fn")
    assert neg_sub.value == F(-3, 512) and neg_sub.decimal == "-0.005859375"
    assert neg_sub.formula == "(-1)^1 × 2^(1-7) × (0 + 3/8)"
    zero = decompose(0x00, "float8_e4m3fn")
    assert zero.kind == "zero" and zero.value == 0 and zero.decimal == "0" and zero.unbiased_exponent is None
    assert zero.formula == "(-1)^0 × 2^(1-7) × (0 + 0/8)"
    nzero = decompose(0x8000, "float16")
    assert nzero.kind == "zero" and nzero.negative and nzero.value == 0 and nzero.decimal == "-0"
    assert nzero.formula == "(-1)^1 × 2^(1-15) × (0 + 0/1024)"
    assert nzero.sign_bits == "1" and nzero.exponent_bits == "00000" and nzero.mantissa_bits == "0" * 10
    assert decompose(0x80, "float8_e4m3fnuz").kind == "nan"  # fnuz: the -0 code is NaN


def test_decompose_inf_nan():
    inf = decompose(0x7C00, "float16")
    assert inf.kind == "inf" and inf.value is None and inf.decimal == "inf"
    assert inf.formula == "exponent all ones, mantissa 0 → +inf"
    ninf = decompose(0xFC00, "float16")
    assert ninf.decimal == "-inf" and ninf.formula.endswith("-inf") and ninf.negative
    nan = decompose(0x7E00, "float16")
    assert nan.kind == "nan" and nan.decimal == "nan" and "NaN" in nan.formula and nan.value is None
    assert nan.significand is None and nan.unbiased_exponent is None
    assert decompose(0x7F, "float8_e4m3fn").kind == "nan"
    assert decompose(0xFF, "float8_e4m3fn").kind == "nan"
    assert "NaN" in decompose(0x80, "float8_e5m2fnuz").formula
    assert decompose(0xFF, "float8_e8m0fnu").kind == "nan"


def test_decompose_e8m0_and_widths():
    info = decompose(127, "float8_e8m0fnu")
    assert info.kind == "normal" and info.value == 1 and info.significand == 1 and info.unbiased_exponent == 0
    assert info.sign_bits == "" and info.mantissa_bits == "" and info.exponent_bits == "01111111"
    assert info.formula == "2^(127-127)"
    low = decompose(0, "float8_e8m0fnu")
    assert low.kind == "normal" and low.value == F(1, 2**127) and low.unbiased_exponent == -127
    tf = decompose(127 << 10, "tfloat32")  # 1.0: 19 bits, 5 hex digits
    assert tf.hex == "0x1FC00" and len(tf.binary) == 19 and tf.value == 1
    fp4 = decompose(0x7, "float4_e2m1fn")
    assert fp4.hex == "0x7" and fp4.binary == "0111" and fp4.value == 6
    assert fp4.formula == "(-1)^0 × 2^(3-1) × (1 + 1/2)"
    fp6 = decompose(0x3F, "float6_e3m2fn")
    assert fp6.hex == "0x3F" and fp6.value == -28


def test_decompose_negative_bias_formula():
    fmt = FloatFormat(nexp=3, nmant=2, bias=-2, nonfinite="ieee")
    assert decompose(0b0_001_01, fmt).formula == "(-1)^0 × 2^(1-(-2)) × (1 + 1/4)"


@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_decompose_consistent_with_exact_value(fmt):
    rnd = random.Random(fmt.bits)
    codes = range(1 << fmt.bits) if fmt.bits <= 8 else [rnd.randrange(1 << fmt.bits) for _ in range(300)]
    for code in list(codes) + [0, fmt.max_code, (1 << fmt.bits) - 1]:
        info = decompose(code, fmt)
        assert info.binary == info.sign_bits + info.exponent_bits + info.mantissa_bits
        assert int(info.binary, 2) == int(info.hex, 16) == code
        assert len(info.hex) == 2 + math.ceil(fmt.bits / 4)
        if info.kind in ("inf", "nan"):
            assert info.value is None
            with pytest.raises(ValueError):
                fmt.exact_value(code)
            continue
        assert info.value == fmt.exact_value(code)
        assert F(info.decimal) == info.value
        if info.unbiased_exponent is not None:
            assert info.value == (-1) ** info.sign * info.significand * F(2) ** info.unbiased_exponent
        cv = code_value(code, fmt)
        assert cv.as_fraction() == info.value and cv.negative == info.negative
        # decoding then rounding gives the code back (±0 and all)
        assert round_value(cv, fmt) == code


def test_decompose_rejects_bad_codes():
    with pytest.raises(ValueError, match="out of range"):
        decompose(256, "float8_e4m3fn")
    with pytest.raises(ValueError, match="out of range"):
        decompose(-1, "float8_e4m3fn")
    with pytest.raises(ValueError, match="integer"):
        decompose(1.0, "float8_e4m3fn")  # type: ignore[arg-type]


def test_code_value():
    assert code_value(0x80, "float8_e4m3fn") == ExactValue(negative=True, magnitude=F(0))
    assert code_value(0xFC00, "float16") == ExactValue(negative=True, magnitude=None, kind="inf")
    assert code_value(0x7F, "float8_e4m3fn").kind == "nan"
    assert code_value(0xBC00, "float16").as_fraction() == -1


# ================================================================ exact_decimal


@pytest.mark.parametrize(
    "value,text",
    [
        (F(13421773, 134217728), "0.100000001490116119384765625"),
        (F(1), "1"),
        (F(1, 2), "0.5"),
        (F(448), "448"),
        (F(-1, 512), "-0.001953125"),
        (F(0), "0"),
        (F(1, 10), "0.1"),  # 2**a * 5**b denominators terminate too
        (F(-7, 20), "-0.35"),
        (F(2**70), "1180591620717411303424"),
        (F(3, 2**10), "0.0029296875"),
        (5, "5"),
    ],
)
def test_exact_decimal(value, text):
    assert exact_decimal(value) == text


def test_exact_decimal_negative_zero_and_errors():
    assert exact_decimal(F(0), negative_zero=True) == "-0"
    assert exact_decimal(F(1), negative_zero=True) == "1"
    with pytest.raises(ValueError, match="no finite decimal"):
        exact_decimal(F(1, 3))


def test_exact_decimal_matches_decimal_module():
    """Decimal(float) is exact; its fixed-point string has every digit."""
    rnd = random.Random(11)
    xs = [sys.float_info.max, 5e-324, sys.float_info.min, 0.1, -2.5, 1e22, 1e23, 123456.789]
    xs += [rnd.uniform(-1, 1) * 2.0 ** rnd.randrange(-1074, 1000) for _ in range(200)]
    for x in xs:
        want = format(Decimal(x), "f")
        if "." in want:
            want = want.rstrip("0").rstrip(".")
        assert exact_decimal(F(x)) == want, x


def test_exact_decimal_float64_max_is_fast():
    value = FORMATS["float64"].max_exact
    assert exact_decimal(value) == str(int(sys.float_info.max))
    assert len(exact_decimal(value)) == 309
    best = min(_timed(lambda: exact_decimal(value)) for _ in range(5))
    assert best < 0.005


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_ui_speed_float64():
    f64 = FORMATS["float64"]
    best_round = min(_timed(lambda: round_value("0.1000000000000000000000000000000001", f64)) for _ in range(20))
    best_dec = min(_timed(lambda: decompose(0x3FB999999999999A, f64)) for _ in range(20))
    best_sub = min(_timed(lambda: decompose(1, f64)) for _ in range(20))
    assert max(best_round, best_dec, best_sub) < 0.001


def test_wide_custom_formats():
    f64 = FloatFormat(nexp=11, nmant=52)
    assert round_value("0.1", f64) == 0x3FB999999999999A
    assert decompose(0x3FB999999999999A, f64).decimal == format(Decimal(0.1), "f")
    # a format whose extremes have > 4300 decimal digits (Python's str(int) limit)
    wide = FloatFormat(nexp=15, nmant=48)
    tiny = decompose(1, wide)
    assert tiny.value == F(1, 2 ** (16382 + 48)) and len(tiny.decimal) > 16000
    assert parse_value(tiny.decimal).as_fraction() == tiny.value
    big = decompose(wide.max_code, wide)
    assert big.value == wide.max_exact and parse_value(big.decimal).as_fraction() == big.value
    assert round_value(big.value, wide) == wide.max_code
    e3m4 = FloatFormat(nexp=3, nmant=4, bias=3, nonfinite="ieee")
    assert all(round_value(F(v), e3m4) == round_value(F(v), "float8_e3m4") for v in (15.5, 15.75, 0.1, -3, 1e-3))


# ================================================================ next_up / next_down


@lru_cache(maxsize=None)
def signed_values(fmt: FloatFormat) -> dict[int, Fraction]:
    """code -> value for every non-NaN code, from the oracle's table (inf as ±10**400)."""
    t = table(fmt)
    out = {c: v for v, c in zip(t.vals, t.codes)}
    if fmt.signed:
        out.update({fmt.sign_mask | c: -v for v, c in zip(t.vals, t.codes) if not fmt.is_nan_code(fmt.sign_mask | c)})
    if fmt.has_inf:
        out[fmt.inf_code] = F(10**400)
        out[fmt.sign_mask | fmt.inf_code] = F(-(10**400))
    return out


def _key(code: int, fmt: FloatFormat) -> Fraction:
    return signed_values(fmt)[code]


def _bottom(fmt: FloatFormat) -> int:
    if fmt.has_inf:
        return fmt.sign_mask | fmt.inf_code
    return fmt.sign_mask | fmt.max_code if fmt.signed else table(fmt).codes[0]


def _top(fmt: FloatFormat) -> int:
    return fmt.inf_code if fmt.has_inf else fmt.max_code


WALK_FORMATS = SMALL + [FORMATS["float16"]] + CUSTOM


@pytest.mark.parametrize("fmt", WALK_FORMATS, ids=_ids)
def test_next_up_next_down_walk_the_whole_format(fmt):
    all_values = set(signed_values(fmt).values())
    # up from the bottom
    code, seen = _bottom(fmt), []
    assert next_down(code, fmt) is None
    while code is not None:
        seen.append(code)
        code = next_up(code, fmt)
    keys = [_key(c, fmt) for c in seen]
    assert all(a < b for a, b in zip(keys, keys[1:]))
    assert set(keys) == all_values and seen[-1] == _top(fmt)
    # down from the top
    code, seen_down = _top(fmt), []
    assert next_up(code, fmt) is None
    while code is not None:
        seen_down.append(code)
        code = next_down(code, fmt)
    keys_down = [_key(c, fmt) for c in seen_down]
    assert keys_down == keys[::-1] and seen_down[-1] == _bottom(fmt)
    n_inf = 2 if fmt.has_inf else 0
    assert len(seen) == fmt.num_finite_values + n_inf


def test_next_up_down_specific_codes():
    e4 = "float8_e4m3fn"
    assert next_up(0x80, e4) == 0x01 and next_up(0x00, e4) == 0x01  # ±0 -> smallest subnormal
    assert next_down(0x00, e4) == 0x81 and next_down(0x80, e4) == 0x81
    assert next_up(0x81, e4) == 0x80  # -smallest -> -0
    assert next_up(0x7E, e4) is None and next_down(0xFE, e4) is None  # no inf in fn
    assert next_up(0x7F, e4) is None and next_down(0xFF, e4) is None  # NaN
    assert next_up(0x37, e4) == 0x38  # 0.9375 -> 1 across a binade
    assert next_up(0x7BFF, "float16") == 0x7C00 and next_up(0x7C00, "float16") is None
    assert next_down(0xFC00, "float16") is None and next_down(0x7C00, "float16") == 0x7BFF
    assert next_up(0xFC00, "float16") == 0xFBFF and next_up(0x7E00, "float16") is None
    assert next_up(0x81, "float8_e4m3fnuz") == 0x00 and next_down(0x00, "float8_e4m3fnuz") == 0x81
    assert next_down(0, "float8_e8m0fnu") is None and next_up(254, "float8_e8m0fnu") is None
    assert next_up(255, "float8_e8m0fnu") is None and next_up(0, "float8_e8m0fnu") == 1
    assert next_up(0x3F800000, "float32") == 0x3F800001 and next_down(0x3F800000, "float32") == 0x3F7FFFFF
    assert next_down(0x7, "float4_e2m1fn") == 0x6 and next_down(0x0, "float4_e2m1fn") == 0x9


# ================================================================ ulp


def test_ulp_worked_examples():
    assert ulp(0x3F800000, "float32") == F(1, 2**23)
    assert ulp(0x7E, "float8_e4m3fn") == 32
    assert ulp(0x01, "float8_e4m3fn") == F(1, 512)
    assert ulp(0x00, "float8_e4m3fn") == ulp(0x80, "float8_e4m3fn") == F(1, 512)
    assert ulp(0x08, "float8_e4m3fn") == F(1, 512)  # smallest normal: same quantum as subnormals
    assert ulp(0x3FF0000000000000, "float64") == F(1, 2**52)
    assert ulp(127, "float8_e8m0fnu") == 1 and ulp(0, "float8_e8m0fnu") == F(1, 2**127)
    assert ulp(0x7, "float4_e2m1fn") == 2
    assert ulp(0x7C00, "float16") is None and ulp(0x7E00, "float16") is None and ulp(0x7F, "e4m3") is None


@pytest.mark.parametrize("fmt", WALK_FORMATS, ids=_ids)
def test_ulp_is_the_gap_to_the_next_code(fmt):
    values = signed_values(fmt)
    for code in range(fmt.max_code):  # positive codes whose successor is finite
        assert ulp(code, fmt) == values[code + 1] - values[code], hex(code)


# ================================================================ conversion_error


def test_conversion_error_float32_point_one():
    ev = parse_value("0.1")
    err = conversion_error(ev, round_value(ev, "float32"), "float32")
    assert isinstance(err, ConversionError)
    # stored 13421773/2**27 - 1/10 = 2/(10 * 2**27)
    assert err.absolute == F(1, 671088640)
    assert err.relative == F(1, 2**26)
    assert err.ulps == F(1, 5)  # ulp in [2**-4, 2**-3) is 2**-27
    assert not err.overflow and not err.underflow


def test_conversion_error_overflow_and_underflow():
    e4 = "float8_e4m3fn"
    nan = conversion_error(parse_value("500"), 0x7F, e4)
    assert nan.overflow and nan.absolute is None and nan.relative is None and nan.ulps is None
    sat = conversion_error(parse_value("500"), 0x7E, e4)
    assert sat.overflow and sat.absolute == 52 and sat.relative == F(13, 125) and sat.ulps == F(13, 8)
    inside = conversion_error(parse_value("440"), 0x7E, e4)
    assert not inside.overflow and inside.absolute == 8 and inside.ulps == F(1, 4)
    rounded = conversion_error(parse_value("460"), 0x7E, e4)  # within half a step (16) of 448
    assert not rounded.overflow and rounded.absolute == 12
    assert not conversion_error(parse_value("464"), 0x7E, e4).overflow  # the tie rounds to 448 (even)
    assert conversion_error(parse_value("465"), 0x7E, e4).overflow  # saturated from beyond the tie
    neg = conversion_error(parse_value("-1e6"), round_value("-1e6", "float16"), "float16")
    assert neg.overflow and neg.absolute is None
    under = conversion_error(parse_value("0.0009"), round_value("0.0009", e4), e4)
    assert under.underflow and not under.overflow
    assert under.absolute == F(9, 10000) and under.relative == 1 and under.ulps == F(9, 10000) * 512
    neg_under = conversion_error(parse_value("-0.0009"), 0x80, e4)
    assert neg_under.underflow and neg_under.absolute == F(9, 10000)
    e8 = "float8_e8m0fnu"
    tiny = conversion_error(parse_value("1e-40"), round_value("1e-40", e8), e8)
    assert tiny.underflow and tiny.absolute == F(1, 2**127) - F(1, 10**40)
    assert not conversion_error(parse_value("1"), 127, e8).underflow


def test_conversion_error_edge_inputs():
    e4 = "float8_e4m3fn"
    zero = conversion_error(parse_value("0"), 0, e4)
    assert zero.absolute == 0 and zero.relative is None and zero.ulps == 0 and not zero.underflow
    inf = conversion_error(parse_value("inf"), 0x7F, e4)
    assert (inf.absolute, inf.relative, inf.ulps, inf.overflow, inf.underflow) == (None, None, None, False, False)
    nan = conversion_error(parse_value("nan"), 0x7FC00000, "float32")
    assert nan.absolute is None and not nan.overflow
    # E8M0 stores 0 and negative numbers as NaN: not an overflow
    assert not conversion_error(parse_value("0"), 0xFF, "float8_e8m0fnu").overflow
    assert not conversion_error(parse_value("-1e50"), 0xFF, "float8_e8m0fnu").overflow
    exact = conversion_error(parse_value("-448"), 0xFE, e4)
    assert exact.absolute == 0 and exact.relative == 0 and not exact.overflow
    # accepts plain numbers too
    assert conversion_error(F(1, 3), round_value(F(1, 3), "bf16"), "bf16").ulps == F(1, 3)
