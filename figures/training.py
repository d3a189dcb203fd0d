"""What the two training pages (/amp, /qat) draw alike: the moving average of a loss curve,
the light live chart shown while a network trains, and the spread of a number over seeds with
the verdict a comparison of two such numbers allows.

The live chart is a plain Vega-Lite spec (no Altair, no plotly object): it is redrawn every
fraction of a second during training, so building it must cost next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Spread", "VERDICTS", "compare", "live_loss_frame", "live_loss_spec", "moving_average", "spread", "spread_text"]


@dataclass(frozen=True)
class Spread:
    """A number measured once per seed: its mean and its min–max over the seeds."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def lo(self) -> float:
        return float(np.min(self.values)) if self.values else float("nan")

    @property
    def hi(self) -> float:
        return float(np.max(self.values)) if self.values else float("nan")

    @property
    def width(self) -> float:
        """max − min over the seeds (0 for one seed): [0.9, 0.95, 0.92] → 0.05."""
        return self.hi - self.lo


def spread(values) -> Spread:
    """Spread of per-seed values: spread([0.797, 0.641, 0.613]).mean = 0.6837, lo 0.613, hi 0.797."""
    return Spread(tuple(float(v) for v in values))


VERDICTS = ("higher", "lower", "no_clear", "one_seed")
"""What :func:`compare` can say: clearly higher, clearly lower, no clear difference, or one seed only."""


def compare(a: Spread, ref: Spread) -> str:
    """"higher" / "lower" when the means differ by more than the larger seed spread (max − min)
    of the two, else "no_clear"; "one_seed" when either was measured on a single seed, so there
    is no spread to judge by. Means 0.95 and 0.96 with spreads 0.02 and 0.005: "no_clear";
    0.30 (spread 0.35) against 0.96 (spread 0.01): "lower"."""
    if a.n < 2 or ref.n < 2:
        return "one_seed"
    d = a.mean - ref.mean
    if abs(d) <= max(a.width, ref.width):
        return "no_clear"
    return "higher" if d > 0 else "lower"


def spread_text(s: Spread, *, scale: float = 100.0, digits: int = 1, suffix: str = "%") -> str:
    """"mean (min–max)" of a spread, as the tables show it: 95.8% (95.5–96.7); one seed: 95.8%."""
    m = f"{scale * s.mean:.{digits}f}{suffix}"
    if s.n < 2:
        return m
    return f"{m} ({scale * s.lo:.{digits}f}–{scale * s.hi:.{digits}f})"


def moving_average(y, window: int) -> np.ndarray:
    """Trailing mean of the last ``window`` finite values at every step (fewer at the start;
    NaN steps are skipped): [1, 2, 3, 4] over 3 gives [1, 1.5, 2, 3]; [1, nan, 3] over 2 gives [1, 1, 3]."""
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    n = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(1, y.size + 1)
    lo = np.maximum(0, i - window)
    cnt = n[i] - n[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (c[i] - c[lo]) / np.maximum(cnt, 1), np.nan)


def live_loss_frame(curves: Mapping[str, Sequence[float]], *, window: int, max_points: int = 150) -> pd.DataFrame:
    """Long data (step, loss, run) for :func:`live_loss_spec`: each run's per-step loss,
    smoothed over ``window`` steps, every k-th step so a curve has at most ``max_points`` points."""
    frames = []
    for name, losses in curves.items():
        y = moving_average(losses, window)
        every = max(1, -(-y.size // max_points))
        steps = np.arange(every, y.size + 1, every)
        frames.append(pd.DataFrame({"step": steps, "loss": y[steps - 1], "run": name}))
    if not frames:
        return pd.DataFrame({"step": [], "loss": [], "run": []})
    return pd.concat(frames, ignore_index=True)


def live_loss_spec(*, x_title: str, y_title: str) -> dict:
    """Vega-Lite spec of the live chart: one line per run, log loss axis, legend on top."""
    return {
        "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "step", "type": "quantitative", "title": x_title},
            "y": {"field": "loss", "type": "quantitative", "title": y_title, "scale": {"type": "log"}},
            "color": {"field": "run", "type": "nominal", "title": None, "legend": {"orient": "top"}},
        },
    }
