"""The Tensor Lab (/tensor) through Streamlit's AppTest (no browser): the default sample, every
scheme family, the compare preset, uploads (good, bad, several tensors, NaN/inf, .gguf), URL state,
caching (a chart option recomputes nothing), the downloads' contents, and rerun times."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lab.tensor import cached as tc
from lab.core.i18n import translate
from lab.tensor.state import FAMILIES, FAMILY_DEFAULTS
from quantlib import PRESETS, parse_scheme, quantize
from quantlib.schemes import GGML_PRESETS
from quantlib.metrics import metrics
from quantlib.schemes import QuantizedTensor
from quantlib.tensorio import load_tensors, read_metadata, save_safetensors
from tests.apptest import html_blocks, markdown, open_page, rerun_ok

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "app_pages/tensor.py"


def open_tensor(timeout: float = 60, **query) -> AppTest:
    return open_page(PAGE, timeout=timeout, **query)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def metrics_table(at: AppTest) -> dict[str, str]:
    """The metrics table (HTML) as {metric: value}."""
    import re

    table = next(t for t in html_blocks(at) if "tl-metrics" in t)
    rows = re.findall(r"<tr><td><b>([^<]*)</b>.*?</td><td class=\"ql-mono\">([^<]*)</td>", table)
    return dict(rows)


def table_with(at: AppTest, column: str):
    """The first st.dataframe that has ``column`` (AppTest does not expose their keys)."""
    for d in at.dataframe:
        if column in d.value.columns:
            return d.value
    raise KeyError(column)


def compare_schemes(at: AppTest) -> list[str]:
    return table_with(at, "Scheme")["Scheme"].tolist()


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open a chart tab (the tabs are lazy: only the open one is computed)."""
    at.session_state["tl_tab"] = label
    return rerun_ok(at)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="tl_upload").set_value((name, data, "application/octet-stream"))
    return rerun_ok(at)


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def open_upload(**query) -> AppTest:
    return open_tensor(source="upload", compare="int8|nf4:block=64", **query)


# ------------------------------------------------------------------ defaults
def test_defaults_teach_without_an_upload():
    at = open_tensor()
    assert at.title[0].value == "Tensor Lab"
    heads = [s.value for s in at.subheader]
    assert heads == ["1. The tensor", "2. The quantization scheme", "3. What nf4:block=64 does to it", "4. Compare schemes"]
    assert not errors(at)
    assert at.text_input(key="tl_scheme_box").value == "nf4:block=64"
    m = metrics_table(at)
    assert m["Bits per element"] == "4.5"
    assert m["SQNR"].endswith(" dB") and 19 < float(m["SQNR"].split()[0]) < 22
    # histogram (with the levels), the open tab's chart (the error histogram), rate-distortion
    specs = charts(at)
    names = [t.get("name") for t in specs[0]["data"]]
    assert names[:2] == ["original", "dequantized"] and any(n and n.startswith("levels of block") for n in names)
    assert len(specs) == 3
    for tab, n_charts in (("Original vs stored", 3), ("Where the error is", 4), ("One block up close", 2)):
        open_tab(at, tab)
        assert len(charts(at)) == n_charts, tab
        assert not errors(at)
    rd = specs[-1]
    assert any(t.get("name") == "Pareto front" for t in rd["data"])
    assert any(t.get("mode") == "markers+text" for t in rd["data"])  # the front is numbered ...
    assert "**Pareto front** (numbered on the chart): **1** nf4:block=64,dq (4.13 bits" in markdown(at)  # ... and listed
    # the comparison: the 13 presets (the current scheme is one of them)
    assert sorted(compare_schemes(at)) == sorted(PRESETS)
    assert "Within 4.6 bits per element" in markdown(at)
    assert dict(at.query_params) == {"sample": "gaussian_weights", "scheme": "nf4:block=64"}


def test_every_page_still_runs_and_home_links_here():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    links = [p.proto.page for p in at.get("page_link")]
    assert any("tensor" in str(link) for link in links)


