"""Translations: gettext-style, English msgids as the source, PO catalogs in ``lab/core/locales``.

Every user-facing string goes through :func:`_`::

    st.header(_("Bit Inspector"))
    st.write(_("the stored exponent {e} minus the bias {bias} gives 2^{p}").format(e=123, bias=127, p=-4))

Translate the msgid, *then* ``.format()`` the result, so a translation may move the
``{placeholders}`` around. A msgid missing from the catalog (or with an empty msgstr)
falls back to the English text.  Strings that must be defined before the language is
known (module-level tables) are marked with :func:`N_` and translated where shown.

A language's catalog is ``lab/core/locales/<code>.po`` plus any ``lab/core/locales/<code>.<part>.po``
(one part per page family, e.g. ``zh_CN.train.po``, so pages can be translated apart);
a msgid may live in only one of them.  To add a language: copy the ``zh_CN`` files to
``<code>``, translate the msgstr lines and add the code to :data:`LANGUAGES`.  ``python -m lab.core.i18n zh_CN``
lists the msgids of the code that a catalog does not translate yet.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
import functools
import sys
from pathlib import Path

__all__ = ["LANGUAGES", "DEFAULT_LANG", "_", "N_", "translated", "translate", "current_lang", "load_catalog", "catalog_files", "parse_po"]

LOCALE_DIR = Path(__file__).with_name("locales")

LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
"""Language code -> its name in that language (what the selector shows)."""

DEFAULT_LANG = "en"
LANG_KEY = "lang"  # session-state key and query parameter


# --------------------------------------------------------------------------- PO files
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {token!r}")
    out, body, i = [], token[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_po(text: str, source: str = "<po>", *, include_untranslated: bool = False) -> dict[str, str]:
    """Parse the text of a PO file into ``{msgid: msgstr}``.

    Supports what a hand-written catalog needs: ``#`` comments, the ``#, fuzzy`` flag
    (fuzzy entries are skipped), ``msgctxt`` (ignored), and strings continued over
    several quoted lines.  The header entry (empty msgid) is left out, and so are
    untranslated entries (empty msgstr) unless ``include_untranslated``.  Plural forms
    are not supported.
    """
    catalog: dict[str, str] = {}
    entry: dict[str, str] = {}
    field: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal entry, field, fuzzy
        if "msgid" in entry:
            mid, mstr = entry["msgid"], entry.get("msgstr", "")
            if mid and (mstr or include_untranslated) and (not fuzzy or include_untranslated):
                catalog[mid] = mstr
        entry, field, fuzzy = {}, None, False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{source}:{lineno}"
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if "msgid" in entry:
                    flush()
                fuzzy = True
            continue
        keyword, _sep, rest = line.partition(" ")
        if keyword == "msgid_plural" or keyword.startswith("msgstr["):
            raise ValueError(f"{where}: plural forms are not supported")
        if keyword in ("msgctxt", "msgid", "msgstr"):
            if keyword != "msgstr" and "msgstr" in entry:
                flush()  # a new entry without a blank line before it
            field = keyword
            entry[field] = _unquote(rest, where)
        elif line.startswith('"'):
            if field is None:
                raise ValueError(f"{where}: a continued string outside an entry")
            entry[field] += _unquote(line, where)
        else:
            raise ValueError(f"{where}: cannot read {line!r}")
    flush()
    return catalog


def catalog_files(lang: str) -> list[Path]:
    """The PO files of ``lang``: ``<lang>.po`` first, then its ``<lang>.<part>.po`` parts."""
    main = LOCALE_DIR / f"{lang}.po"
    parts = sorted(LOCALE_DIR.glob(f"{lang}.*.po"))
    return ([main] if main.is_file() else []) + parts


@functools.lru_cache(maxsize=None)
def load_catalog(lang: str) -> dict[str, str]:
    """The catalog of ``lang``, all its PO files merged (``{}`` for English or no PO file)."""
    if lang == DEFAULT_LANG:
        return {}
    catalog: dict[str, str] = {}
    for path in catalog_files(lang):
        catalog.update(parse_po(path.read_text(encoding="utf-8"), str(path)))
    return catalog


# --------------------------------------------------------------------------- lookup
def translate(msgid: str, lang: str) -> str:
    """``msgid`` in ``lang``, or ``msgid`` itself when it is not translated."""
    return load_catalog(lang).get(msgid, msgid)


def current_lang() -> str:
    """The language of this session: session state ``lang``, else English.

    Works outside a Streamlit run too (unit tests, scripts), where it is English.
    """
    try:
        import streamlit as st
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx(suppress_warning=True) is None:
            return DEFAULT_LANG
        lang = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    except Exception:  # pragma: no cover - no runtime at all
        return DEFAULT_LANG
    return lang if lang in LANGUAGES else DEFAULT_LANG


def _(msgid: str) -> str:
    """Translate ``msgid`` into the session's language (gettext's ``_``)."""
    return translate(msgid, current_lang())


def translated(labels: Mapping[str, str]) -> dict[str, str]:
    """A figure module's English ``LABELS`` in the session's language, key for key:
    ``translated({"axis_value": "value"})["axis_value"]`` is ``"值"`` in zh_CN.  The msgids
    are the English values, found by :func:`extract_msgids` in the ``LABELS`` literal itself."""
    return {k: _(v) for k, v in labels.items()}


def N_(msgid: str) -> str:
    """Mark ``msgid`` for translation without translating it now (gettext's ``N_``)."""
    return msgid


# --------------------------------------------------------------------------- extraction
ROOT = Path(__file__).resolve().parents[2]
SOURCE_GLOBS = ("app.py", "app_pages/*.py", "lab/**/*.py", "figures/**/*.py")
LABELS_NAME = "LABELS"
"""A module-level dict of this name (figures/*) holds English msgids as its values."""


def source_files(root: Path = ROOT) -> list[Path]:
    """The Python files whose ``_("...")`` literals make up the msgids."""
    return sorted({p for g in SOURCE_GLOBS for p in root.glob(g)})


def _labels_literal(node: ast.AST) -> ast.Dict | None:
    """The dict literal of a module-level ``LABELS = {...}`` (or ``LABELS: dict = {...}``)."""
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == LABELS_NAME for t in node.targets):
        value = node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == LABELS_NAME:
        value = node.value
    else:
        return None
    return value if isinstance(value, ast.Dict) else None


