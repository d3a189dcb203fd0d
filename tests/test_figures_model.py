"""The PTQ studio builders (figures/model.py) on small hand-made inputs (no streamlit, no model):
tables against numbers worked out by hand, figures' traces and axes, the computed findings."""

from __future__ import annotations


import numpy as np
import plotly.graph_objects as go

from figures import model as F
from quantlib.model.smoothquant import SmoothView


def met(mean=0.99, mn=0.9, nn=1.0, top=0.5, ch=0.01, worst=1) -> dict:
    return dict(mean_cosine=mean, min_cosine=mn, nn_agreement=nn, top3_agreement=top, max_sim_change=ch, worst_text=worst, size_bytes=None)


def test_metrics_table():
    t = F.metrics_table(met(), 25_000_000, 100_000_000, ["a", "worst one", "c"], 0.25)
    assert list(t.columns) == ["Metric", "Value", "What it measures"]
    v = dict(zip(t["Metric"], t["Value"]))
    assert v["mean cosine to float32"] == "0.990000"
    assert v["nearest-neighbour agreement"] == "100.0%"
    assert v["top-3 agreement"] == "50.0%"
    assert v["model size"] == "25.00 MB"
    assert v["time to run the evaluation set (numpy emulation)"] == "0.25 s"
    meaning = dict(zip(t["Metric"], t["What it measures"]))
    assert meaning["min cosine to float32"] == "the worst text: worst one"
    assert meaning["model size"] == "25,000,000 bytes: 25.0% of float32's 100,000,000 bytes (payload + scales)"
    assert "3 texts" in meaning["mean cosine to float32"]


def test_ranking_table_marks_moves():
    texts = ["q", "a", "b", "c"]
    ref = [(1, 0.9), (2, 0.8), (3, 0.1)]
    quant = [(2, 0.85), (1, 0.84), (3, 0.2)]
    t = F.ranking_table(texts, ref, quant, top=3)
    assert t.iloc[:, 1].tolist() == ["a", "b", "c"]
    assert t.iloc[:, 3].tolist() == ["b", "a", "c"]
    assert t.iloc[:, -1].tolist() == ["↑1", "↓1", "="]
    assert t.iloc[0, 2] == "0.9000"


def _result(key, size, mean):
    return dict(key=key, title=key.upper(), weights="w", acts=None, metrics=met(mean=mean), size=size, float32_size=1000)


def test_recipes_table_and_size_figure():
    res = [_result("float32", 1000, 1.0), _result("int8", 260, 0.99)]
    t = F.recipes_table(res)
    assert t["Recipe"].tolist() == ["FLOAT32", "INT8"]
    assert t["mean cos"].tolist() == ["1.00000", "0.99000"]
    assert t["÷ float32"].tolist() == ["100.0%", "26.0%"]
    fig = F.size_cosine_figure(res, chosen="int8")
    assert isinstance(fig, go.Figure)
    tr = fig.data[0]  # float32 (no damage) is left out of the log axis
    assert list(tr.x) == [0.00026] and np.allclose(tr.y, [0.01])
    assert list(tr.marker.color) == [F.CHOSEN_COLOR]
    assert fig.layout.xaxis.title.text == "model size (MB)"
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "1 − mean cosine to float32 (log scale)"


def test_absmax_figure_marks_outliers():
    a = np.ones(10)
    a[3] = 20
    fig = F.absmax_figure(a, [3], ["t"] * 3 + ["[CLS]"] + ["t"] * 6, [5] * 3 + [0] + [5] * 6, 6.0)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.title.text == "input channel"
    assert list(fig.data[1].x) == [3] and list(fig.data[1].text) == ["3 [CLS]"]
    assert list(fig.data[2].y) == [1.0, 1.0]  # the median


def view(name="layer0.ffn_down", w_out=10.0) -> SmoothView:
    x = np.array([16.0, 1, 1, 1, 1])
    w = np.array([w_out, 1, 1, 1, 1])
    s = np.sqrt(x / w)
    return SmoothView(name, 0.5, s, x, x / s, w, w * s)