# ------------------------------------------------------------------ schemes
@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_selected_once(family):
    at = open_tensor(compare="none")
    at.selectbox(key="tl_family").set_value(family)
    rerun_ok(at)
    expect = str(parse_scheme(FAMILY_DEFAULTS[family]))
    assert at.text_input(key="tl_scheme_box").value == expect
    assert not errors(at), errors(at)
    assert metrics_table(at)["SQNR"]
    assert at.query_params["scheme"] == expect


@pytest.mark.parametrize(
    "scheme",
    [
        "int8:cal=kl", "int8:cal=percentile,pct=99.9", "uint4:cal=mse", "float8_e5m2:scaled,axis=0", "float8_e4m3fn:sat",
        "bfloat16:round=toward_zero", "nf4:block=none,axis=0", "nf4:block=128,dq", "mxfp6_e3m2:round=ceil", "mxint8",
        "nvfp4:block=32", "log3:block=64", "ternary:delta=0.5", "binary:axis=1", "codebook:values=-1;-0.25;0.125;1,block=16,dq",
        "float32", "int16:block=32", "q4_1", "q6_k", "iq4_nl",
    ],
)
def test_scheme_options_round_trip_through_the_widgets(scheme):
    at = open_tensor(scheme=scheme, compare="none")
    canon = str(parse_scheme(scheme))
    assert at.text_input(key="tl_scheme_box").value == canon
    assert at.query_params["scheme"] == canon
    assert not errors(at), errors(at)


def test_widgets_build_the_scheme():
    at = open_tensor(compare="none")
    at.toggle(key="tl_dq").set_value(True)
    rerun_ok(at)
    assert at.text_input(key="tl_scheme_box").value == "nf4:block=64,dq"
    at.selectbox(key="tl_block").set_value(128)
    rerun_ok(at)
    assert at.text_input(key="tl_scheme_box").value == "nf4:block=128,dq"
    at.selectbox(key="tl_family").set_value("int")
    rerun_ok(at)
    at.selectbox(key="tl_int_bits").set_value(4)
    at.selectbox(key="tl_cal").set_value("percentile")
    rerun_ok(at)
    assert at.text_input(key="tl_scheme_box").value == "int4:cal=percentile"
    at.selectbox(key="tl_gran").set_value("channel")
    rerun_ok(at)
    assert at.text_input(key="tl_scheme_box").value == "int4:axis=0"  # calibration is per tensor only
    assert at.selectbox(key="tl_cal").disabled


def test_scheme_box_sets_the_widgets_and_reports_mistakes():
    at = open_tensor(compare="none")
    at.text_input(key="tl_scheme_box").input("mxfp6_e2m3:round=rceil")
    rerun_ok(at)
    assert at.selectbox(key="tl_family").value == "mx"
    assert at.selectbox(key="tl_mx_element").value == "mxfp6_e2m3"
    assert at.selectbox(key="tl_mx_round").value == "rceil"
    at.text_input(key="tl_scheme_box").input("nf5:block=64")
    rerun_ok(at)
    assert any("unknown scheme 'nf5'" in e for e in errors(at))
    assert metrics_table(at)  # the last good scheme still shows its results
    at.text_input(key="tl_scheme_box").input("int4:block=32")
    rerun_ok(at)
    assert not errors(at)
    assert at.selectbox(key="tl_family").value == "int"


def test_a_scheme_that_cannot_quantize_shows_why():
    at = open_tensor(scheme="float8_e8m0fnu", compare="none")  # unsigned: negatives become NaN
    assert not at.exception
    assert any("became NaN or ±inf" in w.value for w in at.warning)
    assert metrics_table(at)["SQNR"]


