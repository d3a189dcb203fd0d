"""Page state <-> URL query parameters.

The rule every page follows:

1. At the top of the page, :func:`url_is_new` tells whether the query string came from
   outside (a typed or shared URL, a link with ``query_params``) rather than from this
   session's own last :func:`write_url`.  Only then is it applied to session state, so
   the URL never fights the widgets.
2. Widgets keep their values under fixed session-state keys (``persist_state="session"``
   so a page keeps its state while the user visits another page).
3. At the bottom, the page calls :func:`write_url` with its canonical parameters:
   only changed keys are sent to the browser, keys of other pages are dropped, and
   ``lang`` (owned by ``app.py``) is left alone.

The Bit Inspector's own keys and callbacks live at the end of this module, so the page
file stays layout only.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from quantlib import FORMATS, get_format
from quantlib.exact import ROUNDING_MODES

from .cached import resolve_format
from .i18n import LANG_KEY, _

__all__ = [
    "query_dict",
    "url_is_new",
    "write_url",
    "CUSTOM",
    "NONFINITE",
    "ROUNDINGS",
    "format_from_query",
    "format_to_query",
    "BITS",
    "bits_model",
    "bits_load_url",
    "bits_url",
    "FMTS",
    "custom_spec",
    "parse_custom_spec",
    "check_custom_name",
    "fmts_customs",
    "fmts_key",
    "fmts_load_url",
    "fmts_url",
    "on_add_custom",
    "bits_link_params",
]

_WRITTEN = "_url_written:"  # + page name -> the params this session last wrote
GLOBAL_PARAMS = (LANG_KEY,)  # owned by app.py, never touched by a page


def query_dict() -> dict[str, str]:
    """The page's query parameters (without ``lang``), one string per key."""
    qp = st.query_params
    return {k: qp[k] for k in qp.keys() if k not in GLOBAL_PARAMS}


def url_is_new(page: str) -> bool:
    """Whether the query string differs from what this page last wrote in this session."""
    return query_dict() != st.session_state.get(_WRITTEN + page)


def write_url(page: str, params: dict[str, str]) -> None:
    """Make the query string exactly ``params`` (plus ``lang``), sending only changes."""
    current = query_dict()
    for k in current:
        if k not in params:
            del st.query_params[k]
    for k, v in params.items():
        if current.get(k) != v:
            st.query_params[k] = v
    st.session_state[_WRITTEN + page] = dict(params)


# --------------------------------------------------------------------------- formats
CUSTOM = "custom"
NONFINITE = ("ieee", "fn", "fnuz", "none")
ROUNDINGS = ROUNDING_MODES  # nearest_even first: the default
FORMAT_PARAMS = ("format", "e", "m", "bias", "nonfinite", "signed")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _int_param(qp: dict[str, str], name: str) -> int:
    text = qp[name].strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(_("URL parameter {name}={value!r} is not an integer.").format(name=name, value=text)) from None


def _choice_param(qp: dict[str, str], name: str, options, *, lower: bool = False) -> str:
    """The value of ``name`` if it is one of ``options`` (compared lower-cased with ``lower``),
    else ValueError: ``URL parameter view='big' is not one of linear, log2, norm.``"""
    text = qp[name].strip()
    value = text.lower() if lower else text
    if value not in options:
        raise ValueError(_("URL parameter {name}={value!r} is not one of {options}.").format(name=name, value=text, options=", ".join(map(str, options))))
    return value


def _bool_param(qp: dict[str, str], name: str) -> bool:
    text = qp[name].strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(_("URL parameter {name}={value!r} should be 1 or 0.").format(name=name, value=qp[name]))


