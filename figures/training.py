"""What the two training pages (/amp, /qat) draw alike: the moving average of a loss curve and
the light live chart shown while a network trains.

The live chart is a plain Vega-Lite spec (no Altair, no plotly object): it is redrawn every
fraction of a second during training, so building it must cost next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["moving_average", "live_loss_frame", "live_loss_spec"]


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
