"""The translation layer: the PO parser, fallback, and the zh_CN catalog against the code."""

from __future__ import annotations

import string

import pytest

from lab.core import i18n
from lab.core.i18n import LANGUAGES, LOCALE_DIR, extract_msgids, parse_po, translate

CATALOGS = [code for code in LANGUAGES if code != i18n.DEFAULT_LANG]


def _fields(text: str) -> set[str]:
    """Names of the {placeholders} of a format string ('{value!r}' -> 'value')."""
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def _po(lang: str, **kw) -> dict[str, str]:
    """All PO files of ``lang`` merged (``zh_CN.po`` and its ``zh_CN.<part>.po`` parts)."""
    merged: dict[str, str] = {}
    for path in i18n.catalog_files(lang):
        merged.update(parse_po(path.read_text(encoding="utf-8"), str(path), **kw))
    return merged


@pytest.fixture(scope="module")
def code_msgids() -> dict[str, list[str]]:
    found = extract_msgids()
    assert len(found) > 50, "the extractor found the _() literals of app.py, app_pages/ and lab/"
    return found


@pytest.mark.parametrize("lang", CATALOGS)
def test_catalog_exists_and_parses(lang):
    assert (LOCALE_DIR / f"{lang}.po").is_file()
    assert len(_po(lang)) > 0


@pytest.mark.parametrize("lang", CATALOGS)
def test_a_msgid_lives_in_one_file_only(lang):
    seen: dict[str, str] = {}
    twice = []
    for path in i18n.catalog_files(lang):
        for mid in parse_po(path.read_text(encoding="utf-8"), str(path), include_untranslated=True):
            if mid in seen:
                twice.append((mid, seen[mid], path.name))
            seen[mid] = path.name
    assert not twice, f"msgids translated in two files: {twice}"


