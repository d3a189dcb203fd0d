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
4. A tab reconnected to a new session (the server restarted) brings its edit as widget values
   this session never drew: :func:`url_is_new` holds them back, :func:`write_url` replays them
   (:func:`hold_reconnected_tab`), so the first edit after a restart is not lost.

Each page declares its URL parameters once, as :class:`Param` values (``PARAMS`` in its
``state.py``: URL name, session key, kind, default); :func:`read_params` applies them and
collects the problems to show, :func:`params_to_query` writes them with defaults left out.
Only parameters that depend on each other (a format and its custom fields, a list of
schemes or runs, the Bit Inspector's one input) are read and written by hand.

A page's own keys and callbacks live in its folder (``lab/bits/state.py``, ...), so the page
file stays layout only.

A note echoes the URL's text through :func:`url_value` (``{value!r}`` in the msgid): at most
:data:`VALUE_LIMIT` characters, then "…", with markdown's special characters escaped, so
``st.warning(note)`` shows ``?seed=**7**`` as typed and renders no bold, link, image, math or HTML.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.runtime.state.session_state import Serialized

from quantlib import FORMATS, get_format
from quantlib.exact import ROUNDING_MODES

from lab.core.i18n import LANG_KEY, _

__all__ = ["Param", "Sections", "read_params", "params_to_query", "query_dict", "url_is_new", "write_url", "hold_reconnected_tab", "replay_reconnected_tab", "reconnected_string", "forget_reconnected_tab", "CUSTOM", "NONFINITE", "ROUNDINGS", "custom_format_params", "custom_to_query", "format_from_query", "format_to_query", "url_value", "shown_value", "shown_in", "plain_message", "scheme_pieces", "scheme_problem", "VALUE_LIMIT", "BIAS_LIMIT"]

_WRITTEN = "_url_written:"  # + page name -> the params this session last wrote
GLOBAL_PARAMS = (LANG_KEY,)  # owned by app.py, never touched by a page


def query_dict() -> dict[str, str]:
    """The page's query parameters (without ``lang``), one string per key."""
    qp = st.query_params
    return {k: qp[k] for k in qp.keys() if k not in GLOBAL_PARAMS}


def url_is_new(page: str) -> bool:
    """Whether the query string differs from what this page last wrote in this session.
    (First, a reconnected tab's widget values are held back: :func:`hold_reconnected_tab`.)"""
    hold_reconnected_tab(page)
    return query_dict() != st.session_state.get(_WRITTEN + page)


def write_url(page: str, params: dict[str, str]) -> None:
    """Make the query string exactly ``params`` (plus ``lang``), sending only changes;
    then replay what :func:`hold_reconnected_tab` held back in this run."""
    current = query_dict()
    for k in current:
        if k not in params:
            del st.query_params[k]
    for k, v in params.items():
        if current.get(k) != v:
            st.query_params[k] = v
    st.session_state[_WRITTEN + page] = dict(params)
    replay_reconnected_tab(page)


# --------------------------------------------------------------------------- a tab from an earlier session
_HELD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per script run: (page, the widget states held back).  Keyed by the run's
``ctx.parallel_coordinator``, which Streamlit makes anew for every run, so what a run held
and did not replay (it stopped before :func:`write_url`) is never replayed by a later one."""


def _take_undrawn_states(ctx) -> WidgetStates:
    """Take out of session state the widget values the browser sent for widgets this session
    never drew.  Streamlit keeps such a value serialized, with no metadata to read it by, only
    when the tab was drawn by an earlier session (the server restarted, the tab reconnected)."""
    held = WidgetStates()
    with ctx.session_state._lock:
        states = ctx.session_state._state._new_widget_state
        for wid, value in _undrawn(states):
            held.widgets.append(value.value)
            del states.states[wid]
    return held


def _undrawn(states) -> list[tuple[str, Serialized]]:
    """(widget id, value) of the values the browser sent for widgets this session never drew."""
    return [(wid, v) for wid, v in states.states.items() if isinstance(v, Serialized) and wid not in states.widget_metadata]


def hold_reconnected_tab(page: str) -> None:
    """The rule for a tab reconnected to a new session: its first rerun carries the user's
    edit as a widget value of a widget this session has not drawn, so Streamlit runs no
    callback for it and the page's own writes (the URL, a box filled from state) win over it;
    the edit was lost.  So this run holds those values back and draws the page from its URL
    as the old session showed it; :func:`replay_reconnected_tab` then sends them again."""
    ctx = get_script_run_ctx()
    if ctx is None or getattr(ctx, "parallel_coordinator", None) is None:
        return
    try:
        held = _take_undrawn_states(ctx)
    except AttributeError:  # Streamlit's session state changed shape (tests/test_app_bits_reconnect.py says so)
        return
    if held.widgets:
        _HELD[ctx.parallel_coordinator] = (page, held)


def reconnected_string(key: str) -> str | None:
    """The text a reconnected tab sent for the keyed widget ``key`` that this session has not
    drawn yet (a selectbox sends the name it shows: "简体中文" for ``lang="zh_CN"``), else None.
    For a widget drawn before any page runs (app.py's language selector), which
    :func:`hold_reconnected_tab` comes too late for."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    try:
        with ctx.session_state._lock:
            states = ctx.session_state._state._new_widget_state
            for wid, value in _undrawn(states):
                if re.fullmatch(r"\$\$ID-[0-9a-f]+-" + re.escape(key), wid):
                    return value.value.string_value if value.value.WhichOneof("value") == "string_value" else None
    except AttributeError:  # Streamlit's session state changed shape: the URL decides, as before
        return None
    return None


def forget_reconnected_tab() -> None:
    """Drop every value a reconnected tab sent for widgets this session has not drawn: after
    its language changed they name options in the other language (a selectbox sends the name
    it shows), so the page is drawn from its URL, which holds the same values."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        try:
            _take_undrawn_states(ctx)
        except AttributeError:
            pass


def replay_reconnected_tab(page: str) -> None:
    """Rerun with the values :func:`hold_reconnected_tab` held back, of the widgets this run
    drew, as if the browser sent them now: each changed widget's callback runs as for any edit."""
    ctx = get_script_run_ctx()
    if ctx is None or getattr(ctx, "parallel_coordinator", None) is None or ctx.script_requests is None:
        return
    held_page, held = _HELD.pop(ctx.parallel_coordinator, (None, None))
    drawn = [w for w in held.widgets if w.id in ctx.shared.widget_ids_this_run] if held_page == page else []
    if drawn:
        rerun = RerunData(
            query_string=ctx.query_string,
            page_script_hash=ctx.page_script_hash,
            widget_states=WidgetStates(widgets=drawn),
            cached_message_hashes=ctx.cached_message_hashes,
            context_info=ctx.context_info,
        )
        ctx.script_requests.request_rerun(rerun)


# --------------------------------------------------------------------------- the URL's text in a note
VALUE_LIMIT = 40
"""How many characters of a URL value a note repeats (then "…")."""
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()<>#+!|~$:&]")


def shown_value(text: str, limit: int = VALUE_LIMIT) -> str:
    r"""``text`` as a note shows it: its repr (quoted; control characters such as NUL and
    the right-to-left override as escapes), cut after ``limit`` characters with "…", and every
    markdown special character backslash-escaped, so that st.markdown / st.warning render it
    as the plain text it is: ``**b**`` -> ``'\*\*b\*\*'`` (shown as ``'**b**'``), ``7`` -> ``'7'``."""
    text = str(text)
    r = repr(text[:limit])
    if len(text) > limit:
        r = r[:-1] + "…" + r[-1]
    return _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), r)


