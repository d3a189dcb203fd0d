"""Hostile URLs on every page: every URL parameter of every page gets every value of
:data:`HOSTILE` (10 000 characters, markup, out-of-range and non-finite numbers, unknown names,
the empty string, CJK, a right-to-left override, a NUL byte), a parameter given twice, and
parameter names no page knows.

For each, through AppTest: no exception element, the page still draws its main content, a bad
value gets a note that names the parameter, and nothing the URL brought is rendered as markup
(no bold, link, image, script or math from the URL in a markdown or HTML body; a long value is
never repeated in full).  The same table goes through every declared :class:`Param` directly
(fast), where the notes are made.

Cost: one session per page (each hostile URL is pasted into it in turn, as a user would), so a
page open is one page run; the heavy pages (model, llm, amp, qat) get a few opens that mix the
values over their parameters (their defaults are computed once, and a hostile value falls back to
them), and out-of-range numbers go to their cheap end there (1 epoch, 1 seed).  Values that
would make a run expensive on purpose are tested apart (:func:`test_custom_bias_at_the_url_limit_is_fast`).
"""

from __future__ import annotations

import copy
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from streamlit.testing.v1 import AppTest

from lab.amp import state as amp_state
from lab.bits import state as bits_state
from lab.core.state import VALUE_LIMIT, Param, custom_format_params, shown_in, shown_value
from lab.cost import state as cost_state
from lab.formats import state as fmts_state
from lab.learn import state as learn_state
from lab.llm import cached as llm_cached
from lab.llm import state as llm_state
from lab.model import cached as model_cached
from lab.model import state as model_state
from lab.model.closeup import PARAMS as MODEL_CLOSEUP_PARAMS
from lab.qat import state as qat_state
from lab.tensor import state as tensor_state
from quantlib.model.recipes import RECIPES
from tests.apptest import APP, ROOT

LONG = 10_000


def _long(name: str) -> str:
    return (name + "-" + "A" * LONG)[:LONG]


HOSTILE: dict[str, Callable[[str], str]] = {
    "long": _long,
    "script": lambda n: f"<script>alert('{n}')</script>",
    "img": lambda n: f"<img src=x onerror=alert('{n}')>",
    "bold": lambda n: f"**{n}**",
    "math": lambda n: f"$$\\{n}$$",
    "link": lambda n: f"[{n}](javascript:alert(1))",
    "huge": lambda n: "9" * 30,
    "negative": lambda n: "-123456789",
    "nan": lambda n: "nan",
    "inf": lambda n: "inf",
    "1e999": lambda n: "1e999",
    "-0": lambda n: "-0",
    "unknown": lambda n: f"no_such_{n}",
    "empty": lambda n: "",
    "cjk": lambda n: "量化",
    "rtl": lambda n: f"\u202e{n}\u05d0\u05d1",
    "nul": lambda n: f"{n}\x00",
}
"""Kind -> the value for parameter ``n`` (markup values carry the parameter's name, so an echo
found on the page is traced to the parameter that brought it)."""


def live_fragments(kind: str, name: str) -> list[str]:
    """What would be live markup (or a full echo) of the value ``HOSTILE[kind](name)``."""
    return {
        "script": [f"<script>alert('{name}')"],
        "img": [f"<img src=x onerror=alert('{name}')"],
        "bold": [f"**{name}**"],
        "math": [f"$$\\{name}"],
        "link": [f"[{name}](javascript:"],
        "long": [name + "-" + "A" * 200],
    }.get(kind, [])


MARKUP_KINDS = ("long", "script", "img", "bold", "math", "link")
MD_ELEMENTS = ("markdown", "caption", "warning", "error", "info", "success", "toast", "title", "header", "subheader", "latex")
NOTE_ELEMENTS = ("warning", "error", "info", "toast")
_CODE = re.compile(r"```.*?```|(`+)(?!`).+?(?<!`)\1(?!`)", re.S)


def rendered(at: AppTest) -> list[tuple[str, str, bool]]:
    """(element type, body, is HTML) of everything the page renders as markdown or HTML."""
    out = []
    for kind in MD_ELEMENTS:
        for e in at.get(kind):
            body = getattr(e, "value", None)
            if isinstance(body, str):
                out.append((kind, body, bool(getattr(e.proto, "allow_html", False))))
    for e in at.get("html"):
        out.append(("html", e.proto.body, True))
    return out


