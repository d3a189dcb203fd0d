"""Cached work of /learn: the printable summary, built once per language (about 0.7 s: the
formulas are drawn by matplotlib) and shared by every session."""

from __future__ import annotations

import streamlit as st

from lab.learn.summary import summary_html

__all__ = ["summary_bytes"]


@st.cache_data(show_spinner=False, max_entries=4)
def summary_bytes(lang: str) -> bytes:
    """:func:`lab.learn.summary.summary_html` in ``lang``, as UTF-8 bytes for the download button."""
    return summary_html(lang).encode("utf-8")
