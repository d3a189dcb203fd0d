"""Figures of /learn: the range of the notes' formats (plotly), and formulas as SVG (matplotlib's
mathtext) for the printable summary, which must not need the network."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from figures.style import apply_layout, chart_layout, merge_labels

__all__ = ["LABELS", "formula_svg", "formula_img", "range_figure"]

LABELS = {
    "axis": "power of two (log₂ of the value)",
    "range": "from smallest_subnormal to max",
    "normal": "normal numbers (smallest_normal to max)",
}


def formula_svg(tex: str, *, fontsize: float = 13) -> str:
    """``tex`` (mathtext, a subset of LaTeX: ``r"c = \\frac{127}{x}"``) as an SVG document, its
    glyphs drawn as paths, so it shows without fonts or network."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image  # draws on its own Figure: no GUI backend

    buf = io.BytesIO()
    math_to_image(f"${tex}$", buf, prop=FontProperties(size=fontsize), dpi=72, format="svg")
    svg = buf.getvalue().decode("utf-8")
    return svg[svg.index("<svg") :]


def formula_img(tex: str, *, fontsize: float = 13) -> str:
    """An ``<img>`` tag holding :func:`formula_svg` as a data URI (ids in one SVG cannot clash
    with another's), with ``tex`` as its alt text."""
    data = base64.b64encode(formula_svg(tex, fontsize=fontsize).encode("utf-8")).decode("ascii")
    alt = tex.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return f'<img class="formula" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def range_figure(rows: Sequence[tuple[str, float, float, float]], picked: Sequence[str] = (), labels: Mapping[str, str] | None = None) -> go.Figure:
    """One bar per format over the powers of two it holds: ``rows`` = (name, smallest_subnormal,
    smallest_normal, max); e.g. float16 spans 2^−24 … 2^15.9 (normal from 2^−14). ``picked``
    formats are drawn darker."""
    lab = merge_labels(LABELS, labels)
    names = [r[0] for r in rows][::-1]
    lo = [math.log2(r[1]) for r in rows][::-1]
    mid = [math.log2(r[2]) for r in rows][::-1]
    hi = [math.log2(r[3]) for r in rows][::-1]
    dark = ["#1f77b4" if n in picked else "#9ecae1" for n in names]
    light = ["#aec7e8" if n in picked else "#deebf7" for n in names]
    fig = go.Figure(
        [
            go.Bar(y=names, x=[m - a for a, m in zip(lo, mid)], base=lo, orientation="h", marker_color=light, name=lab["range"], hovertemplate="%{y}: 2^%{base:.1f} …<extra></extra>"),
            go.Bar(y=names, x=[h - m for m, h in zip(mid, hi)], base=mid, orientation="h", marker_color=dark, name=lab["normal"], hovertemplate="%{y}: 2^%{base:.1f} … 2^%{x:.1f}+<extra></extra>"),
        ]
    )
    return apply_layout(fig, chart_layout(330, barmode="overlay", xaxis=dict(title=lab["axis"], zeroline=True)))