def leaks(at: AppTest, kind: str, name: str) -> list[str]:
    """Where the page renders the hostile value of ``name`` as markup (a code span is safe; a
    backslash-escaped character is not markup)."""
    found = []
    for el, body, html in rendered(at):
        text = body if kind == "long" else _CODE.sub("", body)
        for frag in {v for f in live_fragments(kind, name) for v in (f, repr(f)[1:-1])}:  # as typed, or as repr() shows it
            if kind == "long":
                hit = frag in text or frag.replace("_", "\\_") in text
            else:
                hit = re.search(r"(?<!\\)" + re.escape(frag), text) is not None
            if hit:
                found.append(f"{el}{' (HTML)' if html else ''}: {body[:160]!r}")
    return found


def notes(at: AppTest) -> list[str]:
    return [e.value for kind in NOTE_ELEMENTS for e in at.get(kind) if isinstance(e.value, str)]


# --------------------------------------------------------------------------- the pages
def _widget(kind: str, key: str) -> Callable[[AppTest], bool]:
    def check(at: AppTest) -> bool:
        return any(getattr(w, "key", None) == key for w in at.get(kind))

    return check


@dataclass(frozen=True)
class Page:
    """One way to open a page: its URL parameters (a :class:`Param`, or None for one read by
    hand), query parameters that make them apply, its title and what shows its main content."""

    path: str
    title: str
    params: tuple[tuple[str, Param | None], ...]
    content: tuple[Callable[[AppTest], bool], ...] = ()
    fixed: dict = field(default_factory=dict)
    heavy: bool = False
    timeout: float = 60


def _declared(*ps: Param) -> tuple[tuple[str, Param], ...]:
    return tuple((p.name, p) for p in ps)


def _hand(*names: str) -> tuple[tuple[str, None], ...]:
    return tuple((n, None) for n in names)


_BITS = ("app_pages/bits.py", "Bit Inspector", (_widget("text_input", "bits_value"), _widget("text_input", "bits_hex")))
_TENSOR = ("app_pages/tensor.py", "Tensor Lab", (_widget("selectbox", "tl_family"), lambda at: len(at.get("plotly_chart")) > 0))
PAGES: dict[str, Page] = {
    "home": Page("app_pages/home.py", "Quantization Lab", _hand("lang"), (lambda at: len(at.get("page_link")) > 5,)),
    "bits": Page(*_BITS[:2], _hand("format", "value", "hex", "bin") + _declared(*bits_state.PARAMS) + _hand("cast"), _BITS[2]),
    "bits_custom": Page(
        *_BITS[:2], _declared(*custom_format_params(bits_state.BITS.fmt), *bits_state.CAST_CUSTOM), _BITS[2], fixed={"format": "custom", "cast": "custom"}
    ),
    "formats": Page(  # the formats chosen are the default ones: with none, the page stops before the value and the table
        "app_pages/formats.py", "Format Comparison", _declared(*fmts_state.PARAMS) + _hand("table"), (_widget("multiselect", "fmts_selected"),)
    ),
    "formats_list": Page("app_pages/formats.py", "Format Comparison", _hand("formats", "custom"), (_widget("multiselect", "fmts_selected"),)),
    "tensor": Page(
        *_TENSOR[:2], _declared(*tensor_state.SOURCE_PARAMS) + _hand("scheme", "compare") + _declared(*tensor_state.CHART_PARAMS, tensor_state.ZOOM_PARAM), _TENSOR[2]
    ),
    "tensor_upload": Page(*_TENSOR[:2], _hand("source", "file", "tensor"), _TENSOR[2]),
    "cost": Page("app_pages/cost.py", "Smaller, not faster", _declared(*cost_state.PARAMS), (_widget("selectbox", "cost_model"), lambda at: len(at.get("latex")) > 0)),
    "learn": Page(
        "app_pages/learn.py", "Learn: the notes, one idea at a time", _declared(*learn_state.PARAMS) + _hand("done"), (_widget("selectbox", "learn_lesson"), lambda at: len(at.header) > 0)
    ),
    "amp": Page(
        "app_pages/amp.py",
        "Mixed precision training",
        _declared(amp_state.PRESET_PARAM, *amp_state.PARAMS) + _hand("runs"),
        (_widget("selectbox", "amp_preset"), lambda at: len(at.dataframe) > 0),
        heavy=True,
        timeout=120,
    ),
    "qat": Page(
        "app_pages/qat.py", "Quantization-aware training", _hand("bits") + _declared(*qat_state.PARAMS), (lambda at: len(at.dataframe) > 0,), heavy=True, timeout=120
    ),
    "model": Page(
        "app_pages/model.py",
        "PTQ studio",
        _declared(
            model_state.recipe_param(list(RECIPES)), model_state.CALIB_PARAM, model_state.METHOD_PARAM, model_state.PTQ_N_PARAM, model_state.EMB_PARAM,
            *MODEL_CLOSEUP_PARAMS, model_state.TABS.param,
        ),
        (_widget("selectbox", "model_recipe"), lambda at: len(at.dataframe) > 0),
        heavy=True,
        timeout=120,
    ),
    "llm": Page(
        "app_pages/llm.py",
        "Language model",
        _declared(*llm_state.PARAMS, llm_state.TABS.param),
        (_widget("selectbox", "llm_w"), lambda at: len(at.metric) > 0),
        heavy=True,
        timeout=240,
    ),
}

