"""quantlib.train.amp and .loop: the loss scaler's rules step by step, the training loop's
determinism and its counts of underflow, rescue, overflow and lost updates."""

import numpy as np
import pytest

from quantlib import cast, get_format
from quantlib.train import PRECISIONS, SGD, Adam, init_mlp, load_digits
from quantlib.train.amp import LossScaler, format_range, lost_update_example
from quantlib.train.loop import GRAD_KINDS, HIST_LO, train
from quantlib.train.nn import copy_params


# --------------------------------------------------------------------------- LossScaler
def test_dynamic_scaler_backs_off_skips_and_grows_like_gradscaler():
    s = LossScaler(init_scale=2.0**16, growth_interval=3)
    assert s.update(True) is False and s.scale == 2.0**15  # inf: skip, halve
    assert s.update(False) and s.update(False) and s.scale == 2.0**15  # 2 clean steps: not yet
    assert s.update(False) and s.scale == 2.0**16  # 3rd clean step: double, count restarts
    assert s.growth_tracker == 0
    s.update(False)
    s.update(False)
    assert s.update(True) is False and s.scale == 2.0**15 and s.growth_tracker == 0  # inf resets the count
    for _ in range(2):
        s.update(False)
    assert s.scale == 2.0**15


def test_scaler_matches_torch_gradscaler_update_rule():
    torch = pytest.importorskip("torch")
    pattern = [True, False, False, True, False, False, False, False, True, True, False, False, False]
    scale = torch.tensor([2.0**16])
    tracker = torch.tensor([0], dtype=torch.int32)
    ours = LossScaler(init_scale=2.0**16, growth_interval=3)
    for inf in pattern:
        torch._amp_update_scale_(scale, tracker, torch.tensor([1.0 if inf else 0.0]), 2.0, 0.5, 3)
        ours.update(inf)
        assert ours.scale == float(scale[0]) and ours.growth_tracker == int(tracker[0])


def test_static_scaler_keeps_scale_and_skips_inf_steps():
    s = LossScaler(mode="static", init_scale=1024.0, growth_interval=1)
    assert s.update(True) is False and s.scale == 1024.0
    assert s.update(False) and s.update(False) and s.scale == 1024.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "sometimes"}, "mode"),
        ({"init_scale": 0}, "init_scale"),
        ({"init_scale": float("inf")}, "init_scale"),
        ({"growth_factor": 1.0}, "growth_factor"),
        ({"backoff_factor": 1.0}, "backoff_factor"),
        ({"growth_interval": 0}, "growth_interval"),
    ],
)
def test_scaler_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LossScaler(**kwargs)


# --------------------------------------------------------------------------- format facts
def test_format_range_from_quantlib():
    f16 = format_range("float16")
    assert (f16.max, f16.smallest_normal, f16.smallest_subnormal) == (65504.0, 2.0**-14, 2.0**-24)
    assert f16.binades == pytest.approx(np.log2(65504) + 24)
    bf = format_range("bfloat16")
    assert bf.nexp == 8 and bf.log2_smallest_subnormal == -133


def test_lost_update_worked_example():
    ex = lost_update_example(0.25, 1e-4, "float16")
    assert ex.ulp == 2.0**-12 and ex.lost and ex.stored == 0.25
    kept = lost_update_example(0.25, 2e-4, "float16")  # above half an ulp (1.22e-4): rounds up
    assert not kept.lost and kept.stored == 0.25 + 2.0**-12
    assert lost_update_example(0.25, 1e-4, "float32").stored != 0.25


# --------------------------------------------------------------------------- the loop
@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _run(digits, name, *, scaler=None, epochs=1, seed=0, opt=None, sizes=(64, 32, 10), **kw):
    return train(
        init_mlp(sizes, seed=seed), digits, policy=PRECISIONS[name], optimizer=opt or SGD(lr=0.05),
        epochs=epochs, batch_size=64, seed=seed, scaler=scaler, **kw,
    )


