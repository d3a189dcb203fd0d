"""Float casts: ``float8_e4m3fn:scaled,block=32`` and friends (:class:`FloatCast`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..codec import all_values, decode, encode
from ..codec._cast import _cast_dtype
from ..formats import FORMATS, FloatFormat, get_format
from ..rounding import check_rounding
from ._base import QuantizedTensor, Scheme, _beyond, _check_granularity, _opt, _require_finite, _sat_threshold, _value_table, _zeros_mask

__all__ = ["FloatCast"]


@dataclass(frozen=True, kw_only=True)
class FloatCast(Scheme):
    """Cast to a float format, optionally scaled per tensor / channel / block, as FP8 inference does.

    Unscaled: ``x~ = RNE_fmt(x)`` (:func:`quantlib.cast`), e.g. bfloat16 of 0.1 is
    0.10009765625.  Scaled: ``s = fl32(A / fmt.max)`` per group, ``code = RNE_fmt(x / s)``
    with the exact quotient, saturating, ``x~ = fl(value * s)``: amax maps to the format's
    max (Micikevicius et al., "FP8 Formats for Deep Learning", arXiv 2209.05433; TensorRT FP8).
    Worked number: E4M3, A = 7 -> s = 7/448 = 0.015625, x = 0.1 -> 6.4 -> 6.5 -> 0.1015625.

    ``scales`` are the ``s``; a group whose amax is 0 (or whose ``A / max`` underflows) gets s = 1.
    ``saturate`` makes an unscaled cast clamp overflow to ±max instead of inf/NaN; scaled
    casts always saturate.  ``rounding`` is any deterministic mode of :data:`ROUNDING_MODES`.
    """

    family: ClassVar[str] = "float"
    examples: ClassVar[tuple[str, ...]] = (
        "bfloat16",
        "float16",
        "tfloat32",
        "float8_e4m3fn:scaled",
        "float8_e5m2:scaled,axis=0",
        "float8_e4m3fn:scaled,block=32",
        "float4_e2m1fn:scaled,block=16",
        "float6_e3m2fn",
        "float8_e4m3fn:sat",
        "float8_e5m2:round=toward_zero",
    )

    format: str = _opt("bfloat16", None, "str")
    scaled: bool = _opt(False, "scaled", "bool")
    axis: int | None = _opt(None, "axis", "int?")
    block_size: int | None = _opt(None, "block", "int?")
    rounding: str = _opt("nearest_even", "round", "str")
    saturate: bool = _opt(False, "sat", "bool")

    def __post_init__(self) -> None:
        fmt = get_format(self.format)
        if fmt.name not in FORMATS or FORMATS[fmt.name] != fmt:
            raise ValueError(f"FloatCast takes a registered format name ({', '.join(FORMATS)}), got {self.format!r}")
        object.__setattr__(self, "format", fmt.name)
        check_rounding(self.rounding)
        if self.rounding == "stochastic":
            raise ValueError("stochastic rounding needs a random generator: use quantlib.cast(..., rounding='stochastic', rng=...)")
        _check_granularity(self.axis, self.block_size)
        if not self.scaled and (self.axis is not None or self.block_size is not None):
            raise ValueError("a cast without scale has no groups: add 'scaled' to use axis= or block=")
        if self.scaled and not fmt.signed:
            raise ValueError(f"{fmt.name} is unsigned: a scaled cast needs a signed format")

    @classmethod
    def _match_head(cls, head: str) -> dict | None:
        try:
            return {"format": get_format(head).name}
        except ValueError:
            return None

    def _head(self) -> str:
        return self.format

    @property
    def code_format(self) -> str | None:
        return self.format

    @property
    def fmt(self) -> FloatFormat:
        return get_format(self.format)

    @property
    def code_bits(self) -> int:
        return self.fmt.bits

    @property
    def _group_bits(self) -> int:  # type: ignore[override]
        return 32 if self.scaled else 0

    def _quantize(self, arr, layout, threads):
        fmt = self.fmt
        thr, tie_up = _sat_threshold(fmt) if fmt.max < math.inf else (math.inf, False)
        if not self.scaled:
            codes = encode(arr, fmt, rounding=self.rounding, saturate=self.saturate, threads=threads)
            if self.saturate or fmt.nonfinite == "none":
                if self.rounding == "nearest_even":
                    clipped = _beyond(np.abs(arr), thr, tie_up)
                elif self.rounding == "nearest_away":
                    clipped = _beyond(np.abs(arr), thr, True)
                else:  # directed: anything beyond max was pulled back to it
                    clipped = np.abs(arr) > fmt.max
            else:
                clipped = _zeros_mask(arr.shape)
            return QuantizedTensor(scheme=self, layout=layout, dtype=_cast_dtype(arr.dtype, fmt), codes=codes, scales=None, clipped=clipped)
        wd = arr.dtype
        if fmt.max > np.finfo(wd).max:
            raise ValueError(f"scaling to {fmt.name} is meaningless for {wd} data: its max exceeds {wd}'s")
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        with np.errstate(all="ignore"):
            s = (A / wd.type(fmt.max)).astype(wd)
        s[(A == 0) | (s == 0)] = 1
        s64 = s.astype(np.float64)
        codes_G = np.empty(G.shape, fmt.code_dtype)
        clip_G = np.empty(G.shape, bool)

        def tile(g0, g1, c0, c1, scratch):
            t = scratch("t", (g1 - g0, c1 - c0), np.float64)
            np.divide(G[g0:g1, c0:c1], s64[g0:g1, None], out=t)  # a float64 quotient of float32s is never a false tie
            codes_G[g0:g1, c0:c1] = encode(t, fmt, rounding=self.rounding, saturate=True, threads=1)
            np.abs(t, out=t)
            clip_G[g0:g1, c0:c1] = _beyond(t, thr, tie_up)

        K.map_tiles(layout, threads, tile)
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=s.reshape(layout.scale_shape),
            clipped=layout.ungroup(clip_G),
        )

    def _dequantize(self, q, threads):
        if not self.scaled:
            return decode(q.codes, self.fmt, dtype=q.dtype)
        lay = q.layout
        if self.fmt.bits > 16:  # no table: exact float64 values, product exact (<= 24 + 24 bits)
            v = decode(lay.groups(q.codes), self.fmt)
            v *= np.asarray(q.scales, dtype=np.float64).reshape(-1, 1)
            return lay.ungroup(v.astype(q.dtype))
        # value (<= 11 bits) x scale (<= 24 bits): exact in float64, rounded once to the dtype
        out = K.table_dequantize(lay.groups(q.codes), _value_table(self.fmt), q.scales, lay, threads, q.dtype)
        return lay.ungroup(out)

    def _levels(self, q, g):
        fmt = self.fmt
        if fmt.bits > 16:
            raise ValueError(f"{fmt.name} has {fmt.bits} bits: too many levels to list")
        vals = all_values(fmt).finite_sorted()
        if self.scaled:
            vals = vals * q._group_scale(g)
        return vals