def test_overflow_to_inf_and_nan_is_reported_not_a_crash():
    """A plain cast that overflows: float8_e5m2 stores 1e5 as inf, float8_e4m3fn (no inf) as NaN.
    quantlib.metrics gives both an infinite error (SQNR -inf, cosine NaN) and counts them."""
    x = np.random.default_rng(8).standard_normal((16, 64)).astype(np.float32)
    x[0, 0] = 1e5
    m = metrics(x, quantize(x, "float8_e5m2").dequantize()).as_dict()
    bad = m["n_nonfinite"]
    assert bad == 1 and m["sqnr_db"] == -np.inf and m["max_abs_error"] == np.inf and np.isnan(m["cosine"])
    at = open_upload()
    upload(at, "big.npy", npy_bytes(x))
    for scheme in ("float8_e5m2", "float8_e4m3fn"):
        at.text_input(key="tl_scheme_box").input(scheme)
        rerun_ok(at)
        assert not errors(at), errors(at)
        assert any("1 values could not be stored" in w.value for w in at.warning)
        assert metrics_table(at)["SQNR"] == "−∞ dB"
    at.text_input(key="tl_scheme_box").input("float8_e4m3fn:sat")
    rerun_ok(at)
    assert metrics_table(at)["Clipped"] != "0%"  # saturating instead: clipped, finite


# ------------------------------------------------------------------ compare
def test_compare_preset_button():
    at = open_tensor(compare="none")
    assert any("to see them beside nf4:block=64" in i.value for i in at.info)  # the current scheme alone: a hint, no table
    at.button(key="tl_presets").click()
    rerun_ok(at)
    assert sorted(compare_schemes(at)) == sorted(PRESETS)
    assert "compare" not in at.query_params  # the presets are the default
    front = table_with(at, "Scheme")
    assert (front["Pareto"] != "").sum() >= 3
    assert "**Pareto front** (numbered on the chart): **1** " in markdown(at)


def test_compare_add_and_keep():
    at = open_tensor(compare="int8", scheme="int3:block=32")
    at.text_input(key="tl_compare_add").input("nf4:block=128,dq")
    rerun_ok(at)
    assert set(compare_schemes(at)) == {"int8", "nf4:block=128,dq", "int3:block=32"}
    at.button(key="tl_keep").click()
    rerun_ok(at)
    assert at.query_params["compare"] == "int8|nf4:block=128,dq|int3:block=32"
    at.text_input(key="tl_compare_add").input("int99")
    rerun_ok(at)
    assert any("Cannot add 'int99'" in e for e in errors(at))


# ------------------------------------------------------------------ uploads
def test_upload_npy():
    x = np.random.default_rng(3).standard_normal((64, 96)).astype(np.float32)
    at = open_upload()
    assert any("upload" in i.value.lower() or "sample" in i.value for i in at.info)  # the sample until then
    upload(at, "w.npy", npy_bytes(x))
    assert "**w**: shape 64 × 96, stored as float32" in markdown(at)
    q = quantize(x, "nf4:block=64")
    assert metrics_table(at)["SQNR"] == f"{metrics(x, q).sqnr_db:.2f} dB"
    assert at.query_params["file"] == "w.npy" and at.query_params["source"] == "upload"


def test_upload_several_tensors_picker_and_per_tensor_comparison():
    rng = np.random.default_rng(4)
    tensors = {
        "layer0.weight": rng.standard_normal((32, 64)).astype(np.float32),
        "layer1.weight": (rng.standard_t(2, (64, 64))).astype(np.float32),  # heavy tails: suffers most
        "layer1.bias": rng.standard_normal(64).astype(np.float16),
        "mask": np.ones(4, bool),
    }
    data = save_safetensors(tensors)
    at = open_upload()
    upload(at, "model.safetensors", data)
    picker = at.selectbox(key="tl_tensor")
    assert picker.options[0].startswith("layer0.weight — 32 × 64 · float32")
    assert len(picker.options) == 3  # the bool tensor cannot be quantized ...
    assert any("cannot be quantized" in e.label for e in at.expander)  # ... and says so
    picker.set_value("layer1.bias")
    rerun_ok(at)
    assert "**layer1.bias**: shape 64, stored as float16" in markdown(at)
    assert at.query_params["tensor"] == "layer1.bias"
    assert at.subheader[-1].value == "5. Every tensor of the file"
    at.button(key="tl_all").click()
    rerun_ok(at)
    df = table_with(at, "Tensor")
    assert df["Tensor"].tolist()[0] == "layer1.weight"  # worst first
    assert len(df) == 3


