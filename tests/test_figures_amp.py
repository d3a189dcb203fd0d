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
    assert "not hardware speed" in t.columns[-1]
    r = figs.range_table([format_range("float16"), format_range("bfloat16")])
    assert r.iloc[0, 3] == "65504" and r.iloc[1, 1] == 8


def test_loss_and_lost_figures_one_trace_per_run():
    f = figs.loss_figure({"float32": ("a", np.ones(10)), "float16": ("b", np.full(10, 2.0))}, window=3)
    assert [d.name for d in f.data] == ["a", "b"] and f.layout.yaxis.type == "log"
    g = figs.lost_figure({"float16": ("b", np.array([0.5, 0.25]))})
    assert list(g.data[0].y) == [50, 25]


# --------------------------------------------------------------------------- seeds: spread and verdict (figures/training.py)
def test_spread_and_compare_on_planted_numbers():
    from figures.training import compare, spread, spread_text

    ref = spread([0.955, 0.960, 0.967])  # spread 1.2 points
    assert ref.mean == pytest.approx(0.9606667) and ref.width == pytest.approx(0.012)
    assert compare(spread([0.950, 0.958, 0.962]), ref) == "no_clear"  # −0.4 points inside the 1.2-point spread
    assert compare(spread([0.26, 0.33, 0.61]), ref) == "lower"  # −56 points, spread 35
    assert compare(spread([0.99, 0.995, 1.0]), ref) == "higher"
    assert compare(spread([0.90]), ref) == "one_seed"
    # the difference equal to the spread is still no clear difference; just beyond it is one
    assert compare(spread([0.94, 0.95]), spread([0.95, 0.96])) == "no_clear"
    assert compare(spread([0.93, 0.94]), spread([0.955, 0.96])) == "lower"
    assert spread_text(ref) == "96.1% (95.5–96.7)" and spread_text(spread([0.5])) == "50.0%"


def test_loss_figure_draws_the_mean_and_a_min_max_band_over_seeds():
    losses = np.array([np.full(6, 1.0), np.full(6, 3.0)])
    fig = figs.loss_figure({"float16": ("pure float16", losses)}, window=2)
    band, line = fig.data
    assert band.fill == "toself" and not band.showlegend
    assert list(line.y) == pytest.approx([2.0] * 6)
    assert max(band.y) == 3.0 and min(band.y) == 1.0


def test_fp8_range_lines_are_quantlibs_e5m2_and_e4m3():
    from quantlib import get_format

    bins = np.arange(-40, 10)
    counts = np.zeros(bins.size, int)
    counts[bins == -20] = 7
    e5m2, e4m3 = format_range("float8_e5m2"), format_range("float8_e4m3fn")
    fig = figs.grad_histogram(bins, {"a": ("grads", counts)}, [e5m2, e4m3], shade=e5m2)
    xs = sorted(s["x0"] for s in fig.layout.shapes if s["type"] == "line")
    f = get_format("float8_e5m2")
    assert np.log2(float(f.smallest_subnormal)) in xs and np.log2(float(f.max)) in xs
    assert np.log2(float(get_format("float8_e4m3fn").max)) in xs
    assert -24 not in xs  # no float16 line
    rect = [s for s in fig.layout.shapes if s["type"] == "rect"][0]
    assert rect["x1"] == np.log2(float(f.smallest_subnormal)) - 1
    lo, hi = fig.layout.xaxis.range
    assert lo <= np.log2(float(f.smallest_subnormal)) and hi >= np.log2(float(f.max))


def test_accuracy_table_with_seeds_says_mean_min_max():
    from figures.training import spread

    row = {"name": "a", "acc": spread([0.9, 0.95, 0.92]), "loss": spread([0.2, 0.1, 0.3]), "seconds": spread([1.0, 2.0, 3.0]),
           "underflow": 0.5, "lost": None, "skipped": 11 / 3}
    t = figs.accuracy_table([row])
    assert list(t.iloc[0]) == ["a", "92.3% (90.0–95.0)", "0.2000 (0.1000–0.3000)", "50.00%", "—", "3.7", "2.00"]
    assert "min–max over 3 seeds" in t.columns[1] and "numpy emulation" in t.columns[-1]
