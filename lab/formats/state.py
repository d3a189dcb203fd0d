"""The Format Comparison's (``/formats``) session-state keys, custom formats, URL <-> state."""

from __future__ import annotations

import difflib
import re

import streamlit as st

from quantlib import FORMATS, get_format
from quantlib.formats import ALIASES

from figures.formats.common import RANGE_SPLIT
from lab.core.cached import resolve_format
from lab.core.i18n import _
from lab.core.state import CUSTOM, NONFINITE, Param, params_to_query, query_dict, read_params, shown_in, shown_value, url_is_new, url_value


class FMTS:
    """Session-state keys of the Format Comparison page (``/formats``)."""

    page = "formats"
    selected = "fmts_selected"    # multiselect: registry names and custom names, in order
    customs = "fmts_customs"      # dict: custom name -> (nexp, nmant, bias or None, nonfinite, signed)
    new = "fmts_new"              # the custom-format control (fmts_new_e, _m, _bias, _nonfinite, _signed)
    new_name = "fmts_new_name"    # the name box of a new custom format
    add_error = "fmts_add_error"  # why the last "Add" did not work
    refs = "fmts_refs"            # reference lines: '3000 activations, 1e-6 gradients'
    value = "fmts_value"          # where does my number land: '3000' or '1e-4 .. 3000'
    saturate = "fmts_saturate"
    view = "fmts_view"            # number line: scaled / linear / log
    books = "fmts_books"          # show the NF4 / bitsandbytes FP4 codebooks
    zoom = "fmts_zoom"            # precision chart: start zoomed in on the narrow formats
    table = "fmts_table"          # the format of the code table
    open_code = "fmts_open_code"  # the code chosen to open in the Bit Inspector
    notes = "fmts_url_notes"

    default_formats = ("float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn")
    default_value = "3000"
    views = ("scaled", "linear", "log")


CUSTOM_NAME_RE = r"[A-Za-z][A-Za-z0-9_.\-]{0,31}"


def custom_spec(name: str, layout: tuple) -> str:
    """A custom format in the URL: 'my8:e4m3b7:fn' (bias omitted when default, ':unsigned')."""
    nexp, nmant, bias, nonfinite, signed = layout
    text = f"{name}:e{nexp}m{nmant}" + ("" if bias is None else f"b{bias}") + f":{nonfinite}"
    return text if signed else text + ":unsigned"


def parse_custom_spec(text: str) -> tuple[str, tuple]:
    """'my8:e4m3b7:fn' -> ('my8', (4, 3, 7, 'fn', True)); ValueError (translated) if unreadable.

    The layout is checked by FloatFormat itself (via :func:`lab.core.cached.resolve_format`)."""
    parts = [p.strip() for p in text.strip().split(":")]
    m = re.fullmatch(r"e(\d+)m(\d+)(?:b(-?\d+))?", parts[1].lower()) if len(parts) >= 2 else None
    nonfinite = parts[2].lower() if len(parts) >= 3 else "ieee"
    unsigned = len(parts) >= 4 and parts[3].lower() in ("unsigned", "u")
    if (
        len(parts) not in (2, 3, 4)
        or m is None
        or nonfinite not in NONFINITE
        or (len(parts) == 4 and not unsigned)
    ):
        raise ValueError(
            _("URL parameter custom={value!r} should look like name:e4m3b7:fn (name, exponent and mantissa bits, optional bias, then one of {options}).").format(
                value=url_value(text), options=", ".join(NONFINITE)
            )
        )
    layout = (int(m[1]), int(m[2]), None if m[3] is None else int(m[3]), nonfinite, not unsigned)
    problem = check_custom_name(parts[0])
    if problem:
        raise ValueError(problem)
    try:
        problem = float64_problem(resolve_format(("custom", *layout)))
    except ValueError as exc:
        problem = str(exc)
    if problem:
        raise ValueError(_("Custom format {name!r} is not valid: {reason}").format(name=url_value(parts[0]), reason=problem))
    return parts[0], layout


FLOAT64_SMALLEST_NORMAL = 2.0**-1022
FLOAT64_LARGEST_BINADE = 2.0**1023


