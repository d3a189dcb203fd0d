"""Cached wrappers around :mod:`quantlib.llm` for the language model page (``/llm``).

Resources (``st.cache_resource``: one copy for every session, never pickled): the float32
reference model (540 MB), its tokenizer, the evaluation token ids and the reference logits on
them.  A quantized model is as large as the reference, so only the most recent one is kept
(:data:`VARIANTS`, shared by all sessions); what is computed from it (KL statistics, text, top
tokens) is small plain data, memoized by the recipe's fields (``st.cache_data``).  The sweeps
with a progress bar (every preset, per-block sensitivity, GPTQ / AWQ of the whole model, the
methods compared) are memoized in a shared store so the callback can drive a bar the page owns.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from lab.core.cached import shared_store
from lab.core.results import compute, lookup, progress_events, progress_report

__all__ = [
    "METHOD_GRIDS",
    "METHODS_CALIB",
    "available",
    "awq_closeup",
    "cached_method_rows",
    "cached_preset_rows",
    "calibration_ids",
    "closeup_input",
    "evaluate",
    "evaluation",
    "gptq_closeup",
    "method_rows",
    "generation",
    "model",
    "outlier_stats",
    "outliers",
    "preset_rows",
    "ptq_key",
    "recipe",
    "reference_eval",
    "sensitivity",
    "tokenizer",
]

VARIANTS = 1  # quantized models kept (about 430 MB each)
GEN_TOKENS = 48
SENS_TOKENS = 64  # tokens per text for the per-block sweep (30 runs)
CALIB_WINDOWS = 64  # calibration windows of 128 tokens available to GPTQ / AWQ
METHOD_GRIDS = ("uint4:block=64", "uint3:block=64", "uint2:block=64")  # the methods compared at 4, 3, 2 bits
METHODS_CALIB = 16  # calibration windows of the comparison
METHODS_KEEP: tuple[int, ...] = ()  # blocks the comparison leaves as shipped (none)
CLOSEUP_WINDOWS = 8  # calibration windows (1024 tokens) of one layer up close


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
    return {
        "ppl": perplexity(reference_logits(), eval_ids()),
        "nbytes": m.stored_nbytes,
        "bits_per_weight": 8 * m.stored_nbytes / m.n_params,
        "n_params": m.n_params,
    }


@st.cache_resource(show_spinner=False)
def calibration_ids() -> np.ndarray:
    """:data:`CALIB_WINDOWS` windows of 128 tokens of Python's documentation (GPTQ / AWQ)."""
    from quantlib.llm.ptq import calibration_ids as ids

    return ids(tokenizer(), CALIB_WINDOWS)


def recipe(
    weights: str | None,
    emb: str | None,
    keep: tuple[int, ...],
    act: str | None,
    kv: str | None,
    method: str = "rtn",
    calib: int = 16,
    act_order: bool = False,
    clip: bool = False,
):
    from quantlib.llm.recipes import LlmRecipe

    return LlmRecipe(weights=weights, embeddings=emb, keep=keep, act=act, kv=kv, method=method, calibration=calib, act_order=act_order, clip=clip)


def ptq_key(method: str, calib: int, act_order: bool, clip: bool) -> tuple:
    """The PTQ part of a cache key: RTN ignores the calibration and the options."""
    if method == "rtn":
        return ("rtn",)
    return (method, int(calib), bool(act_order and method == "gptq"), bool(clip and method == "awq"))


def _quantized(weights: str | None, emb: str | None, keep: tuple[int, ...], ptq: tuple = ("rtn",), progress=None):
    """The quantized model of the weight part of a recipe (the most recent one is kept);
    ``ptq``: :func:`ptq_key`; ``progress(fraction)`` while GPTQ / AWQ run."""
    from quantlib.llm.recipes import quantize_model

    method, *opts = ptq
    key = (weights, emb, keep, ptq)
    store = shared_store("llm_variants", VARIANTS)
    found = store.get(key)
    if found is None:
        if method == "rtn" or weights is None:
            found = quantize_model(model(), recipe(weights, emb, keep, None, None))
        else:
            calib, act_order, clip = opts
            r = recipe(weights, emb, keep, None, None, method, calib, act_order, clip)
            found = quantize_model(model(), r, calibration=calibration_ids(), progress=progress)
        store.put(key, found)
    return found