def test_upload_with_nan_and_inf():
    x = np.random.default_rng(5).standard_normal((16, 64)).astype(np.float32)
    x[0, :3] = np.nan
    x[1, 0] = np.inf
    at = open_upload()
    upload(at, "nan.npy", npy_bytes(x))
    warn = " ".join(w.value for w in at.warning)
    assert "3 NaN and 1 infinite values" in warn
    assert at.radio(key="tl_nonfinite").value == "zero"
    assert "shape 16 × 64" in markdown(at)
    at.radio(key="tl_nonfinite").set_value("drop")
    rerun_ok(at)
    assert any("1,020 finite values, shape 1020" in c.value for c in at.caption)  # 1024 - 4, as a vector
    assert at.query_params["nonfinite"] == "drop"
    assert metrics_table(at)["SQNR"] != "—"


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("bad.npy", b"\x93NUMPY\x01\x00garbage", "npy"),
        ("empty.npy", b"", "empty"),
        ("text.csv", b"a,b\n1,x\n", "csv"),
        ("obj.npy", None, "object"),
    ],
)
def test_bad_upload_shows_the_message_and_the_page_keeps_working(name, data, needle):
    if data is None:
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        data = buf.getvalue()
    at = open_upload()
    upload(at, name, data)
    errs = " ".join(errors(at))
    assert "Cannot read the file" in errs and needle in errs.lower()
    assert metrics_table(at)["SQNR"]  # the sample is still quantized below


def test_csv_and_npz_uploads():
    at = open_upload()
    upload(at, "m.csv", b"# a matrix\n1,2,3\n4,5,6\n")
    assert "shape 2 × 3, stored as text" in markdown(at)
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(10, dtype=np.float32), b=np.ones((3, 3), np.float64))
    upload(at, "two.npz", buf.getvalue())
    assert len(at.selectbox(key="tl_tensor").options) == 2


def test_upload_pytorch_state_dict():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"encoder.w": torch.randn(16, 32), "encoder.b": torch.zeros(32, dtype=torch.bfloat16), "step": 3}, buf)
    at = open_upload()
    upload(at, "ckpt.pt", buf.getvalue())
    assert not errors(at), errors(at)
    assert [o.split(" — ")[0] for o in at.selectbox(key="tl_tensor").options] == ["encoder.w", "encoder.b"]
    assert "stored as float32" in markdown(at)


def gguf_bytes(tmp_path: Path) -> bytes:
    """A small .gguf written by gguf-py: Q8_0, F32, Q4_1 and an IQ2_XXS tensor (listed, not readable)."""
    gguf = pytest.importorskip("gguf")
    qt = gguf.GGMLQuantizationType
    rng = np.random.default_rng(9)
    w = gguf.GGUFWriter(tmp_path / "smol.gguf", "llama")
    w.add_tensor("token_embd.weight", quantize(rng.standard_normal((32, 64)).astype(np.float32), "q8_0").blocks, raw_dtype=qt.Q8_0)
    w.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", quantize(rng.standard_normal((48, 64)).astype(np.float32), "q4_1").blocks, raw_dtype=qt.Q4_1)
    w.add_tensor("blk.0.ffn_down.weight", np.zeros((2, 66), np.uint8), raw_dtype=qt.IQ2_XXS)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return (tmp_path / "smol.gguf").read_bytes()