def shown_in(message: object, text: str) -> str:
    r"""``message`` (an exception's, say) with every repr of the URL's ``text`` in it shown by
    :func:`shown_value`: get_format's "unknown format '**x**'; …" becomes "unknown format '\*\*x\*\*'; …".
    The text as the parsers quote it counts too: stripped (parse_code), and stripped and
    lower-cased (parse_scheme)."""
    out = str(message)
    text = str(text)
    for variant in dict.fromkeys((text, text.strip(), text.strip().lower())):
        out = out.replace(repr(variant), shown_value(variant))
    return out


def plain_message(message: object, *texts: str) -> str:
    r"""``message`` (an exception's) as plain text for st.markdown / st.error: every repr of one
    of ``texts`` (or of it stripped, or stripped and lower-cased) in it is shown by
    :func:`shown_value` (cut, escaped), every other markdown character is escaped:
    ``option block='**x**': …`` -> ``option block='\*\*x\*\*'\: …``."""
    out, shown = str(message), {}
    for text in sorted(dict.fromkeys(map(str, texts)), key=len, reverse=True):  # a piece inside a longer one: the longer first
        for variant in dict.fromkeys((text, text.strip(), text.strip().lower())):
            if repr(variant) in out:
                token = f"\x00{len(shown)}\x00"
                shown[token] = shown_value(variant)
                out = out.replace(repr(variant), token)
    out = _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), out)
    for token, value in shown.items():
        out = out.replace(token, value)
    return out


def scheme_pieces(text: str) -> list[str]:
    """The parts of a scheme string that quantlib.parse_scheme may quote in its error: the whole,
    its head, and each option, option name and value (``int4:block=64`` -> the whole, ``int4``,
    ``block=64``, ``block``, ``64``)."""
    s = str(text).strip()
    head, _sep, rest = s.partition(":")
    out = [s, head]
    for item in rest.split(","):
        key, _eq, value = item.strip().partition("=")
        out += [item, key, value]
    return [p for p in dict.fromkeys(out) if p.strip()]