# The heavy pages: a few opens, each mixing the kinds over the parameters (param -> kind); every
# open trains little (epochs or seeds at 1: a hostile value falls back to the preset's, an
# out-of-range one goes to the cheap end), and /llm writes one hostile prompt (each new prompt
# costs two generations).
MIXES: dict[str, list[dict[str, str]]] = {
    "amp": [
        dict(preset="bold", opt="script", lr="nan", epochs="1e999", batch="img", seed="long", scale="link", interval="math", weight="cjk", seeds="negative", scaling="rtl", runs="nul"),
        dict(preset="unknown", opt="long", lr="inf", epochs="negative", batch="huge", seed="huge", scale="-0", interval="negative", weight="huge", seeds="1e999", scaling="empty", runs="link"),
        dict(preset="empty", opt="img", lr="bold", epochs="long", batch="math", seed="nul", scale="rtl", interval="cjk", weight="script", seeds="-0", scaling="unknown", runs="bold"),
    ],
    "qat": [
        dict(bits="bold", cal="script", n="nan", epochs="1e999", lr="img", lsq="long", gran="link", seed="math", seeds="negative"),
        dict(bits="link", cal="rtl", n="huge", epochs="negative", lr="huge", lsq="-0", gran="nul", seed="huge", seeds="cjk"),
        dict(bits="long", cal="empty", n="bold", epochs="script", lr="link", lsq="math", gran="unknown", seed="img", seeds="-0"),
    ],
    "model": [
        dict(recipe="bold", calib="nan", method="script", ptq_calib="1e999", emb="img", layer="long", grid="link", order="math", section="cjk"),
        dict(recipe="long", calib="huge", method="empty", ptq_calib="negative", emb="-0", layer="img", grid="rtl", order="nul", section="closeup"),
        dict(recipe="link", calib="-0", method="img", ptq_calib="bold", emb="script", layer="bold", grid="long", order="unknown", section="closeup"),
    ],
    "llm": [
        dict(w="bold", emb="script", keep="img", act="link", kv="math", prompt="link", method="cjk", calib="nan", order="rtl", clip="nul", layer="empty", grid="unknown", section="1e999"),
        dict(w="nan", emb="long", keep="link", act="huge", kv="-0", prompt="link", method="negative", calib="huge", order="inf", clip="1e999", layer="img", grid="bold", section="long"),
        dict(w="long", emb="img", keep="long", act="script", kv="long", prompt="link", method="long", calib="long", order="long", clip="long", layer="bold", grid="long", section="nul"),
    ],
}
# A few values that matter only with another parameter set (light pages): page -> (label, valid
# values set with them, param -> kind).
COMBOS = [
    ("bits", "stochastic", {"rounding": "stochastic"}, {"seed": "huge"}),  # the seed is used only there
    ("bits", "stochastic0", {"rounding": "stochastic"}, {"seed": "-0"}),
    ("bits_custom", "wide", {"e": "16", "signed": "0"}, {"m": "huge", "bias": "-0"}),  # m's limit depends on e and the sign
    ("tensor", "zoom", {"scheme": "int4:block=32"}, {"block": "huge"}),  # a block far beyond the tensor's
    ("cost", "custom-huge", {"model": "custom"}, {n: "huge" for n in ("params", "layers", "kvh", "hd", "ctx", "batch")}),  # the shape is used only there
    ("cost", "custom-zero", {"model": "custom"}, {n: "-0" for n in ("params", "layers", "kvh", "hd", "ctx", "batch")}),
]
# Pages whose model is not installed only say how to install it: not opened (their Params are still read).
UNAVAILABLE = {k for k, ok in (("model", model_cached.available()), ("llm", llm_cached.available())) if not ok}
# Values that would make a light page's run expensive on purpose: tested apart.
SKIP = {("bits_custom", "bias"): {"huge", "negative"}, ("bits_custom", "cast_bias"): {"huge", "negative"}}


