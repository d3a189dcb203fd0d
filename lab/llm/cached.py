"""Cached wrappers around :mod:`quantlib.llm` for the language model page (``/llm``).

Resources (``st.cache_resource``: one copy for every session, never pickled): the float32
reference model (540 MB), its tokenizer, the evaluation token ids and the reference logits on
them.  A quantized model is as large as the reference, so only the most recent one is kept
(:data:`VARIANTS`, shared by all sessions); what is computed from it (KL statistics, text, top
tokens) is small plain data, memoized by the recipe's fields (``st.cache_data``).  The sweeps
with a progress bar (every preset, per-block sensitivity) are memoized in a shared store so the
callback can drive a bar the page owns.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from lab.core.cached import shared_store

__all__ = [
    "available",
    "cached_preset_rows",
    "evaluation",
    "generation",
    "model",
    "outlier_stats",
    "outliers",
    "preset_rows",
    "recipe",
    "reference_eval",
    "sensitivity",
    "tokenizer",
]

VARIANTS = 1  # quantized models kept (about 430 MB each)
GEN_TOKENS = 48
SENS_TOKENS = 64  # tokens per text for the per-block sweep (30 runs)


def available() -> bool:
    """True when the model's package, ``gguf`` and ``tokenizers`` are installed."""
    try:
        import gguf  # noqa: F401
        import tokenizers  # noqa: F401

        from quantlib.llm import model_path

        model_path()
    except Exception:  # noqa: BLE001 - any failure means: not installed
        return False
    return True


@st.cache_resource(show_spinner=False)
def model():
    from quantlib.llm import load_llama

    return load_llama()


@st.cache_resource(show_spinner=False)
def tokenizer():
    from quantlib.llm import LlamaTokenizer

    return LlamaTokenizer.from_metadata(model().metadata)


@st.cache_resource(show_spinner=False)
def eval_ids() -> np.ndarray:
    from quantlib.llm.evaluate import eval_ids as ids

    return ids(tokenizer())


@st.cache_resource(show_spinner=False)
def reference_logits() -> np.ndarray:
    from quantlib.llm import forward

    return forward(model(), eval_ids())


@st.cache_data(show_spinner=False)
def reference_eval() -> dict:
    from quantlib.llm.evaluate import perplexity

    m = model()
    return {"ppl": perplexity(reference_logits(), eval_ids()), "nbytes": m.stored_nbytes, "bits_per_weight": 8 * m.stored_nbytes / m.n_params, "n_params": m.n_params}


def recipe(weights: str | None, emb: str | None, keep: tuple[int, ...], act: str | None, kv: str | None):
    from quantlib.llm.recipes import LlmRecipe

    return LlmRecipe(weights=weights, embeddings=emb, keep=keep, act=act, kv=kv)


def _quantized(weights: str | None, emb: str | None, keep: tuple[int, ...]):
    """The quantized model of the weight part of a recipe (the most recent one is kept)."""
    from quantlib.llm.recipes import quantize_model

    key = (weights, emb, keep)
    store = shared_store("llm_variants", VARIANTS)
    found = store.get(key)
    if found is None:
        found = store.put(key, quantize_model(model(), recipe(weights, emb, keep, None, None)))
    return found


@st.cache_data(show_spinner=False, max_entries=64)
def evaluation(weights: str | None, emb: str | None, keep: tuple[int, ...], act: str | None) -> dict:
    """KL statistics, top-1 and perplexity of a recipe on the evaluation texts, its exact size."""
    from quantlib.llm import forward
    from quantlib.llm.evaluate import kl_stats, perplexity
    from quantlib.llm.recipes import activation_hook

    t0 = time.perf_counter()
    qm = _quantized(weights, emb, keep)
    t1 = time.perf_counter()
    logits = forward(qm.model, eval_ids(), hook=activation_hook(act))
    t2 = time.perf_counter()
    s = kl_stats(reference_logits(), logits)
    return {
        "kl_mean": s.mean,
        "kl_se": s.mean_se,
        "kl_median": s.median,
        "kl_p99": s.p99,
        "kl_max": s.max,
        "top1": s.top1,
        "n": s.n,
        "kl": s.kl.astype(np.float32),
        "ppl": perplexity(logits, eval_ids()),
        "nbytes": qm.nbytes,
        "bits_per_weight": qm.bits_per_weight,
        "n_quantized": len(qm.quantized),
        "schemes": qm.scheme_counts(),
        "seconds_quantize": t1 - t0,
        "seconds_forward": t2 - t1,
    }


