"""A small MLP in numpy with its own backward pass, every tensor held in a chosen format.

One :class:`Precision` says where each tensor of a training step lives (as quantlib format
names): the compute copy of the weights, the layer outputs, the activation gradients and the
weight gradients, plus the optional master copy the optimizer updates. A matmul accumulates in
float32 and its result is rounded once to the target format, as tensor cores do: in float16,
``x @ W`` of two float16 matrices with float32 sum 1.00048828125 is stored as 1.0 (the float16
spacing at 1 is 2**-10).

Params are ``list[dict]``, one ``{"W": (fan_in, fan_out), "b": (fan_out,)}`` per Linear layer,
with ReLU between layers and none after the last.

Hooks (how quantization-aware training plugs in): any object with ``forward(x) -> (y, ctx)``
and ``backward(grad_y, ctx) -> grad_x``; it may also carry ``params`` and ``grads`` dicts (same
keys) which ``backward`` accumulates into and the training loop zeroes, steps and keeps.
``weight_hooks[i]`` transforms layer i's W after its cast to ``policy.weights``;
``input_hooks[i]`` transforms layer i's input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..codec import cast as _qcast
from ..formats import get_format
from ..rounding import check_rounding

__all__ = [
    "PRECISIONS",
    "SGD",
    "Adam",
    "Params",
    "Precision",
    "backward",
    "cast_many",
    "cast_to",
    "copy_params",
    "evaluate",
    "forward",
    "init_mlp",
    "n_params",
    "softmax_cross_entropy",
]

Params = list  # list[dict[str, np.ndarray]]
StatsFn = Callable[[str, np.ndarray, np.ndarray], None]

_THREADS_MIN = 1 << 16  # below this many values one thread is faster (measured: 20-30 µs vs 30-45 µs per cast)


@dataclass(frozen=True, kw_only=True)
class Precision:
    """Where each tensor of a training step is held (quantlib format names).

    ``master=None`` means no master copy: the optimizer's float32 result is rounded straight
    back into ``weights`` (pure low-precision training), so an update smaller than half a
    float16 ulp of the weight is lost: 1.0 + 2**-12 rounds back to 1.0.
    """

    weights: str = "float32"
    activations: str = "float32"
    gradients: str = "float32"
    weight_grads: str = "float32"
    master: str | None = None
    rounding: str = "nearest_even"

    def __post_init__(self) -> None:
        for field in ("weights", "activations", "gradients", "weight_grads", "master"):
            name = getattr(self, field)
            if name is None and field == "master":
                continue
            get_format(name)  # ValueError naming the known formats
        check_rounding(self.rounding)

    @property
    def stored(self) -> str:
        """The format the optimizer's result is stored in: the master copy, else the weights."""
        return self.master if self.master is not None else self.weights

    @property
    def dtype(self) -> type:
        """Arithmetic dtype: float64 only for the all-float64 policy (gradient checks), else float32."""
        return np.float64 if self.weights == "float64" else np.float32

    def formats(self) -> tuple[str, ...]:
        """Every distinct format this policy uses, in field order."""
        names = [self.weights, self.activations, self.gradients, self.weight_grads, self.master]
        return tuple(dict.fromkeys(n for n in names if n is not None))


PRECISIONS: dict[str, Precision] = {
    "float32": Precision(),
    "float16": Precision(weights="float16", activations="float16", gradients="float16", weight_grads="float16"),
    "float16_master": Precision(
        weights="float16", activations="float16", gradients="float16", weight_grads="float16", master="float32"
    ),
    "bfloat16": Precision(weights="bfloat16", activations="bfloat16", gradients="bfloat16", weight_grads="bfloat16"),
    "bfloat16_master": Precision(
        weights="bfloat16", activations="bfloat16", gradients="bfloat16", weight_grads="bfloat16", master="float32"
    ),
    "fp8": Precision(
        weights="float8_e4m3fn",
        activations="float8_e4m3fn",
        gradients="float8_e5m2",
        weight_grads="float8_e5m2",
        master="float32",
    ),
    "float64": Precision(weights="float64", activations="float64", gradients="float64", weight_grads="float64"),
}
"""The named policies: float32 reference, pure float16/bfloat16, with a float32 master copy, FP8
(E4M3 forward, E5M2 backward, float32 master) and float64 (for gradient checks)."""


_DTYPE_NAME = {np.dtype(np.float16): "float16", np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}
"""dtype -> its name, without numpy's slow ``dtype.name`` (~5 µs, and a step asks ~15 times)."""


