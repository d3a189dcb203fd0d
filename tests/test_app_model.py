"""The PTQ studio page (/model) through Streamlit's AppTest (no browser): defaults, another
recipe, the per-layer mix, the SmoothQuant alpha, the language switch and rerun times.
Every number checked here is recomputed with quantlib.model directly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("tokenizers")
from streamlit.testing.v1 import AppTest

from quantlib.model import load_model, model_dir, tokenize
from quantlib.model.evalset import EVAL_TEXTS
from quantlib.model.recipes import (
    RECIPES,
    calibrate_model,
    reference,
    run_recipe,
    with_float_layers,
)

try:
    model_dir()
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"the model package is not installed: {exc}", allow_module_level=True)
from tests.apptest import charts, markdown, rerun_ok

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "app_pages/model.py"
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def direct():
    """The model, eval batch and float32 reference, computed without the page."""
    m = load_model()
    b = tokenize(list(EVAL_TEXTS))
    return m, b, reference(m, b)


def open_model(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if "lang" in query:
        at.query_params["lang"] = query["lang"]
    at.run()
    at.switch_page(PAGE)
    at.query_params.update(query)
    t0 = time.perf_counter()
    at.run()
    TIMES.setdefault("first", time.perf_counter() - t0)
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    table = at.dataframe[0].value
    return dict(zip(table["Metric"], table["Value"]))[label]


def meaning(at: AppTest, label: str) -> str:
    table = at.dataframe[0].value
    return dict(zip(table["Metric"], table["What it measures"]))[label]


# ------------------------------------------------------------------ defaults
def test_defaults(direct):
    m, b, ref = direct
    at = open_model()
    assert at.title[0].value == "PTQ studio"
    assert at.selectbox(key="model_recipe").value == "tflite_int8"
    assert at.slider(key="model_n_calib").value == 16
    assert at.multiselect(key="model_keep").value == []
    # the metrics are quantlib's
    res = run_recipe(m, "tflite_int8", b, ref, calibrate_model(m, 16))
    assert metric(at, "mean cosine to float32") == f"{res.metrics.mean_cosine:.6f}"
    assert metric(at, "model size") == f"{res.size.total / 1e6:.2f} MB"
    assert meaning(at, "model size").startswith(f"{res.size.total:,} bytes")
    # the TFLite converter code is shown
    assert any("representative_dataset" in c.value for c in at.code)
    # the sections are lazy tabs: only the first (every recipe compared) is computed
    assert [t.label for t in at.tabs] == ["Every recipe", "Activation outliers", "SmoothQuant", "Per-layer sensitivity", "Calibration", "GPTQ and AWQ", "One layer up close"]
    # the bytes part by part (always), then the first tab's size/cosine and parts charts
    assert len(charts(at)) == 3
    size = charts(at)[0]
    assert [t["name"] for t in size["data"][:4]] == ["embeddings", "Linear weights (codes)", "scales and zero points", "LayerNorms and biases"]
    parts = res.size.parts()
    chosen = [t["x"][2] for t in size["data"][:4]]  # bars: float32, float16, the recipe, with embeddings quantized
    assert chosen == pytest.approx([v / 1e6 for v in parts.values()])
    assert sum(parts.values()) == res.size.total
    table = next(d.value for d in at.dataframe if "Recipe" in d.value.columns)
    assert table["Recipe"].tolist() == [r.title for r in RECIPES.values()]
    info = at.info[0].value  # the vocabulary note
    assert "244 CJK characters" in info and "(0% [UNK])" in info
    assert not at.query_params.get("section")  # the default section is not written into the URL


@pytest.mark.parametrize(
    "section, chart, text",
    [
        ("outliers", "absmax", "layer0 856 ([CLS])"),
        ("smoothquant", None, "It hurts ffn_down in"),
        ("sensitivity", None, "The most sensitive:"),
        ("calibration", None, "Best end to end here:"),
    ],
)
def test_each_section_opens_from_the_url(section, chart, text):
    """Each lazy section computes and shows its findings when opened (here from ?section=)."""
    at = open_model(section=section)
    assert len(charts(at)) == 2  # the size parts, and that section's chart: nothing else computed
    page_text = markdown(at) + "\n".join(c.value for c in at.caption)
    assert text in page_text
    if section == "smoothquant":
        assert "Whole model, best variant:" in page_text


def test_url_state_round_trip_and_bad_values():
    at = open_model(recipe="w8a8", calib="8", section="calibration")
    assert at.selectbox(key="model_recipe").value == "w8a8" and at.slider(key="model_n_calib").value == 8
    assert dict(at.query_params) == {"recipe": ["w8a8"], "calib": ["8"], "section": ["calibration"]} or (
        at.query_params.get("recipe") in ("w8a8", ["w8a8"]) and at.query_params.get("section") in ("calibration", ["calibration"])
    )
    bad = open_model(recipe="nope", calib="99", section="everything")
    warnings = " ".join(w.value for w in bad.warning)
    assert "recipe='nope'" in warnings and "calib='99'" in warnings and "section='everything'" in warnings
    assert bad.selectbox(key="model_recipe").value == "tflite_int8" and bad.slider(key="model_n_calib").value == 16


def test_rerun_is_cached():
    at = open_model()
    t0 = time.perf_counter()
    rerun_ok(at)
    TIMES["cached"] = time.perf_counter() - t0
    print(f"\n/model AppTest rerun: first {TIMES.get('first', float('nan')):.2f} s, cached {TIMES['cached']:.2f} s")
    assert not at.exception  # the time is printed, not asserted (benchmarks are not tests)


# ------------------------------------------------------------------ another recipe, the mix
def test_another_recipe(direct):
    m, b, ref = direct
    at = open_model()
    at.selectbox(key="model_recipe").set_value("w8a8")
    rerun_ok(at)
    res = run_recipe(m, "w8a8", b, ref)
    assert metric(at, "mean cosine to float32") == f"{res.metrics.mean_cosine:.6f}"
    assert not any("representative_dataset" in c.value for c in at.code)
    assert any("TFLite has no converter setting" in c.value for c in at.caption)
    # the sensitivity caption names the recipe
    at.query_params["section"] = "sensitivity"
    rerun_ok(at)
    assert any(RECIPES["w8a8"].title in c.value for c in at.caption)


def test_per_layer_mix(direct):
    m, b, ref = direct
    at = open_model()
    at.selectbox(key="model_recipe").set_value("w8a8")
    rerun_ok(at)
    plain = float(metric(at, "mean cosine to float32"))
    at.multiselect(key="model_keep").set_value(["ffn_down"])
    rerun_ok(at)
    mixed = float(metric(at, "mean cosine to float32"))
    res = run_recipe(m, with_float_layers("w8a8", ["ffn_down"]), b, ref)
    assert mixed == pytest.approx(res.metrics.mean_cosine, abs=1e-6)
    assert mixed > plain
    assert metric(at, "model size") == f"{res.size.total / 1e6:.2f} MB"
    assert meaning(at, "model size").startswith(f"{res.size.total:,} bytes")


def test_representative_dataset_size(direct):
    m, b, ref = direct
    at = open_model()
    at.slider(key="model_n_calib").set_value(4)
    rerun_ok(at)
    res = run_recipe(m, "tflite_int8", b, ref, calibrate_model(m, 4))
    assert metric(at, "mean cosine to float32") == f"{res.metrics.mean_cosine:.6f}"


# ------------------------------------------------------------------ SmoothQuant
def test_alpha_change():
    at = open_model(section="smoothquant")
    assert "At α = 0.50," in markdown(at)
    per_linear = lambda: next(d.value for d in at.dataframe if "W8A8 + SmoothQuant" in d.value.columns)  # noqa: E731
    before = per_linear().copy()  # the per-Linear SmoothQuant table
    at.slider(key="model_alpha").set_value(0.8)
    rerun_ok(at)
    assert "At α = 0.80," in markdown(at)
    after = per_linear()
    assert after["W8A8"].tolist() == before["W8A8"].tolist()  # unsmoothed: unchanged
    assert after["W8A8 + SmoothQuant"].tolist() != before["W8A8 + SmoothQuant"].tolist()
    legend = [t.get("name") for t in charts(at)[1]["data"]]
    assert "after smoothing (α = 0.80)" in legend


def test_chinese():
    at = open_model(lang="zh_CN")
    assert at.title[0].value == "PTQ 工作室"


# ------------------------------------------------------------------ GPTQ and AWQ
PTQ_N = 32  # calibration texts of these tests (the page's smallest choice)


def test_gptq_chosen_with_the_widget(direct):
    """Choosing GPTQ on the NF4 recipe runs it (the numbers equal quantlib's own run) and says
    what it did against RTN, per Linear and per text; the setting survives later reruns."""
    from quantlib.model.evalset import paired_difference
    from quantlib.model.ptq import calibration_batch, run_method

    m, b, ref = direct
    at = open_model(recipe="nf4", ptq_calib=str(PTQ_N))
    rtn_cos = metric(at, "mean cosine to float32")
    at.selectbox(key="model_method").set_value("gptq")
    rerun_ok(at)
    res, rep = run_method(m, "nf4", "gptq", b, ref, calib_batch=calibration_batch(PTQ_N))
    assert metric(at, "mean cosine to float32") == f"{res.metrics.mean_cosine:.6f}" != rtn_cos
    d, se = paired_difference(ref, run_recipe(m, "nf4", b, ref).embeddings, res.embeddings)
    s = rep.summary()
    text = markdown(at)
    assert f"**GPTQ** on {PTQ_N} calibration texts ({s['n_tokens']:,} tokens)" in text
    assert f"{s['n_better']} of {s['n_linears']} Linears" in text and f"{d:+.5f} ± {se:.5f} per text" in text
    assert at.query_params.get("method") in ("gptq", ["gptq"])
    at.query_params["section"] = "outliers"  # another tab: the method stays
    rerun_ok(at)
    assert at.selectbox(key="model_method").value == "gptq" and at.selectbox(key="model_recipe").value == "nf4"


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"method": "awq"}, "AWQ is not applied: TFLite's recipes round with TFLite's own int8 rules."),
        ({"recipe": "w8a8", "method": "gptq"}, "this recipe also quantizes the activations (int8)"),
        ({"recipe": "nf4_dq", "method": "gptq"}, "GPTQ cannot use this grid (nf4:block=64,dq: double quantization"),
        ({"recipe": "float32", "method": "awq"}, "AWQ is not applied: float32 quantizes nothing."),
    ],
)
def test_method_refused_with_its_reason(direct, query, expected):
    m, b, ref = direct
    at = open_model(**query)
    assert any(expected in i.value for i in at.info), [i.value for i in at.info]
    assert "calibration texts (" not in markdown(at)  # no method summary: the recipe as it is
    recipe = query.get("recipe", "tflite_int8")
    if recipe == "w8a8":
        assert metric(at, "mean cosine to float32") == f"{run_recipe(m, 'w8a8', b, ref).metrics.mean_cosine:.6f}"


def test_method_bad_url_values():
    at = open_model(method="sgd", ptq_calib="7")
    warnings = " ".join(w.value for w in at.warning)
    assert "method='sgd'" in warnings and "ptq_calib='7'" in warnings
    assert at.selectbox(key="model_method").value == "rtn"


def test_methods_compared(direct):
    """The tab computes nothing until asked; then nine runs, a chart of three lines, a table of
    nine rows whose RTN rows equal quantlib's, and one finding per method and grid."""
    from quantlib.model.recipes import custom_recipe

    m, b, ref = direct
    at = open_model(section="methods", ptq_calib=str(PTQ_N))
    if len(charts(at)) < 2:  # not computed by an earlier test in this process
        assert "nine quantizations of the whole model" in markdown(at)
        at.button(key="model_run_methods").click()
        rerun_ok(at)
    fig = charts(at)[1]
    assert [t["name"] for t in fig["data"]] == ["RTN", "GPTQ", "AWQ"]
    table = next(d.value for d in at.dataframe if "method" in d.value.columns)
    assert len(table) == 9 and table["method"].tolist() == ["RTN", "GPTQ", "AWQ"] * 3
    for i, grid in enumerate(("int4:block=64", "int3:block=64", "int2:block=64")):
        cos = run_recipe(m, custom_recipe(grid), b, ref).metrics.mean_cosine
        assert table["mean cos"].iloc[3 * i] == f"{cos:.5f}"
        assert fig["data"][0]["y"][2 - i] == pytest.approx(1 - cos, rel=1e-9)  # x: bits ascending
    findings = [line for line in markdown(at).split("\n") if line.startswith("- int")]
    assert len(findings) == 6 and all(("RTN" in f) and ("× smaller than RTN's" in f) for f in findings)


# ------------------------------------------------------------------ bytes, formulas, close-up
def test_embeddings_quantized_from_the_url(direct):
    """?emb=1 quantizes the word table with the recipe's scheme: the size and metrics are
    quantlib's for that recipe, the embeddings part shrinks."""
    from quantlib.model.recipes import RECIPES, with_quantized_embeddings
    from quantlib.model.size import model_size

    m, b, ref = direct
    at = open_model(recipe="nf4", emb="1")
    assert at.toggle(key="model_emb").value is True
    r = with_quantized_embeddings(RECIPES["nf4"])
    res = run_recipe(m, r, b, ref)
    assert metric(at, "model size") == f"{res.size.total / 1e6:.2f} MB"
    assert metric(at, "mean cosine to float32") == f"{res.metrics.mean_cosine:.6f}"
    on, off = model_size(m, r).parts(), model_size(m, RECIPES["nf4"]).parts()
    assert on["embeddings"] < off["embeddings"] / 5 and on["linear_codes"] == off["linear_codes"]
    assert f"{on['embeddings'] / 1e6:.2f} MB" in "\n".join(c.value for c in at.caption)
    # a recipe with no weight scheme for the table: the switch is off and disabled
    f16 = open_model(recipe="tflite_float16", emb="1")
    assert f16.toggle(key="model_emb").disabled


def test_smoothquant_and_calibration_formulas():
    at = open_model(section="smoothquant")
    latex = [e.value.strip("$\n") for e in at.get("latex")]
    assert len(latex) == 3 and latex[0].startswith(r"s_j = \frac{\max|X_j|^{\alpha}}")
    cal = open_model(section="calibration")
    latex = [e.value.strip("$\n") for e in cal.get("latex")]
    assert len(latex) == 4 and latex[0].startswith(r"T = \max|x| = ")
    assert latex[1].startswith(r"T = P_{99.99}(|x|)") and "KL" in latex[3]
    cal.select_slider(key="model_cal_pct").set_value(99.9)
    rerun_ok(cal)
    assert cal.get("latex")[1].value.strip("$\n").startswith(r"T = P_{99.9}(|x|)")


def test_closeup_section_from_the_url():
    at = open_model(section="closeup", ptq_calib="32", layer="layer0.attn_out", grid="int2:block=64")
    assert at.selectbox(key="model_closeup_layer").value == "layer0.attn_out"
    assert any("At the end: GPTQ" in c.value for c in at.caption)
    assert at.query_params.get("layer") in ("layer0.attn_out", ["layer0.attn_out"])
