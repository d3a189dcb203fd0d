"""The "Smaller, not faster" page (/cost) in a real browser: it renders without an exception,
its formulas are typeset by KaTeX, the live measurement runs on its button, and a screenshot at
1280 px goes to the pytest --output folder (screenshots/cost_1280.png)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import wait_idle

LONG = 60_000


def open_cost(page: Page, query: str = "") -> None:
    page.goto("/cost" + query)
    expect(page.get_by_role("heading", name="Smaller, not faster").first).to_be_visible(timeout=LONG)
    expect(page.get_by_role("heading", name="Measured here, live")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)


def test_page_renders_with_formulas(page: Page):
    open_cost(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".katex").first).to_be_visible()
    expect(page.locator(".katex")).to_have_count(4)
    # the memory and roofline charts (a third once a measurement of these sizes is stored)
    expect(page.locator(".js-plotly-plot").nth(1)).to_be_visible(timeout=LONG)


def test_measure_button_and_url(page: Page):
    open_cost(page, "?model=smollm2-135m&hw=h100")
    expect(page.get_by_text(re.compile(r"134,515,008 parameters"))).to_be_visible()
    page.get_by_role("button", name="Measure on this machine").click()
    expect(page.get_by_text(re.compile(r"Matrix × vector"))).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=LONG)
    expect(page).to_have_url(re.compile(r"model=smollm2-135m"))


def test_screenshot(sized_page, save_screenshot):
    page = sized_page(1280, 5200)
    open_cost(page)
    expect(page.locator(".js-plotly-plot").nth(1)).to_be_visible(timeout=LONG)
    save_screenshot(page, "cost_1280")
