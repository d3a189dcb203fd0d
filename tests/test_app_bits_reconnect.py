"""A tab reconnected to a new session (the server restarted) through Streamlit's AppTest: its
first rerun carries the widget values of a page the old session drew, the user's edit among
them, into a session that has drawn none of those widgets.  The edit must be shown, as it is
on a session that drew the page (lab.core.state.hold_reconnected_tab, replay_reconnected_tab).

The browser side of the same thing, with a real server restart, is
tests/e2e/test_reconnect_browser.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import APP, open_page

BITS_PAGE = "app_pages/bits.py"
URL = {"format": "float32", "value": "0.5"}


def reconnected(old: AppTest) -> AppTest:
    """A new session whose first run gets the widget states of ``old``'s page, as a tab
    reconnecting after a restart sends them (same page, same query string)."""
    states = old._tree.get_widget_states()  # what the tab shows, with the edit made on it
    new = AppTest.from_file(APP, default_timeout=30)
    new._finished_page_script_hash = old._finished_page_script_hash
    new.query_params = dict(old.query_params)
    new._run(states)
    assert not new.exception, new.exception
    return new


def test_a_value_typed_first_is_shown():
    old = open_page(BITS_PAGE, **URL)
    assert old.text_input(key="bits_hex").value == "0x3F000000"
    old.text_input(key="bits_value").input("2")
    new = reconnected(old)
    assert new.text_input(key="bits_value").value == "2"
    assert new.text_input(key="bits_hex").value == "0x40000000"
    assert new.query_params == {"format": "float32", "value": "2"}
    new.text_input(key="bits_value").input("3").run()  # and the session goes on as any other
    assert new.text_input(key="bits_hex").value == "0x40400000"


@pytest.mark.parametrize(
    "edit, hex_code, query",
    [
        (lambda at: at.button(key="bitS_31").click(), "0xBF000000", {"format": "float32", "hex": "BF000000"}),
        (lambda at: at.text_input(key="bits_hex").input("3f800000"), "0x3F800000", {"format": "float32", "hex": "3F800000"}),
        (lambda at: at.selectbox(key="bits_fmt").select("bfloat16"), "0x3F00", {"format": "bfloat16", "value": "0.5"}),
        (lambda at: at.toggle(key="bits_saturate").set_value(True), "0x3F000000", {**URL, "saturate": "1"}),
        (lambda at: None, "0x3F000000", URL),  # no edit: the page as the URL shows it
    ],
    ids=["bit", "hex", "format", "saturate", "none"],
)
def test_any_first_edit_is_shown(edit, hex_code, query):
    old = open_page(BITS_PAGE, **URL)
    edit(old)
    new = reconnected(old)
    assert new.text_input(key="bits_hex").value == hex_code
    assert new.query_params == query


def test_a_language_chosen_first_is_kept():
    """The sidebar's language selector changed as the first thing after a restart: app.py
    sets a new session's language from the URL before the selector is drawn, which overrode the
    choice; it takes the reconnected tab's choice instead (lab.core.state.reconnected_string).
    (From English only: AppTest cannot read back the widget states of a page drawn in Chinese,
    whose selectboxes show translated names of their values.)"""
    old = open_page(BITS_PAGE, lang="en", **URL)
    old.selectbox(key="lang").set_value("zh_CN")
    new = reconnected(old)
    assert new.session_state["lang"] == "zh_CN"
    assert new.query_params.get("lang") == "zh_CN"
    assert new.selectbox(key="lang").label.endswith("语言")
    assert new.text_input(key="bits_hex").value == "0x3F000000"  # the page as its URL shows it