def test_upload_gguf_offers_the_stored_type(tmp_path):
    at = open_upload()
    upload(at, "smol.gguf", gguf_bytes(tmp_path))
    assert not errors(at), errors(at)
    picker = at.selectbox(key="tl_tensor")
    assert [o.split(" · ")[1] for o in picker.options] == ["Q8_0", "F32", "Q4_1"]  # the stored types
    assert picker.options[0].startswith("token_embd.weight — 32 × 64 · Q8_0")
    assert any("IQ2_XXS" in e.label or "cannot be quantized" in e.label for e in at.expander)
    assert "IQ2_XXS" in markdown(at)  # why it cannot be read
    assert "q8_0" in compare_schemes(at)
    picker.set_value("blk.0.attn_q.weight")
    rerun_ok(at)
    assert not errors(at), errors(at)
    assert "**blk.0.attn_q.weight**: shape 48 × 64, stored as Q4_1, 3,072 values (1.875 KiB)" in markdown(at)
    assert any("Stored as Q4_1 (5 bits per weight)" in c.value for c in at.caption)
    table = table_with(at, "Scheme")
    row = table[table["Scheme"] == "q4_1"]
    assert len(row) == 1 and row["Bits/elem"].iloc[0] == 5.0 and row["SQNR (dB)"].iloc[0] == np.inf  # re-quantizing as Q4_1 loses nothing
    assert set(compare_schemes(at)) == {"int8", "nf4:block=64", "q4_1"}  # the Q8_0 tensor's type left again
    assert metrics_table(at)["Size"].endswith("(Q4_1): 90.0%")  # nf4:block=64 against the stored Q4_1 bytes
    assert at.query_params["tensor"] == "blk.0.attn_q.weight"
    at.multiselect(key="tl_compare").unselect("q4_1")
    rerun_ok(at)
    assert "q4_1" not in compare_schemes(at)  # removed: it stays removed
    at.button(key="tl_all").click()
    rerun_ok(at)
    assert table_with(at, "Tensor")["Tensor"].tolist() and not errors(at)


def test_llama_cpp_types_in_the_picker_and_the_comparison():
    at = open_tensor(compare="none")
    at.button(key="tl_ggml").click()
    rerun_ok(at)
    assert set(GGML_PRESETS) <= set(compare_schemes(at))
    at.selectbox(key="tl_family").set_value("ggml")
    rerun_ok(at)
    at.selectbox(key="tl_ggml_type").set_value("q4_1")
    rerun_ok(at)
    assert at.text_input(key="tl_scheme_box").value == "q4_1"
    assert metrics_table(at)["Bits per element"] == "5"
    open_tab(at, "One block up close")
    assert not errors(at), errors(at)
    assert len(table_with(at, "How it was rounded")) == 32


def test_url_restores_the_page():
    query = {
        "sample": "llm_activations", "scheme": "int8:axis=1", "compare": "int8|mxfp4", "log": "1", "bins": "241", "levels": "0", "block": "7",
    }
    at = open_tensor(**query)
    assert at.selectbox(key="tl_sample").value == "llm_activations"
    assert at.selectbox(key="tl_family").value == "int"
    assert at.selectbox(key="tl_gran").value == "channel" and at.selectbox(key="tl_axis").value == 1
    assert at.toggle(key="tl_log").value is True and at.toggle(key="tl_levels").value is False
    assert at.selectbox(key="tl_bins").value == 241
    assert at.number_input(key="tl_zoom").value == 7  # the link opened the block's tab
    assert at.multiselect(key="tl_compare").value == ["int8", "mxfp4"]
    assert dict(at.query_params) == query
    assert charts(at)[0]["layout"]["yaxis"]["type"] == "log"


def test_url_with_a_file_asks_for_it_again_and_bad_params_warn():
    at = open_tensor(source="upload", file="model.safetensors", tensor="w", scheme="nf9", sample="nope", bins="7")
    infos = " ".join(i.value for i in at.info)
    assert "model.safetensors" in infos and "upload it again" in infos
    warns = " ".join(w.value for w in at.warning)
    assert "scheme='nf9'" in warns and "sample='nope'" in warns and "bins='7'" in warns
    assert metrics_table(at)["SQNR"]


