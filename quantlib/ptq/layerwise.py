"""GPTQ and AWQ over a whole model, through the forward pass's Linear hook.

Both models' forward passes call ``hook(lin, x)`` for every Linear in execution order with all
calibration tokens at once (x: (tokens, in)).  That is all the two methods need:

* :class:`GPTQHook` quantizes each Linear when the pass reaches it, from its inputs *as they
  are*: computed through the Linears already quantized (the reference's sequential order,
  "true sequential" inside a block too), and returns the quantized Linear's output, so every
  later Linear is calibrated on what the quantized model will really feed it.  Linears that
  share an input (q, k, v) share one H.
* :class:`AWQHook` runs the float model (as the reference does: each block's inputs come from
  the float blocks before it), searches the scales of a group of Linears sharing an input when
  it reaches the group's first one, and keeps only the results; the model is rebuilt at the
  end with the scales folded in (:class:`AWQGroup` says where each group's ``1 / s`` goes).

Both record, per Linear, the relative output error on the calibration inputs of the method
and of RTN on the same grid and the same inputs (``errors``), so that the claim "GPTQ beats
RTN" is checked on every Linear, not once on average.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..model.forward import _linear_with, float_linear
from .awq import AWQSearch, awq_search, clip_search, search_tokens
from .gptq import GPTQResult, gptq, hessian, output_error, rtn

__all__ = ["AWQGroup", "AWQHook", "GPTQHook", "LayerError"]


@dataclass(frozen=True)
class LayerError:
    """Relative output error ``||X (W - Q)^T|| / ||X W^T||`` of one Linear on its calibration
    inputs: with the method (``method``) and with RTN on the same grid (``rtn``)."""

    name: str
    method: float
    rtn: float

    @property
    def gain(self) -> float:
        return self.rtn / self.method if self.method > 0 else float("inf")


class GPTQHook:
    """The Linear hook of one GPTQ pass.  ``schemes``: Linear name -> scheme (others stay float);
    ``trace``: a Linear name whose every step is kept; ``progress(done, total)``."""

    def __init__(
        self, schemes: dict, *, act_order: bool = False, block: int = 128, damp: float = 0.01, trace: str | None = None, progress: Callable | None = None
    ):
        self.schemes = dict(schemes)
        self.act_order, self.block, self.damp = act_order, block, damp
        self.trace = trace
        self.progress = progress
        self.results: dict[str, GPTQResult] = {}
        self.errors: dict[str, LayerError] = {}
        self.hessians: dict[str, np.ndarray] = {}  # only the traced Linear's
        self._last = (None, None)

    def _h(self, x):
        if self._last[0] is not x:  # q, k and v share their input, and so H
            self._last = (x, hessian(x, dtype=np.float32))
        return self._last[1]

    def __call__(self, lin, x):
        scheme = self.schemes.get(lin.name)
        if scheme is None:
            return float_linear(lin, x)
        h = self._h(x)
        res = gptq(lin.weight, h, scheme, block=self.block, act_order=self.act_order, damp=self.damp, trace=lin.name == self.trace)
        self.results[lin.name] = res
        if lin.name == self.trace:
            self.hessians[lin.name] = h
        self.errors[lin.name] = LayerError(lin.name, output_error(lin.weight, res.weight, h), output_error(lin.weight, rtn(lin.weight, scheme), h))
        if self.progress is not None:
            self.progress(len(self.results), len(self.schemes))
        return _linear_with(x, res.weight, lin.bias)


@dataclass(frozen=True)
class AWQGroup:
    """Linears that share one input (``members``, by name) and where ``1 / s`` is folded:
    ``prev`` names a norm weight or a Linear (its rows), or is None: the input is divided by s
    on the fly (a stored per-channel scale, AutoAWQ's ``ScaledActivation``).  ``clip``: the
    members whose clip is searched (the reference skips q and k)."""

    members: tuple[str, ...]
    prev: str | None
    clip: tuple[str, ...] = ()


@dataclass
class _Found:
    search: AWQSearch
    clipped: dict = field(default_factory=dict)
    shrink: dict = field(default_factory=dict)


class AWQHook:
    """The Linear hook of the AWQ pass (float outputs).  ``groups``: every :class:`AWQGroup`;
    ``schemes``: Linear name -> scheme; ``weights``: name -> (out, in) float weight (to search
    a group on its first member's call); ``clip``: run the clip search."""

    def __init__(
        self, groups, schemes: dict, weights: dict, *, clip: bool = False, n_grid: int = 20, max_tokens: int | None = 1024, progress: Callable | None = None
    ):
        self.groups = {g.members[0]: g for g in groups if all(m in schemes for m in g.members)}
        self.schemes, self.weights = schemes, weights
        self.clip, self.n_grid, self.max_tokens = clip, n_grid, max_tokens
        self.progress = progress
        self.found: dict[str, _Found] = {}  # by the group's first member
        self.inputs: dict[str, np.ndarray] = {}  # a few tokens of each group's input, for errors

    def __call__(self, lin, x):
        g = self.groups.get(lin.name)
        if g is not None:
            scheme = self.schemes[lin.name]
            ws = [self.weights[m] for m in g.members]
            found = _Found(awq_search(ws, x, scheme, n_grid=self.n_grid, max_tokens=self.max_tokens))
            s = found.search.scales
            if self.clip:
                xs = search_tokens(x, 512) / s
                for m in g.clip:
                    found.clipped[m], found.shrink[m] = clip_search(self.weights[m] * s, xs, self.schemes[m], n_grid=self.n_grid)
            self.found[lin.name] = found
            self.inputs[lin.name] = search_tokens(x, self.max_tokens)
            if self.progress is not None:
                self.progress(len(self.found), len(self.groups))
        return float_linear(lin, x)
