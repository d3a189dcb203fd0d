"""The Bit Inspector through Streamlit's AppTest (no browser): URL state, every input path,
errors shown as messages (never a traceback), the all-formats table, the language switch."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from lab.core.i18n import translate
from quantlib import FORMATS
from quantlib.exact import code_value, decompose, round_value
from tests.apptest import APP, open_page, rerun_ok

BITS_PAGE = "app_pages/bits.py"
PAGES = ["app_pages/home.py", BITS_PAGE]


def open_bits(**query) -> AppTest:
    """Start from app.py (the router), switch to /bits with ``query`` in the URL."""
    return open_page(BITS_PAGE, **query)


def texts(at: AppTest) -> str:
    """Everything the page shows as text, for substring checks."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.code] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value or "" for e in at.text_input]
    return "\n".join(str(p) for p in parts)


def box(at: AppTest, key: str) -> str:
    return at.text_input(key=key).value


def stored(at: AppTest) -> str:
    """The exact stored value (the code block under 'Exact stored value')."""
    return at.code[0].value


def latex(at: AppTest) -> list[str]:
    """Every st.latex formula on the page, in order (the code's formula first)."""
    return [e.value for e in at.get("latex")]


# ------------------------------------------------------------------ smoke
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(page):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title, "every page has a title"


def test_defaults_run():
    at = open_bits()
    assert box(at, "bits_hex") == "0x3DCCCCCD"  # float32, 0.1
    assert len(at.error) == 0
    heads = [s.value for s in at.subheader]
    assert heads[0] == "About float32" and heads[1:3] == ["Bits", "Stored value"]


# ------------------------------------------------------------------ URL in
def test_url_float32_value():
    at = open_bits(format="float32", value="0.1")
    assert box(at, "bits_hex") == "0x3DCCCCCD"
    assert stored(at) == "0.100000001490116119384765625"
    assert "0x3DCCCCCD" in texts(at)
    assert box(at, "bits_bin") == "0 01111011 10011001100110011001101"


def test_url_bfloat16_hex():
    at = open_bits(format="bfloat16", hex="3f80")
    assert box(at, "bits_hex") == "0x3F80"
    assert stored(at) == "1"
    assert box(at, "bits_value") == "1"
    assert at.query_params.get("hex") == "3F80"
    assert "value" not in at.query_params


def test_url_bin_rounding_saturate():
    at = open_bits(format="float8_e4m3fn", bin="0 1111 110", rounding="toward_zero", saturate="1")
    assert box(at, "bits_hex") == "0x7E"
    assert stored(at) == "448"
    assert at.selectbox(key="bits_rounding").value == "toward_zero"
    assert at.toggle(key="bits_saturate").value is True


def test_url_custom_format():
    at = open_bits(format="custom", e="3", m="4", bias="3", nonfinite="ieee", value="1.5")
    assert at.selectbox(key="bits_fmt").value == "custom"
    assert at.number_input(key="bits_fmt_e").value == 3
    assert at.number_input(key="bits_fmt_m").value == 4
    assert box(at, "bits_hex") == "0x38"  # 1.5 = 0 011 1000 with bias 3
    assert stored(at) == "1.5"
    assert at.query_params["format"] == "custom" and at.query_params["bias"] == "3"


def test_url_bad_params_warn_not_crash():
    at = open_bits(format="fp4", rounding="sideways", value="1")
    warnings = " ".join(w.value for w in at.warning)
    assert "fp4" in warnings and "rounding" in warnings
    assert at.selectbox(key="bits_fmt").value == "float32"  # unchanged default


# ------------------------------------------------------------------ typing and clicking
def test_e4m3fn_500_overflows_to_nan_and_saturates_to_448():
    at = open_bits(format="float8_e4m3fn")
    at.text_input(key="bits_value").input("500")
    rerun_ok(at)
    assert stored(at) == "nan"
    assert box(at, "bits_hex") == "0x7F"
    assert "Overflow" in texts(at)
    at.toggle(key="bits_saturate").set_value(True)
    rerun_ok(at)
    assert stored(at) == "448"
    assert box(at, "bits_hex") == "0x7E"
    assert at.query_params.get("saturate") == "1"


def test_flipping_a_bit_changes_the_code():
    at = open_bits(format="float32", value="0.1")
    at.button(key="bitS_31").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0xBDCCCCCD"
    assert stored(at) == "-0.100000001490116119384765625"
    assert at.query_params.get("hex") == "BDCCCCCD" and "value" not in at.query_params
    at.button(key="bitE_30").click()  # top exponent bit: 2^-4 becomes 2^124
    rerun_ok(at)
    assert box(at, "bits_hex") == "0xFDCCCCCD"


