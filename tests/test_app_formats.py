"""The Format Comparison page (/formats) through Streamlit's AppTest (no browser): defaults,
state from the URL, custom formats added in the page, "where does my number land", the
code-table links into the Bit Inspector, the language switch and rerun times."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lab.core.i18n import translate
from tests.apptest import charts, html_blocks, markdown, open_page, rerun_ok

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "app_pages/formats.py"
DEFAULT = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"]


def open_formats(**query) -> AppTest:
    return open_page(PAGE, **query)


def chart_text(at: AppTest) -> str:
    return "\n".join(json.dumps(c, ensure_ascii=False) for c in charts(at))


CODEBOOK_COLUMNS = ["NF4", "bnb FP4"]


def properties_header(at: AppTest, *, books: bool = False) -> list[str]:
    """The format columns of the properties table (with ``books``, the codebook columns too)."""
    table = next(t for t in html_blocks(at) if 'class="ql-grid"' in t)
    head = table.split("</thead>")[0]
    cols = re.findall(r"<th>([^<]*)</th>", head)[1:]
    return cols if books else [c for c in cols if c not in CODEBOOK_COLUMNS]


def code_links(at: AppTest) -> dict[int, str]:
    """code -> href of every cell of the code table."""
    table = next(m.value for m in at.markdown if 'class="ql-codes"' in m.value)
    return {int(c): h.replace("&amp;", "&") for h, c in re.findall(r'<a href="([^"]*)" target="_self" title="[^"]*" data-code="(\d+)"', table)}


def landing(at: AppTest) -> pd.DataFrame:
    """The "where does my number land" table (an HTML table) as a DataFrame."""
    table = next(t for t in html_blocks(at) if 'class="ql-table"' in t)
    rows = [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)] for r in re.findall(r"<tr>(.*?)</tr>", table)]
    return pd.DataFrame(rows[1:], columns=rows[0])


# ------------------------------------------------------------------ defaults
def test_defaults():
    at = open_formats()
    assert at.title[0].value == "Format Comparison"
    assert at.multiselect(key="fmts_selected").value == DEFAULT
    assert at.query_params["formats"] == ",".join(DEFAULT)
    assert at.query_params["value"] == "3000"
    heads = [s.value for s in at.subheader]
    assert heads == ["Key takeaways", "Properties", "Where does my number land?", "Dynamic range", "Precision",
                     "Every value of the small formats", "Code table"]
    assert len(charts(at)) == 3
    assert properties_header(at) == DEFAULT
    text = markdown(at)
    assert "**float16** (E5M10) overflows above 65504" in text
    assert "3000 overflows in float8_e4m3fn (max 448)" in text
    assert "<td" in text and "65504" in text
    assert not at.error and not at.warning


def test_defaults_landing_and_code_table():
    at = open_formats()
    df = landing(at).set_index("Format")
    assert df.loc["float8_e4m3fn", "Result"] == "overflow to nan (max 448)"
    assert df.loc["float8_e5m2", "Stored as"] == "3072"
    links = code_links(at)
    assert len(links) == 256  # the first 8-bit format: float8_e4m3fn
    assert links[0x7E] == "bits?format=float8_e4m3fn&hex=7E"
    assert at.selectbox(key="fmts_table").value == "float8_e4m3fn"
    link = at.get("page_link")[-1].proto
    assert link.page == "bits" and link.query_string == "format=float8_e4m3fn&hex=7E"


# ------------------------------------------------------------------ URL in
def test_url_formats():
    at = open_formats(formats="bfloat16,float16,float8_e4m3fn")
    assert at.multiselect(key="fmts_selected").value == ["bfloat16", "float16", "float8_e4m3fn"]
    assert properties_header(at) == ["bfloat16", "float16", "float8_e4m3fn"]
    assert at.query_params["formats"] == "bfloat16,float16,float8_e4m3fn"
    assert "**float16** (E5M10) overflows above 65504, while **bfloat16** (E8M7) reaches ≈3.39e38" in markdown(at)
    assert at.toggle(key="fmts_zoom").value is True  # float8 beside bfloat16: the precision chart starts zoomed


def test_url_aliases_and_all_params():
    at = open_formats(
        formats="bf16, e4m3 e5m2", value="1e-4 .. 3000", refs="448 e4m3 max,1e-6 grads", saturate="1",
        view="log", codebooks="0", zoom="0", table="float8_e5m2",
    )
    assert at.multiselect(key="fmts_selected").value == ["bfloat16", "float8_e4m3fn", "float8_e5m2"]
    assert at.text_input(key="fmts_value").value == "1e-4 .. 3000"
    assert at.toggle(key="fmts_saturate").value is True
    assert at.radio(key="fmts_view").value == "log"
    assert at.toggle(key="fmts_books").value is False
    assert at.toggle(key="fmts_zoom").value is False
    assert at.selectbox(key="fmts_table").value == "float8_e5m2"
    assert list(landing(at).columns) == ["Format", "Low end stored as", "High end stored as", "Worst rel. error (round to nearest)", "Result"]
    text = chart_text(at)
    assert "448 e4m3 max" in text and "1e-6 grads" in text and "your range 0.0001 … 3000" in text
    assert "codebook" not in text
    assert code_links(at)[0x7B] == "bits?format=float8_e5m2&hex=7B"
    qp = dict(at.query_params)
    assert qp["formats"] == "bfloat16,float8_e4m3fn,float8_e5m2"
    for key, value in (("saturate", "1"), ("view", "log"), ("codebooks", "0"), ("zoom", "0"), ("table", "float8_e5m2")):
        assert qp[key] == value


def test_url_bad_params_warn_not_crash():
    at = open_formats(formats="float16,fp4,nosuch", view="sideways", custom="broken", saturate="maybe")
    warnings = " ".join(w.value for w in at.warning)
    assert "fp4" in warnings and "nosuch" in warnings and "view" in warnings and "custom" in warnings and "saturate" in warnings
    assert at.multiselect(key="fmts_selected").value == ["float16"]
    assert "Code table" not in [s.value for s in at.subheader]  # no format of at most 8 bits
    assert not at.error


def test_url_custom_format():
    at = open_formats(formats="bfloat16,my8", custom="my8:e4m3b5:fn")
    assert at.multiselect(key="fmts_selected").value == ["bfloat16", "my8"]
    assert properties_header(at) == ["bfloat16", "my8"]
    text = "\n".join(html_blocks(at))
    assert "1 + 4 + 3 = 8" in text
    assert "1792" in text  # max of E4M3 fn with bias 5: 1.75 × 2**10
    assert '"my8"' in chart_text(at) or "my8" in chart_text(at)
    assert at.selectbox(key="fmts_table").value == "my8"
    assert code_links(at)[0x7E] == "bits?format=custom&e=4&m=3&bias=5&nonfinite=fn&hex=7E"
    assert at.query_params["custom"] == "my8:e4m3b5:fn"


def test_invalid_custom_in_url_is_a_warning():
    at = open_formats(formats="float16,bad", custom="bad:e2m0:ieee")  # ieee needs a mantissa bit
    warnings = " ".join(w.value for w in at.warning)
    assert "'bad' is not valid" in warnings and "mantissa bit" in warnings
    assert at.multiselect(key="fmts_selected").value == ["float16"]


# ------------------------------------------------------------------ custom formats in the page
def test_add_a_named_custom_format():
    at = open_formats(formats="float16,float8_e4m3fn")
    at.number_input(key="fmts_new_e").set_value(3)
    at.number_input(key="fmts_new_m").set_value(4)
    at.selectbox(key="fmts_new_nonfinite").set_value("none")
    at.text_input(key="fmts_new_name").input("tiny8")
    rerun_ok(at)
    at.button(key="fmts_add").click()
    rerun_ok(at)
    assert at.multiselect(key="fmts_selected").value == ["float16", "float8_e4m3fn", "tiny8"]
    assert properties_header(at) == ["float16", "float8_e4m3fn", "tiny8"]
    assert at.query_params["custom"] == "tiny8:e3m4:none"
    assert at.query_params["formats"] == "float16,float8_e4m3fn,tiny8"
    assert "tiny8" in chart_text(at)
    assert "tiny8" in landing(at)["Format"].tolist()
    at.selectbox(key="fmts_table").set_value("tiny8")
    rerun_ok(at)
    assert code_links(at)[0x7F] == "bits?format=custom&e=3&m=4&nonfinite=none&hex=7F"
    # the name box is cleared, and an unnamed layout takes its own name
    assert at.text_input(key="fmts_new_name").value == ""
    at.button(key="fmts_add").click()
    rerun_ok(at)
    assert at.multiselect(key="fmts_selected").value[-1] == "e3m4_b3_none"
    # deselecting a custom format keeps it available, and drops it from the URL
    at.multiselect(key="fmts_selected").set_value(["float16", "tiny8"])
    rerun_ok(at)
    assert at.query_params["custom"] == "tiny8:e3m4:none"
    assert "e3m4_b3_none (custom)" in at.multiselect(key="fmts_selected").options


def test_add_custom_with_a_bad_name_or_layout():
    at = open_formats(formats="float16")
    at.text_input(key="fmts_new_name").input("float32")
    rerun_ok(at)
    at.button(key="fmts_add").click()
    rerun_ok(at)
    assert any("already the name of a registry format" in e.value for e in at.error)
    assert at.multiselect(key="fmts_selected").value == ["float16"]
    at.number_input(key="fmts_new_m").set_value(0)  # ieee needs a mantissa bit for NaN
    rerun_ok(at)
    assert any("needs at least 1 mantissa bit" in e.value for e in at.error)
    assert at.button(key="fmts_add").disabled


# ------------------------------------------------------------------ interacting
def test_where_does_my_number_land():
    at = open_formats(formats="float16,float8_e4m3fn")
    at.text_input(key="fmts_value").input("0.1")
    rerun_ok(at)
    df = landing(at).set_index("Format")
    assert df.loc["float16", "Stored as"] == "≈0.099975586"
    assert df.loc["float8_e4m3fn", "Stored as"] == "0.1015625"
    assert at.query_params["value"] == "0.1"
    assert "your value 0.1" in chart_text(at)
    at.text_input(key="fmts_value").input("1.2.3")
    rerun_ok(at)
    assert len(at.error) == 1 and "more than one decimal point" in at.error[0].value
    at.text_input(key="fmts_value").input("")
    rerun_ok(at)
    assert "value" not in at.query_params and not at.error


def test_reference_lines_and_bad_items():
    at = open_formats(formats="float16,float8_e4m3fn")
    at.text_input(key="fmts_refs").input("3000 activations, 0, xyz")
    rerun_ok(at)
    assert "3000 activations" in chart_text(at)
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 2 and "no place on a log scale" in warnings[0] and "could not read" in warnings[1]
    assert at.query_params["refs"] == "3000 activations, 0, xyz"


def test_number_line_views_and_codebooks():
    at = open_formats(formats="float8_e4m3fn,float4_e2m1fn")
    assert "NF4 (codebook)" in chart_text(at)
    # NF4 and bnb FP4 are columns of the properties table too, with their limits × the block's scale
    assert properties_header(at, books=True) == ["float8_e4m3fn", "float4_e2m1fn", *CODEBOOK_COLUMNS]
    table = next(t for t in html_blocks(at) if 'class="ql-grid"' in t)
    assert "0.07958 × scale (smallest nonzero level)" in table and "a 4-bit index into 16 levels" in table
    assert any("codebooks, not float formats" in c.value for c in at.caption)
    for view in ("linear", "log", "scaled"):
        at.radio(key="fmts_view").set_value(view)
        rerun_ok(at)
    at.toggle(key="fmts_books").set_value(False)
    rerun_ok(at)
    assert "NF4 (codebook)" not in chart_text(at)
    assert properties_header(at, books=True) == ["float8_e4m3fn", "float4_e2m1fn"]
    assert at.query_params["codebooks"] == "0"


def test_choose_a_code_to_open():
    at = open_formats(formats="float4_e2m1fn")
    assert at.selectbox(key="fmts_open_code").value == 7  # max: 6
    at.selectbox(key="fmts_open_code").set_value(0xB)
    rerun_ok(at)
    link = at.get("page_link")[-1].proto
    assert link.query_string == "format=float4_e2m1fn&hex=B"
    assert "0xB" in link.label
    assert code_links(at) == {c: f"bits?format=float4_e2m1fn&hex={c:X}" for c in range(16)}


@pytest.mark.parametrize(("fmt", "kinds"), [("float8_e4m3fn", ["zero", "subnormal", "normal", "nan"]), ("float8_e5m2", ["zero", "subnormal", "normal", "inf", "nan"])])
def test_code_table_legend_and_code_names(fmt, kinds):
    """The legend names the classes the table holds (float8_e4m3fn has no inf), and the code
    chooser names each code by its cell's title; both built once per format for every session."""
    from figures.formats import LABELS

    at = open_formats(formats=fmt)
    legend = next(m.value for m in at.markdown if 'class="ql-legend"' in m.value)
    assert re.findall(r">([^<]+)</span>", legend) == [LABELS[k] for k in kinds]
    box = at.selectbox(key="fmts_open_code")
    assert len(box.options) == 256
    assert (box.options[0x00], box.options[0x7F]) == ("0x00 = 0 (zero)", "0x7F = nan (NaN)")


