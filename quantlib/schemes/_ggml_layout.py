"""The byte layouts of llama.cpp's quant types (``block_q4_0`` ... ``block_iq4_nl`` of
ggml-common.h): packing codes and scales into blocks, reading them back, and the float32
decode of ``dequantize_row_*`` (ggml-quants.c), in the operation order of gguf-py's numpy port.

Every function works on a matrix of whole blocks: values ``(nb, block_size)``, bytes
``(nb, type_size)``; codes are the unsigned indices ggml stores (``q4_0``: 0..15 before the
``- 8``; ``q3_K``: 0..7 = ``qs | hmask << 2`` before the ``- 4``; ``q8_0``: int8).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

U8 = np.uint8
F32 = np.float32
QK_K = 256

KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.int8)
"""``kvalues_iq4nl`` of ggml-common.h: IQ4_NL's 16 levels, in units of the block scale d."""


class GGMLType(NamedTuple):
    """One llama.cpp quant type: ``block_size`` elements are stored in ``type_size`` bytes
    (``GGML_QUANT_SIZES``); ``type_id`` is its ``ggml_type`` / ``GGMLQuantizationType`` number;
    ``bits`` the width of one code; ``sub_block`` the elements sharing one sub-block scale
    (= block_size for the 32-blocks); ``offset`` what dequantization subtracts from a code
    (``q4_0``: 8; 0 for the min types and iq4_nl, whose code is a codebook index)."""

    name: str
    block_size: int
    type_size: int
    type_id: int
    bits: int
    sub_block: int
    offset: int

    @property
    def bits_per_element(self) -> float:
        """``type_size * 8 / block_size``: 4.5 for q4_0, 2.625 for q2_K."""
        return self.type_size * 8 / self.block_size


GGML_TYPES: dict[str, GGMLType] = {
    t.name: t
    for t in (
        GGMLType("q4_0", 32, 18, 2, 4, 32, 8),
        GGMLType("q4_1", 32, 20, 3, 4, 32, 0),
        GGMLType("q5_0", 32, 22, 6, 5, 32, 16),
        GGMLType("q5_1", 32, 24, 7, 5, 32, 0),
        GGMLType("q8_0", 32, 34, 8, 8, 32, 0),
        GGMLType("q2_k", 256, 84, 10, 2, 16, 0),
        GGMLType("q3_k", 256, 110, 11, 3, 16, 4),
        GGMLType("q4_k", 256, 144, 12, 4, 32, 0),
        GGMLType("q5_k", 256, 176, 13, 5, 32, 0),
        GGMLType("q6_k", 256, 210, 14, 6, 16, 32),
        GGMLType("iq4_nl", 32, 18, 20, 4, 32, 0),
    )
}
"""llama.cpp's quant types by their lowercase name (ggml.h / ggml-common.h)."""


# ============================================================== small pieces
def f16_bytes(v: np.ndarray) -> np.ndarray:
    """float32 values (nb,) -> their fp16 (round to nearest even, as GGML_FP32_TO_FP16) as (nb, 2) bytes."""
    return np.ascontiguousarray(np.asarray(v, F32).astype(np.float16)).view(U8).reshape(-1, 2)


def f16_value(b: np.ndarray) -> np.ndarray:
    """(nb, 2) bytes -> the fp16 values widened to float32 (GGML_FP16_TO_FP32), shape (nb,)."""
    return np.ascontiguousarray(b).view(np.float16).reshape(-1).astype(F32)


def _crumbs(L: np.ndarray, groups: int) -> np.ndarray:
    """2-bit fields ``(nb, groups * 4 * 32)`` -> bytes ``(nb, groups * 32)``: byte l of group h
    holds elements h*128 + 32k + l at bits 2k (the ``qs`` of q2_K / q3_K, the ``qh`` of q6_K)."""
    a = L.reshape(L.shape[0], groups, 4, 32)
    return (a[:, :, 0] | (a[:, :, 1] << 2) | (a[:, :, 2] << 4) | (a[:, :, 3] << 6)).reshape(L.shape[0], -1)


