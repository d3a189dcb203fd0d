"""lab.core.state.Param: each page's URL parameters declared once, read and written by one rule."""

from __future__ import annotations

import pytest

from lab.amp import state as amp_state
from lab.bits import state as bits_state
from lab.core.state import Param, params_to_query
from lab.formats import state as fmts_state
from lab.llm import state as llm_state
from lab.model import state as model_state
from lab.qat import state as qat_state
from lab.tensor import state as tensor_state

ALL = {
    "bits": bits_state.PARAMS,
    "formats": fmts_state.PARAMS,
    "tensor": tensor_state.SOURCE_PARAMS + tensor_state.CHART_PARAMS + (tensor_state.ZOOM_PARAM,),
    "model": (model_state.recipe_param(["tflite_int8", "w8a8"]), model_state.CALIB_PARAM, model_state.TABS.param),
    "llm": llm_state.PARAMS + (llm_state.TABS.param,),
    "amp": amp_state.PARAMS,
    "qat": qat_state.PARAMS,
}


def test_int_reads_clamps_and_reports():
    p = Param("seed", "k", "int", default=0, lo=0, hi=9)
    assert p.read(" 7 ") == (7, None)
    value, note = p.read("-3")
    assert value == 0 and note == "URL parameter seed='-3' is outside 0…9: 0 is used."
    with pytest.raises(ValueError, match="seed='x' is not an integer"):
        p.read("x")
    strict = Param("calib", "k", "int", lo=1, hi=32, clamp=False)
    with pytest.raises(ValueError, match=r"calib='99' is not one of 1 … 32"):
        strict.read("99")


def test_float_snaps_relatively_and_rejects_nonfinite():
    p = Param("lr", "k", "float", lo=1e-4, hi=1e-2, snap=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2))
    assert p.read("0.0009") == (1e-3, None)
    assert p.read("2e-4")[0] == 3e-4  # relatively nearer 3e-4 than 1e-4 (1.5x against 2x)
    for bad in ("nan", "inf", "fast"):
        with pytest.raises(ValueError, match="is not a number"):
            p.read(bad)
    assert p.show(0.001) == "0.001"


def test_bool_choice_text():
    b = Param("log", "k", "bool", default=False)
    assert [b.read(t)[0] for t in ("1", "TRUE", "on", "0", "no")] == [True, True, True, False, False]
    with pytest.raises(ValueError, match="should be 1 or 0"):
        b.read("maybe")
    assert (b.show(True), b.show(False)) == ("1", "0")
    c = Param("view", "k", "choice", options=("linear", "log2"))
    assert c.read("LOG2") == ("log2", None)
    with pytest.raises(ValueError, match="view='big' is not one of linear, log2"):
        c.read("big")
    exact = Param("sample", "k", "choice", options=("Gaussian",), lower=False)
    with pytest.raises(ValueError):
        exact.read("gaussian")
    assert Param("refs", "k", "text").read("  1, 2 ") == ("1, 2", None)
    with pytest.raises(ValueError, match="kind must be one of"):
        Param("x", "k", "complex")


def test_params_to_query_leaves_defaults_out():
    ps = (Param("a", "ka", "int", default=1), Param("b", "kb", "bool", default=True), Param("c", "kc", "text", default=""))
    assert params_to_query(ps, {"ka": 1, "kb": True, "kc": "  "}) == {}
    assert params_to_query(ps, {"ka": 5, "kb": False, "kc": "x"}) == {"a": "5", "b": "0", "c": "x"}
    assert params_to_query(ps, {"ka": None}) == {}


@pytest.mark.parametrize("page", ALL)
def test_each_page_declares_distinct_names_and_keys(page):
    ps = ALL[page]
    assert len({p.name for p in ps}) == len(ps) and len({p.key for p in ps}) == len(ps)


@pytest.mark.parametrize("page", ALL)
def test_defaults_round_trip(page):
    """Each parameter's default is a value it reads back from its own URL text."""
    for p in ALL[page]:
        if p.default is None or (p.kind == "text" and p.default == ""):
            continue
        value, note = p.read(p.show(p.default))
        assert value == p.default and note is None, (page, p.name)


def test_custom_format_query_is_the_params_written_back():
    from lab.core.state import custom_format_params, custom_to_query

    assert custom_to_query(4, 3, None, "fn", True) == {"format": "custom", "e": "4", "m": "3", "nonfinite": "fn"}
    assert custom_to_query(5, 2, 11, "ieee", False) == {"format": "custom", "e": "5", "m": "2", "bias": "11", "nonfinite": "ieee", "signed": "0"}
    params = custom_format_params("k")
    assert [p.key for p in params] == ["k_e", "k_m", "k_bias", "k_nonfinite", "k_signed"]
    for p, text in zip(params, ("5", "2", "11", "ieee", "0")):  # each value reads back from its own URL text
        assert p.read(text)[0] == p.read(p.show(p.read(text)[0]))[0]
