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

    def summary(self) -> dict:
        """Plain numbers for a page: ``n_linears``, ``n_better`` (error at most RTN's),
        ``median_gain`` and the least helped Linear (``worst``, ``worst_gain``; gain = RTN's
        error / the method's, so 2.0 means half RTN's error), ``n_tokens``, ``seconds``,
        ``rtn_linears`` (how many the method left to RTN) and AWQ's ``alphas``."""
        errs = list(self.errors.values())
        gains = np.array([e.gain for e in errs], float)
        return {
            "method": self.method,
            "n_linears": len(errs),
            "n_better": int(sum(e.method <= e.rtn * (1 + 1e-6) for e in errs)),
            "median_gain": float(np.median(gains)) if gains.size else float("nan"),
            "worst": min(errs, key=lambda e: e.gain).name if errs else "",
            "worst_gain": float(gains.min()) if gains.size else float("nan"),
            "n_tokens": self.n_tokens,
            "seconds": self.seconds,
            "rtn_linears": len(self.rtn_linears),
            "alphas": [float(v.alpha) for v in self.searches.values()],
        }