def test_no_format_chosen():
    at = open_formats()
    at.multiselect(key="fmts_selected").set_value([])
    rerun_ok(at)
    assert at.info and "at least one format" in at.info[0].value
    assert not charts(at)
    assert at.query_params["formats"] == ""


def test_wide_formats_only_have_no_value_views():
    at = open_formats(formats="float64,float32")
    assert len(charts(at)) == 3  # the number line shows the codebooks alone
    assert not at.info
    at.toggle(key="fmts_books").set_value(False)
    rerun_ok(at)
    assert len(charts(at)) == 2
    assert any("at most 8 bits" in i.value for i in at.info)


# ------------------------------------------------------------------ language and links in
def test_chinese():
    at = open_formats(formats="bfloat16,float16", lang="zh_CN")
    assert at.title[0].value == translate("Format Comparison", "zh_CN") != "Format Comparison"
    assert translate("Key takeaways", "zh_CN") in [s.value for s in at.subheader]
    assert translate("magnitude |x| (log2 scale: 2^k)", "zh_CN") in chart_text(at)
    assert "同样是 16 位" in markdown(at)


def test_chinese_code_links_keep_the_language():
    at = open_formats(formats="float4_e2m1fn", lang="zh_CN")
    href = code_links(at)[1]
    assert parse_qs(urlparse(href).query) == {"format": ["float4_e2m1fn"], "hex": ["1"], "lang": ["zh_CN"]}


