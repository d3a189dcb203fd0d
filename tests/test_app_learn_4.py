"""AppTest of /learn's middle lessons: asymmetric quantization, NF4 and double quantization,
mixed precision and PTQ calibration.  Every number is recomputed with quantlib, and every
answer the lesson reveals is checked against what quantlib says."""

from __future__ import annotations

import numpy as np
import pytest

from lab.learn.lessons import asymmetric, mixed_precision, nf4, ptq
from quantlib import cast, quantize
from quantlib.calibration import calibrate
from tests.apptest import open_page, rerun_ok

PAGE = "app_pages/learn.py"


def _reveal(at, lesson: str, choice: int):
    at.radio(key=f"learn_{lesson}_q").set_value(choice)
    rerun_ok(at)
    at.button(key=f"learn_{lesson}_q_reveal").click()
    return rerun_ok(at)


def _verdict(at) -> str:
    (v,) = [x.value for x in (*at.success, *at.warning, *at.info)]
    return v


def _latex(at) -> str:
    return " ".join(e.value for e in at.latex)


# ------------------------------------------------------------------ asymmetric
def test_asymmetric_formula_and_answer():
    at = open_page(PAGE, lesson="asymmetric")
    x = asymmetric.values(asymmetric.DEFAULT)
    q = quantize(x.astype(np.float32), "uint4")
    scale, z = float(q.scales.reshape(-1)[0]), int(q.zero_points.reshape(-1)[0])
    assert scale == pytest.approx(3.1 / 15) and z == 0  # all positive: the range starts at 0
    assert f"{scale:.6g}" in _latex(at)
    r = asymmetric.compare(x, 4)
    assert r["mse_asym"] < r["mse_sym"] and r["used_asym"] == 16 and r["used_sym"] == 8
    _reveal(at, "asymmetric", 1)
    v = _verdict(at)
    assert v.startswith("Not quite") and f"{r['mse_asym']:.4g}" in v


def test_asymmetric_centred_data_and_bad_input():
    x = np.array([-1.0, 1.0, -0.5, 0.5, -0.25, 0.25, -0.75, 0.75])
    r = asymmetric.compare(x, 4)
    d = (quantize(x.astype(np.float32), "uint4").dequantize() - x) ** 2
    assert r["mse_asym"] == pytest.approx(float(d.mean()))
    at = open_page(PAGE, lesson="asymmetric")
    at.text_input(key="learn_asymmetric_values").set_value("1, 2, three")
    rerun_ok(at)
    assert at.error and "exactly 8" in at.error[0].value


# ------------------------------------------------------------------ NF4
def test_nf4_numbers_and_spread():
    at = open_page(PAGE, lesson="nf4")
    w = nf4.weights("normal", 0)
    r = nf4.study(w)
    mse_nf = float(np.mean((quantize(w, "nf4:block=64").dequantize().astype(np.float64) - w) ** 2))
    assert r["nf4"]["mse"] == pytest.approx(mse_nf)
    ratio = r["int4"]["chunks"] / r["nf4"]["chunks"]
    assert ratio.min() > 1  # normal weights: NF4 wins in every chunk (the default shows the effect)
    text = " ".join(m.value for m in at.markdown)
    assert f"{ratio.mean():.3f}" in text and f"{ratio.min():.3f}" in text
    assert "4.5" in _latex(at) and f"{r['dq'].bits_per_element:.4g}" in _latex(at)
    _reveal(at, "nf4", 0)
    assert _verdict(at).startswith("Right")


def test_nf4_uniform_weights_flip_the_answer():
    at = open_page(PAGE, lesson="nf4")
    at.selectbox(key="learn_nf4_dist").set_value("uniform")
    rerun_ok(at)
    r = nf4.study(nf4.weights("uniform", 0))
    assert (r["int4"]["chunks"] / r["nf4"]["chunks"]).max() < 1
    _reveal(at, "nf4", 0)
    assert _verdict(at).startswith("Not quite: the answer is int4")


# ------------------------------------------------------------------ mixed precision
@pytest.mark.parametrize("e, s, outcome", [(-27, 0, "zero"), (-27, 10, "kept"), (-5, 24, "inf"), (-10, 0, "kept")])
def test_mixed_precision_gradient(e, s, outcome):
    r = mixed_precision.gradient(e, s)
    g = 1.3 * 2.0**e
    scaled = float(cast(np.array([g * 2.0**s]), "float16")[0])
    assert r["scaled"] == scaled and r["outcome"] == outcome
    assert r["bf16"] > 0  # bfloat16 keeps every one of these


def test_mixed_precision_page_and_master_copy():
    at = open_page(PAGE, lesson="mixed_precision")
    _reveal(at, "mixed_precision", 1)  # the default gradient 1.3·2^−27 is lost in float16
    assert _verdict(at).startswith("Right")
    at.slider(key="learn_mixed_precision_scale").set_value(10)
    rerun_ok(at)
    # a new question: the reveal is asked again
    assert at.button(key="learn_mixed_precision_q_reveal") is not None
    assert not at.success
    text = " ".join(m.value for m in at.markdown)
    assert "**lost** in float16" in text  # Δ = 2^−12 on w = 1
    assert mixed_precision.update(1.0, -12, "float16") == (1.0, 2.0**-10)


# ------------------------------------------------------------------ PTQ
def test_ptq_calibration_numbers_and_answer():
    at = open_page(PAGE, lesson="ptq")
    x = ptq.activations(30.0, 4, 0)
    r = ptq.study(x)
    for m, row in r.items():
        assert row["T"] == pytest.approx(calibrate(x, m, bits=8, percentile=99.9).threshold)
        d = quantize(x, "int8:cal=percentile,pct=99.9" if m == "percentile" else f"int8:cal={m}").dequantize().astype(np.float64)
        assert row["mse"] == pytest.approx(float(np.mean((d - x) ** 2)))
    assert r["kl"]["T"] < 10 < r["minmax"]["T"]  # KL clips the outliers, min-max keeps them
    assert r["kl"]["mse_bulk"] < r["minmax"]["mse_bulk"] and r["minmax"]["mse"] < r["kl"]["mse"]
    assert f"{r['minmax']['scale']:.4g}" in _latex(at)
    assert r["percentile"]["T"] < 10  # 4 outliers are 0.1% of the values: the 99.9th percentile clips them
    assert len(at.table[0].value) == 4  # TFLite's four modes
    _reveal(at, "ptq", 1)
    v = _verdict(at)
    assert v.startswith("Not quite") and f"{r['minmax']['mse']:.3g}" in v and f"{r['kl']['mse']:.3g}" in v


def test_formula_words_are_translated():
    """The words inside \\text{…} of a lesson's formula follow the language; symbols stay."""
    from lab.learn.core import TEX_WORDS

    at = open_page(PAGE, lesson="blocks", lang="zh_CN")
    latex = _latex(at)
    assert r"\text{按张量 }" in latex and r"\text{第 1 块 }" in latex and "per tensor" not in latex
    en = open_page(PAGE, lesson="blocks")
    assert r"\text{per tensor }" in _latex(en)
    assert "per tensor" in TEX_WORDS
