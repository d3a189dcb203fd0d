"""Fake quantization for quantization-aware training: quantlib's quantizers as training hooks,
with a straight-through estimator (STE) backward.

A hook follows the protocol of :mod:`quantlib.train.nn`: ``forward(x) -> (y, ctx)`` and
``backward(grad_y, ctx) -> grad_x``; a hook with a learnable scale also has ``params`` and
``grads`` dicts (same keys) and *accumulates* into ``grads`` in ``backward``.

Forward = the real quantizer, bit for bit: every hook either calls :func:`quantlib.quantize`
and ``dequantize`` directly, or (for a clip range that does not come from the tensor itself:
a calibrated or learnt one) reproduces the calibrated branch of the quantlib scheme with
quantlib's own pieces (``AbsmaxInt._c`` for ``c = fl(qmax / A)``, the exact half-to-even
roundings of :mod:`quantlib._kernels`, ``AsymmetricUInt`` for scale and zero point), so
the two cannot drift; ``tests/test_train_qat.py`` checks equality against ``quantize``.

STE (Bengio et al. 2013; the QAT of Jacob et al., arXiv 1712.05877): round() is treated as
the identity, so ``grad_x = grad_y`` inside the clip range and ``0`` outside.  Boundary
convention: the range is *closed*, ``lo <= x <= hi`` (``|x| <= A`` for symmetric) passes the
gradient, so the largest element of a tensor quantized with its own absmax always does.
Worked number: A = 1, x = [0.5, 1.0, 1.2, -3] -> mask [1, 1, 0, 0].

Learnable scale: LSQ (Esser et al., "Learned Step Size Quantization", arXiv 1902.08153).
The learnt parameter is the clip threshold ``A`` (what quantlib stores as the scale of
``int{k}``; the LSQ step is ``s = A / qmax``), and with STE

    d x~ / d A = q / qmax - x / A   inside,   sign(x)   outside (clipped),

i.e. LSQ's ``d x~ / d s = q - x / s`` (or ``±qmax`` clipped) divided by ``qmax``; the summed
gradient is multiplied by LSQ's grad-scale ``g = 1 / sqrt(N * qmax)`` (N = elements sharing
the scale).  Worked number: int4 (qmax 7), A = 1, x = 0.3: q = round(2.1) = 2,
dx~/dA = 2/7 - 0.3 = -0.0143.
"""

from __future__ import annotations

import math

import numpy as np

from quantlib import _kernels as K
from quantlib import quantize
from quantlib.schemes import AbsmaxInt, AsymmetricUInt, Scheme, parse_scheme

__all__ = [
    "MIN_CLIP",
    "ActFakeQuant",
    "DynamicActQuant",
    "Observer",
    "SchemeFakeQuant",
    "WeightFakeQuant",
    "asym_fixed",
    "asym_params",
    "sym_fixed",
]

MIN_CLIP = 1e-6
"""Smallest clip threshold a learnt scale may reach (a step that shrinks to 0 divides by 0)."""


