"""The Tensor Lab's plotly figures, from the reductions of :mod:`quantlib.analysis`: value and
error histograms, the scatter plot, heatmaps, per-channel lines, rate-distortion, per-tensor
SQNR; and a figure as a standalone HTML file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from quantlib.analysis import MAX_HEAT, Hists, front_order, window_mean

from ..style import apply_layout, figure, merge_labels, plain_layout
from ..text import db, num
from .labels import (
    CLIP_COLOR,
    CURRENT_COLOR,
    DEQUANT_COLOR,
    ERROR_COLOR,
    FAMILY_COLORS,
    FAMILY_NAMES,
    FRONT_COLOR,
    LABELS,
    LEVEL_COLOR,
    LEVEL_LINES_MAX,
    LEVEL_TICKS_MAX,
    ORIGINAL_COLOR,
)

__all__ = [
    "value_histogram_figure",
    "level_lines",
    "error_histogram_figure",
    "scatter_figure",
    "heatmap_figure",
    "channel_figure",
    "rate_distortion_figure",
    "per_tensor_figure",
    "figure_html",
]


_AXIS = dict(showline=True, linecolor="#999", gridcolor="rgba(128,128,128,0.2)", zeroline=False, automargin=True)


def _layout(fig: go.Figure, height: int, *, x: dict | None = None, y: dict | None = None, **extra) -> None:
    """:func:`figures.style.plain_layout` set on ``fig`` in one layout update (plotly's updates
    are slow), bars touching; ``x`` / ``y``: axis settings."""
    apply_layout(fig, _plain(height, x=x, y=y, **extra))


def _plain(height: int, *, x: dict | None = None, y: dict | None = None, **extra) -> dict:
    return plain_layout(height, **{"bargap": 0, "xaxis": {**_AXIS, **(x or {})}, "yaxis": {**_AXIS, **(y or {})}, **extra})


def _bars(edges: np.ndarray, counts: np.ndarray, name: str, color: str, opacity: float, lab: Mapping[str, str]) -> dict:
    centers = (edges[:-1] + edges[1:]) / 2
    hover = [lab["hover_bin"].format(lo=num(a), hi=num(b), count=f"{int(c):,}") for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    return dict(
        type="bar", x=centers, y=counts, width=np.diff(edges), name=name, marker=dict(color=color, line=dict(width=0)), opacity=opacity,
        hovertext=hover, hoverinfo="text+name",
    )


def value_histogram_figure(
    h: Hists,
    *,
    levels: np.ndarray | None = None,
    level_group: int | str = 0,
    clip: tuple[float, float] | None = None,
    log_y: bool = False,
    show_levels: bool = True,
    labels: Mapping[str, str] | None = None,
    height: int = 380,
) -> go.Figure:
    """Original vs dequantized values (overlaid histograms on the same bins), the quantization
    levels of one group (lines when at most :data:`LEVEL_LINES_MAX` are in view, ticks along
    the bottom up to :data:`LEVEL_TICKS_MAX`) and the clipping range (dashed, red)."""
    lab = merge_labels(LABELS, labels)
    traces = [
        _bars(h.edges, h.original, lab["legend_original"], ORIGINAL_COLOR, 0.55, lab),
        _bars(h.edges, h.dequantized, lab["legend_dequantized"], DEQUANT_COLOR, 0.55, lab),
    ]
    lo, hi = float(h.edges[0]), float(h.edges[-1])
    pad = 0.02 * (hi - lo)
    shapes = []
    if clip is not None:
        c_lo, c_hi = clip
        if math.isfinite(c_lo) and math.isfinite(c_hi) and c_hi - c_lo < 50 * (hi - lo):
            for v in (c_lo, c_hi):
                shapes.append(dict(type="line", x0=v, x1=v, xref="x", yref="paper", y0=0, y1=1, line=dict(color=CLIP_COLOR, width=2, dash="dash")))
            sym = math.isclose(-c_lo, c_hi, rel_tol=1e-6)
            text = lab["clip_text"].format(t=num(c_hi)) if sym else lab["clip_text_asym"].format(lo=num(c_lo), hi=num(c_hi))
            traces.append(dict(type="scatter", x=[c_lo, c_hi], y=[None, None], mode="lines", name=f"{lab['legend_clip']} {text}",
                               line=dict(color=CLIP_COLOR, width=2, dash="dash"), hoverinfo="skip"))
            lo, hi = min(lo, c_lo), max(hi, c_hi)
            pad = 0.02 * (hi - lo)
    if show_levels and levels is not None and len(levels):
        lv = np.asarray(levels, dtype=np.float64)
        lv = lv[(lv >= lo - pad) & (lv <= hi + pad)]
        if 0 < lv.size <= LEVEL_TICKS_MAX:
            traces.append(level_lines(lv, tall=lv.size <= LEVEL_LINES_MAX, name=lab["legend_levels"].format(group=level_group)))
    return figure(traces, _plain(
        height, barmode="overlay", shapes=shapes,
        x=dict(title_text=lab["axis_value"], range=[lo - pad, hi + pad]),
        y=dict(title_text=lab["axis_count_log"] if log_y else lab["axis_count"], type="log" if log_y else "linear"),
        yaxis2=dict(overlaying="y", range=[0, 1], fixedrange=True, visible=False),
    ))


def level_lines(levels: np.ndarray, *, tall: bool, name: str) -> dict:
    """Quantization levels as vertical lines across the plot (``tall``, dotted) or short ticks
    along its bottom: ONE trace of segments ``x = v, v, gap`` on a hidden 0..1 axis (``y2``),
    not a layout shape per level (hundreds of shapes are slow to build and to draw)."""
    lv = np.asarray(levels, dtype=np.float64)
    n = lv.size
    xs = np.full(3 * n, np.nan)
    ys = np.full(3 * n, np.nan)
    xs[0::3] = xs[1::3] = lv
    ys[0::3], ys[1::3] = 0.0, 1.0 if tall else 0.07
    return dict(
        type="scatter", x=xs, y=ys, yaxis="y2", mode="lines", name=name, connectgaps=False, hoverinfo="skip",
        line=dict(color=LEVEL_COLOR, width=1, dash="dot" if tall else "solid"),
    )


def error_histogram_figure(h: Hists, *, log_y: bool = False, labels: Mapping[str, str] | None = None, height: int = 320) -> go.Figure:
    """The distribution of ``dequantized - original``."""
    lab = merge_labels(LABELS, labels)
    return figure([_bars(h.error_edges, h.error, lab["legend_error"], ERROR_COLOR, 0.85, lab)], _plain(
        height, showlegend=False, x=dict(title_text=lab["axis_error"]),
        y=dict(title_text=lab["axis_count_log"] if log_y else lab["axis_count"], type="log" if log_y else "linear"),
    ))


def scatter_figure(xs: np.ndarray, qs: np.ndarray, *, labels: Mapping[str, str] | None = None, height: int = 380) -> go.Figure:
    """Dequantized vs original for a sample of elements, with the line of no error: the
    quantizer's staircase."""
    lab = merge_labels(LABELS, labels)
    xs = np.asarray(xs, dtype=np.float64)
    qs = np.asarray(qs, dtype=np.float64)
    lo = float(min(xs.min(), qs.min())) if xs.size else -1.0
    hi = float(max(xs.max(), qs.max())) if xs.size else 1.0
    traces = [
        dict(type="scatter", x=[lo, hi], y=[lo, hi], mode="lines", name=lab["legend_identity"], line=dict(color="#999", width=1, dash="dash"), hoverinfo="skip"),
        dict(
            type="scatter", x=xs, y=qs, mode="markers", name=lab["legend_sample"].format(n=f"{xs.size:,}"),
            marker=dict(color=DEQUANT_COLOR, size=4, opacity=0.6),
            hovertemplate="%{x:.4g} → %{y:.4g}<extra></extra>",
        ),
    ]
    return figure(traces, _plain(height, x=dict(title_text=lab["axis_original"]), y=dict(title_text=lab["axis_dequantized"])))


