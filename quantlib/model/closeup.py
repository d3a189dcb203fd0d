"""One Linear of MiniLM up close, under GPTQ and AWQ (the PTQ studio's stepper).

:func:`linear_input` runs the float model on the calibration texts only as far as one Linear
and returns that Linear's input, the real tokens of every text one after another (the packed
forward pass; it stops there, so layer 0's inputs cost one embedding and nothing more).
:func:`gptq_closeup` runs GPTQ on that Linear alone with every step kept, and
:func:`awq_closeup` AWQ's search for the group of Linears sharing its input, the groups of the
whole-model run (:func:`quantlib.model.ptq.awq_groups`): q, k and v (one s, the input divided by
it at run time, since the LayerNorm's output also feeds the residual); attn_out alone (its
``1 / s`` folded into v's rows and bias); ffn_up alone and ffn_down alone (runtime scales).
Both come from :mod:`quantlib.ptq.closeup`, which the language model's close-up uses too.

In the whole-model GPTQ run each Linear is calibrated on the inputs of the Linears already
quantized; here every input is the float model's.  Worked number: the 128 default calibration
texts are 3,344 tokens, so layer2.ffn_up's input is (3344, 384) and GPTQ with int3:block=64
ends at 0.108 relative output error against RTN's 0.193.
"""

from __future__ import annotations

import numpy as np

from ..ptq import closeup as _core
from ..ptq.closeup import AWQCloseup, GPTQCloseup
from ..ptq.layerwise import AWQGroup
from .forward import float_linear, forward
from .minilm import Batch, MiniLM
from .ptq import awq_groups

__all__ = ["AWQCloseup", "GPTQCloseup", "awq_closeup", "awq_group_of", "gptq_closeup", "linear_input"]


class _Reached(Exception):
    def __init__(self, x: np.ndarray):
        super().__init__("reached")
        self.x = x


def _check(model: MiniLM, name: str) -> None:
    if name not in model.linears:
        raise ValueError(f"no Linear {name!r} in the model (e.g. layer0.q, layer3.ffn_down)")


def linear_input(model: MiniLM, batch: Batch, name: str) -> np.ndarray:
    """The float model's input to the Linear ``name`` (e.g. ``"layer2.ffn_up"``) on ``batch``:
    (tokens, in) float32, the real tokens of every text (``batch.n_tokens`` rows)."""
    _check(model, name)

    def hook(lin, x):
        if lin.name == name:
            raise _Reached(np.ascontiguousarray(x, np.float32))
        return float_linear(lin, x)

    try:
        forward(model, batch, hook)
    except _Reached as r:
        return r.x
    raise RuntimeError(f"the forward pass never reached {name}")  # pragma: no cover


def gptq_closeup(model: MiniLM, x: np.ndarray, name: str, scheme: str, *, act_order: bool = False, points: int = 33) -> GPTQCloseup:
    """GPTQ with ``scheme`` on the Linear ``name`` for its inputs ``x`` (:func:`linear_input`)."""
    _check(model, name)
    return _core.gptq_closeup(model.linears[name].weight, x, name, scheme, act_order=act_order, points=points)


def awq_group_of(model: MiniLM, name: str) -> AWQGroup:
    """The AWQ group ``name`` is in, as the whole-model run forms it: ``layer0.k`` ->
    members (layer0.q, layer0.k, layer0.v), ``prev`` None; ``layer0.attn_out`` -> itself alone,
    ``prev`` ``"layer0.v"``."""
    _check(model, name)
    layer = name.split(".")[0]
    return next(g for g in awq_groups(model, [n for n in model.linears if n.split(".")[0] == layer]) if name in g.members)


def awq_closeup(model: MiniLM, x: np.ndarray, name: str, scheme: str) -> AWQCloseup:
    """AWQ's alpha search with ``scheme`` for the group of ``name`` on its inputs ``x`` (every
    MiniLM Linear is in a group)."""
    g = awq_group_of(model, name)
    return _core.awq_closeup({m: model.linears[m].weight for m in g.members}, x, name, scheme, prev=g.prev)
