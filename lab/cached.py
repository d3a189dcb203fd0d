"""Cached wrappers around quantlib for the pages.

Pure functions of hashable arguments (format *keys*, text, ints), so ``st.cache_data``
can memoize them across reruns and sessions.  A format key is a registry name
(``"float32"``) or a custom layout ``("custom", nexp, nmant, bias, nonfinite, signed)``;
:func:`resolve_format` turns either into a :class:`quantlib.FloatFormat`.

Nothing here formats text for display (that is the page's and :mod:`lab.display`'s job),
so cached results do not depend on the language; the exceptions are the Format Comparison
builders, whose figures and tables carry their words: they take ``lang`` (hashed) and the
translated ``_labels`` (not hashed).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

import streamlit as st

from quantlib import FORMATS, FloatFormat, get_format
from quantlib import exact

from figures import formats as figs

FormatKey = Union[str, tuple]

__all__ = [
    "FormatKey", "resolve_format", "Inspection", "inspect_value", "inspect_code", "parse_code", "FormatRow", "all_formats",
    "resolve_formats", "references", "range_figure", "precision_figure", "number_line_figure", "properties", "takeaways",
    "landing", "code_table", "codebook_names", "zoom_window",
]


@functools.lru_cache(maxsize=512)
def resolve_format(key: FormatKey) -> FloatFormat:
    """The FloatFormat of a key; ValueError (FloatFormat's message) for an invalid layout.

    A custom key may carry a 7th element, the name the user gave it (the Format
    Comparison page): ``("custom", 4, 3, 7, "fn", True, "my8")``."""
    if isinstance(key, str):
        return get_format(key)
    tag, nexp, nmant, bias, nonfinite, signed, *name = key
    if tag != "custom" or len(name) > 1:
        raise ValueError(f"unknown format key {key!r}")
    return FloatFormat(nexp=nexp, nmant=nmant, bias=bias, nonfinite=nonfinite, signed=signed, name=name[0] if name else "")


@dataclass(frozen=True)
class Inspection:
    """Everything the Bit Inspector shows about one code."""

    info: exact.CodeInfo
    typed: exact.ExactValue | None         # the parsed input when a decimal was typed
    error: exact.ConversionError | None    # its conversion error
    down: exact.CodeInfo | None            # next_down, decomposed
    up: exact.CodeInfo | None              # next_up, decomposed
    ulp: Fraction | None
    code_minus: exact.CodeInfo             # the code − 1 (wrapping), decomposed
    code_plus: exact.CodeInfo              # the code + 1 (wrapping), decomposed


def _rng_for(rounding: str, seed: int):
    return int(seed) if rounding == "stochastic" else None


def _inspect(fmt: FloatFormat, code: int, typed: exact.ExactValue | None) -> Inspection:
    info = exact.decompose(code, fmt)
    down, up = exact.next_down(code, fmt), exact.next_up(code, fmt)
    u = exact.ulp(code, fmt)
    return Inspection(
        info=info,
        typed=typed,
        error=exact.conversion_error(typed, code, fmt) if typed is not None else None,
        down=exact.decompose(down, fmt) if down is not None else None,
        up=exact.decompose(up, fmt) if up is not None else None,
        ulp=u,
        code_minus=exact.decompose((code - 1) % (1 << fmt.bits), fmt),
        code_plus=exact.decompose((code + 1) % (1 << fmt.bits), fmt),
    )


@st.cache_data(max_entries=2048, show_spinner=False)
def inspect_value(fmt_key: FormatKey, text: str, rounding: str, saturate: bool, seed: int) -> Inspection:
    """Parse ``text``, round it once into the format, and inspect the resulting code.

    ValueError (quantlib's message) for unreadable text or a value the format cannot
    hold at all (NaN into a format without NaN).
    """
    fmt = resolve_format(fmt_key)
    typed = exact.parse_value(text)
    code = exact.round_value(typed, fmt, rounding=rounding, saturate=saturate, rng=_rng_for(rounding, seed))
    return _inspect(fmt, code, typed)


@st.cache_data(max_entries=2048, show_spinner=False)
def inspect_code(fmt_key: FormatKey, code: int) -> Inspection:
    """Inspect a code given directly (no input, no conversion error)."""
    return _inspect(resolve_format(fmt_key), code, None)


def parse_code(fmt_key: FormatKey, text: str, base: int) -> int:
    """A hex (16) or binary (2) code for the format; ValueError when unreadable or too long."""
    return exact.parse_code(text, resolve_format(fmt_key), base=base)


@dataclass(frozen=True)
class FormatRow:
    """One format's storage of the same input (a row of the all-formats table)."""

    name: str
    fmt: FloatFormat
    info: exact.CodeInfo | None
    error: exact.ConversionError | None
    problem: str | None  # quantlib's message when the format cannot store the input


@st.cache_data(max_entries=512, show_spinner=False)
def all_formats(text: str, rounding: str, saturate: bool, seed: int) -> list[FormatRow]:
    """The input ``text`` rounded into every registry format (same rounding and saturation)."""
    typed = exact.parse_value(text)
    rows = []
    for name, fmt in FORMATS.items():
        try:
            code = exact.round_value(typed, fmt, rounding=rounding, saturate=saturate, rng=_rng_for(rounding, seed))
        except ValueError as exc:
            rows.append(FormatRow(name, fmt, None, None, str(exc)))
            continue
        rows.append(FormatRow(name, fmt, exact.decompose(code, fmt), exact.conversion_error(typed, code, fmt), None))
    return rows


# --------------------------------------------------------------------------- Format Comparison
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


@st.cache_data(max_entries=128, show_spinner=False)
def takeaways(keys: tuple, refs_text: str, value_text: str, lang: str, _labels: dict) -> list[str]:
    return figs.takeaways(resolve_formats(keys), references(refs_text, value_text)[0], _labels)


@st.cache_data(max_entries=256, show_spinner=False)
def landing(keys: tuple, value_text: str, saturate: bool, lang: str, _labels: dict):
    """Where the value (or range) lands in each format: a DataFrame (ValueError if unreadable)."""
    lo, hi = figs.parse_value_or_range(value_text)
    return figs.landing_table(resolve_formats(keys), lo, hi, saturate=saturate, labels=_labels)


@st.cache_data(max_entries=128, show_spinner=False)
def code_table(key: FormatKey, lang: str, _labels: dict):
    return figs.code_table(resolve_format(key), _labels)


@st.cache_data(max_entries=4, show_spinner=False)
def codebook_names() -> list[str]:
    return [b.name for b in figs.codebooks()]


def zoom_window(keys: tuple) -> tuple[float, float] | None:
    """The log2 window around the narrow formats, when wide ones dwarf them (else None)."""
    return figs.zoom_window(resolve_formats(keys))
