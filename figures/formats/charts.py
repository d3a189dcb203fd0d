"""The Format Comparison's plotly figures: dynamic range, precision, the number line of
narrow formats and codebooks, built in one go from plain dicts (see :func:`figures.style.figure`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import plotly.graph_objects as go

from quantlib import FloatFormat, all_values
from quantlib.rounding import KINDS

from ..style import figure, merge_labels, plain_layout
from .common import Reference, _has_subnormals, _pct, format_colors, log2q, pow2, short
from .labels import CODEBOOK_COLOR, KIND_COLORS, LABELS, MARK_COLOR, NUMBER_LINE_MAX_BITS, REF_COLOR, TEETH_MAX

__all__ = ["zoom_window", "dynamic_range_figure", "precision_points", "precision_figure", "CodebookView", "codebooks", "NUMBER_LINE_VIEWS", "number_line_figure"]


# ============================================================== shared chart pieces
def _pow2_axis(title: str) -> dict:
    """A linear axis of log2 positions whose ticks read 2^k (with a superscript)."""
    return dict(
        title=dict(text=title),
        tickprefix="2<sup>",
        ticksuffix="</sup>",
        zeroline=False,
        showgrid=True,
        gridcolor="rgba(128,128,128,0.18)",
        tickformat="d",
    )


def _ref_shapes(
    refs: Sequence[Reference], lab: Mapping[str, str], x_range: Sequence[float], *, above: bool = False
) -> tuple[list[dict], list[dict]]:
    """(shapes, annotations): a vertical line (a band for a range) at each reference, labelled
    at the top, inside the plot or ``above`` it; labels of neighbouring lines are staggered so
    they do not overlap, and near either edge of ``x_range`` they extend inward."""
    shapes: list[dict] = []
    placed = []
    for r in refs:
        if r.lo <= 0:
            continue
        color = MARK_COLOR if r.mine else REF_COLOR
        if r.mine:
            text = lab["mark_range"].format(lo=short(r.lo), hi=short(r.hi)) if r.is_range else lab["mark_value"].format(value=r.text or short(r.lo))
        else:
            text = f"{r.text or short(r.lo)} {r.label}".strip()
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # user text, not plotly markup
        if r.is_range and r.hi is not None:
            x0, x1 = log2q(r.lo), log2q(r.hi)
            shapes.append(dict(type="rect", x0=x0, x1=x1, y0=0, y1=1, xref="x", yref="paper", fillcolor=color,
                               opacity=0.10, line=dict(width=0), layer="below"))
            shapes += [_vline(x, color, "dot") for x in (x0, x1)]
            x = (x0 + x1) / 2
        else:
            x = log2q(r.lo)
            shapes.append(_vline(x, color, "solid" if r.mine else "dash"))
        placed.append((x, text, color))
    lo, hi = x_range
    annotations = []
    for level, (x, text, color) in enumerate(sorted(placed)):
        where = (x - lo) / ((hi - lo) or 1.0)
        annotations.append(dict(
            x=x, y=1.0, yref="paper", yanchor="bottom" if above else "top", text=text, showarrow=False,
            xanchor="right" if where > 0.75 else "left" if where < 0.25 else "center",
            yshift=(18 * (level % 3)) if above else -(18 * (level % 3)),
            font=dict(size=12, color=color), bgcolor="rgba(128,128,128,0.14)",
        ))
    return shapes, annotations


def _vline(x: float, color: str, dash: str = "solid", width: float = 1.5) -> dict:
    return dict(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=dict(color=color, width=width, dash=dash))


def zoom_window(fmts: Sequence[FloatFormat]) -> tuple[float, float] | None:
    """A log2 window around the narrow formats when wide ones dwarf them (float8 next to
    float32: 18 binades in 277), else None.  Narrow: at most 30% of the widest range."""
    if not fmts:
        return None
    widest = max(f.dynamic_range_binades for f in fmts)
    narrow = [f for f in fmts if f.dynamic_range_binades <= 0.3 * widest]
    if not narrow or len(narrow) == len(fmts):
        return None
    lo = min(log2q(f.smallest_subnormal_exact) for f in narrow)
    hi = max(log2q(f.max_exact) for f in narrow)
    pad = 1.0 + 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _span(fmts: Sequence[FloatFormat], refs: Sequence[Reference]) -> tuple[float, float]:
    lo = min(log2q(f.smallest_subnormal_exact) for f in fmts)
    hi = max(log2q(f.max_exact) for f in fmts)
    for r in refs:
        for q in (r.lo, r.hi):
            if q is not None and q > 0:
                lo, hi = min(lo, log2q(q)), max(hi, log2q(q))
    return lo, hi


def _layout(height: int, **more) -> dict:
    """:func:`figures.style.plain_layout` with the closest point on hover."""
    return plain_layout(height, **{"hovermode": "closest", **more})


# ============================================================== dynamic-range chart
def dynamic_range_figure(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Each format as a bar on a log2 axis, from the smallest subnormal (thin) through the
    smallest normal to max (thick), its two ends written above it; reference lines on top.

    Two horizontal bar traces (the subnormal ranges, the normal ranges), one bar per format in
    each, overlaid: plotly's cost is per trace, and a trace per bar (12 for six formats) made
    a format toggle about 10 % slower to paint."""
    lab = merge_labels(LABELS, labels)
    colors = format_colors(fmts)
    names = [f.name for f in fmts]
    bars: dict[str, list[tuple]] = {"subnormal": [], "normal": []}  # (name, start, end, colour, hover)
    for f in fmts:
        lo_sub, lo_norm, hi = log2q(f.smallest_subnormal_exact), log2q(f.smallest_normal_exact), log2q(f.max_exact)
        if lo_norm > lo_sub:
            hover = lab["hover_subnormal_range"].format(name=f.name, lo=short(f.smallest_subnormal_exact), hi=short(f.smallest_normal_exact))
            bars["subnormal"].append((f.name, lo_sub, lo_norm, colors[f.name], hover))
        hover = lab["hover_normal_range"].format(
            name=f.name, lo=short(f.smallest_normal_exact), hi=short(f.max_exact), binades=f"{f.dynamic_range_binades_normal:.1f}"
        )
        bars["normal"].append((f.name, lo_norm, hi, colors[f.name], hover))
    traces = [
        dict(
            type="bar", orientation="h", y=[r[0] for r in rows], base=[r[1] for r in rows], x=[r[2] - r[1] for r in rows],
            width=width, opacity=opacity, marker=dict(color=[r[3] for r in rows], line=dict(width=0)),
            hovertext=[r[4] for r in rows], hoverinfo="text", showlegend=False,
        )
        for rows, width, opacity in ((bars["subnormal"], 0.14, 0.55), (bars["normal"], 0.36, 1.0))
        if rows
    ]
    # the two ends written above each bar, from its left end (beside the ends they would run
    # off the plot on a phone; over the middle they would sit on the lines near 1)
    annotations = [
        dict(
            x=log2q(f.smallest_subnormal_exact), xanchor="left", y=f.name, yshift=17, showarrow=False,
            text=lab["range_ends"].format(lo=short(f.smallest_subnormal_exact, 3), hi=short(f.max_exact, 3)),
            font=dict(size=12), bgcolor="rgba(128,128,128,0.14)",
        )
        for f in fmts
    ]
    lo, hi = _span(fmts, refs)
    pad = max(2.0, 0.05 * (hi - lo))
    x_range = [lo - pad, hi + pad]
    shapes, ref_notes = _ref_shapes(refs, lab, x_range, above=True)
    shapes.insert(0, _vline(0.0, "rgba(128,128,128,0.6)", width=1))  # 1.0 as a landmark
    n_labels = len(ref_notes)
    return figure(traces, _layout(
        90 + 46 * len(fmts),
        showlegend=False,
        barmode="overlay",
        margin=dict(l=8, r=8, t=10 + 18 * min(n_labels, 3), b=8),
        shapes=shapes,
        annotations=annotations + ref_notes,
        xaxis=dict(**_pow2_axis(lab["axis_magnitude"]), range=x_range),
        yaxis=dict(autorange="reversed", type="category", categoryorder="array", categoryarray=names, automargin=True),
    ))


