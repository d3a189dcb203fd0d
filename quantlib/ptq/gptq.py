"""GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
Transformers", arXiv 2210.17323), in numpy, on any grid of :mod:`quantlib.ptq.grid`.

For one Linear ``y = x W^T`` (W: rows x cols) and calibration inputs X (n x cols):

* ``H = 2 X^T X / n`` (:func:`hessian`); columns with ``H_jj = 0`` (never active) are zeroed;
* damping ``H += lambda I`` with ``lambda = damp * mean(diag H)`` (1 %, as the reference);
* ``U`` = the upper Cholesky factor of ``H^-1``;
* columns in order (``act_order``: by decreasing ``H_jj``), in lazy blocks of 128: column j is
  rounded to the grid, ``q_j = round(w_j)``; its error ``e = (w_j - q_j) / U_jj`` is pushed
  onto the columns not yet quantized, ``w_k -= e U_jk`` (inside the block at once, beyond it
  once per block: ``W[:, end:] -= E U[block, end:]``);
* a group's scales (``block=g``) are fixed when GPTQ reaches the group's first column, from
  the group's current values; with ``act_order`` every group's scales are fixed from the
  original W before the first column (AutoGPTQ's ``static_groups``), so that groups stay
  column ranges and the result is an ordinary quantized matrix.

The result is the scheme's :class:`~quantlib.schemes.QuantizedTensor` (codes, scales, zero
points, exact bits): what RTN returns, with other codes.  The reference code
(``gptq.py``, ``fasterquant``) reads a group's values from the stale copy when the group
starts inside a lazy block; here the lazy block is a multiple of the group, so every group
starts from its up-to-date values, as in the paper's Algorithm 1 (tests/test_ptq.py checks
the codes against a line-by-line transcription of it).

Worked number (``trace=True`` keeps every step): a 2-column row w = [1.0, 0.3], H = [[2, 1],
[1, 2]], int grid of step 1: U = chol(H^-1)^T = [[0.8165, -0.4082], [0, 0.7071]]; column 0
rounds 1.0 -> 1 (e = 0); column 1 rounds 0.3 -> 0.  With w = [0.6, 0.3]: q_0 = 1,
e = -0.4 / 0.8165 = -0.490, w_1 = 0.3 - (-0.490)(-0.4082) = 0.1 -> 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schemes import QuantizedTensor, Scheme, parse_scheme, quantize
from .grid import ColumnGrid, assemble, column_group_width, gptq_grid_problem

__all__ = ["GPTQResult", "GPTQTrace", "gptq", "hessian", "inverse_cholesky", "output_error"]


def hessian(x: np.ndarray, *, dtype=np.float64) -> np.ndarray:
    """``H = 2 X^T X / n`` (float64, cols x cols) of inputs X (n, cols): the Hessian of the
    layer's squared output error ``||X W^T - X Q^T||^2 / n`` with respect to a row of W.
    ``dtype``: the arithmetic of the product (float32: BLAS sgemm, twice as fast, as the
    reference accumulates it); the result is float64 either way."""
    x = np.asarray(x)
    x = x.reshape(-1, x.shape[-1]).astype(dtype, copy=False)
    h = (x.T @ x).astype(np.float64, copy=False)
    h *= 2.0 / max(1, x.shape[0])
    return h


def output_error(w: np.ndarray, q: np.ndarray, h: np.ndarray) -> float:
    """Relative output error ``||X (W - Q)^T||_F / ||X W^T||_F`` computed from ``H`` (any
    multiple of ``X^T X``): ``sqrt(tr(D H D^T) / tr(W H W^T))`` with ``D = W - Q``."""
    w64 = np.asarray(w, np.float64)
    d = w64 - np.asarray(q, np.float64)
    num = float(np.einsum("ij,ij->", d @ h, d))
    den = float(np.einsum("ij,ij->", w64 @ h, w64))
    return float(np.sqrt(max(num, 0.0) / den)) if den > 0 else 0.0


def lower_inverse(L: np.ndarray, *, base: int = 256) -> np.ndarray:
    """The inverse of a lower-triangular ``L`` by halves: ``[[A, 0], [C, D]]^-1 =
    [[A^-1, 0], [-D^-1 C A^-1, D^-1]]``, so the work is matrix products (5x faster than
    ``np.linalg.inv`` for n = 1536); blocks of ``base`` or fewer rows are inverted directly.
    E.g. ``[[2, 0], [1, 4]]^-1 = [[0.5, 0], [-0.125, 0.25]]``."""
    n = L.shape[0]
    if n <= base:
        return np.tril(np.linalg.inv(L))
    k = n // 2
    ai, di = lower_inverse(L[:k, :k], base=base), lower_inverse(L[k:, k:], base=base)
    out = np.zeros_like(L)
    out[:k, :k], out[k:, k:] = ai, di
    out[k:, :k] = -(di @ (L[k:, :k] @ ai))
    return out


def inverse_cholesky(h: np.ndarray, damp: float = 0.01) -> tuple[np.ndarray, float]:
    """``(U, lambda)``: the upper Cholesky factor of ``(H + lambda I)^-1`` with ``lambda =
    damp * mean(diag H)``; if H + lambda I is not positive definite, lambda is multiplied by 10
    until it is (the reference would stop with an error)."""
    n = h.shape[0]
    lam = damp * float(np.mean(np.diag(h)))
    if lam <= 0:
        lam = damp
    # One Cholesky and one triangular inverse, no second factorization: with P the reversal
    # permutation and P (H + lambda I) P = L' L'^T, (H + lambda I)^-1 = (P L'^-1 P)^T (P L'^-1 P)
    # and P L'^-1 P is upper triangular: it is U.  (Half the time of inverting, then factoring.)
    for _ in range(8):
        try:
            Lr = np.linalg.cholesky((h + lam * np.eye(n))[::-1, ::-1])
            break
        except np.linalg.LinAlgError:
            lam *= 10
    else:  # pragma: no cover - H is a Gram matrix plus a positive diagonal
        raise np.linalg.LinAlgError("H is not positive definite even with strong damping")
    return np.ascontiguousarray(lower_inverse(Lr)[::-1, ::-1]), lam


@dataclass(frozen=True, eq=False)
class GPTQTrace:
    """Everything GPTQ did on one matrix, for a step-by-step view (column order ``perm``).

    ``seen[:, j]``: column j's values when it was rounded (after the updates of the columns
    before it); ``err[:, j]``: its scaled error ``(seen - q) / U_jj``; ``u``: the upper
    Cholesky factor of ``H^-1`` in GPTQ's column order; ``w0``: the original weight.
    """

    w0: np.ndarray
    q: np.ndarray
    seen: np.ndarray
    err: np.ndarray
    u: np.ndarray
    perm: np.ndarray
    damp: float

    def pushed(self, step: int) -> np.ndarray:
        """How step ``step`` (the ``step``-th column quantized) moved every later column:
        ``-e_j U_jk`` (rows, cols - step - 1), in GPTQ's order."""
        return -np.outer(self.err[:, self.perm[step]], self.u[step, step + 1 :])

    def state(self, steps: int) -> np.ndarray:
        """The matrix after ``steps`` columns (original order): quantized ones are their grid
        values, the others the original plus every update pushed so far."""
        p = self.perm
        out = self.w0.astype(np.float64).copy()
        done, rest = p[:steps], p[steps:]
        out[:, done] = self.q[:, done]
        if steps and rest.size:
            out[:, rest] -= self.err[:, done] @ self.u[:steps, steps:]
        return out


