"""The Bit Inspector (/bits) in a real browser at 1280 px: float32 0.1 shows its formula with
the live numbers, the 32-bit word stays one unbroken row, and the cast view opens from its URL;
screenshots in test-results/screenshots/ (bits_formula_1280.png, bits_cast_1280.png)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from .conftest import wait_idle

LONG = 60_000
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def shoot(page, name: str) -> Path:
    """Save the whole page (no exception shown) as test-results/screenshots/<name>.png."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(1200)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_formula_and_one_row_word_at_1280(sized_page):
    page = sized_page(1280, 2400)
    page.goto("/bits?format=float32&value=0.1")
    expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    formula = page.get_by_test_id("stMarkdownContainer").locator(".katex").filter(has_text="127").first
    expect(formula).to_be_visible(timeout=LONG)
    buttons = page.locator(".st-key-bitrow [data-testid='stTooltipHoverTarget'] button")  # one per bit (each has a tooltip)
    expect(buttons).to_have_count(32)
    tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(32)}
    assert len(tops) == 1, f"the 32 bits wrap onto {len(tops)} rows at 1280 px"
    shoot(page, "bits_formula_1280")


def test_cast_view_from_its_url_at_1280(sized_page):
    page = sized_page(1280, 3400)
    page.goto("/bits?format=float32&value=0.1&cast=float8_e4m3fn")
    expect(page.get_by_text("0x3DCCCCCD", exact=True).first).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    cast = page.get_by_test_id("stExpander").filter(has_text="Cast to another format")
    expect(cast.get_by_text("Round half to even", exact=False).first).to_be_visible(timeout=LONG)
    expect(cast.get_by_text("0x1D", exact=True).first).to_be_visible()
    shoot(page, "bits_cast_1280")
