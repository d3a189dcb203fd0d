"""Calibration: choosing the clipping range of an integer quantizer.

Each method returns a :class:`CalibrationResult` holding the chosen range ``[lo, hi]`` (and,
for the searches, every candidate with its objective), so a page can draw the range over the
histogram and the objective curve beside it.

==============  ==========================================================================
method          range
==============  ==========================================================================
``minmax``      ``[min x, max x]`` (symmetric: ``±max|x|``): nothing is clipped.
``percentile``  the ``p``-th percentile of ``|x|`` (symmetric) or the ``100-p`` / ``p``
                percentiles of x: ``p = 99.99`` clips the top 0.01 %.
``mse``         the threshold minimising the quantization MSE over ``num_candidates``
                fractions of the min-max range, the MSE taken on a 2**14-bin histogram.
``kl``          TensorRT's entropy calibration (Migacz, "8-bit Inference with TensorRT",
                GTC 2017): 2048-bin histogram of ``|x|``; for every ``i >= 128`` the
                distribution P of the first ``i`` bins (outliers folded into bin ``i-1``)
                against Q, the same bins merged into 128 levels and spread back; the ``i``
                with the least ``KL(P || Q)`` gives the threshold ``(i + 0.5) * bin_width``.
==============  ==========================================================================

Worked number: ``x = [-1, 0, 0.5, 3]``, minmax symmetric -> ``[-3, 3]``; asymmetric ->
``[-1, 3]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CALIBRATION_METHODS",
    "CalibrationResult",
    "calibrate",
    "kl_range",
    "minmax_range",
    "mse_range",
    "percentile_range",
]

CALIBRATION_METHODS: tuple[str, ...] = ("minmax", "percentile", "mse", "kl")


@dataclass(frozen=True)
class CalibrationResult:
    """The chosen range, and for ``mse`` / ``kl`` the candidate thresholds with their objective.

    What a formula needs to be filled in: ``amax`` (max |x|), ``percentile`` (its ``p``), and
    for ``kl`` the ``bin_width`` of the histogram of |x| and the ``chosen_bin`` i, the
    threshold being ``(i + 0.5) * bin_width`` (capped at ``amax``)."""

    method: str
    lo: float
    hi: float
    symmetric: bool
    candidates: np.ndarray | None = None
    objective: np.ndarray | None = None
    amax: float | None = None
    percentile: float | None = None
    bin_width: float | None = None
    chosen_bin: int | None = None

    @property
    def threshold(self) -> float:
        """max(|lo|, |hi|): the clip threshold of a symmetric quantizer."""
        return max(abs(self.lo), abs(self.hi))

    @property
    def best(self) -> int | None:
        """Index of the chosen candidate (the least objective), None without a search."""
        if self.objective is None or self.objective.size == 0:
            return None
        return int(np.argmin(self.objective))

    @property
    def best_objective(self) -> float | None:
        """The objective at the chosen candidate (the MSE, or KL(P || Q))."""
        b = self.best
        return None if b is None else float(self.objective[b])


def _finite_flat(x) -> np.ndarray:
    a = np.asarray(x)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"calibration needs real numbers, got {a.dtype}")
    a = a.reshape(-1)
    if a.size == 0:
        raise ValueError("cannot calibrate an empty array")
    if not np.all(np.isfinite(a)):
        raise ValueError("the input holds NaN or inf; calibrate on finite values")
    return a


def _check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer from 2 to 16, got {bits!r}")
    return int(bits)


def minmax_range(x, *, symmetric: bool = True) -> CalibrationResult:
    """``[-max|x|, max|x|]`` (symmetric) or ``[min x, max x]``."""
    a = _finite_flat(x)
    if symmetric:
        t = float(np.max(np.abs(a)))
        return CalibrationResult("minmax", -t, t, True, amax=t)
    return CalibrationResult("minmax", float(a.min()), float(a.max()), False, amax=float(np.max(np.abs(a))))


def percentile_range(x, *, percentile: float = 99.99, symmetric: bool = True) -> CalibrationResult:
    """The ``percentile`` of ``|x|`` (symmetric) or the ``100 - p`` and ``p`` percentiles of x.

    numpy's default (linear) interpolation; ``percentile=100`` is minmax.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile!r}")
    a = _finite_flat(x)
    if symmetric:
        t = float(np.percentile(np.abs(a), percentile))
        return CalibrationResult("percentile", -t, t, True, amax=float(np.max(np.abs(a))), percentile=float(percentile))
    lo, hi = np.percentile(a, [100 - percentile, percentile])
    return CalibrationResult("percentile", float(lo), float(hi), False, amax=float(np.max(np.abs(a))), percentile=float(percentile))