def scheme_problem(exc: object, text: str) -> str:
    """Why the scheme string ``text`` was refused (quantlib's message ``exc``), as plain text:
    the pieces of ``text`` it quotes cut and escaped, its markdown escaped."""
    return plain_message(exc, *scheme_pieces(text))


class url_value(str):
    """A URL value to put in a translated note, used like a function: with ``{value!r}`` in the
    msgid, ``.format(value=url_value(text))`` gives :func:`shown_value` (so every translation
    is safe too); ``{value}`` gives the same without the quotes."""

    def __repr__(self) -> str:
        return shown_value(str(self))

    def __format__(self, spec: str) -> str:
        return format(shown_value(str(self))[1:-1], spec)


# --------------------------------------------------------------------------- formats
CUSTOM = "custom"
BIAS_LIMIT = 2**16
"""A custom layout's bias is at most ±BIAS_LIMIT (the bias box, and a bias from the URL): the
exact decimals of a layout biased by 2^20 have about 315 000 digits, 10 s and more to write."""
NONFINITE = ("ieee", "fn", "fnuz", "none")
ROUNDINGS = ROUNDING_MODES  # nearest_even first: the default

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
KINDS = ("int", "float", "bool", "choice", "text")


@dataclass(frozen=True)
class Param:
    """One URL query parameter of a page, declared once: ``name`` in the URL, ``key`` in
    session state, ``kind`` (int, float, bool, choice, text) how its text is read, and
    ``default``, which is left out of the URL.

    ``Param("seed", "bits_seed", "int", default=0, lo=0)``: ``?seed=7`` sets
    ``session_state["bits_seed"] = 7``, ``?seed=-3`` uses 0 and says so, ``?seed=x`` is
    reported and ignored; a seed of 0 is not written to the URL.  ``options`` restrict a
    choice (or an int); ``snap`` replaces a number by the nearest allowed one (relatively,
    for floats); ``lower`` compares a choice lower-cased; ``clamp=False`` reports a number
    outside ``lo…hi`` and ignores it instead of using the nearest end."""

    name: str
    key: str
    kind: str
    default: Any = None
    options: tuple = ()
    lo: float | None = None
    hi: float | None = None
    snap: tuple = ()
    lower: bool = True
    clamp: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param kind must be one of {KINDS}, not {self.kind!r}")

    def read(self, text: str) -> tuple[Any, str | None]:
        """(value, a note or None) from the URL text; ValueError (the message) if unusable."""
        raw = text.strip()
        name = self.name
        shown = url_value(raw)
        if self.kind == "text":
            return raw, None
        if self.kind == "bool":
            if raw.lower() in _TRUE:
                return True, None
            if raw.lower() in _FALSE:
                return False, None
            raise ValueError(_("URL parameter {name}={value!r} should be 1 or 0.").format(name=name, value=shown))
        if self.kind == "choice":
            value = raw.lower() if self.lower else raw
            if value not in self.options:
                raise ValueError(_("URL parameter {name}={value!r} is not one of {options}.").format(name=name, value=shown, options=", ".join(map(str, self.options))))
            return value, None
        try:
            value = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            msg = _("URL parameter {name}={value!r} is not an integer.") if self.kind == "int" else _("URL parameter {name}={value!r} is not a number.")
            raise ValueError(msg.format(name=name, value=shown)) from None
        if self.kind == "float" and not math.isfinite(value):
            raise ValueError(_("URL parameter {name}={value!r} is not a number.").format(name=name, value=shown))
        if self.options and value not in self.options:
            raise ValueError(_("URL parameter {name}={value!r} is not one of {options}.").format(name=name, value=shown, options=", ".join(map(str, self.options))))
        note = None
        lo = -math.inf if self.lo is None else self.lo
        hi = math.inf if self.hi is None else self.hi
        if not lo <= value <= hi and not self.clamp:
            raise ValueError(_("URL parameter {name}={value!r} is not one of {options}.").format(name=name, value=shown, options=f"{_show(self.lo, '−∞')} … {_show(self.hi, '∞')}"))
        if not lo <= value <= hi:
            used = min(hi, max(lo, value))
            note = _("URL parameter {name}={value!r} is outside {lo}…{hi}: {used} is used.").format(
                name=name, value=shown, lo=_show(self.lo, "−∞"), hi=_show(self.hi, "∞"), used=_show(used, "")
            )
            value = type(value)(used)
        if self.snap:
            value = min(self.snap, key=lambda c: abs(c - value) / (abs(c) or 1) if self.kind == "float" else abs(c - value))
        return value, note

    def show(self, value: Any) -> str:
        """The URL text of ``value``: ``1``/``0`` for a bool, ``%g`` for a float."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return f"{float(value):g}"
        if self.kind == "int":
            return str(int(value))
        return str(value).strip()


def _show(v: float | None, none: str) -> str:
    if v is None:
        return none
    return f"{v:g}" if isinstance(v, float) else str(v)


def read_params(qp: Mapping[str, str], params: Sequence[Param]) -> list[str]:
    """Set the session key of every parameter of ``params`` present in ``qp``; returns the
    notes (bad values are reported and leave their key alone)."""
    notes: list[str] = []
    ss = st.session_state
    for p in params:
        if p.name not in qp:
            continue
        try:
            value, note = p.read(qp[p.name])
        except ValueError as exc:
            notes.append(str(exc))
            continue
        if note:
            notes.append(note)
        ss[p.key] = value
    return notes


def params_to_query(params: Sequence[Param], values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The URL text of every parameter whose value (from ``values`` by session key, else
    from session state) is set and not its default."""
    src = st.session_state if values is None else values
    out: dict[str, str] = {}
    for p in params:
        if p.key not in src:
            continue
        v = src[p.key]
        if v is None or v == p.default or (p.kind == "text" and not str(v).strip()):
            continue
        out[p.name] = p.show(v)
    return out