# --------------------------------------------------------------------------- the opens
@dataclass(frozen=True)
class Open:
    """One hostile URL: ``kinds`` param -> the kind of its hostile value; ``extra``: valid values
    it also sets (a heavy page's ``section=closeup``); ``repeated``: every parameter twice."""

    id: str
    page: str
    kinds: dict
    extra: dict = field(default_factory=dict)
    repeated: bool = False

    def query(self) -> dict:
        q: dict = {**PAGES[self.page].fixed, **self.extra}
        for name, kind in self.kinds.items():
            value = HOSTILE[kind](name)
            q[name] = [_long(name), value] if self.repeated else value
        return q


def _opens() -> list[Open]:
    out = []
    for key, page in PAGES.items():
        if key in UNAVAILABLE:
            continue
        if page.heavy:
            for i, mix in enumerate(MIXES[key]):
                kinds = {n: k for n, k in mix.items() if k in HOSTILE}
                out.append(Open(f"{key}-mix{i}", key, kinds, {n: k for n, k in mix.items() if k not in HOSTILE}))
            continue
        for kind in HOSTILE:
            out.append(Open(f"{key}-{kind}", key, {n: kind for n, _ in page.params if kind not in SKIP.get((key, n), ())}))
        out.append(Open(f"{key}-repeated", key, {n: "img" for n, _ in page.params}, repeated=True))
    out += [Open(f"{key}-{label}", key, kinds, extra) for key, label, extra, kinds in COMBOS]
    return out


OPENS = {o.id: o for o in _opens()}
assert all(set(mix) == {n for n, _ in PAGES[k].params} for k, mixes in MIXES.items() for mix in mixes), "a mix sets every parameter"

_SESSIONS: dict[str, AppTest] = {}
_RESULTS: dict[str, AppTest] = {}


def session(page_key: str) -> AppTest:
    """One session per page file, opened through the router (app.py)."""
    page = PAGES[page_key]
    if page.path not in _SESSIONS:
        at = AppTest.from_file(APP, default_timeout=page.timeout)
        at.run()
        _SESSIONS[page.path] = at
    return _SESSIONS[page.path]


def paste(page_key: str, query: dict) -> AppTest:
    """The page's session after ``query`` was pasted as its URL."""
    at = session(page_key)
    at.switch_page(PAGES[page_key].path)
    at.query_params.clear()
    at.query_params.update(query)
    at.run()
    return at


def run_open(open_id: str) -> AppTest:
    """The page after the URL of ``open_id`` (run once; the tests read the same result).  A
    shallow copy keeps this run's elements and URL: the session's next run replaces both."""
    if open_id not in _RESULTS:
        o = OPENS[open_id]
        _RESULTS[open_id] = copy.copy(paste(o.page, o.query()))
    return _RESULTS[open_id]


