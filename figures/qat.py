"""Builders of the quantization-aware training page (``/qat``): tables and plotly figures of
PTQ (data-free and calibrated) against QAT on the digits MLP, and of the weight families.

Every builder takes the plain numbers of :mod:`quantlib.train.qat` (a ``Study``, its rows,
curves and weights) and returns a pandas table or a ``plotly.graph_objects.Figure``; nothing
here imports streamlit.  User-facing words come from ``labels`` (English defaults in
:data:`LABELS`; the page passes the translated ones from ``lab.qat.display``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .training import Spread, moving_average, spread, spread_text
from .style import apply_layout, chart_layout, merge_labels
from .text import percent

__all__ = [
    "LABELS",
    "METHOD_COLORS",
    "accuracy_figure",
    "bits_color",
    "curve_figure",
    "families_figure",
    "families_table",
    "histogram_figure",
    "methods_table",
    "moving_average",
    "normalized_weights",
    "seed_families",
    "seed_rows",
]

METHOD_COLORS = {"ptq_dynamic": "#7f7f7f", "ptq_calibrated": "#ff7f0e", "qat": "#1f77b4"}
METHOD_SYMBOLS = {"ptq_dynamic": "circle", "ptq_calibrated": "square", "qat": "diamond"}
_BITS_COLORS = {8: "#1f77b4", 6: "#17becf", 5: "#2ca02c", 4: "#9467bd", 3: "#ff7f0e", 2: "#d62728"}
BEFORE_COLOR = "#9e9e9e"
AFTER_COLOR = "#1f77b4"
LEVEL_COLOR = "#e6007e"

LABELS: dict[str, str] = {
    "method_ptq_dynamic": "PTQ, data-free",
    "method_ptq_calibrated": "PTQ, calibrated",
    "method_qat": "QAT",
    "float32": "float32",
    "axis_bits": "bits (weights and activations)",
    "axis_accuracy": "test accuracy",
    "hover_acc": "{method}<br>W{bits}A{bits}: {acc}",
    "col_bits": "bits",
    "col_size": "size (bytes)",
    "col_ratio": "÷ float32",
    "axis_step": "training step",
    "axis_loss": "loss (per batch, and its mean over 10 steps)",
    "axis_epoch": "epoch (0 = calibrated PTQ)",
    "axis_test_acc": "test accuracy",
    "trace_bits": "{bits} bits",
    "axis_w_over_a": "weight ÷ its clip A (per {granularity})",
    "axis_count": "weights",
    "gran_channel": "output channel",
    "gran_tensor": "tensor",
    "trace_before": "before: the float32 network",
    "trace_after": "after QAT (its float weights)",
    "trace_levels": "the {n} levels of int{bits}",
    "col_family": "family",
    "col_scheme": "scheme",
    "col_bits_per_weight": "bits / weight",
    "col_ptq": "PTQ",
    "col_qat": "after QAT",
    "axis_bpw": "bits per weight (codes and scales)",
    "hover_family": "{family}: {bytes} bytes<br>PTQ {ptq}, QAT {qat}",
}


def seed_rows(studies: Sequence) -> list[dict]:
    """The method rows of several seeds' studies (same settings but the seed), merged: one dict
    per (bits, method) with ``accuracy`` the mean, ``lo``/``hi`` the min–max, ``spread`` (a
    :class:`~figures.training.Spread`) and ``nbytes``. 2-bit data-free PTQ at seeds 0, 1, 2:
    79.7%, 64.1%, 61.3% → accuracy 68.4%, lo 61.3%, hi 79.7%."""
    by: dict[tuple[int, str], list] = {}
    for st in studies:
        for r in st.rows:
            by.setdefault((int(r.bits), r.method), []).append(r)
    out = []
    for (b, m), rs in by.items():
        sp = spread(r.accuracy for r in rs)
        out.append({"bits": b, "method": m, "accuracy": sp.mean, "lo": sp.lo, "hi": sp.hi, "spread": sp, "nbytes": int(rs[0].nbytes)})
    return out


def seed_families(studies: Sequence) -> list[dict]:
    """The family rows of several seeds' studies, merged like :func:`seed_rows`: ``ptq_accuracy``
    and ``qat_accuracy`` the means, ``ptq_spread`` / ``qat_spread`` the spreads."""
    by: dict[str, list] = {}
    for st in studies:
        for r in st.families:
            by.setdefault(r.family, []).append(r)
    out = []
    for fam, rs in by.items():
        ps, qs = spread(r.ptq_accuracy for r in rs), spread(r.qat_accuracy for r in rs)
        out.append({"family": fam, "scheme": rs[0].scheme, "bits_per_weight": rs[0].bits_per_weight, "nbytes": rs[0].nbytes,
                    "ptq_accuracy": ps.mean, "qat_accuracy": qs.mean, "ptq_spread": ps, "qat_spread": qs})
    return out


def _pct(v, row=None, key: str = "spread") -> str:
    """A cell: "mean (min–max)" when the row carries a spread of several seeds, else the percent."""
    sp = _get(row, key) if isinstance(row, Mapping) and key in row else None
    return spread_text(sp) if isinstance(sp, Spread) and sp.n > 1 else percent(v)


def _float_text(float_accuracy) -> str:
    return spread_text(float_accuracy) if isinstance(float_accuracy, Spread) and float_accuracy.n > 1 else percent(_mean(float_accuracy))


def _mean(v) -> float:
    return v.mean if isinstance(v, Spread) else float(v)


def bits_color(bits: int) -> str:
    return _BITS_COLORS.get(int(bits), "#8c564b")


def _method(row):
    return row["method"] if isinstance(row, Mapping) else row.method


def _get(row, name):
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


# ============================================================================ accuracy vs bits
def accuracy_figure(rows: Sequence, float_accuracy, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Test accuracy against bits, one line per method (rows: ``bits, method, accuracy``), the
    float32 network as a dashed line; the bits axis runs from many to few. Rows with ``lo`` and
    ``hi`` (several seeds, :func:`seed_rows`) get min–max error bars; ``float_accuracy`` may be
    a Spread (its mean is drawn, its min–max shaded)."""
    lab = merge_labels(LABELS, labels)
    fig = go.Figure()
    f_text = _float_text(float_accuracy)
    if isinstance(float_accuracy, Spread) and float_accuracy.n > 1:
        fig.add_hrect(y0=100 * float_accuracy.lo, y1=100 * float_accuracy.hi, fillcolor="#444444", opacity=0.08, line_width=0)
    float_accuracy = _mean(float_accuracy)
    bits_all = sorted({int(_get(r, "bits")) for r in rows}, reverse=True)
    for m in ("ptq_dynamic", "ptq_calibrated", "qat"):
        pts = sorted((r for r in rows if _method(r) == m), key=lambda r: -_get(r, "bits"))
        if not pts:
            continue
        name = lab[f"method_{m}"]
        fig.add_trace(
            go.Scatter(
                x=[str(_get(r, "bits")) for r in pts], y=[100 * _get(r, "accuracy") for r in pts], name=name,
                mode="lines+markers", line=dict(color=METHOD_COLORS[m], width=2.5),
                marker=dict(symbol=METHOD_SYMBOLS[m], size=10),
                error_y=_error_bars(pts),
                hovertext=[lab["hover_acc"].format(method=name, bits=_get(r, "bits"), acc=_pct(_get(r, "accuracy"), r)) for r in pts],
                hoverinfo="text",
            )
        )
    fig.add_hline(y=100 * float_accuracy, line=dict(color="#444", dash="dash", width=1),
                  annotation_text=f"{lab['float32']} {f_text}", annotation_position="bottom left")
    lo = min([100 * (_get(r, "lo") if isinstance(r, Mapping) and "lo" in r else _get(r, "accuracy")) for r in rows] + [100 * float_accuracy])
    apply_layout(
        fig,
        chart_layout(
            400,
            xaxis=dict(title=dict(text=lab["axis_bits"]), type="category", categoryorder="array", categoryarray=[str(b) for b in bits_all]),
            yaxis=dict(title=dict(text=lab["axis_accuracy"]), ticksuffix="%", range=[max(0.0, lo - 5), 100.5]),
        ),
    )
    return fig


