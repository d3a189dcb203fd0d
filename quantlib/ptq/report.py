"""What a whole-model GPTQ or AWQ pass did (:class:`PTQReport`), shared by the language model
(:mod:`quantlib.llm.ptq`) and MiniLM (:mod:`quantlib.model.ptq`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gptq import GPTQTrace

__all__ = ["PTQReport"]


@dataclass(frozen=True, eq=False)
class PTQReport:
    """What GPTQ or AWQ did: ``errors`` per Linear (method and RTN on the same calibration
    inputs), ``searches`` (AWQ: per group, by its first Linear), ``trace`` / ``trace_h`` (GPTQ:
    the steps of one Linear and its H), ``n_tokens`` of calibration, ``seconds``."""

    method: str
    errors: dict
    n_tokens: int
    seconds: float
    searches: dict = field(default_factory=dict)
    groups: tuple = ()
    trace: GPTQTrace | None = None
    trace_h: np.ndarray | None = None
    rtn_linears: tuple = ()
