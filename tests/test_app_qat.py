"""The quantization-aware training page (/qat) through Streamlit's AppTest: the default study,
URL state, bad URL parameters, the Train form, caching by settings, and the Chinese page."""

from __future__ import annotations

from lab.qat import cached as qc
from lab.qat.state import DEFAULTS, QAT
from tests.apptest import charts, markdown, open_page, rerun_ok

PAGE = "app_pages/qat.py"
FAST = {"bits": "4,2", "epochs": "1"}


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_default_page_runs_the_default_study():
    at = open_page(PAGE, timeout=120)
    assert at.session_state[QAT.applied] == DEFAULTS
    assert len(charts(at)) == 4
    text = markdown(at)
    assert "At 2 bits QAT reaches" in text
    assert "· QAT 5 epochs, lr 0.001 · weights per output channel · fixed clips · seed 0." in captions(at)
    study = qc.cached_study(DEFAULTS)
    acc = {(r.method, r.bits): r.accuracy for r in study.rows}
    shown = at.dataframe[0].value
    assert shown.iloc[-1].tolist()[-1] == f"{100 * acc[('qat', 2)]:.1f}%"
    assert len(at.dataframe[1].value) == 1 + len(study.families)
    assert dict(at.query_params) == {}


def test_url_state_and_cache():
    at = open_page(PAGE, timeout=120, **FAST, gran="tensor", lsq="1", cal="kl", n="64", seed="3")
    s = at.session_state[QAT.applied]
    assert (s.bits, s.epochs, s.per_channel, s.learnable, s.calibration, s.n_calib, s.seed) == ((4, 2), 1, False, True, "kl", 64, 3)
    assert "calibration KL (entropy, TensorRT) on 64 images · QAT 1 epochs" in captions(at)
    misses = qc.MISSES["study"]
    rerun_ok(at)
    assert qc.MISSES["study"] == misses  # same settings: stored study, nothing trained
    assert at.query_params["gran"] == "tensor" and at.query_params["lsq"] == "1" and at.query_params["bits"] == "4,2"


def test_bad_url_parameters_warn_and_fall_back():
    at = open_page(PAGE, timeout=120, bits="4,2,99", epochs="x", cal="max", gran="row")
    warnings = [w.value for w in at.warning]
    assert any("bits: '99' ignored" in w for w in warnings)
    assert any("epochs='x' is not an integer" in w for w in warnings)
    assert any("cal='max' is not one of" in w for w in warnings)
    assert any("gran='row' is not one of" in w for w in warnings)
    s = at.session_state[QAT.applied]
    assert s.bits == (4, 2) and s.calibration == DEFAULTS.calibration and s.per_channel


def test_train_form_applies_the_settings():
    at = open_page(PAGE, timeout=120, **FAST)
    at.session_state[QAT.epochs] = 2
    at.session_state[QAT.gran] = "tensor"
    at.button[0].click()  # the form's Train button
    rerun_ok(at)
    s = at.session_state[QAT.applied]
    assert s.epochs == 2 and not s.per_channel
    assert at.query_params["epochs"] == "2" and at.query_params["gran"] == "tensor"
    assert "weights per tensor" in captions(at)


def test_empty_bit_list_is_refused():
    at = open_page(PAGE, timeout=120, **FAST)
    at.session_state[QAT.bits] = []
    at.button[0].click()
    rerun_ok(at)
    assert any("Choose at least one bit width." in w.value for w in at.warning)
    assert at.session_state[QAT.applied].bits == (4, 2)


def test_chinese_page():
    at = open_page(PAGE, timeout=120, lang="zh_CN", **FAST)
    assert at.title[0].value != "Quantization-aware training"
    assert "QAT" in markdown(at)
    assert len(charts(at)) == 4
