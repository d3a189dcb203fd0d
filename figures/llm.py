"""Builders of the language model page (``/llm``): tables, plotly figures and the side-by-side
text of what quantization does to SmolLM2-135M (:mod:`quantlib.llm`).

Every builder takes plain numbers computed by :mod:`quantlib.llm` (KL statistics as dicts,
token pieces, per-block KL) and returns a pandas table, a ``plotly.graph_objects.Figure`` or an
HTML string; nothing here imports streamlit.  Words come from ``labels`` (English defaults in
:data:`LABELS`; the page passes the translated ones).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from quantlib.analysis import front_order, pareto_mask

from .style import apply_layout, chart_layout, merge_labels

__all__ = ["LABELS", "kl_bpw_figure", "kl_histogram", "presets_table", "sensitivity_figure", "text_html", "top_tokens_table"]

REF_COLOR = "#1f77b4"
QUANT_COLOR = "#d62728"
FRONT_COLOR = "#2ca02c"
CHOSEN_COLOR = "#e6007e"
OTHER_COLOR = "#7f7f7f"

LABELS: dict[str, str] = {
    "col_recipe": "Recipe",
    "col_bpw": "bits per weight",
    "col_size": "size (MB)",
    "col_kl_mean": "KL mean",
    "col_kl_p99": "KL 99th pct",
    "col_top1": "same top-1",
    "col_ppl": "perplexity",
    "col_front": "Pareto front",
    "col_rank": "rank",
    "col_token": "token",
    "col_p_ref": "p (reference)",
    "col_p_quant": "p (quantized)",
    "axis_bpw": "bits per weight (all parameters)",
    "axis_kl": "mean KL divergence (nats, log scale)",
    "axis_block": "block",
    "axis_kl_block": "mean KL divergence when only this block is quantized",
    "axis_kl_pos": "KL divergence at a position (nats)",
    "axis_positions": "positions",
    "legend_recipes": "recipes",
    "legend_front": "Pareto front",
    "legend_chosen": "your recipe",
    "hover_recipe": "{name}<br>{bpw} bits per weight<br>KL {kl}<br>same top-1 {top1}",
    "hover_block": "block {b}: KL {kl}",
    "text_reference": "Reference (as shipped)",
    "text_quantized": "Quantized",
    "text_same": "same as the reference",
    "yes": "yes",
}


def _g(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def presets_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per recipe: bits per weight, size, KL mean / 99th percentile, top-1, perplexity,
    and its place on the Pareto front (1 = fewest bits)."""
    lab = merge_labels(LABELS, labels)
    bpw = [r["bits_per_weight"] for r in rows]
    kl = [r["kl_mean"] for r in rows]
    order = front_order(bpw, [-k for k in kl])
    place = {i: n + 1 for n, i in enumerate(order)}
    return pd.DataFrame(
        {
            lab["col_recipe"]: [r["name"] for r in rows],
            lab["col_bpw"]: [f"{b:.3f}" for b in bpw],
            lab["col_size"]: [f"{r['nbytes'] / 1e6:.1f}" for r in rows],
            lab["col_kl_mean"]: [f"{r['kl_mean']:.4f} ± {r['kl_se']:.4f}" for r in rows],
            lab["col_kl_p99"]: [f"{r['kl_p99']:.3f}" for r in rows],
            lab["col_top1"]: [f"{100 * r['top1']:.1f}%" for r in rows],
            lab["col_ppl"]: [f"{r['ppl']:.2f}" for r in rows],
            lab["col_front"]: [str(place[i]) if i in place else "" for i in range(len(rows))],
        }
    )