@dataclass(frozen=True)
class Sections:
    """A page's lazy tabs in the URL: ``?section=<key>``.  ``labels``: URL value -> msgid, in
    page order (the first is open by default); ``key``: the session key of ``st.tabs``, which
    holds the open tab's *translated label*, so the URL value is found by label."""

    key: str
    labels: dict

    @property
    def param(self) -> Param:
        return Param("section", self.key, "choice", default=next(iter(self.labels)), options=tuple(self.labels), lower=False)

    def read(self, qp: Mapping[str, str]) -> list[str]:
        """Open the tab ``?section=`` names; returns the problem with a bad value, if any."""
        if "section" not in qp:
            return []
        try:
            st.session_state[self.key] = _(self.labels[self.param.read(qp["section"])[0]])
        except ValueError as exc:
            return [str(exc)]
        return []

    def open(self) -> str:
        """The URL value of the open tab (the first when none was chosen yet)."""
        label = st.session_state.get(self.key)
        for value, msgid in self.labels.items():
            if label == _(msgid):
                return value
        return next(iter(self.labels))

    def to_query(self) -> dict[str, str]:
        return params_to_query((self.param,), {self.key: self.open()})


def custom_format_params(key: str) -> tuple[Param, ...]:
    """The URL parameters of a custom layout in the format picker ``key`` (its widget keys
    ``key_e`` … ``key_signed``): ``e``, ``m``, ``bias`` (omitted: the format's own),
    ``nonfinite`` (always written) and ``signed`` (written only as ``0``)."""
    return (
        Param("e", key + "_e", "int"),
        Param("m", key + "_m", "int"),
        Param("bias", key + "_bias", "int"),
        Param("nonfinite", key + "_nonfinite", "choice", options=NONFINITE),
        Param("signed", key + "_signed", "bool", default=True),
    )


def custom_to_query(nexp, nmant, bias, nonfinite, signed) -> dict[str, str]:
    """``custom_to_query(4, 3, None, "fn", True) == {"format": "custom", "e": "4", "m": "3", "nonfinite": "fn"}``."""
    params = custom_format_params("")
    values = dict(zip((p.key for p in params), (nexp, nmant, bias, nonfinite, signed)))
    return {"format": CUSTOM, **params_to_query(params, values)}


def format_from_query(qp: dict[str, str], key: str) -> list[str]:
    """Apply ``format`` (and ``e, m, bias, nonfinite, signed`` for a custom one) to the
    widget keys of :func:`lab.core.widgets.format_picker` ``key``; returns warnings."""
    if "format" not in qp:
        return []
    name = qp["format"].strip()
    if name.lower() == CUSTOM:
        st.session_state[key] = CUSTOM
        params = custom_format_params(key)
        if "bias" in qp and qp["bias"].strip() in ("", "auto"):  # the layout's own bias
            st.session_state[key + "_bias"] = None
            params = tuple(p for p in params if p.name != "bias")
        return read_params(qp, params)
    try:
        st.session_state[key] = get_format(name).name
    except ValueError as exc:
        return [_("URL parameter format={value!r} ignored: {reason}").format(value=url_value(name), reason=shown_in(exc, name))]
    return []


def format_to_query(key: str) -> dict[str, str]:
    """The URL parameters describing the format chosen in picker ``key``."""
    ss = st.session_state
    name = ss.get(key)
    if name != CUSTOM:
        return {"format": name or next(iter(FORMATS))}
    return custom_to_query(ss.get(key + "_e"), ss.get(key + "_m"), ss.get(key + "_bias"), ss.get(key + "_nonfinite", "ieee"), ss.get(key + "_signed", True))
