"""Activation outliers: the per-channel absmax of every Linear's input, and where it comes from.

BERT-family models grow a few hidden channels that are one to two orders of magnitude larger
than the rest, in the residual stream after LayerNorm's scale; :func:`activation_outliers`
finds them (channels whose absmax is ``factor`` times the median channel's or more) and says
which token produced each maximum (position 0 is [CLS]).  Q, K and V share one input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import ActStats, collect_stats
from .minilm import Batch, MiniLM

__all__ = ["OutlierReport", "activation_absmax", "activation_outliers"]


def activation_absmax(model: MiniLM, batch: Batch) -> dict[str, dict]:
    """Linear name -> its input's statistics on ``batch`` (:meth:`ActStats.summary`: per-channel
    ``absmax``, ``argmax_pos``, ``argmax_token``, tensor ``lo`` / ``hi``)."""
    return {k: v.summary() for k, v in collect_stats(model, batch).items()}


@dataclass(frozen=True)
class OutlierReport:
    """One Linear's outlier channels, largest first."""

    name: str
    channels: np.ndarray  # channel indices
    absmax: np.ndarray  # their absmax
    ratio: np.ndarray  # absmax / median channel absmax
    positions: np.ndarray  # position of the maximising token in its text (0 = [CLS])
    tokens: list  # the maximising tokens
    median: float

    @property
    def from_cls(self) -> float:
        """Fraction of the outlier channels whose maximum comes from [CLS]."""
        return float(np.mean(self.positions == 0)) if self.positions.size else 0.0


def activation_outliers(stats: dict, factor: float = 6.0, top: int | None = None) -> dict[str, OutlierReport]:
    """Per Linear: the channels whose absmax is at least ``factor`` x the median channel's
    (at most ``top`` of them), from :func:`activation_absmax` output (or ActStats)."""
    out = {}
    for name, st in stats.items():
        s = st.summary() if isinstance(st, ActStats) else st
        a = np.asarray(s["absmax"], np.float64)
        med = float(np.median(a))
        order = np.argsort(-a, kind="stable")
        sel = order[a[order] >= factor * med]
        if top is not None:
            sel = sel[:top]
        pos = np.asarray(s["argmax_pos"])[sel] if s.get("argmax_pos") is not None else np.full(sel.size, -1)
        toks = [s["argmax_token"][j] for j in sel] if s.get("argmax_token") is not None else []
        out[name] = OutlierReport(name, sel, a[sel], a[sel] / med, pos, toks, med)
    return out