def _uncrumbs(b: np.ndarray, groups: int) -> np.ndarray:
    a = b.reshape(b.shape[0], groups, 1, 32) >> (np.arange(4, dtype=U8) * 2).reshape(1, 1, 4, 1)
    return (a & U8(3)).reshape(b.shape[0], -1)


def _bitplanes(bits: np.ndarray) -> np.ndarray:
    """0/1 fields ``(nb, 8 * 32)`` -> ``(nb, 32)`` bytes: bit b of byte m = element 32 b + m
    (q3_K's hmask, q5_K's qh)."""
    a = bits.reshape(bits.shape[0], 8, 32)
    out = np.zeros((bits.shape[0], 32), U8)
    for b in range(8):
        out |= a[:, b] << U8(b)
    return out


def _unbitplanes(b: np.ndarray) -> np.ndarray:
    a = b.reshape(b.shape[0], 1, 32) >> np.arange(8, dtype=U8).reshape(1, 8, 1)
    return (a & U8(1)).reshape(b.shape[0], -1)


def _nibbles(L: np.ndarray, half: int) -> np.ndarray:
    """4-bit fields -> bytes: within each run of ``2 * half`` elements, byte j = element j (low
    nibble) | element j + half (high nibble)."""
    a = L.reshape(L.shape[0], -1, 2, half)
    return (a[:, :, 0] | (a[:, :, 1] << 4)).reshape(L.shape[0], -1)


def _unnibbles(b: np.ndarray, half: int) -> np.ndarray:
    a = b.reshape(b.shape[0], -1, 1, half) >> np.array([0, 4], U8).reshape(1, 1, 2, 1)
    return (a & U8(15)).reshape(b.shape[0], -1)


