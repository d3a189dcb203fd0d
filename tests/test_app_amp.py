"""The /amp page through the router with AppTest: short runs (1 epoch) to stay fast."""

import pytest

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


def test_cached_rerun_keeps_results(at):
    rerun_ok(at)
    assert len(charts(at)) == 4 and not at.get("progress")


def test_format_limits_come_from_quantlib(at):
    ranges = at.dataframe[1].value
    assert list(ranges.iloc[:, 0]) == ["float32", "float16", "bfloat16"]
    assert ranges.iloc[1, 3] == "65504"


def test_bad_url_is_reported_and_runs_selection_changes():
    at = open_page(PAGE, timeout=120, epochs="1", runs="float32|nope", opt="rmsprop")
    warnings = " ".join(w.value for w in at.warning)
    assert "nope" in warnings and "rmsprop" in warnings
    assert len(at.dataframe[0].value) == 1
    assert "Add a run with loss scaling" in " ".join(i.value for i in at.info)


def test_out_of_range_numbers_are_clamped_and_said():
    at = open_page(PAGE, timeout=120, epochs="1", runs="float16_scaled", scale="40")
    warnings = " ".join(w.value for w in at.warning)
    assert "scale='40' is outside 0…24: 24 is used." in warnings
    assert at.number_input(key="amp_scale").value == 24


def test_chinese():
    at = open_page(PAGE, timeout=120, lang="zh_CN", epochs="1", runs="float32|float16")
    assert "混合精度" in " ".join(t.value for t in at.title)
