"""The app in a real browser: every page loads without an exception, the URL opens the
right state, and typing / clicking updates the page and the URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import wait_idle

PAGES = [("/", "Quantization Lab"), ("/bits", "Bit Inspector"), ("/formats", "Format Comparison")]


@pytest.mark.parametrize(("path", "title"), PAGES, ids=["home", "bits", "formats"])
def test_every_page_loads_without_exception(page: Page, path, title):
    page.goto(path)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # the frame (app.py) ran too: the language selector is in the sidebar
    # (the selectbox, not the "Language model" link of the navigation)
    expect(page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Language")).to_be_visible()


def test_url_opens_float32_0_1(page: Page):
    page.goto("/bits?format=float32&value=0.1")
    expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("0.100000001490116119384765625", exact=True).first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_typing_a_decimal_updates_the_output_and_url(page: Page):
    page.goto("/bits?format=float32&value=0.1")
    expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    box = page.get_by_role("textbox", name="Decimal value")
    box.fill("0.5")
    box.press("Enter")
    expect(page.get_by_text("0x3F000000", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"value=0\.5"))


def test_clicking_a_bit_flips_it(page: Page):
    page.goto("/bits?format=bfloat16&hex=3f80")
    expect(page.get_by_text("0x3F80", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    page.locator(".st-key-bitS_15 button:visible").click()  # the sign bit
    expect(page.get_by_text("0xBF80", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"hex=BF80"))


def test_bad_input_shows_an_error_not_an_exception(page: Page):
    page.goto("/bits?format=float4_e2m1fn&value=nan")
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("has no NaN", timeout=30_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_home_link_opens_the_linked_state(page: Page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Quantization Lab")).to_be_visible(timeout=30_000)
    wait_idle(page)
    page.get_by_role("link", name=re.compile("500 in float8_e4m3fn")).click()
    expect(page.get_by_text("0x7F", exact=True).first).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/bits\?.*format=float8_e4m3fn"))


def test_state_survives_a_visit_to_another_page(page: Page):
    page.goto("/bits?format=bfloat16&hex=3f80")
    expect(page.get_by_text("0x3F80", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name="Quantization Lab")).to_be_visible(timeout=30_000)
    wait_idle(page)
    sidebar.get_by_role("link", name="Bit Inspector").click()
    expect(page.get_by_text("0x3F80", exact=True).first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"format=bfloat16"))


# ------------------------------------------------------------------ Format Comparison
def open_formats(page: Page, query: str) -> None:
    page.goto("/formats?" + query)
    expect(page.get_by_role("heading", name="Key takeaways")).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)


def test_formats_page_renders_its_charts(page: Page):
    open_formats(page, "formats=bfloat16,float16,float8_e4m3fn")
    expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=30_000)  # range, precision, number line
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("overflows above 65504", exact=False).first).to_be_visible()
    expect(page.locator("table.ql-codes a")).to_have_count(256)
    expect(page).to_have_url(re.compile(r"formats=bfloat16(%2C|,)float16(%2C|,)float8_e4m3fn"))


def test_code_table_link_opens_the_bit_inspector_on_that_code(page: Page):
    open_formats(page, "formats=float16,float8_e4m3fn")
    cell = page.locator('table.ql-codes a[data-code="126"]')
    expect(cell).to_have_text("448")
    expect(cell).to_have_attribute("title", re.compile(r"0x7E = 448"))
    cell.click()
    expect(page).to_have_url(re.compile(r"/bits\?format=float8_e4m3fn&hex=7E"), timeout=30_000)
    expect(page.get_by_role("heading", name="Bit Inspector", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("0x7E", exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("textbox", name="Hex code")).to_have_value("0x7E")
    expect(page.get_by_role("textbox", name="Decimal value")).to_have_value("448")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_custom_format_code_link(page: Page):
    open_formats(page, "formats=bfloat16,my8&custom=my8:e4m3b5:fn")
    expect(page.locator("table.ql-grid th", has_text="my8")).to_have_count(1)
    page.locator('table.ql-codes a[data-code="126"]').click()
    expect(page).to_have_url(re.compile(r"/bits\?format=custom&e=4&m=3&bias=5&nonfinite=fn&hex=7E"), timeout=30_000)
    expect(page.get_by_role("textbox", name="Decimal value")).to_have_value("1792", timeout=30_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_choose_a_code_link_and_typing_a_value(page: Page):
    open_formats(page, "formats=float16,float4_e2m1fn")
    box = page.get_by_role("textbox", name="A value or a range")
    box.fill("0.1")
    box.press("Enter")
    expect(page.get_by_text("your value 0.1").first).to_be_attached(timeout=30_000)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"value=0\.1"))
    page.get_by_role("link", name=re.compile(r"Open 0x7 of float4_e2m1fn in the Bit Inspector")).click()
    expect(page.get_by_role("textbox", name="Decimal value")).to_have_value("6", timeout=30_000)
    expect(page).to_have_url(re.compile(r"/bits\?.*format=float4_e2m1fn"))