def evaluation(weights: str | None, emb: str | None, keep: tuple[int, ...], act: str | None) -> dict:
    """KL statistics, top-1 and perplexity of an RTN recipe on the evaluation texts, its exact size."""

    def run(report) -> dict:
        t0 = time.perf_counter()
        qm = _quantized(weights, emb, keep)
        return _evaluate(qm, act, time.perf_counter() - t0)

    return compute("llm_eval", (weights, emb, tuple(keep), act), run, memory=64)


def evaluate(
    weights: str | None,
    emb: str | None,
    keep: tuple[int, ...],
    act: str | None,
    method: str = "rtn",
    calib: int = 16,
    act_order: bool = False,
    clip: bool = False,
    progress=None,
) -> dict:
    """:func:`evaluation` for any method: GPTQ / AWQ (a minute of numpy) kept like RTN by their
    settings, ``progress(fraction)`` while they run.
    A GPTQ / AWQ result adds ``ptq``: per-Linear errors against RTN's, and its seconds."""
    ptq = ptq_key(method, calib, act_order, clip)
    if ptq[0] == "rtn" or weights is None:
        return evaluation(weights, emb, keep, act)

    def run(report) -> dict:
        t0 = time.perf_counter()
        qm = _quantized(weights, emb, keep, ptq, report)
        return {**_evaluate(qm, act, time.perf_counter() - t0), "ptq": qm.report.summary()}

    return compute("llm_ptq_eval", (weights, emb, tuple(keep), act, ptq), run, on_event=progress, memory=64)


def _evaluate(qm, act: str | None, seconds_quantize: float) -> dict:
    from quantlib.llm import forward
    from quantlib.llm.evaluate import kl_stats, perplexity
    from quantlib.llm.recipes import activation_hook

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
        "seconds_quantize": seconds_quantize,
        "seconds_forward": t2 - t1,
    }


def _top(logits: np.ndarray, k: int = 5) -> list[tuple[list[int], list[float]]]:
    from quantlib.llm.evaluate import top_tokens

    out = []
    for row in logits:
        ids, p = top_tokens(row, k)
        out.append(([int(i) for i in ids], [float(v) for v in p]))
    return out


def reference_generation(prompt: str, n: int = GEN_TOKENS) -> dict:
    return compute("llm_ref_gen", (prompt, int(n)), lambda report: _reference_generation(prompt, int(n)), memory=32)


def _reference_generation(prompt: str, n: int) -> dict:
    from quantlib.llm import chat_prompt, generate

    tok = tokenizer()
    ids = tok.encode(chat_prompt(prompt))
    t0 = time.perf_counter()
    g = generate(model(), ids, max_new_tokens=n)
    return {"prompt_ids": ids, "ids": g.ids, "top": _top(g.logits), "seconds": time.perf_counter() - t0}


def generation(
    weights: str | None, emb: str | None, keep: tuple[int, ...], act: str | None, kv: str | None, prompt: str, n: int = GEN_TOKENS, ptq: tuple = ("rtn",)
) -> dict:
    """The quantized model's greedy continuation of ``prompt`` (chat template applied), and its
    top-5 next tokens along the *reference's* continuation (same prefix as the reference);
    ``ptq``: the method's part of the recipe (:func:`ptq_key`)."""
    key = (weights, emb, tuple(keep), act, kv, prompt, int(n), tuple(ptq))
    return compute("llm_gen", key, lambda report: _generation(*key), memory=64)


def _generation(weights, emb, keep, act, kv, prompt, n, ptq) -> dict:
    from quantlib.llm import KVCache, forward, generate
    from quantlib.llm.recipes import activation_hook

    ref = reference_generation(prompt, n)
    qm = _quantized(weights, emb, keep, ptq)
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
    return lookup("llm_presets", "all")


def preset_rows(progress=None) -> list[dict]:
    """Every preset of :data:`quantlib.llm.recipes.LLM_PRESETS` evaluated (a row per preset:
    name, recipe fields and :func:`evaluation`'s numbers); ``progress(done, total, name)``."""
    return compute("llm_presets", "all", lambda report: _preset_rows(progress_report(report)), on_event=progress_events(progress), memory=2)