def test_block_zoom_shows_how_values_were_rounded():
    at = open_tensor(scheme="int4:block=64", compare="none")
    assert not any("How it was rounded" in d.value.columns for d in at.dataframe)  # lazy tabs: not computed until opened
    open_tab(at, "One block up close")
    table = table_with(at, "How it was rounded")
    assert len(table) == 64
    assert set(table["How it was rounded"]) <= {
        "down to the nearer level", "up to the nearer level", "exact: a level itself", "flushed to 0", "a tie: down", "a tie: up",
    }
    at.number_input(key="tl_zoom").set_value(9)
    rerun_ok(at)
    assert at.query_params["block"] == "9"
    table = table_with(at, "How it was rounded")
    assert table["Index"].tolist()[0] == 64  # block 9 = row 1, columns 64..127
    assert "row 1, columns 64 to 127" in markdown(at)


FORMULA_SCHEMES = {
    "int4:block=64": r"\frac{2^{k-1}-1}{\operatorname{absmax}(x)}",
    "uint8": r"\operatorname{clamp}(\operatorname{round}(x/\Delta) + z, 0, 2^k - 1)",
    "nf4:block=64,dq": r"\operatorname{find\_nearest}",
    "mxfp4": r"\lfloor \log_2 \operatorname{amax}(x) \rfloor - e_{\max}",
    "nvfp4": r"s_b &= \mathrm{float8\_e4m3fn}",
    "float8_e4m3fn:scaled": r"\max_{\mathrm{float8\_e4m3fn}}",
    "bfloat16": r"\operatorname{round}_{\mathrm{bfloat16}}(x)",
    "ternary": r"\operatorname{mean}(|x| : |x| > \delta)",
}


@pytest.mark.parametrize("scheme", list(FORMULA_SCHEMES))
def test_block_up_close_shows_the_formulas_with_the_blocks_numbers(scheme):
    from lab.tensor.formulas import tex_num
    from quantlib.schemes.explain import block_explain

    at = open_tab(open_tensor(scheme=scheme, compare="none"), "One block up close")
    assert not errors(at)
    tex = " ".join(e.value for e in at.latex)
    assert at.latex and FORMULA_SCHEMES[scheme] in tex
    x = tc.sample_tensor("gaussian_weights", "default", 0).array
    q = quantize(x, scheme)
    g = at.number_input(key="tl_zoom").value if q.layout.n_groups > 1 else 0
    be = block_explain(q, x, g, limit=tc.ZOOM_MAX)
    assert tex_num(be.deq[be.worst], 8) in tex and tex_num(be.x[be.worst], 8) in tex  # the live numbers of the block shown
    if "c" in be.numbers:
        assert tex_num(be.numbers["c"], 8) in tex
        table = table_with(at, "x·c")
        assert table["q"].tolist()[be.worst] in (str(int(be.codes[be.worst])), str(int(be.values[be.worst])) if float(be.values[be.worst]).is_integer() else "")
    md = markdown(at) + " ".join(c.value for c in at.caption)
    assert "the scale is Δ = 1/c" in md and "with the largest error" in md
    if scheme.startswith("nf4"):
        assert r"4 + \frac{8}{64} + \frac{32}{64\cdot 256}" in tex


def test_block_up_close_formula_follows_the_chosen_block():
    at = open_tab(open_tensor(scheme="int8:block=64", compare="none"), "One block up close")
    first = [e.value for e in at.latex]
    at.number_input(key="tl_zoom").set_value(3)
    rerun_ok(at)
    assert [e.value for e in at.latex] != first
    x = tc.sample_tensor("gaussian_weights", "default", 0).array
    from lab.tensor.formulas import tex_num
    from quantlib.schemes.explain import block_explain

    be = block_explain(quantize(x, "int8:block=64"), x, 3)
    assert rf"\frac{{127}}{{{tex_num(be.numbers['absmax'], 8)}}} = {tex_num(be.numbers['c'], 8)}" in at.latex[0].value


def test_ggml_block_has_no_formula_but_its_table():
    at = open_tab(open_tensor(scheme="q4_0", compare="none"), "One block up close")
    assert not errors(at) and not at.latex
    assert len(table_with(at, "How it was rounded")) > 0


