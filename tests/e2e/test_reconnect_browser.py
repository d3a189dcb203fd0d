"""A tab outlives its server: the server process is killed and started again on the same port,
the tab reconnects by itself to a *new* session, and the first edit made there is shown.

Streamlit's frontend sends no rerun when it reconnects; the first edit's rerun is the new
session's first run, and carries the values of widgets this session never drew (see
lab.core.state.hold_reconnected_tab).  This test starts its own server (not the shared one of
conftest.py, which the other tests need alive) and stops it at the end.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.lab_server import SERVE, LabServer

from .conftest import _free_port, wait_idle

LONG = 60_000
STATE = '[data-testid="stApp"]'  # its data-test-connection-state: CONNECTED, ...


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LabServer("serve.py", _free_port(), tmp_path_factory.mktemp("reconnect") / "server.log", command=SERVE, env={"QLAB_WARM": "0"})
    try:
        srv.start()
        srv.wait_healthy()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tab(browser, server):
    """A page (own context, no base_url: the shared server's must not be used) on ``server``."""
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    try:
        yield context.new_page()
    finally:
        context.close()


def open_then_restart(page, server, path: str) -> None:
    """Open ``path`` and let it finish; restart the server; wait until the tab is reconnected."""
    page.goto(server.url + path)
    wait_idle(page, LONG)
    server.kill()
    expect(page.locator(STATE)).not_to_have_attribute("data-test-connection-state", "CONNECTED", timeout=15_000)
    server.start()
    server.wait_healthy()
    expect(page.locator(STATE)).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=LONG)
    wait_idle(page, LONG)


def type_in(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")


def test_bits_first_value_typed_after_a_restart_is_shown(tab, server):
    open_then_restart(tab, server, "/bits?format=float32&value=0.5")
    expect(tab.get_by_text("0x3F000000", exact=True).first).to_be_visible()
    type_in(tab, "Decimal value", "2")
    expect(tab.get_by_text("0x40000000", exact=True).first).to_be_visible(timeout=LONG)
    expect(tab).to_have_url(re.compile(r"/bits\?format=float32&value=2$"))
    wait_idle(tab, LONG)
    expect(tab.get_by_role("textbox", name="Decimal value")).to_have_value("2")
    type_in(tab, "Decimal value", "3")  # and the next one, as on any session
    expect(tab.get_by_text("0x40400000", exact=True).first).to_be_visible(timeout=LONG)
    expect(tab.get_by_test_id("stException")).to_have_count(0)


def test_tensor_first_scheme_typed_after_a_restart_is_used(tab, server):
    open_then_restart(tab, server, "/tensor")
    expect(tab).to_have_url(re.compile(r"scheme=nf4%3Ablock%3D64"))
    type_in(tab, "Scheme string", "int4:block=128")
    expect(tab).to_have_url(re.compile(r"scheme=int4%3Ablock%3D128"), timeout=LONG)
    wait_idle(tab, LONG)
    expect(tab.get_by_role("textbox", name="Scheme string")).to_have_value("int4:block=128")
    expect(tab.get_by_test_id("stException")).to_have_count(0)
