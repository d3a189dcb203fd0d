"""Cached wrappers around :mod:`quantlib.model` for the PTQ studio page (``/model``).

The loaded model, the tokenized evaluation set and the float32 inputs of every Linear on it
are *resources* (``st.cache_resource``: one read-only copy shared by all sessions, never
pickled); the float32 reference embeddings, the calibration statistics and every result are
*data* (``st.cache_data``), keyed by plain hashable arguments: a recipe key, the Linears kept
in float (a sorted tuple), the representative-dataset size, alpha, a layer name.  Results are
returned as plain dicts and arrays, and nothing here formats text for display.

The heavy results (every recipe's run, GPTQ / AWQ, the method comparison, the sensitivity
sweeps) go through the shared result cache (:func:`lab.core.results.compute`: memory, disk,
one job per key on the worker pool), so every session and every restart reuses them; those with
a progress bar take a ``progress`` callback, which the job's events drive in the page's thread.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from lab.core.results import compute, lookup, progress_events, progress_report

__all__ = [
    "METHOD_GRIDS",
    "available",
    "cached_method_rows",
    "calibration",
    "calibration_study",
    "eval_batch",
    "eval_inputs",
    "embedding_scheme",
    "eval_texts",
    "linear_names",
    "method_problem",
    "method_rows",
    "model",
    "outlier_stats",
    "outliers",
    "ptq_batch",
    "recipe_info",
    "recipe_keys",
    "reference",
    "run",
    "run_method",
    "sensitivity",
    "size_parts",
    "smooth_table",
    "smooth_variants",
    "smooth_view",
    "vocabulary_facts",
]


def available() -> bool:
    """True when the model's package and ``tokenizers`` are installed."""
    try:
        import tokenizers  # noqa: F401

        from quantlib.model import model_dir

        model_dir()
    except Exception:  # noqa: BLE001 - any failure means: not installed
        return False
    return True


@st.cache_resource(show_spinner=False)
def model():
    from quantlib.model import load_model

    return load_model()


@st.cache_resource(show_spinner=False)
def eval_batch():
    from quantlib.model import tokenize
    from quantlib.model.evalset import EVAL_TEXTS

    return tokenize(list(EVAL_TEXTS))


def eval_texts() -> tuple[str, ...]:
    from quantlib.model.evalset import EVAL_TEXTS

    return EVAL_TEXTS


@st.cache_data(show_spinner=False)
def reference() -> np.ndarray:
    """float32 embeddings of the evaluation set."""
    from quantlib.model.recipes import reference as ref

    return ref(model(), eval_batch())


@st.cache_data(show_spinner=False, max_entries=8)
def calibration(n: int) -> dict:
    """Activation statistics of every Linear on the first ``n`` calibration texts."""
    from quantlib.model.recipes import calibrate_model

    return calibrate_model(model(), n)


@st.cache_resource(show_spinner=False)
def eval_inputs() -> dict[str, np.ndarray]:
    """Linear name -> its float32 inputs on the evaluation set (tokens, channels); read only."""
    from quantlib.model import collect_stats

    stats = collect_stats(model(), eval_batch(), keep_inputs=True)
    return {k: v.inputs() for k, v in stats.items()}


def linear_names() -> list[str]:
    return list(model().linears)


@st.cache_data(show_spinner=False)
def vocabulary_facts() -> dict:
    """How much Chinese the model can read: CJK characters in its vocabulary, and the [UNK]
    fraction of the evaluation set and of the calibration set's CJK texts."""
    from quantlib.model import load_tokenizer, tokenize
    from quantlib.model.evalset import CALIBRATION_TEXTS, unk_fraction

    vocab = load_tokenizer().get_vocab()
    cjk = sum(1 for t in vocab if len(t) == 1 and ("\u4e00" <= t <= "\u9fff" or "\u3400" <= t <= "\u4dbf" or "\uf900" <= t <= "\ufaff"))
    eval_unk = unk_fraction(eval_batch())
    cjk_texts = [t for t in CALIBRATION_TEXTS if any("\u3040" <= c <= "\u9fff" for c in t)]
    calib_unk = unk_fraction(tokenize(cjk_texts)) if cjk_texts else np.zeros(0)
    return {
        "vocab_size": len(vocab),
        "cjk_in_vocab": cjk,
        "eval_unk_max": float(eval_unk.max()),
        "cjk_calib_texts": cjk_texts,
        "cjk_calib_unk": [float(u) for u in calib_unk],
    }