def heatmap_figure(
    z: np.ndarray,
    *,
    row_step: int = 1,
    col_step: int = 1,
    log10: bool = False,
    log2: bool = False,
    colorbar: str = "",
    x_title: str = "",
    y_title: str = "",
    colorscale: str = "Viridis",
    col_word: str | None = None,
    labels: Mapping[str, str] | None = None,
    height: int = 360,
) -> go.Figure:
    """A heatmap of one value per tile (``row_step`` x ``col_step`` elements, or blocks);
    ``log10``/``log2`` colour by the logarithm (zeros are left blank); hover shows the value."""
    lab = merge_labels(LABELS, labels)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if log10:
            c = np.where(z > 0, np.log10(np.where(z > 0, z, 1)), np.nan)
        elif log2:
            c = np.where(z > 0, np.log2(np.where(z > 0, z, 1)), np.nan)
        else:
            c = z
    R, C = z.shape
    ends = np.empty((R, C, 3))  # last row, last column and value of every cell, for the hover text
    ends[:, :, 0] = (np.arange(R) * row_step + row_step - 1)[:, None]
    ends[:, :, 1] = (np.arange(C) * col_step + col_step - 1)[None, :]
    ends[:, :, 2] = z
    hover = lab["hover_cell"].format(
        r0="%{y}", r1="%{customdata[0]}", what=col_word or lab["word_columns"], c0="%{x}", c1="%{customdata[1]}", value="%{customdata[2]:.4g}"
    )
    fig = go.Figure(
        go.Heatmap(
            z=c, x=np.arange(C) * col_step, y=np.arange(R) * row_step, colorscale=colorscale, customdata=ends,
            hovertemplate=hover + "<extra></extra>",
            colorbar=dict(title=dict(text=colorbar, side="right"), thickness=12, len=0.9),
        )
    )
    _layout(fig, height, x=dict(title_text=x_title or lab["axis_column"]), y=dict(title_text=y_title or lab["axis_row"], autorange="reversed"))
    return fig


