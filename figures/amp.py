"""Builders of the mixed precision page (``/amp``): plotly figures and tables of training runs
(:class:`quantlib.train.loop.History`) and format ranges (:class:`quantlib.train.amp.FormatRange`).

Nothing here imports streamlit; user-facing words come in through ``labels`` (English
defaults in :data:`LABELS`). No limit is typed in here: every range line comes from the
FormatRange passed in.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .training import Spread, moving_average, spread_text
from .style import apply_layout, chart_layout, merge_labels
from .text import percent

__all__ = ["LABELS", "RUN_COLORS", "accuracy_table", "grad_histogram", "loss_figure", "lost_figure", "range_table", "scale_figure"]

RUN_COLORS = {
    "float32": "#444444",
    "float16": "#d62728",
    "float16_master": "#ff7f0e",
    "float16_scaled": "#1f77b4",
    "bfloat16": "#2ca02c",
    "bfloat16_master": "#17becf",
    "fp8": "#9467bd",
    "fp8_scaled": "#e377c2",
}
RANGE_COLORS = {"float16": "#d62728", "bfloat16": "#2ca02c", "float8_e5m2": "#9467bd", "float8_e4m3fn": "#8c564b"}

LABELS: dict[str, str] = {
    "step": "training step",
    "loss": "training loss (moving average)",
    "epoch": "epoch",
    "lost": "updates lost (% of those float32 keeps)",
    "scale": "loss scale (log2)",
    "skipped": "skipped step (inf/NaN)",
    "log2g": "log2 |gradient|",
    "count": "gradient values",
    "underflow_zone": "flushes to 0 in {fmt}",
    "subnormal": "{fmt} smallest subnormal 2^{e}",
    "normal": "{fmt} smallest normal 2^{e}",
    "max": "{fmt} max {v}",
    "col_run": "Run",
    "col_acc": "test accuracy",
    "col_loss": "test loss",
    "col_time": "training time per run (s, numpy emulation on this server, not hardware speed)",
    "col_acc_seeds": "test accuracy: mean (min–max over {n} seeds)",
    "col_loss_seeds": "test loss: mean (min–max)",
    "band": "min–max over {n} seeds",
    "col_under": "gradients flushed to 0",
    "col_lost": "weight updates lost",
    "col_skipped": "skipped steps",
    "col_format": "Format",
    "col_nexp": "exponent bits",
    "col_nmant": "mantissa bits",
    "col_max": "largest",
    "col_normal": "smallest normal",
    "col_sub": "smallest subnormal",
    "col_binades": "binades (log2 max/min)",
}


def _rgba(color: str | None, alpha: float) -> str:
    c = (color or "#555555").lstrip("#")
    return f"rgba({int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha})"


def loss_figure(curves: Mapping[str, tuple[str, np.ndarray]], *, window: int, labels=None, height: int = 380) -> go.Figure:
    """One line per run: key -> (name, per-step loss), smoothed over ``window`` steps, log y.
    A 2-D loss (one row per seed) draws the mean of the seeds' smoothed curves, with their
    min–max as a shaded band."""
    L = merge_labels(LABELS, labels)
    fig = go.Figure()
    for key, (name, loss) in curves.items():
        loss = np.asarray(loss, float)
        rows = np.atleast_2d(loss)
        smooth = np.array([moving_average(r, window) for r in rows])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps (every seed diverged) stay NaN
            y, lo, hi = np.nanmean(smooth, axis=0), np.nanmin(smooth, axis=0), np.nanmax(smooth, axis=0)
        x = np.arange(1, y.size + 1)
        color = RUN_COLORS.get(key)
        if rows.shape[0] > 1:
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself", mode="lines",
                                     line=dict(width=0), fillcolor=_rgba(color, 0.18), name=L["band"].format(n=rows.shape[0]),
                                     legendgroup=key, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line=dict(color=color, width=2), legendgroup=key,
                                 hovertemplate="%{y:.4f}"))
    apply_layout(fig, chart_layout(height, hovermode="x unified"))
    fig.update_xaxes(title_text=L["step"])
    fig.update_yaxes(title_text=L["loss"], type="log", dtick=1, minor=dict(dtick="D1", showgrid=True))  # labels at powers of ten only
    return fig


def lost_figure(series: Mapping[str, tuple[str, np.ndarray]], *, labels=None, height: int = 320) -> go.Figure:
    """Per epoch, the fraction of updates lost: key -> (name, fractions per epoch)."""
    L = merge_labels(LABELS, labels)
    fig = go.Figure()
    for key, (name, frac) in series.items():
        frac = np.asarray(frac, float)
        fig.add_trace(go.Scatter(x=np.arange(1, frac.size + 1), y=100 * frac, mode="lines+markers", name=name,
                                 line=dict(color=RUN_COLORS.get(key), width=2), hovertemplate="%{y:.1f}%"))
    apply_layout(fig, chart_layout(height, hovermode="x unified"))
    fig.update_xaxes(title_text=L["epoch"], dtick=max(1, int(np.ceil(max((len(v[1]) for v in series.values()), default=1) / 10))))
    fig.update_yaxes(title_text=L["lost"], rangemode="tozero")
    return fig


def scale_figure(runs: Mapping[str, tuple[str, np.ndarray, np.ndarray]], *, labels=None, height: int = 320) -> go.Figure:
    """Loss scale per step on a log2 axis: key -> (name, scale per step, skipped per step)."""
    L = merge_labels(LABELS, labels)
    fig = go.Figure()
    for key, (name, scale, skipped) in runs.items():
        e = np.log2(np.asarray(scale, float))
        x = np.arange(1, e.size + 1)
        color = RUN_COLORS.get(key)
        fig.add_trace(go.Scatter(x=x, y=e, mode="lines", name=name, line=dict(color=color, width=2, shape="hv"),
                                 hovertemplate="2^%{y:.0f}"))
        sk = np.flatnonzero(skipped)
        if sk.size:
            fig.add_trace(go.Scatter(x=x[sk], y=e[sk], mode="markers", name=f"{L['skipped']} · {name}",
                                     marker=dict(color=color, symbol="x", size=9, line=dict(width=1))))
    apply_layout(fig, chart_layout(height, hovermode="x unified"))
    fig.update_xaxes(title_text=L["step"])
    fig.update_yaxes(title_text=L["scale"], dtick=2)
    return fig


def grad_histogram(
    bins: np.ndarray,
    counts: Mapping[str, tuple[str, np.ndarray]],
    ranges: Sequence,
    *,
    shade=None,
    labels=None,
    height: int = 420,
) -> go.Figure:
    """Bars of floor(log2|g|) counts (one series per entry: key -> (name, counts)), with each
    FormatRange's smallest subnormal, smallest normal and max as vertical lines; ``shade`` (a
    FormatRange) greys the zone that flushes to 0 (below half its smallest subnormal)."""
    L = merge_labels(LABELS, labels)
    bins = np.asarray(bins)
    used = np.zeros(bins.size, bool)
    for _, c in counts.values():
        used |= np.asarray(c) > 0
    lo = int(bins[used].min()) - 3 if used.any() else -40
    hi = int(bins[used].max()) + 3 if used.any() else 20
    for r in ranges:
        lo = min(lo, r.log2_smallest_subnormal - 2) if r.log2_smallest_subnormal > -60 else lo
        hi = max(hi, int(np.ceil(r.log2_max)) + 1) if r.log2_max < 40 else hi
    keep = (bins >= lo) & (bins <= hi)
    fig = go.Figure()
    for name, c in counts.values():
        c = np.asarray(c)
        fig.add_trace(go.Bar(x=bins[keep] + 0.5, y=c[keep], name=name, opacity=0.75, width=0.95,
                             hovertemplate="[2^%{customdata}, 2^%{text}): %{y}", customdata=bins[keep], text=bins[keep] + 1))
    if shade is not None:
        fig.add_vrect(x0=lo, x1=shade.log2_smallest_subnormal - 1, fillcolor="#999999", opacity=0.18, line_width=0,
                      annotation_text=L["underflow_zone"].format(fmt=shade.name), annotation_position="top left")
    y_text = 1.0
    for r in ranges:
        color = RANGE_COLORS.get(r.name, "#555555")
        for x, key, dash in (
            (r.log2_smallest_subnormal, "subnormal", "dot"),
            (r.log2_smallest_normal, "normal", "dash"),
            (r.log2_max, "max", "solid"),
        ):
            if not lo <= x <= hi:
                continue
            text = L[key].format(fmt=r.name, e=int(x), v=f"{r.max:g}")
            fig.add_vline(x=x, line=dict(color=color, dash=dash, width=1.5))
            fig.add_annotation(x=x, y=y_text, yref="paper", text=text, showarrow=False, textangle=-90, xanchor="right",
                               yanchor="top", font=dict(size=11, color=color), bgcolor="rgba(255,255,255,0.85)")  # readable over the bars
    apply_layout(fig, chart_layout(height, barmode="overlay", hovermode="closest"))
    fig.update_xaxes(title_text=L["log2g"], range=[lo, hi], dtick=4)
    fig.update_yaxes(title_text=L["count"], type="log")
    return fig


def accuracy_table(rows: Sequence[Mapping], *, labels=None) -> pd.DataFrame:
    """rows: name, acc, loss, seconds, underflow, lost (fractions or None), skipped. acc, loss
    and seconds may be :class:`figures.training.Spread` (one value per seed): the cells then say
    "mean (min–max)" and the column titles say so; underflow, lost and skipped are then means."""
    L = merge_labels(LABELS, labels)
    n = max((r["acc"].n for r in rows if isinstance(r["acc"], Spread)), default=1)
    seeds = n > 1

    def acc(v):
        return spread_text(v) if isinstance(v, Spread) else f"{100 * v:.1f}%"

    def loss(v):
        return spread_text(v, scale=1.0, digits=4, suffix="") if isinstance(v, Spread) else f"{v:.4f}"

    def secs(v):
        return f"{v.mean:.2f}" if isinstance(v, Spread) else f"{v:.2f}"

    def skipped(v):
        return f"{v:.1f}".removesuffix(".0") if isinstance(v, float) else str(v)  # a mean over seeds: 3.7

    return pd.DataFrame(
        {
            L["col_run"]: [r["name"] for r in rows],
            (L["col_acc_seeds"].format(n=n) if seeds else L["col_acc"]): [acc(r["acc"]) for r in rows],
            (L["col_loss_seeds"] if seeds else L["col_loss"]): [loss(r["loss"]) for r in rows],
            L["col_under"]: [percent(r["underflow"], 2) for r in rows],
            L["col_lost"]: [percent(r["lost"], 2) for r in rows],
            L["col_skipped"]: [skipped(r["skipped"]) for r in rows],
            L["col_time"]: [secs(r["seconds"]) for r in rows],
        }
    )


def range_table(ranges: Sequence, *, labels=None) -> pd.DataFrame:
    """One row per FormatRange: bits, max, smallest normal/subnormal (as 2^e), binades."""
    L = merge_labels(LABELS, labels)
    return pd.DataFrame(
        {
            L["col_format"]: [r.name for r in ranges],
            L["col_nexp"]: [r.nexp for r in ranges],
            L["col_nmant"]: [r.nmant for r in ranges],
            L["col_max"]: [f"{r.max:.6g}" for r in ranges],
            L["col_normal"]: [f"2^{r.log2_smallest_normal} = {r.smallest_normal:.3g}" for r in ranges],
            L["col_sub"]: [f"2^{r.log2_smallest_subnormal} = {r.smallest_subnormal:.3g}" for r in ranges],
            L["col_binades"]: [f"{r.binades:.1f}" for r in ranges],
        }
    )