def format_from_query(qp: dict[str, str], key: str) -> list[str]:
    """Apply ``format`` (and ``e, m, bias, nonfinite, signed`` for a custom one) to the
    widget keys of :func:`lab.widgets.format_picker` ``key``; returns warnings."""
    if "format" not in qp:
        return []
    warnings: list[str] = []
    name = qp["format"].strip()
    if name.lower() == CUSTOM:
        st.session_state[key] = CUSTOM
        for p, suffix in (("e", "_e"), ("m", "_m")):
            if p in qp:
                try:
                    st.session_state[key + suffix] = _int_param(qp, p)
                except ValueError as exc:
                    warnings.append(str(exc))
        if "bias" in qp:
            try:
                st.session_state[key + "_bias"] = None if qp["bias"].strip() in ("", "auto") else _int_param(qp, "bias")
            except ValueError as exc:
                warnings.append(str(exc))
        if "nonfinite" in qp:
            try:
                st.session_state[key + "_nonfinite"] = _choice_param(qp, "nonfinite", NONFINITE, lower=True)
            except ValueError as exc:
                warnings.append(str(exc))
        if "signed" in qp:
            try:
                st.session_state[key + "_signed"] = _bool_param(qp, "signed")
            except ValueError as exc:
                warnings.append(str(exc))
        return warnings
    try:
        st.session_state[key] = get_format(name).name
    except ValueError as exc:
        warnings.append(_("URL parameter format={value!r} ignored: {reason}").format(value=name, reason=exc))
    return warnings


def format_to_query(key: str) -> dict[str, str]:
    """The URL parameters describing the format chosen in picker ``key``."""
    name = st.session_state.get(key)
    if name != CUSTOM:
        return {"format": name or next(iter(FORMATS))}
    out = {"format": CUSTOM}
    for p in ("e", "m"):
        v = st.session_state.get(f"{key}_{p}")
        if v is not None:
            out[p] = str(int(v))
    bias = st.session_state.get(key + "_bias")
    if bias is not None:
        out["bias"] = str(int(bias))
    out["nonfinite"] = st.session_state.get(key + "_nonfinite", "ieee")
    if not st.session_state.get(key + "_signed", True):
        out["signed"] = "0"
    return out


# --------------------------------------------------------------------------- Bit Inspector
class BITS:
    """Session-state keys of the Bit Inspector (``/bits``)."""

    page = "bits"
    fmt = "bits_fmt"            # format picker (and bits_fmt_e, _m, _bias, _nonfinite, _signed)
    rounding = "bits_rounding"
    seed = "bits_seed"
    saturate = "bits_saturate"
    value = "bits_value"        # decimal text box
    hex = "bits_hex"            # hex text box
    bin = "bits_bin"            # binary text box
    model = "bits_model"        # dict: what the user last set (see bits_model)
    notes = "bits_url_notes"    # warnings from the last URL load

    default_format = "float32"
    default_value = "0.1"
    default_seed = 0


def bits_model() -> dict[str, Any]:
    """What the user last set, the single source of truth of the page's input.

    ``source`` is "value" (``value_text`` is a decimal to round), "hex" or "bin"
    (``code_text`` still to be parsed in the current format), or "code" (``code``, an
    int set by the bit toggles, the ±1 buttons or a parsed hex/bin; ``via`` is the
    box to name it by in the URL).  ``shown_decimal`` is the exact value displayed by
    the last run, for the format-change callback.
    """
    model = st.session_state.get(BITS.model)
    if model is None:
        model = {
            "source": "value",
            "value_text": BITS.default_value,
            "code_text": "",
            "code": None,
            "via": "hex",
            "shown_decimal": None,
        }
        st.session_state[BITS.model] = model
    return model


def bits_defaults() -> None:
    """Give every Bit Inspector widget key its default, once per session."""
    ss = st.session_state
    ss.setdefault(BITS.fmt, BITS.default_format)
    ss.setdefault(BITS.rounding, ROUNDINGS[0])
    ss.setdefault(BITS.seed, BITS.default_seed)
    ss.setdefault(BITS.saturate, False)
    bits_model()


