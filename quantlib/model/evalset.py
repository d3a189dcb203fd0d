"""The evaluation set (near-miss pairs in English and Chinese), the calibration texts, and the
metrics that compare a quantized model's embeddings with float32's.

The pairs are chosen so that a small error can change a ranking: guitar / piano, a river
bank / a bank account, love / hate, a paraphrase next to a contradiction.  Chinese caveat:
all-MiniLM-L6-v2 has an English (bert-base-uncased) vocabulary with only 244 CJK characters,
so most Chinese text becomes [UNK]; the Chinese pairs here are written with characters that
are in the vocabulary (mixing simplified and traditional forms, e.g. 愛, 東) so that they are
not identical token sequences.  :func:`unk_fraction` measures it.

Metrics (:func:`compare`, all against the float32 embeddings ``ref``; rows L2-normalised):

=====================  ====================================================================
``mean_cosine``        mean over texts of cos(e_i, ref_i)
``min_cosine``         its minimum (the worst text)
``nn_agreement``       fraction of texts whose nearest other text is the same as in float32
``top3_agreement``     mean over texts of |top-3 neighbours ∩ float32's top-3| / 3
``max_sim_change``     max over pairs i < j of |cos(e_i, e_j) - cos(ref_i, ref_j)|
=====================  ====================================================================

Worked numbers: ``ref = [[1, 0], [0, 1], [0.6, 0.8]]``, ``emb = [[1, 0], [0, 1], [0.8, 0.6]]``:
cosines 1, 1, 0.96 -> mean 0.98667, min 0.96; pair sims (0-1, 0-2, 1-2) = (0, 0.6, 0.8) ->
(0, 0.8, 0.6), so max_sim_change 0.2; nearest neighbours (2, 2, 1) -> (2, 2, 0): nn_agreement
2/3; with 3 texts "top-3" is top-2 (every other text), so top3_agreement 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "CALIBRATION_TEXTS",
    "EVAL_PAIRS",
    "EVAL_TEXTS",
    "EvalMetrics",
    "compare",
    "cosines",
    "paired_difference",
    "ranking",
    "similarity",
    "unk_fraction",
]

EVAL_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("I love playing the guitar.", "I love playing the piano.", "guitar / piano"),
    (
        "We had a picnic on the bank of the river.",
        "I need to open an account at the bank.",
        "river bank / bank account",
    ),
    ("I love this movie.", "I hate this movie.", "love / hate"),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch.", "paraphrase"),
    (
        "How do I reset my password?",
        "I forgot my password and cannot log in.",
        "paraphrase",
    ),
    (
        "The stock market fell sharply today.",
        "Share prices rose strongly this afternoon.",
        "fell / rose",
    ),
    ("He bought a new car.", "He sold his old car.", "bought / sold"),
    ("我愛中国。", "我愛日本。", "China / Japan (zh)"),
    ("春天的花。", "秋天的花。", "spring / autumn flowers (zh)"),
    ("北京大学", "東京大学", "Peking / Tokyo University (zh)"),
)
"""(text a, text b, what differs): consecutive texts of :data:`EVAL_TEXTS`."""

EVAL_TEXTS: tuple[str, ...] = tuple(t for a, b, _ in EVAL_PAIRS for t in (a, b))
"""The 20 evaluation texts: 14 English, 6 Chinese, in pairs."""

CALIBRATION_TEXTS: tuple[str, ...] = (
    "A man is eating food.",
    "A woman is playing the violin.",
    "The new movie is awesome.",
    "Two children are playing in the park.",
    "The train to London leaves at noon.",
    "Can you recommend a good restaurant nearby?",
    "The company reported higher profits this quarter.",
    "Quantization stores numbers with fewer bits.",
    "She is reading a book about history.",
    "It will rain tomorrow in the mountains.",
    "My phone battery dies too quickly.",
    "The doctor told him to get more sleep.",
    "Ils ont visité le musée à Paris.",
    "El perro corre en la playa.",
    "The football match ended in a draw.",
    "Please send me the report by Friday.",
    "我爱学习。",
    "日本の東京は大きい。",
    "中国北京大学。",
    "A jumbo jet is taking off from the runway.",
    "The soup needs a little more salt.",
    "Researchers discovered a new species of frog.",
    "He plays the drums in a rock band.",
    "Where is the nearest train station?",
    "The museum is closed on Mondays.",
    "She planted tomatoes in the garden.",
    "Our team won the championship last year.",
    "The internet connection is very slow today.",
    "Electric cars are becoming more popular.",
    "The baby laughed at the funny dog.",
    "An old bridge crosses the river.",
    "I would like a cup of coffee, please.",
)
"""The representative dataset for static calibration (32 texts, none from the evaluation set);
recipes take the first ``n``."""


def similarity(emb: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix of L2-normalised rows (float64)."""
    e = np.asarray(emb, np.float64)
    return e @ e.T


