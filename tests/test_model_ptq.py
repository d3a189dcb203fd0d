"""GPTQ and AWQ on MiniLM (quantlib.model.ptq): on every Linear the method's output error on its
calibration inputs is at most RTN's on the same grid (4 and 3 bits), AWQ's scaled float model
computes what the original computes, and the quantized tensors are the scheme's own (same bits
as RTN).  The calibration set is the 32 short representative texts (320 tokens): the claims are
about the calibration inputs, so a small set keeps the file fast without weakening them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from quantlib.model import collect_stats, embed, load_model, model_dir, tokenize  # noqa: E402
from quantlib.model.evalset import CALIBRATION_TEXTS, EVAL_TEXTS  # noqa: E402
from quantlib.model.forward import QuantHook  # noqa: E402
from quantlib.model.ptq import (  # noqa: E402
    RUNTIME_SCALE_BYTES,
    awq_groups,
    calibration_batch,
    calibration_texts,
    method_problem,
    method_recipe,
    run_awq,
    run_gptq,
    run_method,
)
from quantlib.model.recipes import reference, run_recipe, with_float_layers  # noqa: E402
from quantlib.ptq.gptq import rtn  # noqa: E402
from quantlib.schemes import quantize  # noqa: E402

try:
    model_dir()
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"the model package is not installed: {exc}", allow_module_level=True)

GRIDS = ("int4:block=32", "int3:block=32")
N_CALIB = 32


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def calib():
    return calibration_batch(N_CALIB)


def _gptq_names(model, grid) -> list[str]:
    """GPTQ's 3-bit run covers layers 0 and 5 (all six kinds, the first and the last layer):
    its cost is fixed per Linear (the column loop and H's inverse Cholesky factor), about 4 s
    for all 36 on one thread, and the 4-bit run already covers all 36."""
    return list(model.linears) if grid == GRIDS[0] else [n for n in model.linears if n.startswith(("layer0.", "layer5."))]


@pytest.fixture(scope="module")
def gptq_runs(model, calib):
    return {g: run_gptq(model, dict.fromkeys(_gptq_names(model, g), g), calib) for g in GRIDS}


@pytest.fixture(scope="module")
def awq_runs(model, calib):
    return {g: run_awq(model, g, calib) for g in GRIDS}


@pytest.fixture(scope="module")
def calib_inputs(model, calib):
    """Every Linear's float32 input on the calibration set (AWQ calibrates on the float model)."""
    return {k: v.inputs() for k, v in collect_stats(model, calib, keep_inputs=True).items()}


def test_calibration_texts():
    texts = calibration_texts(128)
    assert len(texts) == 128 and texts[:32] == tuple(CALIBRATION_TEXTS)
    assert not set(texts) & set(EVAL_TEXTS)
    assert calibration_texts(8) == tuple(CALIBRATION_TEXTS[:8])
    with pytest.raises(ValueError):
        calibration_texts(0)


@pytest.mark.parametrize("grid", GRIDS)
def test_gptq_beats_rtn_on_every_linear(model, gptq_runs, grid):
    pm = gptq_runs[grid]
    errors = pm.report.errors
    assert set(errors) == set(_gptq_names(model, grid))
    worse = {n: (e.method, e.rtn) for n, e in errors.items() if e.method > e.rtn}
    assert not worse, worse
    assert np.median([e.gain for e in errors.values()]) > 1.2  # not merely equal


@pytest.mark.parametrize("grid", GRIDS)
def test_awq_beats_rtn_per_group(model, awq_runs, calib_inputs, grid):
    """AWQ searches one s per group of Linears sharing an input (alpha = 0 is RTN), so its
    claim is per group: the summed squared output error of the group's Linears, recomputed
    here from the quantized weights on all calibration inputs, is at most RTN's.  A group of
    one Linear (attn_out, ffn_up, ffn_down) is the per-Linear claim."""
    pm = awq_runs[grid]
    lins = model.linears
    groups = awq_groups(model)
    assert len(groups) == 24 and {m for g in groups for m in g.members} == set(lins)
    v_rows = {g.prev: pm.report.searches[g.members[0]].scales for g in groups if g.prev}
    for g in groups:
        x = calib_inputs[g.members[0]]
        s = pm.report.searches[g.members[0]].scales
        awq_err = rtn_err = 0.0
        for m in g.members:
            w = lins[m].weight
            eff = pm.weights[m] / s  # the model computes (x / s) Q(W s)^T
            if m in v_rows:  # v's rows carry attn_out's 1 / s'
                eff = eff * v_rows[m][:, None]
            ref = x @ w.T
            awq_err += float(np.sum((x @ eff.T - ref).astype(np.float64) ** 2))
            rtn_err += float(np.sum((x @ rtn(w, grid).T - ref).astype(np.float64) ** 2))
        assert awq_err <= rtn_err * (1 + 1e-6), (g.members, awq_err, rtn_err)
        if len(g.members) == 1:
            e = pm.report.errors[g.members[0]]
            assert e.method <= e.rtn * (1 + 1e-6), e


def test_awq_float_model_is_unchanged(model, awq_runs):
    """Before rounding, AWQ's scaled model (runtime input scales, v's rows and bias divided by
    attn_out's s) gives the original embeddings to float32 rounding."""
    pm = awq_runs[GRIDS[1]]
    batch = tokenize(list(EVAL_TEXTS))
    ref = embed(model, batch)
    scaled = embed(model, batch, QuantHook(pm.plan(model, rounded=False)))
    assert np.max(np.abs(scaled - ref)) < 2e-6
    # and the scales are not all 1: the float weights really changed
    assert max(float(np.max(np.abs(pm.float_weights[n] - model.linears[n].weight))) for n in model.linears) > 1e-3
    rounded = embed(model, batch, QuantHook(pm.plan(model)))
    assert np.max(np.abs(rounded - ref)) > 1e-3


@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_quantized_tensors_have_rtn_bits(model, gptq_runs, awq_runs, method):
    runs = gptq_runs if method == "gptq" else awq_runs
    for grid, pm in runs.items():
        assert set(pm.quantized) == set(_gptq_names(model, grid) if method == "gptq" else model.linears)
        for name, q in pm.quantized.items():
            r = quantize(model.linears[name].weight, grid)
            assert q.total_bits == r.total_bits and q.codes.shape == r.codes.shape and q.codes.dtype == r.codes.dtype
            assert np.asarray(q.scales).shape == np.asarray(r.scales).shape
            assert np.array_equal(q.dequantize().astype(np.float32), pm.weights[name])
            assert np.abs(q.codes).max() <= 2 ** (q.scheme.bits - 1) - 1


def test_run_method_results(model, calib):
    """The page's result type, with the per-layer mix: layers 1-5 kept in float32, so the methods
    run on layer 0 only.  GPTQ's size is RTN's; AWQ's adds its runtime scales (float32, one per
    input channel of q/k/v, ffn_up and ffn_down)."""
    batch = tokenize(list(EVAL_TEXTS))
    ref = reference(model, batch)
    recipe = with_float_layers("int4_block", [f"layer{i}" for i in range(1, 6)])
    base = run_recipe(model, recipe, batch, ref)
    g, grep = run_method(model, recipe, "gptq", batch, ref, calib_batch=calib)
    assert set(grep.errors) == {n for n in model.linears if n.startswith("layer0.")}
    assert g.size == base.size and g.metrics.size_bytes == base.size.total
    assert g.recipe.key == method_recipe(recipe, "gptq", N_CALIB).key and "GPTQ" in g.recipe.title
    assert g.metrics.mean_cosine > base.metrics.mean_cosine
    assert grep.n_tokens == calib.n_tokens
    a, arep = run_method(model, recipe, "awq", batch, ref, calib_batch=calib)
    assert set(arep.errors) == set(grep.errors)
    assert a.size.total == base.size.total + RUNTIME_SCALE_BYTES * (384 + 384 + 1536) and a.metrics.size_bytes == a.size.total
    r, rep = run_method(model, recipe, "rtn", batch, ref)
    assert rep is None and r.metrics == base.metrics


def test_method_problem(model):
    assert method_problem("tflite_int8", "gptq", model)[0] == "tflite"
    assert method_problem("float32", "awq", model)[0] == "float"
    assert method_problem("w8a8", "gptq", model)[0] == "activations"
    reason, detail = method_problem("nf4_dq", "gptq", model)
    assert reason == "grid" and "double quantization" in detail
    assert method_problem("nf4_dq", "awq", model) is None  # AWQ rounds with the scheme itself
    assert method_problem("int4_block", "gptq", model) is None and method_problem("nf4", "gptq", model) is None
    assert method_problem("int4:block=100", "gptq", model)[0] == "grid"  # 384 is no multiple of 100
    assert method_problem("tflite_int8", "rtn", model) is None
    with pytest.raises(ValueError, match="unknown method"):
        method_problem("nf4", "smoothquant", model)
    with pytest.raises(ValueError, match="does not apply"):
        run_method(model, "tflite_int8", "gptq", None, None)