def test_train_is_reproducible_and_leaves_params_alone(digits):
    p0 = init_mlp((64, 32, 10), seed=1)
    before = copy_params(p0)
    steps = []
    h1 = train(p0, digits, policy=PRECISIONS["float16_master"], optimizer=Adam(lr=1e-3), epochs=2, batch_size=64, seed=3,
               on_step=steps.append)
    h2 = train(p0, digits, policy=PRECISIONS["float16_master"], optimizer=Adam(lr=1e-3), epochs=2, batch_size=64, seed=3)
    for a, b in zip(p0, before):
        np.testing.assert_array_equal(a["W"], b["W"])
    np.testing.assert_array_equal(h1.step_loss, h2.step_loss)
    np.testing.assert_array_equal(h1.params[0]["W"], h2.params[0]["W"])
    assert len(steps) == h1.n_steps == 2 * 23 and steps[-1].step == h1.n_steps
    h3 = train(p0, digits, policy=PRECISIONS["float16_master"], optimizer=Adam(lr=1e-3), epochs=2, batch_size=64, seed=4)
    assert not np.array_equal(h1.step_loss, h3.step_loss)


def test_float32_training_learns(digits):
    h = _run(digits, "float32", epochs=4, sizes=(64, 64, 10))
    assert h.test_accuracy > 0.9
    assert h.epoch_train_loss[-1] < h.epoch_train_loss[0]
    assert h.fraction("underflow") == 0 and h.fraction("lost") == 0 and not h.skipped.any()


def test_pure_float16_keeps_weights_in_float16_and_counts_lost_updates(digits):
    h = _run(digits, "float16", epochs=2)
    for p in h.params:
        for v in p.values():
            np.testing.assert_array_equal(cast(v, "float16"), v)
    assert 0 < h.fraction("lost") < 1
    master = _run(digits, "float16_master", epochs=2)
    assert any(not np.array_equal(cast(v, "float16"), v) for p in master.params for v in p.values())


def test_underflow_counts_agree_with_an_independent_recount(digits):
    """Recount, for one float16 step, the nonzero float32 gradients that float16 turns into 0."""
    from quantlib.train.nn import backward, forward, softmax_cross_entropy

    pol = PRECISIONS["float16"]
    params = [{k: cast(v, "float16") for k, v in p.items()} for p in init_mlp((64, 32, 10), seed=0)]
    x, y = digits.x_train[:64], digits.y_train[:64]
    logits, cache = forward(params, x, policy=pol)
    _, dl = softmax_cross_entropy(logits, y)
    pairs = []
    backward(params, cache, dl, policy=pol, stats=lambda k, pre, post: pairs.append((pre.copy(), post)))
    tiny = get_format("float16").smallest_subnormal
    expected = sum(int(np.sum((pre != 0) & (np.abs(pre) <= tiny / 2))) for pre, _ in pairs)
    got = sum(int(np.sum((pre != 0) & (post == 0))) for pre, post in pairs)
    assert got == expected


def test_dynamic_scaling_rescues_underflow_and_skips_overflow(digits):
    plain = _run(digits, "float16_master", epochs=2)
    scaled = _run(digits, "float16_master", epochs=2, scaler=LossScaler(init_scale=2.0**16, growth_interval=10))
    assert plain.fraction("underflow") > 0
    assert scaled.fraction("underflow") < plain.fraction("underflow")
    assert scaled.fraction("rescued") > 0
    # growth every 10 clean steps eventually overflows float16: those steps are skipped and halve the scale
    assert scaled.skipped.any()
    i = int(np.flatnonzero(scaled.skipped)[0])
    assert scaled.scale[i + 1] == scaled.scale[i] / 2
    assert scaled.grad_overflow[i].sum() > 0
    assert plain.scale.max() == 1.0 and plain.fraction("rescued") == 0


def test_histograms_count_every_gradient(digits):
    h = _run(digits, "float16_master", scaler=LossScaler(mode="static", init_scale=2.0**8))
    for k in GRAD_KINDS:
        nonzero = int(h.grad_nonzero[:, GRAD_KINDS.index(k)].sum())
        assert h.hist_stored[k].sum() == nonzero == h.hist_true[k].sum()
        # static scale 2**8: the true histogram is the stored one shifted down by 8 bins
        i = np.flatnonzero(h.hist_stored[k])[-1]
        assert h.hist_true[k][i - 8] >= h.hist_stored[k][i]
    assert h.hist_bins[0] == HIST_LO