def bits_load_url() -> None:
    """Apply the URL to the page state when it came from outside; keep warnings for display."""
    bits_defaults()
    if not url_is_new(BITS.page):
        return
    qp = query_dict()
    notes = format_from_query(qp, BITS.fmt)
    model = bits_model()
    ss = st.session_state
    if "rounding" in qp:
        try:
            ss[BITS.rounding] = _choice_param(qp, "rounding", ROUNDINGS, lower=True)
        except ValueError as exc:
            notes.append(str(exc))
    if "seed" in qp:
        try:
            ss[BITS.seed] = _int_param(qp, "seed")
        except ValueError as exc:
            notes.append(str(exc))
    if "saturate" in qp:
        try:
            ss[BITS.saturate] = _bool_param(qp, "saturate")
        except ValueError as exc:
            notes.append(str(exc))
    given = [p for p in ("value", "hex", "bin") if p in qp]
    if len(given) > 1:
        notes.append(
            _("The URL gives {params}; only one input is used: {used}.").format(
                params=", ".join(given), used=given[-1]
            )
        )
    if given:
        p = given[-1]
        if p == "value":
            model.update(source="value", value_text=qp["value"])
        else:
            model.update(source=p, code_text=qp[p], via=p)
    ss[BITS.notes] = notes


def bits_url(model: dict[str, Any], shown_hex: str | None, shown_bin: str | None) -> dict[str, str]:
    """The canonical query parameters of the current Bit Inspector state."""
    ss = st.session_state
    params = format_to_query(BITS.fmt)
    source = model["source"]
    if source == "value":
        params["value"] = model["value_text"]
    elif source in ("hex", "bin"):
        params[source] = model["code_text"]  # not parsed (yet): keep what was typed
    elif model["via"] == "bin" and shown_bin is not None:
        params["bin"] = shown_bin
    elif shown_hex is not None:
        params["hex"] = shown_hex.removeprefix("0x")
    rounding = ss.get(BITS.rounding, ROUNDINGS[0])
    if rounding != ROUNDINGS[0]:
        params["rounding"] = rounding
        if rounding == "stochastic":
            params["seed"] = str(int(ss.get(BITS.seed, 0)))
    if ss.get(BITS.saturate):
        params["saturate"] = "1"
    return params


# callbacks: run before the script, so they only record what the user did
def on_value_typed() -> None:
    bits_model().update(source="value", value_text=st.session_state.get(BITS.value, ""))


def on_hex_typed() -> None:
    bits_model().update(source="hex", code_text=st.session_state.get(BITS.hex, ""), via="hex")


def on_bin_typed() -> None:
    bits_model().update(source="bin", code_text=st.session_state.get(BITS.bin, ""), via="bin")


def set_code(code: int | None) -> None:
    """Show ``code`` (bit toggles, ±1 buttons)."""
    if code is not None:
        model = bits_model()
        model.update(source="code", code=int(code))


def on_format_changed() -> None:
    """Keep the *value* when the format changes: a code becomes the input to round."""
    model = bits_model()
    if model["source"] != "value" and model.get("shown_decimal") is not None:
        model.update(source="value", value_text=model["shown_decimal"])


