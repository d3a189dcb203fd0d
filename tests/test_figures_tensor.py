"""The Tensor Lab builders (figures/tensor/): tables and figures checked against numbers worked
out by hand (no streamlit); the reductions they draw are tested in tests/test_analysis.py."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import plotly.graph_objects as go
import pytest

from figures import tensor as F
from quantlib import PRESETS, quantize
from quantlib import analysis as A
from quantlib.metrics import metrics


def rng_tensor(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def points(fig: go.Figure) -> int:
    return sum(len(t.x) for t in fig.data if t.x is not None)


def test_sample_texts_match_quantlib():
    """The samples' titles and descriptions marked for translation are quantlib's own words."""
    from lab.tensor.state import SAMPLE_TEXT
    from quantlib.samples import SAMPLES

    assert set(SAMPLE_TEXT) == set(SAMPLES)
    for name, (title, description) in SAMPLE_TEXT.items():
        assert (title, description) == (SAMPLES[name].title, SAMPLES[name].description), name


# ------------------------------------------------------------------ number text
def test_number_text():
    assert F.num(0) == "0" and F.num(None) == "—" and F.num(math.nan) == "—"
    assert F.num(math.inf) == "∞" and F.num(-math.inf) == "−∞"
    assert F.num(0.012345678) == "0.01235"
    assert F.num(1.5e-6) == "1.5e-6"
    assert F.num(123456.0) == "1.235e5"
    assert F.num(4.5) == "4.5"
    assert F.pct(0) == "0%" and F.pct(0.00001) == "<0.01%" and F.pct(0.125) == "12.5%" and F.pct(None) == "—"
    assert F.db(20.7345) == "20.73 dB" and F.db(math.inf) == "∞ dB"
    assert F.nbytes_text(512) == "512 B" and F.nbytes_text(147456) == "144 KiB" and F.nbytes_text(1 << 26) == "64 MiB"


# ------------------------------------------------------------------ rounding table
def test_rounding_table_words():
    levels = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    x = np.array([0.5, 0.3, 0.2, 0.25, 0.75, 1.4, 0.1, -0.7])
    xq = np.array([0.5, 0.5, 0.0, 0.0, 1.0, 1.0, 0.5, -0.5])
    clipped = np.array([False, False, False, False, False, True, False, False])
    t = F.rounding_table(x, xq, [str(i) for i in range(8)], levels, scaled=2 * x, q=np.rint(2 * x), clipped=clipped, start=64, rule="a rule")
    how = t["How it was rounded"].tolist()
    assert how == [
        "exact: a level itself",
        "up to the nearer level",
        "flushed to 0",
        "flushed to 0",
        "a tie: up",
        "clipped to the top level",
        "to a level that is not the nearest (a rule)",
        "up to the nearer level",
    ]
    assert t["Index"].tolist()[:2] == [64, 65]
    assert t["x·c"].iloc[1] == "0.6" and t["q"].iloc[1] == "1"  # x·c, then what it rounds to
    assert list(t.columns)[:5] == ["Index", "Original x", "x·c", "q", "Code"]
    assert "Code" not in F.rounding_table(x, xq, None, levels).columns
    assert t["Level below"].iloc[5] == "1" and t["Level above"].iloc[5] == "—"  # nothing beyond the top level


def test_rounding_table_of_real_nf4_block():
    x = rng_tensor((4, 64))
    q = quantize(x, "nf4:block=64")
    xq = q.dequantize()
    t = F.rounding_table(x[1], xq[1], None, q.levels(1), scaled=x[1] / q.scales.reshape(-1)[1], q=q.codes[1])
    assert len(t) == 64
    assert not t["How it was rounded"].str.contains("not the nearest").any()  # NF4 rounds to the nearest level


# ------------------------------------------------------------------ tables
def test_metrics_rows():
    x = rng_tensor((64, 64))
    q = quantize(x, "nf4:block=64")
    m = metrics(x, q).as_dict()
    rows = F.metrics_rows(m, bits_per_element=q.bits_per_element, nbytes=q.nbytes, orig_nbytes=x.nbytes, orig_dtype="float32")
    by = {r[0]: r[1] for r in rows}
    assert by["SQNR"] == F.db(m["sqnr_db"])
    assert by["Bits per element"] == "4.5"
    assert by["Size"] == "2.25 KiB vs 16 KiB (float32): 14.1%"
    assert by["Clipped"] == "0%"
    assert all(len(r) == 3 for r in rows)


def test_compare_table_sorted_with_front():
    rows = [
        {"scheme": s, "family": "x", "bits": b, "nbytes": 10, "ratio": 0.5, "sqnr_db": q, "mse": 1.0, "max_abs_error": 1.0, "one_minus_cosine": 0.1, "frac_clipped": 0.01, "frac_flushed": 0.0}
        for s, b, q in [("int8", 8.0, 39.6), ("nf4", 4.5, 20.7), ("int4", 4.5, 19.4)]
    ]
    t = F.compare_table(rows)
    assert t["Scheme"].tolist() == ["nf4", "int4", "int8"]
    assert t["Pareto"].tolist() == ["1", "", "2"]  # the front's numbers on the chart
    assert t["Clipped"].tolist()[0] == pytest.approx(1.0)  # percent
    assert F.compare_table([]).empty


# ------------------------------------------------------------------ figures
def test_value_histogram_figure_levels_and_clip():
    x = rng_tensor((64, 64))
    q = quantize(x, "int4")
    xq = q.dequantize()
    h = A.value_histograms(x, xq, bins=61)
    lv = q.levels(0)
    fig = F.value_histogram_figure(h, levels=lv, level_group="the tensor", clip=(float(lv.min()), float(lv.max())))
    names = [t.name for t in fig.data]
    assert names[:2] == ["original", "dequantized"]
    assert "levels of the tensor" in names and any(n.startswith("clipping range ±") for n in names)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 2  # the two clip lines
    drawn = _level_segments(fig, "levels of the tensor")
    assert sorted(x for x, _top in drawn) == sorted(lv.tolist())  # 15 levels (±7 steps), each once
    assert {top for _x, top in drawn} == {1.0}  # across the whole plot
    assert points(fig) <= 2 * 61 + 3 * 15 + 2  # bins, not elements
    fig = F.value_histogram_figure(h, levels=lv, show_levels=False, log_y=True)
    assert fig.layout.yaxis.type == "log" and len(fig.layout.shapes) == 0
    assert not any((t.name or "").startswith("levels") for t in fig.data)


def _level_segments(fig, name: str) -> list[tuple[float, float]]:
    """(x, top) of every vertical segment of the levels trace (x = v, v, gap; y = 0, top, gap)."""
    (t,) = [t for t in fig.data if t.name == name]
    assert t.yaxis == "y2" and fig.layout.yaxis2.range == (0, 1) and fig.layout.yaxis2.visible is False
    xs, ys = np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)
    assert np.isnan(xs[2::3]).all() and (xs[0::3] == xs[1::3]).all() and (ys[0::3] == 0).all()
    return list(zip(xs[0::3].tolist(), ys[1::3].tolist()))


def test_dense_levels_become_ticks_or_nothing():
    x = rng_tensor((64, 64))
    q = quantize(x, "int8")
    h = A.value_histograms(x, q.dequantize())
    fig = F.value_histogram_figure(h, levels=q.levels(0), level_group="g")
    ticks = _level_segments(fig, "levels of g")
    assert len(ticks) > F.LEVEL_LINES_MAX and {top for _x, top in ticks} == {0.07}  # short ticks along the bottom
    lo, hi = fig.layout.xaxis.range
    assert len(ticks) == sum(lo <= v <= hi for v in q.levels(0))  # every level in view
    fig = F.value_histogram_figure(h, levels=np.linspace(-1, 1, F.LEVEL_TICKS_MAX + 10))
    assert len(fig.layout.shapes) == 0 and len(fig.data) == 2  # too many: none drawn


def test_other_figures_build():
    x = rng_tensor((300, 200))
    q = quantize(x, "mxfp4")
    xq = q.dequantize()
    h = A.value_histograms(x, xq)
    assert F.error_histogram_figure(h).layout.xaxis.title.text == "error (dequantized − original)"
    xs, qs = A.sample_points(x, xq)
    fig = F.scatter_figure(xs, qs)
    assert points(fig) == xs.size + 2
    m = A.error_maps(x, xq, q.layout)
    heat = F.heatmap_figure(m.cells, row_step=m.row_step, col_step=m.col_step, log10=True, colorbar="log10 MSE")
    assert heat.data[0].z.shape == m.cells.shape
    assert "rows %{y}–%{customdata[0]}" in heat.data[0].hovertemplate
    ch = F.channel_figure(np.arange(2000.0), title="scale")
    assert len(ch.data[0].x) <= 4 * A.MAX_HEAT
    pt = F.per_tensor_figure(["a", "b", "c"], [30.0, 10.0, math.inf])
    assert list(pt.data[0].y) == ["b", "a", "c"]  # worst first


def test_rate_distortion_figure():
    names = list(PRESETS[:5])
    fams = ["int", "int", "int", "nf4", "nf4"]
    bits = [8.0, 4.5, 4.25, 4.5, 4.127]
    sqnr = [39.6, 19.4, 18.6, 20.7, 20.7]
    assert A.front_order(bits, sqnr) == [4, 0]  # nf4:block=64,dq then int8, by bits
    fig = F.rate_distortion_figure(names, fams, bits, sqnr, current="nf4:block=64")
    assert fig.layout.xaxis.type == "log"
    numbered = next(t for t in fig.data if t.mode == "markers+text")
    assert list(numbered.text) == ["1", "2"] and list(numbered.x) == [4.127, 8.0]
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend[0] == "Pareto front" and "int (absmax)" in legend and "NF4" in legend
    assert legend[-1] == "current scheme: nf4:block=64"
    assert points(fig) <= 3 * len(names) + 2  # a few traces of a few points each
    # lossless: drawn above the best finite SQNR, on a dotted line, labelled
    fig = F.rate_distortion_figure(["a", "b"], ["float", "float"], [16.0, 32.0], [70.0, math.inf])
    assert [a.text for a in fig.layout.annotations] == ["lossless"]
    assert len(fig.layout.shapes) == 1


def test_html_and_png_downloads():
    x = rng_tensor((64, 64))
    q = quantize(x, "nf4:block=64")
    xq = q.dequantize()
    h = A.value_histograms(x, xq)
    html = F.figure_html(F.error_histogram_figure(h), "title")
    assert html.startswith(b"<!doctype html>") and b"plotly" in html and len(html) > 1_000_000  # plotly.js inside: opens offline
    for png in (
        F.value_histogram_png(h, levels=q.levels(0), clip=(-1.0, 1.0), log_y=True, title="t"),
        F.error_histogram_png(h),
        F.rate_distortion_png(["a", "b", "c"], [4.0, 8.0, 16.0], [20.0, 40.0, math.inf], current="b"),
    ):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_png_downloads_draw_chinese_labels():
    """zh_CN labels in a PNG download are drawn, not empty boxes: matplotlib falls back from
    DejaVu Sans to an installed CJK font (.ci/run and the Dockerfile install fonts-wqy-microhei);
    every missing glyph would be a UserWarning."""
    from figures.tensor.png import CJK_FAMILIES, font_families

    if len(font_families()) < 2:
        hint = f"no font of {CJK_FAMILIES} is installed: apt-get install fonts-wqy-microhei, then delete matplotlib's fontlist-*.json cache"
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(hint)
        pytest.skip(hint)
    x = rng_tensor((64, 64))
    h = A.value_histograms(x, quantize(x, "int4:block=64").dequantize())
    zh = {"axis_error": "误差（存储值 − 原值）", "axis_count": "数量", "legend_original": "原值", "legend_dequantized": "存储值"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for png in (F.value_histogram_png(h, title="张量 · int4", labels=zh), F.error_histogram_png(h, title="误差", labels=zh)):
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
