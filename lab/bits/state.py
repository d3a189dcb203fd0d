"""The Bit Inspector's (``/bits``) session-state keys, URL <-> state and callbacks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from quantlib import get_format

from lab.core.i18n import LANG_KEY, _
from lab.core.state import (
    BIAS_LIMIT,
    CUSTOM,
    ROUNDINGS,
    Param,
    custom_format_params,
    custom_to_query,
    format_from_query,
    format_to_query,
    params_to_query,
    query_dict,
    read_params,
    shown_in,
    url_is_new,
    url_value,
)


class BITS:
    """Session-state keys of the Bit Inspector (``/bits``)."""

    page = "bits"
    fmt = "bits_fmt"  # format picker (and bits_fmt_e, _m, _bias, _nonfinite, _signed)
    rounding = "bits_rounding"
    seed = "bits_seed"
    saturate = "bits_saturate"
    value = "bits_value"  # decimal text box
    hex = "bits_hex"  # hex text box
    bin = "bits_bin"  # binary text box
    model = "bits_model"  # dict: what the user last set (see bits_model)
    notes = "bits_url_notes"  # warnings from the last URL load
    cast_fmt = "bits_cast_fmt"  # the cast view's target format picker (and bits_cast_fmt_e, ...)
    cast_saturate = "bits_cast_saturate"
    cast_open = "bits_cast_open"  # True once the URL named a cast: its expander opens

    default_format = "float32"
    default_cast = "bfloat16"  # float32 0.1 -> bfloat16 rounds up: 0.10009765625
    default_value = "0.1"
    default_seed = 0


PARAMS = (
    Param("rounding", BITS.rounding, "choice", default=ROUNDINGS[0], options=ROUNDINGS),
    Param("seed", BITS.seed, "int", default=BITS.default_seed, lo=0),
    Param("saturate", BITS.saturate, "bool", default=False),
    Param("cast_sat", BITS.cast_saturate, "bool", default=False),
)
"""The Bit Inspector's plain URL parameters (besides the formats and the one input)."""

CAST_PREFIX = "cast_"
CAST_CUSTOM = tuple(replace(p, name=CAST_PREFIX + p.name) for p in custom_format_params(BITS.cast_fmt))
"""The cast target's custom layout in the URL: ``cast=custom&cast_e=4&cast_m=3&cast_nonfinite=fn``."""

WIDGET_LIMITS = {"e": (1, 16), "bias": (-BIAS_LIMIT, BIAS_LIMIT)}
"""What a custom layout from the URL may hold (FloatFormat: 1 to 16 exponent bits; the bias
box: ±2^16, BIAS_LIMIT); the mantissa may have up to 64 − sign − E bits.  Streamlit would silently
replace a value outside its number box's range, so the page clamps it and says so."""


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
    ss.setdefault(BITS.cast_fmt, BITS.default_cast)
    ss.setdefault(BITS.cast_saturate, False)
    bits_model()


def custom_range_notes(qp: dict[str, str], key: str, prefix: str = "") -> list[str]:
    """Clamp a custom layout's E, M and bias from the URL into what the picker ``key`` can hold,
    with a note for each value changed (``?e=99`` -> "URL parameter e='99' is outside 1…16:
    16 is used."); unreadable values were already reported by :func:`format_from_query`."""
    ss = st.session_state
    if ss.get(key) != CUSTOM:
        return []
    notes: list[str] = []
    for field in ("e", "m", "bias"):
        name = prefix + field
        if name not in qp or qp[name].strip() in ("", "auto"):
            continue
        if field == "m":
            lo, hi = 0, 64 - int(bool(ss.get(key + "_signed", True))) - int(ss.get(key + "_e") or 1)
        else:
            lo, hi = WIDGET_LIMITS[field]
        try:
            value, note = Param(name, key + "_" + field, "int", lo=lo, hi=hi).read(qp[name])
        except ValueError:
            continue
        if note:
            notes.append(note)
            ss[key + "_" + field] = value
    return notes


def input_problem(exc: Exception, model: dict[str, Any], source: str) -> str:
    """quantlib's message about the page's input (``source`` as it was before parsing), with
    the text typed or brought by the URL in it cut and escaped (:func:`shown_in`)."""
    text = model["value_text"] if source == "value" else model["code_text"] if source in ("hex", "bin") else ""
    return shown_in(exc, text) if text else str(exc)


def cast_from_query(qp: dict[str, str]) -> list[str]:
    """Apply ``cast`` (a format name, or ``custom`` with ``cast_e`` …) to the cast picker."""
    if "cast" not in qp:
        return []
    ss = st.session_state
    ss[BITS.cast_open] = True
    name = qp["cast"].strip()
    if name.lower() == CUSTOM:
        ss[BITS.cast_fmt] = CUSTOM
        params = CAST_CUSTOM
        if qp.get(CAST_PREFIX + "bias", "x").strip() in ("", "auto"):  # the layout's own bias
            ss[BITS.cast_fmt + "_bias"] = None
            params = tuple(p for p in params if p.name != CAST_PREFIX + "bias")
        notes = read_params(qp, params)
        return notes + custom_range_notes(qp, BITS.cast_fmt, CAST_PREFIX)
    try:
        ss[BITS.cast_fmt] = get_format(name).name
    except ValueError as exc:
        return [_("URL parameter cast={value!r} ignored: {reason}").format(value=url_value(name), reason=shown_in(exc, name))]
    return []


def cast_to_query() -> dict[str, str]:
    """``{"cast": "float8_e4m3fn"}``, the custom layout as ``cast_e`` …, or {} for the default."""
    params = format_to_query(BITS.cast_fmt)
    if params.get("format") == BITS.default_cast:
        return {}
    return {("cast" if k == "format" else CAST_PREFIX + k): v for k, v in params.items()}


def bits_load_url() -> None:
    """Apply the URL to the page state when it came from outside; keep warnings for display."""
    bits_defaults()
    if not url_is_new(BITS.page):
        return
    qp = query_dict()
    notes = format_from_query(qp, BITS.fmt)
    notes += custom_range_notes(qp, BITS.fmt)
    model = bits_model()
    ss = st.session_state
    notes += read_params(qp, PARAMS)
    if "cast_sat" in qp:
        ss[BITS.cast_open] = True
    notes += cast_from_query(qp)
    given = [p for p in ("value", "hex", "bin") if p in qp]
    if len(given) > 1:
        notes.append(_("The URL gives {params}; only one input is used: {used}.").format(params=", ".join(given), used=given[-1]))
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
    params.update(params_to_query(PARAMS))
    params.update(cast_to_query())
    params.pop("seed", None)
    if ss.get(BITS.rounding) == "stochastic":  # the seed matters only there, and is always written there
        params["seed"] = str(int(ss.get(BITS.seed, BITS.default_seed)))
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


def bits_link_params(fmt_key, code: int, bits: int) -> dict[str, str]:
    """Query parameters that open ``code`` of a format in the Bit Inspector (``lang`` kept)."""
    if isinstance(fmt_key, str):
        params = {"format": fmt_key}
    else:
        _tag, nexp, nmant, bias, nonfinite, signed, *_name = fmt_key
        params = custom_to_query(nexp, nmant, bias, nonfinite, signed)
    params["hex"] = f"{code:0{(bits + 3) // 4}X}"
    lang = st.session_state.get(LANG_KEY)
    if lang and lang != "en":
        params[LANG_KEY] = lang
    return params
