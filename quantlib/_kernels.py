"""Tile-wise numpy kernels shared by the schemes: group reductions, exact rounding, packing.

Everything here works on the ``(n_groups, group_len)`` matrix of a :class:`~quantlib.blocks.Layout`
in tiles of about :data:`~quantlib.blocks.CHUNK` elements, with per-thread scratch buffers,
so a pass over 2**24 floats stays in L2 and runs on every core.
"""

from __future__ import annotations

import operator
from fractions import Fraction

import numpy as np

from .blocks import Layout, run_tiles

__all__ = [
    "Scratch",
    "as_work_array",
    "group_absmax",
    "group_abssum",
    "group_minmax",
    "map_tiles",
    "table_dequantize",
    "pack_codes",
    "rint_exact_product",
    "rint_exact_quotient",
    "work_dtype",
]


class Scratch:
    """Per-thread scratch buffers, allocated once and reused: ``scratch("s", shape, dtype)``."""

    def __init__(self) -> None:
        self._bufs: dict[tuple[str, np.dtype], np.ndarray] = {}

    def __call__(self, name: str, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        n = int(np.prod(shape))
        key = (name, dtype)
        buf = self._bufs.get(key)
        if buf is None or buf.size < n:
            buf = np.empty(n, dtype)  # a tile's size (at most CHUNK): small tensors get small buffers
            self._bufs[key] = buf
        return buf[:n].reshape(shape)


def work_dtype(dtype: np.dtype) -> np.dtype:
    """float32 for float16/float32 input, float64 otherwise."""
    return np.dtype(np.float32) if np.dtype(dtype) in (np.float16, np.float32) else np.dtype(np.float64)


def as_work_array(x) -> np.ndarray:
    """x as a float32 (float16/32 input) or float64 (anything else) array, exactly."""
    from .codec._common import _as_float_array

    arr = _as_float_array(x)
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    return arr


def _uint_of(dtype: np.dtype):
    return (np.uint32, np.uint32(0x7FFF_FFFF)) if dtype == np.float32 else (np.uint64, np.uint64(0x7FFF_FFFF_FFFF_FFFF))


def _reduce(G: np.ndarray, layout: Layout, threads: int, tile_fn, combine, out_dtype, init) -> np.ndarray:
    """Per-row reduction of G by tiles: ``tile_fn(tile, scratch) -> per-row values``."""
    tiles = layout.tiles()
    results: list = [None] * len(tiles)
    index = {id(t): i for i, t in enumerate(tiles)}

    def work(share):
        scratch = Scratch()
        for t in share:
            g0, g1, c0, c1 = t
            results[index[id(t)]] = tile_fn(G[g0:g1, c0:c1], scratch)

    run_tiles(tiles, work, threads)
    out = np.full(layout.n_groups, init, dtype=out_dtype)
    for (g0, g1, _, _), r in zip(tiles, results):
        combine(out[g0:g1], r, out=out[g0:g1])
    return out


def group_absmax(G: np.ndarray, layout: Layout, threads: int) -> np.ndarray:
    """max |x| of every group (NaN if the group holds a NaN), in G's dtype.

    Done on the bit patterns: clearing the sign bit and taking an unsigned max is one cheap
    integer reduction (NaN patterns sort above inf, so a NaN wins and shows up).
    """
    U, mask = _uint_of(G.dtype)

    def tile(t, scratch):
        b = scratch("abs", t.shape, U)
        np.bitwise_and(t.view(U), mask, out=b)
        return np.maximum.reduce(b, axis=1)

    bits = _reduce(G, layout, threads, tile, np.maximum, U, 0)
    return bits.view(G.dtype)


def group_minmax(G: np.ndarray, layout: Layout, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of every group, padding zeros included (callers extend ranges to 0 anyway)."""
    lo = _reduce(G, layout, threads, lambda t, s: np.minimum.reduce(t, axis=1), np.minimum, G.dtype, np.inf)
    hi = _reduce(G, layout, threads, lambda t, s: np.maximum.reduce(t, axis=1), np.maximum, G.dtype, -np.inf)
    return lo, hi


def group_abssum(G: np.ndarray, layout: Layout, threads: int) -> np.ndarray:
    """sum |x| of every group, accumulated in float64 (padding zeros add nothing)."""

    def tile(t, scratch):
        a = scratch("a", t.shape, np.float64)
        np.abs(t, out=a, casting="unsafe")
        return a.sum(axis=1)

    return _reduce(G, layout, threads, tile, np.add, np.float64, 0.0)


def map_tiles(layout: Layout, threads: int, fn) -> None:
    """Call ``fn(g0, g1, c0, c1, scratch)`` on every tile, one Scratch per thread."""

    def work(share):
        scratch = Scratch()
        for g0, g1, c0, c1 in share:
            fn(g0, g1, c0, c1, scratch)

    run_tiles(layout.tiles(), work, threads)


def table_dequantize(C: np.ndarray, table: np.ndarray, scales: np.ndarray, layout: Layout, threads: int, out_dtype) -> np.ndarray:
    """``out[g, i] = round(table[C[g, i]] * scales[g])`` into ``out_dtype``, tile by tile.

    The product is computed in ``table``'s dtype and rounded once to ``out_dtype``: pass a
    float64 table and scales when the exact product needs more than ``out_dtype``'s bits
    (FP8 value x float32 scale: 4 + 24 bits, exact in float64), or tables in ``out_dtype``
    when the product in it is already the correctly rounded exact one (power-of-two scales).
    Worked number: table [0, 0.5, 1.5], C [[2, 1]], scales [4] -> [[6, 2]].
    No input-sized temporary: the float64 products live in per-thread tile buffers.
    """
    out_dtype = np.dtype(out_dtype)
    sc = np.asarray(scales, table.dtype).reshape(-1, 1)
    out = np.empty(C.shape, out_dtype)
    direct = table.dtype == out_dtype

    def tile(g0, g1, c0, c1, scratch):
        if direct:
            o = out[g0:g1, c0:c1]
            np.take(table, C[g0:g1, c0:c1], out=o)
            np.multiply(o, sc[g0:g1], out=o)
        else:
            t = scratch("t", (g1 - g0, c1 - c0), table.dtype)
            np.take(table, C[g0:g1, c0:c1], out=t)
            np.multiply(t, sc[g0:g1], out=t)
            out[g0:g1, c0:c1] = t

    map_tiles(layout, threads, tile)
    return out


def _fix_ties(p: np.ndarray, r: np.ndarray, t: np.ndarray, exact) -> None:
    """Where ``|p - r| == 0.5`` (a tie after rounding the product/quotient), recompute exactly."""
    np.subtract(p, r, out=t)
    np.abs(t, out=t)
    ties = t == 0.5
    if ties.any():
        idx = np.nonzero(ties)
        r[idx] = exact(idx)


def _rint_exact(x: np.ndarray, y: np.ndarray, out: np.ndarray, scratch: Scratch, op, exact_op) -> np.ndarray:
    """``out = round_half_even(op(x, y))`` of the *exact* result: ``op`` is np.multiply or
    np.divide, ``exact_op`` the same on Fractions.

    The rounded result ``p = fl(op(x, y))`` is monotone in the exact one and ``k + 0.5`` is
    representable, so ``rint(p)`` is wrong only when ``p`` lands exactly on a half: those
    lanes are redone exactly (in float64 for float32 operands: their product is exact, and
    their quotient never lands on a half unless the exact one does; Fractions for float64).
    """
    p = scratch("p", x.shape, x.dtype)
    t = scratch("t", x.shape, x.dtype)
    op(x, y, out=p)
    np.rint(p, out=out)
    yb = np.broadcast_to(y, x.shape)

    def exact(idx):
        xs, ys = x[idx], yb[idx]
        if x.dtype == np.float32:
            return np.rint(op(xs.astype(np.float64), ys.astype(np.float64)))
        return np.array([_round_half_even(exact_op(Fraction(float(a)), Fraction(float(b)))) for a, b in zip(xs, ys)], dtype=np.float64)

    _fix_ties(p, out, t, exact)
    return out


def rint_exact_product(x: np.ndarray, c: np.ndarray, out: np.ndarray, scratch: Scratch) -> np.ndarray:
    """``out = round_half_even(x * c)`` of the exact product, x and c (broadcast) of one float dtype."""
    return _rint_exact(x, c, out, scratch, np.multiply, operator.mul)


def rint_exact_quotient(x: np.ndarray, d: np.ndarray, out: np.ndarray, scratch: Scratch) -> np.ndarray:
    """``out = round_half_even(x / d)`` of the exact quotient, x and d (broadcast) of one float dtype."""
    return _rint_exact(x, d, out, scratch, np.divide, operator.truediv)


def _round_half_even(q: Fraction) -> float:
    return float(round(q))  # Python rounds Fractions half to even


def pack_codes(fields: np.ndarray, bits: int, *, pad: int = 0) -> np.ndarray:
    """Storage bytes of unsigned ``bits``-wide fields, flattened in C order.

    * 8 bits: one byte each; 16/32/64 bits: little-endian words;
    * 4 bits: two per byte, **high nibble first** (bitsandbytes' layout; an odd count ends
      with a ``pad`` low nibble: bitsandbytes pads with the code of 0.0, 7 for NF4);
    * any other width: one MSB-first bit stream, zero-padded to a whole byte.

    Example: 4-bit fields ``[1, 2, 3]`` -> ``bytes([0x12, 0x30])``.
    """
    f = np.ascontiguousarray(fields).reshape(-1)
    if bits == 8:
        return f.astype(np.uint8)
    if bits in (16, 32, 64):
        return f.astype(f"<u{bits // 8}").view(np.uint8)
    if bits == 4:
        f8 = f.astype(np.uint8)
        if f8.size % 2:
            f8 = np.concatenate([f8, np.full(1, pad, np.uint8)])
        return (f8[0::2] << 4) | f8[1::2]
    if not 1 <= bits <= 64:
        raise ValueError(f"cannot pack {bits}-bit fields")
    wide = f.astype(">u8")
    allbits = np.unpackbits(wide.view(np.uint8).reshape(-1, 8), axis=1)[:, 64 - bits :]
    return np.packbits(allbits.reshape(-1))
