"""/learn through Streamlit's AppTest: the framework (URL lesson / done / teacher, bad URL values
as notes, previous / next, progress, the teacher's mode and the shared links, the summary's
download button) and lessons 2–5 (float fields, the format table, casts, blocks), every number
and every answer checked against quantlib."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lab.learn import core as lc
from lab.learn.lessons.blocks import ruined_blocks
from lab.learn.lessons.casts import outcome
from lab.learn.lessons.float_fields import sum_check
from lab.learn.state import LEARN, lesson_link, lesson_query
from quantlib import get_format, quantize
from quantlib.exact import decompose, round_value
from quantlib.exact.cast_steps import cast_steps
from tests.apptest import markdown, open_page, rerun_ok

PAGE = "app_pages/learn.py"


def latex(at) -> list[str]:
    return [e.proto.body for e in at.get("latex")]


def verdicts(at) -> list[str]:
    return [x.value for x in (*at.success, *at.warning, *at.info) if x.value.startswith(("Right", "Not quite", "The answer"))]


def reveal(at, lesson: str, choice: int):
    at.radio(key=f"learn_{lesson}_q").set_value(choice)
    rerun_ok(at)
    at.button(key=f"learn_{lesson}_q_reveal").click()
    return rerun_ok(at)


def buttons(at) -> set[str]:
    return {b.key for b in at.button}


# --------------------------------------------------------------------------- framework
def test_defaults_open_the_first_lesson():
    at = open_page(PAGE)
    assert at.session_state[LEARN.lesson] == "quantization"
    assert at.header[0].value.startswith("1. What quantization is")
    assert at.get("progress")[0].proto.text == "0 of 13 lessons done"
    assert "learn_next" in buttons(at) and "learn_prev" not in buttons(at)
    assert at.get("download_button")  # the printable summary


def test_url_lesson_done_teacher():
    at = open_page(PAGE, lesson="casts", done="quantization,float_fields", teacher="1")
    assert at.header[0].value.startswith("4. Float to float")
    assert at.get("progress")[0].proto.text == "2 of 13 lessons done"
    assert at.toggle(key=LEARN.teacher).value is True
    assert "learn_casts_q_reveal" not in buttons(at)
    assert any("Teacher's mode" in c.value for c in at.caption)
    assert at.query_params["lesson"] == ["casts"] or at.query_params["lesson"] == "casts"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"lesson": "nope"}, "lesson='nope'"),
        ({"teacher": "maybe"}, "teacher='maybe'"),
        ({"done": "quantization,bogus"}, "'bogus'"),
    ],
)
def test_bad_url_values_are_notes(query, words):
    at = open_page(PAGE, **query)
    notes = [w.value for w in at.warning]
    assert any(words in n for n in notes), notes
    assert at.session_state[LEARN.lesson] == "quantization"


def test_next_and_previous():
    at = open_page(PAGE)
    at.button(key="learn_next").click()
    rerun_ok(at)
    assert at.session_state[LEARN.lesson] == "float_fields"
    assert at.query_params["lesson"] in ("float_fields", ["float_fields"])
    at.button(key="learn_prev").click()
    rerun_ok(at)
    assert at.session_state[LEARN.lesson] == "quantization"
    last = open_page(PAGE, lesson="llm_text")
    assert "learn_next" not in buttons(last) and "learn_prev" in buttons(last)


@pytest.mark.parametrize("lesson_id", [info.id for info in lc.LESSONS])
def test_every_lesson_is_written_and_teaches(lesson_id):
    """Every lesson on the path has its module, and draws a formula, a question and a link
    into a tool: no placeholder."""
    import importlib

    assert callable(importlib.import_module(lc.lesson_info(lesson_id).module).render)
    if lesson_id == "llm_text":
        return  # needs the language model; tests/test_app_learn_3.py opens it
    at = open_page(PAGE, lesson=lesson_id)
    assert not at.exception
    assert at.latex, "a formula with the numbers"
    assert at.radio(key=f"learn_{lesson_id}_q") is not None


def test_teacher_toggle_hides_and_shows_the_reveal():
    at = open_page(PAGE, lesson="blocks")
    assert "learn_blocks_q_reveal" in buttons(at)
    at.toggle(key=LEARN.teacher).set_value(True)
    rerun_ok(at)
    assert "learn_blocks_q_reveal" not in buttons(at)
    assert at.query_params["teacher"] in ("1", ["1"])
    at.toggle(key=LEARN.teacher).set_value(False)
    rerun_ok(at)
    assert "learn_blocks_q_reveal" in buttons(at)


def test_share_links():
    at = open_page(PAGE, lesson="formats", lang="zh_CN")
    codes = [c.value for c in at.code]
    assert "/learn?lesson=formats&lang=zh_CN" in codes  # AppTest has no st.context.url: relative
    assert "/learn?lesson=formats&teacher=1&lang=zh_CN" in codes
    assert lesson_link("http://lab.example:8501/learn?lesson=x", lesson_query("casts")) == "http://lab.example:8501/learn?lesson=casts"
    assert lesson_link("https://lab.example/", {"lesson": "quantization", "done": "a,b"}) == "https://lab.example/learn?lesson=quantization&done=a,b"
    assert lesson_link(None, lesson_query("casts", teacher=True)) == "/learn?lesson=casts&teacher=1"


def test_tex_number():
    assert lc.tex_number(65504) == "65504"
    assert lc.tex_number(get_format("bfloat16").max, 3) == r"3.39 \times 10^{38}"


# --------------------------------------------------------------------------- lesson 2: float fields
def test_float_fields_numbers_change_with_the_format():
    at = open_page(PAGE, lesson="float_fields")
    f32 = "\n".join(latex(at))
    assert "2^{123 - 127}" in f32 and "(1 + 0.6000000238)" in f32 and "= 127" in f32
    at.selectbox(key="learn_float_fields_format").set_value("float16")
    rerun_ok(at)
    info = decompose(round_value("0.1", "float16"), "float16")
    f16 = "\n".join(latex(at))
    assert f"2^{{{info.exponent_field} - 15}}" in f16 and f"{float(Fraction(info.mantissa_field, 1024)):.10g}" in f16
    assert "2^{5-1} - 1 = 15" in f16
    assert info.decimal in markdown(at)


@pytest.mark.parametrize("fmt", ["float32", "float16", "bfloat16"])
def test_float_fields_predict(fmt):
    at = open_page(PAGE, lesson="float_fields")
    at.selectbox(key="learn_float_fields_format").set_value(fmt)
    rerun_ok(at)
    equal, dec = sum_check(fmt)
    reveal(at, "float_fields", 0 if equal else 1)
    (v,) = verdicts(at)
    assert v.startswith("Right") and dec["s"] in v and dec["c"] in v
    assert at.query_params["done"] in ("float_fields", ["float_fields"])
    assert equal == (fmt != "float16")  # float32 and bfloat16 say yes, float16 no


def test_float_fields_subnormal_and_bad_input():
    at = open_page(PAGE, lesson="float_fields")
    at.text_input(key="learn_float_fields_value").set_value("1e-40")
    rerun_ok(at)
    assert "2^{1 - 127}" in "\n".join(latex(at))
    at.text_input(key="learn_float_fields_value").set_value("abc")
    rerun_ok(at)
    assert at.error and "decimal number" in at.error[0].value


# --------------------------------------------------------------------------- lesson 3: formats
def test_formats_table_and_limits():
    at = open_page(PAGE, lesson="formats")
    table = at.dataframe[0].value
    assert list(table["name"])[-1] == "nf4" and "tfloat32" in set(table["name"])
    assert table.set_index("name").loc["float16", "max"] == "65504"
    assert "65504" in latex(at)[1] and r"\tfrac{1023}{2^{10}}" in latex(at)[1]
    at.selectbox(key="learn_formats_b").set_value("float8_e4m3fn")
    rerun_ok(at)
    assert "448" in latex(at)[1] and r"\tfrac{6}{2^{3}}" in latex(at)[1]
    assert at.get("plotly_chart")


@pytest.mark.parametrize(("a", "b", "answer"), [("bfloat16", "float16", 0), ("float8_e4m3fn", "float8_e5m2", 1), ("float16", "float16", 2)])
def test_formats_predict(a, b, answer):
    at = open_page(PAGE, lesson="formats")
    at.selectbox(key="learn_formats_a").set_value(a)
    at.selectbox(key="learn_formats_b").set_value(b)
    rerun_ok(at)
    reveal(at, "formats", answer)
    (v,) = verdicts(at)
    assert v.startswith("Right") and f"{get_format(a).max:.4g}" in v
    assert answer == (2 if a == b else (0 if get_format(a).max > get_format(b).max else 1))


# --------------------------------------------------------------------------- lesson 4: casts
@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [("0.1", "float32", "bfloat16", 2), ("500", "float32", "float8_e4m3fn", 3), ("1e-6", "float32", "float16", 4), ("0.1", "float16", "float32", 0), ("1.0009765625", "float16", "float8_e4m3fn", 1)],
)
def test_casts_predict(value, src, dst, expected):
    at = open_page(PAGE, lesson="casts")
    at.text_input(key="learn_casts_value").set_value(value)
    at.selectbox(key="learn_casts_src").set_value(src)
    at.selectbox(key="learn_casts_dst").set_value(dst)
    rerun_ok(at)
    steps = cast_steps(round_value(value, src), src, dst)
    assert outcome(steps) == expected
    f = latex(at)[0]
    assert f"= {steps.exponent} + {get_format(dst).bias} = {steps.dst_field}" in f
    reveal(at, "casts", expected)
    (v,) = verdicts(at)
    assert v.startswith("Right") and steps.src.decimal in v
    assert at.query_params["done"] in ("casts", ["casts"])


def test_casts_default_bits_and_bad_input():
    at = open_page(PAGE, lesson="casts")
    assert "123 - 127 = -4" in latex(at)[0]
    assert "`1001100`" in markdown(at) and "`1100110011001101`" in markdown(at)
    at.text_input(key="learn_casts_value").set_value("1e50")
    rerun_ok(at)
    assert at.error and "range" in at.error[0].value
    at.text_input(key="learn_casts_value").set_value("x")
    rerun_ok(at)
    assert at.error and "decimal number" in at.error[0].value


# --------------------------------------------------------------------------- lesson 5: blocks
def test_blocks_scales_and_answer():
    at = open_page(PAGE, lesson="blocks")
    x = np.float32([0.21, -0.43, 0.12, 0.35, -0.08, 9.5, 0.27, -0.16])
    qb = quantize(x, "int4:block=4")
    assert r"\frac{7}{9.5}" in latex(at)[0] and r"\frac{7}{0.43}" in latex(at)[0]
    assert ruined_blocks(x.astype(np.float64), qb.codes.reshape(-1)) == [1]
    reveal(at, "blocks", 1)
    (v,) = verdicts(at)
    assert v.startswith("Right")
    table = at.dataframe[0].value
    assert np.array_equal(table.iloc[:, 4].to_numpy(), qb.codes.reshape(-1))
    at.slider(key="learn_blocks_bits").set_value(8)
    rerun_ok(at)
    assert r"\frac{127}{9.5}" in latex(at)[0]


@pytest.mark.parametrize(("text", "answer"), [("9.5, 0.2, -0.1, 0.3, 0.4, -0.2, 0.1, 0.3", 0), ("1, -2, 3, -4, 5, -6, 7, -8", 3), ("30, 0.2, -0.1, 0.3, 0.4, -0.2, 0.1, 20", 2)])
def test_blocks_answer_follows_the_outlier(text, answer):
    at = open_page(PAGE, lesson="blocks")
    at.text_input(key="learn_blocks_values").set_value(text)
    rerun_ok(at)
    reveal(at, "blocks", answer)
    assert verdicts(at)[0].startswith("Right")


def test_blocks_bad_input_and_tool_link():
    at = open_page(PAGE, lesson="blocks")
    links = [p.proto.page for p in at.get("page_link")] if at.get("page_link") else []
    assert links == [] or any("tensor" in link for link in links)
    at.text_input(key="learn_blocks_values").set_value("1, 2, 3")
    rerun_ok(at)
    assert at.error and "exactly 8" in at.error[0].value


def test_chinese_lesson():
    at = open_page(PAGE, lesson="blocks", lang="zh_CN")
    assert "分块" in markdown(at) and not at.exception
