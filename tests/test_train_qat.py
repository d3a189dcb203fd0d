"""Fake quantization (forward = quantlib's quantizer, STE backward, LSQ gradient) and the
PTQ / QAT study of quantlib.train.qat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantlib import quantize
from quantlib.calibration import calibrate
from quantlib.schemes import AbsmaxInt, AsymmetricUInt
from quantlib.train import load_digits, nn
from quantlib.train.fakequant import (
    ActFakeQuant,
    DynamicActQuant,
    SchemeFakeQuant,
    WeightFakeQuant,
    asym_fixed,
    asym_params,
    sym_fixed,
)
from quantlib.train.qat import (
    FAMILIES,
    QATSettings,
    activation_range,
    family_scheme,
    finetune,
    network_bytes,
    run_family,
    run_qat,
    run_study,
)

BITS = (2, 3, 4, 5, 8)


def _w(seed=0, shape=(64, 32)):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape).astype(np.float32) * 0.2
    w[3, 5] = 1.3  # an outlier: calibration clips it
    return w


def _act(seed=0, shape=(48, 40)):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal(shape).astype(np.float32) * 1.5, 0)


# ====================================================================== forward == quantizer
@pytest.mark.parametrize("bits", BITS)
def test_sym_fixed_with_own_absmax_is_int_per_channel(bits):
    w = _w(bits)
    y, q = sym_fixed(w, np.abs(w).max(axis=0), bits=bits)
    ref = quantize(w, AbsmaxInt(bits=bits, axis=1))
    assert np.array_equal(y, ref.dequantize())
    assert np.array_equal(q, ref.codes.astype(np.float32))


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("method", ["percentile", "mse", "kl"])
def test_sym_fixed_with_a_calibrated_clip_is_quantlibs_clamped_int(bits, method):
    w = _w(bits)
    t = np.float32(calibrate(w, method, bits=bits, percentile=99.0).threshold)
    if method == "percentile" or bits <= 4:
        assert t < np.abs(w).max()  # something is clipped
    y, _ = sym_fixed(w, t, bits=bits)
    ref = quantize(w, AbsmaxInt(bits=bits, calibration=method, percentile=99.0))
    assert np.array_equal(y, ref.dequantize())


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_asym_fixed_is_quantlibs_uint_with_that_range(bits, method):
    a = _act(bits)
    r = calibrate(a, method, bits=bits, symmetric=False, percentile=99.0)
    y, _ = asym_fixed(a, r.lo, r.hi, bits=bits)
    ref = quantize(a, AsymmetricUInt(bits=bits, calibration=method, percentile=99.0))
    assert np.array_equal(y, ref.dequantize())


def test_asym_fixed_negative_range_matches_quantlib():
    x = np.random.default_rng(1).standard_normal(500).astype(np.float32)
    y, _ = asym_fixed(x, float(x.min()), float(x.max()), bits=4)
    assert np.array_equal(y, quantize(x, "uint4").dequantize())


def test_worked_numbers():
    y, q = sym_fixed(np.float32([0.3, -2]), 1.0, bits=4)
    assert q.tolist() == [2, -7] and y[0] == np.float32(2) / np.float32(7) and y[1] == -1
    y, q = asym_fixed(np.float32([0.4, 1.5, 7]), 0.0, 3.0, bits=2)
    assert q.tolist() == [0, 2, 3] and y.tolist() == [0, 2, 3]
    s, zp = asym_params(-1.0, 3.0, bits=8)
    assert s == np.float32(4 / 255) and zp == 64
    assert activation_range(np.float32([0, 0.5, 1.0]), method="minmax", bits=8) == (0.0, 1.0)


@pytest.mark.parametrize("scheme", ["int3:axis=1", "int2", "binary:axis=1", "ternary:axis=1", "log4:axis=1", "log3:axis=none"])
def test_scheme_hook_forward_is_quantize(scheme):
    w = _w(7)
    y, _ = SchemeFakeQuant(scheme).forward(w)
    assert np.array_equal(y, quantize(w, scheme).dequantize())


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("learnable", [False, True])
def test_weight_hook_forward_is_int(per_channel, learnable):
    w = _w(3)
    h = WeightFakeQuant(3, per_channel=per_channel, learnable=learnable, init=w)
    y, _ = h.forward(w)  # a learnt clip starts at the absmax: the same quantizer
    assert np.array_equal(y, quantize(w, AbsmaxInt(bits=3, axis=1 if per_channel else None)).dequantize())


@pytest.mark.parametrize("learnable", [False, True])
def test_act_hook_forward_is_uint(learnable):
    a = _act(4)
    h = ActFakeQuant(4, 0.0, float(a.max()), learnable=learnable)
    y, _ = h.forward(a)
    assert np.array_equal(y, quantize(a, "uint4").dequantize())


def test_dynamic_act_hook_is_per_example_uint():
    a = _act(5)
    y, _ = DynamicActQuant(3).forward(a)
    assert np.array_equal(y, quantize(a, "uint3:axis=0").dequantize())
    # one row's result does not depend on the batch around it
    assert np.array_equal(DynamicActQuant(3).forward(a[2:3])[0], y[2:3])


# ====================================================================== STE
def test_ste_symmetric_mask_closed_interval():
    A = np.float32(1.0)
    x = np.float32([0.5, 1.0, -1.0, np.nextafter(np.float32(1), np.float32(2)), np.nextafter(np.float32(-1), np.float32(-2)), 1.2, -3, 0.0])
    h = WeightFakeQuant(4, per_channel=False, learnable=True, init=np.float32([[1.0]]))
    assert h.params["A"][0] == A
    _, ctx = h.forward(x.reshape(-1, 1))
    g = np.arange(1, x.size + 1, dtype=np.float32).reshape(-1, 1)
    gx = h.backward(g, ctx)
    assert gx.ravel().tolist() == [1, 2, 3, 0, 0, 0, 0, 8]


def test_ste_asymmetric_mask_closed_interval():
    h = ActFakeQuant(3, 0.0, 2.0)
    x = np.float32([[0.0, 2.0, np.nextafter(np.float32(2), np.float32(3)), -1e-30, 1.0, 5.0]])
    _, ctx = h.forward(x)
    gx = h.backward(np.ones_like(x) * 2, ctx)
    assert gx.ravel().tolist() == [2, 2, 0, 0, 2, 0]


def test_ste_identity_when_range_is_the_tensors_own():
    w = _w(2)
    for hook in (WeightFakeQuant(2), DynamicActQuant(2), SchemeFakeQuant("binary:axis=1"), SchemeFakeQuant("ternary:axis=1"), SchemeFakeQuant("log3:axis=1")):
        _y, ctx = hook.forward(w)
        g = np.random.default_rng(0).standard_normal(w.shape).astype(np.float32)
        assert np.array_equal(hook.backward(g, ctx), g)


# ====================================================================== LSQ gradient
def _fd_check(hook, key, x, seed, rel_h=1e-2):
    """LSQ gradient of the scale vs central finite differences of sum(G * y), G random and
    zero on the elements whose code changes within +-h (there the output jumps: not
    differentiable).  Returns (lsq, fd, G, ctx)."""
    P = hook.params[key]
    base = P.copy()
    h = rel_h * float(base.mean())
    outs = []
    for sgn in (1, -1):
        P[...] = base + sgn * h
        outs.append(hook.forward(x))
    P[...] = base
    (yp, cp), (ym, cm) = outs
    G = np.random.default_rng(seed).standard_normal(x.shape) * (cp[1] == cm[1])
    assert (G != 0).mean() > 0.5
    _, ctx = hook.forward(x)
    for v in hook.grads.values():
        v[...] = 0
    hook.backward(G.astype(np.float32), ctx)
    lsq = hook.grads[key].astype(np.float64)
    d = G * (yp.astype(np.float64) - ym.astype(np.float64)) / (2 * h)
    fd = d.sum(axis=0) if P.size > 1 else np.array([d.sum()])
    return lsq, fd, G, ctx


@pytest.mark.parametrize("bits", [2, 4])
@pytest.mark.parametrize("per_channel", [True, False])
def test_lsq_weight_scale_gradient_vs_finite_differences(bits, per_channel):
    x = _w(bits, shape=(40, 6))
    h = WeightFakeQuant(bits, per_channel=per_channel, learnable=True, init=x)
    h.params["A"] *= np.float32(0.7)  # clip some elements
    lsq, fd, G, ctx = _fd_check(h, "A", x, bits)
    A = ctx[2]
    qmax = 2 ** (bits - 1) - 1
    inside = np.abs(x) <= A
    # the FD slope is q/qmax inside and sign(x) outside; LSQ adds the STE term -x/A inside
    ste = np.where(inside, -x / A, 0.0) * G
    n = x.shape[0] if per_channel else x.size
    g = 1 / math.sqrt(n * qmax)
    expected = (fd + (ste.sum(axis=0) if per_channel else ste.sum())) * g
    np.testing.assert_allclose(lsq, expected, rtol=1e-3, atol=1e-5 * g * np.abs(G).sum())
    assert (~inside).any() and inside.any()


@pytest.mark.parametrize("bits", [2, 3, 8])
def test_lsq_activation_scale_gradient_vs_finite_differences(bits):
    x = _act(bits, shape=(30, 20))
    h = ActFakeQuant(bits, 0.0, float(x.max()) * 0.6, learnable=True)
    lsq, fd, G, ctx = _fd_check(h, "hi", x, bits)
    hi = ctx[3]
    inside = x <= hi
    ste = (np.where(inside, -x / hi, 0.0) * G).sum()
    g = 1 / math.sqrt(x.shape[1] * (2**bits - 1))
    np.testing.assert_allclose(lsq, (fd + ste) * g, rtol=1e-3, atol=1e-5 * g * np.abs(G).sum())
    assert (x > hi).any() and (x <= hi).any()


def test_lsq_worked_number():
    h = WeightFakeQuant(4, per_channel=False, learnable=True, init=np.float32([[1.0]]))
    _, ctx = h.forward(np.float32([[0.3]]))
    h.backward(np.float32([[1.0]]), ctx)
    assert h.grads["A"][0] == pytest.approx((2 / 7 - 0.3) / math.sqrt(7), rel=1e-6)


def test_learnable_needs_init_and_nonnegative_range():
    with pytest.raises(ValueError, match="init"):
        WeightFakeQuant(4, learnable=True)
    with pytest.raises(ValueError, match="lo = 0"):
        ActFakeQuant(4, -1.0, 1.0, learnable=True)


# ====================================================================== the study
@pytest.fixture(scope="module")
def data():
    return load_digits()


@pytest.fixture(scope="module")
def base(data):
    p = nn.init_mlp((64, 32, 10), seed=0)
    return finetune(p, data, epochs=6, lr=1e-2, seed=0).params


def test_finetune_is_the_shared_loop_and_statistics_do_not_change_it(data, base):
    """finetune = loop.train without its gradient statistics: the same run, bit for bit, as
    train with them (LSQ clips trained by the same Adam)."""
    from quantlib.train.loop import train

    def hooks():
        return [WeightFakeQuant(2, learnable=True, init=p["W"]) for p in base], [ActFakeQuant(2, 0.0, 1.0, learnable=True), ActFakeQuant(2, 0.0, 3.0, learnable=True)]

    wh, ih = hooks()
    mine = finetune(base, data, epochs=2, lr=1e-3, seed=3, weight_hooks=wh, input_hooks=ih)
    wh2, ih2 = hooks()
    ref = train(base, data, policy=nn.PRECISIONS["float32"], optimizer=nn.Adam(lr=1e-3), epochs=2, batch_size=64, seed=3, weight_hooks=wh2, input_hooks=ih2)
    np.testing.assert_array_equal(mine.epoch_acc, ref.epoch_test_accuracy)
    np.testing.assert_array_equal(mine.step_loss, ref.step_loss)
    for a, b in zip(mine.params, ref.params):
        np.testing.assert_array_equal(a["W"], b["W"])
    np.testing.assert_array_equal(wh[0].params["A"], wh2[0].params["A"])
    assert ref.grad_nonzero.sum() > 0  # the statistics were gathered there
    assert not np.array_equal(wh[0].params["A"], hooks()[0][0].params["A"])  # and the clips did move


def test_network_bytes_worked_number():
    params = nn.init_mlp((64, 128, 10), seed=0)
    assert network_bytes(params, None) == 4 * 9610 == 38440
    # codes 9472 * 4 bits, 138 float32 scales, 138 float32 biases
    assert network_bytes(params, "int4:axis=1") == 9472 * 4 // 8 + 138 * 4 + 138 * 4 == 5840
    # binary: 1 bit per weight + one float32 scale per output channel
    assert network_bytes(params, family_scheme("binary")) == 9472 // 8 + 138 * 4 + 138 * 4


def test_family_schemes():
    assert [family_scheme(f) for f in FAMILIES] == ["binary:axis=1", "ternary:axis=1", "int2:axis=1", "int3:axis=1", "log3:axis=1", "int4:axis=1", "log4:axis=1"]
    assert family_scheme("binary", per_channel=False) == "binary:axis=none"
    with pytest.raises(ValueError, match="unknown family"):
        family_scheme("nf4")


def test_settings_validation():
    assert QATSettings(bits=(2, 8, 4, 4)).bits == (8, 4, 2)
    for bad, match in (({"bits": ()}, "at least one"), ({"bits": (1,)}, "2..8"), ({"calibration": "max"}, "unknown calibration"),
                       ({"epochs": -1}, "epochs"), ({"lr": 0}, "lr"), ({"n_calib": 0}, "n_calib")):
        with pytest.raises(ValueError, match=match):
            QATSettings(**bad)


def test_qat_beats_ptq_at_two_bits_and_is_deterministic(data, base):
    s = QATSettings(bits=(2,), epochs=3, n_calib=64)
    steps = []
    study = run_study(base, data, s, families=(), on_progress=steps.append)
    ptq = max(study.accuracy("ptq_dynamic", 2), study.accuracy("ptq_calibrated", 2))
    assert study.accuracy("qat", 2) > ptq + 0.03
    run = study.qat[2]
    assert run.start_accuracy == study.accuracy("ptq_calibrated", 2)  # QAT starts from calibrated PTQ
    assert run.epoch_acc[-1] == run.accuracy  # per-epoch numbers use the same real quantizers
    assert [r["done"] for r in steps if r["stage"] == "qat"] == list(range(1, run.step_loss.size + 1))
    again = run_study(base, data, s, families=())
    assert [r.accuracy for r in again.rows] == [r.accuracy for r in study.rows]


def test_learnable_qat_moves_the_clips(data, base):
    s = QATSettings(bits=(3,), epochs=1, learnable=True, n_calib=64)
    cal = [np.asarray(data.x_train[:64]).ravel(), np.maximum(data.x_train[:64] @ base[0]["W"] + base[0]["b"], 0).ravel()]
    run = run_qat(base, data, bits=3, settings=s, cal_inputs=cal)
    start = np.abs(base[0]["W"]).max(axis=0)
    assert not np.array_equal(run.weight_clips[0], start)
    assert run.act_ranges[1] != (0.0, float(np.float32(activation_range(cal[1], method="mse", bits=3)[1])))


def test_family_row(data, base):
    row = run_family(base, data, family="binary", settings=QATSettings(epochs=2))
    assert row.scheme == "binary:axis=1"
    assert row.bits_per_weight == pytest.approx(1 + 32 * 42 / (64 * 32 + 32 * 10))
    assert 0.1 < row.ptq_accuracy <= 1 and row.qat_accuracy > row.ptq_accuracy
