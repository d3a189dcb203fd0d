"""MiniLM's one Linear up close: quantlib.model.closeup (its input is what the forward pass's
hook sees, GPTQ beats RTN on it, the AWQ groups of the whole-model run) and the tab through
AppTest (tests/pages/model_closeup_page.py calls lab.model.closeup.render)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers")
from streamlit.testing.v1 import AppTest

from quantlib.model import load_model, model_dir
from quantlib.model.closeup import awq_closeup, awq_group_of, gptq_closeup, linear_input
from quantlib.model.forward import float_linear, forward
from quantlib.model.ptq import calibration_batch

try:
    model_dir()
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"the model package is not installed: {exc}", allow_module_level=True)

PAGE = str(Path(__file__).resolve().parent / "pages" / "model_closeup_page.py")
N = 16  # calibration texts: a few hundred tokens keep every test at a few seconds


@pytest.fixture(scope="module")
def direct():
    m = load_model()
    return m, calibration_batch(N)


def test_input_is_what_the_hook_sees(direct):
    m, b = direct
    seen = {}

    def hook(lin, x):
        seen.setdefault(lin.name, x.copy())
        return float_linear(lin, x)

    forward(m, b, hook)
    for name in ("layer0.q", "layer1.attn_out", "layer1.ffn_down"):
        x = linear_input(m, b, name)
        assert x.shape == (b.n_tokens, m.linears[name].weight.shape[1])
        np.testing.assert_array_equal(x, seen[name])
    with pytest.raises(ValueError, match="no Linear"):
        linear_input(m, b, "layer9.q")


@pytest.mark.parametrize("name", ["layer0.ffn_up", "layer1.v"])
def test_gptq_ends_below_rtn(direct, name):
    m, b = direct
    cu = gptq_closeup(m, linear_input(m, b, name), name, "int3:block=64")
    assert cu.gptq_error < cu.rtn_error
    assert cu.curve.gptq[-1] == pytest.approx(cu.gptq_error) and cu.curve.rtn[-1] == pytest.approx(cu.rtn_error)
    assert cu.n_tokens == b.n_tokens


def test_awq_groups_as_the_whole_model_run(direct):
    m, b = direct
    assert awq_group_of(m, "layer3.k").members == ("layer3.q", "layer3.k", "layer3.v") and awq_group_of(m, "layer3.k").prev is None
    assert awq_group_of(m, "layer3.attn_out").members == ("layer3.attn_out",) and awq_group_of(m, "layer3.attn_out").prev == "layer3.v"
    assert awq_group_of(m, "layer3.ffn_up").members == ("layer3.ffn_up",) and awq_group_of(m, "layer3.ffn_down").prev is None
    a = awq_closeup(m, linear_input(m, b, "layer0.v"), "layer0.v", "int3:block=64")
    assert a.members == ("layer0.q", "layer0.k", "layer0.v")
    assert a.curve.best <= a.curve.rtn and a.search.scales.shape == (384,)


# --------------------------------------------------------------------------- the tab
def open_tab(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["test_n_texts"] = N
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_tab_from_the_url_and_its_widgets(direct):
    m, b = direct
    at = open_tab(layer="layer0.attn_out", grid="int2:block=64")
    assert at.selectbox(key="model_closeup_layer").value == "layer0.attn_out"
    assert at.selectbox(key="model_closeup_grid").value == "int2:block=64"
    x = linear_input(m, b, "layer0.attn_out")
    cu = gptq_closeup(m, x, "layer0.attn_out", "int2:block=64")
    assert f"At the end: GPTQ {cu.gptq_error:.4f}, RTN {cu.rtn_error:.4f}" in captions(at)
    assert "into row j of layer0.v and its bias" in captions(at)
    assert len(at.get("plotly_chart")) == 4
    # the step slider moves the live arithmetic
    at.slider(key="model_closeup_step_384").set_value(200).run()
    tr = cu.result.trace
    from quantlib.ptq.explain import gptq_step

    ws = gptq_step(tr, 200, int(abs(tr.err[:, int(tr.perm[199])]).argmax()))
    latex = " ".join(e.value for e in at.get("latex"))
    assert f"{ws.e:.5g}" in latex and f"{ws.next_after:.5g}" in latex
    # the layer and grid pickers, written back to the URL
    at.selectbox(key="model_closeup_layer").set_value("layer0.ffn_down").run()
    at.selectbox(key="model_closeup_grid").set_value("int4:block=64").run()
    assert not at.exception, at.exception
    assert at.query_params["layer"] == "layer0.ffn_down" and at.query_params["grid"] == "int4:block=64"
    assert "comes out of GELU" in captions(at)
    assert at.slider(key="model_closeup_step_1536").value == 1536 // 8
    at.checkbox(key="model_closeup_order").check().run()
    assert not at.exception and at.query_params["order"] == "1"


def test_bad_layer_and_grid_in_the_url_are_warnings():
    at = open_tab(layer="layer9.q", grid="int5:block=7")
    warnings = " ".join(w.value for w in at.warning)
    assert "There is no Linear 'layer9.q': the names are layer0.q … layer5.ffn_down. Showing layer2.ffn_up." in warnings
    assert r"URL parameter grid='int5\:block=7'" in warnings  # the note escapes markdown's specials (":" too): shown as typed
    assert at.selectbox(key="model_closeup_layer").value == "layer2.ffn_up"
    assert at.selectbox(key="model_closeup_grid").value == "int3:block=64"