def _f32(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


# ====================================================================== fixed-range quantizers
def sym_fixed(x, A, *, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``int{bits}`` with a given clip ``A`` (a scalar, or one per column of a 2-D ``x``):
    ``c = fl(qmax / A)``, ``q = clamp(round(x * c), ±qmax)``, ``x~ = fl(q / c)``; returns (x~, q).

    The rule of ``quantlib.schemes.AbsmaxInt`` with ``calibration`` (the clamped branch),
    for any A: with A = the tensor's own absmax it is ``int{bits}`` itself.
    Worked number (bits 4, A = 1): x = [0.3, -2] -> c = 7, q = [2, -7], x~ = [0.2857, -1].
    """
    scheme = AbsmaxInt(bits=bits)
    x = _f32(x)
    A = np.atleast_1d(_f32(A))
    if np.any(~np.isfinite(A)) or np.any(A < 0):
        raise ValueError(f"clip thresholds must be finite and >= 0, got {A}")
    c, wide = scheme._c(A)
    if wide.any():
        raise ValueError(f"clip threshold below {MIN_CLIP}: the scale would overflow float32")
    r = np.empty(x.shape, np.float32)
    K.rint_exact_product(x, c, r, K.Scratch())
    np.clip(r, -scheme.qmax, scheme.qmax, out=r)
    return r / c, r


def asym_params(lo: float, hi: float, *, bits: int) -> tuple[np.float32, np.float32]:
    """``(scale, zero_point)`` of ``uint{bits}`` for the range ``[lo, hi]``, computed by quantlib
    (``AsymmetricUInt`` on the two ends: the range is extended to include 0,
    ``scale = fl((hi - lo) / (2^bits - 1))``, ``zp = round(-lo / scale)``).
    Worked number (bits 8): [-1, 3] -> scale 0.0156863, zp 64."""
    q = quantize(np.array([lo, hi], np.float32), AsymmetricUInt(bits=bits), threads=1)
    return np.float32(q.scales), np.float32(q.zero_points)


def asym_fixed(x, lo: float, hi: float, *, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``uint{bits}`` with a given range (a static, calibrated activation range), as
    ``AsymmetricUInt`` with ``calibration``: ``q = clamp(round(x / scale) + zp, 0, 2^bits - 1)``,
    ``x~ = (q - zp) * scale``; returns (x~, q).
    Worked number (bits 2, range [0, 3]): scale 1, x = [0.4, 1.5, 7] -> q = [0, 2, 3], x~ = [0, 2, 3]."""
    x = _f32(x)
    scale, zp = asym_params(lo, hi, bits=bits)
    r = np.empty(x.shape, np.float32)
    K.rint_exact_quotient(x, np.full((1,) * max(x.ndim, 1), scale, np.float32), r, K.Scratch())
    r += zp
    np.clip(r, 0, 2**bits - 1, out=r)
    return (r - zp) * scale, r


# ====================================================================== hooks
class SchemeFakeQuant:
    """Fake-quantize a tensor with any quantlib scheme whose range comes from the tensor itself
    (``int4:axis=1`` per output column, ``binary:axis=1``, ``ternary:axis=1``, ``log4:axis=1``):
    forward ``quantize(x, scheme).dequantize()``; backward STE, zero only where quantlib marks
    an element clipped (beyond the top level: log's ``round(log2 A)`` can lie below A).

    Used for weights: ``W`` is (fan_in, fan_out), so ``axis=1`` is one scale per output channel.
    """

    def __init__(self, scheme: Scheme | str) -> None:
        self.scheme = parse_scheme(scheme)

    def forward(self, x):
        q = quantize(_f32(x), self.scheme, threads=1)
        mask = ~q.clipped if q.n_clipped else None
        return q.dequantize(threads=1), mask

    def backward(self, grad, mask):
        return grad if mask is None else grad * mask

    def __repr__(self) -> str:
        return f"SchemeFakeQuant({self.scheme})"


class WeightFakeQuant:
    """Symmetric ``int{bits}`` fake quantization of a weight (fan_in, fan_out), per output
    channel or per tensor.

    ``learnable=False``: the clip is the current absmax (no element is ever clipped: the STE
    is the identity); forward = ``quantize(W, "int{bits}:axis=1")``.  ``learnable=True``: the
    clip ``A`` is a parameter (``params["A"]``, one per channel or one), initialised at the
    absmax of ``init`` (the float weight), trained with the LSQ gradient (module docstring).
    """

    def __init__(self, bits: int, *, per_channel: bool = True, learnable: bool = False, init=None) -> None:
        self.bits = int(bits)
        self.per_channel = bool(per_channel)
        self.learnable = bool(learnable)
        self.scheme = AbsmaxInt(bits=self.bits, axis=1 if per_channel else None)
        self.qmax = self.scheme.qmax
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        if self.learnable:
            if init is None:
                raise ValueError("a learnable clip needs the float weight to start from (init=W)")
            w = np.abs(_f32(init))
            A = w.max(axis=0) if self.per_channel else np.array([w.max()], np.float32)
            self.params["A"] = np.maximum(A, MIN_CLIP).astype(np.float32)
            self.grads["A"] = np.zeros_like(self.params["A"])

    def clip(self) -> np.ndarray:
        """The learnt clip thresholds (kept >= MIN_CLIP)."""
        A = self.params["A"]
        np.maximum(A, MIN_CLIP, out=A)
        return A

    def forward(self, x):
        x = _f32(x)
        if not self.learnable:
            return quantize(x, self.scheme, threads=1).dequantize(threads=1), None
        A = self.clip()
        y, q = sym_fixed(x, A, bits=self.bits)
        return y, (x, q, A.copy())

    def backward(self, grad, ctx):
        if ctx is None:
            return grad
        x, q, A = ctx
        inside = np.abs(x) <= A
        d = np.where(inside, q / self.qmax - x / A, np.sign(x)).astype(np.float32)
        n = x.shape[0] if self.per_channel else x.size
        g = 1.0 / math.sqrt(n * self.qmax)
        gA = (grad * d).sum(axis=0) if self.per_channel else np.array([(grad * d).sum()])
        self.grads["A"] += (g * gA).astype(np.float32)
        return grad * inside

    def __repr__(self) -> str:
        return f"WeightFakeQuant(int{self.bits}, per_channel={self.per_channel}, learnable={self.learnable})"


class ActFakeQuant:
    """Static asymmetric ``uint{bits}`` fake quantization of an activation with the range
    ``[lo, hi]`` (from a calibration set), as TFLite's full-integer activations.

    Forward = :func:`asym_fixed`; backward STE: the gradient passes where ``lo <= x <= hi``.
    ``learnable=True`` learns ``hi`` (``params["hi"]``) with LSQ; it needs ``lo = 0`` (inputs
    of this network are pixels and ReLU outputs, never negative), so the zero point is 0 and
    ``x~ = clamp(round(x / s), 0, L) s`` with ``s = hi / L``: ``d x~ / d hi = q / L - x / hi``
    inside, 1 above ``hi``, 0 below 0; grad-scale ``1 / sqrt(N L)`` with N the features.
    """

    def __init__(self, bits: int, lo: float, hi: float, *, learnable: bool = False) -> None:
        self.bits = int(bits)
        self.levels = 2**self.bits - 1
        self.lo, self.hi0 = float(min(lo, 0.0)), float(max(hi, 0.0))
        self.learnable = bool(learnable)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        if self.learnable:
            if self.lo != 0.0:
                raise ValueError(f"a learnable activation range needs lo = 0 (non-negative inputs), got lo = {lo}")
            self.params["hi"] = np.array([max(self.hi0, MIN_CLIP)], np.float32)
            self.grads["hi"] = np.zeros(1, np.float32)

    @property
    def hi(self) -> float:
        if self.learnable:
            h = self.params["hi"]
            np.maximum(h, MIN_CLIP, out=h)
            return float(h[0])
        return self.hi0

    def range(self) -> tuple[float, float]:
        """The range in use, as float32 numbers."""
        return float(np.float32(self.lo)), float(np.float32(self.hi))

    def forward(self, x):
        x = _f32(x)
        lo, hi = self.range()
        y, q = asym_fixed(x, lo, hi, bits=self.bits)
        return y, (x, q, lo, hi)

    def backward(self, grad, ctx):
        x, q, lo, hi = ctx
        inside = (x >= lo) & (x <= hi)
        if self.learnable:
            d = np.where(inside, q / self.levels - x / hi, (x > hi).astype(np.float32))
            n = x.shape[-1] if x.ndim > 1 else x.size
            g = 1.0 / math.sqrt(n * self.levels)
            self.grads["hi"] += np.float32(g * float((grad * d).sum()))
        return grad * inside

    def __repr__(self) -> str:
        return f"ActFakeQuant(uint{self.bits}, [{self.lo:.4g}, {self.hi:.4g}], learnable={self.learnable})"


class DynamicActQuant:
    """Activations quantized on the fly, one range per example (row): ``uint{bits}:axis=0``,
    as TFLite's dynamic-range ("hybrid") kernels quantize their inputs per row.  No data is
    needed ahead of time; the result of an example does not depend on its batch.  STE identity
    (the range is the row's own: nothing is clipped)."""

    def __init__(self, bits: int) -> None:
        self.bits = int(bits)
        self.scheme = AsymmetricUInt(bits=self.bits, axis=0)

    def forward(self, x):
        return quantize(_f32(x), self.scheme, threads=1).dequantize(threads=1), None

    def backward(self, grad, ctx):
        return grad

    def __repr__(self) -> str:
        return f"DynamicActQuant({self.scheme})"


class Observer:
    """Identity hook that keeps what passes through it (calibration: a layer's float inputs)."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        self.seen.append(np.array(x, np.float32, copy=True))
        return x, None

    def backward(self, grad, ctx):
        return grad

    def values(self) -> np.ndarray:
        return np.concatenate([v.reshape(-1) for v in self.seen]) if self.seen else np.zeros(0, np.float32)
