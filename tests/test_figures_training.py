"""figures/training.py: the moving average and the live loss chart of the training pages."""

import numpy as np
import pytest

from figures.training import live_loss_frame, live_loss_spec, moving_average


def test_moving_average_is_a_trailing_mean_skipping_nan():
    np.testing.assert_allclose(moving_average(np.array([1, 2, 3, 4.0]), 3), [1, 1.5, 2, 3])
    np.testing.assert_allclose(moving_average(np.array([1, np.nan, 3.0]), 2), [1, 1, 3])
    assert moving_average([1, 3, 5], 2).tolist() == [1, 2, 4]
    x = np.random.default_rng(0).random(50)
    assert moving_average(x, 10)[-1] == pytest.approx(x[-10:].mean())
    assert np.isnan(moving_average([np.nan, np.nan], 5)).all()


def test_live_loss_frame_thins_long_curves_and_keeps_short_ones():
    long = np.linspace(2.0, 0.1, 1000)
    frame = live_loss_frame({"a": long, "b": [1.0, 0.5]}, window=1, max_points=100)
    a, b = frame[frame.run == "a"], frame[frame.run == "b"]
    assert len(a) == 100 and a.step.tolist() == list(range(10, 1001, 10))
    np.testing.assert_allclose(a.loss, long[9::10])  # window 1: the raw loss at those steps
    assert b.step.tolist() == [1, 2] and b.loss.tolist() == [1.0, 0.5]
    assert live_loss_frame({}, window=3).empty


def test_live_loss_spec_is_plain_vega_lite():
    spec = live_loss_spec(x_title="step", y_title="loss")
    enc = spec["encoding"]
    assert enc["x"]["field"] == "step" and enc["y"]["scale"] == {"type": "log"} and enc["color"]["field"] == "run"
    assert enc["x"]["title"] == "step" and enc["y"]["title"] == "loss"
