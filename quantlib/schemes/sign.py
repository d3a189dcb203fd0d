"""Sign schemes: XNOR-Net :class:`Binary` and TWN :class:`Ternary` weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..blocks import Layout, layout_for
from ._base import QuantizedTensor, Scheme, _check_granularity, _opt, _require_finite, _zeros_mask

__all__ = ["Binary", "Ternary"]


# ============================================================== binary / ternary
@dataclass(frozen=True, kw_only=True)
class _SignScheme(Scheme):
    axis: int | None = _opt(0, "axis", "int?")
    block_size: int | None = _opt(None, "block", "int?")

    def __post_init__(self) -> None:
        if self.block_size is not None and self.axis == 0:
            object.__setattr__(self, "axis", None)  # blocks replace the default per-channel axis
        _check_granularity(self.axis, self.block_size)

    def layout(self, shape) -> Layout:
        shape = tuple(shape)
        if self.axis is not None and len(shape) < 2:
            return layout_for(shape)  # a vector is one channel
        return super().layout(shape)

    def _dequantize(self, q, threads):
        lay = q.layout
        v = lay.groups(q.codes).astype(q.dtype)
        v *= np.asarray(q.scales, q.dtype).reshape(-1, 1)
        return lay.ungroup(v)


@dataclass(frozen=True, kw_only=True)
class Binary(_SignScheme):
    """Binary weights, XNOR-Net (Rastegari et al., arXiv 1603.05279): ``x~ = sign(x) * a``,
    ``a = mean|x|`` per output channel (axis 0; a 1-D tensor is one channel), sign(0) = +1.

    Worked number: x = [0.5, -1.5, 1.0] -> a = 1.0, x~ = [1, -1, 1].  ``a`` is the float64
    mean rounded once to the work dtype; ``codes`` are ±1, stored as 1 bit (1 = +1).
    ``block=B`` replaces the default axis.
    """

    family: ClassVar[str] = "binary"
    examples: ClassVar[tuple[str, ...]] = ("binary", "binary:axis=none", "binary:block=64", "binary:axis=1")

    @property
    def code_bits(self) -> int:
        return 1

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        G = layout.groups(arr)
        S = K.group_abssum(G, layout, threads)
        _require_finite(S, self)
        alpha = (S / layout.counts).astype(wd)
        codes = np.where(arr >= 0, 1, -1).astype(np.int8)
        return QuantizedTensor(
            scheme=self, layout=layout, dtype=wd, codes=codes, scales=alpha.reshape(layout.scale_shape), clipped=_zeros_mask(arr.shape)
        )

    def _levels(self, q, g):
        a = q._group_scale(g)
        return np.array([-a, a])

    def _fields(self, codes):
        return (codes > 0).astype(np.uint8)


@dataclass(frozen=True, kw_only=True)
class Ternary(_SignScheme):
    """Ternary weights, TWN (Li & Liu, arXiv 1605.04711): ``delta = 0.7 mean|x|``;
    ``q = sign(x)`` where ``|x| > delta`` else 0; ``a = mean(|x| : |x| > delta)``; ``x~ = a q``.

    Worked number: x = [1.0, -0.2, 0.6, -2.2] -> mean|x| = 1.0, delta = 0.7, q = [1, 0, 0, -1],
    a = (1.0 + 2.2)/2 = 1.6.  Per output channel (axis 0) like :class:`Binary`; ``delta``
    (the 0.7) is an option.  Codes are stored as 2-bit two's complement (-1 = 0b11).
    """

    family: ClassVar[str] = "ternary"
    examples: ClassVar[tuple[str, ...]] = ("ternary", "ternary:delta=0.5", "ternary:axis=1", "ternary:block=32")

    delta: float = _opt(0.7, "delta", "float")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.delta, (int, float)) and 0 <= self.delta < math.inf):
            raise ValueError(f"delta must be a non-negative number, got {self.delta!r}")

    @property
    def code_bits(self) -> int:
        return 2

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        G = layout.groups(arr)
        S = K.group_abssum(G, layout, threads)
        _require_finite(S, self)
        thr = self.delta * (S / layout.counts)
        a = np.abs(G)
        keep = a > thr[:, None]
        cnt = keep.sum(axis=1)
        tot = np.where(keep, a, 0).astype(np.float64).sum(axis=1)
        alpha = np.divide(tot, cnt, out=np.zeros_like(tot), where=cnt > 0).astype(wd)
        codes_G = (np.sign(G) * keep).astype(np.int8)
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=alpha.reshape(layout.scale_shape),
            clipped=_zeros_mask(arr.shape),
        )

    def _levels(self, q, g):
        a = q._group_scale(g)
        return np.array([-a, 0.0, a])

    def _fields(self, codes):
        return codes.astype(np.int64) & 3