def _error_bars(pts) -> dict | None:
    if not pts or not all(isinstance(r, Mapping) and "lo" in r for r in pts):
        return None
    return dict(type="data", symmetric=False, thickness=1.5, width=5,
                array=[100 * (r["hi"] - r["accuracy"]) for r in pts], arrayminus=[100 * (r["accuracy"] - r["lo"]) for r in pts])


def methods_table(rows: Sequence, float_accuracy, float_bytes: int, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per bit width: size (bytes, ÷ float32) and the accuracy of each method ("mean
    (min–max)" for rows of several seeds)."""
    lab = merge_labels(LABELS, labels)
    by_bits: dict[int, dict] = {}
    for r in rows:
        d = by_bits.setdefault(int(_get(r, "bits")), {"size": int(_get(r, "nbytes"))})
        d[_method(r)] = _pct(_get(r, "accuracy"), r)
    f_text = _float_text(float_accuracy)
    out = [{lab["col_bits"]: lab["float32"], lab["col_size"]: f"{float_bytes:,}", lab["col_ratio"]: "1",
            **{lab[f"method_{m}"]: f_text for m in ("ptq_dynamic", "ptq_calibrated", "qat")}}]
    for b in sorted(by_bits, reverse=True):
        d = by_bits[b]
        row = {lab["col_bits"]: f"W{b}A{b}", lab["col_size"]: f"{d['size']:,}", lab["col_ratio"]: f"{d['size'] / float_bytes:.3f}"}
        for m in ("ptq_dynamic", "ptq_calibrated", "qat"):
            row[lab[f"method_{m}"]] = d.get(m, "–")
        out.append(row)
    return pd.DataFrame(out)


# ============================================================================ training curve
SMOOTH = 10
"""Steps in the moving average drawn over the per-batch loss."""


def curve_figure(curves: Mapping[int, Mapping], steps_per_epoch: int, labels: Mapping[str, str] | None = None, *, height: int = 520) -> go.Figure:
    """The QAT runs: loss per step (top) and test accuracy per epoch with the real quantizers
    (bottom; epoch 0 is the calibrated PTQ network it starts from).  ``curves[bits]`` has
    ``step_loss`` (the steps done so far), ``epoch_acc`` and ``start_accuracy``; partial curves
    (a run in progress) are drawn as far as they go."""
    lab = merge_labels(LABELS, labels)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=False, vertical_spacing=0.16)
    for b in sorted(curves, reverse=True):
        c = curves[b]
        name = lab["trace_bits"].format(bits=b)
        color = bits_color(b)
        loss = np.asarray(c.get("step_loss", ()), float)
        if loss.size:
            x = np.arange(1, loss.size + 1)
            fig.add_trace(go.Scatter(x=x, y=loss, name=name, legendgroup=str(b), mode="lines", showlegend=False, hoverinfo="skip",
                                     line=dict(color=color, width=1), opacity=0.25), row=1, col=1)
            fig.add_trace(go.Scatter(x=x, y=moving_average(loss, SMOOTH), name=name, legendgroup=str(b), mode="lines",
                                     line=dict(color=color, width=2)), row=1, col=1)
        acc = [c["start_accuracy"]] + list(np.asarray(c.get("epoch_acc", ()), float))
        fig.add_trace(go.Scatter(x=list(range(len(acc))), y=[100 * a for a in acc], name=name, legendgroup=str(b), showlegend=not loss.size,
                                 mode="lines+markers", line=dict(color=color, width=2), marker=dict(size=7)), row=2, col=1)
    apply_layout(fig, chart_layout(height))
    fig.update_xaxes(title_text=lab["axis_step"], row=1, col=1)
    fig.update_yaxes(title_text=lab["axis_loss"], type="log", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text=lab["axis_epoch"], dtick=1 if steps_per_epoch else None, row=2, col=1)
    fig.update_yaxes(title_text=lab["axis_test_acc"], ticksuffix="%", row=2, col=1)
    return fig


# ============================================================================ weights
def normalized_weights(W: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """``W / A`` with A one clip per output column (or one for the tensor): the int levels
    of every channel are then the same, ``k / qmax``."""
    W = np.asarray(W, np.float64)
    A = np.asarray(clips, np.float64).reshape(-1)
    A = np.where(A > 0, A, 1.0)
    return (W / (A[None, :] if A.size == W.shape[1] and A.size > 1 else A[0])).ravel()


def histogram_figure(
    before: np.ndarray,
    after: np.ndarray,
    bits: int,
    per_channel: bool,
    labels: Mapping[str, str] | None = None,
    *,
    bins: int = 121,
) -> go.Figure:
    """Histograms of the normalized weights ``W / A`` (:func:`normalized_weights`) before
    (the float32 network) and after QAT (its float copy), with the int levels ``k / qmax``
    as vertical lines: what the quantizer will round them to.  Values beyond ±1 are clipped."""
    lab = merge_labels(LABELS, labels)
    qmax = 2 ** (int(bits) - 1) - 1
    lim = max(1.05, float(min(np.abs(after).max(initial=0), 3.0)), float(min(np.abs(before).max(initial=0), 3.0)))
    edges = np.linspace(-lim, lim, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for vals, name, color in ((before, lab["trace_before"], BEFORE_COLOR), (after, lab["trace_after"], AFTER_COLOR)):
        counts, _ = np.histogram(np.clip(vals, -lim, lim), bins=edges)
        fig.add_trace(go.Bar(x=centers, y=counts, name=name, marker=dict(color=color), opacity=0.6, width=(edges[1] - edges[0])))
    levels = np.arange(-qmax, qmax + 1) / qmax
    top = 1.0
    xs, ys = [], []
    for v in levels:
        xs += [v, v, None]
        ys += [0, top, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", yaxis="y2", line=dict(color=LEVEL_COLOR, width=1, dash="dot"),
                             name=lab["trace_levels"].format(n=levels.size, bits=bits), hoverinfo="skip"))
    gran = lab["gran_channel"] if per_channel else lab["gran_tensor"]
    apply_layout(
        fig,
        chart_layout(
            360,
            barmode="overlay",
            bargap=0,
            xaxis=dict(title=dict(text=lab["axis_w_over_a"].format(granularity=gran)), range=[-lim, lim]),
            yaxis=dict(title=dict(text=lab["axis_count"])),
            yaxis2=dict(overlaying="y", range=[0, 1], visible=False),
        ),
    )
    return fig


# ============================================================================ families
def _fam(row, name):
    return _get(row, name)


def families_table(rows: Sequence, float_accuracy, float_bytes: int, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per weight family: scheme, bits per weight (codes + scales), size, PTQ and QAT
    accuracy ("mean (min–max)" for rows of several seeds, :func:`seed_families`)."""
    lab = merge_labels(LABELS, labels)
    f_text = _float_text(float_accuracy)
    out = [{lab["col_family"]: lab["float32"], lab["col_scheme"]: "float32", lab["col_bits_per_weight"]: "32",
            lab["col_size"]: f"{float_bytes:,}", lab["col_ratio"]: "1", lab["col_ptq"]: f_text, lab["col_qat"]: f_text}]
    for r in rows:
        out.append({
            lab["col_family"]: _fam(r, "family"), lab["col_scheme"]: _fam(r, "scheme"),
            lab["col_bits_per_weight"]: f"{_fam(r, 'bits_per_weight'):.3f}", lab["col_size"]: f"{_fam(r, 'nbytes'):,}",
            lab["col_ratio"]: f"{_fam(r, 'nbytes') / float_bytes:.3f}",
            lab["col_ptq"]: _pct(_fam(r, "ptq_accuracy"), r, "ptq_spread"), lab["col_qat"]: _pct(_fam(r, "qat_accuracy"), r, "qat_spread"),
        })
    return pd.DataFrame(out)


def _family_bars(rows, key: str) -> dict | None:
    sk = key.replace("accuracy", "spread")
    if not rows or not all(isinstance(r, Mapping) and isinstance(r.get(sk), Spread) and r[sk].n > 1 for r in rows):
        return None
    return dict(type="data", symmetric=False, thickness=1.2, width=4,
                array=[100 * (r[sk].hi - r[sk].mean) for r in rows], arrayminus=[100 * (r[sk].mean - r[sk].lo) for r in rows])


def families_figure(rows: Sequence, float_accuracy, float_bytes: int, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Accuracy against bits per weight (codes + scales), one arrow per family from PTQ to QAT,
    float32 as a dashed line; names above the QAT markers (below, for the lower of two at one x).
    Rows of several seeds get min–max error bars."""
    lab = merge_labels(LABELS, labels)
    fig = go.Figure()
    f_text = _float_text(float_accuracy)
    float_accuracy = _mean(float_accuracy)
    rows = sorted(rows, key=lambda r: (_fam(r, "bits_per_weight"), -_fam(r, "qat_accuracy")))
    xs = [_fam(r, "bits_per_weight") for r in rows]
    # a name goes above its marker, unless another family shares the x and is higher: then below
    pos = ["bottom center" if any(x2 == x and _fam(r2, "qat_accuracy") > _fam(r, "qat_accuracy") for x2, r2 in zip(xs, rows)) else "top center"
           for x, r in zip(xs, rows)]
    for m, key in (("ptq_calibrated", "ptq_accuracy"), ("qat", "qat_accuracy")):
        fig.add_trace(go.Scatter(
            x=xs, y=[100 * _fam(r, key) for r in rows], mode="markers+text" if m == "qat" else "markers",
            text=[_fam(r, "family") for r in rows] if m == "qat" else None, textposition=pos, textfont=dict(size=11),
            name=lab["col_ptq"] if m != "qat" else lab["col_qat"],
            marker=dict(color=METHOD_COLORS[m], symbol=METHOD_SYMBOLS[m], size=11, line=dict(width=1, color="white")),
            error_y=_family_bars(rows, key),
            hovertext=[lab["hover_family"].format(family=_fam(r, "family"), bytes=f"{_fam(r, 'nbytes'):,}", ptq=_pct(_fam(r, "ptq_accuracy"), r, "ptq_spread"),
                                                  qat=_pct(_fam(r, "qat_accuracy"), r, "qat_spread")) for r in rows],
            hoverinfo="text",
        ))
    for r in rows:
        x = _fam(r, "bits_per_weight")
        fig.add_annotation(x=x, y=100 * _fam(r, "qat_accuracy"), ax=x, ay=100 * _fam(r, "ptq_accuracy"), xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2, arrowcolor="#9e9e9e", text="")
    fig.add_hline(y=100 * float_accuracy, line=dict(color="#444", dash="dash", width=1),
                  annotation_text=f"{lab['float32']} {f_text}", annotation_position="bottom right")
    lows = [r[k].lo for r in rows for k in ("ptq_spread", "qat_spread") if isinstance(r, Mapping) and isinstance(r.get(k), Spread)]
    lo = min([100 * min(_fam(r, "ptq_accuracy"), _fam(r, "qat_accuracy")) for r in rows] + [100 * v for v in lows] + [100 * float_accuracy])
    apply_layout(
        fig,
        chart_layout(
            420,
            xaxis=dict(title=dict(text=lab["axis_bpw"]), range=[min(xs, default=1) - 0.4, max(xs, default=5) + 0.4]),
            yaxis=dict(title=dict(text=lab["axis_accuracy"]), ticksuffix="%", range=[max(0.0, lo - 6), 101]),
        ),
    )
    return fig
