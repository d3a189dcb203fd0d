"""Charts of the later /learn lessons (QAT's straight-through estimator), from quantlib's numbers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from figures.style import apply_layout, chart_layout, merge_labels

__all__ = ["LABELS", "levels_figure", "ste_figure"]

LABELS = {
    "w": "latent weight w",
    "fq": "forward: fake-quantized w̃",
    "ste": "backward: what the STE assumes (w̃ = w inside the clip)",
    "now": "your w",
    "x_over_absmax": "x / absmax of its block",
    "density": "share of the weights",
}

LEVEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")


def ste_figure(grid: np.ndarray, fq: np.ndarray, clip: float, w: float, w_q: float, labels: Mapping[str, str] | None = None) -> go.Figure:
    """The staircase the forward pass computes against the line the backward pass pretends it
    is (``grid``: the latent weights, ``fq``: their fake-quantized values); ``w``, ``w_q``: the
    student's weight and its value, marked."""
    lab = merge_labels(LABELS, labels)
    inside = np.clip(grid, -clip, clip)
    fig = go.Figure(
        [
            go.Scatter(x=grid, y=fq, mode="lines", name=lab["fq"], line=dict(color="#1f77b4", width=3, shape="hv")),
            go.Scatter(x=grid, y=inside, mode="lines", name=lab["ste"], line=dict(color="#ff7f0e", width=2, dash="dash")),
            go.Scatter(x=[w], y=[w_q], mode="markers", name=lab["now"], marker=dict(color="#d62728", size=12, symbol="circle")),
        ]
    )
    for x in (-clip, clip):
        fig.add_vline(x=x, line=dict(color="#888", width=1, dash="dot"))
    return apply_layout(fig, chart_layout(320, xaxis=dict(title=lab["w"], zeroline=True), yaxis=dict(title="w̃", zeroline=True)))


def levels_figure(levels: Mapping[str, np.ndarray], sample: np.ndarray, labels: Mapping[str, str] | None = None) -> go.Figure:
    """The histogram of ``sample`` (values divided by their block's absmax, in [−1, 1]) under
    one row of tick marks per grid in ``levels`` (name -> its levels in [−1, 1]): where the
    levels are dense against where the values are."""
    lab = merge_labels(LABELS, labels)
    counts, edges = np.histogram(sample, bins=60, range=(-1.0, 1.0))
    share = counts / max(1, counts.sum())
    top = float(share.max()) if share.size else 1.0
    traces = [go.Bar(x=0.5 * (edges[:-1] + edges[1:]), y=share, marker_color="#cccccc", name=lab["density"], hoverinfo="skip")]
    for i, (name, lv) in enumerate(levels.items()):
        y = np.full(len(lv), -top * (0.12 + 0.14 * i))
        traces.append(go.Scatter(x=lv, y=y, mode="markers", name=name, marker=dict(symbol="line-ns-open", size=16, line=dict(width=2), color=LEVEL_COLORS[i % len(LEVEL_COLORS)])))
    fig = go.Figure(traces)
    return apply_layout(
        fig,
        chart_layout(300, bargap=0, xaxis=dict(title=lab["x_over_absmax"], range=[-1.05, 1.05]), yaxis=dict(title=lab["density"], showticklabels=False)),
    )
