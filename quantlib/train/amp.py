"""Mixed precision: the loss scaler (PyTorch GradScaler's rules) and the numbers the /amp page explains.

Loss scaling multiplies the loss (so every gradient) by ``scale`` before the backward pass, so
that small gradients land above the format's smallest subnormal (float16: 2**-24 ≈ 5.96e-8)
instead of flushing to zero; the gradients are divided by ``scale`` again in float32 before the
optimizer step. A gradient of 1e-8 is 0 in float16, but 1e-8 × 2**16 = 6.55e-4 is stored fine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..codec import cast
from ..exact import round_value, ulp
from ..codec import decode
from ..formats import get_format

__all__ = ["SCALER_MODES", "FormatRange", "LossScaler", "LostUpdate", "format_range", "lost_update_example"]

SCALER_MODES = ("dynamic", "static")


class LossScaler:
    """Static or dynamic loss scaling, with torch.amp.GradScaler's update rules.

    ``update(found_inf)`` after each backward pass returns whether the optimizer step is taken:

    * inf/NaN in the (scaled, format-rounded) gradients: the step is skipped; dynamic mode
      multiplies the scale by ``backoff_factor`` and restarts the count of clean steps;
    * otherwise the step is taken; dynamic mode multiplies the scale by ``growth_factor`` after
      ``growth_interval`` consecutive clean steps (and restarts the count).

    Static mode keeps ``scale`` fixed and only skips steps with inf/NaN. Worked example
    (dynamic, growth_interval=2): 65536 → inf → 32768 → clean → clean → 65536.
    """

    def __init__(
        self,
        *,
        mode: str = "dynamic",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ):
        if mode not in SCALER_MODES:
            raise ValueError(f"unknown loss-scaling mode {mode!r}; choose one of {', '.join(SCALER_MODES)}")
        init_scale = float(init_scale)
        if not (init_scale > 0 and math.isfinite(init_scale)):
            raise ValueError(f"init_scale must be a positive finite number, got {init_scale}")
        if not growth_factor > 1.0:
            raise ValueError(f"growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"backoff_factor must be in (0, 1), got {backoff_factor}")
        if int(growth_interval) != growth_interval or growth_interval < 1:
            raise ValueError(f"growth_interval must be a positive integer, got {growth_interval}")
        self.mode = mode
        self.init_scale = init_scale
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.scale = init_scale
        self.growth_tracker = 0  # consecutive clean steps since the last change of scale

    def __repr__(self) -> str:
        return (
            f"LossScaler(mode={self.mode!r}, scale={self.scale}, init_scale={self.init_scale}, "
            f"growth_interval={self.growth_interval}, growth_tracker={self.growth_tracker})"
        )

    def update(self, found_inf: bool) -> bool:
        """Apply one step's outcome; True when the optimizer step should be taken."""
        if found_inf:
            if self.mode == "dynamic":
                self.scale *= self.backoff_factor
                self.growth_tracker = 0
            return False
        if self.mode == "dynamic":
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                grown = self.scale * self.growth_factor
                if math.isfinite(grown):  # GradScaler never grows to inf
                    self.scale = grown
                self.growth_tracker = 0
        return True

    def config(self) -> dict:
        """The settings (not the state): enough to build a fresh scaler with the same rules."""
        return {
            "mode": self.mode,
            "init_scale": self.init_scale,
            "growth_factor": self.growth_factor,
            "backoff_factor": self.backoff_factor,
            "growth_interval": self.growth_interval,
        }


@dataclass(frozen=True)
class FormatRange:
    """A format's range as the gradient histogram draws it (all from quantlib.get_format)."""

    name: str
    nexp: int
    nmant: int
    max: float
    smallest_normal: float
    smallest_subnormal: float

    @property
    def log2_max(self) -> float:
        return math.log2(self.max)

    @property
    def log2_smallest_normal(self) -> int:
        return round(math.log2(self.smallest_normal))

    @property
    def log2_smallest_subnormal(self) -> int:
        return round(math.log2(self.smallest_subnormal))

    @property
    def binades(self) -> float:
        """log2(max / smallest subnormal): float16 40.0, bfloat16 261.0."""
        return self.log2_max - self.log2_smallest_subnormal


def format_range(name: str) -> FormatRange:
    """float16 → max 65504, smallest normal 2**-14, smallest subnormal 2**-24, 5 exponent bits."""
    f = get_format(name)
    return FormatRange(
        name=f.name,
        nexp=f.nexp,
        nmant=f.nmant,
        max=float(f.max),
        smallest_normal=float(f.smallest_normal),
        smallest_subnormal=float(f.smallest_subnormal),
    )


@dataclass(frozen=True)
class LostUpdate:
    """One weight update in a format: w + u rounds back to w when |u| ≤ ulp(w)/2."""

    fmt: str
    w: float  # the weight as stored in fmt
    u: float  # the float32 update
    ulp: float  # spacing of fmt at w
    exact_sum: float  # w + u in float64 (exact for these magnitudes)
    stored: float  # w + u rounded to fmt

    @property
    def lost(self) -> bool:
        return self.stored == self.w


def lost_update_example(w: float, u: float, fmt: str) -> LostUpdate:
    """float16 w = 0.25 (ulp 2**-12 ≈ 2.44e-4), u = 1e-4 < ulp/2: 0.25 + 1e-4 rounds to 0.25, lost."""
    f = get_format(fmt)
    wq = float(cast(np.array([w], np.float64), f)[0])
    code = round_value(wq, f)
    q = float(Fraction(ulp(code, f)))
    s = wq + float(np.float32(u))
    stored = float(decode(np.array([round_value(s, f)], dtype=f.code_dtype), f)[0])
    return LostUpdate(fmt=f.name, w=wq, u=float(np.float32(u)), ulp=q, exact_sum=s, stored=stored)