def pack_k4_scales(ls: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The 12 scale bytes of q4_K / q5_K from the eight 6-bit scales and mins (quantize_row_q4_K_ref)."""
    s = np.empty((ls.shape[0], 12), U8)
    s[:, 0:4] = ls[:, 0:4] | ((ls[:, 4:8] >> 4) << 6)
    s[:, 4:8] = lm[:, 0:4] | ((lm[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (ls[:, 4:8] & 15) | ((lm[:, 4:8] & 15) << 4)
    return s


def unpack_k4_scales(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """get_scale_min_k4 for j = 0..7: (scales, mins), each (nb, 8) uint8."""
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)], axis=1)
    mn = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], axis=1)
    return sc, mn


def pack_q3_scales(l6: np.ndarray) -> np.ndarray:
    """The 12 scale bytes of q3_K from sixteen 6-bit values (``scale + 32``)."""
    s = np.empty((l6.shape[0], 12), U8)
    s[:, 0:8] = (l6[:, 0:8] & 15) | ((l6[:, 8:16] & 15) << 4)
    hi = l6 >> 4
    s[:, 8:12] = hi[:, 0:4] | (hi[:, 4:8] << 2) | (hi[:, 8:12] << 4) | (hi[:, 12:16] << 6)
    return s


def unpack_q3_scales(s: np.ndarray) -> np.ndarray:
    """q3_K's sixteen 6-bit values (uint8, still + 32)."""
    low = np.concatenate([s[:, 0:8] & 15, s[:, 0:8] >> 4], axis=1)
    hi = (s[:, 8:12].reshape(-1, 1, 4) >> (np.arange(4, dtype=U8) * 2).reshape(1, 4, 1)) & U8(3)
    return low | (hi.reshape(-1, 16) << 4)


# ============================================================== packing
def pack(name: str, L: np.ndarray, h: dict) -> np.ndarray:
    """The ggml bytes (nb, type_size) of codes ``L`` (nb, block_size) and header fields ``h``:
    ``d`` (and ``m`` / ``dmin``) float32 values to be stored as fp16, and for the K types the
    integer sub-block scales ``sc`` (q2_K: the 16 bytes; q3_K: 6-bit ``l``; q4/5_K: ``ls``,
    ``lm``; q6_K: int8)."""
    L = L.astype(U8, copy=False) if name != "q8_0" else L
    d = f16_bytes(h["d"])
    if name in ("q4_0", "iq4_nl"):
        parts = [d, _nibbles(L, 16)]
    elif name == "q4_1":
        parts = [d, f16_bytes(h["m"]), _nibbles(L, 16)]
    elif name in ("q5_0", "q5_1"):
        qh = np.packbits((L >> 4) & 1, axis=-1, bitorder="little")
        parts = [d] + ([f16_bytes(h["m"])] if name == "q5_1" else []) + [qh, _nibbles(L & 15, 16)]
    elif name == "q8_0":
        parts = [d, np.ascontiguousarray(L).view(U8)]
    elif name == "q2_k":
        parts = [h["sc"].astype(U8), _crumbs(L, 2), d, f16_bytes(h["dmin"])]
    elif name == "q3_k":
        parts = [_bitplanes(L >> 2), _crumbs(L & 3, 2), pack_q3_scales(h["sc"]), d]
    elif name == "q4_k":
        parts = [d, f16_bytes(h["dmin"]), pack_k4_scales(h["ls"], h["lm"]), _nibbles(L, 32)]
    elif name == "q5_k":
        parts = [d, f16_bytes(h["dmin"]), pack_k4_scales(h["ls"], h["lm"]), _bitplanes(L >> 4), _nibbles(L & 15, 32)]
    elif name == "q6_k":
        a = L.reshape(L.shape[0], 2, 4, 32)
        ql = (a[:, :, 0:2] & 15) | ((a[:, :, 2:4] & 15) << 4)
        parts = [ql.reshape(L.shape[0], 128), _crumbs(L >> 4, 2), h["sc"].astype(np.int8).view(U8), d]
    else:  # pragma: no cover - names are checked by the scheme
        raise ValueError(name)
    return np.concatenate(parts, axis=1)


# ============================================================== reading
D_OFFSET = {"q2_k": 80, "q3_k": 108, "q6_k": 208}
"""Where the fp16 ``d`` of a block starts (0 unless listed)."""


def block_d(name: str, blocks: np.ndarray) -> np.ndarray:
    """The fp16 ``d`` of every block, as float32 (nb,)."""
    o = D_OFFSET.get(name, 0)
    return f16_value(blocks[:, o : o + 2])


def header(name: str, blocks: np.ndarray) -> dict:
    """The scales of ggml blocks (nb, type_size): ``d`` (nb,) float32, and ``m`` (q4_1, q5_1),
    ``dmin`` and the integer sub-block scales (K types: ``sc``, or ``ls`` / ``lm``)."""
    b = blocks
    h = {"d": block_d(name, b)}
    if name in ("q4_1", "q5_1"):
        h["m"] = f16_value(b[:, 2:4])
    elif name == "q2_k":
        h.update(sc=b[:, 0:16], dmin=f16_value(b[:, 82:84]))
    elif name == "q3_k":
        h["sc"] = unpack_q3_scales(b[:, 96:108])
    elif name in ("q4_k", "q5_k"):
        h["ls"], h["lm"] = unpack_k4_scales(b[:, 4:16])
        h["dmin"] = f16_value(b[:, 2:4])
    elif name == "q6_k":
        h["sc"] = b[:, 192:208].view(np.int8)
    return h


def codes(name: str, blocks: np.ndarray) -> np.ndarray:
    """The codes of ggml blocks (nb, type_size) as (nb, block_size): uint8, int8 for q8_0."""
    b = blocks
    if name in ("q4_0", "iq4_nl"):
        return _unnibbles(b[:, 2:], 16)
    if name == "q4_1":
        return _unnibbles(b[:, 4:], 16)
    if name in ("q5_0", "q5_1"):
        o = 4 if name == "q5_1" else 2
        return _unnibbles(b[:, o + 4 :], 16) | (np.unpackbits(b[:, o : o + 4], axis=-1, bitorder="little") << 4)
    if name == "q8_0":
        return b[:, 2:].view(np.int8)
    if name == "q2_k":
        return _uncrumbs(b[:, 16:80], 2)
    if name == "q3_k":
        return _uncrumbs(b[:, 32:96], 2) | (_unbitplanes(b[:, 0:32]) << 2)
    if name == "q4_k":
        return _unnibbles(b[:, 16:], 32)
    if name == "q5_k":
        return _unnibbles(b[:, 48:], 32) | (_unbitplanes(b[:, 16:48]) << 4)
    if name == "q6_k":
        ql = b[:, 0:128].reshape(-1, 2, 1, 2, 32) >> np.array([0, 4], U8).reshape(1, 1, 2, 1, 1)
        return (ql & U8(15)).reshape(-1, 256) | (_uncrumbs(b[:, 128:192], 2) << 4)
    raise ValueError(name)  # pragma: no cover


def split(name: str, blocks: np.ndarray) -> dict:
    """:func:`header` and ``L`` = :func:`codes` of ggml blocks (any shape holding whole blocks)."""
    b = np.ascontiguousarray(blocks, U8).reshape(-1, GGML_TYPES[name].type_size)
    return {**header(name, b), "L": codes(name, b)}


def sub_params(name: str, f: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """Per sub-block ``(mul, sub)`` float32, shape (nb, n_sub): an element decodes to
    ``mul * q - sub`` (``q`` = its code minus the type's offset, or IQ4_NL's codebook value;
    no subtraction where ``sub`` is None), each product and difference rounded to float32 as
    in dequantize_row_* / gguf-py.  q4_1 / q5_1 add ``m``: sub = -m (exactly the same sum)."""
    d = f["d"][:, None]
    if name in ("q4_0", "q5_0", "q8_0", "iq4_nl"):
        return d, None
    if name in ("q4_1", "q5_1"):
        return d, -f["m"][:, None]
    if name == "q2_k":
        sc = f["sc"]
        return d * (sc & 15).astype(F32), f["dmin"][:, None] * (sc >> 4).astype(F32)
    if name == "q3_k":
        return d * (f["sc"].astype(F32) - F32(32)), None
    if name in ("q4_k", "q5_k"):
        return d * f["ls"].astype(F32), f["dmin"][:, None] * f["lm"].astype(F32)
    if name == "q6_k":
        return d * f["sc"].astype(F32), None
    raise ValueError(name)  # pragma: no cover


def code_values(name: str) -> np.ndarray:
    """float32 ``q`` of every code (index = the stored code; q8_0: index = code + 128)."""
    t = GGML_TYPES[name]
    if name == "iq4_nl":
        return KVALUES_IQ4NL.astype(F32)
    if name == "q8_0":
        return np.arange(-128, 128, dtype=F32)
    return (np.arange(2**t.bits) - t.offset).astype(F32)


def decode(name: str, L: np.ndarray, mul: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
    """The float32 values of codes ``L`` (nb, block_size) given the sub-block ``(mul, sub)``."""
    t = GGML_TYPES[name]
    nb, ns = L.shape[0], mul.shape[1]
    table = code_values(name)
    idx = L.view(U8) ^ U8(0x80) if name == "q8_0" else L  # int8 -> index code + 128
    q = table[idx].reshape(nb, ns, t.sub_block)
    out = q * mul[:, :, None]  # (IEEE products commute: gguf's x * d and d * q alike)
    if sub is not None:
        out -= sub[:, :, None]
    return out.reshape(nb, t.block_size)
