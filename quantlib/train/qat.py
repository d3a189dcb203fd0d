"""Post-training quantization and quantization-aware training of the digits MLP, three ways.

* **PTQ, data-free** (TFLite's dynamic-range mode): weights ``int{b}`` from their own absmax
  (per output channel or per tensor); activations quantized on the fly, ``uint{b}`` with one
  range per example (``uint{b}:axis=0``, as TFLite's hybrid kernels quantize their input rows):
  no data is needed ahead of time.
* **PTQ, calibrated** (TFLite's full-integer mode with a representative dataset): the same
  weights; every layer input ``uint{b}`` with one static range per tensor, chosen from the float
  network's inputs on a calibration set by :mod:`quantlib.calibration` (minmax, percentile,
  MSE, or KL -- KL is symmetric: its threshold T gives the range [0, T], the inputs being
  non-negative pixels and ReLU outputs).
* **QAT**: start from the calibrated PTQ network and fine-tune it with fake quantization
  (:mod:`quantlib.train.fakequant`) on weights and inputs and the straight-through estimator;
  the activation ranges stay the calibrated ones, or are learnt with LSQ together with the
  weight clips (``learnable=True``).  The result is evaluated with the real quantizers:
  weights quantized once by :func:`quantlib.quantize`, inputs by the static ranges.

And the quantization *families* on the same network, weights only (activations float32):
binary (XNOR-Net), ternary (TWN), linear ``int{b}`` and logarithmic ``log{b}``, after PTQ and
after a QAT fine-tune, with their exact size in bytes (codes + scales; biases stay float32).

Everything is deterministic for a seed.  Worked number: the 64-128-10 MLP has 9,610
parameters, 38,440 bytes in float32; with int4 per-channel weights it takes 5,840 bytes:
9,472 codes of 4 bits (4,736 bytes) + 138 float32 scales (552) + 138 float32 biases (552).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from quantlib import quantize
from quantlib.calibration import CALIBRATION_METHODS, calibrate
from quantlib.schemes import AbsmaxInt, parse_scheme

from . import nn
from .data import Digits
from .fakequant import (
    ActFakeQuant,
    DynamicActQuant,
    Observer,
    SchemeFakeQuant,
    WeightFakeQuant,
    sym_fixed,
)
from .loop import train

__all__ = [
    "BITS_CHOICES",
    "FAMILIES",
    "METHODS",
    "FamilyRow",
    "MethodRow",
    "QATRun",
    "QATSettings",
    "Study",
    "activation_range",
    "calibration_inputs",
    "family_scheme",
    "finetune",
    "level_changes",
    "network_bytes",
    "ptq_hooks",
    "quantized_weights",
    "run_family",
    "run_qat",
    "run_study",
    "train_float",
]

BITS_CHOICES: tuple[int, ...] = (8, 6, 5, 4, 3, 2)
METHODS: tuple[str, ...] = ("ptq_dynamic", "ptq_calibrated", "qat")
FAMILIES: tuple[str, ...] = ("binary", "ternary", "int2", "int3", "log3", "int4", "log4")
"""Weight families compared side by side: linear and log at the same bits, binary and ternary."""

FLOAT = nn.PRECISIONS["float32"]


# ====================================================================== settings
@dataclass(frozen=True, kw_only=True)
class QATSettings:
    """Everything a study depends on (its cache key).

    ``bits``: the bit widths, each for weights and activations (W{b}A{b});
    ``calibration``: the method of the calibrated PTQ (and QAT's starting ranges);
    ``n_calib``: calibration images (the first ones of the training set);
    ``epochs``, ``lr`` (Adam), ``batch_size``: the QAT fine-tune; ``learnable``: LSQ clips;
    ``per_channel``: one weight scale per output channel (else per tensor); ``seed``: the
    shuffling of the fine-tune (the page also trains the float network with it).
    """

    bits: tuple[int, ...] = (8, 4, 3, 2)
    calibration: str = "mse"
    n_calib: int = 128
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 64
    learnable: bool = False
    per_channel: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        bits = tuple(int(b) for b in self.bits)
        if not bits:
            raise ValueError("choose at least one bit width")
        bad = [b for b in bits if not 2 <= b <= 8]
        if bad:
            raise ValueError(f"bit widths must lie in 2..8, got {bad}")
        object.__setattr__(self, "bits", tuple(sorted(set(bits), reverse=True)))
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"unknown calibration {self.calibration!r}; choose one of {', '.join(CALIBRATION_METHODS)}")
        for name, lo, hi in (("n_calib", 1, 100_000), ("epochs", 0, 1000), ("batch_size", 1, 100_000), ("seed", 0, 2**32 - 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer from {lo} to {hi}, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 10 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number below 10, got {self.lr!r}")


# ====================================================================== the float network
def train_float(data: Digits, *, sizes=(64, 128, 10), epochs: int = 20, lr: float = 1e-2, batch_size: int = 64, seed: int = 0) -> nn.Params:
    """The float32 network every method starts from: He init, Adam, ``epochs`` over the training
    set with :func:`quantlib.train.loop.train`."""
    params = nn.init_mlp(sizes, seed=seed)
    hist = train(params, data, policy=FLOAT, optimizer=nn.Adam(lr=lr), epochs=epochs, batch_size=batch_size, seed=seed, stats=False)
    return hist.params


# ====================================================================== the training loop
@dataclass(frozen=True, kw_only=True)
class FitResult:
    params: nn.Params
    step_loss: np.ndarray
    epoch_loss: np.ndarray
    epoch_acc: np.ndarray
    seconds: float


def _hook_list(*lists) -> list:
    return [h for hooks in lists for h in (hooks or []) if h is not None and getattr(h, "params", None)]


def finetune(
    params: nn.Params,
    data: Digits,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 64,
    seed: int = 0,
    weight_hooks=None,
    input_hooks=None,
    evaluate: Callable[[nn.Params], float] | None = None,
    on_step: Callable[[dict], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> FitResult:
    """QAT's fine-tune: :func:`quantlib.train.loop.train` in float32 with Adam (the hooks'
    learnable ``params``, LSQ clips, get the same Adam), without its gradient statistics.
    ``evaluate(params)`` gives the test accuracy after each epoch (default: the hooks'
    forward on the test set); ``on_step({"epoch", "step", "steps", "loss"})`` (epoch from 0)
    and ``on_epoch({"epoch", "loss", "accuracy"})`` are called as it goes.  ``epochs=0``
    returns a copy of ``params``.  Deterministic for a seed: the order of the batches comes from it."""
    if epochs == 0:
        empty = np.zeros(0)
        return FitResult(params=nn.copy_params(params), step_loss=empty, epoch_loss=empty, epoch_acc=empty, seconds=0.0)
    step_cb = None if on_step is None else (lambda r: on_step({"epoch": r.epoch - 1, "step": r.step, "steps": r.n_steps, "loss": r.loss}))
    epoch_cb = None if on_epoch is None else (lambda r: on_epoch({"epoch": r.epoch, "loss": r.train_loss, "accuracy": r.test_accuracy}))
    h = train(
        params, data, policy=FLOAT, optimizer=nn.Adam(lr=lr), epochs=epochs, batch_size=batch_size, seed=seed,
        weight_hooks=weight_hooks, input_hooks=input_hooks, on_step=step_cb, on_epoch=epoch_cb,
        evaluate_fn=None if evaluate is None else (lambda p: (evaluate(p), math.nan)), stats=False,
    )
    return FitResult(params=h.params, step_loss=h.step_loss, epoch_loss=h.epoch_train_loss, epoch_acc=h.epoch_test_accuracy, seconds=h.seconds)


# ====================================================================== quantizers of the network
def calibration_inputs(params: nn.Params, x) -> list[np.ndarray]:
    """The float network's input of every layer on the calibration images ``x`` (flattened)."""
    obs = [Observer() for _ in params]
    nn.forward(params, np.asarray(x, np.float32), policy=FLOAT, input_hooks=obs)
    return [o.values() for o in obs]


