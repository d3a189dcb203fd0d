"""One Linear up close under GPTQ and AWQ, for any model (both model pages' stepper).

A model's own module finds a Linear's float inputs ``x`` (tokens, in) and the Linears that
share them (:mod:`quantlib.llm.closeup`, :mod:`quantlib.model.closeup`); from there the work
is the same for every model:

* :func:`gptq_closeup`: GPTQ on that Linear alone with every step kept (the trace), RTN on the
  same grid, the curve of output error against columns done (:func:`~.explain.gptq_curve`) and
  both final errors;
* :func:`awq_closeup`: AWQ's alpha search for the group of Linears sharing the input, and its
  curve in relative numbers (:func:`~.explain.awq_curve`).

Worked number: with ``x`` of 1,024 tokens the Hessian is ``H = 2/1024 X^T X`` (plus 1 % of its
mean diagonal); the curve's last point is GPTQ's final error, and on a real layer it is below
RTN's (MiniLM's layer2.ffn_up, int3:block=64, the 3,344 tokens of 128 calibration texts:
0.108 against 0.193).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .awq import AWQSearch, awq_search
from .explain import AWQCurve, GPTQCurve, awq_curve, gptq_curve
from .gptq import GPTQResult, gptq, hessian, output_error, rtn

__all__ = ["AWQCloseup", "GPTQCloseup", "awq_closeup", "gptq_closeup"]


@dataclass(frozen=True, eq=False)
class GPTQCloseup:
    """GPTQ on one Linear: ``result`` (with its trace), ``h``, RTN's matrix ``rtn_q``, the
    ``curve`` of output error against columns done, and the final errors of both."""

    name: str
    scheme: str
    result: GPTQResult
    h: np.ndarray
    rtn_q: np.ndarray
    curve: GPTQCurve
    gptq_error: float
    rtn_error: float
    n_tokens: int


def gptq_closeup(weight: np.ndarray, x: np.ndarray, name: str, scheme: str, *, act_order: bool = False, points: int = 33) -> GPTQCloseup:
    """GPTQ with ``scheme`` on the Linear ``name`` (its ``weight``, (out, in)) for its inputs
    ``x`` (tokens, in), with the trace kept."""
    h = hessian(x, dtype=np.float32)
    res = gptq(weight, h, scheme, act_order=act_order, trace=True)
    rq = rtn(weight, scheme)
    curve = gptq_curve(res.trace, h, rq, points=points)
    return GPTQCloseup(str(name), str(scheme), res, h, rq, curve, output_error(weight, res.weight, h), output_error(weight, rq, h), int(x.shape[0]))


@dataclass(frozen=True, eq=False)
class AWQCloseup:
    """AWQ's search for the group of Linears ``members`` sharing one input: the ``search``
    (alphas, errors, scales, mean |x|) and its ``curve`` in relative numbers; ``prev``: where
    the group's ``1 / s`` goes (a norm or a Linear, by name; None: the input is divided by s at
    run time)."""

    name: str
    scheme: str
    members: tuple[str, ...]
    search: AWQSearch
    curve: AWQCurve
    n_tokens: int
    prev: str | None = None


def awq_closeup(weights: Mapping[str, np.ndarray], x: np.ndarray, name: str, scheme: str, *, prev: str | None = None) -> AWQCloseup:
    """AWQ's alpha search with ``scheme`` for the group ``weights`` (member name -> (out, in)
    weight, in the group's order; ``name`` among them) on their shared inputs ``x``."""
    if name not in weights:
        raise ValueError(f"{name!r} is not in the group {tuple(weights)}")
    s = awq_search(list(weights.values()), x, scheme)
    return AWQCloseup(str(name), str(scheme), tuple(weights), s, awq_curve(s), int(np.asarray(x).reshape(-1, np.asarray(x).shape[-1]).shape[0]), prev)