def float64_problem(fmt) -> str | None:
    """Why this page cannot draw ``fmt`` (translated), or None.  Its charts and values are float64,
    so every nonzero value of the format must be a normal float64: e4m3 with bias 7 (2^-9 … 448)
    is drawn; with bias 1100 (2^-1109 …) every value is below float64's 2^-1022."""
    if fmt.smallest_subnormal >= FLOAT64_SMALLEST_NORMAL and fmt.max < FLOAT64_LARGEST_BINADE:
        return None
    return _(
        "its values reach beyond float64's normal range (2^-1022 … 2^1023), in which this page draws every format; "
        "choose a bias closer to the standard one, or open the layout in the Bit Inspector, which is exact at any bias."
    )


def check_custom_name(name: str) -> str | None:
    """Why ``name`` cannot name a custom format (translated), or None."""
    if not re.fullmatch(CUSTOM_NAME_RE, name or ""):
        return _("A custom format's name starts with a letter and has at most 32 letters, digits, '_', '.' or '-' (got {name!r}).").format(name=url_value(name))
    try:
        get_format(name)
    except ValueError:
        pass
    else:
        return _("{name!r} is already the name of a registry format; choose another name.").format(name=url_value(name))
    if name.lower() == CUSTOM:
        return _("{name!r} is reserved; choose another name.").format(name=url_value(name))
    return None


def fmts_customs() -> dict[str, tuple]:
    """The custom formats defined in this session, by name (in definition order)."""
    return st.session_state.setdefault(FMTS.customs, {})


def fmts_key(name: str):
    """The lab.core.cached format key of a selected name (registry name, or a named custom layout)."""
    layout = fmts_customs().get(name)
    if layout is None:
        return get_format(name).name
    return ("custom", *layout, name)


def fmts_defaults() -> None:
    ss = st.session_state
    ss.setdefault(FMTS.selected, list(FMTS.default_formats))
    fmts_customs()
    ss.setdefault(FMTS.value, FMTS.default_value)
    ss.setdefault(FMTS.refs, "")
    ss.setdefault(FMTS.saturate, False)
    ss.setdefault(FMTS.view, FMTS.views[0])
    ss.setdefault(FMTS.books, True)
    ss.setdefault(FMTS.zoom, True)


PARAMS = (
    Param("value", FMTS.value, "text", default=""),
    Param("refs", FMTS.refs, "text", default=""),
    Param("saturate", FMTS.saturate, "bool", default=False),
    Param("view", FMTS.view, "choice", default=FMTS.views[0], options=FMTS.views),
    Param("codebooks", FMTS.books, "bool", default=True),
    Param("zoom", FMTS.zoom, "bool", default=True),
)
"""The Format Comparison's plain URL parameters (``formats``, ``custom`` and ``table`` are
read and written by hand: they depend on each other and on the chosen formats)."""


def fmts_load_url() -> None:
    """Apply the URL to the page state when it came from outside; keep warnings for display.

    ``formats=bfloat16,float16,my8`` (names or aliases, in order), ``custom=my8:e4m3b7:fn,...``
    (defines named custom layouts), ``value``, ``refs``, ``saturate``, ``view``,
    ``codebooks=0``, ``zoom=0``, ``table`` (the code-table format)."""
    fmts_defaults()
    if not url_is_new(FMTS.page):
        return
    qp = query_dict()
    ss = st.session_state
    notes: list[str] = []
    customs = fmts_customs()
    refused: set[str] = set()  # names of the custom formats refused with a note
    if "custom" in qp:
        for item in qp["custom"].split(","):
            if not item.strip():
                continue
            try:
                name, layout = parse_custom_spec(item)
            except ValueError as exc:
                notes.append(str(exc))
                if ":" in item:  # name:layout, refused: its name in formats= needs no note of its own
                    refused.add(item.split(":")[0].strip().lower())
                continue
            customs[name] = layout
    if "formats" in qp:
        chosen: list[str] = []
        for item in qp["formats"].replace(" ", ",").split(","):
            item = item.strip()
            if not item:
                continue
            if item in customs:
                name = item
            else:
                try:
                    name = get_format(item).name
                except ValueError:
                    if item.lower() not in refused:
                        notes.append(unknown_format_note(item, customs))
                    continue
            if name not in chosen:
                chosen.append(name)
        ss[FMTS.selected] = chosen
    notes += read_params(qp, PARAMS)
    if "table" in qp:
        notes += table_from_query(qp["table"])
    ss[FMTS.notes] = notes