def test_float64_has_64_bit_buttons():
    at = open_bits(format="float64", value="1")
    bit_keys = [b.key for b in at.button if b.key and b.key[:5] in ("bitS_", "bitE_", "bitM_")]
    assert len(bit_keys) == 64
    assert sum(k.startswith("bitE_") for k in bit_keys) == 11


def test_step_buttons():
    at = open_bits(format="float32", value="0.1")
    at.button(key="bits_up").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x3DCCCCCE"
    at.button(key="bits_down").click()
    at.run()
    at.button(key="bits_down").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x3DCCCCCC"


def test_code_steps_wrap_and_cross_into_nan():
    """±1 is integer arithmetic on the code: 448 + 1 is NaN in E4M3FN, 0 − 1 wraps to −NaN."""
    at = open_bits(format="float8_e4m3fn", hex="7e")
    at.button(key="bits_up").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x7F"
    at.button(key="bits_down").click()
    rerun_ok(at)
    at.button(key="bits_down").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x7D"
    at = open_bits(format="float8_e4m3fn", hex="00")
    at.button(key="bits_down").click()
    rerun_ok(at)
    assert box(at, "bits_hex") == "0xFF"


def test_typing_hex_and_binary():
    at = open_bits(format="float32")
    at.text_input(key="bits_hex").input("0x3f800000")
    rerun_ok(at)
    assert stored(at) == "1"
    assert at.query_params.get("hex") == "3F800000" and "value" not in at.query_params
    at.text_input(key="bits_bin").input("0 10000000 00000000000000000000000")
    rerun_ok(at)
    assert stored(at) == "2"
    assert box(at, "bits_hex") == "0x40000000"
    assert "bin" in at.query_params and "hex" not in at.query_params
    at.text_input(key="bits_value").input("-0")
    rerun_ok(at)
    assert stored(at) == "-0"
    assert at.query_params.get("value") == "-0" and "bin" not in at.query_params


def test_rounding_modes_change_the_result_live():
    at = open_bits(format="float32", value="0.1")
    at.selectbox(key="bits_rounding").set_value("toward_zero")
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x3DCCCCCC"
    assert at.query_params.get("rounding") == "toward_zero"
    at.selectbox(key="bits_rounding").set_value("stochastic")
    rerun_ok(at)
    assert box(at, "bits_hex") in ("0x3DCCCCCC", "0x3DCCCCCD")
    assert at.number_input(key="bits_seed").value == 0
    assert at.query_params.get("seed") == "0"


def test_changing_format_keeps_the_value():
    at = open_bits(format="bfloat16", hex="3f80")
    at.selectbox(key="bits_fmt").set_value("float32")
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x3F800000"
    assert at.query_params.get("value") == "1"


def test_custom_format_valid_and_invalid():
    at = open_bits(format="float32", value="1.5")
    at.selectbox(key="bits_fmt").set_value("custom")
    rerun_ok(at)
    at.number_input(key="bits_fmt_e").set_value(3)
    at.number_input(key="bits_fmt_m").set_value(4)
    rerun_ok(at)
    assert box(at, "bits_hex") == "0x38"  # E3M4, default bias 3
    assert not at.error
    at.number_input(key="bits_fmt_m").set_value(0)  # ieee needs a mantissa bit for NaN
    rerun_ok(at)
    assert len(at.error) == 1
    assert "needs at least 1 mantissa bit" in at.error[0].value


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"format": "float32", "value": "1.2.3"}, "more than one decimal point"),
        ({"format": "float32", "value": "abc"}, "could not read"),
        ({"format": "float4_e2m1fn", "value": "nan"}, "has no NaN"),
        ({"format": "bfloat16", "hex": "3f800"}, "needs 18 bits"),
        ({"format": "float8_e4m3fn", "bin": "0102"}, "not a binary digit"),
    ],
)
def test_bad_input_shows_an_error_not_a_traceback(query, needle):
    at = open_bits(**query)
    assert len(at.error) == 1
    assert needle in at.error[0].value