def recipe_keys() -> list[str]:
    from quantlib.model.recipes import RECIPES

    return list(RECIPES)


def recipe_info(key: str):
    """The :class:`~quantlib.model.recipes.Recipe` (title, tflite code, note)."""
    from quantlib.model.recipes import RECIPES

    return RECIPES[key]


def _recipe(key: str, keep: tuple[str, ...], emb: bool = False):
    from quantlib.model.recipes import RECIPES, with_float_layers, with_quantized_embeddings

    r = with_quantized_embeddings(RECIPES[key]) if emb else RECIPES[key]
    return with_float_layers(r, keep) if keep else r


def embedding_scheme(key: str) -> str | None:
    """The scheme recipe ``key`` would quantize the token embeddings with (None: it cannot)."""
    from quantlib.model.size import embedding_scheme as scheme

    return scheme(recipe_info(key))


def size_parts(key: str, keep: tuple[str, ...] = (), emb: bool = False) -> dict[str, int]:
    """Bytes of recipe ``key`` part by part (:data:`quantlib.model.size.SIZE_PARTS`), without
    running it."""
    from quantlib.model.size import model_size

    return model_size(model(), _recipe(key, keep, emb)).parts()


def _calib_for(key: str, n: int):
    r = recipe_info(key)
    return calibration(n) if r.needs_calibration else None


def run(key: str, keep: tuple[str, ...] = (), n: int = 16, emb: bool = False) -> dict:
    """Run recipe ``key`` (Linears in ``keep`` in float32; ``n`` calibration texts for the
    integer recipes; ``emb``: the token embeddings quantized too) over the evaluation set:
    embeddings, metrics (dict), sizes (``size_parts``: bytes part by part), seconds (numpy
    emulation)."""
    n = int(n) if recipe_info(key).needs_calibration else 0
    return compute("model_run", (key, tuple(keep), n, bool(emb)), lambda report: _run(key, tuple(keep), n, bool(emb)), memory=128)


def _run(key: str, keep: tuple[str, ...], n: int, emb: bool) -> dict:
    from quantlib.model.recipes import run_recipe

    r = _recipe(key, keep, emb)
    t0 = time.perf_counter()
    res = run_recipe(model(), r, eval_batch(), reference(), _calib_for(key, n))
    return {
        "key": key,
        "title": r.title,
        "embeddings": res.embeddings,
        "metrics": res.metrics.as_dict(),
        "size": res.size.total,
        "size_parts": res.size.parts(),
        "float32_size": res.size.float32_total,
        "seconds": time.perf_counter() - t0,
    }


@st.cache_data(show_spinner=False)
def outlier_stats() -> dict[str, dict]:
    """Per Linear: its input's per-channel absmax on the evaluation set and the token behind it."""
    from quantlib.model.outliers import activation_absmax

    return activation_absmax(model(), eval_batch())


@st.cache_data(show_spinner=False, max_entries=16)
def outliers(factor: float):
    from quantlib.model.outliers import activation_outliers

    return activation_outliers(outlier_stats(), factor)


@st.cache_data(show_spinner=False, max_entries=64)
def smooth_view(name: str, alpha: float, n: int = 16):
    from quantlib.model.smoothquant import smooth_view as view

    return view(model(), calibration(n), name, alpha)


