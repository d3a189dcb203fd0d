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

A page's own keys and callbacks live in its folder (``lab/bits/state.py``, ...), so the page
file stays layout only.
"""

from __future__ import annotations


import streamlit as st

from quantlib import FORMATS, get_format
from quantlib.exact import ROUNDING_MODES

from lab.core.i18n import LANG_KEY, _

__all__ = ["query_dict", "url_is_new", "write_url", "CUSTOM", "NONFINITE", "ROUNDINGS", "format_from_query", "format_to_query"]

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
    widget keys of :func:`lab.core.widgets.format_picker` ``key``; returns warnings."""
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