def cast_to(x: np.ndarray, fmt: str, *, rounding: str = "nearest_even", rng=None) -> np.ndarray:
    """Round ``x`` to ``fmt`` (a no-op when ``fmt`` is x's own dtype): float32 0.1 -> float16 0.0999755859375."""
    if fmt == _DTYPE_NAME.get(x.dtype):
        return x
    if fmt == "float64":
        return x.astype(np.float64)
    threads = 1 if x.size < _THREADS_MIN else None
    out = _qcast(x, fmt, rounding=rounding, rng=rng, threads=threads)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def cast_many(arrays: Sequence[np.ndarray], fmt: str, *, rounding: str = "nearest_even", rng=None) -> list[np.ndarray]:
    """:func:`cast_to` of several arrays of one dtype in one call (one cast costs ~25 µs however
    small the array): same values as casting each, as the rounding is elementwise."""
    arrays = list(arrays)
    if not arrays or fmt == _DTYPE_NAME.get(arrays[0].dtype):
        return arrays
    if len(arrays) == 1:
        return [cast_to(arrays[0], fmt, rounding=rounding, rng=rng)]
    flat = cast_to(np.concatenate([a.ravel() for a in arrays]), fmt, rounding=rounding, rng=rng)
    out, at = [], 0
    for a in arrays:
        out.append(flat[at : at + a.size].reshape(a.shape))
        at += a.size
    return out


def init_mlp(sizes: Sequence[int] = (64, 128, 10), *, seed: int) -> Params:
    """He-normal weights N(0, 2/fan_in) and zero biases, float32: for 64 inputs the std is 0.177."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least two positive layer widths, got {sizes}")
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        params.append({"W": w.astype(np.float32), "b": np.zeros(fan_out, np.float32)})
    return params


def copy_params(params: Params, *, dtype=None) -> Params:
    """A deep, writeable copy (optionally converted to ``dtype``)."""
    return [{k: np.array(v, dtype=dtype if dtype is not None else v.dtype, copy=True) for k, v in p.items()} for p in params]


def n_params(params: Params) -> int:
    return int(sum(v.size for p in params for v in p.values()))


def _hook(hooks, i, n):
    if hooks is None:
        return None
    if len(hooks) != n:
        raise ValueError(f"need one hook (or None) per layer: {n}, got {len(hooks)}")
    return hooks[i]


def forward(params: Params, x: np.ndarray, *, policy: Precision, weight_hooks=None, input_hooks=None, rng=None):
    """Logits and the cache backward needs. Each layer: ``z = round_act(x @ round_w(W) + round_w(b))``.

    The input x is rounded to ``policy.activations`` first; ReLU is exact in every format.
    """
    n = len(params)
    dt = policy.dtype
    r = policy.rounding
    h = cast_to(np.asarray(x, dtype=dt), policy.activations, rounding=r, rng=rng)
    cache = {"x": [], "W": [], "z": [], "ctx_w": [], "ctx_in": []}
    wb = cast_many([np.asarray(p[k], dtype=dt) for p in params for k in ("W", "b")], policy.weights, rounding=r, rng=rng)
    for i in range(len(params)):
        w, b = wb[2 * i], wb[2 * i + 1]
        ctx_w = ctx_in = None
        wh = _hook(weight_hooks, i, n)
        if wh is not None:
            w, ctx_w = wh.forward(w)
        ih = _hook(input_hooks, i, n)
        if ih is not None:
            h, ctx_in = ih.forward(h)
        z = cast_to(h @ w + b, policy.activations, rounding=r, rng=rng)
        cache["x"].append(h)
        cache["W"].append(w)
        cache["z"].append(z)
        cache["ctx_w"].append(ctx_w)
        cache["ctx_in"].append(ctx_in)
        h = np.maximum(z, 0) if i < n - 1 else z
    return h, cache


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over the batch and dL/dlogits = (softmax - onehot) / batch, in float32
    (float64 for float64 logits). Uniform logits over 10 classes give log(10) = 2.302585."""
    logits = np.asarray(logits)
    dt = np.float64 if logits.dtype == np.float64 else np.float32
    z = logits.astype(dt) - logits.max(axis=1, keepdims=True).astype(dt)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    rows = np.arange(n)
    y = np.asarray(y)
    loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
    d = e / s
    d[rows, y] -= 1
    d /= dt(n)
    return loss, d


