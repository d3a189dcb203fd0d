"""Builders of the PTQ studio page (``/model``): tables and plotly figures of what
post-training quantization does to all-MiniLM-L6-v2 (:mod:`quantlib.model`).

Every builder takes plain numbers and arrays computed by :mod:`quantlib.model` (metrics as
dicts, per-channel maxima, calibration rows) and returns a pandas table, a
``plotly.graph_objects.Figure`` or a list of sentences; nothing here imports streamlit.
User-facing words come from ``labels`` (English defaults in :data:`LABELS`; the page passes
the translated ones).  No number is typed in here: every value shown comes from the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from .style import apply_layout, chart_layout, merge_labels
from .text import percent

__all__ = [
    "KINDS",
    "LABELS",
    "METHOD_COLORS",
    "absmax_figure",
    "calibration_figure",
    "calibration_table",
    "metrics_table",
    "outlier_table",
    "ranking_table",
    "recipes_table",
    "sensitivity_figure",
    "size_breakdown_figure",
    "size_cosine_figure",
    "smooth_figure",
    "smooth_findings",
    "smooth_table",
    "variants_table",
]

KINDS = ("q", "k", "v", "attn_out", "ffn_up", "ffn_down")
"""The six Linears of a MiniLM layer, in execution order."""

METHOD_COLORS = {"minmax": "#1f77b4", "percentile": "#2ca02c", "mse": "#ff7f0e", "kl": "#d62728"}
BEFORE_COLOR = "#7f7f7f"
AFTER_COLOR = "#1f77b4"
OUTLIER_COLOR = "#d62728"
CHOSEN_COLOR = "#e6007e"

LABELS: dict[str, str] = {
    # metrics
    "col_metric": "Metric",
    "col_value": "Value",
    "col_meaning": "What it measures",
    "m_mean_cosine": "mean cosine to float32",
    "m_min_cosine": "min cosine to float32",
    "m_nn": "nearest-neighbour agreement",
    "m_top3": "top-3 agreement",
    "m_sim_change": "max pairwise-similarity change",
    "m_size": "model size",
    "m_seconds": "time to run the evaluation set (numpy emulation)",
    "d_mean_cosine": "cos(embedding, float32 embedding), averaged over the {n} texts",
    "d_min_cosine": "the worst text: {text}",
    "d_nn": "texts whose nearest other text is the same as in float32",
    "d_top3": "overlap of each text's 3 nearest texts with float32's",
    "d_sim_change": "largest change of the cosine between any two texts",
    "d_size": "{b} bytes: {ratio} of float32's {f32} bytes (payload + scales)",
    "d_seconds": "numpy emulating the formats on this server's CPU, not the speed of any hardware; this run, cached afterwards",
        # ranking
    "col_rank": "#",
    "col_float": "float32",
    "col_quant": "quantized",
    "col_sim": "cosine",
    "col_moved": "change",
    "moved_same": "=",
    "moved_up": "↑{n}",
    "moved_down": "↓{n}",
    "moved_new": "new",
    # all recipes
    "col_recipe": "Recipe",
    "col_mean_cos": "mean cos",
    "col_min_cos": "min cos",
    "col_nn": "NN agree",
    "col_top3": "top-3 agree",
    "col_sim_change": "max Δsim",
    "col_size_mb": "size (MB)",
    "col_ratio": "÷ float32",
    "axis_size_mb": "model size (MB)",
    "axis_damage_recipes": "1 − mean cosine to float32 (log scale)",
    "hover_recipe": "{title}<br>size {mb} MB<br>mean cosine {cos}",
    "axis_size_parts": "bytes stored (MB)",
    "hover_size_part": "{recipe}<br>{part}: {mb} MB ({share} of {total} MB)",
    "size_total": "{mb} MB",
    # outliers
    "axis_channel": "input channel",
    "axis_absmax": "max |x| over the tokens (log scale)",
    "legend_channels": "channels",
    "legend_outliers": "outlier channels (≥ {factor}× the median)",
    "legend_median": "median channel",
    "hover_channel": "channel {ch}: max |x| = {v}<br>from token {tok} (position {pos})",
    "col_channel": "channel",
    "col_absmax": "max |x|",
    "col_ratio_median": "÷ median",
    "col_token": "token",
    "col_position": "position",
    # smoothquant
    "panel_x": "activations X: max |X_j| per input channel",
    "panel_w": "weights W: max |W_j| per input column",
    "legend_before": "before smoothing",
    "legend_after": "after smoothing (α = {alpha})",
    "axis_max_abs": "max |·| (log scale)",
    "col_linear": "Linear",
    "col_w8a8": "W8A8",
    "col_w8a8_smooth": "W8A8 + SmoothQuant",
    "col_w8a8_token": "W8A8, per-token activations",
    "col_w8_only": "W8 only",
    "col_x_spread": "X spread before → after",
    "col_w_spread": "W spread before → after",
    "col_hurts": "smoothing hurts",
    "yes": "yes",
    "no": "no",
    "spread": "{a} → {b}",
    "col_variant": "Variant",
    "v_w8a8": "W8A8, no smoothing",
    "v_smooth_all": "SmoothQuant on every Linear",
    "v_smooth_except_ffn_down": "SmoothQuant on all but FFN down",
    "v_smooth_except_ffn_down+per_token_ffn_down": "SmoothQuant on all but FFN down + per-token activations on FFN down",
    "v_per_token_all": "per-token activations everywhere, no smoothing",
    "find_counts": "At α = {alpha}, smoothing lowers the W8A8 output error of {helps} of the {n} Linears and raises it in {hurts}.",
    "find_kind": "It hurts {kind} in {k} of {layers} layers.",
    "find_why": "Where it hurts most, in {name}, the largest activation channel {ch} (max |X| {x}× the median channel) sits on a weight column that is itself {w}× the median column: the outliers of X and W coincide, so smoothing moves range onto a weight column that is already large. Its output error: W8A8 {plain}, smoothed {smooth}, per-token activations {token}.",
    "find_why_not": "Where it hurts most, in {name}, the largest activation channel {ch} sits on an ordinary weight column ({w}× the median). Its output error: W8A8 {plain}, smoothed {smooth}, per-token activations {token}.",
    "find_down": "FFN down: in {k} of {layers} layers the largest activation channel sits on a weight column at least {factor}× the median column ({detail}).",
    "find_best": "Whole model, best variant: {best} (mean cosine {best_cos}); plain W8A8 {plain_cos}, SmoothQuant on every Linear {all_cos}.",
    # sensitivity
    "axis_group": "quantized alone (the rest in float32)",
    "axis_damage": "1 − mean cosine to float32 (log scale)",
    "hover_sensitivity": "{group}: 1 − mean cos = {d}<br>min cos {minc}, NN agreement {nn}",
    # calibration
    "axis_x": "input value x of {name}",
    "axis_count": "count (log scale)",
    "legend_histogram": "input values",
    "legend_clip": "{method}: ±{t}",
    "col_method": "Method",
    "col_threshold": "clip ±T",
    "col_clipped": "clipped (eval set)",
    "col_layer_err": "layer output error",
    "col_e2e_mean": "end-to-end mean cos",
    "col_e2e_min": "end-to-end min cos",
    "method_minmax": "min-max",
    "method_percentile": "percentile",
    "method_mse": "MSE",
    "method_kl": "KL (TensorRT)",
}


def _f(x: float, digits: int = 5) -> str:
    return f"{x:.{digits}f}"


def _g(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def _mb(b: int) -> str:
    return f"{b / 1e6:.2f}"


# ============================================================================ metrics
def metrics_table(
    metrics: Mapping,
    size_bytes: int,
    float32_bytes: int,
    texts: Sequence[str],
    seconds: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per metric: name, value, what it measures.  ``metrics``: :class:`EvalMetrics`
    as a dict (``as_dict()``)."""
    lab = merge_labels(LABELS, labels)
    n = len(texts)
    rows = [
        (lab["m_mean_cosine"], _f(metrics["mean_cosine"], 6), lab["d_mean_cosine"].format(n=n)),
        (lab["m_min_cosine"], _f(metrics["min_cosine"], 6), lab["d_min_cosine"].format(text=texts[metrics["worst_text"]])),
        (lab["m_nn"], percent(metrics["nn_agreement"]), lab["d_nn"]),
        (lab["m_top3"], percent(metrics["top3_agreement"]), lab["d_top3"]),
        (lab["m_sim_change"], _f(metrics["max_sim_change"], 5), lab["d_sim_change"]),
        (
            lab["m_size"],
            f"{_mb(size_bytes)} MB",
            lab["d_size"].format(b=f"{size_bytes:,}", ratio=percent(size_bytes / float32_bytes), f32=f"{float32_bytes:,}"),
        ),
    ]
    if seconds is not None:
        rows.append((lab["m_seconds"], f"{seconds:.2f} s", lab["d_seconds"]))
    return pd.DataFrame(rows, columns=[lab["col_metric"], lab["col_value"], lab["col_meaning"]])