def test_train_rejects_bad_settings(digits):
    with pytest.raises(ValueError, match="epochs"):
        _run(digits, "float32", epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(init_mlp((64, 8, 10), seed=0), digits, policy=PRECISIONS["float32"], optimizer=SGD(lr=0.1), epochs=1, batch_size=0, seed=0)


class _LearnedScale:
    """y = s * x with learnable s (a stand-in for a QAT hook)."""

    def __init__(self):
        self.params = {"s": np.array(1.0, np.float32)}
        self.grads = {"s": np.zeros((), np.float32)}

    def forward(self, x):
        return x * self.params["s"], x

    def backward(self, g, x):
        self.grads["s"] += np.float32(np.sum(x * g))
        return g * self.params["s"]


def test_hook_params_are_trained(digits):
    hook = _LearnedScale()
    h = _run(digits, "float32", weight_hooks=[hook, None], epochs=1)
    assert h.hook_params[0]["s"] != 1.0 and h.hook_params[0]["s"] == hook.params["s"]


# --------------------------------------------------------------------------- loss_weight
def test_power_of_two_loss_weight_with_sgd_lr_compensated_is_bit_identical_in_float32():
    data = load_digits()
    p0 = init_mlp((64, 32, 10), seed=3)
    base = train(p0, data, policy=PRECISIONS["float32"], optimizer=SGD(lr=0.05), epochs=1, batch_size=64, seed=3)
    small = train(p0, data, policy=PRECISIONS["float32"], optimizer=SGD(lr=0.05 * 2.0**20), epochs=1, batch_size=64, seed=3, loss_weight=2.0**-20)
    for a, b in zip(base.params, small.params):
        for k in a:
            assert np.array_equal(a[k], b[k])
    assert np.array_equal(base.step_loss, small.step_loss)  # the recorded loss is the cross-entropy itself
    assert small.hist_true["weight_grads"].sum() == base.hist_true["weight_grads"].sum()
    # the histogram sees the 2**-20 smaller gradients: its mean exponent is 20 lower
    mean_e = [float((h.hist_bins * h.hist_true["weight_grads"]).sum() / h.hist_true["weight_grads"].sum()) for h in (base, small)]
    assert mean_e[0] - mean_e[1] == pytest.approx(20, abs=0.05)


def test_small_loss_weight_underflows_in_float16_and_loss_scaling_rescues_it():
    data = load_digits()
    p0 = init_mlp((64, 32, 10), seed=0)
    kw = dict(epochs=1, batch_size=64, seed=0, loss_weight=2.0**-20)
    pure = train(p0, data, policy=PRECISIONS["float16"], optimizer=SGD(lr=0.05 * 2.0**20), **kw)
    scaled = train(p0, data, policy=PRECISIONS["float16_master"], optimizer=SGD(lr=0.05 * 2.0**20), scaler=LossScaler(init_scale=2.0**16), **kw)
    assert pure.fraction("underflow") > 0.8
    assert scaled.fraction("underflow") < 0.1 and scaled.fraction("rescued") > 0.5


def test_default_loss_weight_changes_nothing_and_bad_weights_are_refused():
    data = load_digits()
    p0 = init_mlp((64, 16, 10), seed=1)
    kw = dict(policy=PRECISIONS["float16"], epochs=1, batch_size=128, seed=1)
    a = train(p0, data, optimizer=SGD(lr=0.05), **kw)
    b = train(p0, data, optimizer=SGD(lr=0.05), loss_weight=1.0, **kw)
    assert all(np.array_equal(x[k], y[k]) for x, y in zip(a.params, b.params) for k in x)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="loss_weight"):
            train(p0, data, optimizer=SGD(lr=0.05), loss_weight=bad, **kw)
