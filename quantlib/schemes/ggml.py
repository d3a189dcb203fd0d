"""llama.cpp's quant types as a scheme: :class:`GGMLQuant` (``q4_0``, ``q4_k``, ``iq4_nl``, ...),
bit-exact with ggml: the same bytes as llama.cpp's reference quantizers (quantize_row_*_ref of
ggml-quants.c, no importance matrix) and the same float32 values as dequantize_row_* (and
gguf-py's ``quants.dequantize``).

==========  ========  =====  ======  =================================================
type        block     bytes  bpw     rule (per block; K types: per 16/32 sub-block)
==========  ========  =====  ======  =================================================
``q4_0``    32        18     4.5     ``d * (q - 8)``, d = signed max / -8
``q4_1``    32        20     5.0     ``d * q + m``, d = (max - min) / 15, m = min
``q5_0``    32        22     5.5     ``d * (q - 16)``, d = signed max / -16
``q5_1``    32        24     6.0     ``d * q + m``, d = (max - min) / 31
``q8_0``    32        34     8.5     ``d * q``, d = absmax / 127, q rounded half away
``q2_k``    256 (16)  84     2.625   ``d*sc * q - dmin*m``, 4-bit sc, m; make_qkx2_quants
``q3_k``    256 (16)  110    3.4375  ``d*(sc - 32) * (q - 4)``, 6-bit sc; make_q3_quants
``q4_k``    256 (32)  144    4.5     ``d*sc * q - dmin*m``, 6-bit sc, m; make_qkx2_quants
``q5_k``    256 (32)  176    5.5     as q4_k with 5-bit q
``q6_k``    256 (16)  210    6.5625  ``d*sc * (q - 32)``, int8 sc; make_qx_quants
``iq4_nl``  32        18     4.5     ``d * kvalues_iq4nl[q]`` (16 levels, -127..113)
==========  ========  =====  ======  =================================================

Every d, m, dmin is stored as fp16 (so a block whose scale exceeds 65504 decodes to inf/NaN,
as in ggml).  The quantizers compute in float32: float64 input is rounded to float32 first.

What a :class:`QuantizedTensor` of these holds: ``codes`` = the stored unsigned indices (q4_0:
0..15 before the ``- 8``; q3_k: 0..7; q8_0: int8; iq4_nl: the codebook index), ``scales`` =
the fp16 ``d`` of each (super-)block widened to float32, ``blocks`` = the ggml bytes, shape
``(*x.shape[:-1], blocks_per_row * type_size)`` (what a .gguf file stores), ``clipped`` = the
elements whose final rounded index was clamped to the range (iq4_nl: beyond the end levels by
more than half the outer spacing).  :meth:`~QuantizedTensor.pack` gives the codes only (the
generic bit stream); the ggml bytes are ``q.blocks``.

Rows whose length is not a multiple of the block are zero padded to whole blocks (ggml itself
refuses them; llama-quantize then falls back to another type): the padded block is quantized
with its zeros, stored, and counted -- ``total_bits`` is every stored block,
``n_blocks * type_size * 8``, so ``bits_per_element`` is exactly ``type_size * 8 /
block_size`` when the last axis is a multiple of the block and more otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._parallel import run_parallel, spans
from ..blocks import Layout
from . import _ggml_layout as GL
from ._base import QuantizedTensor, Scheme, _opt, _require_finite
from ._ggml_kquants import quantize_blocks
from ._ggml_layout import GGML_TYPES, KVALUES_IQ4NL, GGMLType

__all__ = ["GGML_TYPES", "KVALUES_IQ4NL", "GGMLQuant", "GGMLType", "from_ggml_bytes", "ggml_sub_blocks"]

_CHUNK_ELEMENTS = 1 << 19  # elements per quantizer call: fewer numpy calls, work matrices of 2 MiB (measured)


@dataclass(frozen=True, kw_only=True)
class GGMLQuant(Scheme):
    """A llama.cpp quant type (``type``: ``q4_0`` ... ``q6_k``, ``iq4_nl``; see the module
    table), bit-exact with ggml.  Blocks run along the last axis; ``block_size`` is fixed by
    the type (32 or 256) and is not part of the string form: ``str(GGMLQuant(type="q4_k"))``
    is ``"q4_k"``.  ``bits_per_element()`` = ``type_size * 8 / block_size`` (4.5 for q4_k)."""

    family: ClassVar[str] = "ggml"
    examples: ClassVar[tuple[str, ...]] = tuple(GGML_TYPES)

    type: str = _opt("q4_k", None, "str")
    block_size: int | None = _opt(None, None, "int")

    def __post_init__(self) -> None:
        name = str(self.type).strip().lower()
        if name not in GGML_TYPES:
            raise ValueError(f"unknown ggml type {self.type!r}; choose one of {', '.join(GGML_TYPES)}")
        object.__setattr__(self, "type", name)
        bs = GGML_TYPES[name].block_size
        if self.block_size is None:
            object.__setattr__(self, "block_size", bs)
        elif self.block_size != bs or isinstance(self.block_size, bool):
            raise ValueError(f"{name} has blocks of {bs} elements (fixed by the type), got block_size={self.block_size!r}")

    @classmethod
    def _match_head(cls, head):
        return {"type": head} if head in GGML_TYPES else None

    def _head(self):
        return self.type

    # ------------------------------------------------------------ description & bits
    @property
    def info(self) -> GGMLType:
        """The type's row of :data:`GGML_TYPES` (block_size, type_size, type_id, bits, ...)."""
        return GGML_TYPES[self.type]

    @property
    def type_id(self) -> int:
        """The ``ggml_type`` / ``GGMLQuantizationType`` number: q4_0 2, q4_k 12, iq4_nl 20."""
        return self.info.type_id

    @property
    def symmetric(self) -> bool:  # type: ignore[override]
        """Only q8_0 gives ``quantize(-x) == -quantize(x)``: the others have asymmetric grids
        (-8..7, a codebook) or a min."""
        return self.type == "q8_0"

    @property
    def code_bits(self) -> int:
        return self.info.bits

    @property
    def _group_bits(self) -> int:  # type: ignore[override]
        t = self.info
        return t.type_size * 8 - t.bits * t.block_size  # d, m/dmin and the sub-block scales

    def _overhead_bits(self, layout: Layout) -> int:
        # whole stored blocks, padding codes included: total_bits = n_blocks * type_size * 8
        return layout.n_groups * self.info.type_size * 8 - self.code_bits * layout.size

    def _fields(self, codes):
        return codes.astype(np.int64) & 0xFF if self.type == "q8_0" else codes

    def blocks_shape(self, shape) -> tuple[int, ...]:
        """The shape of the ggml bytes of a tensor of ``shape``: ``(*shape[:-1], nb * type_size)``."""
        lay = self.layout(shape)
        shape = tuple(int(s) for s in shape)
        return (*shape[:-1], lay.blocks_per_row * self.info.type_size)

    # ------------------------------------------------------------ quantize
    def _quantize(self, arr, layout, threads):
        name, t = self.type, self.info
        if arr.dtype != np.float32:
            _require_finite(arr, self)
            with np.errstate(over="ignore"):
                arr = arr.astype(np.float32)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"the input holds values beyond float32's range; {self} quantizes float32 values")
        G = layout.groups(arr)
        nb = G.shape[0]
        blocks = np.empty((nb, t.type_size), np.uint8)
        codes = np.empty((nb, t.block_size), np.int8 if name == "q8_0" else np.uint8)
        clipped = np.empty((nb, t.block_size), bool)
        step = _step(nb, _CHUNK_ELEMENTS // t.block_size, threads)

        def work(span):
            for c0 in range(span[0], span[1], step):
                c1 = min(span[1], c0 + step)
                X = G[c0:c1]
                _require_finite(X, self)
                blocks[c0:c1], codes[c0:c1], clipped[c0:c1] = quantize_blocks(name, X)

        run_parallel(spans(nb, threads, align=step), work, quiet=True)
        return self._result(layout, blocks, codes, clipped)

    def _result(self, layout, blocks, codes, clipped) -> QuantizedTensor:
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=np.dtype(np.float32),
            codes=layout.ungroup(codes),
            scales=GL.block_d(self.type, blocks).reshape(layout.scale_shape),
            clipped=layout.ungroup(clipped),
            blocks=blocks.reshape(self.blocks_shape(layout.shape)),
        )

    # ------------------------------------------------------------ dequantize & levels
    def _dequantize(self, q, threads):
        name, t = self.type, self.info
        B = _block_rows(q)
        out = np.empty((B.shape[0], t.block_size), np.float32)
        step = _step(B.shape[0], _CHUNK_ELEMENTS * 4 // t.block_size, threads)

        def work(span):
            for c0 in range(span[0], span[1], step):
                c1 = min(span[1], c0 + step)
                f = GL.split(name, B[c0:c1])
                out[c0:c1] = GL.decode(name, f["L"], *GL.sub_params(name, f))

        run_parallel(spans(B.shape[0], threads, align=step), work, quiet=True)
        return q.layout.ungroup(out)

    def _levels(self, q, g):
        with np.errstate(all="ignore"):  # an fp16 inf scale decodes to inf / NaN, as in ggml
            mul, sub = GL.sub_params(self.type, GL.header(self.type, _block_rows(q)[g : g + 1]))
            vals = GL.code_values(self.type)[None, :] * mul[0][:, None]
            if sub is not None:
                vals = vals - sub[0][:, None]
        return vals.reshape(-1)


def _step(nb: int, most: int, threads: int) -> int:
    """Blocks per chunk: at most ``most``, and as many chunks as a multiple of ``threads`` so
    that every thread gets the same share."""
    n = -(-nb // max(1, most))
    n = -(-n // threads) * threads
    return max(1, -(-nb // n))


def _block_rows(q: QuantizedTensor) -> np.ndarray:
    if q.blocks is None:
        raise ValueError("this QuantizedTensor has no ggml blocks (blocks=None)")
    return np.ascontiguousarray(q.blocks, np.uint8).reshape(-1, q.scheme.info.type_size)


def from_ggml_bytes(type: str, data, shape) -> QuantizedTensor:
    """A tensor stored by ggml (e.g. a .gguf tensor's bytes) as the QuantizedTensor of its type:
    ``from_ggml_bytes("q4_k", raw, (576, 1536))`` -> codes, scales (the blocks' d), blocks;
    ``.dequantize()`` gives ggml's values.  ``data``: uint8 (any shape, or bytes) holding
    ``rows * ceil(shape[-1] / block_size)`` whole blocks; ``clipped`` is all False (unknown)."""
    scheme = GGMLQuant(type=str(type).strip().lower())
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    layout = scheme.layout(shape)
    ts = scheme.info.type_size
    raw = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else np.asarray(data)
    if raw.dtype != np.uint8:
        raise ValueError(f"ggml bytes must be uint8, got {raw.dtype}")
    if raw.size != layout.n_groups * ts:
        raise ValueError(f"a {scheme.type} tensor of shape {shape} is {layout.n_groups} blocks of {ts} bytes = {layout.n_groups * ts} bytes, got {raw.size}")
    B = np.ascontiguousarray(raw).reshape(-1, ts)
    codes = GL.codes(scheme.type, B)
    return scheme._result(layout, B, codes, np.zeros(codes.shape, bool))


def ggml_sub_blocks(q: QuantizedTensor) -> tuple[np.ndarray, np.ndarray]:
    """Each sub-block's effective ``(scale, min)``, float32 of shape ``(*q.scales.shape, n_sub)``:
    an element decodes to ``scale * (code - offset) - min`` (iq4_nl: ``scale * kvalues[code]``;
    q4_1/q5_1: min = -m).  One sub-block per block for the 32-block types; 16 (q2_k, q3_k,
    q6_k) or 8 (q4_k, q5_k) per 256-block."""
    s = q.scheme
    if not isinstance(s, GGMLQuant):
        raise ValueError(f"{s} is not a ggml type")
    with np.errstate(all="ignore"):
        mul, sub = GL.sub_params(s.type, GL.header(s.type, _block_rows(q)))
    shape = (*np.shape(q.scales), mul.shape[1])
    return mul.reshape(shape), (np.zeros_like(mul) if sub is None else sub).reshape(shape)