def _top(logits: np.ndarray, k: int = 5) -> list[tuple[list[int], list[float]]]:
    from quantlib.llm.evaluate import top_tokens

    out = []
    for row in logits:
        ids, p = top_tokens(row, k)
        out.append(([int(i) for i in ids], [float(v) for v in p]))
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def reference_generation(prompt: str, n: int = GEN_TOKENS) -> dict:
    from quantlib.llm import chat_prompt, generate

    tok = tokenizer()
    ids = tok.encode(chat_prompt(prompt))
    t0 = time.perf_counter()
    g = generate(model(), ids, max_new_tokens=n)
    return {"prompt_ids": ids, "ids": g.ids, "top": _top(g.logits), "seconds": time.perf_counter() - t0}


@st.cache_data(show_spinner=False, max_entries=64)
def generation(weights: str | None, emb: str | None, keep: tuple[int, ...], act: str | None, kv: str | None, prompt: str, n: int = GEN_TOKENS) -> dict:
    """The quantized model's greedy continuation of ``prompt`` (chat template applied), and its
    top-5 next tokens along the *reference's* continuation (same prefix as the reference)."""
    from quantlib.llm import KVCache, forward, generate
    from quantlib.llm.recipes import activation_hook

    ref = reference_generation(prompt, n)
    qm = _quantized(weights, emb, keep)
    hook = activation_hook(act)
    t0 = time.perf_counter()
    g = generate(qm.model, ref["prompt_ids"], max_new_tokens=n, hook=hook, kv_scheme=kv)
    seconds = time.perf_counter() - t0
    seq = np.concatenate([ref["prompt_ids"], ref["ids"][:-1]]) if ref["ids"].size else ref["prompt_ids"]
    cache = KVCache(qm.model.config, 1, seq.size, scheme=kv)
    logits = forward(qm.model, seq[None, :], hook=hook, cache=cache)[0]
    forced = logits[ref["prompt_ids"].size - 1 :]
    return {"ids": g.ids, "top_forced": _top(forced), "seconds": seconds}


def cached_preset_rows() -> list[dict] | None:
    """The preset comparison if some session has computed it, else None."""
    return shared_store("llm_presets", 2).get("all")


def preset_rows(progress=None) -> list[dict]:
    """Every preset of :data:`quantlib.llm.recipes.LLM_PRESETS` evaluated (a row per preset:
    name, recipe fields and :func:`evaluation`'s numbers); ``progress(done, total, name)``."""
    from quantlib.llm.recipes import LLM_PRESETS

    store = shared_store("llm_presets", 2)
    found = store.get("all")
    if found is not None:
        return found
    rows = []
    for i, (name, r) in enumerate(LLM_PRESETS.items()):
        if progress is not None:
            progress(i, len(LLM_PRESETS), name)
        e = evaluation(r.weights, r.embeddings, r.keep, r.act)
        rows.append({"name": name, **{k: v for k, v in e.items() if k != "kl"}})
    if progress is not None:
        progress(len(LLM_PRESETS), len(LLM_PRESETS), "")
    return store.put("all", rows)


def sensitivity(scheme: str, progress=None) -> np.ndarray:
    """Mean KL when only one block is quantized with ``scheme``, per block, on the first
    :data:`SENS_TOKENS` tokens of every evaluation text; ``progress(fraction)``."""
    from quantlib.llm import forward
    from quantlib.llm.evaluate import block_sensitivity

    store = shared_store("llm_sensitivity", 16)
    found = store.get(scheme)
    if found is not None:
        return found
    ids = eval_ids()[:, :SENS_TOKENS]
    ref = forward(model(), ids)
    return store.put(scheme, block_sensitivity(model(), scheme, ids, ref, progress=progress))


@st.cache_data(show_spinner=False)
def outlier_stats() -> dict[str, dict]:
    """Per Linear: its input's per-channel max |x| over the evaluation texts, the token (piece)
    that produced each channel's maximum and its position in its text (the PTQ studio's format,
    read by :func:`quantlib.model.outliers.activation_outliers`)."""
    from quantlib.llm.evaluate import activation_absmax

    ids = eval_ids()
    stats = activation_absmax(model(), ids)
    pieces = tokenizer().pieces(ids.reshape(-1))
    out = {}
    for name, s in stats.items():
        arg = np.asarray(s.argmax_pos)
        out[name] = {"absmax": s.absmax, "argmax_token": [pieces[i] for i in arg], "argmax_pos": (arg % ids.shape[1]).astype(int)}
    return out


@st.cache_data(show_spinner=False, max_entries=4)
def outliers(factor: float):
    """:func:`quantlib.model.outliers.activation_outliers` of :func:`outlier_stats`."""
    from quantlib.model.outliers import activation_outliers

    return activation_outliers(outlier_stats(), factor)