def backward(
    params: Params,
    cache: dict,
    dlogits: np.ndarray,
    *,
    policy: Precision,
    weight_hooks=None,
    input_hooks=None,
    stats: StatsFn | None = None,
    rng=None,
) -> Params:
    """Gradients of every parameter (same structure as params), each matmul result rounded once:
    activation gradients to ``policy.gradients``, dW and db to ``policy.weight_grads``.

    ``stats(kind, accumulated, rounded)`` (optional) sees every gradient tensor before and after its
    rounding, kind "gradients" or "weight_grads": the loop counts underflow and overflow with it.
    Hooks' ``backward`` is applied where their ``forward`` was (straight-through or not, as they decide).
    """
    n = len(params)
    dt = policy.dtype
    r = policy.rounding

    def rnd(vs, fmt, kind):
        outs = cast_many(vs, fmt, rounding=r, rng=rng)
        if stats is not None:
            for v, o in zip(vs, outs):
                stats(kind, v, o)
        return outs

    (g,) = rnd([np.asarray(dlogits, dtype=dt)], policy.gradients, "gradients")
    grads: list = [None] * n
    for i in range(n - 1, -1, -1):
        x = cache["x"][i]
        dw, db = rnd([x.T @ g, g.sum(axis=0)], policy.weight_grads, "weight_grads")
        wh = _hook(weight_hooks, i, n)
        if wh is not None:
            dw = cast_to(np.asarray(wh.backward(dw, cache["ctx_w"][i]), dtype=dt), policy.weight_grads, rounding=r, rng=rng)
        grads[i] = {"W": dw, "b": db}
        ih = _hook(input_hooks, i, n)
        if i == 0 and ih is None:
            break
        (dx,) = rnd([g @ cache["W"][i].T], policy.gradients, "gradients")
        if ih is not None:
            dx = cast_to(np.asarray(ih.backward(dx, cache["ctx_in"][i]), dtype=dt), policy.gradients, rounding=r, rng=rng)
        if i == 0:
            break
        g = dx * (cache["z"][i - 1] > 0)
    return grads


def evaluate(params: Params, x, y, *, policy: Precision = PRECISIONS["float32"], weight_hooks=None, input_hooks=None):
    """(accuracy, mean cross-entropy) of the network on (x, y) under ``policy``."""
    logits, _ = forward(params, x, policy=policy, weight_hooks=weight_hooks, input_hooks=input_hooks)
    loss, _ = softmax_cross_entropy(logits, y)
    acc = float(np.mean(np.argmax(logits, axis=1) == np.asarray(y)))
    return acc, loss


class _Optimizer:
    """State per (tensor index, key), kept in float32 (float64 for float64 params)."""

    def __init__(self, *, lr: float):
        lr = float(lr)
        if not (lr > 0 and np.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr}")
        self.lr = lr
        self.state: dict = {}
        self.t = 0

    def updates(self, params: Params, grads: Params) -> list[dict[str, np.ndarray]]:
        """The float32 update u of every tensor (new = old + u), advancing the state one step."""
        raise NotImplementedError

    def step(self, params: Params, grads: Params) -> None:
        """Update ``params`` in place: ``p += u``."""
        for p, u in zip(params, self.updates(params, grads)):
            for k, v in u.items():
                p[k] += v


class SGD(_Optimizer):
    """PyTorch's SGD with momentum: v = μ·v + g; u = -lr·v. lr 0.1, g 0.5, first step: u = -0.05."""

    def __init__(self, *, lr: float, momentum: float = 0.9):
        super().__init__(lr=lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def updates(self, params, grads):
        self.t += 1
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            u = {}
            for k, gv in g.items():
                gv = np.asarray(gv, dtype=p[k].dtype)
                if self.momentum:
                    v = self.state.get((i, k))
                    v = gv.copy() if v is None else self.momentum * v + gv
                    self.state[(i, k)] = v
                else:
                    v = gv
                u[k] = (-self.lr * v).astype(p[k].dtype, copy=False)
            out.append(u)
        return out


class Adam(_Optimizer):
    """Adam with bias correction: first step u = -lr·g/(|g| + eps) ≈ -lr·sign(g)."""

    def __init__(self, *, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr=lr)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0 and eps > 0):
            raise ValueError("Adam needs 0 <= beta1, beta2 < 1 and eps > 0")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def updates(self, params, grads):
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            u = {}
            for k, gv in g.items():
                gv = np.asarray(gv, dtype=p[k].dtype)
                m, v = self.state.get((i, k), (np.zeros_like(gv), np.zeros_like(gv)))
                m = self.beta1 * m + (1 - self.beta1) * gv
                v = self.beta2 * v + (1 - self.beta2) * gv * gv
                self.state[(i, k)] = (m, v)
                u[k] = (-self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(p[k].dtype, copy=False)
            out.append(u)
        return out
