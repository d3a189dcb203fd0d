"""AppTest of the later /learn lessons: QAT's STE, binary/linear/log, SmoothQuant and a language
model's text; every number checked against quantlib, every answer against what quantlib says."""

from __future__ import annotations

import numpy as np
import pytest

from lab.learn.lessons.binary_log import schemes
from lab.learn.lessons.smoothquant import _data, _w8a8_error
from quantlib import quantize
from quantlib.model.smoothquant import smoothing_factors
from quantlib.train.fakequant import sym_fixed
from tests.apptest import open_page, rerun_ok


def _reveal(at, lesson: str, choice: int):
    at.radio(key=f"learn_{lesson}_q").set_value(choice)
    rerun_ok(at)
    at.button(key=f"learn_{lesson}_q_reveal").click()
    return rerun_ok(at)


def _verdicts(at) -> list[str]:
    return [x.value for x in (*at.success, *at.warning, *at.info)]


def test_smoothquant_numbers_and_answer():
    at = open_page("app_pages/learn.py", lesson="smoothquant")
    at.slider(key="learn_smoothquant_outlier").set_value(60)
    at.slider(key="learn_smoothquant_alpha").set_value(0.5)
    rerun_ok(at)
    x, w, j = _data(60.0, 0)
    s = smoothing_factors(np.abs(x).max(axis=0), w, 0.5)
    assert f"{s[j]:.4g}" in at.latex[0].value
    before, after = _w8a8_error(x, w), _w8a8_error(x / s, w * s)
    assert after < before  # the lesson's default shows the effect
    _reveal(at, "smoothquant", 0)
    (v,) = _verdicts(at)
    assert v.startswith("Right") and f"{before:.4f}" in v and f"{after:.4f}" in v
    assert at.query_params["done"] == "smoothquant"


def test_smoothquant_without_outlier_can_lose():
    at = open_page("app_pages/learn.py", lesson="smoothquant")
    at.slider(key="learn_smoothquant_outlier").set_value(1)
    at.slider(key="learn_smoothquant_alpha").set_value(0.0)
    rerun_ok(at)
    x, w, _j = _data(1.0, 0)
    s = smoothing_factors(np.abs(x).max(axis=0), w, 0.0)
    worse = _w8a8_error(x / s, w * s) >= _w8a8_error(x, w)
    _reveal(at, "smoothquant", 1)
    (v,) = _verdicts(at)
    assert v.startswith("Right") == worse


@pytest.mark.parametrize("bits", [2, 4])
def test_binary_log_table_and_answer(bits):
    at = open_page("app_pages/learn.py", lesson="binary_log")
    at.slider(key="learn_binary_log_bits").set_value(bits)
    at.number_input(key="learn_binary_log_seed").set_value(3)
    rerun_ok(at)
    w = np.random.default_rng(3).normal(0.0, 0.5, 8).astype(np.float32)
    mse = {k: float(np.mean((quantize(w, s).dequantize() - w) ** 2)) for k, s in schemes(bits).items()}
    table = at.dataframe[1].value
    assert np.allclose(table.iloc[:, 3].to_numpy(), [mse[k] for k in ("binary", "ternary", "linear", "log")])
    linear_wins = mse["linear"] <= mse["log"]
    _reveal(at, "binary_log", 0)
    assert _verdicts(at)[0].startswith("Right") == linear_wins


@pytest.mark.parametrize(("w", "inside"), [(0.3, True), (1.5, False)])
def test_qat_ste(w, inside):
    at = open_page("app_pages/learn.py", lesson="qat")
    at.slider(key="learn_qat_bits").set_value(4)
    at.slider(key="learn_qat_w").set_value(w)
    rerun_ok(at)
    q, code = sym_fixed(np.float32([w]), 1.0, bits=4)
    assert f"= {q[0]:.4g}" in at.latex[0].value and f"\\frac{{{int(code[0])}}}" in at.latex[0].value
    assert ("= 0" in at.latex[1].value) != inside
    _reveal(at, "qat", 0)
    assert _verdicts(at)[0].startswith("Right") == inside


def test_teacher_mode_hides_the_answer():
    at = open_page("app_pages/learn.py", lesson="qat", teacher="1")
    assert not [b for b in at.button if b.key == "learn_qat_q_reveal"]
    assert any("Teacher" in c.value for c in at.caption)


def test_llm_text_answer_follows_the_generation():
    from lab.llm import cached as lc

    if not lc.available():
        pytest.fail("the language model package is part of the test requirements")
    at = open_page("app_pages/learn.py", timeout=300, lesson="llm_text")
    at.radio(key="learn_llm_text_w").set_value("q8_0")
    rerun_ok(at)
    _reveal(at, "llm_text", 0)
    ref = lc.reference_generation("What is the capital of France?", 24)
    gen = lc.generation("q8_0", None, (), None, None, "What is the capital of France?", 24)
    same = np.array_equal(ref["ids"], gen["ids"])
    assert _verdicts(at)[0].startswith("Right") == same
    assert lc.tokenizer().decode(gen["ids"], skip_special=True) in [m.value for m in at.markdown]