@st.cache_data(show_spinner=False, max_entries=32)
def smooth_table(alpha: float, n: int = 16) -> list[dict]:
    from quantlib.model.smoothquant import per_layer_table

    return per_layer_table(model(), calibration(n), eval_inputs(), alpha)


@st.cache_data(show_spinner=False, max_entries=32)
def smooth_variants(alpha: float, n: int = 16) -> dict[str, dict]:
    from quantlib.model.smoothquant import whole_model_variants

    out = whole_model_variants(model(), eval_batch(), reference(), calibration(n), alpha)
    return {k: m.as_dict() for k, m in out.items()}


_SWEEPS_MAX = 24


def sensitivity(key: str, n: int, groups: str, progress=None) -> list[dict]:
    """Per-layer sensitivity of recipe ``key`` (``groups``: linear / layer / kind), as plain
    rows (``group``, ``names``, ``metrics`` dict); ``progress(done, total, label)`` while
    computing (not called when the sweep is already memoized)."""
    from quantlib.model.sensitivity import layer_sensitivity

    cache_key = (key, n if recipe_info(key).needs_calibration else 0, groups)

    def sweep(report) -> list[dict]:
        rows = layer_sensitivity(model(), key, eval_batch(), reference(), _calib_for(key, n), groups=groups, progress=progress_report(report))
        return [{"group": r.group, "names": r.names, "metrics": r.metrics.as_dict()} for r in rows]

    return compute("model_sensitivity", cache_key, sweep, on_event=progress_events(progress), memory=_SWEEPS_MAX)


@st.cache_data(show_spinner=False, max_entries=32)
def calibration_study(name: str, n: int = 16, percentile: float = 99.99) -> dict:
    """min-max / percentile (``percentile``) / MSE / KL clip ranges for Linear ``name``'s
    input, from the first ``n`` calibration texts, and what each does end to end; plus the
    calibration inputs.  Each row also holds what its formula needs (``amax``, ``percentile``,
    the chosen candidate ``best`` of ``n_candidates`` with its ``objective`` and min-max's
    ``objective_minmax``, KL's ``bin_width`` and ``chosen_bin``)."""
    from quantlib.model import collect_stats, tokenize
    from quantlib.model.evalset import CALIBRATION_TEXTS
    from quantlib.model.recipes import calibration_study as study

    calib = collect_stats(model(), tokenize(list(CALIBRATION_TEXTS[:n])), keep_inputs=True, names=[name])[name].inputs()
    rows = study(model(), name, calib, eval_batch(), reference(), eval_inputs()[name], percentile=percentile)
    out = []
    for r in rows:
        c = r.result
        out.append(
            {
                "method": r.method,
                "threshold": float(c.threshold),
                "frac_clipped": r.frac_clipped,
                "output_rel_error": r.output_rel_error,
                "metrics": r.metrics.as_dict(),
                "amax": c.amax,
                "percentile": c.percentile,
                "best": c.best,
                "n_candidates": None if c.candidates is None else int(c.candidates.size),
                "objective": c.best_objective,
                "objective_minmax": None if c.objective is None else float(c.objective[-1]),
                "bin_width": c.bin_width,
                "chosen_bin": c.chosen_bin,
            }
        )
    return {"values": calib, "rows": out}


# ------------------------------------------------------------------ GPTQ and AWQ
METHOD_GRIDS = ("int4:block=64", "int3:block=64", "int2:block=64")  # the methods compared at 4, 3, 2 bits
_PTQ_MAX = 24


@st.cache_resource(show_spinner=False, max_entries=4)
def ptq_batch(n: int):
    """The tokenized calibration texts of GPTQ and AWQ (:func:`quantlib.model.ptq.calibration_batch`)."""
    from quantlib.model.ptq import calibration_batch

    return calibration_batch(n)


def method_problem(key: str, method: str):
    """Why ``method`` does not apply to recipe ``key`` (``(reason, detail)``), or None."""
    from quantlib.model.ptq import method_problem as problem

    return problem(key, method, model())


