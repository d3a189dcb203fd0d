"""Plotly draws each chart of Tensor Lab and Format Comparison once, not twice: the margins the
figure builders set (:func:`figures.style.settled_margin`) are the ones plotly's automargin
settles on at desktop width, so it has no reason to draw the chart again with wider ones
(that second draw was a third of a chart's rendering time)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

# plotly's own record of a chart: the margins asked for, and the ones it drew with
SIZES = """e => { const d = e.querySelector('.js-plotly-plot'); const f = d && d._fullLayout;
  return f ? [[f.margin.l, f.margin.t, f.margin.b], [f._size.l, f._size.t, f._size.b]] : null; }"""


@pytest.mark.parametrize("path", ["/tensor", "/formats"])
def test_charts_are_drawn_with_their_own_margins(sized_page, path):
    page = sized_page(1280, 900)
    page.goto(path)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first).to_be_visible(timeout=60_000)
    wait_idle(page)
    expect(charts.nth(2)).to_be_attached(timeout=30_000)  # the charts mount one by one, after the script
    n = charts.count()
    assert n >= 3, f"{path}: {n} charts"
    for i in range(n):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        page.wait_for_function("e => !!(e.querySelector('.js-plotly-plot') || {})._fullLayout", arg=chart.element_handle(), timeout=30_000)
        asked, drawn = chart.evaluate(SIZES)
        # a 1-2 px wider top is plotly rounding the legend's height, not a second draw
        assert drawn[0] <= asked[0] and drawn[2] <= asked[2] and drawn[1] <= asked[1] + 2, (path, i, asked, drawn)
