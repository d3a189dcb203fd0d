"""Builders of the "Smaller, not faster" page (``/cost``): the memory table and chart (weights in
every scheme + the KV cache), the roofline table and chart (decode and prefill tokens/s), and the
live measurement's table and chart.

Every number comes from :mod:`quantlib.cost` (``Roofline``, ``Measurement`` and the byte counts);
nothing here imports streamlit.  Words come from ``labels`` (English defaults in :data:`LABELS`;
the page passes the translated ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from quantlib.cost import ROUTES, Measurement, Roofline

from .style import apply_layout, chart_layout, merge_labels

__all__ = ["LABELS", "bytes_text", "measure_figure", "measure_table", "memory_figure", "memory_table", "rate_text", "speed_figure", "speed_table"]

WEIGHT_COLOR = "#1f77b4"
KV_COLOR = "#ff7f0e"
EXTRA_COLOR = "#d62728"
NATIVE_COLOR = "#2ca02c"
DEQUANT_COLOR = "#9e9e9e"
ROUTE_COLORS = {"float32": "#1f77b4", "int8": "#d62728", "dequantize": "#ff7f0e"}

LABELS: dict[str, str] = {
    "col_scheme": "scheme",
    "col_bits": "bits per weight",
    "col_weights": "weights",
    "col_weight_bytes": "weights (bytes)",
    "col_ratio": "÷ float32",
    "col_kv": "KV cache",
    "col_total": "weights + KV cache",
    "trace_weights": "weights",
    "trace_kv": "KV cache",
    "axis_gb": "memory (GB = 10⁹ bytes)",
    "col_compute": "computed in",
    "col_peak": "peak used (TFLOPS)",
    "col_decode": "decode (tokens/s)",
    "col_prefill": "prefill (tokens/s)",
    "col_decode_bound": "decode bound by",
    "col_prefill_bound": "prefill bound by",
    "col_traffic": "bytes read per step",
    "native": "{kind} (its own)",
    "dequantized": "{kind} (dequantized)",
    "memory": "memory",
    "compute": "compute",
    "title_decode": "decode: tokens/s (one token per sequence per step)",
    "title_prefill": "prefill: tokens/s (the whole context at once)",
    "trace_native": "its own matrix units",
    "trace_dequantized": "dequantized first",
    "hover_speed": "{scheme}<br>{value} tokens/s<br>{bound}-bound",
    "route_float32": "float32 (BLAS)",
    "route_int8": "int8 → int32 accumulate",
    "route_dequantize": "dequantize, then float32",
    "col_route": "route",
    "col_product": "product",
    "col_median": "median (ms)",
    "col_spread": "min – max (ms)",
    "col_slowdown": "× float32 time",
    "col_rate": "rate",
    "col_weight_mem": "stored matrix",
    "matvec": "matrix × vector {m} × {k} · {k}",
    "matmul": "matrix × matrix {m} × {k} · {k} × {n}",
    "axis_ms": "time (ms, log scale; bar: median, line: min – max)",
    "hover_time": "{route}<br>median {median} ms<br>{lo} – {hi} ms",
}


def bytes_text(n: float) -> str:
    """Decimal units, as bandwidths are quoted: '512 B', '47.19 MB', '13.48 GB', '1.1 TB'."""
    n = float(n)
    for unit, k in (("TB", 12), ("GB", 9), ("MB", 6), ("kB", 3)):
        if n >= 10**k:
            return f"{n / 10**k:.4g} {unit}"
    return f"{n:.0f} B"


def rate_text(x: float) -> str:
    """Tokens/s or operations/s to 4 significant digits with separators: '140.1', '23,151'."""
    if x >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def memory_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``rows``: dicts with scheme, bits, weight_bytes, kv_bytes (from quantlib.cost)."""
    L = merge_labels(LABELS, labels)
    ref = next((r["weight_bytes"] for r in rows if r["scheme"] == "float32"), None)
    return pd.DataFrame(
        {
            L["col_scheme"]: [r["scheme"] for r in rows],
            L["col_bits"]: [f"{r['bits']:.10g}" for r in rows],
            L["col_weight_bytes"]: [f"{r['weight_bytes']:,.0f}" for r in rows],
            L["col_weights"]: [bytes_text(r["weight_bytes"]) for r in rows],
            L["col_ratio"]: [f"{r['weight_bytes'] / ref:.3f}" if ref else "—" for r in rows],
            L["col_kv"]: [bytes_text(r["kv_bytes"]) for r in rows],
            L["col_total"]: [bytes_text(r["weight_bytes"] + r["kv_bytes"]) for r in rows],
        }
    )