def test_bad_decimal_typed_then_fixed():
    at = open_bits(format="float32", value="0.1")
    at.text_input(key="bits_value").input("0,5")
    rerun_ok(at)
    assert len(at.error) == 1 and "'.'" in at.error[0].value
    at.text_input(key="bits_value").input("0.5")
    rerun_ok(at)
    assert not at.error
    assert stored(at) == "0.5"


# ------------------------------------------------------------------ the table
def test_all_formats_table_has_one_row_per_format():
    at = open_bits(format="float32", value="500")
    df = at.dataframe[0].value
    assert len(df) == len(FORMATS)
    assert list(df.iloc[:, 0]) == list(FORMATS)
    notes = dict(zip(df.iloc[:, 0], df["Note"]))
    assert notes["float8_e4m3fn"] == "overflow"
    assert notes["float32"] == ""


def test_table_marks_formats_that_cannot_store_nan():
    at = open_bits(format="float32", value="nan")
    df = at.dataframe[0].value
    notes = dict(zip(df.iloc[:, 0], df["Note"]))
    assert notes["float4_e2m1fn"].startswith("cannot store")
    assert notes["float8_e4m3fn"] == ""


# ------------------------------------------------------------------ language
def test_language_switch_renders_chinese():
    at = open_bits(format="float32", value="0.1")
    at.selectbox(key="lang").set_value("zh_CN")
    rerun_ok(at)
    title = at.title[0].value
    assert title == translate("Bit Inspector", "zh_CN") != "Bit Inspector"
    heads = [s.value for s in at.subheader]
    assert translate("Stored value", "zh_CN") in heads
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(heads))
    assert at.query_params.get("lang") == "zh_CN"
    assert box(at, "bits_hex") == "0x3DCCCCCD"  # state kept


def test_lang_from_url():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["lang"] = "zh_CN"
    at.run()
    assert not at.exception
    assert at.title[0].value == translate("Quantization Lab", "zh_CN")


