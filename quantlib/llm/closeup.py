"""One Linear of the language model up close, under GPTQ and AWQ (the ``/llm`` page's stepper).

:func:`linear_input` runs the float model on calibration windows only as far as one Linear and
returns that Linear's input (the pass stops there: block 0's inputs cost one block).
:func:`gptq_closeup` runs GPTQ on that Linear alone, on those inputs, with every step kept;
:func:`awq_closeup` runs AWQ's search for the group of Linears sharing its input (q/k/v,
gate/up, down alone; the output projection is in no group under grouped-query attention).
Both are :mod:`quantlib.ptq.closeup`'s, which MiniLM's close-up uses too.
The whole-model passes (:mod:`quantlib.llm.ptq`) calibrate later Linears on the quantized
model's inputs; here every input is the float model's, so a close-up's numbers are those of
the first Linear a sequential GPTQ reaches, not of a whole-model run.
"""

from __future__ import annotations

import numpy as np

from ..model.forward import float_linear
from ..ptq import closeup as _core
from ..ptq.closeup import AWQCloseup, GPTQCloseup
from .forward import forward
from .model import Llama
from .ptq import awq_groups

__all__ = ["AWQCloseup", "GPTQCloseup", "awq_closeup", "awq_group_of", "gptq_closeup", "linear_input"]


class _Reached(Exception):
    def __init__(self, x: np.ndarray):
        super().__init__("reached")
        self.x = x


def linear_input(model: Llama, ids: np.ndarray, name: str) -> np.ndarray:
    """The float model's input to the Linear ``name`` (e.g. ``"blk.3.ffn_down"``) on token
    windows ``ids`` (n, length): (n * length, in) float32."""
    names = {lin.name for lin in model.linears()}
    if name not in names:
        raise ValueError(f"no Linear {name!r} in the model (e.g. blk.0.attn_q, blk.3.ffn_down)")

    def hook(lin, x):
        if lin.name == name:
            raise _Reached(np.ascontiguousarray(x, np.float32))
        return float_linear(lin, x)

    try:
        forward(model, ids, hook=hook, head=False)
    except _Reached as r:
        return r.x
    raise RuntimeError(f"the forward pass never reached {name}")  # pragma: no cover


def _linear(model: Llama, name: str):
    return next(lin for lin in model.linears() if lin.name == name)


def gptq_closeup(model: Llama, x: np.ndarray, name: str, scheme: str, *, act_order: bool = False, points: int = 33) -> GPTQCloseup:
    """GPTQ with ``scheme`` on the Linear ``name`` for its inputs ``x`` (:func:`linear_input`)."""
    return _core.gptq_closeup(_linear(model, name).weight, x, name, scheme, act_order=act_order, points=points)


def awq_group_of(model: Llama, name: str) -> tuple[str, ...] | None:
    """The members of the AWQ group ``name`` is in (None: the output projection under GQA)."""
    block = int(name.split(".")[1])
    for g in awq_groups(model, [block]):
        if name in g.members:
            return g.members
    return None


def awq_closeup(model: Llama, x: np.ndarray, name: str, scheme: str) -> AWQCloseup | None:
    """AWQ's alpha search with ``scheme`` for the group of ``name`` on its inputs ``x``, or None
    when the Linear is in no group."""
    members = awq_group_of(model, name)
    if members is None:
        return None
    return _core.awq_closeup({m: _linear(model, m).weight for m in members}, x, name, scheme)