def test_chart_options_recompute_nothing():
    at = open_tensor(compare="int8|mxfp4")
    before = dict(tc.MISSES)
    at.toggle(key="tl_log").set_value(True)
    rerun_ok(at)
    at.toggle(key="tl_levels").set_value(False)
    rerun_ok(at)
    after = dict(tc.MISSES)
    changed = {k: (before.get(k, 0), v) for k, v in after.items() if v != before.get(k, 0)}
    assert not changed, changed
    at.selectbox(key="tl_bins").set_value(481)  # new bins: only the histograms
    rerun_ok(at)
    again = dict(tc.MISSES)
    assert again["hists"] == after.get("hists", 0) + 1
    assert again.get("analysis", 0) == after.get("analysis", 0) and again.get("compare_row", 0) == after.get("compare_row", 0)
    # (the dequantized tensor itself is kept for the 3 latest schemes only, so other tests may have evicted it)
    assert again.get("quantized", 0) <= after.get("quantized", 0) + 1


def test_picking_a_compared_scheme_reuses_its_analysis():
    """A compared scheme's row comes from its whole analysis, so making it the current scheme
    quantizes nothing again; the scheme it replaces keeps its row from its own analysis."""
    at = open_tensor(seed=41, compare="int8|int3:block=32|nf4:block=64")
    before = dict(tc.MISSES)
    at.text_input(key="tl_scheme_box").input("int3:block=32")
    rerun_ok(at)
    after = dict(tc.MISSES)
    assert after.get("analysis", 0) == before.get("analysis", 0)
    assert after.get("quantized", 0) == before.get("quantized", 0)
    assert sorted(compare_schemes(at)) == sorted(["int8", "int3:block=32", "nf4:block=64"])
    x = tc.sample_tensor("gaussian_weights", "default", 41).array
    m = metrics(x, quantize(x, "int3:block=32").dequantize())
    assert metrics_table(at)["SQNR"] == f"{m.sqnr_db:.2f} dB"


def test_language_switch_renders_chinese():
    at = open_tensor(compare="none")
    at.selectbox(key="lang").set_value("zh_CN")
    rerun_ok(at)
    assert at.title[0].value == translate("Tensor Lab", "zh_CN") != "Tensor Lab"
    assert at.subheader[0].value == translate("1. The tensor", "zh_CN")
    assert not errors(at)
    assert translate("count", "zh_CN") in json.dumps(charts(at)[0], ensure_ascii=False)
    assert metrics_table(at)[translate("Bits per element", "zh_CN")] == "4.5"


# ------------------------------------------------------------------ downloads (their contents)
def dequantize_file(data: bytes) -> tuple[np.ndarray, dict]:
    """Rebuild the dequantized tensor from the .safetensors download, with quantlib only."""
    from quantlib import encode

    meta = read_metadata(data, name="q.safetensors")
    t = {k: v.array for k, v in load_tensors(data, name="q.safetensors").items()}
    scheme = parse_scheme(meta["quantlab.scheme"])
    shape = tuple(int(s) for s in meta["quantlab.shape"].split(","))
    codes = t["tensor.codes"]
    fmt = meta.get("quantlab.code_format")
    if fmt in ("float8_e4m3fn", "float8_e5m2", "bfloat16"):  # stored with their dtype tag: read back as values
        codes = encode(codes, fmt)
    q = QuantizedTensor(
        scheme=scheme, layout=scheme.layout(shape), dtype=np.dtype(meta["quantlab.dtype"]),
        codes=codes.astype(np.int64).astype(quantize(np.zeros(shape, np.float32), scheme).codes.dtype).reshape(shape),
        scales=t.get("tensor.scales"), zero_points=t.get("tensor.zero_points"), scale_codes=t.get("tensor.scale_codes"),
        tensor_scale=float(t["tensor.tensor_scale"][0]) if "tensor.tensor_scale" in t else None,
        clipped=np.zeros(shape, bool),
    )
    return q.dequantize(), meta