# ============================================================== precision chart
def precision_points(fmt: FloatFormat) -> tuple[list[float], list[float], bool]:
    """The relative-spacing curve of a format in log2 coordinates: (x, y, envelope).

    ``x = log2|x|``, ``y = log2(ulp(x)/|x|)``.  Subnormal ramp: a line of slope −1 from the
    smallest subnormal (y = 0: spacing = the value itself) to the smallest normal
    (y = −nmant).  Each normal binade ``[2**e, 2**(e+1))``: from ``(e, −nmant)`` down to
    ``(e+1, −nmant−1)``, then a jump back up: the staircase (a sawtooth; exact, since
    ``ulp/|x|`` is a straight line on log-log axes).  The last binade ends at max.  With more
    than :data:`TEETH_MAX` binades the teeth are replaced by their envelope (``envelope``
    True; 4 corner points of the band ``−nmant−1 … −nmant``).
    """
    m, e0, e1 = fmt.nmant, fmt.minexp, fmt.emax
    top = log2q(fmt.max_exact)
    xs: list[float] = []
    ys: list[float] = []
    if _has_subnormals(fmt):
        xs += [float(e0 - m), float(e0)]
        ys += [0.0, float(-m)]
    nbin = e1 - e0 + 1
    if nbin <= TEETH_MAX:
        for e in range(e0, e1 + 1):
            end = float(e + 1) if e < e1 else top
            xs += [float(e), end]
            ys += [float(-m), e - m - end]
        return xs, ys, False
    # envelope: the band's outline, drawn clockwise (the caller fills it)
    xs += [float(e0), top, top, float(e0)]
    ys += [float(-m), float(-m), e1 - m - top, float(-m - 1)]
    return xs, ys, True


