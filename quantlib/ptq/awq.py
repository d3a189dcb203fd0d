"""AWQ (Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and
Acceleration", arXiv 2306.00978), in numpy, with any quantlib scheme as the grid.

A few input channels carry much larger activations than the rest; their weights matter more.
AWQ scales each input channel j of the weight up by ``s_j`` and the input down by it, which
leaves the float product unchanged, ``x W^T = (x / s)(W s)^T``, but makes the salient
columns' rounding error relatively smaller:

* ``s = mean|x|^alpha`` per input channel (clamped at 1e-4), divided by
  ``sqrt(max s * min s)``; alpha on a grid of 20 in [0, 1) (0, 0.05, ..., 0.95);
* for each alpha the Linears that share the input (q/k/v, gate/up) are quantized as
  ``Q(W s) / s`` and the output error ``mean((x (Q(W s)/s)^T - x W^T)^2)`` summed over them;
  the alpha with the smallest error wins (alpha = 0 is s = 1: RTN itself, so AWQ never does
  worse than RTN on the search set);
* the scale is folded into the previous operation (an RMSNorm's weight, or the rows of the
  Linear before), so the float model is unchanged; then RTN with the scheme;
* optional :func:`clip_search` (the reference's ``auto_clip``): per row and group, the clip
  ``max|w| (1 - i/20)``, i < 10, with the smallest partial-output error.

Worked number: two channels with mean|x| = [4, 1], alpha = 0.5: s = [2, 1] / sqrt(2) =
[1.414, 0.707]; the first column is doubled relative to the second before rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..granularity import PerAxis, PerBlock
from ..schemes import Scheme, parse_scheme
from .gptq import rtn

__all__ = ["AWQSearch", "awq_scales", "awq_search", "clip_search", "search_tokens"]


def search_tokens(x: np.ndarray, limit: int | None) -> np.ndarray:
    """At most ``limit`` rows of x, evenly spaced (all of them when ``limit`` is None)."""
    x = np.asarray(x).reshape(-1, np.asarray(x).shape[-1])
    if limit is None or x.shape[0] <= limit:
        return x
    idx = np.linspace(0, x.shape[0] - 1, int(limit)).round().astype(np.int64)
    return x[idx]


def awq_scales(x_mean: np.ndarray, alpha: float) -> np.ndarray:
    """``s = max(mean|x|^alpha, 1e-4) / sqrt(max s * min s)`` (float32), the reference's rule."""
    s = np.maximum(np.asarray(x_mean, np.float64) ** float(alpha), 1e-4)
    s = s / np.sqrt(s.max() * s.min())
    return s.astype(np.float32)


def _qdq(w: np.ndarray, scheme) -> np.ndarray:
    # one thread: for a few hundred thousand weights, starting threads costs more than it saves
    # (a 1536 x 576 uint4:block=64 round trip: 13 ms on one thread, 34 ms with the default)
    return rtn(w, scheme, threads=1)


@dataclass(frozen=True, eq=False)
class AWQSearch:
    """One group's search: ``alphas`` and the summed output ``errors`` (mean squared, per
    alpha); ``alpha`` the best; ``scales`` its s; ``x_mean`` the mean |x| per channel;
    ``reference`` the float outputs' mean square (for relative numbers)."""

    alphas: np.ndarray
    errors: np.ndarray
    alpha: float
    scales: np.ndarray
    x_mean: np.ndarray
    reference: float

    @property
    def rtn_error(self) -> float:
        """The error at alpha = 0 (s = 1): plain RTN."""
        return float(self.errors[0])

    @property
    def error(self) -> float:
        return float(self.errors[int(np.argmin(self.errors))])

    @property
    def gain(self) -> float:
        """RTN's error over AWQ's (1 = no gain)."""
        return self.rtn_error / self.error if self.error > 0 else float("inf")


def awq_search(weights, x: np.ndarray, scheme: Scheme | str, *, n_grid: int = 20, max_tokens: int | None = 1024) -> AWQSearch:
    """Search alpha for the Linears ``weights`` (each (out, in)) that share the input ``x``
    (tokens, in).  ``max_tokens``: the search uses at most this many tokens of x (evenly spaced;
    the mean |x| uses them all)."""
    s = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    x = np.asarray(x, np.float32)
    x = x.reshape(-1, x.shape[-1])
    x_mean = np.mean(np.abs(x), axis=0, dtype=np.float64)
    xs = search_tokens(x, max_tokens)
    ws = [np.asarray(w, np.float32) for w in weights]
    refs = [xs @ w.T for w in ws]
    ref_ms = float(sum(np.mean(r.astype(np.float64) ** 2) for r in refs))
    alphas = np.arange(n_grid) / n_grid
    errors = np.empty(n_grid)
    for i, a in enumerate(alphas):
        sc = awq_scales(x_mean, a)
        err = 0.0
        for w, r in zip(ws, refs):
            wq = _qdq(w * sc, s) / sc
            d = xs @ wq.T
            d -= r
            err += float(np.mean(d.astype(np.float64) ** 2))
        errors[i] = err
    best = int(np.argmin(errors))
    return AWQSearch(alphas=alphas, errors=errors, alpha=float(alphas[best]), scales=awq_scales(x_mean, alphas[best]), x_mean=x_mean, reference=ref_ms)


def clip_search(
    w: np.ndarray, x: np.ndarray, scheme: Scheme | str, *, n_grid: int = 20, max_shrink: float = 0.5, max_tokens: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """AWQ's ``auto_clip`` for one (already scaled) weight and its (scaled) input: for every
    row and group of the scheme (a block of the row; the whole row per channel / per tensor)
    the clip ``t = max|w_group| (1 - i / n_grid)``, ``i < max_shrink n_grid``, whose partial
    output ``x_group w_group^T`` after rounding is closest to the float one.  Returns
    ``(clipped weight, chosen shrink per row and group)``."""
    s = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    w = np.asarray(w, np.float32)
    rows, cols = w.shape
    g = s.granularity
    gs = g.size if isinstance(g, PerBlock) and cols % g.size == 0 else cols
    if isinstance(g, PerAxis) and g.axis in (1, -1):
        gs = 1
    ng = cols // gs
    xs = search_tokens(np.asarray(x, np.float32), max_tokens)
    Wg = w.reshape(rows, ng, gs)
    Xg = xs.reshape(xs.shape[0], ng, gs)
    org = np.einsum("ngk,rgk->rgn", Xg, Wg)  # (rows, groups, tokens) partial outputs
    amax = np.abs(Wg).max(axis=2, keepdims=True)
    best_err = np.full((rows, ng), np.inf)
    best_ratio = np.ones((rows, ng))
    out = w.copy()
    for i in range(int(max_shrink * n_grid)):
        ratio = 1 - i / n_grid
        t = amax * ratio
        cw = np.clip(Wg, -t, t).reshape(rows, cols)
        qw = _qdq(cw, s).reshape(rows, ng, gs)
        cur = np.einsum("ngk,rgk->rgn", Xg, qw)
        err = np.mean((cur - org) ** 2, axis=2)
        better = err < best_err
        best_err[better] = err[better]
        best_ratio[better] = ratio
        out.reshape(rows, ng, gs)[better] = cw.reshape(rows, ng, gs)[better]
    return out, best_ratio