def activation_range(values, *, method: str, bits: int) -> tuple[float, float]:
    """The static range of ``uint{bits}`` for these inputs: quantlib's asymmetric calibration,
    or for ``kl`` (symmetric in TensorRT) ``[min(0, min x), T]`` with its threshold T.
    Worked number: pixels k/16 in [0, 1], minmax -> (0.0, 1.0)."""
    v = np.asarray(values, np.float32)
    if method == "kl":
        r = calibrate(v, "kl", bits=bits)
        return min(float(v.min()), 0.0), r.hi
    r = calibrate(v, method, bits=bits, symmetric=False)
    return r.lo, r.hi


def weight_scheme(bits: int, per_channel: bool):
    """``int{bits}:axis=1`` (W is (fan_in, fan_out): one scale per output channel) or per tensor."""
    return AbsmaxInt(bits=bits, axis=1 if per_channel else None)


def ptq_hooks(params: nn.Params, *, bits: int, mode: str, per_channel: bool, cal_inputs=None, calibration: str = "minmax"):
    """(weight_hooks, input_hooks) of a PTQ network: ``mode`` "dynamic" (no data) or "calibrated"."""
    wh = [SchemeFakeQuant(weight_scheme(bits, per_channel)) for _ in params]
    if mode == "dynamic":
        ih = [DynamicActQuant(bits) for _ in params]
    elif mode == "calibrated":
        if cal_inputs is None:
            raise ValueError("calibrated PTQ needs the calibration inputs of every layer")
        ih = [ActFakeQuant(bits, *activation_range(v, method=calibration, bits=bits)) for v in cal_inputs]
    else:
        raise ValueError(f"mode must be 'dynamic' or 'calibrated', got {mode!r}")
    return wh, ih


