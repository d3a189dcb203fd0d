"""SmoothQuant (Xiao et al., arXiv 2211.10438) on MiniLM: migrate activation outliers into weights.

For a Linear ``y = x W^T`` with per-input-channel maxima ``max|X_j|`` (over calibration
tokens) and ``max|W_j|`` (over the output rows of column j):

    s_j = max|X_j|^alpha / max|W_j|^(1 - alpha),    x' = x / s,   W' = W * s (column j)

so ``x' W'^T = x W^T`` exactly in real arithmetic, and at alpha = 0.5 both maxima become
``sqrt(max|X_j| max|W_j|)``.  Then W8A8: W' int8 per output channel, x' int8 per tensor.
In a deployment s is folded into the preceding LayerNorm (Q, K, V, FFN up) or the V
projection (attention output); the FFN down-projection's input comes out of a GELU, so there
s would cost an extra scaling op -- and in MiniLM it does not help anyway (see
:func:`per_layer_table`): that layer's activation outlier channels sit on weight columns that
are large too, so ``s_j`` pushes them further up in W' and the weight error grows.  Per-token
activation scales (``int8:axis=0``) are the better fix there.

Worked number: ``max|X| = [16, 1]``, ``max|W| = [0.25, 1]``, alpha 0.5 -> ``s = [8, 1]``:
``max|X'| = [2, 1]``, ``max|W'| = [2, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..schemes import quantize
from .evalset import EvalMetrics, compare
from .forward import LinearQuant, QuantHook, embed
from .minilm import Batch, Linear, MiniLM

__all__ = [
    "SmoothView",
    "layer_output_error",
    "per_layer_table",
    "smooth_plan",
    "smooth_view",
    "smoothing_factors",
    "whole_model_variants",
]

W8 = "int8:axis=0"
A8 = "int8"
A8_TOKEN = "int8:axis=0"


def smoothing_factors(x_absmax: np.ndarray, weight: np.ndarray, alpha: float = 0.5, eps: float = 1e-5) -> np.ndarray:
    """``s_j = max|X_j|^alpha / max|W_j|^(1-alpha)`` (float32, one per input channel of the
    (out, in) ``weight``); channels with a zero maximum get s = 1; s is at least ``eps``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    xa = np.asarray(x_absmax, np.float64)
    wa = np.abs(np.asarray(weight, np.float64)).max(axis=0)
    if xa.shape != wa.shape:
        raise ValueError(f"{xa.shape[0]} activation channels for a weight with {wa.shape[0]} inputs")
    ok = (xa > 0) & (wa > 0)
    s = np.ones_like(xa)
    s[ok] = xa[ok] ** alpha / wa[ok] ** (1.0 - alpha)
    return np.maximum(s, eps).astype(np.float32)


@dataclass(frozen=True)
class SmoothView:
    """Per-channel maxima of one Linear before and after smoothing (all length ``in``)."""

    name: str
    alpha: float
    s: np.ndarray
    x_before: np.ndarray
    x_after: np.ndarray
    w_before: np.ndarray
    w_after: np.ndarray

    @staticmethod
    def _spread(a: np.ndarray) -> float:
        return float(a.max() / np.median(a))

    @property
    def x_spread(self) -> tuple[float, float]:
        """max / median channel maximum of X, before and after."""
        return self._spread(self.x_before), self._spread(self.x_after)

    @property
    def w_spread(self) -> tuple[float, float]:
        return self._spread(self.w_before), self._spread(self.w_after)

    def extreme(self) -> dict:
        """The numbers of ``s_j = max|X_j|^α / max|W_j|^(1−α)`` for the channel j with the
        largest activation maximum (``j``, ``x``, ``w``, ``s``, and ``x_after = x / s``,
        ``w_after = w · s``), and the maxima over all channels before and after (``x_max``,
        ``x_max_after``, ``w_max``, ``w_max_after``).  α = 0.5, max|X_j| = 100, max|W_j| = 0.25:
        s_j = 10 / 0.5 = 20, X_j 100 → 5, W_j 0.25 → 5."""
        j = int(np.argmax(self.x_before))
        return {
            "j": j,
            "alpha": float(self.alpha),
            "x": float(self.x_before[j]),
            "w": float(self.w_before[j]),
            "s": float(self.s[j]),
            "x_after": float(self.x_after[j]),
            "w_after": float(self.w_after[j]),
            "x_max": float(self.x_before.max()),
            "x_max_after": float(self.x_after.max()),
            "w_max": float(self.w_before.max()),
            "w_max_after": float(self.w_after.max()),
        }


def smooth_view(model: MiniLM, stats: dict, name: str, alpha: float = 0.5) -> SmoothView:
    """The per-channel max of X and W for Linear ``name`` before and after smoothing.
    ``stats``: :func:`~quantlib.model.recipes.calibrate_model` output (or ActStats)."""
    lin = model.linears[name]
    xa = np.asarray(_absmax(stats[name]), np.float32)
    s = smoothing_factors(xa, lin.weight, alpha)
    wa = np.abs(lin.weight).max(axis=0)
    return SmoothView(name, alpha, s, xa, xa / s, wa, np.abs(lin.weight * s).max(axis=0))


