"""Builders of the GPTQ / AWQ views (one Linear up close, the methods side by side), shared by the
language model page and the PTQ studio.

They take :mod:`quantlib.ptq.explain`'s results (curves, a GPTQ trace, an AWQ search) and rows of
plain numbers, and return plotly figures or pandas tables; nothing here imports streamlit.
Words come from ``labels`` (English defaults in :data:`LABELS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import apply_layout, chart_layout, merge_labels

__all__ = ["LABELS", "METHOD_COLORS", "awq_alpha_figure", "awq_scales_figure", "gptq_curve_figure", "gptq_matrix_figure", "methods_figure", "methods_table"]

METHOD_COLORS = {"rtn": "#7f7f7f", "gptq": "#1f77b4", "awq": "#d62728"}
CHOSEN_COLOR = "#e6007e"

LABELS: dict[str, str] = {
    "method_rtn": "RTN",
    "method_gptq": "GPTQ",
    "method_awq": "AWQ",
    "axis_columns": "columns quantized",
    "axis_out_err": "relative output error of the layer",
    "axis_col_order": "column, in the order GPTQ takes them",
    "axis_row": "row",
    "axis_alpha": "α (s = mean|x|^α)",
    "axis_mean_x": "mean |x| of the input channel (log)",
    "axis_scale": "scale s of the channel (log)",
    "axis_bits": "bits per weight of the grid",
    "legend_now": "now",
    "legend_chosen": "chosen α",
    "legend_rtn_level": "RTN (α = 0)",
    "legend_channels": "input channels",
    "colorbar_change": "change from W",
    "col_grid": "grid",
    "col_method": "method",
    "col_seconds": "seconds",
    "col_linears_better": "Linears better than RTN",
    "col_mean_gain": "median gain over RTN (per Linear)",
    "hover_channel": "channel {j}: mean|x| {x}, s {s}",
}


def _lab(labels):
    return merge_labels(LABELS, labels)


def gptq_curve_figure(steps, gptq_err, rtn_err, now: int | None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """The layer's output error after k columns: GPTQ (quantized columns plus the updates pushed
    onto the others) and RTN in the same order; a vertical line at step ``now``."""
    lab = _lab(labels)
    fig = go.Figure(
        [
            go.Scatter(x=steps, y=rtn_err, mode="lines+markers", name=lab["method_rtn"], line=dict(color=METHOD_COLORS["rtn"]), marker=dict(size=5)),
            go.Scatter(x=steps, y=gptq_err, mode="lines+markers", name=lab["method_gptq"], line=dict(color=METHOD_COLORS["gptq"]), marker=dict(size=5)),
        ]
    )
    if now is not None:
        fig.add_vline(x=now, line=dict(color=CHOSEN_COLOR, dash="dot"), annotation_text=lab["legend_now"], annotation_position="top left")
    return apply_layout(
        fig,
        chart_layout(
            320, hovermode="x unified", xaxis=dict(title=dict(text=lab["axis_columns"])), yaxis=dict(title=dict(text=lab["axis_out_err"]), rangemode="tozero")
        ),
    )


def gptq_matrix_figure(change: np.ndarray, now: int, labels: Mapping[str, str] | None = None) -> go.Figure:
    """``change``: (rows, cols) the matrix after ``now`` steps minus the original, columns in
    GPTQ's order: left of the line the rounding of the quantized columns, right of it the
    updates GPTQ has pushed onto the columns still to come (symmetric colour scale)."""
    lab = _lab(labels)
    c = np.asarray(change, float)
    lim = float(np.abs(c).max()) or 1.0
    fig = go.Figure(
        [
            go.Heatmap(
                z=c,
                colorscale="RdBu",
                zmid=0,
                zmin=-lim,
                zmax=lim,
                colorbar=dict(title=dict(text=lab["colorbar_change"]), thickness=12),
                hovertemplate="%{x}, %{y}: %{z:.3g}<extra></extra>",
            )
        ]
    )
    fig.add_vline(x=now - 0.5, line=dict(color=CHOSEN_COLOR, width=2))
    return apply_layout(
        fig,
        chart_layout(
            260, xaxis=dict(title=dict(text=lab["axis_col_order"])), yaxis=dict(title=dict(text=lab["axis_row"]), autorange="reversed"), showlegend=False
        ),
    )


def awq_alpha_figure(alphas, relative, alpha: float, labels: Mapping[str, str] | None = None) -> go.Figure:
    """AWQ's search: the group's relative output error at every α, the chosen α marked and
    RTN's level (α = 0) as a dashed line."""
    lab = _lab(labels)
    a = np.asarray(alphas, float)
    r = np.asarray(relative, float)
    best = int(np.argmin(r))
    fig = go.Figure(
        [
            go.Scatter(x=a, y=r, mode="lines+markers", name=lab["method_awq"], line=dict(color=METHOD_COLORS["awq"]), marker=dict(size=6)),
            go.Scatter(
                x=[a[best]],
                y=[r[best]],
                mode="markers",
                name=lab["legend_chosen"],
                marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color=CHOSEN_COLOR, width=3)),
            ),
        ]
    )
    fig.add_hline(y=float(r[0]), line=dict(color=METHOD_COLORS["rtn"], dash="dash"), annotation_text=lab["legend_rtn_level"], annotation_position="top right")
    return apply_layout(fig, chart_layout(300, xaxis=dict(title=dict(text=lab["axis_alpha"])), yaxis=dict(title=dict(text=lab["axis_out_err"]))))


