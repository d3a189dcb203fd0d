"""The guided path (/learn) in a real browser: every lesson but the language model's (which
loads a 135M-parameter model; AppTest covers it) renders without an exception with its formulas
typeset by KaTeX; a prediction is revealed and the progress lands in the URL; screenshots at
1280 px go to the pytest --output folder (screenshots/learn_<lesson>_1280.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from lab.learn.core import LESSONS

from .conftest import wait_idle

LONG = 60_000
SHOWN = [info.id for info in LESSONS if info.id != "llm_text"]


def open_lesson(page: Page, lesson: str, query: str = "") -> None:
    page.goto(f"/learn?lesson={lesson}{query}")
    expect(page.get_by_role("heading", name=re.compile(r"Learn: the notes|一次一个概念|学习")).first).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)


def test_every_lesson_renders(page: Page):
    for lesson in SHOWN:
        open_lesson(page, lesson)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.locator(".katex").first).to_be_visible(timeout=LONG)
        expect(page.get_by_text("Predict first.").first).to_be_visible()


def test_predict_reveal_marks_the_lesson_done(page: Page):
    open_lesson(page, "nf4")
    page.get_by_test_id("stRadio").get_by_text("NF4", exact=True).click()
    wait_idle(page, LONG)
    page.get_by_role("button", name="Reveal the answer").click()
    expect(page.get_by_text(re.compile(r"^Right: NF4"))).to_be_visible(timeout=LONG)
    expect(page).to_have_url(re.compile(r"done=nf4"), timeout=LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("lesson", ["float_fields", "asymmetric", "nf4", "mixed_precision", "ptq"])
def test_screenshot(sized_page, save_screenshot, lesson):
    page = sized_page(1280, 2600)
    open_lesson(page, lesson)
    expect(page.locator(".katex").first).to_be_visible(timeout=LONG)
    save_screenshot(page, f"learn_{lesson}_1280")


@pytest.mark.parametrize("lesson", ["nf4", "ptq"])
def test_screenshot_phone_chinese(sized_page, save_screenshot, lesson):
    """The lesson in 简体中文 on a 390 px phone: no exception, formulas typeset."""
    page = sized_page(390, 5200)
    open_lesson(page, lesson, "&lang=zh_CN")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".katex").first).to_be_visible(timeout=LONG)
    save_screenshot(page, f"learn_{lesson}_zh_390")
