"""figures/qat.py: the /qat page's tables and figures, from a small real study and hand-made rows."""

from __future__ import annotations

import numpy as np
import pytest

from figures import qat as figs
from figures.training import moving_average
from quantlib.train.qat import FamilyRow, MethodRow


def rows():
    out = []
    for b, (d, c, q) in {8: (0.96, 0.961, 0.965), 2: (0.70, 0.75, 0.90)}.items():
        out += [MethodRow(bits=b, method="ptq_dynamic", accuracy=d, loss=0.1, nbytes=1000 * b),
                MethodRow(bits=b, method="ptq_calibrated", accuracy=c, loss=0.1, nbytes=1000 * b),
                MethodRow(bits=b, method="qat", accuracy=q, loss=0.1, nbytes=1000 * b)]
    return out


def fams():
    return [
        FamilyRow(family="ternary", scheme="ternary:axis=1", bits_per_weight=2.466, nbytes=3472, ptq_accuracy=0.91, qat_accuracy=0.97, seconds=0.1),
        FamilyRow(family="binary", scheme="binary:axis=1", bits_per_weight=1.466, nbytes=2288, ptq_accuracy=0.70, qat_accuracy=0.95, seconds=0.1),
        FamilyRow(family="int2", scheme="int2:axis=1", bits_per_weight=2.466, nbytes=3472, ptq_accuracy=0.82, qat_accuracy=0.94, seconds=0.1),
    ]


def test_accuracy_figure():
    fig = figs.accuracy_figure(rows(), 0.962)
    names = [t.name for t in fig.data]
    assert names == ["PTQ, data-free", "PTQ, calibrated", "QAT"]
    qat = fig.data[2]
    assert list(qat.x) == ["8", "2"] and list(qat.y) == pytest.approx([96.5, 90.0])
    assert list(fig.layout.xaxis.categoryarray) == ["8", "2"]
    assert fig.layout.shapes[0].y0 == pytest.approx(96.2)


def test_methods_table():
    t = figs.methods_table(rows(), 0.962, 38440, {"method_qat": "Q"})
    assert list(t.columns) == ["bits", "size (bytes)", "÷ float32", "PTQ, data-free", "PTQ, calibrated", "Q"]
    assert t.iloc[0].tolist() == ["float32", "38,440", "1", "96.2%", "96.2%", "96.2%"]
    assert t.iloc[2].tolist() == ["W2A2", "2,000", f"{2000 / 38440:.3f}", "70.0%", "75.0%", "90.0%"]


def test_curve_figure_partial_and_full():
    curves = {2: {"step_loss": [1.0, 0.5, 0.25], "epoch_acc": [0.8], "start_accuracy": 0.7}, 8: {"step_loss": [], "epoch_acc": [], "start_accuracy": 0.96}}
    fig = figs.curve_figure(curves, 3)
    acc = [t for t in fig.data if t.mode == "lines+markers"]
    assert [list(t.y) for t in acc] == [[96.0], pytest.approx([70.0, 80.0])]  # 8 bits first, epoch 0 = start
    smooth = [t for t in fig.data if t.mode == "lines" and t.opacity is None]
    assert list(smooth[0].y) == pytest.approx(moving_average([1.0, 0.5, 0.25], figs.SMOOTH))


def test_normalized_weights_and_histogram():
    W = np.float32([[1.0, -2.0], [0.5, 4.0]])
    assert figs.normalized_weights(W, np.float32([1.0, 4.0])).tolist() == [1.0, -0.5, 0.5, 1.0]
    assert figs.normalized_weights(W, np.float32([4.0])).tolist() == [0.25, -0.5, 0.125, 1.0]
    before = np.linspace(-1, 1, 101)
    fig = figs.histogram_figure(before, before * 0.5, 3, True)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [int(sum(b.y)) for b in bars] == [101, 101]
    levels = fig.data[-1]
    assert sorted({v for v in levels.x if v is not None}) == pytest.approx([k / 3 for k in range(-3, 4)])
    assert "7 levels of int3" in levels.name


