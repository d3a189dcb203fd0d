"""Screenshots of the pages at desktop (1280 px) and phone (390 px) width, saved to
test-results/screenshots/ for a person to look at (they are not compared to anything)."""

from __future__ import annotations


import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

CASES = [
    ("bits-float32-0.1", "/bits?format=float32&value=0.1", "0x3DCCCCCD"),
    ("bits-e4m3fn-500", "/bits?format=float8_e4m3fn&value=500", "0x7F"),
    ("bits-float64-subnormal", "/bits?format=float64&hex=1", "0x0000000000000001"),
    ("bits-zh", "/bits?format=bfloat16&hex=3f80&lang=zh_CN", "0x3F80"),
    ("home", "/", None),
]
SIZES = [("desktop", 1280, 2600), ("phone", 390, 5200)]


@pytest.mark.parametrize("size", SIZES, ids=[s[0] for s in SIZES])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_screenshot(sized_page, save_screenshot, case, size):
    name, path, expected = case
    label, width, height = size
    page = sized_page(width, height)
    page.goto(path)
    if expected:
        expect(page.get_by_text(expected, exact=True).first).to_be_visible(timeout=30_000)
    else:
        expect(page.get_by_role("heading", name="Quantization Lab")).to_be_visible(timeout=30_000)
    wait_idle(page)
    if path.startswith("/bits"):
        expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stTextInput").first).to_be_visible(timeout=30_000)
    save_screenshot(page, f"{name}-{label}")


# The Format Comparison page is long: taller viewports, and the charts must have been drawn.
FORMATS_CASES = [
    ("formats-default", "/formats"),
    ("formats-custom-range", "/formats?formats=bfloat16,float16,my8,float4_e2m1fn&custom=my8:e4m3b5:fn"
     "&value=1e-4..3000&refs=448 e4m3 max,1e-6 gradients&table=my8&view=log"),
    ("formats-zh", "/formats?formats=float32,bfloat16,float16,float8_e4m3fn,float8_e5m2&lang=zh_CN"),
]
FORMATS_SIZES = [("desktop", 1280, 5200), ("phone", 390, 7000)]


@pytest.mark.parametrize("size", FORMATS_SIZES, ids=[s[0] for s in FORMATS_SIZES])
@pytest.mark.parametrize("case", FORMATS_CASES, ids=[c[0] for c in FORMATS_CASES])
def test_formats_screenshot(sized_page, save_screenshot, case, size):
    name, path = case
    label, width, height = size
    page = sized_page(width, height)
    page.goto(path)
    expect(page.locator("table.ql-codes")).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=30_000)
    save_screenshot(page, f"{name}-{label}")
