"""The quantization-aware training page (/qat) in a real browser: the default study trains with
a live progress bar and loss chart, the results appear without an exception, the settings
form retrains and puts its state in the URL; screenshots at 1280 px and 390 px in the
pytest --output folder (screenshots/qat-*.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import wait_idle

LONG = 60_000
SIZES = [("desktop", 1280, 4600), ("phone", 390, 7000)]


def open_qat(page: Page, query: str = "") -> None:
    page.goto("/qat" + query)
    expect(page.get_by_role("heading", name="Quantization-aware training").first).to_be_visible(timeout=LONG)
    expect(page.get_by_role("heading", name="Quantization families")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)


def test_default_run_shows_results(page: Page):
    open_qat(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=LONG)
    expect(page.get_by_text(re.compile(r"At 2 bits QAT reaches"))).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2)


def test_train_with_new_settings_updates_url(page: Page):
    open_qat(page)
    page.get_by_test_id("stButtonGroup").get_by_text("per tensor", exact=True).click()
    page.get_by_role("button", name="Train").click()
    expect(page).to_have_url(re.compile(r"gran=tensor"), timeout=LONG)
    expect(page.get_by_text(re.compile(r"weights per tensor"))).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=LONG)


@pytest.mark.parametrize("size", SIZES, ids=[s[0] for s in SIZES])
def test_screenshot(sized_page, save_screenshot, size):
    label, width, height = size
    page = sized_page(width, height)
    page.goto("/qat")
    expect(page.get_by_role("heading", name="Quantization families")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=LONG)
    save_screenshot(page, f"qat-{label}")