# --------------------------------------------------------------------------- expectations
# Parameters read by hand (or as free text) and the kinds that are valid values for them (no
# note due); every other kind must be reported.
NUMBERS = {"huge", "negative", "nan", "inf", "1e999", "-0"}
VALID: dict[tuple[str, str], set[str]] = {
    ("home", "lang"): set(HOSTILE),  # app.py: an unknown language is English, silently
    ("bits", "value"): NUMBERS,  # decimals (1e999 overflows, and the page says how)
    ("bits_custom", "bias"): {"empty"},  # empty: the layout's own bias
    ("bits_custom", "cast_bias"): {"empty"},
    ("formats_list", "formats"): {"empty"},  # no format chosen: the page asks for one
    ("formats_list", "custom"): {"empty"},
    ("formats", "value"): NUMBERS | {"empty"},
    ("formats", "refs"): NUMBERS | {"empty"},
    ("tensor", "compare"): {"empty"},  # nothing compared, as compare=none
    ("tensor_upload", "file"): set(HOSTILE),  # any file name: upload it again
    ("tensor_upload", "tensor"): set(HOSTILE),  # a tensor name, checked once the file is read
    ("learn", "done"): {"empty"},
    ("llm", "w"): {"empty"},  # empty: as shipped
    ("llm", "emb"): {"empty"},
    ("llm", "keep"): {"empty"},
    ("llm", "prompt"): set(HOSTILE),  # any text is a prompt (the page cuts it to 500 characters)
    ("model", "layer"): {"empty"},  # empty: the default Linear
    # checked (by lab.core.closeup.layer_problem, as on /model) when the close-up tab is open, which
    # these opens leave closed: its GPTQ and AWQ runs would cost /llm another 4 s
    ("llm", "layer"): set(HOSTILE),
}
ON_CLOSEUP = {("model", "layer")}  # checked (and noted) when the close-up tab is open
# How the note of a parameter read by hand names it, when not "URL parameter <name>"
NOTE_NAMES: dict[tuple[str, str], str] = {
    ("bits", "value"): r"decimal value|The URL gives",
    ("bits", "hex"): r"hex code|The URL gives",
    ("bits", "bin"): r"binary code|The URL gives",
    ("formats", "value"): r"Cannot use the value",
    ("formats", "refs"): r"Reference line",
    ("llm", "w"): r"\bWeights:",
    ("llm", "emb"): r"Token embedding:",
    ("llm", "keep"): r"\bBlocks\b",
    ("model", "layer"): r"There is no Linear",
    ("llm", "layer"): r"There is no Linear",
}


def expects_note(o: Open, name: str, param: Param | None) -> bool:
    kind = o.kinds.get(name)
    if kind is None:
        return False
    if (o.page, name) in ON_CLOSEUP:
        return o.extra.get("section") == "closeup"
    if kind in VALID.get((o.page, name), set()):
        return False
    if param is not None and param.kind != "text":
        try:
            return param.read(HOSTILE[kind](name))[1] is not None
        except ValueError:
            return True
    return True


def note_pattern(page: str, name: str) -> str:
    return NOTE_NAMES.get((page, name), rf"URL parameter {re.escape(name)}\b")


def _cases(want: Callable[[Open, str, Param | None], bool]) -> list:
    out = []
    for o in OPENS.values():
        for name, p in PAGES[o.page].params:
            if want(o, name, p):
                out.append(pytest.param(o.id, name, id=f"{o.id}-{name}"))
    return out


# --------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("open_id", list(OPENS))
def test_page_survives(open_id):
    """No exception element, and the page draws its title and main content."""
    at = run_open(open_id)
    page = PAGES[OPENS[open_id].page]
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title][:1] == [page.title]
    for check in page.content:
        assert check(at), f"{open_id}: the page's main content is missing"


@pytest.mark.parametrize(("open_id", "name"), _cases(lambda o, n, p: expects_note(o, n, p)))
def test_bad_value_is_noted(open_id, name):
    """A bad value gets a note (warning, error or info) that names its parameter."""
    at = run_open(open_id)
    pattern = note_pattern(OPENS[open_id].page, name)
    shown = notes(at)
    assert any(re.search(pattern, n, re.M) for n in shown), f"no note matching {pattern!r} among {[n[:100] for n in shown]}"


@pytest.mark.parametrize(("open_id", "name"), _cases(lambda o, n, p: o.kinds.get(n) in MARKUP_KINDS))
def test_value_is_not_rendered_as_markup(open_id, name):
    """The URL's markup is shown as text (escaped or in code), and a long value is cut."""
    o = OPENS[open_id]
    at = run_open(open_id)
    found = leaks(at, o.kinds[name], name)
    if o.repeated:  # the first of the two values (the long one) is never used
        found += leaks(at, "long", name)
    assert not found, found


UNKNOWN = {"zz_fuzz": "<script>alert('zz_fuzz')</script>", "SEED": "**SEED**", "seed[]": "[seed[]](javascript:alert(1))", "__proto__": "<img src=x onerror=alert('__proto__')>", "x" * 300: "1"}


CHEAP = {"amp": {"epochs": "1", "seeds": "1"}, "qat": {"epochs": "1", "seeds": "1"}}  # a training page trains little