def _absmax(st) -> np.ndarray:
    return st["absmax"] if isinstance(st, dict) else st.absmax


def smooth_plan(
    model: MiniLM,
    stats: dict,
    alpha: float = 0.5,
    *,
    smooth=None,
    per_token=(),
    weight: str = W8,
    act: str = A8,
    only=None,
) -> dict[str, LinearQuant]:
    """A W8A8 plan: ``smooth`` (names or kinds; None = every Linear) get SmoothQuant factors,
    ``per_token`` (names or kinds) use per-token activation scales; ``only`` restricts the plan
    to some Linears (the rest stay float)."""

    def match(name: str, sel) -> bool:
        if sel is None:
            return True
        layer, kind = name.split(".")
        return name in sel or kind in sel or layer in sel

    plan = {}
    for name, lin in model.linears.items():
        if only is not None and not match(name, only):
            continue
        s = smoothing_factors(_absmax(stats[name]), lin.weight, alpha) if match(name, smooth) and alpha is not None else None
        plan[name] = LinearQuant(
            weight=weight,
            act=A8_TOKEN if match(name, per_token) and per_token else act,
            smooth=s,
        )
    return plan


def layer_output_error(lin: Linear, x: np.ndarray, spec: LinearQuant) -> float:
    """Relative error ``||Y_q - Y|| / ||Y||`` of one Linear's output (bias excluded) on inputs x."""
    from .forward import apply_linear

    y = x @ lin.weight.T
    zero = Linear(lin.name, lin.weight, np.zeros_like(lin.bias))
    yq = apply_linear(zero, x, spec)
    return float(np.linalg.norm((yq - y).astype(np.float64)) / np.linalg.norm(y.astype(np.float64)))


def per_layer_table(
    model: MiniLM,
    stats: dict,
    inputs: dict[str, np.ndarray],
    alpha: float = 0.5,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[dict]:
    """For every Linear: the relative output error of W8A8 (per-tensor activations) without and
    with smoothing, and with per-token activations (unsmoothed), on ``inputs`` (name -> the
    Linear's float inputs, e.g. ``ActStats.inputs()`` on the evaluation set); plus the X and W
    spreads (max / median channel maximum) before and after smoothing.

    ``smoothing_hurts`` is True where the smoothed error exceeds the plain one."""
    rows = []
    names = [n for n in model.linears if n in inputs]
    for i, name in enumerate(names):
        lin = model.linears[name]
        x = inputs[name]
        v = smooth_view(model, stats, name, alpha)
        plain = layer_output_error(lin, x, LinearQuant(weight=W8, act=A8))
        smooth = layer_output_error(lin, x, LinearQuant(weight=W8, act=A8, smooth=v.s))
        token = layer_output_error(lin, x, LinearQuant(weight=W8, act=A8_TOKEN))
        w_only = layer_output_error(lin, x, LinearQuant(weight=W8))
        ws = quantize(lin.weight * v.s, W8).dequantize()
        rows.append(
            {
                "name": name,
                "kind": name.split(".")[1],
                "w8a8": plain,
                "w8a8_smooth": smooth,
                "w8a8_per_token": token,
                "w8_only": w_only,
                "smoothed_weight_rel_error": float(np.linalg.norm(ws - lin.weight * v.s) / np.linalg.norm(lin.weight * v.s)),
                "weight_rel_error": float(np.linalg.norm(quantize(lin.weight, W8).dequantize() - lin.weight) / np.linalg.norm(lin.weight)),
                "x_spread_before": v.x_spread[0],
                "x_spread_after": v.x_spread[1],
                "w_spread_before": v.w_spread[0],
                "w_spread_after": v.w_spread[1],
                "smoothing_hurts": smooth > plain,
            }
        )
        if progress is not None:
            progress(i + 1, len(names), name)
    return rows


def whole_model_variants(model: MiniLM, batch: Batch, ref: np.ndarray, stats: dict, alpha: float = 0.5) -> dict[str, EvalMetrics]:
    """End-to-end metrics of W8A8 variants on ``batch``:

    ``w8a8`` (no smoothing), ``smooth_all``, ``smooth_except_ffn_down``,
    ``smooth_except_ffn_down+per_token_ffn_down`` and ``per_token_all``."""
    variants = {
        "w8a8": smooth_plan(model, stats, alpha, smooth=()),
        "smooth_all": smooth_plan(model, stats, alpha),
        "smooth_except_ffn_down": smooth_plan(model, stats, alpha, smooth=("q", "k", "v", "attn_out", "ffn_up")),
        "smooth_except_ffn_down+per_token_ffn_down": smooth_plan(
            model,
            stats,
            alpha,
            smooth=("q", "k", "v", "attn_out", "ffn_up"),
            per_token=("ffn_down",),
        ),
        "per_token_all": smooth_plan(model, stats, alpha, smooth=(), act=A8_TOKEN),
    }
    return {k: compare(ref, embed(model, batch, QuantHook(p))) for k, p in variants.items()}
