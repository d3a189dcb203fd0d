"""The language model page (/llm) in a real browser: it loads without an exception (the model,
a Q4_K quantization, the evaluation and both generations), a preset changes it, the outliers
tab draws its chart; screenshots at 1280 px and 390 px go to test-results/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")

SIZES = [("desktop", 1280, 3400), ("phone", 390, 8000)]


def _open(page, path: str = "/llm") -> None:
    page.goto(path)
    expect(page.get_by_role("heading", name="Language model", exact=True).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Position in the reference's text", exact=False).first).to_be_visible(timeout=180_000)
    wait_idle(page, timeout=180_000)


@pytest.mark.parametrize("size", SIZES, ids=[s[0] for s in SIZES])
def test_llm_page_renders(sized_page, save_screenshot, size):
    label, width, height = size
    page = sized_page(width, height)
    _open(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=30_000)
    expect(page.get_by_text("Reference (as shipped)").first).to_be_visible()
    save_screenshot(page, f"llm-default-{label}")


def test_preset_and_outliers(sized_page, save_screenshot):
    page = sized_page(1280, 3000)
    _open(page)
    box = page.get_by_test_id("stSelectbox").filter(has_text="Preset")
    box.click()
    page.get_by_role("option", name="NF4 + double quant", exact=True).click()
    expect(page).to_have_url(re.compile(r"w=nf4"), timeout=120_000)
    wait_idle(page, timeout=180_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("tab", name="Activation outliers").click()
    expect(page.get_by_text("Over all 210 Linears", exact=False).first).to_be_visible(timeout=120_000)
    wait_idle(page, timeout=120_000)
    expect(page.get_by_role("tabpanel").locator(".js-plotly-plot")).to_have_count(1, timeout=30_000)
    save_screenshot(page, "llm-nf4-outliers-desktop")


def test_one_layer_up_close(sized_page, save_screenshot):
    """The GPTQ / AWQ close-up from a link: its four charts and the live arithmetic; moving the
    column stepper reruns without an exception."""
    page = sized_page(1280, 4200)
    _open(page, "/llm?section=closeup&layer=blk.0.ffn_up")
    expect(page.get_by_text("GPTQ, column by column").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("At the end: GPTQ", exact=False).first).to_be_visible(timeout=120_000)
    wait_idle(page, timeout=120_000)
    expect(page.get_by_role("tabpanel").locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    save_screenshot(page, "llm-closeup-desktop")
    slider = page.get_by_role("slider", name="Columns quantized")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    expect(page.get_by_text("Step 77: column 76", exact=False).first).to_be_visible(timeout=60_000)
    wait_idle(page, timeout=60_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