def test_families_table_and_figure():
    t = figs.families_table(fams(), 0.962, 38440)
    assert t.iloc[0, 0] == "float32" and t.iloc[2].tolist() == ["binary", "binary:axis=1", "1.466", "2,288", f"{2288 / 38440:.3f}", "70.0%", "95.0%"]
    fig = figs.families_figure(fams(), 0.962, 38440)
    qat = fig.data[1]
    assert list(qat.text) == ["binary", "ternary", "int2"]  # by bits per weight, then QAT accuracy
    assert list(qat.x) == [1.466, 2.466, 2.466]
    assert list(qat.textposition) == ["top center", "top center", "bottom center"]
    assert len(fig.layout.annotations) >= 3


# ============================================================================ several seeds
class _Study:
    """The two fields seed_rows / seed_families read, planted."""

    def __init__(self, rows, families):
        self.rows, self.families = rows, families


def seeds():
    """Three seeds: the 2-bit data-free PTQ of the real page's seeds 0, 1, 2 (79.7, 64.1, 61.3%)."""
    out = []
    for acc2 in (0.797, 0.641, 0.613):
        r = [MethodRow(bits=2, method="ptq_dynamic", accuracy=acc2, loss=0.1, nbytes=3472),
             MethodRow(bits=2, method="qat", accuracy=0.89, loss=0.1, nbytes=3472)]
        f = [FamilyRow(family="binary", scheme="binary:axis=1", bits_per_weight=1.466, nbytes=2288, ptq_accuracy=acc2, qat_accuracy=0.95, seconds=0.1)]
        out.append(_Study(r, f))
    return out


def test_seed_rows_merge_mean_and_min_max():
    merged = {(r["bits"], r["method"]): r for r in figs.seed_rows(seeds())}
    d = merged[(2, "ptq_dynamic")]
    assert d["accuracy"] == pytest.approx((0.797 + 0.641 + 0.613) / 3)
    assert (d["lo"], d["hi"], d["spread"].n, d["nbytes"]) == (0.613, 0.797, 3, 3472)
    fam = figs.seed_families(seeds())[0]
    assert fam["ptq_spread"].values == (0.797, 0.641, 0.613) and fam["qat_accuracy"] == pytest.approx(0.95)


def test_tables_and_figures_show_the_seed_spread():
    from figures.training import spread

    merged = figs.seed_rows(seeds())
    f = spread([0.961, 0.975, 0.964])
    t = figs.methods_table(merged, f, 38440)
    assert t.iloc[0, 3] == "96.7% (96.1–97.5)"
    assert t.iloc[1].tolist()[3] == "68.4% (61.3–79.7)" and t.iloc[1].tolist()[5] == "89.0% (89.0–89.0)"
    fig = figs.accuracy_figure(merged, f)
    dyn = fig.data[0]
    assert list(dyn.error_y.array) == pytest.approx([100 * (0.797 - (0.797 + 0.641 + 0.613) / 3)])
    assert list(dyn.error_y.arrayminus) == pytest.approx([100 * ((0.797 + 0.641 + 0.613) / 3 - 0.613)])
    rect = [s for s in fig.layout.shapes if s.type == "rect"][0]
    assert (rect.y0, rect.y1) == pytest.approx((96.1, 97.5))
    ft = figs.families_table(figs.seed_families(seeds()), f, 38440)
    assert ft.iloc[1].tolist()[-2:] == ["68.4% (61.3–79.7)", "95.0% (95.0–95.0)"]
    ff = figs.families_figure(figs.seed_families(seeds()), f, 38440)
    assert ff.data[0].error_y.arrayminus[0] == pytest.approx(100 * ((0.797 + 0.641 + 0.613) / 3 - 0.613))
    # one seed: plain percentages, no error bars
    one = figs.seed_rows(seeds()[:1])
    assert figs.methods_table(one, 0.961, 38440).iloc[1].tolist()[3] == "79.7%"
    assert figs.accuracy_figure(rows(), 0.962).data[0].error_y.array is None
