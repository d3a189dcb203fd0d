"""Shared widgets: the format picker (registry or custom layout), the rounding picker and
the bit toggles.  Each widget keeps its value under a fixed session-state key (so
:mod:`lab.core.state` can fill it from the URL) and returns plain values for the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import streamlit as st

from quantlib import FORMATS, FloatFormat


from lab.core import state
from lab.core.cached import FormatKey, resolve_format
from lab.core.display import COLORS
from lab.core.i18n import N_, _

__all__ = [
    "format_label", "format_picker", "custom_format_control", "rounding_picker", "table_html",
    "inject_css", "ROUNDING_LABELS", "NONFINITE_LABELS", "grid_html", "frame_html",
    "PLOTLY_CONFIG",
]

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
"""The ``config`` every page passes to ``st.plotly_chart``: no plotly logo, no lasso/box select."""

ROUNDING_LABELS = {
    "nearest_even": N_("nearest, ties to even (IEEE default)"),
    "nearest_away": N_("nearest, ties away from zero"),
    "toward_zero": N_("toward zero (truncate)"),
    "toward_positive": N_("toward +∞ (ceiling)"),
    "toward_negative": N_("toward −∞ (floor)"),
    "stochastic": N_("stochastic"),
}

NONFINITE_LABELS = {
    "ieee": N_("ieee: ±inf and NaNs in the top exponent"),
    "fn": N_("fn: no inf, NaN only at all ones"),
    "fnuz": N_("fnuz: no inf, no −0, NaN at 100…0"),
    "none": N_("none: every code is a number"),
}

_PERSIST = "session"  # widgets keep their value while the user visits another page


def format_label(fmt: FloatFormat) -> str:
    """'float8_e4m3fn — 1+4+3 bits' (sign + exponent + mantissa)."""
    return _("{name} — {s}+{e}+{m} bits").format(name=fmt.name, s=int(fmt.signed), e=fmt.nexp, m=fmt.nmant)


def format_picker(key: str, *, on_change: Callable[[], None] | None = None) -> tuple[FloatFormat | None, FormatKey | None]:
    """A format: any registry format, or "custom…" with its own layout.

    Returns ``(fmt, fmt_key)``; ``(None, None)`` when the custom layout is invalid, after
    showing FloatFormat's message in an ``st.error``.  Session-state keys: ``key`` (the
    name or ``"custom"``) and ``key_e``, ``key_m``, ``key_bias``, ``key_nonfinite``,
    ``key_signed``.
    """
    ss = st.session_state
    ss.setdefault(key, next(iter(FORMATS)))
    options = [*FORMATS, state.CUSTOM]
    labels = {name: format_label(fmt) for name, fmt in FORMATS.items()}
    labels[state.CUSTOM] = _("custom… (choose the bits yourself)")
    choice = st.selectbox(
        _("Format"),
        options,
        key=key,
        format_func=labels.__getitem__,
        on_change=on_change,
        persist_state=_PERSIST,
        help=_("Sign + exponent + mantissa bits. Names follow ml_dtypes: fn = finite (no inf), fnuz = finite with unsigned zero, fnu = unsigned."),
    )
    if choice != state.CUSTOM:
        return FORMATS[choice], choice
    return _custom_format(key, on_change)


def custom_format_control(key: str, on_change: Callable[[], None] | None = None) -> tuple[FloatFormat | None, FormatKey | None]:
    """The custom-layout part of :func:`format_picker` on its own (E, M, bias, inf/NaN
    convention, sign), under keys ``key_e`` … ``key_signed``; ``(None, None)`` after an
    ``st.error`` when the layout is not a valid format."""
    return _custom_format(key, on_change)


def _custom_format(key: str, on_change: Callable[[], None] | None) -> tuple[FloatFormat | None, FormatKey | None]:
    ss = st.session_state
    ss.setdefault(key + "_e", 4)
    ss.setdefault(key + "_m", 3)
    ss.setdefault(key + "_bias", None)
    ss.setdefault(key + "_nonfinite", "ieee")
    ss.setdefault(key + "_signed", True)
    with st.container(border=True, key=key + "_custom"):
        c1, c2, c3 = st.columns(3)
        nexp = c1.number_input(
            _("Exponent bits E"), min_value=0, max_value=64, step=1, key=key + "_e",
            on_change=on_change, persist_state=_PERSIST,
        )
        nmant = c2.number_input(
            _("Mantissa bits M"), min_value=0, max_value=64, step=1, key=key + "_m",
            on_change=on_change, persist_state=_PERSIST,
        )
        try:  # the default bias, from quantlib, for the placeholder
            default_bias = str(FloatFormat(nexp=int(nexp), nmant=int(nmant), nonfinite="none").bias)
        except ValueError:
            default_bias = "2^(E−1)−1"
        bias = c3.number_input(
            _("Bias"), min_value=-state.BIAS_LIMIT, max_value=state.BIAS_LIMIT, step=1, value=None, key=key + "_bias",
            placeholder=_("default {bias}").format(bias=default_bias),
            help=_("Empty: the IEEE-style default 2^(E−1)−1."),
            on_change=on_change, persist_state=_PERSIST,
        )
        c4, c5 = st.columns([3, 1], vertical_alignment="bottom")
        nonfinite = c4.selectbox(
            _("Inf / NaN convention"), state.NONFINITE, key=key + "_nonfinite",
            format_func=lambda v: _(NONFINITE_LABELS[v]), on_change=on_change, persist_state=_PERSIST,
        )
        signed = c5.toggle(_("Signed"), key=key + "_signed", on_change=on_change, persist_state=_PERSIST)
    fmt_key = ("custom", int(nexp), int(nmant), None if bias is None else int(bias), nonfinite, bool(signed))
    try:
        fmt = resolve_format(fmt_key)
    except ValueError as exc:
        st.error(_("This layout is not a valid format: {reason}").format(reason=exc), icon=":material/error:")
        return None, None
    st.caption(format_label(fmt) + " · " + _("bias {bias}").format(bias=fmt.bias))
    return fmt, fmt_key


def rounding_picker(key: str, seed_key: str, *, help: str | None = None) -> tuple[str, int]:
    """Rounding mode (the six modes of quantlib) and, for stochastic rounding, the seed."""
    rounding = st.selectbox(
        _("Rounding"), state.ROUNDINGS, key=key, format_func=lambda r: _(ROUNDING_LABELS[r]),
        persist_state=_PERSIST, help=help,
    )
    seed = st.session_state.get(seed_key, 0)
    if rounding == "stochastic":
        seed = st.number_input(
            _("Random seed"), min_value=0, max_value=2**32 - 1, step=1, key=seed_key, persist_state=_PERSIST,
            help=_("Stochastic rounding rounds up with probability equal to the distance to the lower neighbour, in ulps. A seed makes the draw repeatable."),
        )
    return rounding, int(seed)


_CSS = """
<style>
/* Bit toggles: one button per bit, coloured by field, letters S/E/M above each group */
.st-key-bitrow button { min-width: 1.9rem; min-height: 2.1rem; padding: 0 0.3rem;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
.st-key-bitrow button p { font-size: 1rem; }
/*FIELDS*/
.ql-code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.05rem;
  overflow-wrap: anywhere; word-break: break-all; }
