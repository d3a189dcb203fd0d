"""The lab's chart style, shared by the figure builders: one layout and a fast way to set it.

plotly's ``update_layout`` merges into the existing layout key by key, with validation; on a
figure whose layout is still empty, assigning a fresh ``go.Layout`` gives the same figure about
five times faster (a histogram figure: 54 ms -> 8 ms), which matters for charts rebuilt on
every rerun or redrawn live.
"""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["FONT", "chart_layout", "apply_layout"]

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


def apply_layout(fig: go.Figure, layout: dict) -> go.Figure:
    """Set ``layout`` on ``fig``: assigned when the figure has no layout of its own yet (fast),
    merged with ``update_layout`` otherwise (subplots, shapes or annotations added before)."""
    if fig.layout.to_plotly_json().keys() <= {"template"}:
        fig.layout = go.Layout(layout)
    else:
        fig.update_layout(layout)
    return fig