def unknown_format_note(item: str, customs) -> str:
    """The note for a name in ``formats=`` that names no format: the close names (registry names,
    aliases, the session's custom formats), if any, and where every format is listed."""
    names = {n.lower(): n for n in (*FORMATS, *ALIASES, *customs)}
    key = item.lower()
    close = [names[m] for m in dict.fromkeys([n for n in names if n.startswith(key)] + difflib.get_close_matches(key, list(names), n=3, cutoff=0.6))][:3]
    count = len(FORMATS) + len(customs)
    if close:
        reason = _("unknown format; did you mean {names}? All {n} formats are listed in the Formats box below.").format(names=", ".join(map(shown_value, close)), n=count)
    else:
        reason = _("unknown format; all {n} formats are listed in the Formats box below.").format(n=count)
    return _("URL parameter formats: {value!r} ignored: {reason}").format(value=url_value(item), reason=reason)


def table_names(names) -> list[str]:
    """The chosen formats the code table can show (at most 8 bits), in order."""
    return [n for n in names if resolve_format(fmts_key(n)).bits <= 8]


def table_from_query(text: str) -> list[str]:
    """Apply ``table`` (one of the chosen formats of at most 8 bits) to the code table's
    picker; a name that is not one of them is reported (the page shows the first one)."""
    ss = st.session_state
    table, names = text.strip(), table_names(ss.get(FMTS.selected, []))
    if table in names or not names:  # no small format chosen: no table, nothing to choose
        ss[FMTS.table] = table
        return []
    ss[FMTS.table] = names[0]
    return [_("URL parameter {name}={value!r} is not one of {options}.").format(name="table", value=url_value(table), options=", ".join(names))]


def value_problem(exc: Exception, text: str) -> str:
    """Why the value (or range) ``text`` of "where does my number land" cannot be used, with
    the text and each end of a range cut and escaped where quantlib's message repeats them."""
    reason = shown_in(exc, text)
    for part in RANGE_SPLIT.split(text.strip()):  # each end of a range, as parse_value_or_range splits it
        reason = shown_in(reason, part)
    return reason


def reference_note(item: str, reason: str) -> str:
    """The note for a reference line that cannot be drawn: ``reason`` is quantlib's (it
    repeats the item's number), or empty for 0, inf and nan."""
    number = item.partition(" ")[0]
    return _("Reference line {item!r} ignored: {reason}").format(
        item=url_value(item), reason=shown_in(reason, number) if reason else _("0, inf and nan have no place on a log scale")
    )


def fmts_url(table_default: str | None) -> dict[str, str]:
    """The canonical query parameters of the current Format Comparison state."""
    ss = st.session_state
    selected = list(ss.get(FMTS.selected, []))
    customs = fmts_customs()
    params = {"formats": ",".join(selected)}
    used = [n for n in selected if n in customs]
    if used:
        params["custom"] = ",".join(custom_spec(n, customs[n]) for n in used)
    params.update(params_to_query(PARAMS))
    table = ss.get(FMTS.table)
    if table and table != table_default:
        params["table"] = table
    return params


def on_add_custom() -> None:
    """The "Add" button of the custom-format control: define (or redefine) the named layout
    and append it to the selection."""
    ss = st.session_state
    k = FMTS.new
    bias = ss.get(k + "_bias")
    layout = (
        int(ss.get(k + "_e", 4)), int(ss.get(k + "_m", 3)), None if bias is None else int(bias),
        ss.get(k + "_nonfinite", "ieee"), bool(ss.get(k + "_signed", True)),
    )
    try:
        fmt = resolve_format(("custom", *layout))
        problem = float64_problem(fmt)
    except ValueError as exc:
        problem = str(exc)
    if problem:
        ss[FMTS.add_error] = _("This layout is not a valid format: {reason}").format(reason=problem)
        return
    name = (ss.get(FMTS.new_name) or "").strip() or fmt.name
    problem = check_custom_name(name)
    if problem:
        ss[FMTS.add_error] = problem
        return
    ss.pop(FMTS.add_error, None)
    fmts_customs()[name] = layout
    selected = list(ss.get(FMTS.selected, []))
    if name not in selected:
        selected.append(name)
    ss[FMTS.selected] = selected
    ss[FMTS.new_name] = ""
