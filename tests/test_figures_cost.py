"""figures/cost.py: the /cost page's tables and figures, from quantlib.cost's numbers."""

from __future__ import annotations

import pytest

from figures import cost as figs
from quantlib.cost import HARDWARE, MODELS, ROUTES, WEIGHT_SCHEMES, Measurement, kv_cache_bytes, roofline, weight_bits, weight_bytes

SHAPE = MODELS["llama2-7b"]
P = SHAPE.params


def mem_rows():
    kv = kv_cache_bytes(SHAPE, context=2048, batch=1, bits=16)
    return [{"scheme": s, "bits": weight_bits(s), "weight_bytes": weight_bytes(P, s), "kv_bytes": kv} for s in WEIGHT_SCHEMES]


def speed_rows(hw="a100"):
    return [roofline(s, HARDWARE[hw], SHAPE, params=P, context=2048, batch=1, kv_bits=16) for s in WEIGHT_SCHEMES]


def fake_measurement(n: int) -> Measurement:
    times = {"float32": (0.001, 0.002, 0.0015), "int8": (0.01, 0.03, 0.02), "dequantize": (0.004, 0.004, 0.005)}
    return Measurement(256, 256, n, times)


@pytest.mark.parametrize(("n", "text"), [(512, "512 B"), (47_185_920, "47.19 MB"), (13_476_831_232, "13.48 GB"), (1.1e12, "1.1 TB"), (2500, "2.5 kB")])
def test_bytes_text(n, text):
    assert figs.bytes_text(n) == text


def test_rate_text():
    assert figs.rate_text(140.13193) == "140.1" and figs.rate_text(23150.84) == "23,151" and figs.rate_text(0.5) == "0.5"


def test_memory_table():
    df = figs.memory_table(mem_rows())
    L = figs.LABELS
    assert len(df) == len(WEIGHT_SCHEMES)
    assert df[L["col_scheme"]].tolist() == list(WEIGHT_SCHEMES)
    row = df[df[L["col_scheme"]] == "nf4:block=64,dq"].iloc[0]
    assert row[L["col_weight_bytes"]] == "3,476,140,673" and row[L["col_bits"]] == "4.126953125"
    assert df[L["col_ratio"]].iloc[0] == "1.000"
    assert set(df[L["col_kv"]]) == {"1.074 GB"}
    relabelled = figs.memory_table(mem_rows(), {"col_scheme": "方案"})
    assert "方案" in relabelled.columns


def test_memory_figure_stacks_weights_and_kv():
    fig = figs.memory_figure(mem_rows())
    assert [t.name for t in fig.data] == [figs.LABELS["trace_weights"], figs.LABELS["trace_kv"]]
    assert fig.layout.barmode == "stack"
    assert fig.data[0].x[0] == pytest.approx(4 * P / 1e9)
    assert len(fig.data[1].x) == len(WEIGHT_SCHEMES)


def test_speed_table_and_figure():
    rows = speed_rows()
    df = figs.speed_table(rows, kind_names={"bfloat16": "bf16"})
    L = figs.LABELS
    assert len(df) == len(rows)
    nf4 = df[df[L["col_scheme"]] == "nf4:block=64"].iloc[0]
    assert nf4[L["col_compute"]] == "bf16 (dequantized)" and nf4[L["col_decode_bound"]] == "memory"
    f16 = df[df[L["col_scheme"]] == "float16"].iloc[0]
    assert f16[L["col_compute"]] == "bf16 (its own)" and f16[L["col_decode"]] == "140.1" and f16[L["col_prefill"]] == "23,151"
    fig = figs.speed_figure(rows)
    # native and dequantized traces, one per panel each
    assert len(fig.data) == 4
    assert sum(len(t.y) for t in fig.data) == 2 * len(rows)
    native = [t for t in fig.data if t.name == L["trace_native"]]
    assert native and all(t.marker.color == figs.NATIVE_COLOR for t in native)


def test_speed_figure_all_native():
    rows = [r for r in speed_rows("h100") if r.native]
    assert len(figs.speed_figure(rows).data) == 2


def test_measure_table_and_figure():
    res = [fake_measurement(1), fake_measurement(256)]
    df = figs.measure_table(res)
    L = figs.LABELS
    assert len(df) == 2 * len(ROUTES)
    int8 = df.iloc[1]
    assert int8[L["col_route"]] == L["route_int8"] and int8[L["col_median"]] == "20" and int8[L["col_spread"]] == "10 – 30"
    assert int8[L["col_slowdown"]] == "13.33"
    assert df.iloc[0][L["col_rate"]] == f"{256 * 256 * 4 / 0.0015 / 1e9:.3g} GB/s"
    assert df.iloc[3][L["col_rate"]].endswith("GFLOPS")
    fig = figs.measure_figure(res)
    assert len(fig.data) == len(ROUTES) and fig.layout.yaxis.type == "log"
    bar = fig.data[1]
    assert bar.y[0] == pytest.approx(20) and bar.error_y.array[0] == pytest.approx(10) and bar.error_y.arrayminus[0] == pytest.approx(10)
