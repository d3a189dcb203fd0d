"""The Tensor Lab (/tensor) in a real browser: upload a .npy and a .safetensors through the file
input, see the metrics, run the compare preset, download the quantized and dequantized tensors
and check that they load and dequantize to the metrics shown; screenshots at 1280 px and
390 px (default, preset comparison, a 16 Mi-element tensor) in test-results/screenshots/."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from quantlib import encode, parse_scheme, quantize
from quantlib.metrics import metrics
from quantlib.schemes import QuantizedTensor
from quantlib.tensorio import load_tensors, read_metadata, save_safetensors

from .conftest import wait_idle

LONG = 60_000


def sqnr_text(x: np.ndarray, scheme: str) -> str:
    q = quantize(x, scheme)
    return f"{metrics(x, q.dequantize(), clipped=q.clipped).sqnr_db:.2f} dB"


def metric_cell(page: Page, text: str):
    return page.locator("table.tl-metrics td.ql-mono").get_by_text(text, exact=True)


def upload(page: Page, path) -> None:
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(path))


def open_upload_page(page: Page) -> None:
    page.goto("/tensor?source=upload&compare=int8")
    expect(page.get_by_role("heading", name="Tensor Lab").first).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stFileUploader")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)


def dequantize_download(data: bytes) -> np.ndarray:
    """Rebuild the dequantized tensor from the quantized .safetensors, with quantlib only."""
    meta = read_metadata(data, name="q.safetensors")
    t = {k: v.array for k, v in load_tensors(data, name="q.safetensors").items()}
    scheme = parse_scheme(meta["quantlab.scheme"])
    shape = tuple(int(s) for s in meta["quantlab.shape"].split(","))
    codes = t["tensor.codes"]
    if meta.get("quantlab.code_format") in ("float8_e4m3fn", "float8_e5m2", "bfloat16"):
        codes = encode(codes, meta["quantlab.code_format"])  # stored with a float dtype tag: values back to codes
    code_dtype = quantize(np.zeros(shape, np.float32), scheme).codes.dtype
    q = QuantizedTensor(
        scheme=scheme, layout=scheme.layout(shape), dtype=np.dtype(meta["quantlab.dtype"]),
        codes=codes.astype(np.int64).astype(code_dtype).reshape(shape), scales=t.get("tensor.scales"),
        zero_points=t.get("tensor.zero_points"), scale_codes=t.get("tensor.scale_codes"),
        tensor_scale=float(t["tensor.tensor_scale"][0]) if "tensor.tensor_scale" in t else None,
        clipped=np.zeros(shape, bool),
    )
    return q.dequantize()


def test_upload_npy_metrics_and_downloads(page: Page, tmp_path):
    x = np.random.default_rng(11).standard_normal((96, 128)).astype(np.float32) * 0.05
    path = tmp_path / "layer.npy"
    np.save(path, x)
    open_upload_page(page)
    upload(page, path)
    expect(page.get_by_text("shape 96 × 128, stored as float32", exact=False)).to_be_visible(timeout=LONG)
    shown = sqnr_text(x, "nf4:block=64")
    expect(metric_cell(page, shown)).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"file=layer\.npy"))

    # the quantized tensor: loads, dequantizes to the metrics shown
    with page.expect_download(timeout=LONG) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="Quantized (.safetensors)").get_by_role("button").click()
    data = dl.value.path().read_bytes()
    assert dl.value.suggested_filename.endswith(".safetensors")
    xq = dequantize_download(data)
    assert f"{metrics(x, xq).sqnr_db:.2f} dB" == shown
    assert np.array_equal(xq, quantize(x, "nf4:block=64").dequantize())

    # the dequantized tensor
    with page.expect_download(timeout=LONG) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="Dequantized (.npy)").get_by_role("button").click()
    xq2 = np.load(dl.value.path(), allow_pickle=False)
    assert f"{metrics(x, xq2).sqnr_db:.2f} dB" == shown

    # the metrics table
    with page.expect_download(timeout=LONG) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="Metrics (.csv)").get_by_role("button").click()
    csv = dl.value.path().read_text()
    assert csv.startswith("metric,value") and "sqnr_db" in csv


def test_upload_safetensors_pick_a_tensor_and_change_scheme(page: Page, tmp_path, save_screenshot):
    rng = np.random.default_rng(12)
    a = rng.standard_normal((64, 64)).astype(np.float32)
    b = (rng.standard_t(3, (32, 256)) * 0.02).astype(np.float32)
    path = tmp_path / "model.safetensors"
    path.write_bytes(save_safetensors({"blocks.0.w": a, "blocks.1.w": b}))
    open_upload_page(page)
    upload(page, path)
    expect(metric_cell(page, sqnr_text(a, "nf4:block=64"))).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    # pick the second tensor
    page.get_by_test_id("stSelectbox").filter(has_text="Tensor (2 in the file)").click()
    page.get_by_role("option", name=re.compile(r"^blocks\.1\.w")).click()
    expect(metric_cell(page, sqnr_text(b, "nf4:block=64"))).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    # a scheme typed in the scheme box
    box = page.get_by_role("textbox", name="Scheme string")
    box.fill("int4:block=32")
    box.press("Enter")
    expect(metric_cell(page, sqnr_text(b, "int4:block=32"))).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page).to_have_url(re.compile(r"tensor=blocks\.1\.w"))
    expect(page).to_have_url(re.compile(r"scheme=int4%3Ablock%3D32|scheme=int4:block=32"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # every tensor of the file, worst first
    page.get_by_role("button", name="Quantize all 2 tensors").click()
    chart = page.locator(".js-plotly-plot").filter(has_text="blocks.0.w")
    expect(chart).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    save_screenshot(page, "tensor-per-tensor-desktop")


def test_bad_file_shows_the_message(page: Page, tmp_path):
    path = tmp_path / "broken.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00this is not an array")
    open_upload_page(page)
    upload(page, path)
    expect(page.get_by_test_id("stAlertContentError").filter(has_text="Cannot read the file")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator("table.tl-metrics")).to_be_visible()  # the sample is still shown


def test_compare_preset(page: Page):
    page.goto("/tensor?compare=none")
    expect(page.get_by_role("heading", name="4. Compare schemes")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    page.get_by_role("button", name="Standard presets").click()
    expect(page.get_by_text("Within 6.6 bits per element:", exact=False)).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page).not_to_have_url(re.compile(r"compare="))
    chart = page.locator(".js-plotly-plot").filter(has_text="Pareto front")
    expect(chart).to_be_visible()
    expect(page.get_by_text(re.compile(r"Pareto front \(numbered on the chart\): 1 nf4:block=64,dq"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


CASES = [
    ("tensor-default", "/tensor", None),
    ("tensor-compare-activations", "/tensor?sample=llm_activations&scheme=int8", None),
    ("tensor-16M", "/tensor?sample=gaussian_weights&size=16M", None),
    ("tensor-16M-zoom", "/tensor?sample=llm_activations&size=16M&scheme=mxfp4&log=1", "One block up close"),
    ("tensor-zh", "/tensor?lang=zh_CN&scheme=int4:block=64", None),
]
SIZES = [("desktop", 1280, 6400), ("phone", 390, 12000)]


@pytest.mark.parametrize("size", SIZES, ids=[s[0] for s in SIZES])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tensor_screenshot(sized_page, save_screenshot, case, size):
    name, path, tab = case
    label, width, height = size
    page = sized_page(width, height)
    page.goto(path)
    expect(page.locator("table.tl-metrics")).to_be_visible(timeout=120_000)
    expect(page.locator(".js-plotly-plot").last).to_be_visible(timeout=120_000)
    wait_idle(page, 120_000)
    if tab:  # the tabs are lazy: opening one reruns the page to compute it
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tabpanel").get_by_test_id("stDataFrame").or_(page.get_by_role("tabpanel").locator(".js-plotly-plot")).first).to_be_visible(timeout=120_000)
        wait_idle(page, 120_000)
    save_screenshot(page, f"{name}-{label}")


FORMULA_CASES = [("nf4:block=64,dq", "find_nearest"), ("uint4:block=32", "clamp"), ("nvfp4", "float8_e4m3fn"), ("mxfp4", "log")]


@pytest.mark.parametrize(("scheme", "word"), FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_block_up_close_formulas(page: Page, save_screenshot, pytestconfig, scheme, word):
    """The block tab at 1280 px: the scheme's formulas typeset by KaTeX with the block's numbers;
    a screenshot of the tab (tensor-formulas-<scheme>.png) for a person to read."""
    from pathlib import Path

    page.goto(f"/tensor?scheme={scheme}&compare=none")
    expect(page.locator("table.tl-metrics")).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    page.get_by_role("tab", name="One block up close").click()
    formulas = page.locator(".st-key-tl_formulas")
    expect(formulas.locator(".katex").first).to_be_visible(timeout=LONG)
    wait_idle(page, LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    text = formulas.inner_text()
    assert word in text and "deq" in text
    box = formulas.bounding_box()
    assert box is not None and box["width"] <= 1280
    stem = scheme.replace(":", "_").replace(",", "_").replace("=", "")
    save_screenshot(page, f"tensor-formulas-{stem}-desktop")
    out = Path(pytestconfig.getoption("--output")) / "screenshots"
    page.get_by_role("tabpanel").screenshot(path=str(out / f"tensor-formulas-{stem}-tab.png"))