def _hist_centers(a: np.ndarray, lo: float, hi: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(a, bins=bins, range=(lo, hi))
    return (edges[:-1] + edges[1:]) / 2, counts.astype(np.float64)


def mse_range(x, *, bits: int = 8, symmetric: bool = True, num_candidates: int = 100, num_bins: int = 1 << 14) -> CalibrationResult:
    """The clip range with the least quantization MSE among ``num_candidates`` shrinks of minmax.

    Symmetric: thresholds ``T_i = max|x| * i / num_candidates``, grid ``round(x * qmax / T) / (qmax / T)``
    clamped to ``±qmax`` (``qmax = 2**(bits-1) - 1``).  Asymmetric: ``[f * min, f * max]`` with the
    zero-point grid of ``uint{bits}``.  MSE is computed on the bin centres of a ``num_bins``
    histogram (one pass over the data, then ``num_candidates x num_bins`` work).
    """
    bits = _check_bits(bits)
    a = _finite_flat(x)
    if num_candidates < 1:
        raise ValueError("num_candidates must be at least 1")
    frac = np.arange(1, num_candidates + 1) / num_candidates
    if symmetric:
        amax = float(np.max(np.abs(a)))
        if amax == 0:
            return CalibrationResult("mse", 0.0, 0.0, True, frac * 0, frac * 0)
        c, h = _hist_centers(np.abs(a), 0.0, amax, num_bins)
        qmax = 2 ** (bits - 1) - 1
        T = amax * frac
        step = (T / qmax)[:, None]
        q = np.minimum(np.rint(c[None, :] / step), qmax) * step
        mse = ((c[None, :] - q) ** 2 * h[None, :]).sum(axis=1) / h.sum()
        best = int(np.argmin(mse))
        return CalibrationResult("mse", -float(T[best]), float(T[best]), True, T, mse, amax=amax)
    mn, mx = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
    if mn == mx:
        return CalibrationResult("mse", 0.0, 0.0, False, frac * 0, frac * 0)
    c, h = _hist_centers(a, mn, mx, num_bins)
    levels = 2**bits - 1
    lo, hi = mn * frac, mx * frac
    scale = ((hi - lo) / levels)[:, None]
    zp = np.rint(-lo[:, None] / scale)
    q = np.clip(np.rint(c[None, :] / scale) + zp, 0, levels)
    mse = ((c[None, :] - (q - zp) * scale) ** 2 * h[None, :]).sum(axis=1) / h.sum()
    best = int(np.argmin(mse))
    return CalibrationResult("mse", float(lo[best]), float(hi[best]), False, hi, mse, amax=float(np.max(np.abs(a))))


def _smooth(p: np.ndarray, eps: float = 1e-4) -> np.ndarray | None:
    """Move ``eps`` of mass onto the empty bins (MXNet's _smooth_distribution); None if all empty."""
    zero = p == 0
    nz = int((~zero).sum())
    if nz == 0:
        return None
    nzero = p.size - nz
    eps1 = eps * nzero / nz
    out = p.astype(np.float64) + eps * zero - eps1 * (~zero)
    return out


def kl_range(x, *, bits: int = 8, num_bins: int = 2048) -> CalibrationResult:
    """TensorRT entropy calibration (symmetric): the threshold minimising KL(P || Q).

    ``num_quantized = 2**(bits-1)`` levels (128 for int8); candidates ``i = num_quantized ..
    num_bins``; threshold ``(i + 0.5) * bin_width`` capped at ``max|x|`` (Migacz 2017,
    slide "Entropy Calibration - pseudo code").
    """
    bits = _check_bits(bits)
    a = np.abs(_finite_flat(x))
    nq = 2 ** (bits - 1)
    if num_bins < nq:
        raise ValueError(f"num_bins ({num_bins}) must be at least 2**(bits-1) = {nq}")
    amax = float(a.max())
    if amax == 0:
        return CalibrationResult("kl", 0.0, 0.0, True, np.zeros(1), np.zeros(1))
    hist, edges = np.histogram(a, bins=num_bins, range=(0.0, amax))
    hist = hist.astype(np.float64)
    width = edges[1] - edges[0]
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0.0]])  # tail[i] = sum(hist[i:])
    cands = np.arange(nq, num_bins + 1)
    kl = np.full(cands.size, np.inf)
    for k, i in enumerate(cands):
        p = hist[:i].copy()
        p[i - 1] += tail[i]
        ref = hist[:i]
        m = i // nq
        starts = np.arange(nq) * m
        sums = np.add.reduceat(ref, starts)
        nonzero = ref != 0
        nzc = np.add.reduceat(nonzero.astype(np.float64), starts)
        lens = np.diff(np.append(starts, i))
        per = np.divide(sums, nzc, out=np.zeros_like(sums), where=nzc > 0)
        q = np.repeat(per, lens) * nonzero
        ps, qs = _smooth(p), _smooth(q)
        if ps is None or qs is None:
            continue
        ps /= ps.sum()
        qs /= qs.sum()
        live = ps > 0
        kl[k] = float(np.sum(ps[live] * np.log(ps[live] / qs[live])))
    best = int(np.argmin(kl))
    t = min((cands[best] + 0.5) * width, amax)
    return CalibrationResult("kl", -t, t, True, np.minimum((cands + 0.5) * width, amax), kl, amax=amax, bin_width=float(width), chosen_bin=int(cands[best]))


def calibrate(
    x,
    method: str = "minmax",
    *,
    bits: int = 8,
    symmetric: bool = True,
    percentile: float = 99.99,
) -> CalibrationResult:
    """Dispatch to :func:`minmax_range`, :func:`percentile_range`, :func:`mse_range` or :func:`kl_range`.

    ``kl`` is symmetric only (TensorRT); asking for it with ``symmetric=False`` raises ValueError.
    """
    if method == "minmax":
        return minmax_range(x, symmetric=symmetric)
    if method == "percentile":
        return percentile_range(x, percentile=percentile, symmetric=symmetric)
    if method == "mse":
        return mse_range(x, bits=bits, symmetric=symmetric)
    if method == "kl":
        if not symmetric:
            raise ValueError("kl (entropy) calibration is symmetric, as in TensorRT: use symmetric=True")
        return kl_range(x, bits=bits)
    raise ValueError(f"unknown calibration method {method!r}; choose one of {', '.join(CALIBRATION_METHODS)}")