# ------------------------------------------------------------------ speed (printed, not asserted)
def test_rerun_times(capsys):
    at = open_bits(format="float32", value="0.1")
    steps = [
        ("type a decimal", lambda: at.text_input(key="bits_value").input("3.14159")),
        ("flip a bit", lambda: at.button(key="bitM_0").click()),
        ("+1", lambda: at.button(key="bits_up").click()),
        ("rounding mode", lambda: at.selectbox(key="bits_rounding").set_value("toward_zero")),
        ("saturate", lambda: at.toggle(key="bits_saturate").set_value(True)),
        ("format float64", lambda: at.selectbox(key="bits_fmt").set_value("float64")),
        ("float64 flip", lambda: at.button(key="bitM_0").click()),
        ("format e4m3fn", lambda: at.selectbox(key="bits_fmt").set_value("float8_e4m3fn")),
        ("type hex", lambda: at.text_input(key="bits_hex").input("7e")),
    ]
    times = []
    for name, act in steps:
        act()
        t0 = time.perf_counter()
        rerun_ok(at)
        times.append((name, (time.perf_counter() - t0) * 1e3))
    with capsys.disabled():
        print("\nBit Inspector AppTest rerun times (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in times))


# ------------------------------------------------------------------ every format, awkward values
AWKWARD = ["0", "-0", "1", "-0.1", "1e-300", "1e300", "inf", "-inf", "nan", "1/3", "0x1.8p3"]


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_with_awkward_values(name):
    """No value crashes the page: it shows a result or an error message."""
    at = open_bits(format=name, value="0.5")
    for text in AWKWARD:
        at.text_input(key="bits_value").input(text)
        rerun_ok(at)
        assert at.error or at.code, (name, text)
    # and every code path: step from the top down and flip every bit once
    at.text_input(key="bits_hex").input("0")
    rerun_ok(at)
    keys = [b.key for b in at.button if b.key and b.key[:5] in ("bitS_", "bitE_", "bitM_")]
    if len(keys) > 16:  # wide formats: sign, exponent, and the ends of the mantissa
        mant = [k for k in keys if k.startswith("bitM_")]
        keys = [k for k in keys if not k.startswith("bitM_")] + mant[:2] + mant[-2:]
    for key in keys:
        at.button(key=key).click()
        rerun_ok(at)


# ------------------------------------------------------------------ formulas with the live numbers
def test_formula_float32_0_1_has_its_numbers():
    at = open_bits(format="float32", value="0.1")
    tex = latex(at)[0]
    assert "2^{e-\\mathrm{bias}}\\cdot(1+m)" in tex
    assert "2^{E-1}-1 = 2^{7}-1 = 127" in tex
    assert "2^{123-127}" in tex  # e = 123, bias 127
    assert "2^{-1}+2^{-4}+2^{-5}+2^{-8}+\\cdots" in tex and "\\tfrac{5033165}{8388608}" in tex
    assert "= 0.100000001490116119384765625" in tex
    assert "e = 123 minus the bias 127" in texts(at)


def test_formula_subnormal_code():
    at = open_bits(format="float32", hex="1")
    tex = latex(at)[0]
    assert "2^{1-\\mathrm{bias}}\\cdot(0+m)" in tex and "2^{1-127}" in tex
    assert "m &= \\textstyle\\sum_{n=1}^{23} b_n 2^{-n} = 2^{-23}" in tex
    assert "\\approx 1.4012984643248171\\times 10^{-45}" in tex
    assert "subnormal form" in texts(at)


def test_formula_e8m0_is_a_power_of_two():
    at = open_bits(format="float8_e8m0fnu", hex="80")
    tex = latex(at)[0]
    assert "x &= 2^{e-\\mathrm{bias}}" in tex and "2^{128-127}" in tex and "&= 2" in tex
    assert "(-1)" not in tex and "m &=" not in tex  # no sign bit, no mantissa


def test_formula_fnuz_says_its_bias():
    at = open_bits(format="float8_e4m3fnuz", value="1")
    tex = latex(at)[0]
    assert "\\mathrm{bias} &= 8 \\;\\ne\\; 2^{E-1}-1 = 7" in tex and "2^{8-8}" in tex
    assert "uses bias 8, one more than 2^(E−1)−1 = 7" in texts(at)


@pytest.mark.parametrize(
    ("query", "needle", "said"),
    [
        ({"format": "float32", "value": "nan"}, "m = 4194304 \\ne 0 \\;\\Rightarrow\\; \\mathrm{NaN}", "is NaN"),
        ({"format": "float8_e4m3fnuz", "hex": "80"}, "s = 1,\\; e = 0,\\; m = 0 \\;\\Rightarrow\\; \\mathrm{NaN}", "is NaN"),
        ({"format": "float32", "value": "-inf"}, "x = -\\infty", "reserved for infinity"),
        ({"format": "float32", "value": "-0"}, "e = 0,\\; m = 0 \\;\\Rightarrow\\; x = -0", "this code is -0"),
    ],
)
def test_special_codes_say_what_they_are(query, needle, said):
    at = open_bits(**query)
    tex = latex(at)[0]
    assert needle in tex and "bias" not in tex
    assert said in texts(at)


# ------------------------------------------------------------------ fixes
def test_half_ulp_sentence_only_when_true():
    at = open_bits(format="float32", value="0.1")
    assert "never errs by more than ½ ulp" in texts(at)
    at = open_bits(format="float8_e4m3fn", value="500", saturate="1")
    assert stored(at) == "448"
    assert "never errs by more than ½ ulp" not in texts(at)
    assert "Overflow, clamped." in texts(at) and "*Saturate* is on" in texts(at)
    at = open_bits(format="float4_e2m1fn", value="100")  # no inf, no NaN: clamped without Saturate
    assert stored(at) == "6"
    assert "never errs by more than ½ ulp" not in texts(at) and "has no infinity and no NaN" in texts(at)
    at = open_bits(format="float8_e8m0fnu", value="1e-60")  # no zero: the smallest value
    assert "never errs by more than ½ ulp" not in texts(at) and "Below the smallest value." in texts(at)


def test_negative_zero_is_shown_as_minus_zero():
    at = open_bits(format="float32", value="-0")
    md = "\n".join(m.value for m in at.markdown)
    assert '<td class="ql-mono">-0</td>' in md  # neighbours: this code
    df = at.dataframe[0].value
    values = dict(zip(df.iloc[:, 0], df["Stored value"]))
    assert values["float32"] == "-0" and values["bfloat16"] == "-0"
    assert values["float8_e4m3fnuz"] == "0"  # fnuz has no -0
    at = open_bits(format="float32", hex="80000001")  # -smallest subnormal: code − 1 is -0
    assert at.button(key="bits_down").label.endswith("· -0")
    at = open_bits(format="float32", hex="1")  # next down of 2^-149 is +0, shown as 0
    md = "\n".join(m.value for m in at.markdown)
    assert '<td class="ql-mono">0x00000000</td><td class="ql-mono">0</td>' in md
    assert at.button(key="bits_down").label.endswith("· 0")


def test_custom_layout_out_of_range_in_url_is_reported():
    at = open_bits(format="custom", e="99", m="4")
    warnings = " ".join(w.value for w in at.warning)
    assert "e='99' is outside 1…16: 16 is used." in warnings
    assert at.number_input(key="bits_fmt_e").value == 16
    assert at.query_params["e"] == "16"
    at = open_bits(format="custom", e="8", m="70")
    assert "m='70' is outside 0…55: 55 is used." in " ".join(w.value for w in at.warning)
    assert not at.error


# ------------------------------------------------------------------ cast view
def cast_result(at: AppTest) -> str:
    """The cast view's result line (markdown starting with **Result**)."""
    return next(m.value for m in at.markdown if m.value.startswith("**Result**"))


@pytest.mark.parametrize(
    ("src", "value", "dst", "needle"),
    [
        ("float32", "0.1", "bfloat16", "round up by one"),
        ("float32", "1.00390625", "bfloat16", "the last kept bit is already 0"),  # 1 + 2^-8: tie, even stays
        ("float32", "0.0009765625", "float8_e4m3fn", "Underflow to zero"),  # 2^-10: half of 2^-9, tie to 0
        ("float32", "0.001", "float8_e4m3fn", "Underflow to a subnormal"),
        ("float32", "500", "float8_e4m3fn", "it becomes NaN"),
        ("float32", "70000", "float16", "it becomes ±∞"),
        ("float32", "100", "float4_e2m1fn", "neither inf nor NaN"),
        ("bfloat16", "0.1", "float32", "zeros are appended"),
        ("float32", "1e-40", "float8_e8m0fnu", "has no zero: a value below"),  # a float32 subnormal
        ("float32", "0", "float8_e8m0fnu", "has no zero, so 0 becomes NaN"),
    ],
)
def test_cast_view_equals_quantlib(src, value, dst, needle):
    at = open_bits(format=src, value=value, cast=dst)
    code = round_value(value, src)
    want = decompose(round_value(code_value(code, src), dst), dst)
    assert f"**{want.hex}**" in cast_result(at)
    assert needle in texts(at)
    assert at.query_params.get("cast") == (None if dst == "bfloat16" else dst)  # the default is left out


def test_cast_view_default_rebias_and_dropped_bits():
    at = open_bits(format="float32", value="0.1")
    assert at.selectbox(key="bits_cast_fmt").value == "bfloat16"
    assert "cast" not in at.query_params  # the default target is left out of the URL
    assert "= 123 - 127 + 127 = 123" in latex(at)[1]
    assert "**0x3DCD**" in cast_result(at)
    assert "<s " in "\n".join(m.value for m in at.markdown)  # the dropped bits, struck through


def test_cast_view_target_picker_saturate_and_url():
    at = open_bits(format="float32", value="500")
    at.selectbox(key="bits_cast_fmt").set_value("float8_e4m3fn")
    rerun_ok(at)
    assert at.query_params["cast"] == "float8_e4m3fn"
    assert "**0x7F**" in cast_result(at)
    at.toggle(key="bits_cast_saturate").set_value(True)
    rerun_ok(at)
    assert at.query_params["cast_sat"] == "1"
    assert "**0x7E**" in cast_result(at) and "Overflow, saturated." in texts(at)
    at.selectbox(key="bits_cast_fmt").set_value("custom")
    rerun_ok(at)
    assert at.query_params["cast"] == "custom" and at.query_params["cast_e"] == "4"


def test_cast_view_specials_and_bad_url():
    at = open_bits(format="float32", value="nan", cast="float4_e2m1fn")
    assert any("has no NaN, so this NaN cannot be cast" in e.value for e in at.error)
    at = open_bits(format="float32", value="-0", cast="float8_e4m3fnuz")
    assert "−0 becomes +0" in texts(at) and "**0x00**" in cast_result(at)
    at = open_bits(format="float32", value="0.1", cast="fp4")
    assert any("cast='fp4' ignored" in w.value for w in at.warning)
    assert at.selectbox(key="bits_cast_fmt").value == "bfloat16"
    at = open_bits(format="float32", value="1.5", cast="custom", cast_e="99", cast_m="2", cast_nonfinite="fn")
    assert any("cast_e='99' is outside 1…16: 16 is used." in w.value for w in at.warning)
    assert at.number_input(key="bits_cast_fmt_e").value == 16
    assert "**0x" in cast_result(at)