def precision_figure(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
    *,
    zoom: bool = False,
) -> go.Figure:
    """Relative spacing ``ulp(x)/|x|`` across magnitudes: the staircase of each format, its
    subnormal ramp, and an × where it overflows (at max).

    ``zoom``: show only :func:`zoom_window` (the narrow formats) at first; plotly's autoscale
    button still shows everything."""
    lab = merge_labels(LABELS, labels)
    colors = format_colors(fmts)
    traces: list[dict] = []
    overflow: list[tuple] = []  # (x, y, colour, hover) of each format's ×
    ymin = 0.0
    for f in fmts:
        c = colors[f.name]
        xs, ys, envelope = precision_points(f)
        m = f.nmant
        ramp = 2 if _has_subnormals(f) else 0
        hovers = [lab["hover_ramp"].format(
            name=f.name, ulp=short(f.smallest_subnormal_exact), rel_lo=_pct(2.0**-m), tiny=short(f.smallest_subnormal_exact))] * ramp
        if envelope:
            hovers += [lab["hover_envelope"].format(
                name=f.name, n=f"{f.emax - f.minexp + 1:,}", rel_hi=_pct(2.0**-m), rel_lo=_pct(2.0 ** (-m - 1)))] * (len(xs) - ramp)
        else:  # two points per binade e = minexp … emax: its start and its end
            for e, y_end in zip(range(f.minexp, f.emax + 1), ys[ramp + 1 :: 2], strict=True):
                hi_q = f.max_exact if e == f.emax else Fraction(2) ** (e + 1)
                hovers += [lab["hover_binade"].format(
                    name=f.name, lo=short(Fraction(2) ** e), hi=short(hi_q), ulp=pow2(e - m),
                    rel_hi=_pct(2.0**-m), rel_lo=_pct(2.0**y_end))] * 2
        if envelope:
            # ramp as a line, the band as a filled polygon in the same legend group
            if ramp:
                traces.append(dict(
                    type="scatter", x=xs[:ramp], y=ys[:ramp], mode="lines", line=dict(color=c, width=2.5), name=f.name,
                    legendgroup=f.name, hovertext=hovers[:ramp], hoverinfo="text", showlegend=False,
                ))
            traces.append(dict(
                type="scatter", x=xs[ramp:] + [xs[ramp]], y=ys[ramp:] + [ys[ramp]], mode="lines", fill="toself",
                line=dict(color=c, width=1.5), fillcolor=c, opacity=0.45, name=f.name, legendgroup=f.name,
                hovertext=hovers[ramp:] + [hovers[ramp]], hoverinfo="text", showlegend=True,
            ))
        else:
            traces.append(dict(
                type="scatter", x=xs, y=ys, mode="lines", line=dict(color=c, width=2.5), name=f.name, legendgroup=f.name,
                hovertext=hovers, hoverinfo="text", showlegend=True,
            ))
        top = log2q(f.max_exact)
        overflow.append((top, f.emax - m - top, c, lab["hover_overflow"].format(name=f.name, max=short(f.max_exact))))
        ymin = min(ymin, -m - 1)
    traces.append(dict(  # overflow: an × at max, every format's in one trace (a trace each costs plotly more than a point)
        type="scatter", x=[o[0] for o in overflow], y=[o[1] for o in overflow], mode="markers",
        marker=dict(symbol="x-thin", size=14, line=dict(width=3, color=[o[2] for o in overflow])),
        showlegend=False, hoverinfo="text", hovertext=[o[3] for o in overflow],
    ))
    traces.append(dict(  # the legend entry of the × markers
        type="scatter", x=[None], y=[None], mode="markers", marker=dict(symbol="x-thin", size=12, line=dict(width=3, color="#666")),
        name=lab["legend_overflow"], showlegend=True, hoverinfo="skip",
    ))
    lo, hi = _span(fmts, refs)
    pad = max(1.0, 0.03 * (hi - lo))
    window = zoom_window(fmts) if zoom else None
    x_range = list(window) if window else [lo - pad, hi + pad]
    shapes, notes = _ref_shapes(refs, lab, x_range)
    return figure(traces, _layout(
        460,
        shapes=shapes,
        annotations=notes,
        xaxis=dict(**_pow2_axis(lab["axis_magnitude"]), range=x_range),
        yaxis=dict(**_pow2_axis(lab["axis_rel_spacing"]), range=[ymin - 1.5, 2.5]),
    ))