def test_smooth_figure_two_log_panels():
    fig = F.smooth_figure(view())
    assert len(fig.data) == 4
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert fig.layout.xaxis2.title.text == "input channel"
    assert fig.data[1].name == "after smoothing (α = 0.50)"


def _row(name, plain, smooth, token=0.01):
    return dict(
        name=name, kind=name.split(".")[1], w8a8=plain, w8a8_smooth=smooth, w8a8_per_token=token, w8_only=0.005,
        x_spread_before=10.0, x_spread_after=3.0, w_spread_before=2.0, w_spread_after=4.0, smoothing_hurts=smooth > plain,
    )


def test_smooth_table_and_findings():
    rows = [_row("layer0.q", 0.03, 0.02), _row("layer0.ffn_down", 0.02, 0.05), _row("layer1.ffn_down", 0.02, 0.03)]
    t = F.smooth_table(rows)
    assert t["smoothing hurts"].tolist() == ["no", "yes", "yes"]
    assert t["X spread before → after"].tolist()[0] == "10 → 3"
    variants = {"w8a8": met(mean=0.97), "smooth_all": met(mean=0.96), "smooth_except_ffn_down+per_token_ffn_down": met(mean=0.998)}
    vt = F.variants_table(variants)
    assert vt["Variant"].tolist()[0] == "W8A8, no smoothing"
    out = F.smooth_findings(rows, variants, 0.5, view(), [view(), view("layer1.ffn_down", w_out=1.0)], 6.0)
    assert out[0] == "At α = 0.50, smoothing lowers the W8A8 output error of 1 of the 3 Linears and raises it in 2."
    assert out[1] == "It hurts ffn_down in 2 of 2 layers."
    assert "channel 0 (max |X| 16× the median channel)" in out[2] and "10× the median column" in out[2]
    assert "W8A8 0.02, smoothed 0.05, per-token activations 0.01" in out[2]
    assert out[3].startswith("FFN down: in 1 of 2 layers")
    assert out[4].startswith("Whole model, best variant: SmoothQuant on all but FFN down + per-token activations on FFN down (mean cosine 0.99800)")
    # an ordinary weight column: the other sentence
    out = F.smooth_findings(rows, {}, 0.5, view(w_out=1.0))
    assert "ordinary weight column (1× the median)" in out[-1]


def test_sensitivity_figure():
    rows = [dict(group="a", metrics=met(mean=0.999)), dict(group="b", metrics=met(mean=0.99)), dict(group="c", metrics=met(mean=1.0))]
    fig = F.sensitivity_figure(rows)
    bar = fig.data[0]
    assert list(bar.x) == ["a", "b", "c"]
    assert np.allclose(bar.y[:2], [0.001, 0.01])
    assert bar.y[2] > 0  # a zero is drawn just below the smallest bar (log axis)
    assert list(bar.marker.color) == [F.AFTER_COLOR, F.OUTLIER_COLOR, F.AFTER_COLOR]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.title.text.startswith("1 − mean cosine")


def test_calibration_figure_and_table():
    x = np.array([-1.0, 0.0, 0.5, 3.0])
    rows = [
        dict(method="minmax", threshold=3.0, frac_clipped=0.0, output_rel_error=0.01, metrics=met(mean=0.999)),
        dict(method="kl", threshold=1.0, frac_clipped=0.25, output_rel_error=0.2, metrics=met(mean=0.998)),
    ]
    fig = F.calibration_figure(x, rows, "layer0.ffn_up", bins=7)
    assert int(sum(fig.data[-1].y)) == 4
    assert [t.name for t in fig.data[:-1]] == ["min-max: ±3", "KL (TensorRT): ±1"]
    assert list(fig.data[0].x) == [-3.0, -3.0, None, 3.0, 3.0]
    assert fig.layout.xaxis.title.text == "input value x of layer0.ffn_up"
    t = F.calibration_table(rows)
    assert t["Method"].tolist() == ["min-max", "KL (TensorRT)"]
    assert t["clipped (eval set)"].tolist() == ["0.000%", "25.000%"]
    assert t["end-to-end mean cos"].tolist() == ["0.999000", "0.998000"]
    assert fig.data[-1].type == "bar"  # drawn over the clip lines
