"""figures.style.WHITE_TEMPLATE: plotly_white cut to what the lab's charts read, so that a figure
does not copy and validate all of plotly_white (9.7 ms a figure against 2.5).  It must draw the
same charts: every entry it keeps is plotly_white's, and every trace type a figure builder makes
is among the kept ones (a new go.Pie in figures/ fails here until its defaults are kept too)."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.basedatatypes import BaseTraceType

from figures.style import WHITE_TEMPLATE, chart_layout

ROOT = Path(__file__).resolve().parent.parent
WHITE = pio.templates["plotly_white"].to_plotly_json()
TRACE_TYPES = {name.lower() for name in dir(go) if isinstance(getattr(go, name), type) and issubclass(getattr(go, name), BaseTraceType)}


def test_every_kept_entry_is_plotly_whites():
    for part in ("layout", "data"):
        for key, value in WHITE_TEMPLATE[part].items():
            assert value == WHITE[part][key], f"{part}.{key}"


def test_only_subplots_the_lab_never_draws_are_left_out():
    assert set(WHITE["layout"]) - set(WHITE_TEMPLATE["layout"]) == {"geo", "polar", "scene", "ternary"}


def test_every_trace_type_the_builders_make_keeps_its_defaults():
    used = set()
    for path in (ROOT / "figures").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= {m.lower() for m in re.findall(r"\bgo\.([A-Z][A-Za-z]+)\(", text)} & TRACE_TYPES
        used |= set(re.findall(r"""\btype\s*[=:]\s*["']([a-z0-9]+)["']""", text)) & TRACE_TYPES
    assert {"bar", "scatter", "heatmap"} <= used  # the scan finds the builders' traces
    assert used <= set(WHITE_TEMPLATE["data"]), sorted(used - set(WHITE_TEMPLATE["data"]))


def test_a_chart_layout_figure_carries_the_same_2d_defaults_as_plotly_white():
    fig = go.Figure([go.Bar(x=[0, 1], y=[1, 2]), go.Heatmap(z=[[1, 2], [3, 4]])], layout=chart_layout(300))
    white = go.Figure(layout=dict(template="plotly_white")).layout.template
    ours = fig.layout.template
    for key in ("xaxis", "yaxis", "colorway", "colorscale", "hoverlabel", "shapedefaults", "annotationdefaults"):
        assert ours.layout[key] == white.layout[key], key
    assert ours.data.bar == white.data.bar and ours.data.heatmap == white.data.heatmap


def test_merged_into_a_subplot_figure_the_template_is_the_same():
    """apply_layout's merge path (subplots) assigns the template whole, not key by key."""
    from plotly.subplots import make_subplots

    from figures.style import apply_layout

    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Bar(x=[0, 1], y=[1, 2]), row=1, col=1)
    apply_layout(fig, chart_layout(300))
    fresh = go.Figure(layout=chart_layout(300))
    assert fig.layout.template == fresh.layout.template
    assert fig.layout.xaxis2.anchor == "y2"  # the subplots' own layout is kept
