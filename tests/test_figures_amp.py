"""figures/amp.py: the /amp page's builders, on small hand-made inputs."""

import numpy as np
import pytest

from figures import amp as figs
from quantlib.train.amp import format_range


def test_grad_histogram_draws_range_lines_from_the_formats():
    bins = np.arange(-40, 10)
    counts = np.zeros(bins.size, int)
    counts[bins == -30] = 5
    counts[bins == -8] = 100
    f16 = format_range("float16")
    fig = figs.grad_histogram(bins, {"a": ("grads", counts)}, [f16], shade=f16, labels={"max": "MAX {fmt} {v}"})
    xs = sorted(s["x0"] for s in fig.layout.shapes if s["type"] == "line")
    assert xs == pytest.approx([-24, -14, np.log2(65504)])
    texts = [a.text for a in fig.layout.annotations]
    assert "MAX float16 65504" in texts
    rect = [s for s in fig.layout.shapes if s["type"] == "rect"][0]
    assert rect["x1"] == -25
    assert sum(fig.data[0].y) == 105


def test_scale_figure_marks_skipped_steps():
    scale = np.array([2.0**16, 2**16, 2**15, 2**15])
    fig = figs.scale_figure({"r": ("run", scale, np.array([False, True, False, False]))})
    assert list(fig.data[0].y) == [16, 16, 15, 15]
    assert list(fig.data[1].x) == [2]


def test_tables():
    t = figs.accuracy_table([{"name": "a", "acc": 0.97, "loss": 0.1, "seconds": 1.0, "underflow": None, "lost": 0.5, "skipped": 3}])
    assert list(t.iloc[0]) == ["a", "97.0%", "0.1000", "—", "50.00%", "3", "1.00"]
    r = figs.range_table([format_range("float16"), format_range("bfloat16")])
    assert r.iloc[0, 3] == "65504" and r.iloc[1, 1] == 8


def test_loss_and_lost_figures_one_trace_per_run():
    f = figs.loss_figure({"float32": ("a", np.ones(10)), "float16": ("b", np.full(10, 2.0))}, window=3)
    assert [d.name for d in f.data] == ["a", "b"] and f.layout.yaxis.type == "log"
    g = figs.lost_figure({"float16": ("b", np.array([0.5, 0.25]))})
    assert list(g.data[0].y) == [50, 25]