@pytest.mark.parametrize("page_key", [k for k in PAGES if k not in ("bits_custom", "tensor_upload", "formats_list", *UNAVAILABLE)])
def test_unknown_parameter_names_are_dropped(page_key):
    """Names no page knows: ignored without a note, never echoed, and gone from the URL the page
    writes (the home page writes none)."""
    page = PAGES[page_key]
    at = paste(page_key, {**UNKNOWN, **CHEAP.get(page_key, {})})
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title][:1] == [page.title]
    for check in page.content:
        assert check(at)
    for _el, body, _html in rendered(at):
        for value in UNKNOWN.values():
            assert value not in body or value == "1"
    if page_key != "home":
        assert not set(UNKNOWN) & set(at.query_params), dict(at.query_params)


# --------------------------------------------------------------------------- the Params directly
ALL_PARAMS = {
    (key, name): p for key, page in PAGES.items() for name, p in page.params if p is not None
}


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize(("page_key", "name"), list(ALL_PARAMS), ids=[f"{k}-{n}" for k, n in ALL_PARAMS])
def test_param_note_is_short_and_escaped(page_key, name, kind):
    """Every declared Param, every hostile value: a value it keeps is of its kind, and a note
    names the parameter, repeats at most VALUE_LIMIT characters of the value and no markup."""
    p = ALL_PARAMS[page_key, name]
    value = HOSTILE[kind](name)
    try:
        got, note = p.read(value)
    except ValueError as exc:
        got, note = None, str(exc)
    if note is None:
        assert p.kind == "text" or got is not None
        if p.kind in ("int", "float"):
            assert got == got and abs(got) != float("inf")  # finite
            assert (p.lo is None or got >= p.lo) and (p.hi is None or got <= p.hi)
        return
    assert note.startswith(f"URL parameter {name}="), note
    options = ", ".join(map(str, p.options))
    assert len(note) <= 200 + len(options) + 4 * VALUE_LIMIT, len(note)
    for frag in live_fragments(kind, name):
        assert frag not in note
        assert re.search(r"(?<!\\)" + re.escape(frag), note) is None, note
    if kind == "long":
        assert "…" in note
    assert "\x00" not in note and "\u202e" not in note  # shown as escapes


def test_shown_value():
    assert shown_value("7") == "'7'" and shown_value("-3") == "'-3'" and shown_value("float8_e4m3fn").startswith("'float8")
    assert shown_value("**b**") == r"'\*\*b\*\*'"
    assert shown_value("[l](javascript:x)") == r"'\[l\]\(javascript\:x\)'"
    assert shown_value("<img src=x>") == r"'\<img src=x\>'"
    assert shown_value("$$\\x$$") == r"'\$\$\\\\x\$\$'"
    assert shown_value("a\x00b") == r"'a\\x00b'" and shown_value("\u202e") == r"'\\u202e'"
    assert shown_value("量化") == "'量化'"
    assert shown_value("A" * 100) == "'" + "A" * VALUE_LIMIT + "…'"
    assert shown_in("unknown format '**x**'; …", "**x**") == r"unknown format '\*\*x\*\*'; …"
    assert shown_in("unknown scheme 'q9_9'", " Q9_9 ") == r"unknown scheme 'q9\_9'"  # as parse_scheme quotes it: stripped, lower-cased
    p = Param("seed", "k", "int", lo=0, hi=9)
    assert p.read("-3")[1] == "URL parameter seed='-3' is outside 0…9: 0 is used."  # plain values read as before
    with pytest.raises(ValueError, match=r"seed='\\\*\\\*7\\\*\\\*' is not an integer"):
        p.read("**7**")


# --------------------------------------------------------------------------- expensive on purpose
def test_custom_bias_at_the_url_limit_is_fast():
    """The Bit Inspector clamps a custom layout's bias from the URL to ±2^16 (WIDGET_LIMITS); the
    page's inspection of that layout must stay fast.  It runs in a subprocess held to 2 s of CPU
    (imports included, about 1 s), so that a slow one is cut off whatever the machine's load."""
    code = (
        "from lab.bits import cached\n"
        "from lab.bits.state import WIDGET_LIMITS\n"
        "for b in WIDGET_LIMITS['bias']:\n"
        "    cached.inspect_value(('custom', 4, 3, b, 'ieee', True), '0.1', 'nearest_even', False, 0)\n"
    )

    def cpu_limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (2, 2))

    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, timeout=120, capture_output=True, preexec_fn=cpu_limit, env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, "the inspection of a custom layout with the bias clamped from the URL takes more than 2 s of CPU"
