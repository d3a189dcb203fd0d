"""Two students on one server at the same moment: two browser contexts open the same page with
different settings without waiting for each other, so their first script runs (and, on /amp,
the training runs they start through the shared result cache) overlap on the server.  Each ends
with its own value in its widget, and no exception."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import wait_idle

# path, URL parameter, the two values, the label of the widget that shows it
CASES = [
    ("/bits", "value", ("0.123456", "7.65432"), "Decimal value"),
    ("/amp", "lr", ("0.05", "0.2"), "Learning rate"),
]


@pytest.mark.parametrize(("path", "name", "values", "label"), CASES, ids=[c[0].strip("/") for c in CASES])
def test_two_overlapping_sessions_keep_their_own(browser, base_url, path, name, values, label):
    contexts = [browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1600}) for _ in values]
    try:
        pages = [c.new_page() for c in contexts]
        for p, v in zip(pages, values):  # both requests go out before either page has rendered
            p.goto(f"{path}?{name}={v}", wait_until="commit")
        for p, v in zip(pages, values):
            expect(p.get_by_label(label, exact=True).first).to_have_value(v, timeout=120_000)
            wait_idle(p, timeout=120_000)
        for p, v in zip(pages, values):
            expect(p.get_by_test_id("stException")).to_have_count(0)
            expect(p.get_by_label(label, exact=True).first).to_have_value(v)
    finally:
        for c in contexts:
            c.close()
