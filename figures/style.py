"""The lab's chart style, shared by the figure builders: one layout and a fast way to set it.

plotly's ``update_layout`` merges into the existing layout key by key, with validation; on a
figure whose layout is still empty, assigning a fresh ``go.Layout`` gives the same figure about
five times faster (a histogram figure: 54 ms -> 8 ms), which matters for charts rebuilt on
every rerun or redrawn live.

Also the builders' one way to merge a page's translated ``labels`` over a module's English
``LABELS`` (:func:`merge_labels`).
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

__all__ = ["FONT", "chart_layout", "plain_layout", "apply_layout", "merge_labels"]

FONT = dict(size=13)


def chart_layout(height: int, *, hovermode: str = "closest", **more) -> dict:
    """The layout of the PTQ studio's and the training pages' charts: legend in a row above the
    plot, small margins, the white template; ``more`` overrides or adds keys."""
    base = dict(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hovermode=hovermode,
        template="plotly_white",
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


def apply_layout(fig: go.Figure, layout: dict) -> go.Figure:
    """Set ``layout`` on ``fig``: assigned when the figure has no layout of its own yet (fast),
    merged with ``update_layout`` otherwise (subplots, shapes or annotations added before)."""
    if fig.layout.to_plotly_json().keys() <= {"template"}:
        fig.layout = go.Layout(layout)
    else:
        fig.update_layout(layout)
    return fig
