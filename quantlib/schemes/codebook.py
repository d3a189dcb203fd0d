"""Codebooks: NF4 (:class:`NF4`), bitsandbytes' FP4 (:class:`BnbFP4`), user tables
(:class:`CodebookQuant`) and QLoRA's double quantization of their absmaxes (:func:`double_quantize`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..codebooks import BNB_FP4_CODEBOOK, DYNAMIC_MAP, NF4_CODEBOOK, Codebook, bnb_cpu_codes, nearest_dynamic
from ._base import DoubleQuantState, QuantizedTensor, Scheme, _check_granularity, _opt, _require_finite, _zeros_mask

__all__ = ["DOUBLE_QUANT_RULES", "NF4", "BnbFP4", "CodebookQuant", "double_quantize"]

_TINY_ABSMAX = np.float32(1e-38)  # bitsandbytes: absmax.clamp(min=1e-38)


# ============================================================== codebooks
DOUBLE_QUANT_RULES: tuple[str, ...] = ("bitsandbytes", "nearest")


def double_quantize(absmax, *, offset: float | None = None, rule: str = "bitsandbytes", block_size: int = 256) -> DoubleQuantState:
    """QLoRA double quantization of absmaxes (bitsandbytes ``compress_statistics=True``).

    ``offset = mean(absmax)`` in float32 (computed in float64 and rounded once; torch sums in
    float32 and can differ by an ulp: pass ``offset`` to reproduce a given one);
    ``d = fl32(absmax - offset)``; per 256: ``a2 = max|d|``, ``s = fl32(d * fl32(1 / a2))`` and
    the 8-bit code of s on the dynamic map, picked by ``rule``: ``"bitsandbytes"`` (its CPU
    kernel's 65536-bin table, :func:`~quantlib.codebooks.bnb_cpu_codes`; what ``quantize_4bit``
    stores here) or ``"nearest"`` (the exact nearest value, ties to the lower).  A block of 256
    zeros gets code 0.  Reconstruction: ``fl32(fl32(map[c] * a2) + offset)``.

    Bits: 8 per absmax + 32 per 256 absmaxes + 32 for the offset: QLoRA's 8/64 + 32/(64*256)
    = 0.127 bits per parameter with 64-blocks (arXiv 2305.14314, §3 "Double Quantization").
    """
    if rule not in DOUBLE_QUANT_RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(DOUBLE_QUANT_RULES)}")
    a = np.asarray(absmax, dtype=np.float32)
    flat = a.reshape(-1)
    off = np.float32(flat.astype(np.float64).mean()) if offset is None else np.float32(offset)
    d = (flat - off).astype(np.float32)
    n = d.size
    nb = -(-n // block_size)
    D = np.zeros(nb * block_size, np.float32)
    D[:n] = d
    D = D.reshape(nb, block_size)
    a2 = np.max(np.abs(D), axis=1).astype(np.float32)
    with np.errstate(all="ignore"):
        inv = (np.float32(1) / a2).astype(np.float32)
        s = (D * inv[:, None]).astype(np.float32)
    s[a2 == 0] = 0
    pick = bnb_cpu_codes if rule == "bitsandbytes" else nearest_dynamic
    q2 = pick(s.reshape(-1)[:n], DYNAMIC_MAP).reshape(-1)
    zero_blocks = np.repeat(a2 == 0, block_size)[:n]
    q2[zero_blocks] = 0
    return DoubleQuantState(codes=q2.reshape(a.shape), absmax=a2, offset=float(off), original=a.copy(), code=DYNAMIC_MAP, block_size=block_size)


@dataclass(frozen=True, kw_only=True)
class _CodebookScheme(Scheme):
    """Shared rule of NF4 / bnb_fp4 / codebook (bitsandbytes' CPU ``quantize_4bit``):
    ``A`` = group absmax, ``s = fl32(x * fl32(1 / max(A, 1e-38)))`` (``x / A`` in a short last
    block, as bitsandbytes does for its tail), code = nearest value (ties to the lower one),
    ``x~ = fl32(value * A)``.  ``scales`` = A (float32) or, with ``double_quant``, the
    reconstructed A of :class:`DoubleQuantState` (codes are chosen with the exact A, as in
    bitsandbytes).
    """

    block_size: int | None = _opt(64, "block", "int?", always=True)
    axis: int | None = _opt(None, "axis", "int?")
    double_quant: bool = _opt(False, "dq", "bool")

    def __post_init__(self) -> None:
        _check_granularity(self.axis, self.block_size)

    @property
    def codebook(self) -> Codebook:  # pragma: no cover
        raise NotImplementedError

    @property
    def code_bits(self) -> int:
        return self.codebook.bits

    def _overhead_bits(self, layout):
        G = layout.n_groups
        if self.double_quant:
            return 8 * G + 32 * -(-G // 256) + 32
        return 32 * G

    def _nominal_bits(self, block_size):
        if self.double_quant:
            return self.code_bits + 8 / block_size + 32 / (block_size * 256)
        return self.code_bits + 32 / block_size

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        cb = self.codebook
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        Ac = np.maximum(A, wd.type(_TINY_ABSMAX))
        r = (wd.type(1) / Ac).astype(wd)
        codes_G = np.empty(G.shape, np.uint8)

        def tile(g0, g1, c0, c1, scratch):
            xt = G[g0:g1, c0:c1]
            s = scratch("s", xt.shape, wd)
            np.multiply(xt, r[g0:g1, None], out=s)
            cb.nearest(s, out=codes_G[g0:g1, c0:c1], scratch=scratch("b", xt.shape, bool))

        K.map_tiles(layout, threads, tile)
        if layout.kind == "block" and layout.pad:  # bitsandbytes divides in its short tail block
            tail = np.flatnonzero(layout.counts < layout.group_len)
            codes_G[tail] = cb.nearest((G[tail] / Ac[tail, None]).astype(wd))
        # bitsandbytes clamps absmax at 1e-38, which sends a block of subnormals to code 0 while
        # its absmax is stored as is; here such a block is divided by its own absmax instead
        # (x = 1.12e-43 alone: code 15, dequantized exactly, rather than 0)
        tiny = np.flatnonzero((A > 0) & (A < Ac))
        if tiny.size:
            with np.errstate(all="ignore"):
                codes_G[tiny] = cb.nearest((G[tiny] / A[tiny, None]).astype(wd))
        dq = None
        scales = A.astype(np.float32) if wd == np.float32 else A
        if self.double_quant:
            dq = double_quantize(A.astype(np.float32).reshape(layout.scale_shape))
            scales = dq.dequantize()
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=np.asarray(scales).reshape(layout.scale_shape),
            clipped=_zeros_mask(arr.shape),
            double_quant=dq,
        )

    def _dequantize(self, q, threads):
        lay = q.layout
        C = lay.groups(q.codes)
        table = self.codebook.array.astype(q.dtype)
        sc = np.asarray(q.scales).astype(q.dtype).reshape(-1, 1)
        out = np.empty(C.shape, q.dtype)

        def tile(g0, g1, c0, c1, scratch):
            o = out[g0:g1, c0:c1]
            np.take(table, C[g0:g1, c0:c1], out=o)
            np.multiply(o, sc[g0:g1], out=o)

        K.map_tiles(lay, threads, tile)
        return lay.ungroup(out)

    def _levels(self, q, g):
        return self.codebook.array.astype(q.dtype) * q.dtype.type(q._group_scale(g))

    @property
    def _pad_code(self) -> int:  # type: ignore[override]
        return int(self.codebook.nearest(np.zeros(1, np.float32))[0])  # bitsandbytes pads with 0.0


@dataclass(frozen=True, kw_only=True)
class NF4(_CodebookScheme):
    """NF4 (QLoRA, Dettmers et al., arXiv 2305.14314): nearest of 16 normal-quantile values to
    ``x / absmax`` per block, bitsandbytes' table and rule (:data:`NF4_CODEBOOK`).

    Worked number: block absmax 2.0, x = 1.0 -> s = 0.5 -> code 12 (0.44070982933044434: the
    midpoint to code 13 is 0.50166) -> x~ = 0.8814196586608887.  4 bits + a float32 absmax per 64 = 4.5 bits; with
    ``double_quant`` 4 + 8/64 + 32/(64*256) = 4.127.  Codes are identical to bitsandbytes'
    CPU ``quantize_4bit(quant_type='nf4')`` when the blocks are the same (1-D tensors, or a
    last axis divisible by the block); see tests/test_schemes.py.
    """

    family: ClassVar[str] = "nf4"
    symmetric: ClassVar[bool] = False  # the table is not symmetric
    examples: ClassVar[tuple[str, ...]] = ("nf4:block=64", "nf4:block=64,dq", "nf4:block=32", "nf4:block=none", "nf4:block=none,axis=0", "nf4:block=128,dq")

    @property
    def codebook(self) -> Codebook:
        return NF4_CODEBOOK


@dataclass(frozen=True, kw_only=True)
class BnbFP4(_CodebookScheme):
    """bitsandbytes' "fp4" (``quant_type='fp4'``): 1 sign, 2 exponent, 1 mantissa bit, bias 2,
    values [0, 0.0625, 2, 3, 4, 6, 8, 12] / 12 (:data:`BNB_FP4_CODEBOOK`), codes in its bit
    order.  Not OCP E2M1 (that is ``float4_e2m1fn``).  Worked number: s = 0.3 -> nearest 0.3333
    (code 4; the midpoints around it are 0.2917 and 0.4167).
    """

    family: ClassVar[str] = "bnb_fp4"
    symmetric: ClassVar[bool] = False  # ties go to the lower value: s = 0.5 -> 1/3, s = -0.5 -> -2/3
    examples: ClassVar[tuple[str, ...]] = ("bnb_fp4:block=64", "bnb_fp4:block=128,dq", "bnb_fp4:block=16")

    @property
    def codebook(self) -> Codebook:
        return BNB_FP4_CODEBOOK


@dataclass(frozen=True, kw_only=True)
class CodebookQuant(_CodebookScheme):
    """A user-given codebook of 2..256 values, normalised by its largest magnitude (as
    bitsandbytes' ``get_4bit_type`` normalises its tables) and rounded to float32; codes index
    the values in the order given.  ``codebook:values=-2;-1;0;1;2`` -> values
    (-1, -0.5, 0, 0.5, 1), 3-bit codes.  The table is part of the scheme (its string form),
    so it is not counted in ``bits_per_element``.
    """

    family: ClassVar[str] = "codebook"
    symmetric: ClassVar[bool] = False
    examples: ClassVar[tuple[str, ...]] = ("codebook:values=-1;-0.5;0;0.5;1,block=64", "codebook:values=-1;1,block=32", "codebook:values=-1;-0.25;0.125;1,block=16,dq")

    values: tuple[float, ...] = _opt((-1.0, 0.0, 1.0), "values", "floats", always=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        v = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if not 2 <= v.size <= 256:
            raise ValueError(f"a codebook has 2 to 256 values, got {v.size}")
        if not np.all(np.isfinite(v)):
            raise ValueError("codebook values must be finite")
        m = np.abs(v).max()
        if m == 0:
            raise ValueError("codebook values are all zero")
        v32 = (v.astype(np.float32) / np.float32(np.abs(v.astype(np.float32)).max())).astype(np.float32)
        object.__setattr__(self, "values", tuple(float(f) for f in v32))

    @property
    def codebook(self) -> Codebook:
        return Codebook("codebook", self.values)
