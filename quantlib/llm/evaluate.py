"""What a quantization changes in the language model's output, measured against the reference.

* :func:`kl_stats`: KL divergence ``KL(P_ref || P_q) = sum_v p_ref(v) (log p_ref(v) - log p_q(v))``
  of the next-token distributions at every position, with the statistics llama.cpp's
  ``--kl-divergence`` prints (mean, median, 99th percentile, maximum) and the top-1 agreement
  ("same top p": the share of positions where both models' most likely token is the same);
* :func:`perplexity`: ``exp(mean -log p(next token))`` over a text;
* :func:`top_tokens`, :func:`first_difference`: for the side-by-side text.

The texts (:data:`EVAL_TEXTS`) are public domain (their sources are given) or were written for
the lab.  Log-probabilities are computed in float64 from the float32 logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.forward import QuantHook
from .forward import forward
from .model import Llama

__all__ = [
    "EVAL_TEXTS",
    "PROMPTS",
    "EvalText",
    "KLStats",
    "activation_absmax",
    "block_sensitivity",
    "eval_ids",
    "first_difference",
    "kl_per_position",
    "kl_stats",
    "log_softmax",
    "perplexity",
    "top_tokens",
]


@dataclass(frozen=True)
class EvalText:
    title: str
    source: str
    text: str


EVAL_TEXTS: tuple[EvalText, ...] = (
    EvalText(
        "Pride and Prejudice",
        "Jane Austen, 1813, chapter 1 (public domain)",
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
        "want of a wife. However little known the feelings or views of such a man may be on his first entering a "
        "neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered "
        'the rightful property of some one or other of their daughters. "My dear Mr. Bennet," said his lady to '
        'him one day, "have you heard that Netherfield Park is let at last?" Mr. Bennet replied that he had not. '
        '"But it is," returned she; "for Mrs. Long has just been here, and she told me all about it." Mr. Bennet '
        'made no answer. "Do you not want to know who has taken it?" cried his wife impatiently.',
    ),
    EvalText(
        "Alice's Adventures in Wonderland",
        "Lewis Carroll, 1865, chapter 1 (public domain)",
        "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: "
        "once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations "
        'in it, "and what is the use of a book," thought Alice "without pictures or conversations?" So she was '
        "considering in her own mind (as well as she could, for the hot day made her feel very sleepy and stupid), "
        "whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the "
        "daisies, when suddenly a White Rabbit with pink eyes ran close by her.",
    ),
    EvalText(
        "The Declaration of Independence",
        "United States, 1776, opening (public domain)",
        "When in the Course of human events, it becomes necessary for one people to dissolve the political bands "
        "which have connected them with another, and to assume among the powers of the earth, the separate and equal "
        "station to which the Laws of Nature and of Nature's God entitle them, a decent respect to the opinions of "
        "mankind requires that they should declare the causes which impel them to the separation. We hold these "
        "truths to be self-evident, that all men are created equal, that they are endowed by their Creator with "
        "certain unalienable Rights, that among these are Life, Liberty and the pursuit of Happiness. That to secure "
        "these rights, Governments are instituted among Men, deriving their just powers from the consent of the governed.",
    ),
    EvalText(
        "Numbers in a computer",
        "written for the Quantization Lab",
        "A computer stores a real number in a fixed number of bits. A floating point format splits those bits into "
        "three fields: a sign, an exponent that says how large the number is, and a mantissa that holds its leading "
        "digits. With more exponent bits the format covers a wider range; with more mantissa bits it is more precise. "
        "Quantization goes further: it replaces the weights of a neural network by a small set of levels, often only "
        "sixteen, and stores a scale for every block of weights. The model becomes four or eight times smaller, and "
        "the question is how much of what it says changes. Here you can pick the format, run the model and read the "
        "answer for yourself.",
    ),
)
"""The evaluation texts: each gives at least 128 tokens."""

PROMPTS: tuple[str, ...] = (
    "What is the capital of France?",
    "Write a short poem about the sea.",
    "Explain in two sentences what a floating point number is.",
    "Give me three tips for learning to program.",
    "What is 17 times 23?",
)
"""Example prompts for the side-by-side text (the chat template is applied to them)."""


def eval_ids(tokenizer, *, n_tokens: int = 128, texts=EVAL_TEXTS) -> np.ndarray:
    """Token ids (texts, n_tokens): each text's first ``n_tokens`` tokens."""
    rows = []
    for t in texts:
        ids = tokenizer.encode(t.text)
        if ids.size < n_tokens:
            raise ValueError(f"{t.title!r} has {ids.size} tokens, fewer than {n_tokens}")
        rows.append(ids[:n_tokens])
    return np.stack(rows)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``x - logsumexp(x)`` over the last axis, in float64."""
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def kl_per_position(ref_logits: np.ndarray, q_logits: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """KL(P_ref || P_q) at every position (float64), positions = all leading axes flattened."""
    r = ref_logits.reshape(-1, ref_logits.shape[-1])
    q = q_logits.reshape(-1, q_logits.shape[-1])
    if r.shape != q.shape:
        raise ValueError(f"logits of shapes {ref_logits.shape} and {q_logits.shape}")
    out = np.empty(r.shape[0])
    for i in range(0, r.shape[0], chunk):
        lr, lq = log_softmax(r[i : i + chunk]), log_softmax(q[i : i + chunk])
        out[i : i + chunk] = np.maximum((np.exp(lr) * (lr - lq)).sum(axis=-1), 0.0)
    return out


@dataclass(frozen=True)
class KLStats:
    """llama.cpp's ``--kl-divergence`` summary: KL mean, median, 99th percentile and maximum over
    ``n`` positions, and ``top1``, the share of positions with the same most likely token."""

    mean: float
    median: float
    p99: float
    max: float
    top1: float
    n: int
    kl: np.ndarray

    @property
    def mean_se(self) -> float:
        """Standard error of the mean (positions treated as independent)."""
        return float(self.kl.std(ddof=1) / np.sqrt(self.n)) if self.n > 1 else float("nan")


def kl_stats(ref_logits: np.ndarray, q_logits: np.ndarray) -> KLStats:
    kl = kl_per_position(ref_logits, q_logits)
    same = ref_logits.reshape(-1, ref_logits.shape[-1]).argmax(-1) == q_logits.reshape(-1, q_logits.shape[-1]).argmax(-1)
    return KLStats(
        mean=float(kl.mean()),
        median=float(np.median(kl)),
        p99=float(np.percentile(kl, 99)),
        max=float(kl.max()),
        top1=float(same.mean()),
        n=int(kl.size),
        kl=kl,
    )


def perplexity(logits: np.ndarray, ids: np.ndarray) -> float:
    """``exp(mean_t -log p(ids[t+1] | ids[..t]))`` over every text (rows) of ``ids``."""
    ids = np.atleast_2d(ids)
    lg = logits.reshape(ids.shape[0], ids.shape[1], -1)
    nll = []
    for b in range(ids.shape[0]):
        lp = log_softmax(lg[b, :-1])
        nll.append(-lp[np.arange(ids.shape[1] - 1), ids[b, 1:]])
    return float(np.exp(np.concatenate(nll).mean()))


def top_tokens(logits: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most likely next tokens and their probabilities (for one position's logits)."""
    lp = log_softmax(logits)
    idx = np.argsort(-lp, kind="stable")[:k]
    return idx, np.exp(lp[idx])


def first_difference(a, b) -> int | None:
    """The first index where two token sequences differ (None if one is a prefix of the other)."""
    n = min(len(a), len(b))
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    if diff.size:
        return int(diff[0])
    return None if len(a) == len(b) else n


def activation_absmax(model: Llama, ids: np.ndarray) -> dict:
    """Per input channel max |x| of every Linear's input over ``ids`` (name -> ActStats)."""
    hook = QuantHook(None, collect=True)
    forward(model, ids, hook=hook, last_only=True)
    return hook.stats


def block_sensitivity(
    model: Llama,
    scheme: str,
    ids: np.ndarray,
    ref_logits: np.ndarray,
    *,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Mean KL divergence when only block ``i``'s seven Linears are quantized with ``scheme``,
    for every block i (an array of n_blocks)."""
    from ..schemes import quantize

    out = np.empty(len(model.blocks))
    for i, b in enumerate(model.blocks):
        w = {lin.name: quantize(lin.weight, scheme).dequantize().astype(np.float32, copy=False) for lin in b.linears()}
        out[i] = kl_per_position(ref_logits, forward(model.with_weights(w), ids)).mean()
        if progress is not None:
            progress((i + 1) / len(model.blocks))
    return out
