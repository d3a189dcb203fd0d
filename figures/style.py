"""The lab's chart style, shared by the figure builders: one layout and a fast way to set it.

plotly's ``update_layout`` merges into the existing layout key by key, with validation; on a
figure whose layout is still empty, assigning a fresh ``go.Layout`` gives the same figure about
five times faster (a histogram figure: 54 ms -> 8 ms), which matters for charts rebuilt on
every rerun or redrawn live.

Also the builders' one way to merge a page's translated ``labels`` over a module's English
``LABELS`` (:func:`merge_labels`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["FONT", "WHITE_TEMPLATE", "chart_layout", "plain_layout", "apply_layout", "settled_margin", "legend_names", "figure", "merge_labels"]

FONT = dict(size=13)

# plotly_white, cut to what the lab's traces (bar, heatmap, scatter) and 2-d axes read: a figure
# that names "plotly_white" has plotly copy and validate all of it (geo, polar, 3-d scenes and 20
# trace types), 9.7 ms a figure; this subset draws the same charts in 2.5 ms and sends 2.4 KB of
# template instead of 7.2 KB.
_WHITE = pio.templates["plotly_white"].to_plotly_json()
WHITE_TEMPLATE = {
    "layout": {k: v for k, v in _WHITE["layout"].items() if k not in ("geo", "polar", "scene", "ternary")},
    "data": {k: _WHITE["data"][k] for k in ("bar", "heatmap", "scatter")},
}

# What plotly's automargin settles on for the lab's charts in Streamlit's theme (read back from
# ``_fullLayout._size`` in chromium on /tensor and /formats): tick labels with an axis title take
# about 72 px on the left and 66 px below (48 and 32 without a title), a category label 7 px a
# character, a legend row above the plot 30 px (an entry: 38 px and 5.8 px a character), in a
# plot area about 740 px wide on a desktop.
AXIS_LEFT, AXIS_BOTTOM, BARE_LEFT, BARE_BOTTOM, CHAR_PX = 72, 66, 48, 32, 7
LEGEND_ROW_PX, LEGEND_PAD_PX, LEGEND_ITEM_PX, LEGEND_CHAR_PX, PLOT_WIDTH_PX = 30, 14, 38, 5.8, 740


def chart_layout(height: int, *, hovermode: str = "closest", **more) -> dict:
    """The layout of the PTQ studio's and the training pages' charts: legend in a row above the
    plot, small margins, the white template (:data:`WHITE_TEMPLATE`); ``more`` overrides or adds keys."""
    base = dict(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hovermode=hovermode,
        template=WHITE_TEMPLATE,
    )
    base.update(more)
    return base


def plain_layout(height: int, **more) -> dict:
    """The layout of the Format Comparison's and the Tensor Lab's charts: the legend in a row
    above the plot (plotly widens the top margin to fit it, also when it wraps on a phone),
    small margins, no background, full names on hover; ``more`` overrides or adds keys."""
    layout = dict(
        height=height,
        margin=dict(l=8, r=8, t=8, b=8),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
        hoverlabel=dict(namelength=-1, font=dict(size=12)),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    layout.update(more)
    return layout


def merge_labels(defaults: Mapping[str, str], labels: Mapping[str, str] | None) -> Mapping[str, str]:
    """A builder's words: the page's ``labels`` (translated) over the module's English
    ``defaults``; ``defaults`` itself when there are none."""
    return defaults if not labels else {**defaults, **labels}


def _legend_rows(names: Sequence[str]) -> int:
    """Rows of a horizontal legend of ``names`` across :data:`PLOT_WIDTH_PX`, filled in order."""
    rows, used = 1, 0
    for name in names:
        w = LEGEND_ITEM_PX + LEGEND_CHAR_PX * len(name)
        if used and used + w > PLOT_WIDTH_PX:
            rows, used = rows + 1, 0
        used += w
    return rows


def _titled(axis: Mapping) -> bool:
    title = axis.get("title")
    return bool(axis.get("title_text") or (title.get("text") if isinstance(title, Mapping) else title))


def settled_margin(layout: Mapping, legend: Sequence[str] = ()) -> dict:
    """``layout``'s margins raised to what plotly's automargin will settle on, so that plotly's
    first draw of a chart is its only one.  With 8 px margins it draws the chart, finds that the
    tick labels, axis titles and legend need more room and draws it all again: Tensor Lab's three
    charts took 81 ms instead of 58 ms in chromium.  E.g. titled axes and a one-row legend:
    l=72, b=66, t=42.  A margin still too small (a phone's narrower legend rows) costs only that
    second draw; ``legend``: the names shown in the legend."""
    m = layout.get("margin") or {}
    left, right, top, bottom = (int(m.get(k, 8)) for k in "lrtb")
    x, y = layout.get("xaxis") or {}, layout.get("yaxis") or {}
    if x.get("visible", True) and x.get("showticklabels", True) and x.get("side") != "top":
        bottom = max(bottom, AXIS_BOTTOM if _titled(x) else BARE_BOTTOM)
    if y.get("visible", True) and y.get("showticklabels", True):
        if y.get("type") == "category" and y.get("categoryarray") is not None:
            left = max(left, 4 + CHAR_PX * max((len(str(c)) for c in y["categoryarray"]), default=0) + (24 if _titled(y) else 0))
        else:
            left = max(left, AXIS_LEFT if _titled(y) else BARE_LEFT)
    lg = layout.get("legend") or {}
    if legend and layout.get("showlegend", True) is not False and lg.get("orientation") == "h" and lg.get("y", 0) >= 1:
        top = max(top, LEGEND_PAD_PX + LEGEND_ROW_PX * _legend_rows(legend))
    return dict(l=left, r=right, t=top, b=bottom)


def legend_names(traces) -> list[str]:
    """The names plotly puts in the legend: named traces not hidden from it (a lone trace only
    when asked for)."""
    get = (lambda t, k: t.get(k)) if traces and isinstance(traces[0], Mapping) else getattr
    named = [t for t in traces if get(t, "name") and get(t, "showlegend") is not False]
    if len(named) == 1 and get(named[0], "showlegend") is not True:
        return []
    return [get(t, "name") for t in named]


def figure(traces: list[dict], layout: dict) -> go.Figure:
    """One Figure built at once from plain dicts, its margins :func:`settled_margin`: plotly
    validates every trace and the layout a single time (adding traces, shapes and annotations
    one by one re-validates the figure: the Format Comparison's small figures took 70-300 ms,
    Tensor Lab's rate-distortion chart 18 ms instead of 7)."""
    return go.Figure(data=traces, layout={**layout, "margin": settled_margin(layout, legend_names(traces))})


def apply_layout(fig: go.Figure, layout: dict) -> go.Figure:
    """Set ``layout`` on ``fig``, its margins :func:`settled_margin`: assigned when the figure has
    no layout of its own yet (fast), merged with ``update_layout`` otherwise (subplots, shapes or
    annotations added before)."""
    fresh = fig.layout.to_plotly_json().keys() <= {"template"}
    base = layout if fresh or "margin" in layout else {**layout, "margin": fig.layout.margin.to_plotly_json()}  # merged: the margins set before count
    layout = {**layout, "margin": settled_margin(base, legend_names(fig.data))}
    if fresh:
        fig.layout = go.Layout(layout)
    else:
        if "template" in layout:  # assigned whole: update_layout would merge a template dict key by key (cost's speed chart: 32 -> 119 ms)
            fig.layout.template = layout.pop("template")  # layout is this function's own copy
        fig.update_layout(layout)
    return fig
