"""A scheme's grid with its group parameters fixed: what GPTQ rounds each column to.

RTN (a scheme's ``quantize``) picks each group's scale from the group itself.  GPTQ picks the
scales of a group of columns when it reaches that group, then rounds every column of it, one
after the other, to the grid those scales define -- including values that later error
updates pushed beyond the original range (they saturate).  :class:`ColumnGrid` is that: the
scheme's own quantization of the group's columns (so the scales are exactly RTN's), and
:meth:`ColumnGrid.encode` the scheme's rounding rule for one column with those scales.

Supported (:func:`gptq_grid_problem` says why another is not): ``int{k}`` absmax,
``uint{k}`` with a zero point, ``nf4`` / ``bnb_fp4`` / ``codebook`` (without double
quantization: its absmaxes are only known once the whole matrix is done), scaled float casts
(``float4_e2m1fn:scaled,block=32``), plain casts, and MX (``mxfp4``, ``mxfp8_e4m3``, ...),
per tensor, per output channel (``axis=0``) or in blocks along the row (``block=g``, with
the row length a multiple of g).

Worked number: ``int4:block=4`` on a row [0.7, -0.2, 0.1, 0.35]: absmax 0.7, c = 7/0.7 = 10;
if an update has moved the last value to 0.9 by the time it is rounded, 0.9 * 10 = 9 is
clamped to 7 and dequantizes to 0.7 (RTN of the moved row would have picked c = 7/0.9).
"""

from __future__ import annotations

import numpy as np

from .. import _kernels as K
from ..codec import decode, encode
from ..granularity import PerAxis, PerBlock
from ..schemes import MX, AbsmaxInt, AsymmetricUInt, FloatCast, QuantizedTensor, Scheme, parse_scheme
from ..schemes._base import _beyond, _sat_threshold, _value_table
from ..schemes.codebook import _TINY_ABSMAX, _CodebookScheme

__all__ = ["ColumnGrid", "assemble", "column_group_width", "gptq_grid_problem"]


def gptq_grid_problem(scheme: Scheme | str, shape=None) -> str | None:
    """Why GPTQ cannot use ``scheme`` on a (rows, cols) matrix of ``shape``, or None if it can."""
    s = parse_scheme(scheme) if isinstance(scheme, str) else scheme
    if isinstance(s, _CodebookScheme) and s.double_quant:
        return f"{s}: double quantization needs every absmax before it starts; use {str(s).replace(',dq', '')} for GPTQ"
    if isinstance(s, AsymmetricUInt) and s.calibration != "minmax":
        return f"{s}: GPTQ fixes the range per group from the weights (min/max); drop cal="
    if not isinstance(s, (AbsmaxInt, AsymmetricUInt, _CodebookScheme, FloatCast, MX)):
        return f"{s}: GPTQ needs a grid whose scales are per tensor, per output channel or per block of a row (int, uint, nf4, scaled float, MX); {s.head} is not one"
    g = s.granularity
    if isinstance(g, PerAxis) and g.axis not in (0, 1, -1, -2):
        return f"{s}: a weight is 2-D, axis must be 0 (per output channel) or 1"
    if shape is not None:
        rows, cols = shape
        if isinstance(g, PerBlock) and cols % g.size:
            return f"{s}: GPTQ's groups are column ranges of a row, so the row length ({cols}) must be a multiple of the block ({g.size}); try block={_divisor(cols, g.size)}"
    return None


def _divisor(n: int, near: int) -> int:
    best = 1
    for d in range(1, n + 1):
        if n % d == 0 and abs(d - near) <= abs(best - near):
            best = d
    return best


def column_group_width(scheme: Scheme, cols: int) -> int:
    """Columns that share one scale per row: the block for ``block=g``, 1 for ``axis=1``, and
    the whole row for per-tensor and per-output-channel scales (fixed before the first column)."""
    g = scheme.granularity
    if isinstance(g, PerBlock):
        return g.size
    if isinstance(g, PerAxis) and g.axis in (1, -1):
        return 1
    return cols


