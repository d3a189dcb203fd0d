"""The PTQ studio page (/model) in a real browser: it loads without an exception, each of its
five lazy sections opens and draws its chart; screenshots at 1280 px and 390 px go to
test-results/screenshots/ for a person to look at (they are not compared to anything)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

pytest.importorskip("tokenizers")

N_CHARTS = 3  # where the bytes are, and the open section's two charts (the sections are lazy tabs)
SECTIONS = [  # tab label, text its findings show
    ("Activation outliers", "outlier channels"),
    ("SmoothQuant", "It hurts ffn_down in"),
    ("Per-layer sensitivity", "The most sensitive:"),
    ("Calibration", "Best end to end here:"),
]
SIZES = [("desktop", 1280, 7600), ("phone", 390, 17000)]


def _open(page, path: str = "/model") -> None:
    page.goto(path)
    expect(page.get_by_role("heading", name="PTQ studio", exact=True).first).to_be_visible(timeout=60_000)
    # the open section (every recipe compared) has been drawn: the run got to the end
    expect(page.get_by_text("Without a per-layer mix", exact=False).first).to_be_visible(timeout=120_000)
    wait_idle(page, timeout=120_000)


@pytest.mark.parametrize("size", SIZES, ids=[s[0] for s in SIZES])
def test_model_page_renders(sized_page, save_screenshot, size):
    label, width, height = size
    page = sized_page(width, height)
    _open(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(N_CHARTS, timeout=30_000)
    save_screenshot(page, f"model-default-{label}")


def test_choosing_a_recipe_updates_the_page(sized_page):
    page = sized_page(1280, 2000)
    _open(page)
    box = page.get_by_test_id("stSelectbox").filter(has_text="Quantization recipe")
    box.click()
    page.get_by_role("option", name="NF4 weights (blocks of 64)", exact=True).click()
    expect(page.get_by_text("TFLite has no converter setting for this recipe.")).to_be_visible(timeout=60_000)
    wait_idle(page, timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".js-plotly-plot")).to_have_count(N_CHARTS, timeout=30_000)


def test_each_section_opens(sized_page):
    """Clicking a tab computes that section (a rerun) and draws its chart, with no exception;
    the URL follows (?section=...)."""
    page = sized_page(1280, 2400)
    _open(page)
    for label, text in SECTIONS:
        page.get_by_role("tab", name=label).click()
        expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=120_000)
        wait_idle(page, timeout=120_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_role("tabpanel").locator(".js-plotly-plot")).to_have_count(1, timeout=30_000)
    expect(page).to_have_url(re.compile(r"section=calibration"))


def test_gptq_chosen_in_the_browser(sized_page, save_screenshot):
    """A student picks GPTQ for the NF4 recipe: a progress bar, then the summary against RTN;
    the methods tab offers its comparison; the choices survive the tab click."""
    page = sized_page(1280, 2400)
    _open(page, "/model?recipe=nf4&ptq_calib=32")
    box = page.get_by_test_id("stSelectbox").filter(has_text="How the weights are rounded")
    box.click()
    page.get_by_role("option", name="GPTQ (error compensation)", exact=True).click()
    expect(page.get_by_text("Linears have a smaller output error than with RTN", exact=False).first).to_be_visible(timeout=120_000)
    wait_idle(page, timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"method=gptq"))
    save_screenshot(page, "model-gptq-desktop")
    page.get_by_role("tab", name="GPTQ and AWQ").click()
    expect(page.get_by_role("button", name="Compare the methods")).to_be_visible(timeout=60_000)
    wait_idle(page, timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_role("combobox", name="How the weights are rounded")).to_have_value("GPTQ (error compensation)")
    expect(page.get_by_role("combobox", name="Quantization recipe")).to_have_value("NF4 weights (blocks of 64)")