def quantized_weights(params: nn.Params, weight_hooks) -> nn.Params:
    """The weights as the deployed network holds them: quantized once, with the real quantizer
    (``quantlib.quantize``, or the learnt clip through the same rule); biases float32."""
    out = []
    for p, h in zip(params, weight_hooks):
        W = np.asarray(p["W"], np.float32)
        if isinstance(h, WeightFakeQuant) and h.learnable:
            Wq = sym_fixed(W, h.clip(), bits=h.bits)[0]
        elif isinstance(h, WeightFakeQuant | SchemeFakeQuant):
            Wq = quantize(W, h.scheme, threads=1).dequantize(threads=1)
        else:
            raise TypeError(f"not a weight quantizer: {h!r}")
        out.append({"W": Wq, "b": np.array(p["b"], np.float32)})
    return out


def evaluate_quantized(params, weight_hooks, input_hooks, x, y) -> tuple[float, float]:
    """(accuracy, loss) with weights quantized once and the inputs' real quantizers."""
    return nn.evaluate(quantized_weights(params, weight_hooks), x, y, policy=FLOAT, input_hooks=input_hooks)


def network_bytes(params: nn.Params, scheme) -> int:
    """Bytes of the network with every W in ``scheme`` (codes + scales, quantlib's exact
    ``nbytes``) and the biases in float32; ``scheme=None``: all float32."""
    total = 0
    for p in params:
        total += 4 * int(np.asarray(p["b"]).size)
        W = np.asarray(p["W"], np.float32)
        total += 4 * W.size if scheme is None else -(-parse_scheme(scheme).total_bits(W.shape) // 8)
    return int(total)


# ====================================================================== QAT
@dataclass(frozen=True, kw_only=True)
class QATRun:
    """One QAT fine-tune at ``bits``: its curve, the accuracy with the real quantizers, the
    fine-tuned float weights and the clips/ranges it ended with."""

    bits: int
    accuracy: float
    loss: float
    start_accuracy: float
    step_loss: np.ndarray
    epoch_loss: np.ndarray
    epoch_acc: np.ndarray
    params: nn.Params
    weight_clips: list[np.ndarray]
    act_ranges: list[tuple[float, float]]
    seconds: float


def _weight_clips(params, weight_hooks) -> list[np.ndarray]:
    clips = []
    for p, h in zip(params, weight_hooks):
        if isinstance(h, WeightFakeQuant) and h.learnable:
            clips.append(np.array(h.clip(), np.float32))
        else:
            a = np.abs(np.asarray(p["W"], np.float32))
            per_channel = getattr(h, "per_channel", getattr(getattr(h, "scheme", None), "axis", None) is not None)
            clips.append(a.max(axis=0) if per_channel else np.array([a.max()], np.float32))
    return clips


def run_qat(
    params: nn.Params,
    data: Digits,
    *,
    bits: int,
    settings: QATSettings,
    cal_inputs=None,
    ranges=None,
    on_step=None,
    on_epoch=None,
) -> QATRun:
    """Fine-tune the float network with fake quantization at ``bits`` (weights int, inputs
    uint with the calibrated ranges, both learnt with LSQ if ``settings.learnable``) and
    evaluate it with the real quantizers.  ``ranges``: the calibrated input ranges at ``bits``
    (else computed from ``cal_inputs`` with ``settings.calibration``)."""
    s = settings
    if ranges is None:
        if cal_inputs is None:
            raise ValueError("run_qat needs the calibration inputs (cal_inputs) or their ranges (ranges)")
        ranges = [activation_range(v, method=s.calibration, bits=bits) for v in cal_inputs]
    if s.learnable:
        wh = [WeightFakeQuant(bits, per_channel=s.per_channel, learnable=True, init=p["W"]) for p in params]
        ih = [ActFakeQuant(bits, 0.0, hi, learnable=True) for _lo, hi in ranges]
    else:
        wh = [WeightFakeQuant(bits, per_channel=s.per_channel) for _ in params]
        ih = [ActFakeQuant(bits, lo, hi) for lo, hi in ranges]
    start = evaluate_quantized(params, wh, ih, data.x_test, data.y_test)[0]
    if on_epoch is not None:
        on_epoch({"epoch": 0, "loss": float("nan"), "accuracy": float(start)})

    def evaluate(p):
        return evaluate_quantized(p, wh, ih, data.x_test, data.y_test)[0]

    fit = finetune(
        params, data, epochs=s.epochs, lr=s.lr, batch_size=s.batch_size, seed=s.seed,
        weight_hooks=wh, input_hooks=ih, evaluate=evaluate, on_step=on_step, on_epoch=on_epoch,
    )
    acc, loss = evaluate_quantized(fit.params, wh, ih, data.x_test, data.y_test)
    return QATRun(
        bits=bits, accuracy=acc, loss=loss, start_accuracy=start, step_loss=fit.step_loss, epoch_loss=fit.epoch_loss,
        epoch_acc=fit.epoch_acc, params=fit.params, weight_clips=_weight_clips(fit.params, wh),
        act_ranges=[h.range() for h in ih], seconds=fit.seconds,
    )


# ====================================================================== families
def family_scheme(family: str, per_channel: bool = True) -> str:
    """The quantlib scheme string of a weight family on a (fan_in, fan_out) W:
    ``binary`` -> ``binary:axis=1``, ``log3`` -> ``log3:axis=1`` (``axis=none`` per tensor)."""
    if family not in FAMILIES and not family.startswith(("int", "log")):
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    s = f"{family}:axis={'1' if per_channel else 'none'}"
    return str(parse_scheme(s))


@dataclass(frozen=True, kw_only=True)
class FamilyRow:
    family: str
    scheme: str
    bits_per_weight: float
    nbytes: int
    ptq_accuracy: float
    qat_accuracy: float
    seconds: float


def run_family(params: nn.Params, data: Digits, *, family: str, settings: QATSettings, on_step=None) -> FamilyRow:
    """PTQ and QAT accuracy of one weight family (activations float32), and its size."""
    scheme = family_scheme(family, settings.per_channel)
    wh = [SchemeFakeQuant(scheme) for _ in params]
    ptq = evaluate_quantized(params, wh, None, data.x_test, data.y_test)[0]

    def evaluate(p):
        return evaluate_quantized(p, wh, None, data.x_test, data.y_test)[0]

    fit = finetune(
        params, data, epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size, seed=settings.seed,
        weight_hooks=wh, evaluate=evaluate, on_step=on_step,
    )
    qat = evaluate(fit.params)
    n_w = sum(np.asarray(p["W"]).size for p in params)
    sch = parse_scheme(scheme)
    w_bits = sum(sch.total_bits(np.asarray(p["W"]).shape) for p in params)
    return FamilyRow(
        family=family, scheme=scheme, bits_per_weight=w_bits / n_w, nbytes=network_bytes(params, scheme),
        ptq_accuracy=ptq, qat_accuracy=qat, seconds=fit.seconds,
    )


# ====================================================================== the whole study
@dataclass(frozen=True, kw_only=True)
class MethodRow:
    bits: int
    method: str
    accuracy: float
    loss: float
    nbytes: int


@dataclass(frozen=True, kw_only=True)
class Study:
    """Everything the /qat page shows for one :class:`QATSettings`."""

    settings: QATSettings
    float_accuracy: float
    float_loss: float
    float_bytes: int
    rows: list[MethodRow]
    qat: dict[int, QATRun]
    families: list[FamilyRow]
    act_ranges: dict[int, list[tuple[float, float]]]
    seconds: dict[str, float] = field(default_factory=dict)

    def accuracy(self, method: str, bits: int) -> float:
        for r in self.rows:
            if r.method == method and r.bits == bits:
                return r.accuracy
        raise KeyError((method, bits))


def run_study(
    params: nn.Params,
    data: Digits,
    settings: QATSettings,
    *,
    families: tuple[str, ...] = FAMILIES,
    on_progress: Callable[[dict], None] | None = None,
) -> Study:
    """PTQ (data-free, calibrated) and QAT at every bit width, then the families.

    ``on_progress(record)`` gets ``{"stage": "ptq"|"qat"|"family", "done", "total", ...}``
    plus, during QAT, the step/epoch records of :func:`finetune` (with ``"bits"``)."""
    s = settings
    t0 = time.perf_counter()
    emit = on_progress or (lambda r: None)
    x_cal = data.x_train[: s.n_calib]
    cal = calibration_inputs(params, x_cal)
    f_acc, f_loss = nn.evaluate(params, data.x_test, data.y_test, policy=FLOAT)
    steps_per = -(-len(data.x_train) // s.batch_size) * s.epochs
    total = (len(s.bits) + len(families)) * max(steps_per, 1)
    done = 0
    rows: list[MethodRow] = []
    ranges: dict[int, list] = {}
    for b in s.bits:
        size = network_bytes(params, weight_scheme(b, s.per_channel))
        for mode, method in (("dynamic", "ptq_dynamic"), ("calibrated", "ptq_calibrated")):
            wh, ih = ptq_hooks(params, bits=b, mode=mode, per_channel=s.per_channel, cal_inputs=cal, calibration=s.calibration)
            acc, loss = evaluate_quantized(params, wh, ih, data.x_test, data.y_test)
            rows.append(MethodRow(bits=b, method=method, accuracy=acc, loss=loss, nbytes=size))
            if mode == "calibrated":
                ranges[b] = [h.range() for h in ih]
    t_ptq = time.perf_counter() - t0
    emit({"stage": "ptq", "done": 0, "total": total})
    qat: dict[int, QATRun] = {}
    for b in s.bits:
        base = done

        def on_step(r, b=b, base=base):
            emit({"stage": "qat", "bits": b, "done": base + r["step"], "total": total, **r})

        def on_epoch(r, b=b, base=base):
            emit({"stage": "qat_epoch", "bits": b, "done": base + r["epoch"] * (steps_per // max(s.epochs, 1)), "total": total, **r})

        run = run_qat(params, data, bits=b, settings=s, ranges=ranges[b], on_step=on_step, on_epoch=on_epoch)
        qat[b] = run
        done += steps_per
        rows.append(MethodRow(bits=b, method="qat", accuracy=run.accuracy, loss=run.loss, nbytes=network_bytes(params, weight_scheme(b, s.per_channel))))
    t_qat = time.perf_counter() - t0 - t_ptq
    fam_rows = []
    for fam in families:
        base = done

        def on_fam_step(r, fam=fam, base=base):
            emit({"stage": "family", "family": fam, "done": base + r["step"], "total": total, **r})

        fam_rows.append(run_family(params, data, family=fam, settings=s, on_step=on_fam_step))
        done += steps_per
    t_all = time.perf_counter() - t0
    return Study(
        settings=s, float_accuracy=f_acc, float_loss=f_loss, float_bytes=network_bytes(params, None), rows=rows, qat=qat,
        families=fam_rows, act_ranges=ranges, seconds={"ptq": t_ptq, "qat": t_qat, "families": t_all - t_ptq - t_qat, "total": t_all},
    )


def level_changes(W0, A0, W1, A1, *, bits: int) -> float:
    """The fraction of weights whose int code differs between ``W0`` with clips ``A0`` (the
    float network) and ``W1`` with ``A1`` (after QAT): how many weights QAT moved to another
    level.  Worked number: int2, A = 1: codes of [0.4, 0.6] are [0, 1]; of [0.6, 0.6] [1, 1] -> 0.5."""
    q0 = sym_fixed(W0, A0, bits=bits)[1]
    q1 = sym_fixed(W1, A1, bits=bits)[1]
    return float(np.mean(q0 != q1))