def _preset_rows(progress) -> list[dict]:
    from quantlib.llm.recipes import LLM_PRESETS

    rows = []
    for i, (name, r) in enumerate(LLM_PRESETS.items()):
        if progress is not None:
            progress(i, len(LLM_PRESETS), name)
        e = evaluation(r.weights, r.embeddings, r.keep, r.act)
        rows.append({"name": name, **{k: v for k, v in e.items() if k != "kl"}})
    if progress is not None:
        progress(len(LLM_PRESETS), len(LLM_PRESETS), "")
    return rows


def sensitivity(scheme: str, progress=None) -> np.ndarray:
    """Mean KL when only one block is quantized with ``scheme``, per block, on the first
    :data:`SENS_TOKENS` tokens of every evaluation text; ``progress(fraction)``."""
    from quantlib.llm import forward
    from quantlib.llm.evaluate import block_sensitivity

    def sweep(report) -> np.ndarray:
        ids = eval_ids()[:, :SENS_TOKENS]
        ref = forward(model(), ids)
        return block_sensitivity(model(), scheme, ids, ref, progress=report)

    return compute("llm_sensitivity", scheme, sweep, on_event=progress, memory=16)


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


# --------------------------------------------------------------------------- GPTQ / AWQ
def cached_method_rows() -> list[dict] | None:
    """The methods compared if some session has computed them, else None."""
    return lookup("llm_methods", (METHODS_CALIB, METHODS_KEEP))


def method_rows(progress=None) -> list[dict]:
    """RTN, GPTQ and AWQ at 4, 3 and 2 bits (:data:`METHOD_GRIDS`, the Linears only, the
    embedding as shipped) on :data:`METHODS_CALIB` calibration windows: a row per run with
    ``grid``, ``bits``, ``method`` and :func:`evaluate`'s numbers; ``progress(done, total, label)``."""
    return compute("llm_methods", (METHODS_CALIB, METHODS_KEEP), lambda report: _method_rows(progress_report(report)), on_event=progress_events(progress), memory=2)


def _method_rows(progress) -> list[dict]:
    from quantlib.schemes import parse_scheme

    runs = [(g, m) for g in METHOD_GRIDS for m in ("rtn", "gptq", "awq")]
    rows = []
    for i, (grid, method) in enumerate(runs):
        if progress is not None:
            progress(i, len(runs), f"{grid} {method.upper()}")
        tick = None if progress is None else (lambda f, i=i, g=grid, m=method: progress(i + f, len(runs), f"{g} {m.upper()}"))
        e = evaluate(grid, None, METHODS_KEEP, None, method, METHODS_CALIB, progress=tick)
        rows.append({"grid": grid, "bits": parse_scheme(grid).bits, "method": method, **{k: v for k, v in e.items() if k != "kl"}})
    if progress is not None:
        progress(len(runs), len(runs), "")
    return rows


def closeup_input(name: str) -> np.ndarray:
    """The float model's input to the Linear ``name`` on :data:`CLOSEUP_WINDOWS` calibration
    windows (tokens, in)."""
    from quantlib.llm.closeup import linear_input

    store = shared_store("llm_closeup_x", 4)
    found = store.get(name)
    if found is None:
        found = store.put(name, linear_input(model(), calibration_ids()[:CLOSEUP_WINDOWS], name))
    return found


def gptq_closeup(name: str, grid: str, act_order: bool):
    """:func:`quantlib.llm.closeup.gptq_closeup` of one Linear (kept for every session)."""
    from quantlib.llm.closeup import gptq_closeup as run

    store = shared_store("llm_closeup_gptq", 6)
    key = (name, grid, bool(act_order))
    found = store.get(key)
    if found is None:
        found = store.put(key, run(model(), closeup_input(name), name, grid, act_order=act_order))
    return found


def awq_closeup(name: str, grid: str):
    """:func:`quantlib.llm.closeup.awq_closeup` of the group of one Linear (or None)."""
    from quantlib.llm.closeup import awq_closeup as run

    store = shared_store("llm_closeup_awq", 16)
    key = (name, grid)
    found = store.get(key, "missing")
    if isinstance(found, str):
        found = store.put(key, run(model(), closeup_input(name), name, grid))
    return found