def _neighbours(S: np.ndarray, k: int) -> np.ndarray:
    S = S.copy()
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


@dataclass(frozen=True)
class EvalMetrics:
    """See the module docstring; ``size_bytes`` is filled in by the recipes."""

    mean_cosine: float
    min_cosine: float
    nn_agreement: float
    top3_agreement: float
    max_sim_change: float
    worst_text: int
    size_bytes: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def cosines(ref: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Per text: the cosine between its embedding in ``emb`` and in ``ref`` (float64)."""
    r = np.asarray(ref, np.float64)
    e = np.asarray(emb, np.float64)
    if r.shape != e.shape or r.ndim != 2:
        raise ValueError(f"need two (n, d) arrays of one shape, got {r.shape} and {e.shape}")
    return (r * e).sum(axis=1) / (np.linalg.norm(r, axis=1) * np.linalg.norm(e, axis=1))


def paired_difference(ref: np.ndarray, base: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """How much closer to ``ref`` ``other`` is than ``base``, text by text: the mean over the
    texts of cos(other) − cos(base), and its standard error (sample std / √n).  Worked number:
    cosines [0.90, 0.94] for base and [0.95, 0.95] for other -> differences [0.05, 0.01],
    mean 0.03 ± 0.02."""
    d = cosines(ref, other) - cosines(ref, base)
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return float(d.mean()), se


def compare(ref: np.ndarray, emb: np.ndarray, size_bytes: int | None = None) -> EvalMetrics:
    """Metrics of ``emb`` against the float32 embeddings ``ref`` (both (n, d), rows normalised)."""
    r = np.asarray(ref, np.float64)
    e = np.asarray(emb, np.float64)
    if r.shape != e.shape or r.ndim != 2 or r.shape[0] < 2:
        raise ValueError(f"need two (n >= 2, d) arrays of one shape, got {r.shape} and {e.shape}")
    rn = r / np.linalg.norm(r, axis=1, keepdims=True)
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    cos = cosines(r, e)
    Sr, Se = rn @ rn.T, en @ en.T
    n = r.shape[0]
    k = min(3, n - 1)
    nr, ne = _neighbours(Sr, k), _neighbours(Se, k)
    nn = float(np.mean(nr[:, 0] == ne[:, 0]))
    top = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(nr.tolist(), ne.tolist())]))
    iu = np.triu_indices(n, 1)
    return EvalMetrics(
        mean_cosine=float(cos.mean()),
        min_cosine=float(cos.min()),
        nn_agreement=nn,
        top3_agreement=top,
        max_sim_change=float(np.abs(Se[iu] - Sr[iu]).max()),
        worst_text=int(np.argmin(cos)),
        size_bytes=size_bytes,
    )


def ranking(emb: np.ndarray, query: int) -> list[tuple[int, float]]:
    """The other texts ranked by cosine similarity to text ``query``: [(index, similarity), ...]."""
    S = similarity(emb)[query]
    order = [int(i) for i in np.argsort(-S, kind="stable") if i != query]
    return [(i, float(S[i])) for i in order]


def unk_fraction(batch) -> np.ndarray:
    """Per text: the fraction of its real tokens (without [CLS]/[SEP]) that are [UNK]."""
    out = []
    for toks in batch.tokens:
        body = [t for t in toks if t not in ("[CLS]", "[SEP]")]
        out.append(sum(t == "[UNK]" for t in body) / max(1, len(body)))
    return np.array(out)
