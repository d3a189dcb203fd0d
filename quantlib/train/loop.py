"""The training loop: mini-batch SGD/Adam under a precision policy, with optional loss scaling,
counting what the formats do to gradients and updates.

One step: forward (policy formats) → float32 softmax cross-entropy → dlogits × scale →
backward (each gradient rounded once to its format) → inf/NaN check → the scaler decides →
unscale in float32 → optimizer update in float32 → stored in the master format (or, without a
master copy, straight back into the weights' format).

Measured per step (all counts of tensor elements, over every gradient tensor of the step):

* ``underflow``: nonzero float32-accumulated values that became 0 in the gradient format
  (float16 flushes |g| ≤ 2**-25 to 0);
* ``overflow``: values that became inf/NaN in the format (65520 and up in float16);
* ``rescued``: with loss scaling, values that are stored nonzero although g / scale would have
  flushed to zero unscaled;
* ``lost``: weights whose float32 update u would change them in float32 but not in the compute
  format (``round(w + u) == w``): float16 0.25 + 1e-4 stays 0.25. For runs with a master copy this
  counts the updates that *would* be lost without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..formats import get_format
from .amp import LossScaler
from .data import Digits
from .nn import Params, Precision, backward, cast_many, cast_to, copy_params, evaluate, forward, softmax_cross_entropy

__all__ = ["GRAD_KINDS", "HIST_LO", "HIST_HI", "History", "StepRecord", "EpochRecord", "train"]

GRAD_KINDS = ("gradients", "weight_grads")
HIST_LO, HIST_HI = -80, 40
"""Gradient histograms count floor(log2|g|) in [HIST_LO, HIST_HI], clipped at both ends."""


@dataclass(frozen=True)
class StepRecord:
    """What ``on_step`` receives after every step."""

    step: int  # 1-based
    n_steps: int
    epoch: int  # 1-based
    loss: float
    scale: float
    skipped: bool


@dataclass(frozen=True)
class EpochRecord:
    """What ``on_epoch`` receives after every epoch."""

    epoch: int  # 1-based
    n_epochs: int
    train_loss: float
    test_loss: float
    test_accuracy: float


@dataclass(frozen=True)
class History:
    """Everything one training run measured. Per-step arrays have one entry per step."""

    policy: Precision
    steps_per_epoch: int
    step_loss: np.ndarray  # float64 (NaN where the loss was not finite)
    epoch_train_loss: np.ndarray
    epoch_test_loss: np.ndarray
    epoch_test_accuracy: np.ndarray
    params: Params
    hook_params: list = field(repr=False)  # final copies of each hook's params (None for hooks without)
    scale: np.ndarray  # the loss scale used at each step (1.0 without scaler)
    skipped: np.ndarray  # bool: optimizer step skipped (inf/NaN with a scaler)
    grad_nonzero: np.ndarray  # (steps, 2) int64, columns as GRAD_KINDS
    grad_underflow: np.ndarray
    grad_overflow: np.ndarray
    grad_rescued: np.ndarray
    hist_stored: dict = field(repr=False)  # kind -> counts of floor(log2|g|) as fed to the format (scaled)
    hist_true: dict = field(repr=False)  # kind -> same, of g / scale (the gradient itself)
    hist_zero: dict = field(repr=False)  # kind -> count of exact float32 zeros
    upd_changed: np.ndarray  # per step: updates that change the weight in float32
    upd_lost: np.ndarray  # per step: of those, the ones the weights' format loses
    seconds: float
    scaler: dict | None = None  # the scaler's settings, None without

    @property
    def n_steps(self) -> int:
        return int(self.step_loss.size)

    @property
    def test_accuracy(self) -> float:
        return float(self.epoch_test_accuracy[-1]) if self.epoch_test_accuracy.size else float("nan")

    @property
    def hist_bins(self) -> np.ndarray:
        """The exponent e of each histogram bin: values in [2**e, 2**(e+1))."""
        return np.arange(HIST_LO, HIST_HI + 1)

    def fraction(self, what: str, *, kind: str | None = None, steps: slice = slice(None)) -> float:
        """underflow / overflow / rescued over all nonzero gradient values, or lost over changed updates."""
        if what == "lost":
            den = int(self.upd_changed[steps].sum())
            return float(self.upd_lost[steps].sum()) / den if den else 0.0
        arr = {"underflow": self.grad_underflow, "overflow": self.grad_overflow, "rescued": self.grad_rescued}[what]
        cols = slice(None) if kind is None else GRAD_KINDS.index(kind)
        den = int(self.grad_nonzero[steps, cols].sum())
        return float(arr[steps, cols].sum()) / den if den else 0.0


class _GradCounter:
    """The ``stats`` callback of backward: counts one step's rounding effects."""

    def __init__(self, n_steps: int, policy: Precision):
        self.nonzero = np.zeros((n_steps, 2), np.int64)
        self.underflow = np.zeros((n_steps, 2), np.int64)
        self.overflow = np.zeros((n_steps, 2), np.int64)
        self.rescued = np.zeros((n_steps, 2), np.int64)
        nb = HIST_HI - HIST_LO + 1
        self.hist_stored = {k: np.zeros(nb, np.int64) for k in GRAD_KINDS}
        self.hist_true = {k: np.zeros(nb, np.int64) for k in GRAD_KINDS}
        self.hist_zero = {k: 0 for k in GRAD_KINDS}
        self._raw: dict[str, dict[int, np.ndarray]] = {k: {} for k in GRAD_KINDS}  # kind -> shift -> float32 exponent counts
        self.policy = policy
        self.tiny = {k: float(get_format(getattr(policy, k)).smallest_subnormal) for k in GRAD_KINDS}
        self.step = 0
        self.scale = 1.0
        self.log2_scale = 0

    def set_step(self, step: int, scale: float) -> None:
        self.step = step
        self.scale = scale
        m, e = np.frexp(scale)
        self.log2_scale = int(e - 1) if m == 0.5 else None

    def __call__(self, kind: str, pre: np.ndarray, post: np.ndarray) -> None:
        col = GRAD_KINDS.index(kind)
        s = self.step
        nz = pre != 0
        n_nz = int(np.count_nonzero(nz))
        self.nonzero[s, col] += n_nz
        self.hist_zero[kind] += int(pre.size - n_nz)
        if pre is post:  # no rounding (float32 gradients): nothing flushed or overflowed
            post_zero = None
        else:
            post_zero = post == 0
            self.underflow[s, col] += int(np.count_nonzero(nz & post_zero))
            self.overflow[s, col] += int(np.count_nonzero(~np.isfinite(post) & np.isfinite(pre)))
        self._histogram(kind, pre, n_nz)
        if self.scale != 1.0 and post_zero is not None:
            # candidates: stored nonzero, but small enough that pre / scale might flush
            cand = nz & ~post_zero & (np.abs(pre) < self.scale * self.tiny[kind])
            if cand.any():
                unscaled = (pre[cand].astype(np.float64) / self.scale).astype(pre.dtype)
                flushed = cast_to(unscaled, getattr(self.policy, kind), rounding=self.policy.rounding) == 0
                self.rescued[s, col] += int(np.count_nonzero(flushed))

    def _histogram(self, kind: str, pre: np.ndarray, n_nz: int) -> None:
        """floor(log2|g|) counts, read off float32 exponent bits (float32 subnormals and the
        HIST_LO edge land in the HIST_LO bin); inf/NaN are not counted."""
        shift = self.log2_scale if self.log2_scale is not None else int(np.floor(np.log2(self.scale)))
        if pre.dtype == np.float32:  # add the biased-exponent counts; finish() bins them once
            biased = (pre.view(np.uint32) >> 23) & 0xFF
            counts = np.bincount(biased.ravel(), minlength=256)[:255]  # biased 255: inf/NaN, not counted
            counts[0] -= pre.size - n_nz  # exponent field 0 minus the zeros: float32 subnormals
            raw = self._raw[kind].get(shift)
            if raw is None:
                self._raw[kind][shift] = counts.astype(np.int64)
            else:
                raw += counts
            return
        mags = np.abs(pre[(pre != 0) & np.isfinite(pre)])
        if mags.size:
            _, ee = np.frexp(mags)
            e, counts = np.unique(ee.astype(np.int64) - 1, return_counts=True)
            self._bin(kind, e, counts, shift)

    def _bin(self, kind: str, e: np.ndarray, counts: np.ndarray, shift: int) -> None:
        for target, ev in ((self.hist_stored[kind], e), (self.hist_true[kind], e - shift)):
            target += np.bincount(np.clip(ev, HIST_LO, HIST_HI) - HIST_LO, weights=counts, minlength=target.size).astype(np.int64)

    def finish(self) -> None:
        """Bin the raw float32 exponent counts gathered per loss-scale shift (called once, at the end)."""
        e = np.arange(255) - 127
        e[0] = HIST_LO
        for kind, by_shift in self._raw.items():
            for shift, counts in by_shift.items():
                self._bin(kind, e, counts, shift)
            by_shift.clear()