.ql-code sub { font-size: 0.7rem; font-weight: 700; margin-right: 1px; }
.ql-group { margin-right: 0.4rem; }
.ql-field { font-weight: 600; }
table.ql-table { width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 0.9rem; margin-bottom: 0.8rem; }
table.ql-table th, table.ql-table td { border: 1px solid rgba(128,128,128,0.3); padding: 0.3rem 0.4rem; vertical-align: top; text-align: left; }
table.ql-table th { font-weight: 600; }
table.ql-fields th:nth-child(1) { width: 22%; } table.ql-fields th:nth-child(2) { width: 33%; }
table.ql-fields th:nth-child(3) { width: 19%; } table.ql-fields th:nth-child(4) { width: 26%; }
table.ql-table td.ql-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  word-break: break-all; font-weight: 600; }
/* Format Comparison: the properties grid and the code table scroll sideways on a phone */
.ql-scroll { overflow-x: auto; max-width: 100%; margin-bottom: 0.6rem; }
table.ql-grid { border-collapse: collapse; font-size: 0.86rem; min-width: 100%; }
table.ql-grid th, table.ql-grid td { border: 1px solid rgba(128,128,128,0.3); padding: 0.25rem 0.45rem; text-align: left; vertical-align: top; }
table.ql-grid th { font-weight: 600; white-space: nowrap; }
table.ql-grid td { min-width: 6.5rem; }
table.ql-grid th:first-child { min-width: 9rem; white-space: normal; position: sticky; left: 0; z-index: 1;
  background: #fff; box-shadow: 1px 0 0 rgba(128,128,128,0.3); }
table.ql-grid td[title] { text-decoration: underline dotted rgba(128,128,128,0.8); text-underline-offset: 3px; cursor: help; }
table.ql-codes { border-collapse: collapse; width: 100%; min-width: 50rem; table-layout: fixed; font-size: 0.74rem;
  font-variant-numeric: tabular-nums; }
table.ql-codes th { font-weight: 600; padding: 0.15rem 0.1rem; text-align: center; white-space: nowrap;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.7rem; }
table.ql-codes th:first-child { width: 2.6rem; }
table.ql-codes td { border: 1px solid rgba(128,128,128,0.35); padding: 0; text-align: center; }
table.ql-codes td a { display: block; padding: 0.28rem 0.05rem; color: #1b1b1b; text-decoration: none; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
table.ql-codes td a:hover, table.ql-codes td a:focus { outline: 2px solid #1f77b4; outline-offset: -2px; }
.ql-legend span { display: inline-block; padding: 0.05rem 0.45rem; margin: 0 0.3rem 0.3rem 0; border-radius: 0.2rem; color: #1b1b1b; font-size: 0.8rem; }
/* A formula wider than the column scrolls sideways instead of being cut off */
[data-testid="stMarkdownContainer"] .katex-display { overflow-x: auto; overflow-y: hidden; padding-bottom: 0.2rem; }
/* Phones: plotly's mode bar would cover the legends and axis labels */
@media (max-width: 640px) { .js-plotly-plot .modebar-container { display: none !important; } }
/* Phones: a long multiselect tag (a scheme such as nf4:block=64,dq) wraps instead of being cut
   off, and the grids' key column (sticky, above) takes less of the screen */
@media (max-width: 640px) {
  [data-baseweb="tag"] { max-width: 100% !important; height: auto !important; }
  [data-baseweb="tag"] span { white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
  .stMultiSelect div { max-height: none !important; }
  table.ql-grid th:first-child { min-width: 6.5rem; }
}
</style>
"""
_FIELD_CSS = """
[class*="st-key-bit%(L)s_"] button { border: 2px solid %(c)s; color: %(c)s; background: transparent; }
[class*="st-key-bit%(L)s_"] button[kind="primary"], [class*="st-key-bit%(L)s_"] [data-testid="stBaseButton-primary"] {
  background: %(c)s; color: #fff; border-color: %(c)s; }
[class*="st-key-bit%(L)s_"] button:hover { filter: brightness(0.9); }
.st-key-bitgrp%(L)s [data-testid="stCaptionContainer"] p, .st-key-bitgrp%(L)s .stCaption { color: %(c)s; font-weight: 700; }
"""


_STYLE = _CSS.replace("/*FIELDS*/", "".join(_FIELD_CSS % {"L": letter, "c": c} for letter, c in COLORS.items()))


def inject_css() -> None:
    """The lab's styles (bit colours, code spans); style-only st.html takes no space."""
    st.html(_STYLE)


def table_html(header: list[str], rows: list[list[str]], *, mono: tuple[int, ...] = ()) -> str:
    """A small HTML table that wraps on a phone (cells are escaped; columns in ``mono`` are monospace)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="ql-mono">{html.escape(c)}</td>' if i in mono else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f'<table class="ql-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_NUM_HYPHEN = re.compile(r"(\de)-(?=\d)")


def dataframe(data, *, column_config: dict | None = None, **kwargs) -> None:
    """``st.dataframe`` with the table's first column pinned: on a phone the key column (the
    scheme, the recipe, the run) stays in view while the numbers scroll sideways.  A column
    config given for that column is kept as it is."""
    frame = getattr(data, "data", data)  # a pandas Styler holds its frame in .data
    config = dict(column_config or {})
    columns = list(getattr(frame, "columns", []))
    if columns and kwargs.get("hide_index") and columns[0] not in config:
        config[columns[0]] = st.column_config.Column(pinned=True)
    st.dataframe(data, column_config=config or None, **kwargs)


def grid_html(df, titles=None) -> str:
    """A DataFrame as a compact HTML table that scrolls sideways on a phone; the index is the
    first column.  ``titles`` (same shape, '' for none) become hover tooltips of the cells."""
    head = "<th>" + html.escape(str(df.index.name or "")) + "</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for i, (label, row) in enumerate(df.iterrows()):
        cells = []
        for j, value in enumerate(row.tolist()):
            tip = titles.iat[i, j] if titles is not None else ""
            attr = f' title="{html.escape(tip, quote=True)}"' if tip else ""
            text = _NUM_HYPHEN.sub("\\1&#8209;", html.escape(str(value)))  # no line break inside 1.175e-38
            cells.append(f"<td{attr}>{text}</td>")
        rows.append(f"<tr><th>{html.escape(str(label))}</th>{''.join(cells)}</tr>")
    return f'<div class="ql-scroll"><table class="ql-grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def frame_html(df, *, mono: tuple[int, ...] = ()) -> str:
    """A small DataFrame as a :func:`table_html` table (wraps on a phone instead of scrolling)."""
    return table_html([str(c) for c in df.columns], [[str(v) for v in row] for row in df.itertuples(index=False)], mono=mono)