@pytest.mark.parametrize("scheme", ["nf4:block=64,dq", "int4:block=32", "uint8", "mxfp4", "nvfp4", "float8_e4m3fn:scaled", "bfloat16"])
def test_quantized_download_dequantizes_to_the_shown_metrics(scheme):
    x = np.random.default_rng(6).standard_normal((32, 80)).astype(np.float32)
    q = quantize(x, scheme)
    data = tc.quantized_file(q, "w")
    xq, meta = dequantize_file(data)
    assert np.array_equal(xq, q.dequantize())
    assert meta["quantlab.scheme"] == scheme
    assert float(meta["quantlab.bits_per_element"]) == q.bits_per_element
    dq = load_tensors(tc.dequantized_file(q.dequantize()), name="d.npy")
    assert np.array_equal(next(iter(dq.values())).array, q.dequantize())


# ------------------------------------------------------------------ speed (printed; budgets checked loosely)
def _timed(at: AppTest, act) -> float:
    act()
    t = time.perf_counter()
    rerun_ok(at)
    return (time.perf_counter() - t) * 1e3


def test_rerun_times_default_sample(capsys):
    t0 = time.perf_counter()
    at = open_tensor()
    first = (time.perf_counter() - t0) * 1e3
    steps = [
        ("rerun", lambda: None),
        ("scheme int4:block=64", lambda: at.text_input(key="tl_scheme_box").input("int4:block=64")),
        ("double quant", lambda: at.text_input(key="tl_scheme_box").input("nf4:block=64,dq")),
        ("log axis", lambda: at.toggle(key="tl_log").set_value(True)),
        ("bins 241", lambda: at.selectbox(key="tl_bins").set_value(241)),
        ("sample: LLM activations", lambda: at.selectbox(key="tl_sample").set_value("llm_activations")),
    ]
    times = [(n, _timed(at, a)) for n, a in steps]
    with capsys.disabled():
        print(f"\nTensor Lab AppTest (512x512 sample): first open {first:.0f} ms; reruns (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in times))
    assert max(ms for _n, ms in times) < 5000


def test_rerun_times_16m_elements(capsys):
    """A 16 Mi-element sample (64 MB of float32): first open (generate, hash, quantize),
    scheme changes, a chart option, and the compare preset."""
    t0 = time.perf_counter()
    at = open_tensor(timeout=180, sample="gaussian_weights", size="16M", compare="none")
    first = (time.perf_counter() - t0) * 1e3
    assert "16,777,216 values" in markdown(at)
    steps = [
        ("rerun", lambda: None),
        ("scheme int4:block=64", lambda: at.text_input(key="tl_scheme_box").input("int4:block=64")),
        ("scheme mxfp4", lambda: at.text_input(key="tl_scheme_box").input("mxfp4")),
        ("scheme float8_e4m3fn:scaled", lambda: at.text_input(key="tl_scheme_box").input("float8_e4m3fn:scaled")),
        ("block 128", lambda: at.text_input(key="tl_scheme_box").input("nf4:block=128")),
        ("log axis", lambda: at.toggle(key="tl_log").set_value(True)),
        ("compare preset (12 new)", lambda: at.button(key="tl_presets").click()),
        ("rerun", lambda: None),
    ]
    times = [(n, _timed(at, a)) for n, a in steps]
    with capsys.disabled():
        print(f"\nTensor Lab AppTest (16M elements): first open {first:.0f} ms; reruns (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in times))
    assert len(compare_schemes(at)) == len(PRESETS) + 1
    assert max(ms for _n, ms in times) < 30000  # a sanity bound only: the machine is shared; the budgets are reported


def test_nothing_to_compare_shows_a_hint_not_a_one_point_chart():
    at = open_tensor(compare="none")
    assert not any(t.get("name") == "Pareto front" for c in charts(at) for t in c["data"])
    assert any("press Standard presets, to see them beside nf4:block=64" in i.value for i in at.info)
    at.button(key="tl_presets").click()
    rerun_ok(at)
    assert any(t.get("name") == "Pareto front" for c in charts(at) for t in c["data"])