# --------------------------------------------------------------------------- Format Comparison
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

    The layout is checked by FloatFormat itself (via :func:`lab.cached.resolve_format`)."""
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
                value=text, options=", ".join(NONFINITE)
            )
        )
    layout = (int(m[1]), int(m[2]), None if m[3] is None else int(m[3]), nonfinite, not unsigned)
    problem = check_custom_name(parts[0])
    if problem:
        raise ValueError(problem)
    try:
        resolve_format(("custom", *layout))
    except ValueError as exc:
        raise ValueError(_("Custom format {name!r} is not valid: {reason}").format(name=parts[0], reason=exc)) from None
    return parts[0], layout


def check_custom_name(name: str) -> str | None:
    """Why ``name`` cannot name a custom format (translated), or None."""
    if not re.fullmatch(CUSTOM_NAME_RE, name or ""):
        return _("A custom format's name starts with a letter and has at most 32 letters, digits, '_', '.' or '-' (got {name!r}).").format(name=name)
    try:
        get_format(name)
    except ValueError:
        pass
    else:
        return _("{name!r} is already the name of a registry format; choose another name.").format(name=name)
    if name.lower() == CUSTOM:
        return _("{name!r} is reserved; choose another name.").format(name=name)
    return None


def fmts_customs() -> dict[str, tuple]:
    """The custom formats defined in this session, by name (in definition order)."""
    return st.session_state.setdefault(FMTS.customs, {})


def fmts_key(name: str):
    """The lab.cached format key of a selected name (registry name, or a named custom layout)."""
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
    if "custom" in qp:
        for item in qp["custom"].split(","):
            if not item.strip():
                continue
            try:
                name, layout = parse_custom_spec(item)
            except ValueError as exc:
                notes.append(str(exc))
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
                except ValueError as exc:
                    notes.append(_("URL parameter formats: {value!r} ignored: {reason}").format(value=item, reason=exc))
                    continue
            if name not in chosen:
                chosen.append(name)
        ss[FMTS.selected] = chosen
    if "value" in qp:
        ss[FMTS.value] = qp["value"]
    if "refs" in qp:
        ss[FMTS.refs] = qp["refs"]
    if "saturate" in qp:
        try:
            ss[FMTS.saturate] = _bool_param(qp, "saturate")
        except ValueError as exc:
            notes.append(str(exc))
    for param, key in (("codebooks", FMTS.books), ("zoom", FMTS.zoom)):
        if param in qp:
            try:
                ss[key] = _bool_param(qp, param)
            except ValueError as exc:
                notes.append(str(exc))
    if "view" in qp:
        try:
            ss[FMTS.view] = _choice_param(qp, "view", FMTS.views, lower=True)
        except ValueError as exc:
            notes.append(str(exc))
    if "table" in qp:
        ss[FMTS.table] = qp["table"].strip()
    ss[FMTS.notes] = notes


def fmts_url(table_default: str | None) -> dict[str, str]:
    """The canonical query parameters of the current Format Comparison state."""
    ss = st.session_state
    selected = list(ss.get(FMTS.selected, []))
    customs = fmts_customs()
    params = {"formats": ",".join(selected)}
    used = [n for n in selected if n in customs]
    if used:
        params["custom"] = ",".join(custom_spec(n, customs[n]) for n in used)
    if ss.get(FMTS.value, "").strip():
        params["value"] = ss[FMTS.value].strip()
    if ss.get(FMTS.refs, "").strip():
        params["refs"] = ss[FMTS.refs].strip()
    if ss.get(FMTS.saturate):
        params["saturate"] = "1"
    if ss.get(FMTS.view, FMTS.views[0]) != FMTS.views[0]:
        params["view"] = ss[FMTS.view]
    if not ss.get(FMTS.books, True):
        params["codebooks"] = "0"
    if not ss.get(FMTS.zoom, True):
        params["zoom"] = "0"
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
    except ValueError as exc:
        ss[FMTS.add_error] = _("This layout is not a valid format: {reason}").format(reason=exc)
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


def bits_link_params(fmt_key, code: int, bits: int) -> dict[str, str]:
    """Query parameters that open ``code`` of a format in the Bit Inspector (``lang`` kept)."""
    if isinstance(fmt_key, str):
        params = {"format": fmt_key}
    else:
        _tag, nexp, nmant, bias, nonfinite, signed, *_name = fmt_key
        params = {"format": CUSTOM, "e": str(nexp), "m": str(nmant)}
        if bias is not None:
            params["bias"] = str(bias)
        params["nonfinite"] = nonfinite
        if not signed:
            params["signed"] = "0"
    params["hex"] = f"{code:0{(bits + 3) // 4}X}"
    lang = st.session_state.get(LANG_KEY)
    if lang and lang != "en":
        params[LANG_KEY] = lang
    return params
