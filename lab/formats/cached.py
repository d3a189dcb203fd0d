"""The Format Comparison's cached figures and tables (built by :mod:`figures.formats`)."""

from __future__ import annotations


from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from quantlib import FloatFormat

from figures import formats as figs

from lab.bits.state import bits_link_params
from lab.core import widgets
from lab.core.cached import FormatKey, resolve_format
from lab.formats import widgets as fmt_widgets


# Figures are cached with st.cache_resource: the same object is handed to every rerun
# (no pickling; st.plotly_chart only reads it), so they must never be modified after
# they are built.  Parameters starting with "_" are not hashed: the labels are fixed by
# ``lang``, which is.


def resolve_formats(keys: tuple) -> list[FloatFormat]:
    """The FloatFormats of a tuple of keys (registry names or named custom layouts)."""
    return [resolve_format(k) for k in keys]


@st.cache_data(max_entries=256, show_spinner=False)
def references(refs_text: str, value_text: str) -> tuple[list, list[tuple[str, str]], str | None]:
    """``(references to draw, unreadable reference items, problem with the value)``.

    The references are the user's reference lines plus, marked ``mine``, the value or range
    of "where does my number land" (when it is a finite non-zero number)."""
    refs, bad = figs.parse_references(refs_text)
    problem = None
    if value_text.strip():
        try:
            lo, hi = figs.parse_value_or_range(value_text)
        except ValueError as exc:
            problem = str(exc)
        else:
            if hi is None:
                if lo.kind == "finite" and lo.magnitude:
                    refs.append(figs.Reference(lo=lo.magnitude, text=value_text.strip(), mine=True))
            else:
                a, b = sorted((abs(lo.as_fraction()), abs(hi.as_fraction())))
                a = a or b  # a range from 0 is drawn from its other end (a log axis has no 0)
                if a > 0:
                    refs.append(figs.Reference(lo=a, hi=b if b != a else None, text=value_text.strip(), mine=True))
    return refs, bad, problem


@st.cache_resource(max_entries=64, show_spinner=False)
def range_figure(keys: tuple, refs_text: str, value_text: str, lang: str, _labels: dict):
    return figs.dynamic_range_figure(resolve_formats(keys), references(refs_text, value_text)[0], _labels)


@st.cache_resource(max_entries=64, show_spinner=False)
def precision_figure(keys: tuple, refs_text: str, value_text: str, zoom: bool, lang: str, _labels: dict):
    return figs.precision_figure(resolve_formats(keys), references(refs_text, value_text)[0], _labels, zoom=zoom)


@st.cache_resource(max_entries=64, show_spinner=False)
def number_line_figure(keys: tuple, view: str, books: bool, lang: str, _labels: dict):
    return figs.number_line_figure(resolve_formats(keys), figs.codebooks() if books else [], view, _labels)


@st.cache_data(max_entries=128, show_spinner=False)
def properties(keys: tuple, lang: str, _labels: dict):
    """(properties table, its tooltips, the exact limits table) as DataFrames."""
    fmts = resolve_formats(keys)
    return figs.properties_table(fmts, _labels), figs.properties_hover(fmts, _labels), figs.exact_limits_table(fmts, _labels)


@st.cache_data(max_entries=8, show_spinner=False)
def codebook_properties(lang: str, _labels: dict):
    """(rows, tooltips) of the NF4 and bnb FP4 columns of the properties table; None without codebooks."""
    books = figs.codebooks()
    return figs.codebook_properties(books, _labels) if books else None


@st.cache_data(max_entries=128, show_spinner=False)
def takeaways(keys: tuple, refs_text: str, value_text: str, lang: str, _labels: dict) -> list[str]:
    return figs.takeaways(resolve_formats(keys), references(refs_text, value_text)[0], _labels)


@st.cache_data(max_entries=256, show_spinner=False)
def landing(keys: tuple, value_text: str, saturate: bool, lang: str, _labels: dict):
    """Where the value (or range) lands in each format: a DataFrame (ValueError if unreadable)."""
    lo, hi = figs.parse_value_or_range(value_text)
    return figs.landing_table(resolve_formats(keys), lo, hi, saturate=saturate, labels=_labels)


@st.cache_resource(max_entries=64, show_spinner=False)
def properties_html(keys: tuple, books: bool, lang: str, _labels: dict) -> str:
    """The properties table as HTML (the codebooks' columns too when ``books``), built once for
    every session: about 400 cells, 2 ms to write and 0.5 ms to unpickle from st.cache_data on
    each rerun."""
    props, hover, _exact = properties(keys, lang, _labels)
    book_cols = codebook_properties(lang, _labels) if books else None
    if book_cols is not None:
        props, hover = pd.concat([props, book_cols[0]], axis=1), pd.concat([hover, book_cols[1]], axis=1)
    return widgets.grid_html(props, hover)


@st.cache_resource(max_entries=64, show_spinner=False)
def code_table_view(key: FormatKey, lang: str, _labels: dict) -> tuple[str, str, list[str]]:
    """(the code table as HTML, each cell a link into the Bit Inspector; the legend of the classes
    it holds; each code's title) of one format, built once for every session (a float8 table:
    256 linked cells, and the classes found by 5 DataFrame comparisons, 4 ms a rerun before)."""
    fmt = resolve_format(key)
    table = figs.code_table(fmt, _labels)
    bits = fmt.bits
    html = fmt_widgets.code_table_html(table, lambda code: "bits?" + urlencode(bits_link_params(key, code, bits)))
    kinds = set(np.unique(table.kind.to_numpy(dtype=object).astype(str)))
    present = [k for k in ("zero", "subnormal", "normal", "inf", "nan") if k in kinds]
    return html, fmt_widgets.kind_legend_html(present, _labels), table.title.to_numpy(dtype=object).ravel().tolist()


@st.cache_data(max_entries=4, show_spinner=False)
def codebook_names() -> list[str]:
    return [b.name for b in figs.codebooks()]


def zoom_window(keys: tuple) -> tuple[float, float] | None:
    """The log2 window around the narrow formats, when wide ones dwarf them (else None)."""
    return figs.zoom_window(resolve_formats(keys))
