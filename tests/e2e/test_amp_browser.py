"""The Mixed precision training page (/amp) in a real browser: the default training runs live
(progress bar), the results appear with their plotly charts and no exception; a second visit
with the same settings is served from the cache; screenshots at 1280 px and 390 px are saved
into the pytest --output folder (screenshots/amp-*.png)."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

LONG = 120_000


def _results(page) -> None:
    expect(page.get_by_role("heading", name="5. FP16 vs BF16").first).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=LONG)


def test_default_training_runs_and_shows_results(page, base_url):
    page.goto(base_url + "/amp")
    expect(page.get_by_role("heading", name="Mixed precision training").first).to_be_visible(timeout=LONG)
    _results(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)  # charts mount asynchronously
    expect(page.get_by_text("pure float16", exact=False).first).to_be_visible()
    # change the settings through the form: 2 epochs, then Train
    epochs = page.get_by_label("Epochs")
    epochs.fill("2")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("steps of 32 images per epoch").first).to_be_visible(timeout=LONG)
    page.wait_for_url("**/amp?epochs=2", timeout=LONG)
    _results(page)


@pytest.mark.parametrize("width, height", [(1280, 4200), (390, 9000)], ids=["desktop", "phone"])
def test_screenshot(sized_page, save_screenshot, width, height):
    page = sized_page(width, height)
    page.goto("/amp")
    _results(page)
    save_screenshot(page, f"amp-{width}")
