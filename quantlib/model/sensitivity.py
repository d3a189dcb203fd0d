"""Per-layer sensitivity: quantize one Linear (or one group of Linears) at a time.

Each step runs the evaluation set with only that group quantized under the recipe and the
rest in float32, and records the metrics of :func:`quantlib.model.evalset.compare`; the
groups that hurt most are the ones to keep in float (:func:`~quantlib.model.recipes.with_float_layers`).
``groups``: ``"linear"`` (36 steps), ``"layer"`` (6: all Linears of one layer) or ``"kind"``
(6: one kind, e.g. every ``ffn_down``, across layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .evalset import EvalMetrics, compare
from .forward import QuantHook, embed
from .minilm import Batch, MiniLM
from .recipes import RECIPES, Recipe, build_plan

__all__ = ["GROUPINGS", "SensitivityRow", "group_names", "layer_sensitivity"]

GROUPINGS = ("linear", "layer", "kind")


@dataclass(frozen=True)
class SensitivityRow:
    group: str
    names: tuple[str, ...]
    metrics: EvalMetrics

    @property
    def damage(self) -> float:
        """1 - mean cosine to float32 (bigger is worse)."""
        return 1.0 - self.metrics.mean_cosine


def group_names(model: MiniLM, groups: str = "linear") -> dict[str, list[str]]:
    """Group label -> Linear names, in execution order."""
    if groups not in GROUPINGS:
        raise ValueError(f"groups must be one of {', '.join(GROUPINGS)}, got {groups!r}")
    out: dict[str, list[str]] = {}
    for name in model.linears:
        layer, kind = name.split(".")
        key = {"linear": name, "layer": layer, "kind": kind}[groups]
        out.setdefault(key, []).append(name)
    return out


def layer_sensitivity(
    model: MiniLM,
    recipe: Recipe | str,
    batch: Batch,
    ref: np.ndarray,
    calib: dict | None = None,
    *,
    groups: str = "linear",
    progress: Callable[[int, int, str], None] | None = None,
) -> list[SensitivityRow]:
    """Quantize one group at a time under ``recipe``; ``progress(done, total, label)`` after each.
    (The float16 recipe's rounding of embeddings and LayerNorms is not applied here: only the
    Linears are swept.)"""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    full = build_plan(model, r, calib)
    gs = group_names(model, groups)
    rows = []
    for i, (label, names) in enumerate(gs.items()):
        plan = {n: full[n] for n in names if n in full}
        emb = embed(model, batch, QuantHook(plan)) if plan else ref
        rows.append(SensitivityRow(label, tuple(names), compare(ref, emb)))
        if progress is not None:
            progress(i + 1, len(gs), label)
    return rows