def _hook_list(hooks) -> list:
    return [h for h in (hooks or []) if h is not None and getattr(h, "params", None)]


def train(
    params: Params,
    data: Digits,
    *,
    policy: Precision,
    optimizer,
    epochs: int,
    batch_size: int,
    seed: int,
    scaler: LossScaler | None = None,
    weight_hooks=None,
    input_hooks=None,
    on_step: Callable[[StepRecord], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    evaluate_fn: Callable[[Params], tuple[float, float]] | None = None,
    stats: bool = True,
    loss_weight: float = 1.0,
) -> History:
    """Train a copy of ``params`` (the input is not modified); the same seed gives the same run.

    ``evaluate_fn(params) -> (test accuracy, test loss)`` after each epoch (default: the test
    set through the same policy and hooks; QAT passes the real quantizers instead).
    ``stats=False`` skips the gradient statistics (the counts then stay zero): a float32
    fine-tune does not need them and runs ~1.3x faster.

    Hooks' ``params`` are trained in place (use fresh hooks per run); their final values are
    also copied into ``History.hook_params``. The optimizer's state lives in the optimizer: pass
    a fresh one per run. The last partial batch of an epoch is used (1,438 images, batch 32:
    45 steps, the last of 30 images).

    ``loss_weight`` multiplies dL/dlogits before the loss scale: the gradient of
    ``loss_weight × cross-entropy``, as a loss averaged over many more values has (the recorded
    losses stay the cross-entropy itself). A power of two with SGD at ``lr / loss_weight``
    trains float32 bit for bit like ``loss_weight=1``, while float16 sees gradients 2**20 times
    smaller with ``loss_weight=2**-20`` and flushes most of them to 0.
    """
    epochs, batch_size = int(epochs), int(batch_size)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    n = data.x_train.shape[0]
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and {n}, got {batch_size}")
    loss_weight = float(loss_weight)
    if not (loss_weight > 0 and np.isfinite(loss_weight)):
        raise ValueError(f"loss_weight must be a positive finite number, got {loss_weight}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    round_rng = np.random.default_rng([seed, 1]) if policy.rounding == "stochastic" else None
    dt = policy.dtype
    stored, wfmt, r = policy.stored, policy.weights, policy.rounding
    params = [{k: cast_to(np.array(v, dtype=dt), stored, rounding=r, rng=round_rng).copy() for k, v in p.items()} for p in params]
    hooks = _hook_list(weight_hooks) + _hook_list(input_hooks)

    steps_per_epoch = -(-n // batch_size)
    n_steps = steps_per_epoch * epochs
    step_loss = np.full(n_steps, np.nan)
    scales = np.ones(n_steps)
    skipped = np.zeros(n_steps, bool)
    upd_changed = np.zeros(n_steps, np.int64)
    upd_lost = np.zeros(n_steps, np.int64)
    counter = _GradCounter(n_steps, policy)
    backward_stats = counter if stats else None
    ep_train, ep_test_loss, ep_test_acc = [], [], []
    x_all, y_all = data.x_train, data.y_train
    check_lost = wfmt not in ("float32", "float64")

    step = 0
    # inf/NaN are expected here (a loss scale that overflows a format): they are counted and the
    # step is skipped, so numpy's warnings about them would only be noise
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            perm = rng.permutation(n)
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                logits, cache = forward(params, x_all[idx], policy=policy, weight_hooks=weight_hooks, input_hooks=input_hooks, rng=round_rng)
                loss, dlogits = softmax_cross_entropy(logits, y_all[idx])
                if loss_weight != 1.0:
                    dlogits = dlogits * dt(loss_weight)
                scale = scaler.scale if scaler is not None else 1.0
                scales[step] = scale
                step_loss[step] = loss if np.isfinite(loss) else np.nan
                for h in hooks:
                    for g in h.grads.values():
                        g[...] = 0
                counter.set_step(step, scale)
                if scale != 1.0:
                    dlogits = dlogits * dt(scale)
                grads = backward(
                    params, cache, dlogits, policy=policy, weight_hooks=weight_hooks, input_hooks=input_hooks, stats=backward_stats, rng=round_rng
                )
                hook_grads = [h.grads for h in hooks]
                if scaler is not None:
                    found_inf = not all(np.isfinite(v).all() for g in grads + hook_grads for v in g.values())
                    take = scaler.update(found_inf)
                else:
                    take = True
                skipped[step] = not take
                if take:
                    if scale != 1.0:
                        inv = 1.0 / scale
                        grads = [{k: (v.astype(np.float64) * inv).astype(dt) for k, v in g.items()} for g in grads]
                        hook_grads = [{k: np.asarray(v, np.float64) * inv for k, v in g.items()} for g in hook_grads]
                    hook_params = [h.params for h in hooks]
                    updates = optimizer.updates(params + hook_params, grads + hook_grads)
                    olds = [p[k] for p in params for k in p]
                    ups = [u[k] for p, u in zip(params, updates[: len(params)]) for k in p]
                    news = [o + u for o, u in zip(olds, ups)]
                    if check_lost:
                        w_c = olds if stored == wfmt else cast_many(olds, wfmt, rounding=r)
                        moved_to = news if stored == wfmt else [w + u for w, u in zip(w_c, ups)]
                        kept_to = cast_many(moved_to, wfmt, rounding=r, rng=round_rng)
                        for w, m, kt in zip(w_c, moved_to, kept_to):
                            moved = m != w
                            upd_changed[step] += int(np.count_nonzero(moved))
                            upd_lost[step] += int(np.count_nonzero(moved & (kt == w)))
                        stored_new = kept_to if stored == wfmt else cast_many(news, stored, rounding=r, rng=round_rng)
                    else:
                        stored_new = cast_many(news, stored, rounding=r, rng=round_rng)
                    it = iter(stored_new)
                    for p in params:
                        for k in p:
                            p[k] = next(it)
                    for h, u in zip(hooks, updates[len(params) :]):
                        for k, v in u.items():
                            cur = h.params[k]
                            if isinstance(cur, np.ndarray) and cur.flags.writeable:
                                cur[...] = cur + v
                            else:
                                h.params[k] = np.asarray(cur + v)
                step += 1
                if on_step is not None:
                    on_step(StepRecord(step=step, n_steps=n_steps, epoch=epoch + 1, loss=float(loss), scale=scale, skipped=not take))
            if evaluate_fn is not None:
                acc, tloss = evaluate_fn(params)
            else:
                acc, tloss = evaluate(params, data.x_test, data.y_test, policy=policy, weight_hooks=weight_hooks, input_hooks=input_hooks)
            e_losses = step_loss[epoch * steps_per_epoch : step]
            tr = float(np.mean(e_losses)) if np.isfinite(e_losses).all() else float("nan")
            ep_train.append(tr)
            ep_test_loss.append(tloss)
            ep_test_acc.append(acc)
            if on_epoch is not None:
                on_epoch(EpochRecord(epoch=epoch + 1, n_epochs=epochs, train_loss=tr, test_loss=tloss, test_accuracy=acc))

    counter.finish()
    return History(
        policy=policy,
        steps_per_epoch=steps_per_epoch,
        step_loss=step_loss,
        epoch_train_loss=np.array(ep_train),
        epoch_test_loss=np.array(ep_test_loss),
        epoch_test_accuracy=np.array(ep_test_acc),
        params=copy_params(params),
        hook_params=[{k: np.array(v, copy=True) for k, v in h.params.items()} for h in hooks],
        scale=scales,
        skipped=skipped,
        grad_nonzero=counter.nonzero,
        grad_underflow=counter.underflow,
        grad_overflow=counter.overflow,
        grad_rescued=counter.rescued,
        hist_stored=counter.hist_stored,
        hist_true=counter.hist_true,
        hist_zero=counter.hist_zero,
        upd_changed=upd_changed,
        upd_lost=upd_lost,
        seconds=time.perf_counter() - t0,
        scaler=scaler.config() if scaler is not None else None,
    )
