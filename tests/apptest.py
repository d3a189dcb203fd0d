"""Shared AppTest helpers for the page tests: open a page through the router, rerun, read."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def open_page(page: str, *, timeout: float = 30, **query) -> AppTest:
    """Start from app.py (the router), switch to ``page`` with ``query`` in the URL."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if "lang" in query:  # app.py reads the language from the URL on a session's first run
        at.query_params["lang"] = query["lang"]
    at.run()
    at.switch_page(page)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def rerun_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def html_blocks(at: AppTest) -> list[str]:
    """The HTML the page shows: st.markdown's text and st.html's bodies (the big tables are
    st.html: the browser sets them as HTML instead of parsing them as markdown, about 150 ms
    less per rerun for the properties table)."""
    return [m.value for m in at.markdown] + [h.proto.body for h in at.get("html")]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
