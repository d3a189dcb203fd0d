"""quantlib.model.size: MiniLM's bytes part by part, and the word table quantized too.
The counts are checked against an independent count from the tensors' shapes, and the
module docstring's worked numbers are recomputed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from quantlib.calibration import kl_range, mse_range, percentile_range
from quantlib.model import load_model, model_dir
from quantlib.model.recipes import RECIPES, with_float_layers, with_quantized_embeddings
from quantlib.model.size import SIZE_PARTS, embedding_scheme, model_size, quantized_embeddings, tensor_bytes
from quantlib.schemes import quantize

try:
    model_dir()
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"the model package is not installed: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def m():
    return load_model()


def test_tensor_bytes_worked_number():
    assert tensor_bytes("nf4:block=64", (384, 384)) == (73_728, 9_216)
    assert tensor_bytes("int8", (10, 10))[0] == 100


@pytest.mark.parametrize("key", list(RECIPES))
@pytest.mark.parametrize("emb", [False, True])
def test_parts_sum_to_the_total(m, key, emb):
    r = with_quantized_embeddings(RECIPES[key]) if emb else RECIPES[key]
    size = model_size(m, r)
    parts = size.parts()
    assert tuple(parts) == SIZE_PARTS and all(v >= 0 for v in parts.values())
    assert sum(parts.values()) == size.total
    n_params = sum(a.size for a in (m.word_embeddings, m.position_embeddings, m.token_type_embeddings)) + sum(l.weight.size for l in m.linears.values())
    assert size.float32_total >= 4 * n_params


def test_float32_counts_every_parameter(m):
    size = model_size(m, RECIPES["float32"])
    assert size.total == size.float32_total
    words = m.word_embeddings.size + m.position_embeddings.size + m.token_type_embeddings.size
    assert size.parts()["embeddings"] == 4 * words
    assert size.parts()["linear_codes"] == 4 * sum(l.weight.size for l in m.linears.values())
    assert size.parts()["scales"] == 0


def test_the_docstring_numbers(m):
    """NF4: the word table 46.9 MB -> 6.59 MB; the model 53.8 MB with it in float32 (more than
    float16's 45.1 MB), 13.5 MB with it quantized."""
    assert 4 * m.word_embeddings.size / 1e6 == pytest.approx(46.9, abs=0.05)
    codes, scales = tensor_bytes("nf4:block=64", m.word_embeddings.shape)
    assert (codes + scales) / 1e6 == pytest.approx(6.59, abs=0.005)
    assert model_size(m, RECIPES["nf4"]).total / 1e6 == pytest.approx(53.8, abs=0.05)
    assert model_size(m, RECIPES["tflite_float16"]).total / 1e6 == pytest.approx(45.1, abs=0.05)
    assert model_size(m, with_quantized_embeddings(RECIPES["nf4"])).total / 1e6 == pytest.approx(13.5, abs=0.05)


def test_kept_linear_is_float32(m):
    r = with_float_layers(RECIPES["nf4"], ["layer0"])
    kept = sum(l.weight.size for n, l in m.linears.items() if n.startswith("layer0."))
    assert model_size(m, r).linear_codes - model_size(m, RECIPES["nf4"]).linear_codes == 4 * kept - kept // 2


def test_quantized_embeddings_are_the_scheme_dequantized(m):
    r = RECIPES["nf4"]
    assert embedding_scheme(r) == r.weight
    q = quantized_embeddings(m, r)
    np.testing.assert_array_equal(q.word_embeddings, quantize(m.word_embeddings, r.weight).dequantize().astype(np.float32))
    np.testing.assert_array_equal(q.position_embeddings, m.position_embeddings)
    assert embedding_scheme(RECIPES["float32"]) is None and quantized_embeddings(m, RECIPES["float32"]) is m
    # TFLite's per-row int8: at most half a step per row away
    t = quantized_embeddings(m, RECIPES["tflite_int8"]).word_embeddings
    step = np.abs(m.word_embeddings).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(t - m.word_embeddings) <= 0.5 * step * (1 + 1e-5))


# ------------------------------------------------------------------ what the formulas need
def test_calibration_results_carry_their_formula_numbers():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20_000), [40.0, -35.0]])
    p = percentile_range(x, percentile=99.9)
    assert p.amax == 40.0 and p.percentile == 99.9 and p.threshold == pytest.approx(np.percentile(np.abs(x), 99.9))
    mse = mse_range(x)
    assert mse.threshold == pytest.approx(mse.candidates[mse.best]) and mse.best_objective == mse.objective.min()
    kl = kl_range(x)
    assert kl.threshold == pytest.approx(min((kl.chosen_bin + 0.5) * kl.bin_width, kl.amax))
    assert kl.best_objective == pytest.approx(kl.objective.min())


def test_smooth_extreme_channel(m):
    from quantlib.model import collect_stats, tokenize
    from quantlib.model.evalset import CALIBRATION_TEXTS
    from quantlib.model.smoothquant import smooth_view

    stats = collect_stats(m, tokenize(list(CALIBRATION_TEXTS[:4])))
    v = smooth_view(m, stats, "layer0.ffn_down", 0.5)
    e = v.extreme()
    assert e["x"] == v.x_before.max() and e["s"] == pytest.approx(np.sqrt(e["x"]) / np.sqrt(e["w"]), rel=1e-5)
    assert e["x_after"] == pytest.approx(e["x"] / e["s"], rel=1e-5) and e["w_after"] == pytest.approx(e["w"] * e["s"], rel=1e-5)