def memory_figure(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> go.Figure:
    """Horizontal stacked bars: the weights of each scheme and the (same) KV cache on top."""
    L = merge_labels(LABELS, labels)
    names = [r["scheme"] for r in rows]
    w = [r["weight_bytes"] / 1e9 for r in rows]
    kv = [r["kv_bytes"] / 1e9 for r in rows]
    fig = go.Figure(
        [
            go.Bar(y=names, x=w, orientation="h", name=L["trace_weights"], marker_color=WEIGHT_COLOR, hovertemplate="%{y}: %{x:.4g} GB<extra></extra>"),
            go.Bar(y=names, x=kv, orientation="h", name=L["trace_kv"], marker_color=KV_COLOR, hovertemplate="%{y}: %{x:.4g} GB<extra></extra>"),
        ]
    )
    return apply_layout(
        fig,
        chart_layout(
            max(300, 22 * len(rows) + 80),
            barmode="stack",
            xaxis=dict(title=L["axis_gb"]),
            yaxis=dict(autorange="reversed", automargin=True),
            bargap=0.25,
        ),
    )


def _compute_text(r: Roofline, L: Mapping[str, str], kind_names: Mapping[str, str]) -> str:
    kind = kind_names.get(r.kind, r.kind)
    return L["native"].format(kind=kind) if r.native else L["dequantized"].format(kind=kind)


def speed_table(rows: Sequence[Roofline], labels: Mapping[str, str] | None = None, kind_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per scheme: what it is computed in, the peak used, both regimes' tokens/s and bound."""
    L = merge_labels(LABELS, labels)
    kinds = kind_names or {}
    return pd.DataFrame(
        {
            L["col_scheme"]: [r.scheme for r in rows],
            L["col_compute"]: [_compute_text(r, L, kinds) for r in rows],
            L["col_peak"]: [f"{r.peak:g}" for r in rows],
            L["col_traffic"]: [bytes_text(r.weight_bytes + r.extra_bytes + r.kv_bytes) for r in rows],
            L["col_decode"]: [rate_text(r.decode) for r in rows],
            L["col_decode_bound"]: [L[r.decode_bound] for r in rows],
            L["col_prefill"]: [rate_text(r.prefill) for r in rows],
            L["col_prefill_bound"]: [L[r.prefill_bound] for r in rows],
        }
    )


def speed_figure(rows: Sequence[Roofline], labels: Mapping[str, str] | None = None) -> go.Figure:
    """Two panels of horizontal bars, decode and prefill tokens/s per scheme; green: computed in
    the scheme's own matrix units, grey: dequantized first."""
    L = merge_labels(LABELS, labels)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=(L["title_decode"], L["title_prefill"]), horizontal_spacing=0.04)
    for native in (True, False):
        sel = [r for r in rows if r.native == native]
        if not sel:
            continue
        name = L["trace_native"] if native else L["trace_dequantized"]
        color = NATIVE_COLOR if native else DEQUANT_COLOR
        for col, attr, bound in ((1, "decode", "decode_bound"), (2, "prefill", "prefill_bound")):
            fig.add_trace(
                go.Bar(
                    y=[r.scheme for r in sel],
                    x=[getattr(r, attr) for r in sel],
                    orientation="h",
                    name=name,
                    marker_color=color,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertext=[L["hover_speed"].format(scheme=r.scheme, value=rate_text(getattr(r, attr)), bound=L[getattr(r, bound)]) for r in sel],
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
    order = [r.scheme for r in rows]
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], automargin=True)
    fig.update_annotations(font_size=13)
    layout = chart_layout(max(320, 22 * len(rows) + 110), barmode="overlay", bargap=0.25)
    layout["margin"] = dict(l=10, r=10, t=70, b=10)
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.08, xanchor="left", x=0)
    return apply_layout(fig, layout)


def _product(m: Measurement, L: Mapping[str, str]) -> str:
    return (L["matvec"] if m.n == 1 else L["matmul"]).format(m=m.m, k=m.k, n=m.n)


def measure_table(results: Sequence[Measurement], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per product and route: median, min – max, the time over float32's and the rate
    (float32's effective bandwidth for a matrix-vector product, GFLOPS for a matrix product)."""
    L = merge_labels(LABELS, labels)
    rows = []
    for m in results:
        for route in ROUTES:
            med = m.median(route)
            lo, hi = m.spread(route)
            rate = f"{m.weight_bytes(route) / med / 1e9:.3g} GB/s" if m.n == 1 else f"{m.ops / med / 1e9:.3g} GFLOPS"
            rows.append(
                {
                    L["col_product"]: _product(m, L),
                    L["col_route"]: L["route_" + route],
                    L["col_median"]: f"{1e3 * med:.3g}",
                    L["col_spread"]: f"{1e3 * lo:.3g} – {1e3 * hi:.3g}",
                    L["col_slowdown"]: f"{m.slowdown(route):.2f}",
                    L["col_weight_mem"]: bytes_text(m.weight_bytes(route)),
                    L["col_rate"]: rate,
                }
            )
    return pd.DataFrame(rows)


def measure_figure(results: Sequence[Measurement], labels: Mapping[str, str] | None = None) -> go.Figure:
    """Grouped bars: each route's median time per product, with its min – max as error bars."""
    L = merge_labels(LABELS, labels)
    x = [_product(m, L) for m in results]
    fig = go.Figure()
    for route in ROUTES:
        med = [1e3 * m.median(route) for m in results]
        lo = [1e3 * m.spread(route)[0] for m in results]
        hi = [1e3 * m.spread(route)[1] for m in results]
        name = L["route_" + route]
        fig.add_trace(
            go.Bar(
                x=x,
                y=med,
                name=name,
                marker_color=ROUTE_COLORS[route],
                error_y=dict(type="data", symmetric=False, array=[h - v for h, v in zip(hi, med)], arrayminus=[v - low for v, low in zip(med, lo)]),
                hovertext=[L["hover_time"].format(route=name, median=f"{v:.3g}", lo=f"{a:.3g}", hi=f"{b:.3g}") for v, a, b in zip(med, lo, hi)],
                hoverinfo="text",
            )
        )
    return apply_layout(fig, chart_layout(360, barmode="group", yaxis=dict(type="log", title=L["axis_ms"])))
