"""The /amp page through the router with AppTest: short runs (1 epoch) to stay fast, except the
default page (the preset where pure float16 fails, 3 seeds)."""

import math

import pytest

from figures.training import spread
from lab.amp.display import accuracy_finding
from lab.amp.state import AMP, PRESETS
from quantlib import get_format
from tests.apptest import charts, markdown, open_page, rerun_ok

PAGE = "app_pages/amp.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE, timeout=120, epochs="1", runs="float32|float16|float16_scaled|bfloat16")


def test_results_render_with_computed_numbers(at):
    md = markdown(at)
    assert "pure float16" in md and "Worked example" in md
    assert "skipped steps" in md and "2^-133" in md
    assert len(charts(at)) == 4  # loss, gradient histogram, lost updates, loss scale
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["float32 (reference)", "pure float16", "float16 + fp32 master + loss scaling", "pure bfloat16"]
    assert table.iloc[0, 4] == "—"  # float32 loses no update
    assert at.query_params["epochs"] in ("1", ["1"])


def test_three_seeds_mean_and_min_max_in_the_table_and_the_chart(at):
    table = at.dataframe[0].value
    assert "mean (min–max over 3 seeds)" in table.columns[1]
    cell = table.iloc[0, 1]  # e.g. "80.2% (77.4–83.3)"
    mean, lo, hi = (float(x) for x in cell.replace("%", "").replace("(", "").replace(")", "").replace("–", " ").split())
    assert lo <= mean <= hi
    loss = charts(at)[0]
    bands = [t for t in loss["data"] if t.get("fill") == "toself"]
    assert len(bands) == 4  # one min–max band per run
    assert "seeds 0–2" in " ".join(c.value for c in at.caption)


def test_timings_are_labelled_as_numpy_emulation(at):
    assert "numpy emulation on this server, not hardware speed" in at.dataframe[0].value.columns[-1]
    assert "numpy emulation on this server, not hardware speed" in " ".join(c.value for c in at.caption)


def test_cached_rerun_keeps_results(at):
    rerun_ok(at)
    assert len(charts(at)) == 4 and not at.get("progress")


def test_format_limits_come_from_quantlib(at):
    ranges = at.dataframe[1].value
    assert list(ranges.iloc[:, 0]) == ["float32", "float16", "bfloat16"]
    assert ranges.iloc[1, 3] == "65504"


def test_default_is_a_preset_where_pure_float16_fails():
    at = open_page(PAGE, timeout=180)
    assert at.selectbox(key=AMP.preset).value == "underflow" and dict(at.query_params) == {}
    md = markdown(at)
    assert "pure float16: test accuracy" in md
    lines = {line.split(":")[0].lstrip("- "): line for line in md.splitlines() if "test accuracy" in line and "against" in line}
    assert "clearly lower" in lines["pure float16"]
    assert "no clear difference" in lines["float16 + fp32 master + loss scaling"]
    assert "clearly lower" in lines["float16 + fp32 master"]  # a master copy alone does not help against underflow
    table = at.dataframe[0].value
    f16 = table[table.iloc[:, 0] == "pure float16"].iloc[0]
    assert float(f16.iloc[3].rstrip("%")) > 90  # most gradients flushed to 0


def test_preset_from_the_url_and_relative_url():
    at = open_page(PAGE, timeout=120, preset="lost", epochs="1", seeds="2")
    p = PRESETS["lost"]
    assert at.number_input(key=AMP.lr).value == p.settings.lr
    assert tuple(at.multiselect(key=AMP.runs).value) == p.runs
    assert dict(at.query_params) == {"preset": "lost", "epochs": "1", "seeds": "2"}  # lr=0.0003 is the preset's: left out
    assert "mean (min–max over 2 seeds)" in at.dataframe[0].value.columns[1]


def test_choosing_the_fp8_preset_draws_e5m2s_range():
    at = open_page(PAGE, timeout=120, epochs="1", seeds="1")
    at.selectbox(key=AMP.preset).select("fp8")
    rerun_ok(at)
    assert at.query_params["preset"] == "fp8"
    assert "FP8" in " ".join(at.dataframe[0].value.iloc[:, 0])
    hist = charts(at)[1]
    xs = {s["x0"] for s in hist["layout"]["shapes"] if s["type"] == "line"}
    e5m2 = get_format("float8_e5m2")
    assert math.log2(float(e5m2.smallest_subnormal)) in xs and math.log2(float(e5m2.max)) in xs
    assert -24 not in xs  # float16's smallest subnormal is not drawn
    rect = [s for s in hist["layout"]["shapes"] if s["type"] == "rect"][0]
    assert rect["x1"] == math.log2(float(e5m2.smallest_subnormal)) - 1
    assert list(at.dataframe[1].value.iloc[:, 0])[-2:] == ["float8_e5m2", "float8_e4m3fn"]
    assert "float8_e5m2 stores them as 0" in markdown(at)


def test_one_seed_says_there_is_no_spread():
    at = open_page(PAGE, timeout=120, epochs="1", seeds="1", runs="float32|float16")
    assert "on one seed: no spread to judge the difference by" in markdown(at)


def test_finding_wording_on_planted_numbers():
    ref = spread([0.955, 0.960, 0.967])
    assert "no clear difference" in accuracy_finding("run", spread([0.950, 0.958, 0.962]), ref, ref_name="float32")  # −0.4 inside 1.2
    low = accuracy_finding("run", spread([0.26, 0.33, 0.61]), ref, ref_name="float32")
    assert "clearly lower" in low and "26.2" not in low and "40.0% (26.0–61.0)" in low
    assert "clearly higher" in accuracy_finding("run", spread([0.99, 0.995, 1.0]), ref, ref_name="float32")
    assert "on one seed" in accuracy_finding("run", spread([0.5]), spread([0.96]), ref_name="float32")


def test_bad_url_is_reported_and_runs_selection_changes():
    at = open_page(PAGE, timeout=120, epochs="1", seeds="1", runs="float32|nope", opt="rmsprop", preset="bogus")
    warnings = " ".join(w.value for w in at.warning)
    assert "nope" in warnings and "rmsprop" in warnings and "bogus" in warnings
    assert len(at.dataframe[0].value) == 1
    assert "Add a run with loss scaling" in " ".join(i.value for i in at.info)


def test_out_of_range_numbers_are_clamped_and_said():
    at = open_page(PAGE, timeout=120, epochs="1", seeds="1", runs="float16_scaled", scale="40")
    warnings = " ".join(w.value for w in at.warning)
    assert "scale='40' is outside 0…24: 24 is used." in warnings
    assert at.number_input(key="amp_scale").value == 24


def test_chinese():
    at = open_page(PAGE, timeout=120, lang="zh_CN", epochs="1", seeds="1", runs="float32|float16")
    assert "混合精度" in " ".join(t.value for t in at.title)