def _run_method(recipe, method: str, n: int, act_order: bool, clip: bool, progress) -> dict:
    from quantlib.model.ptq import run_method as run_ptq

    t0 = time.perf_counter()
    res, rep = run_ptq(model(), recipe, method, eval_batch(), reference(), act_order=act_order, clip=clip, calib_batch=ptq_batch(n), progress=progress)
    return {
        "key": res.recipe.key,
        "title": res.recipe.title,
        "embeddings": res.embeddings,
        "metrics": res.metrics.as_dict(),
        "size": res.size.total,
        "size_parts": res.size.parts(),
        "float32_size": res.size.float32_total,
        "seconds": time.perf_counter() - t0,
        "ptq": rep.summary(),
    }


def run_method(key: str, keep: tuple[str, ...], method: str, n: int, act_order: bool = False, clip: bool = False, progress=None, emb: bool = False) -> dict:
    """Recipe ``key`` (a weight-only recipe; ``keep`` in float32) with its weights rounded by
    GPTQ or AWQ on ``n`` calibration texts: :func:`run`'s dict plus ``ptq``, the method's
    :meth:`~quantlib.ptq.report.PTQReport.summary`.  ``progress(done, total)`` per Linear or
    group while computing; memoized for every session."""
    cache_key = (key, tuple(keep), method, int(n), bool(act_order and method == "gptq"), bool(clip and method == "awq"), bool(emb))
    return compute("model_ptq", cache_key, lambda report: _run_method(_recipe(key, tuple(keep), emb), method, n, cache_key[4], cache_key[5], progress_report(report)),
                   on_event=progress_events(progress), memory=_PTQ_MAX)


def cached_method_rows(n: int) -> list[dict] | None:
    """The methods compared on ``n`` calibration texts if some session has computed them."""
    return lookup("model_methods", int(n))


def method_rows(n: int, progress=None) -> list[dict]:
    """RTN, GPTQ and AWQ at 4, 3 and 2 bits (:data:`METHOD_GRIDS`, every Linear) on ``n``
    calibration texts: a row per run with ``grid``, ``bits``, ``method``, the metrics,
    ``d_cos`` / ``d_cos_se`` (mean and standard error over the evaluation texts of the cosine
    gained over RTN on the same grid, :func:`quantlib.model.evalset.paired_difference`), the
    seconds and (GPTQ, AWQ) the report's summary.  ``progress(done, total, label)``."""
    return compute("model_methods", int(n), lambda report: _method_rows(int(n), progress_report(report)), on_event=progress_events(progress), memory=4)


def _method_rows(n: int, progress) -> list[dict]:
    from quantlib.model.evalset import paired_difference
    from quantlib.model.ptq import run_method as run_ptq
    from quantlib.model.recipes import custom_recipe
    from quantlib.schemes import parse_scheme

    runs = [(g, m) for g in METHOD_GRIDS for m in ("rtn", "gptq", "awq")]
    rows, base = [], {}
    for i, (grid, method) in enumerate(runs):
        if progress is not None:
            progress(i, len(runs), f"{grid} {method.upper()}")
        t0 = time.perf_counter()
        res, rep = run_ptq(model(), custom_recipe(grid), method, eval_batch(), reference(), calib_batch=ptq_batch(n))
        if method == "rtn":
            base[grid] = res.embeddings
        d, se = paired_difference(reference(), base[grid], res.embeddings)
        row = {"grid": grid, "bits": parse_scheme(grid).bits, "method": method, **res.metrics.as_dict(), "size": res.size.total, "d_cos": d, "d_cos_se": se, "seconds": time.perf_counter() - t0}
        if rep is not None:
            row["ptq"] = rep.summary()
        rows.append(row)
    if progress is not None:
        progress(len(runs), len(runs), "")
    return rows