def awq_scales_figure(x_mean, scales, labels: Mapping[str, str] | None = None) -> go.Figure:
    """The chosen per-channel scales against the mean |x| that produced them (log-log): a
    straight line of slope α; the channels on the right are the salient ones AWQ protects."""
    lab = _lab(labels)
    x = np.asarray(x_mean, float)
    s = np.asarray(scales, float)
    hover = [lab["hover_channel"].format(j=j, x=f"{x[j]:.3g}", s=f"{s[j]:.3g}") for j in range(x.size)]
    fig = go.Figure(
        [
            go.Scatter(
                x=np.maximum(x, 1e-8),
                y=s,
                mode="markers",
                name=lab["legend_channels"],
                marker=dict(size=5, color=METHOD_COLORS["awq"], opacity=0.6),
                hovertext=hover,
                hoverinfo="text",
            )
        ]
    )
    return apply_layout(
        fig,
        chart_layout(
            300, xaxis=dict(title=dict(text=lab["axis_mean_x"]), type="log"), yaxis=dict(title=dict(text=lab["axis_scale"]), type="log"), showlegend=False
        ),
    )


def methods_figure(rows: Sequence[Mapping], y_key: str, y_title: str, *, log: bool = True, labels: Mapping[str, str] | None = None) -> go.Figure:
    """One line per method (RTN, GPTQ, AWQ): ``row[y_key]`` against the grid's bits; rows carry
    ``method`` and ``bits``."""
    lab = _lab(labels)
    traces = []
    for m in ("rtn", "gptq", "awq"):
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: r["bits"])
        if mine:
            traces.append(
                go.Scatter(
                    x=[r["bits"] for r in mine],
                    y=[r[y_key] for r in mine],
                    mode="lines+markers",
                    name=lab[f"method_{m}"],
                    line=dict(color=METHOD_COLORS[m]),
                    marker=dict(size=9),
                )
            )
    fig = go.Figure(traces)
    return apply_layout(
        fig, chart_layout(360, xaxis=dict(title=dict(text=lab["axis_bits"]), dtick=1), yaxis=dict(title=dict(text=y_title), type="log" if log else "linear"))
    )


def methods_table(rows: Sequence[Mapping], columns: Mapping[str, str], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per (grid, method): ``columns`` maps a row key to its (translated) header; the
    values are formatted by the caller, except ``method`` (translated here)."""
    lab = _lab(labels)
    out = {lab["col_grid"]: [r["grid"] for r in rows], lab["col_method"]: [lab[f"method_{r['method']}"] for r in rows]}
    for key, head in columns.items():
        out[head] = [r[key] for r in rows]
    return pd.DataFrame(out)