@dataclass(frozen=True, eq=False)
class GPTQResult:
    """``quantized``: the scheme's quantized matrix; ``weight``: its values (float32, what the
    model computes with); ``damp``: the lambda used; ``trace``: with ``trace=True``."""

    quantized: QuantizedTensor
    weight: np.ndarray
    damp: float
    trace: GPTQTrace | None = None


def gptq(
    weight: np.ndarray,
    h: np.ndarray,
    scheme: Scheme | str,
    *,
    block: int = 128,
    act_order: bool = False,
    damp: float = 0.01,
    trace: bool = False,
    dtype=np.float32,
) -> GPTQResult:
    """Quantize ``weight`` (rows, cols) with GPTQ for inputs whose :func:`hessian` is ``h``.

    ``dtype``: the arithmetic of the column loop (float32 as the reference; float64 for the
    oracle tests).  Raises ValueError when the scheme's grid cannot be fixed per column group
    (:func:`~quantlib.ptq.grid.gptq_grid_problem`).
    """
    s = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    W0 = np.asarray(weight)
    if W0.ndim != 2:
        raise ValueError(f"GPTQ quantizes a (rows, cols) matrix, got shape {W0.shape}")
    rows, cols = W0.shape
    h = np.asarray(h, np.float64)
    if h.shape != (cols, cols):
        raise ValueError(f"H must be ({cols}, {cols}) for a weight with {cols} columns, got {h.shape}")
    problem = gptq_grid_problem(s, W0.shape)
    if problem:
        raise ValueError(problem)
    dt = np.dtype(dtype)
    W = W0.astype(dt, copy=True)
    h = h.copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    W[:, dead] = 0
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(cols)
    hp = h[np.ix_(perm, perm)]
    U64, lam = inverse_cholesky(hp, damp)
    U = U64.astype(dt)

    width = column_group_width(s, cols)
    n_groups = -(-cols // width)
    grids: list[ColumnGrid | None] = [None] * n_groups
    if act_order:  # static groups: every scale from the original matrix
        for g in range(n_groups):
            grids[g] = ColumnGrid(s, W[:, g * width : (g + 1) * width])
    # a lazy block holds whole groups, so a group's first column sees its up-to-date values
    lb = block if width >= cols or block % width == 0 else max(1, block // width) * width

    Wp = np.ascontiguousarray(W[:, perm])
    Q = np.empty((rows, cols), dt)
    codes = None
    clipped = np.zeros((rows, cols), bool)
    E = np.empty((rows, cols), dt) if trace else None
    seen = np.empty((rows, cols), dt) if trace else None
    for i1 in range(0, cols, lb):
        i2 = min(i1 + lb, cols)
        W1 = Wp[:, i1:i2]  # a view: updated in place
        Err1 = np.empty((rows, i2 - i1), dt)
        U1 = U[i1:i2, i1:i2]
        for i in range(i2 - i1):
            j = i1 + i
            col = perm[j]
            g = col // width
            if grids[g] is None:  # first column of a group (in order, no act_order)
                grids[g] = ColumnGrid(s, Wp[:, j : j + width])
            w = W1[:, i]
            c, q, cl = grids[g].encode(w)
            if codes is None:
                codes = np.empty((rows, cols), c.dtype)
            codes[:, col] = c
            Q[:, col] = q
            clipped[:, col] = cl
            e = (w - q) / U1[i, i]
            if trace:
                seen[:, col] = w
                E[:, col] = e
            if i + 1 < i2 - i1:
                W1[:, i + 1 :] -= np.outer(e, U1[i, i + 1 :])
            Err1[:, i] = e
        if i2 < cols:
            Wp[:, i2:] -= Err1 @ U[i1:i2, i2:]
    qt = assemble(s, (rows, cols), codes, clipped, grids, width)
    tr = None
    if trace:
        tr = GPTQTrace(w0=np.asarray(W0, np.float64), q=Q.astype(np.float64), seen=seen, err=E, u=U64, perm=perm, damp=lam)
    return GPTQResult(quantized=qt, weight=Q.astype(np.float32, copy=False), damp=lam, trace=tr)


def rtn(weight: np.ndarray, scheme: Scheme | str, *, threads: int | None = None) -> np.ndarray:
    """Round-to-nearest with the scheme's own scales (float32): the baseline GPTQ and AWQ beat."""
    return quantize(weight, scheme, threads=threads).dequantize(threads=threads).astype(np.float32, copy=False)
