"""One Linear up close: what GPTQ and AWQ do to it, in numbers a page can plot and print.

* :func:`gptq_curve`: the layer's relative output error (:func:`~quantlib.ptq.gptq.output_error`)
  after k of its columns are quantized, for GPTQ (the matrix :meth:`GPTQTrace.state` holds
  then: quantized columns plus the updates pushed onto the rest) and for RTN in the same
  column order (the first k columns rounded, the rest untouched); at k = cols both are the
  final errors.
* :func:`gptq_step`: the arithmetic of one step on one row, from the live trace: the column's
  value when reached, its grid value, the scaled error ``e = (w - q) / U_jj`` and the update
  it sends to the next column, ``w' = w - e U_jk``.
* :func:`awq_curve`: AWQ's search as relative numbers: the output error at every alpha over the
  float output's mean square, and the chosen alpha.

Worked number (:mod:`~quantlib.ptq.gptq`'s example, no damping): a row w = [0.6, 0.3], H = [[2,
1], [1, 2]], a grid of step 1.  After column 0 (0.6 -> 1, e = -0.490) GPTQ's error is 0.436
(column 1 moved to 0.3 - (-0.490)(-0.408) = 0.1 makes up for part of it), RTN's 0.504; after
both columns ([1, 0] either way) both are 0.454.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .awq import AWQSearch
from .gptq import GPTQTrace, output_error

__all__ = ["AWQCurve", "GPTQCurve", "GPTQStep", "awq_curve", "gptq_curve", "gptq_step"]


@dataclass(frozen=True)
class GPTQCurve:
    """``steps``: columns quantized (0 ... cols); ``gptq`` and ``rtn``: the relative output
    error after that many columns."""

    steps: np.ndarray
    gptq: np.ndarray
    rtn: np.ndarray

    def below_rtn_from(self) -> int | None:
        """The first step after which GPTQ's error stays at or below RTN's to the end."""
        above = np.nonzero(self.gptq > self.rtn * (1 + 1e-9))[0]
        if above.size == 0:
            return int(self.steps[0])
        last = int(above[-1])
        return int(self.steps[last + 1]) if last + 1 < self.steps.size else None


def _rtn_state(w0: np.ndarray, rtn_q: np.ndarray, perm: np.ndarray, steps: int) -> np.ndarray:
    out = w0.copy()
    done = perm[:steps]
    out[:, done] = rtn_q[:, done]
    return out


def _errors(w0: np.ndarray, states, h: np.ndarray) -> np.ndarray:
    """:func:`~quantlib.ptq.gptq.output_error` of many matrices, the products in float32 (a
    curve to plot: 1e-6 relative is plenty, and a 1536-column H costs 4x less)."""
    h32 = h.astype(np.float32)
    den = float(np.einsum("ij,ij->", w0 @ h, w0)) or 1.0
    out = []
    for q in states:
        d = (w0 - q).astype(np.float32)
        out.append(float(np.einsum("ij,ij->", d @ h32, d, dtype=np.float64)))
    return np.sqrt(np.maximum(np.array(out), 0.0) / den)


def gptq_curve(trace: GPTQTrace, h: np.ndarray, rtn_q: np.ndarray, *, points: int = 25) -> GPTQCurve:
    """The error after k columns at ``points`` values of k from 0 to cols (evenly spaced);
    ``rtn_q``: RTN's matrix on the same grid (:func:`~quantlib.ptq.gptq.rtn`).  The end
    points equal :func:`~quantlib.ptq.gptq.output_error` of the final matrices."""
    cols = trace.w0.shape[1]
    steps = np.unique(np.linspace(0, cols, max(2, int(points))).round().astype(np.int64))
    w0, h = trace.w0, np.asarray(h, np.float64)
    rq = np.asarray(rtn_q, np.float64)
    g = _errors(w0, (trace.state(int(k)) for k in steps), h)
    r = _errors(w0, (_rtn_state(w0, rq, trace.perm, int(k)) for k in steps), h)
    g[-1], r[-1] = output_error(w0, trace.q, h), output_error(w0, rq, h)
    return GPTQCurve(steps=steps, gptq=g, rtn=r)


@dataclass(frozen=True)
class GPTQStep:
    """Step ``step`` (1-based: the step-th column quantized) on row ``row``: column ``col``;
    ``w`` its value then (after earlier updates), ``w0`` its original value, ``q`` its grid
    value, ``u`` = U_jj, ``e`` = (w - q) / U_jj; ``next_col`` the column after it in GPTQ's
    order (None at the last step), ``u_next`` = U_jk, ``next_before`` / ``next_after`` that
    column's value before and after this step's update."""

    step: int
    row: int
    col: int
    w0: float
    w: float
    q: float
    u: float
    e: float
    next_col: int | None
    u_next: float
    next_before: float
    next_after: float


def gptq_step(trace: GPTQTrace, step: int, row: int) -> GPTQStep:
    """The numbers of step ``step`` (1 ... cols) on ``row``, read from the trace."""
    cols = trace.w0.shape[1]
    if not 1 <= step <= cols:
        raise ValueError(f"step must be 1 to {cols}, got {step}")
    k = step - 1
    col = int(trace.perm[k])
    w, q, e = float(trace.seen[row, col]), float(trace.q[row, col]), float(trace.err[row, col])
    if k + 1 < cols:
        nxt = int(trace.perm[k + 1])
        before = float(trace.state(k)[row, nxt])
        u_next = float(trace.u[k, k + 1])
        after = before - e * u_next
    else:
        nxt, before, u_next, after = None, 0.0, 0.0, 0.0
    return GPTQStep(
        step=step,
        row=row,
        col=col,
        w0=float(trace.w0[row, col]),
        w=w,
        q=q,
        u=float(trace.u[k, k]),
        e=e,
        next_col=nxt,
        u_next=u_next,
        next_before=before,
        next_after=after,
    )


@dataclass(frozen=True)
class AWQCurve:
    """``alphas`` and ``relative``: the group's relative output error at each alpha,
    ``sqrt(sum of mean squared errors / sum of the float outputs' mean squares)`` over its
    Linears (the measure of :func:`~quantlib.ptq.gptq.output_error`); ``alpha`` the chosen
    one, ``best`` and ``rtn`` (alpha = 0) its and RTN's relative errors."""

    alphas: np.ndarray
    relative: np.ndarray
    alpha: float
    best: float
    rtn: float


def awq_curve(search: AWQSearch) -> AWQCurve:
    """:class:`AWQSearch` as relative errors (0.01: the outputs are off by 1 % of their norm)."""
    ref = search.reference or 1.0
    rel = np.sqrt(np.asarray(search.errors, np.float64) / ref)
    return AWQCurve(alphas=np.asarray(search.alphas, np.float64), relative=rel, alpha=search.alpha, best=float(rel.min()), rtn=float(rel[0]))
