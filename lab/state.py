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

from typing import Any

import streamlit as st

from quantlib import FORMATS, get_format
from quantlib.exact import ROUNDING_MODES

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
            nf = qp["nonfinite"].strip().lower()
            if nf in NONFINITE:
                st.session_state[key + "_nonfinite"] = nf
            else:
                warnings.append(
                    _("URL parameter nonfinite={value!r} is not one of {options}.").format(
                        value=qp["nonfinite"], options=", ".join(NONFINITE)
                    )
                )
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
        r = qp["rounding"].strip().lower()
        if r in ROUNDINGS:
            ss[BITS.rounding] = r
        else:
            notes.append(
                _("URL parameter rounding={value!r} is not one of {options}.").format(
                    value=qp["rounding"], options=", ".join(ROUNDINGS)
                )
            )
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