def kl_bpw_figure(rows: Sequence[Mapping], chosen: Mapping | None = None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Mean KL divergence (log) against bits per weight for every recipe, the Pareto front (no
    recipe has fewer bits and a lower KL) joined by a line, ``chosen`` as a large marker."""
    lab = merge_labels(LABELS, labels)
    bpw = np.array([r["bits_per_weight"] for r in rows], float)
    kl = np.array([r["kl_mean"] for r in rows], float)
    front = pareto_mask(bpw, -kl)
    hover = [lab["hover_recipe"].format(name=html.escape(r["name"]), bpw=f"{r['bits_per_weight']:.3f}", kl=_g(r["kl_mean"], 4), top1=f"{100 * r['top1']:.1f}%") for r in rows]
    order = front_order(bpw, -kl)
    traces = [
        go.Scatter(
            x=bpw, y=kl, mode="markers+text", text=[r["name"] for r in rows], textposition="top center", textfont=dict(size=10),
            marker=dict(size=9, color=[FRONT_COLOR if f else OTHER_COLOR for f in front]), name=lab["legend_recipes"],
            hovertext=hover, hoverinfo="text",
        ),
        go.Scatter(x=bpw[order], y=kl[order], mode="lines", line=dict(color=FRONT_COLOR, dash="dot"), name=lab["legend_front"], hoverinfo="skip"),
    ]
    if chosen is not None:
        traces.append(
            go.Scatter(
                x=[chosen["bits_per_weight"]], y=[chosen["kl_mean"]], mode="markers",
                marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color=CHOSEN_COLOR, width=3)),
                name=lab["legend_chosen"], hoverinfo="skip",
            )
        )
    fig = go.Figure(traces)
    return apply_layout(fig, chart_layout(440, xaxis=dict(title=dict(text=lab["axis_bpw"])), yaxis=dict(title=dict(text=lab["axis_kl"]), type="log")))


def kl_histogram(kl: np.ndarray, labels: Mapping[str, str] | None = None) -> go.Figure:
    """How the KL divergence is spread over the positions (log-spaced bins): a mean can hide a
    few positions where the prediction changed completely."""
    lab = merge_labels(LABELS, labels)
    k = np.maximum(np.asarray(kl, float), 1e-6)
    edges = np.logspace(np.log10(k.min()), np.log10(k.max()) + 1e-9, 31)
    counts, _ = np.histogram(k, bins=edges)
    mids = np.sqrt(edges[:-1] * edges[1:])
    fig = go.Figure([go.Bar(x=mids, y=counts, width=np.diff(edges), marker=dict(color=QUANT_COLOR), hovertemplate="KL ≈ %{x:.3g}: %{y}<extra></extra>")])
    return apply_layout(fig, chart_layout(260, xaxis=dict(title=dict(text=lab["axis_kl_pos"]), type="log"), yaxis=dict(title=dict(text=lab["axis_positions"])), showlegend=False))


def sensitivity_figure(kl: Sequence[float], labels: Mapping[str, str] | None = None) -> go.Figure:
    """Mean KL when only one block is quantized, block by block (log y)."""
    lab = merge_labels(LABELS, labels)
    k = np.asarray(kl, float)
    worst = int(np.argmax(k))
    colors = [QUANT_COLOR if i == worst else REF_COLOR for i in range(k.size)]
    fig = go.Figure(
        [go.Bar(x=np.arange(k.size), y=k, marker=dict(color=colors), hovertext=[lab["hover_block"].format(b=i, kl=_g(v, 4)) for i, v in enumerate(k)], hoverinfo="text")]
    )
    return apply_layout(
        fig,
        chart_layout(320, xaxis=dict(title=dict(text=lab["axis_block"]), dtick=1), yaxis=dict(title=dict(text=lab["axis_kl_block"]), type="log"), showlegend=False),
    )


def _pieces_html(pieces: Sequence[str], start: int | None, css: str) -> str:
    out = []
    for i, p in enumerate(pieces):
        t = html.escape(p).replace("\n", "↵<br>")
        out.append(f'<span class="{css}">{t}</span>' if start is not None and i >= start else t)
    return "".join(out)


def text_html(ref_pieces: Sequence[str], q_pieces: Sequence[str], first_diff: int | None, labels: Mapping[str, str] | None = None) -> str:
    """The two continuations side by side; from the first token where they differ, the
    quantized text is marked (and the reference's token at that place)."""
    lab = merge_labels(LABELS, labels)
    same = first_diff is None
    left = _pieces_html(ref_pieces, first_diff, "llm-diff-ref")
    right = _pieces_html(q_pieces, first_diff, "llm-diff") if not same else _pieces_html(q_pieces, None, "")
    note = f' <span class="llm-same">({html.escape(lab["text_same"])})</span>' if same else ""
    style = (
        "<style>.llm-cols{display:flex;flex-wrap:wrap;gap:12px}.llm-col{flex:1 1 300px;border:1px solid #ddd;border-radius:6px;"
        "padding:8px 10px;white-space:pre-wrap;font-size:0.95rem}.llm-col h5{margin:0 0 6px 0;font-size:0.9rem}"
        ".llm-diff{background:#fde2e2;border-bottom:2px solid #d62728}.llm-diff-ref{background:#e3eefa}.llm-same{color:#2ca02c}</style>"
    )
    return (
        f'{style}<div class="llm-cols"><div class="llm-col"><h5>{html.escape(lab["text_reference"])}</h5>{left}</div>'
        f'<div class="llm-col"><h5>{html.escape(lab["text_quantized"])}{note}</h5>{right}</div></div>'
    )


def top_tokens_table(ref: tuple, quant: tuple, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The top-k next tokens of both models at one position: ``ref`` / ``quant`` are
    (pieces, probabilities) pairs."""
    lab = merge_labels(LABELS, labels)
    (rp, rpr), (qp, qpr) = ref, quant
    return pd.DataFrame(
        {
            lab["col_rank"]: list(range(1, len(rp) + 1)),
            lab["text_reference"]: [repr(p) for p in rp],
            lab["col_p_ref"]: [f"{100 * v:.1f}%" for v in rpr],
            lab["text_quantized"]: [repr(p) for p in qp],
            lab["col_p_quant"]: [f"{100 * v:.1f}%" for v in qpr],
        }
    )