class ColumnGrid:
    """The grid of one group of columns, fixed from ``tile`` (rows, w): the scheme quantizes the
    tile as RTN would (``self.q``), and :meth:`encode` rounds any column to those levels."""

    def __init__(self, scheme: Scheme, tile: np.ndarray):
        self.scheme = scheme
        self.q: QuantizedTensor = scheme.quantize(tile, threads=1)
        self.dtype = self.q.dtype
        wd = self.dtype

        def per_row(a):  # one value per row (a block / channel tile) or one for all (per tensor)
            return np.asarray(a).reshape(-1)

        s = scheme
        self._kind = None
        if isinstance(s, AbsmaxInt):
            A = per_row(self.q.scales).astype(wd)
            c, wide = s._c(A)
            self._c, self._wide, self._A = c, wide, A
            self._kind = "int"
        elif isinstance(s, AsymmetricUInt):
            self._scale = per_row(self.q.scales).astype(wd)
            self._zp = per_row(self.q.zero_points).astype(wd)
            self._kind = "uint"
        elif isinstance(s, _CodebookScheme):
            A = per_row(self.q.scales).astype(wd)
            Ac = np.maximum(A, wd.type(_TINY_ABSMAX))
            self._A, self._r = A, (wd.type(1) / Ac).astype(wd)
            self._tiny = (A > 0) & (A < Ac)
            self._table = s.codebook.array.astype(wd)
            self._kind = "codebook"
        elif isinstance(s, FloatCast):
            self._kind = "float_scaled" if s.scaled else "cast"
            if s.scaled:
                self._s64 = per_row(self.q.scales).astype(np.float64)
                self._thr = _sat_threshold(s.fmt)
        elif isinstance(s, MX):
            X = per_row(self.q.scales).astype(wd)
            self._X = X
            self._inv = (wd.type(1) / X).astype(wd)  # 2**-e: exact
            self._kind = "mx_int" if s.is_int else "mx"
            if not s.is_int:
                self._thr = _sat_threshold(s.fmt)
        else:  # pragma: no cover - gptq_grid_problem rejects the rest first
            raise ValueError(gptq_grid_problem(s))

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(codes, values, clipped)`` of one column x (rows,) on this grid: the scheme's own
        rounding with the fixed scales, saturating at the largest level."""
        s, wd, k = self.scheme, self.dtype, self._kind
        x = np.asarray(x, wd)
        if k == "int":
            r = np.empty(x.shape, wd)
            K.rint_exact_product(x, self._c, r, K.Scratch())
            wide = np.broadcast_to(self._wide, x.shape)
            if wide.any():  # a tiny absmax: c only exists in float64
                c64 = np.broadcast_to(np.float64(s.qmax) / self._A.astype(np.float64), x.shape)
                rr = np.empty(int(wide.sum()))
                K.rint_exact_product(x[wide].astype(np.float64), c64[wide], rr, K.Scratch())
                r[wide] = rr
            clipped = np.abs(r) > s.qmax
            np.clip(r, -s.qmax, s.qmax, out=r)
            vals = (r / self._c).astype(wd)
            if wide.any():
                vals[wide] = r[wide] / c64[wide]
            return r.astype(np.int8 if s.bits <= 8 else np.int16), vals, clipped
        if k == "uint":
            levels = 2**s.bits - 1
            r = np.empty(x.shape, wd)
            K.rint_exact_quotient(x, self._scale, r, K.Scratch())
            r += self._zp
            clipped = (r < 0) | (r > levels)
            np.clip(r, 0, levels, out=r)
            codes = r.astype(np.uint8 if s.bits <= 8 else np.uint16)
            vals = ((r - self._zp) * self._scale).astype(wd)
            return codes, vals, clipped
        if k == "codebook":
            sc = (x * self._r).astype(wd)
            tiny = np.broadcast_to(self._tiny, x.shape)
            if tiny.any():
                with np.errstate(all="ignore"):
                    sc[tiny] = (x[tiny] / np.broadcast_to(self._A, x.shape)[tiny]).astype(wd)
            codes = s.codebook.nearest(sc)
            vals = (self._table[codes] * self._A).astype(wd)
            return codes, vals, np.abs(sc) > 1
        if k == "cast":
            q = s.quantize(x, threads=1)
            return q.codes, q.dequantize(threads=1), q.clipped
        if k == "float_scaled":
            fmt = s.fmt
            t = x.astype(np.float64) / self._s64
            codes = encode(t, fmt, rounding=s.rounding, saturate=True, threads=1)
            if fmt.bits > 16:
                vals = (decode(codes, fmt) * self._s64).astype(wd)
            else:
                vals = (_value_table(fmt)[codes] * self._s64).astype(wd)
            return codes, vals, _beyond(np.abs(t), *self._thr)
        t = (x * self._inv).astype(wd)  # MX: exact, a power of two
        if k == "mx_int":
            t *= 64
            clipped = _beyond(np.abs(t), 127.5, True)
            r = np.clip(np.rint(t), -127, 127)
            return r.astype(np.int8), (r / 64 * self._X).astype(wd), clipped
        codes = encode(t, s.fmt, saturate=True, threads=1)
        vals = (_value_table(s.fmt)[codes] * self._X.astype(np.float64)).astype(wd)
        return codes, vals, _beyond(np.abs(t), *self._thr)


def assemble(scheme: Scheme, shape, codes: np.ndarray, clipped: np.ndarray, grids: list[ColumnGrid], width: int) -> QuantizedTensor:
    """The :class:`QuantizedTensor` of a (rows, cols) matrix whose column groups (``width``
    columns each, in order) were fixed by ``grids``: the same fields RTN fills, so every
    metric, chart and download works on it."""
    lay = scheme.layout(shape)
    g0 = grids[0].q
    wd = g0.dtype

    def gather(attr):
        a = getattr(g0, attr)
        if a is None:
            return None
        if width == shape[1]:  # one tile: the whole matrix (per tensor / per output channel)
            return np.asarray(a).reshape(lay.scale_shape)
        parts = [np.asarray(getattr(g.q, attr)).reshape(-1) for g in grids]
        if isinstance(scheme.granularity, PerBlock):  # (rows, blocks_per_row)
            return np.stack(parts, axis=1).reshape(lay.scale_shape)
        return np.concatenate(parts).reshape(lay.scale_shape)  # axis=1: one per column

    return QuantizedTensor(
        scheme=scheme,
        layout=lay,
        dtype=wd,
        codes=codes,
        scales=gather("scales"),
        zero_points=gather("zero_points"),
        scale_codes=gather("scale_codes"),
        clipped=clipped,
    )