# ============================================================== codebooks (NF4, bitsandbytes FP4)
@dataclass(frozen=True)
class CodebookView:
    """A codebook to show next to the formats: its name and its values in code order."""

    name: str
    values: tuple[float, ...]
    citation: str = ""


def codebooks() -> list[CodebookView]:
    """NF4 and bitsandbytes' FP4 from :mod:`quantlib.codebooks`; [] if that module (being
    written alongside) is not there, so the page can say so instead of failing."""
    try:
        from quantlib.codebooks import BNB_FP4_CODEBOOK, NF4_CODEBOOK
    except ImportError:  # pragma: no cover - depends on the tree
        return []
    out = []
    for cb, name in ((NF4_CODEBOOK, "NF4"), (BNB_FP4_CODEBOOK, "bnb FP4")):
        out.append(CodebookView(name=name, values=tuple(float(v) for v in cb.values), citation=getattr(cb, "citation", "")))
    return out


# ============================================================== number line
NUMBER_LINE_VIEWS = ("scaled", "linear", "log")


def number_line_figure(
    fmts: Sequence[FloatFormat],
    books: Sequence[CodebookView] = (),
    view: str = "scaled",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Every finite value of each format of at most 8 bits as a tick on its own row, coloured
    by class; codebooks on their own rows in green, labelled '(codebook)'.

    ``view``: ``"scaled"`` value ÷ the format's max (how block-scaled formats and codebooks
    are used: the largest magnitude maps to 1), ``"linear"`` the values as they are,
    ``"log"`` positive values on a log2 axis.  One trace per class; at most 256 points per
    format and 16 per codebook."""
    if view not in NUMBER_LINE_VIEWS:
        raise ValueError(f"view must be one of {NUMBER_LINE_VIEWS}, got {view!r}")
    lab = merge_labels(LABELS, labels)
    small = [f for f in fmts if f.bits <= NUMBER_LINE_MAX_BITS]
    rows: list[str] = []
    per_kind: dict[str, tuple[list[float], list[str], list[str]]] = {k: ([], [], []) for k in KINDS[:3]}
    for f in small:
        rows.append(f.name)
        av = all_values(f)
        finite = np.isfinite(av.values)
        vals, codes, kinds = av.values[finite], av.codes[finite], av.kinds[finite]
        if view == "log":
            keep = vals > 0
            vals, codes, kinds = vals[keep], codes[keep], kinds[keep]
        scale = float(f.max_exact) if view == "scaled" else 1.0
        width = (f.bits + 3) // 4
        for v, c, k in zip(vals.tolist(), codes.tolist(), kinds.tolist(), strict=True):
            kind = KINDS[k]
            xs, ys, hs = per_kind[kind]
            xs.append(math.log2(v) if view == "log" else v / scale)
            ys.append(f.name)
            hs.append(lab["hover_value"].format(name=f.name, hex=f"0x{c:0{width}X}", value=repr(v).removesuffix(".0") if v != int(v) or abs(v) < 1e16 else repr(v), kind=lab[kind]))
    cb_x: list[float] = []
    cb_y: list[str] = []
    cb_h: list[str] = []
    for b in books:
        row = lab["codebook_suffix"].format(name=b.name)
        rows.append(row)
        top = max(abs(v) for v in b.values) or 1.0
        for code, v in enumerate(b.values):
            if view == "log" and v <= 0:
                continue
            cb_x.append(math.log2(v) if view == "log" else (v / top if view == "scaled" else v))
            cb_y.append(row)
            cb_h.append(lab["hover_codebook"].format(name=b.name, code=code, value=f"{v:.7g}"))
    traces: list[dict] = []
    for kind in ("normal", "subnormal", "zero"):
        xs, ys, hs = per_kind[kind]
        if xs:
            traces.append(dict(
                type="scatter", x=xs, y=ys, mode="markers", name=lab[kind], hovertext=hs, hoverinfo="text",
                marker=dict(symbol="line-ns", size=18, line=dict(width=1.6, color=KIND_COLORS[kind]), color=KIND_COLORS[kind]),
            ))
    if cb_x:
        traces.append(dict(
            type="scatter", x=cb_x, y=cb_y, mode="markers", name=lab["legend_codebook"], hovertext=cb_h, hoverinfo="text",
            marker=dict(symbol="diamond", size=9, color=CODEBOOK_COLOR, line=dict(width=0)),
        ))
    if view == "log":
        xaxis = _pow2_axis(lab["axis_log_positive"])
    else:
        xaxis = dict(title=dict(text=lab["axis_scaled" if view == "scaled" else "axis_value"]), zeroline=True,
                     zerolinecolor="rgba(128,128,128,0.5)", showgrid=True, gridcolor="rgba(128,128,128,0.18)")
    return figure(traces, _layout(
        110 + 44 * max(1, len(rows)),
        xaxis=xaxis,
        yaxis=dict(autorange="reversed", type="category", categoryorder="array", categoryarray=rows, automargin=True),
    ))