def ranking_table(
    texts: Sequence[str],
    ref_rank: Sequence[tuple[int, float]],
    quant_rank: Sequence[tuple[int, float]],
    top: int = 5,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The first ``top`` texts ranked by similarity to the query, float32 beside quantized
    (``evalset.ranking`` output); ``change``: where the quantized rank's text stood in float32."""
    lab = merge_labels(LABELS, labels)
    ref_pos = {i: r for r, (i, _s) in enumerate(ref_rank)}
    rows = []
    for r in range(min(top, len(ref_rank), len(quant_rank))):
        fi, fs = ref_rank[r]
        qi, qs = quant_rank[r]
        was = ref_pos.get(qi)
        if was == r:
            moved = lab["moved_same"]
        elif was is None:
            moved = lab["moved_new"]
        elif was > r:
            moved = lab["moved_up"].format(n=was - r)
        else:
            moved = lab["moved_down"].format(n=r - was)
        rows.append((r + 1, texts[fi], _f(fs, 4), texts[qi], _f(qs, 4), moved))
    cols = [
        lab["col_rank"],
        lab["col_float"],
        f"{lab['col_float']} {lab['col_sim']}",
        lab["col_quant"],
        f"{lab['col_quant']} {lab['col_sim']}",
        lab["col_moved"],
    ]
    return pd.DataFrame(rows, columns=cols)


# ============================================================================ all recipes
def recipes_table(results: Sequence[Mapping], labels: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per recipe; each result: ``key``, ``title``, ``metrics`` (dict), ``size`` and
    ``float32_size`` (bytes); ``names``: key -> the title to show (default ``title``)."""
    lab = merge_labels(LABELS, labels)
    rows = []
    for r in results:
        m = r["metrics"]
        rows.append(
            (
                (names or {}).get(r["key"], r["title"]),
                _f(m["mean_cosine"], 5),
                _f(m["min_cosine"], 5),
                percent(m["nn_agreement"]),
                percent(m["top3_agreement"]),
                _f(m["max_sim_change"], 4),
                _mb(r["size"]),
                percent(r["size"] / r["float32_size"]),
            )
        )
    cols = ["col_recipe", "col_mean_cos", "col_min_cos", "col_nn", "col_top3", "col_sim_change", "col_size_mb", "col_ratio"]
    return pd.DataFrame(rows, columns=[lab[c] for c in cols])


def _padded(xs: Sequence[float]) -> list[float]:
    """An x range around the points with room for the labels beside the outer markers."""
    if not xs:
        return [0.0, 1.0]
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or max(abs(hi), 1.0) * 0.1
    return [lo - 0.1 * span, hi + 0.14 * span]


def size_cosine_figure(
    results: Sequence[Mapping], chosen: str | None = None, labels: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None
) -> go.Figure:
    """The damage (1 − mean cosine to float32, log axis) against model size, one marker per
    recipe (``key``, ``title``, ``metrics``, ``size``); recipes with no damage at all (float32)
    are left out (a log axis has no 0).  The ``chosen`` key is drawn larger and in magenta;
    labels alternate left and right of the markers so that neighbours do not overlap.
    ``names``: key -> the marker's text (default the key)."""
    lab = merge_labels(LABELS, labels)
    names = names or {}
    pts = sorted((r for r in results if 1.0 - r["metrics"]["mean_cosine"] > 0), key=lambda r: (r["size"], r["metrics"]["mean_cosine"]))
    xs = [r["size"] / 1e6 for r in pts]
    ys = [1.0 - r["metrics"]["mean_cosine"] for r in pts]
    colors = [CHOSEN_COLOR if r["key"] == chosen else AFTER_COLOR for r in pts]
    sizes = [15 if r["key"] == chosen else 9 for r in pts]
    hover = [lab["hover_recipe"].format(title=names.get(r["key"], r["title"]), mb=_mb(r["size"]), cos=_f(r["metrics"]["mean_cosine"], 5)) for r in pts]
    # labels alternate sides in order of damage; near the right edge they stay on the left
    # (above / below) so that a narrow screen does not cut them off
    x_range = _padded(xs)
    right_edge = x_range[0] + 0.75 * (x_range[1] - x_range[0])
    order = np.argsort(ys, kind="stable")
    side = np.empty(len(pts), dtype=object)
    for i, j in enumerate(order):
        if xs[j] > right_edge:
            side[j] = "top left" if i % 2 == 0 else "bottom left"
        else:
            side[j] = "middle right" if i % 2 == 0 else "middle left"
    trace = go.Scatter(
        x=xs, y=ys, mode="markers+text", text=[names.get(r["key"], r["key"]) for r in pts], textposition=list(side),
        textfont=dict(size=10), marker=dict(color=colors, size=sizes, line=dict(width=1, color="white")),
        hovertext=hover, hoverinfo="text", showlegend=False,
    )
    fig = go.Figure([trace])
    apply_layout(
        fig,
        chart_layout(
            460,
            margin=dict(l=10, r=10, t=20, b=10),
            xaxis=dict(title=dict(text=lab["axis_size_mb"]), range=x_range),
            yaxis=dict(title=dict(text=lab["axis_damage_recipes"]), type="log", dtick=1),
        ),
    )
    return fig


SIZE_COLORS = {"embeddings": "#d62728", "linear_codes": "#1f77b4", "scales": "#ff7f0e", "norms_biases": "#7f7f7f"}
"""One colour per part of :data:`quantlib.model.size.SIZE_PARTS`."""


def size_breakdown_figure(
    bars: Sequence[tuple[str, Mapping[str, int]]],
    part_labels: Mapping[str, str],
    chosen: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Horizontal stacked bars of bytes, one per ``(name, parts)`` in ``bars`` (top to
    bottom), ``parts``: part -> bytes (:meth:`~quantlib.model.size.SizeBreakdown.parts`),
    stacked in ``part_labels``' order (part -> legend text); the total at each bar's end, the
    ``chosen`` bar's name in bold."""
    lab = merge_labels(LABELS, labels)
    names = [f"<b>{n}</b>" if i == chosen else n for i, (n, _p) in enumerate(bars)]
    totals = [sum(p.values()) for _n, p in bars]
    traces = []
    for part, text in part_labels.items():
        mb = [p.get(part, 0) / 1e6 for _n, p in bars]
        hover = [
            lab["hover_size_part"].format(recipe=n, part=text, mb=_mb(p.get(part, 0)), share=percent(p.get(part, 0) / t if t else 0.0), total=_mb(t))
            for (n, p), t in zip(bars, totals)
        ]
        traces.append(go.Bar(y=names, x=mb, orientation="h", name=text, marker_color=SIZE_COLORS.get(part, BEFORE_COLOR), hovertext=hover, hoverinfo="text"))
    top = max(totals, default=0) / 1e6
    traces.append(
        go.Scatter(
            y=names, x=[t / 1e6 for t in totals], mode="text", text=[lab["size_total"].format(mb=f"{t / 1e6:.1f}") for t in totals],
            textposition="middle right", textfont=dict(size=11), showlegend=False, hoverinfo="skip",
        )
    )
    fig = go.Figure(traces)
    apply_layout(
        fig,
        chart_layout(
            max(160, 70 + 26 * len(bars)),
            barmode="stack",
            margin=dict(l=10, r=10, t=40, b=10),
            legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
            xaxis=dict(title=dict(text=lab["axis_size_parts"]), range=[0, top * 1.3 or 1.0]),  # room for the totals, on a phone too
            yaxis=dict(autorange="reversed", type="category"),
        ),
    )
    return fig


# ============================================================================ outliers
def absmax_figure(
    absmax: np.ndarray,
    outlier_channels: Sequence[int],
    tokens: Sequence[str] | None,
    positions: Sequence[int] | None,
    factor: float,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Per-channel max |x| of one Linear's input (log y), outlier channels in red and
    labelled with the token that produced them."""
    lab = merge_labels(LABELS, labels)
    a = np.asarray(absmax, np.float64)
    ch = np.arange(a.size)
    toks = list(tokens) if tokens is not None else ["?"] * a.size
    pos = list(positions) if positions is not None else [-1] * a.size
    hover = [lab["hover_channel"].format(ch=j, v=_g(a[j], 4), tok=toks[j], pos=int(pos[j])) for j in range(a.size)]
    out = np.asarray(list(outlier_channels), int)
    med = float(np.median(a))
    traces = [
        go.Scatter(x=ch, y=a, mode="lines", line=dict(color=BEFORE_COLOR, width=1), name=lab["legend_channels"], hovertext=hover, hoverinfo="text"),
        go.Scatter(
            x=out, y=a[out], mode="markers+text", marker=dict(color=OUTLIER_COLOR, size=9),
            text=[f"{j} {toks[j]}" for j in out], textposition="middle right", textfont=dict(size=11, color=OUTLIER_COLOR),
            name=lab["legend_outliers"].format(factor=_g(factor)), hovertext=[hover[j] for j in out], hoverinfo="text",
        ),
        go.Scatter(x=[0, a.size - 1], y=[med, med], mode="lines", line=dict(color=AFTER_COLOR, dash="dot", width=1), name=lab["legend_median"], hoverinfo="skip"),
    ]
    fig = go.Figure(traces)
    apply_layout(
        fig,
        chart_layout(
            360,
            xaxis=dict(title=dict(text=lab["axis_channel"]), range=[-5, a.size + a.size * 0.08]),
            yaxis=dict(title=dict(text=lab["axis_absmax"]), type="log", dtick=1),
        ),
    )
    return fig


def outlier_table(report, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The outlier channels of one :class:`~quantlib.model.outliers.OutlierReport`."""
    lab = merge_labels(LABELS, labels)
    rows = [
        (int(c), _g(float(a), 4), _g(float(r), 3), t, int(p))
        for c, a, r, t, p in zip(report.channels, report.absmax, report.ratio, report.tokens or ["?"] * len(report.channels), report.positions)
    ]
    return pd.DataFrame(rows, columns=[lab["col_channel"], lab["col_absmax"], lab["col_ratio_median"], lab["col_token"], lab["col_position"]])


# ============================================================================ SmoothQuant
def smooth_figure(view, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Two panels: per-channel max |X| and max |W| of a :class:`SmoothView`, before and after."""
    lab = merge_labels(LABELS, labels)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, subplot_titles=(lab["panel_x"], lab["panel_w"]))
    ch = np.arange(view.x_before.size)
    after = lab["legend_after"].format(alpha=f"{view.alpha:.2f}")
    for row, (b, a) in enumerate(((view.x_before, view.x_after), (view.w_before, view.w_after)), 1):
        fig.add_trace(
            go.Scatter(x=ch, y=b, mode="lines", line=dict(color=BEFORE_COLOR, width=1), name=lab["legend_before"], legendgroup="b", showlegend=row == 1),
            row=row, col=1,
        )
        fig.add_trace(
            go.Scatter(x=ch, y=a, mode="lines", line=dict(color=AFTER_COLOR, width=1), name=after, legendgroup="a", showlegend=row == 1),
            row=row, col=1,
        )
        fig.update_yaxes(type="log", dtick=1, title=dict(text=lab["axis_max_abs"]), row=row, col=1)
    fig.update_xaxes(title=dict(text=lab["axis_channel"]), row=2, col=1)
    apply_layout(fig, chart_layout(540, margin=dict(l=10, r=10, t=100, b=10), legend=dict(orientation="h", yanchor="bottom", y=1.1, xanchor="left", x=0)))
    fig.update_annotations(font=dict(size=13))
    return fig


def smooth_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``smoothquant.per_layer_table`` rows: relative output error of each Linear under W8A8
    without / with smoothing / per token, and the spreads (max / median channel maximum)."""
    lab = merge_labels(LABELS, labels)
    out = []
    for r in rows:
        out.append(
            (
                r["name"],
                lab["yes"] if r["smoothing_hurts"] else lab["no"],
                round(r["w8a8"], 4),
                round(r["w8a8_smooth"], 4),
                round(r["w8a8_per_token"], 4),
                round(r["w8_only"], 4),
                lab["spread"].format(a=_g(r["x_spread_before"]), b=_g(r["x_spread_after"])),
                lab["spread"].format(a=_g(r["w_spread_before"]), b=_g(r["w_spread_after"])),
            )
        )
    cols = ["col_linear", "col_hurts", "col_w8a8", "col_w8a8_smooth", "col_w8a8_token", "col_w8_only", "col_x_spread", "col_w_spread"]
    return pd.DataFrame(out, columns=[lab[c] for c in cols])


def variants_table(variants: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``smoothquant.whole_model_variants`` (metrics as dicts), one row per variant."""
    lab = merge_labels(LABELS, labels)
    rows = [
        (
            lab.get(f"v_{k}", k),
            _f(m["mean_cosine"], 5),
            _f(m["min_cosine"], 5),
            percent(m["nn_agreement"]),
            percent(m["top3_agreement"]),
            _f(m["max_sim_change"], 4),
        )
        for k, m in variants.items()
    ]
    cols = ["col_variant", "col_mean_cos", "col_min_cos", "col_nn", "col_top3", "col_sim_change"]
    return pd.DataFrame(rows, columns=[lab[c] for c in cols])


def _colocated(view) -> tuple[int, float, float]:
    """(channel of the largest X, its X and W column maxima as multiples of the medians)."""
    j = int(np.argmax(view.x_before))
    return j, float(view.x_before[j] / np.median(view.x_before)), float(view.w_before[j] / np.median(view.w_before))


def smooth_findings(
    rows: Sequence[Mapping],
    variants: Mapping[str, Mapping],
    alpha: float,
    why_view=None,
    down_views: Sequence = (),
    factor: float = 6.0,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Sentences computed from the per-layer table and the whole-model variants: how many
    Linears smoothing helps and hurts, which kinds it hurts, where the activation and weight
    outliers coincide (``why_view``: the :class:`SmoothView` of the Linear it hurts most;
    ``down_views``: those of the FFN down-projections; a weight column counts as an outlier
    at ``factor`` x the median) and the best whole-model variant."""
    lab = merge_labels(LABELS, labels)
    n = len(rows)
    hurts = [r for r in rows if r["smoothing_hurts"]]
    out = [lab["find_counts"].format(alpha=f"{alpha:.2f}", helps=n - len(hurts), n=n, hurts=len(hurts))]
    layers = sorted({r["name"].split(".")[0] for r in rows})
    per_kind = {k: sum(1 for r in hurts if r["kind"] == k) for k in KINDS}
    for k, c in sorted(per_kind.items(), key=lambda kv: -kv[1]):
        if c:
            out.append(lab["find_kind"].format(kind=k, k=c, layers=len(layers)))
    if why_view is not None:
        row = next(r for r in rows if r["name"] == why_view.name)
        j, xr, wr = _colocated(why_view)
        errs = dict(plain=_g(row["w8a8"]), smooth=_g(row["w8a8_smooth"]), token=_g(row["w8a8_per_token"]))
        if wr >= factor:
            out.append(lab["find_why"].format(name=why_view.name, ch=j, x=_g(xr), w=_g(wr), **errs))
        else:
            out.append(lab["find_why_not"].format(name=why_view.name, ch=j, w=_g(wr), **errs))
    if down_views:
        co = [(v.name, *_colocated(v)) for v in down_views]
        hits = [c for c in co if c[3] >= factor]
        detail = ", ".join(f"{name}: {j} ({_g(wr)}×)" for name, j, _xr, wr in co)
        out.append(lab["find_down"].format(k=len(hits), layers=len(co), factor=_g(factor), detail=detail))
    if variants:
        best = max(variants, key=lambda k: variants[k]["mean_cosine"])
        out.append(
            lab["find_best"].format(
                best=lab.get(f"v_{best}", best),
                best_cos=_f(variants[best]["mean_cosine"], 5),
                plain_cos=_f(variants["w8a8"]["mean_cosine"], 5) if "w8a8" in variants else "–",
                all_cos=_f(variants["smooth_all"]["mean_cosine"], 5) if "smooth_all" in variants else "–",
            )
        )
    return out


# ============================================================================ sensitivity
def sensitivity_figure(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> go.Figure:
    """Bars of 1 − mean cosine per group (``group``, ``metrics`` dict), in execution order;
    the worst group in red."""
    lab = merge_labels(LABELS, labels)
    groups = [r["group"] for r in rows]
    dmg = np.array([max(1.0 - r["metrics"]["mean_cosine"], 0.0) for r in rows])
    floor = max(float(dmg[dmg > 0].min()) if (dmg > 0).any() else 1e-9, 1e-9)
    shown = np.maximum(dmg, floor / 2)
    worst = int(np.argmax(dmg)) if dmg.size else -1
    colors = [OUTLIER_COLOR if i == worst and dmg[i] > 0 else AFTER_COLOR for i in range(len(rows))]
    hover = [
        lab["hover_sensitivity"].format(
            group=g, d=_g(d), minc=_f(r["metrics"]["min_cosine"], 5), nn=percent(r["metrics"]["nn_agreement"])
        )
        for g, d, r in zip(groups, dmg, rows)
    ]
    fig = go.Figure([go.Bar(x=groups, y=shown, marker_color=colors, hovertext=hover, hoverinfo="text", showlegend=False)])
    apply_layout(
        fig,
        chart_layout(
            380,
            margin=dict(l=10, r=10, t=20, b=10),
            xaxis=dict(title=dict(text=lab["axis_group"]), tickangle=-60 if len(rows) > 8 else 0, type="category"),
            yaxis=dict(title=dict(text=lab["axis_damage"]), type="log", dtick=1),
        ),
    )
    return fig


# ============================================================================ calibration
def calibration_figure(values: np.ndarray, rows: Sequence[Mapping], name: str, bins: int = 241, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Histogram of one Linear's input values (log counts) with each method's symmetric clip
    range ±T drawn as a pair of vertical lines (``rows``: ``method``, ``threshold``)."""
    lab = merge_labels(LABELS, labels)
    v = np.asarray(values, np.float64).reshape(-1)
    edge = max(float(np.abs(v).max()), max((r["threshold"] for r in rows), default=0.0)) * 1.05 or 1.0
    counts, edges = np.histogram(v, bins=bins, range=(-edge, edge))
    centers = (edges[:-1] + edges[1:]) / 2
    keep = counts > 0
    hist = go.Bar(
        x=centers[keep], y=counts[keep], width=float(edges[1] - edges[0]), marker_color="#3b5b85",
        name=lab["legend_histogram"], hovertemplate="x ≈ %{x:.3g}: %{y}<extra></extra>",
    )
    traces = []
    top = float(counts.max()) * 2 if counts.size else 1.0
    for r in rows:
        t = r["threshold"]
        color = METHOD_COLORS.get(r["method"], "#333333")
        method = lab.get(f"method_{r['method']}", r["method"])
        traces.append(
            go.Scatter(
                x=[-t, -t, None, t, t], y=[0.7, top, None, 0.7, top], mode="lines",
                line=dict(color=color, width=2, dash="dash" if r["method"] in ("percentile", "kl") else "solid"),
                name=lab["legend_clip"].format(method=method, t=_g(t, 4)), hoverinfo="name",
            )
        )
    fig = go.Figure([*traces, hist])  # the bars last: drawn over the clip lines
    apply_layout(
        fig,
        chart_layout(
            400,
            bargap=0,
            xaxis=dict(title=dict(text=lab["axis_x"].format(name=name))),
            yaxis=dict(title=dict(text=lab["axis_count"]), type="log", dtick=1, range=[np.log10(0.7), np.log10(top)]),
        ),
    )
    return fig


def calibration_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per method: threshold, fraction of eval-set inputs clipped, the Linear's output
    error, end-to-end mean / min cosine with only this Linear quantized."""
    lab = merge_labels(LABELS, labels)
    out = [
        (
            lab.get(f"method_{r['method']}", r["method"]),
            _g(r["threshold"], 4),
            f"{100 * r['frac_clipped']:.3f}%",
            _f(r["output_rel_error"], 4),
            _f(r["metrics"]["mean_cosine"], 6),
            _f(r["metrics"]["min_cosine"], 6),
        )
        for r in rows
    ]
    cols = ["col_method", "col_threshold", "col_clipped", "col_layer_err", "col_e2e_mean", "col_e2e_min"]
    return pd.DataFrame(out, columns=[lab[c] for c in cols])
