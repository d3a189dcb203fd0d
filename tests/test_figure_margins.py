"""figures.style.settled_margin: the margins a chart asks for are those plotly's automargin
settles on (measured in the browser by tests/e2e/test_chart_margins_browser.py), so plotly
draws it once.  Parametrized over every builder that goes through apply_layout or the Format
Comparison's _figure, here on the page defaults' kind of figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from figures.style import AXIS_BOTTOM, AXIS_LEFT, CHAR_PX, LEGEND_PAD_PX, LEGEND_ROW_PX, apply_layout, legend_names, plain_layout, settled_margin


def test_titled_axes_and_a_one_row_legend():
    lay = plain_layout(300, xaxis=dict(title_text="value"), yaxis=dict(title=dict(text="count")))
    assert settled_margin(lay, ["original", "dequantized"]) == dict(l=AXIS_LEFT, r=8, t=LEGEND_PAD_PX + LEGEND_ROW_PX, b=AXIS_BOTTOM)


def test_untitled_axes_take_less_room_and_no_legend_no_top():
    m = settled_margin(plain_layout(300))
    assert m["l"] < AXIS_LEFT and m["b"] < AXIS_BOTTOM and m["t"] == 8


def test_legend_rows_grow_with_the_names():
    lay = plain_layout(300)
    one = settled_margin(lay, ["a", "b"])["t"]
    many = settled_margin(lay, [f"a long legend entry number {i}" for i in range(12)])["t"]
    assert many >= one + 2 * LEGEND_ROW_PX


def test_hidden_or_vertical_legends_do_not_push_the_top():
    names = ["a", "b"]
    assert settled_margin(plain_layout(300, showlegend=False), names)["t"] == 8
    assert settled_margin(plain_layout(300, legend=dict(orientation="v", x=1.02, y=1)), names)["t"] == 8


def test_category_labels_set_the_left_margin():
    short = settled_margin(plain_layout(300, yaxis=dict(type="category", categoryarray=["int8"])))["l"]
    long = settled_margin(plain_layout(300, yaxis=dict(type="category", categoryarray=["int8", "float8_e4m3fnuz (x 2)"])))["l"]
    assert long - short == CHAR_PX * (len("float8_e4m3fnuz (x 2)") - len("int8"))


def test_a_wider_margin_asked_for_is_kept():
    lay = plain_layout(300, margin=dict(l=200, r=30, t=120, b=90), xaxis=dict(title_text="x"))
    assert settled_margin(lay, ["a", "b"]) == dict(l=200, r=30, t=120, b=90)


def test_legend_names_as_plotly_shows_them():
    assert legend_names([go.Scatter(name="only")]) == []  # plotly hides a lone trace's legend
    assert legend_names([go.Scatter(name="only", showlegend=True)]) == ["only"]
    assert legend_names([dict(name="a"), dict(name="b", showlegend=False), dict(name="c"), dict()]) == ["a", "c"]


def test_apply_layout_sets_the_settled_margin():
    fig = go.Figure([go.Bar(x=np.arange(3), y=[1, 2, 3], name="a"), go.Bar(x=np.arange(3), y=[3, 2, 1], name="b")])
    apply_layout(fig, plain_layout(300, xaxis=dict(title_text="x"), yaxis=dict(title_text="y")))
    m = fig.layout.margin
    assert (m.l, m.t, m.b) == (AXIS_LEFT, LEGEND_PAD_PX + LEGEND_ROW_PX, AXIS_BOTTOM)


@pytest.mark.parametrize("builder", ["dynamic_range_figure", "precision_figure", "number_line_figure"])
def test_format_comparison_figures_ask_for_settled_margins(builder):
    """The figure's margins already hold what settled_margin estimates (so it adds nothing),
    and a category axis is as wide as its longest name."""
    import figures.formats as ff
    from quantlib import FORMATS

    fig = getattr(ff, builder)([FORMATS[n] for n in ("float16", "bfloat16", "float8_e4m3fn")])
    lay = fig.layout.to_plotly_json()
    margin = {k: lay["margin"][k] for k in "lrtb"}
    assert settled_margin(lay, legend_names([t.to_plotly_json() for t in fig.data])) == margin
    if lay["yaxis"].get("type") == "category":
        assert margin["l"] >= CHAR_PX * max(len(c) for c in lay["yaxis"]["categoryarray"])
    else:
        assert margin["l"] >= AXIS_LEFT
    assert margin["b"] >= AXIS_BOTTOM


def test_apply_layout_keeps_margins_set_before_when_merging():
    fig = go.Figure([go.Bar(x=[0, 1], y=[1, 2])])
    fig.update_layout(margin=dict(l=150, t=90), shapes=[dict(type="line", x0=0, x1=1, y0=0, y1=1)])  # not fresh: merged
    apply_layout(fig, dict(height=300, xaxis=dict(title_text="x")))
    m = fig.layout.margin
    assert (m.l, m.t, m.b) == (150, 90, AXIS_BOTTOM)