def channel_figure(
    values: np.ndarray,
    *,
    title: str,
    axis: int = 0,
    x_step: int = 1,
    x_title: str | None = None,
    log_y: bool = False,
    labels: Mapping[str, str] | None = None,
    height: int = 300,
) -> go.Figure:
    """One value per channel (a per-channel scale or error) as a line over the channel index,
    averaged in windows when there are more than 4 x :data:`MAX_HEAT` values.  ``x_step``:
    the values are already windows of that many indices (``x_title`` then names the axis)."""
    lab = merge_labels(LABELS, labels)
    v, step = window_mean(values, 4 * MAX_HEAT)
    step *= max(1, int(x_step))
    idx = np.arange(v.size) * step
    fig = go.Figure(
        go.Scatter(
            x=idx, y=v, mode="lines+markers" if v.size <= 64 else "lines", line=dict(color=ORIGINAL_COLOR, width=1.5), marker=dict(size=5),
            hovertext=[lab["hover_channel"].format(i=int(i), value=num(val)) for i, val in zip(idx, v, strict=True)], hoverinfo="text", name=title,
        )
    )
    _layout(
        fig, height, showlegend=False, x=dict(title_text=x_title or lab["axis_channel"].format(axis=axis)),
        y=dict(title_text=title, type="log" if log_y else "linear"),
    )
    return fig


def _plot_sqnr(sqnr: np.ndarray) -> tuple[np.ndarray, float | None]:
    """SQNR values to plot: +inf (lossless) drawn 6 dB above the best finite one."""
    s = np.asarray(sqnr, dtype=np.float64)
    finite = s[np.isfinite(s)]
    top = (float(finite.max()) if finite.size else 0.0) + 6.0
    lossless = np.isposinf(s)
    s = np.where(lossless, top, s)
    s = np.where(np.isneginf(s) | np.isnan(s), np.nan, s)
    return s, (top if lossless.any() else None)