def test_catalog_parts_are_merged(tmp_path, monkeypatch):
    (tmp_path / "xx.po").write_text('msgid "a"\nmsgstr "A"\n', encoding="utf-8")
    (tmp_path / "xx.page.po").write_text('msgid "b"\nmsgstr "B"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.load_catalog.cache_clear()
    try:
        assert [p.name for p in i18n.catalog_files("xx")] == ["xx.po", "xx.page.po"]
        assert i18n.load_catalog("xx") == {"a": "A", "b": "B"}
    finally:
        i18n.load_catalog.cache_clear()


@pytest.mark.parametrize("lang", CATALOGS)
def test_no_stale_entries(lang, code_msgids):
    stale = sorted(set(_po(lang, include_untranslated=True)) - set(code_msgids))
    assert not stale, f"{lang}.po has msgids that no _() in the code uses any more: {stale}"


@pytest.mark.parametrize("lang", CATALOGS)
def test_placeholders_match(lang):
    bad = {mid: mstr for mid, mstr in _po(lang).items() if _fields(mid) != _fields(mstr)}
    assert not bad, f"placeholders differ between msgid and msgstr: {bad}"


class _Any:
    """A value any format spec accepts (``{x:.4g}`` as well as ``{x}``)."""

    def __format__(self, spec: str) -> str:
        return "x"


@pytest.mark.parametrize("lang", CATALOGS)
def test_translations_format_without_error(lang):
    for mid, mstr in _po(lang).items():
        names = {n.split(".")[0].split("[")[0] for n in _fields(mid)}
        mstr.format(**{n: _Any() for n in names})


def test_zh_cn_covers_navigation_home_and_bit_inspector_headings():
    must = [
        "Home", "Bit Inspector", "Quantization Lab", "Language", "Pages",
        "Bits", "Stored value", "Conversion", "Neighbours", "How to read it", "What rounding did",
        "The same input in every format", "Format", "Rounding", "Saturate", "Decimal value", "Hex code", "Binary code",
    ]
    catalog = _po("zh_CN")
    missing = [m for m in must if m not in catalog]
    assert not missing, missing


def test_untranslated_count_is_reported(code_msgids, capsys):
    """Not a failure: a new English string may wait for its translation (it falls back)."""
    catalog = _po("zh_CN")  # parsed once, not once per msgid (that took 43 s)
    missing = [m for m in code_msgids if m not in catalog]
    with capsys.disabled():
        print(f"\nzh_CN: {len(code_msgids) - len(missing)}/{len(code_msgids)} msgids translated")


def test_translate_falls_back_to_english():
    assert translate("Bit Inspector", "zh_CN") == "比特检查器"
    assert translate("a string nobody translated", "zh_CN") == "a string nobody translated"
    assert translate("Bit Inspector", "en") == "Bit Inspector"
    assert translate("Bit Inspector", "xx") == "Bit Inspector"


def test_underscore_outside_streamlit_is_english():
    assert i18n._("Bit Inspector") == "Bit Inspector"
    assert i18n.N_("Bit Inspector") == "Bit Inspector"


def test_parse_po_features():
    text = r'''
# a comment
msgid ""
msgstr ""
"Language: xx\n"

#: app.py:1
msgid "one"
msgstr "eins"

msgid ""
"multi "
"line"
msgstr "mehr"
"zeilig"

#, fuzzy
msgid "fuzzy"
msgstr "unsicher"

msgid "empty"
msgstr ""

msgid "quote \"q\" and \\ and \n"
msgstr "Zitat \"q\""
msgid "no blank line before"
msgstr "ohne Leerzeile"
'''
    cat = parse_po(text)
    assert cat == {
        "one": "eins",
        "multi line": "mehrzeilig",
        'quote "q" and \\ and \n': 'Zitat "q"',
        "no blank line before": "ohne Leerzeile",
    }
    assert parse_po(text, include_untranslated=True)["empty"] == ""


def test_parse_po_errors():
    with pytest.raises(ValueError, match="plural"):
        parse_po('msgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\n')
    with pytest.raises(ValueError, match="quoted"):
        parse_po("msgid a\nmsgstr b\n")


# ------------------------------------------------------------------ the figure builders' words
FIGURE_LABELS = ["figures.amp", "figures.formats", "figures.model", "figures.qat", "figures.tensor"]


@pytest.mark.parametrize("module", FIGURE_LABELS)
def test_figure_labels_are_msgids(module, code_msgids):
    """Each English word of a figure module's LABELS is found by the extractor where it is
    written (figures/...), so the catalog can translate it; nothing is copied into lab/."""
    import importlib

    labels = importlib.import_module(module).LABELS
    assert labels and all(isinstance(v, str) for v in labels.values())
    where = {v: code_msgids.get(v, []) for v in labels.values()}
    missing = [v for v, w in where.items() if not any(loc.startswith("figures/") for loc in w)]
    assert not missing, f"{module}.LABELS values the extractor does not see: {missing[:5]}"


def test_translated_labels_follow_the_catalog(monkeypatch):
    """translated() maps each English value through the session's catalog, key for key."""
    from figures import tensor as tensor_figs

    zh = i18n.load_catalog("zh_CN")
    monkeypatch.setattr(i18n, "current_lang", lambda: "zh_CN")
    out = i18n.translated(tensor_figs.LABELS)
    assert out.keys() == tensor_figs.LABELS.keys()
    for k, v in tensor_figs.LABELS.items():
        assert out[k] == zh.get(v, v)
    assert sum(out[k] != v for k, v in tensor_figs.LABELS.items()) > len(out) // 2, "most Tensor Lab words are translated"


def test_extractor_reads_labels_literals(tmp_path):
    src = tmp_path / "m.py"
    src.write_text('LABELS: dict[str, str] = {"a": "alpha", "b": "beta {n}"}\nOTHER = {"c": "gamma"}\nx = _("delta")\n', encoding="utf-8")
    assert sorted(i18n.extract_msgids([src])) == ["alpha", "beta {n}", "delta"]