def extract_msgids(files: list[Path] | None = None) -> dict[str, list[str]]:
    """Every literal passed to ``_()`` or ``N_()``, and every string value of a module-level
    ``LABELS`` dict (the figure builders' English words): ``{msgid: ["file:line", ...]}``."""
    found: dict[str, list[str]] = {}
    for path in files if files is not None else source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        try:
            rel = path.relative_to(ROOT)
        except ValueError:
            rel = path
        literals: list[ast.Constant] = []
        for node in tree.body:
            d = _labels_literal(node)
            if d is not None:
                literals += [v for v in d.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                literals.append(node.args[0])
        for c in literals:
            found.setdefault(c.value, []).append(f"{rel}:{c.lineno}")
    return found


def _main(argv: list[str]) -> int:
    """``python -m lab.core.i18n LANG``: print the msgids that LANG's catalog lacks, as PO entries."""
    if len(argv) != 1 or argv[0] not in LANGUAGES or argv[0] == DEFAULT_LANG:
        print(f"usage: python -m lab.core.i18n {{{','.join(c for c in LANGUAGES if c != DEFAULT_LANG)}}}")
        return 2
    catalog = load_catalog(argv[0])
    for msgid, where in extract_msgids().items():
        if msgid not in catalog:
            esc = msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            print(f"#: {' '.join(where)}\nmsgid \"{esc}\"\nmsgstr \"\"\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