def rate_distortion_figure(
    schemes: Sequence[str],
    families: Sequence[str],
    bits: Sequence[float],
    sqnr: Sequence[float],
    *,
    current: str | None = None,
    labels: Mapping[str, str] | None = None,
    height: int = 480,
) -> go.Figure:
    """SQNR vs bits per element (scales included) of every compared scheme, coloured by family:
    the Pareto front (no scheme gives more SQNR for fewer bits) as a red staircase whose points
    are numbered 1, 2, ... by bits (:func:`front_order`; the page lists their names, which
    would collide on a phone), the current scheme ringed, every name on hover.  The x axis is
    log2, so 2, 4, 8 and 16 bits are evenly spaced; a lossless scheme (SQNR = inf) is drawn
    6 dB above the best finite one, on a dotted line."""
    lab = merge_labels(LABELS, labels)
    b = np.asarray(bits, dtype=np.float64)
    s_true = np.asarray(sqnr, dtype=np.float64)
    s_plot, top = _plot_sqnr(s_true)
    traces: list[dict] = []
    hover = [lab["hover_scheme"].format(scheme=n, bits=f"{bb:.4g}", sqnr=db(q)) for n, bb, q in zip(schemes, b, s_true, strict=True)]
    order = [i for i in np.argsort(b, kind="stable") if not np.isnan(s_plot[i])]
    fo = [i for i in front_order(b, s_true) if not np.isnan(s_plot[i])]
    if fo:
        traces.append(dict(type="scatter", x=b[fo], y=s_plot[fo], mode="lines", line=dict(color=FRONT_COLOR, width=2, shape="hv"), name=lab["legend_front"], hoverinfo="skip"))
    for fam in dict.fromkeys(families[i] for i in order):
        idx = [i for i in order if families[i] == fam]
        traces.append(
            dict(
                type="scatter", x=b[idx], y=s_plot[idx], mode="markers", name=lab.get(FAMILY_NAMES.get(fam, ""), fam), legendgroup=fam,
                marker=dict(size=10, color=FAMILY_COLORS.get(fam, "#777"), line=dict(width=0.5, color="#333")),
                hovertext=[hover[i] for i in idx], hoverinfo="text",
            )
        )
    if fo:
        traces.append(
            dict(
                type="scatter", x=b[fo], y=s_plot[fo], mode="markers+text", showlegend=False, text=[str(k + 1) for k in range(len(fo))],
                textposition="middle center", textfont=dict(size=10, color="white", family="Arial Black, Arial, sans-serif"),
                marker=dict(size=18, color=[FAMILY_COLORS.get(families[i], "#777") for i in fo], line=dict(width=2, color=FRONT_COLOR)),
                hovertext=[f"{k + 1}: {hover[i]}" for k, i in enumerate(fo)], hoverinfo="text",
            )
        )
    if current is not None and current in schemes:
        i = list(schemes).index(current)
        if not np.isnan(s_plot[i]):
            traces.append(
                dict(
                    type="scatter", x=[b[i]], y=[s_plot[i]], mode="markers", name=f"{lab['legend_current']}: {current}",
                    marker=dict(size=30, color="rgba(0,0,0,0)", line=dict(width=2, color=CURRENT_COLOR)), hovertext=[hover[i]], hoverinfo="text",
                )
            )
    annotations = []
    if top is not None:
        annotations.append(dict(xref="paper", x=0, y=top, text=lab["lossless"], showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=11, color="#777")))
    finite_b = b[np.isfinite(b) & (b > 0)]
    lo = math.log2(max(0.5, float(finite_b.min()) / 1.25)) if finite_b.size else 0
    hi = math.log2(float(finite_b.max()) * 1.6) if finite_b.size else 5
    ticks = [t for t in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 64) if 2**lo <= t <= 2**hi]
    yaxis = dict(title_text=lab["axis_sqnr"])
    yv = s_plot[~np.isnan(s_plot)]
    if yv.size:
        ypad = max(2.0, 0.06 * float(yv.max() - yv.min()))
        yaxis["range"] = [float(yv.min()) - ypad, float(yv.max()) + ypad]
    shapes = []
    if top is not None:
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=top, y1=top, line=dict(color="#bbb", width=1, dash="dot")))
    return figure(traces, _plain(
        height, annotations=annotations, shapes=shapes,
        x=dict(title_text=lab["axis_bits"], type="log", range=[math.log10(2**lo), math.log10(2**hi)], tickvals=ticks, ticktext=[str(t) for t in ticks]),
        y=yaxis,
    ))


def per_tensor_figure(names: Sequence[str], sqnr: Sequence[float], *, labels: Mapping[str, str] | None = None, max_bars: int = 40) -> go.Figure:
    """SQNR of every tensor of a file, worst first (the ``max_bars`` worst when there are more)."""
    lab = merge_labels(LABELS, labels)
    s, _top = _plot_sqnr(np.asarray(sqnr, dtype=np.float64))
    order = [i for i in np.argsort(np.where(np.isnan(s), np.inf, s)) if not np.isnan(s[i])][:max_bars]
    fig = go.Figure(
        go.Bar(
            y=[names[i] for i in order], x=[s[i] for i in order], orientation="h", marker=dict(color=ORIGINAL_COLOR),
            hovertext=[f"{names[i]}: {db(float(np.asarray(sqnr, dtype=np.float64)[i]))}" for i in order], hoverinfo="text",
        )
    )
    _layout(
        fig, 80 + 22 * max(3, len(order)), bargap=0.25, showlegend=False,
        x=dict(title_text=lab["axis_sqnr"], side="top"), y=dict(autorange="reversed", title_text=lab["axis_tensor"]),
    )
    return fig


def figure_html(fig: go.Figure, title: str = "") -> bytes:
    """A standalone HTML file of a plotly figure (plotly.js embedded: it opens offline)."""
    f = go.Figure(fig)
    if title:
        f.update_layout(title=dict(text=title), margin=dict(t=60))
    return f.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")