def test_home_links_to_the_page():
    at = AppTest.from_file(APP, default_timeout=30).run()
    pages = [p.proto.page for p in at.get("page_link")]
    assert "formats" in pages


# ------------------------------------------------------------------ speed (printed, not asserted)
def test_rerun_times(capsys):
    """6 formats (the defaults): first render, cached reruns, and reruns that rebuild figures."""
    t0 = time.perf_counter()
    at = open_formats()
    first = (time.perf_counter() - t0) * 1e3
    steps = [
        ("rerun", lambda: None),
        ("type a value", lambda: at.text_input(key="fmts_value").input("0.1")),
        ("reference line", lambda: at.text_input(key="fmts_refs").input("3000 activations")),
        ("swap a format", lambda: at.multiselect(key="fmts_selected").set_value(["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float6_e3m2fn"])),
        ("log view", lambda: at.radio(key="fmts_view").set_value("log")),
        ("code table", lambda: at.selectbox(key="fmts_table").set_value("float6_e3m2fn")),
        ("back to defaults", lambda: at.multiselect(key="fmts_selected").set_value(DEFAULT)),
        ("rerun", lambda: None),
    ]
    times = []
    for name, act in steps:
        act()
        t = time.perf_counter()
        rerun_ok(at)
        times.append((name, (time.perf_counter() - t) * 1e3))
    with capsys.disabled():
        print(f"\nFormat Comparison AppTest (6 formats): first open {first:.0f} ms; reruns (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in times))
    assert max(ms for _n, ms in times) < 5000  # a sanity bound only; the budget (500 ms) is checked by eye


@pytest.mark.parametrize("name", ["float64", "float8_e8m0fnu", "float8_e4m3b11fnuz", "float6_e2m3fn", "tfloat32"])
def test_every_kind_of_format_renders(name):
    at = open_formats(formats=name, value="1e-3 .. 1e3")
    assert not at.error
    assert len(charts(at)) >= 2


@pytest.mark.parametrize(("bias", "drawn"), [(1100, False), (-1100, False), (2**16, False), (1000, True), (-1000, True)])
def test_a_custom_layout_beyond_float64_is_refused_with_a_note(bias, drawn):
    """Format Comparison draws in float64: a bias that puts the layout's values outside float64's
    normal range (e4m3 with bias 1100: 2^-1109 …) is refused with a note (URL), not drawn into an
    exception; bias ±1000 still fits and is drawn."""
    at = open_page("app_pages/formats.py", custom=f"far:e4m3b{bias}:fn", formats="far,float16", timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    refused = any("float64" in w.value and "far" in w.value for w in at.warning)
    assert refused != drawn, [w.value for w in at.warning]
    assert ("far" in at.multiselect(key="fmts_selected").value) == drawn


# ------------------------------------------------------------------ notes about formats= and custom=
@pytest.mark.parametrize(
    ("custom", "why"),
    [
        ("far:e4m3b1100:fn", "float64"),  # beyond float64's normal range
        ("far:e2m0:ieee", "mantissa bit"),  # not a valid layout
        ("far:e4m3:fn:extra", "should look like"),  # not a layout at all
        ("Far:e4m3b1100:fn", "float64"),  # formats= names it in another case
        ("1far:e4m3:fn", "starts with a letter"),  # not a name
    ],
)
def test_a_refused_custom_format_gets_one_note(custom, why):
    """A custom format refused with a note is not reported again as an unknown name in formats=."""
    name = custom.split(":")[0].lower()
    at = open_formats(custom=custom, formats=f"float16,{name}")
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and why in warnings[0], warnings
    assert at.multiselect(key="fmts_selected").value == ["float16"]


def test_a_refused_custom_format_without_formats_gets_one_note():
    at = open_formats(custom="far:e4m3b1100:fn")
    assert [w.value for w in at.warning if "far" in w.value] == [w.value for w in at.warning] and len(at.warning) == 1
    assert at.multiselect(key="fmts_selected").value == DEFAULT


def test_an_unknown_name_in_formats_suggests_close_names_not_the_whole_list():
    at = open_formats(formats="float16,flaot16,fp4,zzz,my9", custom="my8:e4m3:fn")
    warnings = {re.search(r"formats: '([^']*)'", w.value)[1]: w.value for w in at.warning}
    assert set(warnings) == {"flaot16", "fp4", "zzz", "my9"}, warnings
    assert "did you mean 'float16'" in warnings["flaot16"]
    assert r"'fp4\_e2m1'" in warnings["fp4"]  # an alias it starts
    assert "did you mean 'my8'" in warnings["my9"]  # the session's custom formats too
    assert "did you mean" not in warnings["zzz"] and "all 17 formats are listed in the Formats box" in warnings["zzz"]
    for w in warnings.values():
        assert "float8\\_e8m0fnu" not in w and "valid names" not in w and len(w) < 200, w
    assert at.multiselect(key="fmts_selected").value == ["float16"]


def test_an_unknown_name_note_in_chinese():
    at = open_formats(formats="float16,zzz", lang="zh_CN")
    assert any("下方的“格式”框列出了全部 16 种格式" in w.value for w in at.warning), [w.value for w in at.warning]
