"""Codebooks: NF4, bitsandbytes' FP4, the 8-bit dynamic map, and nearest-code search.

A codebook is a table of at most 256 values in [-1, 1]; a code is an index into it.  Values
are typed from bitsandbytes' ``functional.py`` (``get_4bit_type``, ``create_dynamic_map``),
not regenerated: regenerating NF4 from normal quantiles drifts by up to 9e-8
(:func:`build_nf4` shows where the values come from and that drift).

Nearest-code rule (bitsandbytes' CPU ``quantize_4bit``): with ``v`` the values sorted
(stable, so of two equal values the lower code comes first) and the midpoints
``m_i = fl32(v_i + v_{i+1}) / 2``, a normalised value ``s`` gets the sorted position
``#{i : s > m_i}``: a value exactly on a midpoint takes the lower one.  Worked number, NF4:
``s = 0.5`` lies between ``m_11 = 0.38931...`` and ``m_12 = 0.50166...``: 12 midpoints are
below it, so code 12 (value 0.44070982933044434).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

import numpy as np

__all__ = [
    "BNB_FP4_CODEBOOK",
    "CODEBOOKS",
    "DYNAMIC_CODEBOOK",
    "DYNAMIC_MAP",
    "NF4_CODEBOOK",
    "Codebook",
    "bnb_cpu_codes",
    "build_nf4",
    "nearest_dynamic",
]


@dataclass(frozen=True)
class Codebook:
    """A table of values in code order: code ``i`` decodes to ``values[i]`` (float32-exact).

    ``nearest(s)`` gives the code of the nearest value (ties to the lower value, see the
    module docstring).  Example: ``NF4_CODEBOOK.nearest(np.float32([0.5, -1.0]))`` ->
    ``[12, 0]`` (0.44070982933044434 and -1.0).
    """

    name: str
    values: tuple[float, ...]
    citation: str = ""

    def __post_init__(self) -> None:
        v = self.values
        if not 2 <= len(v) <= 256:
            raise ValueError(f"a codebook has 2 to 256 values, got {len(v)}")
        arr = np.asarray(v, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError("codebook values must be finite")
        if np.any(arr.astype(np.float32).astype(np.float64) != arr):
            raise ValueError("codebook values must be exactly representable in float32")

    @property
    def bits(self) -> int:
        """Bits per code: ceil(log2(len(values))), at least 1 (NF4: 4)."""
        return max(1, math.ceil(math.log2(len(self.values))))

    @cached_property
    def array(self) -> np.ndarray:
        """The values as float32, in code order (read-only)."""
        a = np.asarray(self.values, dtype=np.float32)
        a.setflags(write=False)
        return a

    @cached_property
    def order(self) -> np.ndarray:
        """Codes sorted by value (stable: equal values keep code order). bnb FP4: [11, 10, 13, ...]."""
        o = np.argsort(self.array, kind="stable").astype(np.uint8 if len(self.values) <= 256 else np.uint16)
        o.setflags(write=False)
        return o

    @cached_property
    def sorted_values(self) -> np.ndarray:
        s = self.array[self.order]
        s.setflags(write=False)
        return s

    @cached_property
    def midpoints(self) -> np.ndarray:
        """``fl32(v_i + v_{i+1}) / 2`` of the sorted values, as bitsandbytes computes its bounds."""
        sv = self.sorted_values
        m = ((sv[:-1] + sv[1:]) / np.float32(2)).astype(np.float32)
        m.setflags(write=False)
        return m

    @property
    def is_sorted(self) -> bool:
        return bool(np.all(self.order == np.arange(len(self.values))))

    def nearest(self, s: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None) -> np.ndarray:
        """Codes of the nearest values to ``s`` (float32 or float64), ties to the lower value.

        Up to 32 levels this is a branch-free comparison sum (``sum(s > m_i)``, 15 compares for
        NF4, faster than ``np.searchsorted`` here); larger tables use ``np.searchsorted``.
        ``out`` (uint8) and ``scratch`` (bool) may be preallocated buffers of s's size.
        """
        s = np.asarray(s)
        mids = self.midpoints.astype(s.dtype) if s.dtype != np.float32 else self.midpoints
        if out is None:
            out = np.empty(s.shape, np.uint8)
        if len(mids) <= 31:
            if scratch is None:
                scratch = np.empty(s.shape, bool)
            out.fill(0)
            for m in mids:
                np.greater(s, m, out=scratch)
                np.add(out, scratch, out=out, casting="unsafe")
        else:
            out[...] = np.searchsorted(mids, s, side="left")
        if not self.is_sorted:
            out[...] = self.order[out]
        return out


NF4_CODEBOOK = Codebook(
    "nf4",
    (
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0,
    ),
    "NormalFloat4, QLoRA (Dettmers et al., arXiv 2305.14314); values typed from bitsandbytes "
    "functional.get_4bit_type('nf4'), generated there by create_normal_map(offset=0.9677083).",
)
"""NF4: 16 values, 7 negative, zero, 8 positive, sorted (code i is the i-th smallest)."""

BNB_FP4_CODEBOOK = Codebook(
    "bnb_fp4",
    (
        0.0,
        0.0052083334885537624,
        0.6666666865348816,
        1.0,
        0.3333333432674408,
        0.5,
        0.1666666716337204,
        0.25,
        0.0,
        -0.0052083334885537624,
        -0.6666666865348816,
        -1.0,
        -0.3333333432674408,
        -0.5,
        -0.1666666716337204,
        -0.25,
    ),
    "bitsandbytes functional.get_4bit_type('fp4'): [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, ...] / 12, "
    "sign + 2 exponent + 1 mantissa bit with bias 2; NOT OCP E2M1 (float4_e2m1fn). "
    "The '-0' of the source is the integer 0, so code 8 decodes to +0.0.",
)
"""bitsandbytes' "fp4", in bit-pattern order.  Its two zeros sort as code 0 then code 8, so
``s`` in ``(0, 0.0026]`` gets code 8 (0b1000) and ``s`` in ``[-0.0026, 0]`` code 0, as
bitsandbytes' CPU kernel does."""

CODEBOOKS: dict[str, Codebook] = {c.name: c for c in (NF4_CODEBOOK, BNB_FP4_CODEBOOK)}

_DYNAMIC_HEX = (
    "bf7e3333 bf7a999a bf770000 bf736666 bf6fcccd bf6c3333 bf68999a bf650000",
    "bf616666 bf5dcccd bf5a3333 bf56999a bf530000 bf4f6666 bf4bcccd bf483333",
    "bf44999a bf410000 bf3d6666 bf39cccd bf363334 bf32999a bf2f0000 bf2b6666",
    "bf27cccd bf243334 bf20999a bf1d0000 bf196666 bf15cccd bf123334 bf0e999a",
    "bf0b0000 bf076666 bf03cccc bf003333 bef93332 bef20000 beeacccc bee3999a",
    "bedc6666 bed53333 bece0000 bec6cccc bebf999a beb86666 beb13333 beaa0000",
    "bea2cccc be9b999a be946666 be8d3334 be860000 be7d9999 be6f3333 be60cccd",
    "be526666 be440000 be35999a be273333 be18cccd be0a6666 bdf80000 bddb3334",
    "bdc9eb85 bdc428f7 bdbe6667 bdb8a3d7 bdb2e148 bdad1eb8 bda75c2a bda1999a",
    "bd9bd70a bd96147b bd9051eb bd8a8f5d bd84cccd bd7e147b bd728f5d bd670a3d",
    "bd5b851f bd500000 bd447ae1 bd38f5c3 bd2d70a3 bd21eb85 bd166667 bd0ae148",
    "bcfeb852 bce7ae15 bcd0a3d7 bcb9999a bca28f5d bc8b851f bc68f5c3 bc3ae148",
    "bc1f3b64 bc160418 bc0ccccd bc039581 bbf4bc6a bbe24dd3 bbcfdf3b bbbd70a4",
    "bbab020d bb989374 bb8624dd bb676c8a bb428f5c bb1db22d baf1a9fc baa7ef9d",
    "ba7765ff ba59e83e ba3c6a80 ba1eecc1 ba016f01 b9c7e283 b98ce705 b923d70b",
    "b8ba1f4b b88aefb3 b8378034 b7b24206 b70205ff b65a1a94 b513a3b7 00000000",
    "3513a3b7 365a1a94 370205ff 37b24206 38378034 388aefb3 38ba1f4b 3923d70b",
    "398ce705 39c7e283 3a016f01 3a1eecc1 3a3c6a80 3a59e83e 3a7765ff 3aa7ef9d",
    "3af1a9fc 3b1db22d 3b428f5c 3b676c8a 3b8624dd 3b989374 3bab020d 3bbd70a4",
    "3bcfdf3b 3be24dd3 3bf4bc6a 3c039581 3c0ccccd 3c160418 3c1f3b64 3c3ae148",
    "3c68f5c3 3c8b851f 3ca28f5d 3cb9999a 3cd0a3d7 3ce7ae15 3cfeb852 3d0ae148",
    "3d166667 3d21eb85 3d2d70a3 3d38f5c3 3d447ae1 3d500000 3d5b851f 3d670a3d",
    "3d728f5d 3d7e147b 3d84cccd 3d8a8f5d 3d9051eb 3d96147b 3d9bd70a 3da1999a",
    "3da75c2a 3dad1eb8 3db2e148 3db8a3d7 3dbe6667 3dc428f7 3dc9eb85 3ddb3334",
    "3df80000 3e0a6666 3e18cccd 3e273333 3e35999a 3e440000 3e526666 3e60cccd",
    "3e6f3333 3e7d9999 3e860000 3e8d3334 3e946666 3e9b999a 3ea2cccc 3eaa0000",
    "3eb13333 3eb86666 3ebf999a 3ec6cccc 3ece0000 3ed53333 3edc6666 3ee3999a",
    "3eeacccc 3ef20000 3ef93332 3f003333 3f03cccc 3f076666 3f0b0000 3f0e999a",
    "3f123334 3f15cccd 3f196666 3f1d0000 3f20999a 3f243334 3f27cccd 3f2b6666",
    "3f2f0000 3f32999a 3f363334 3f39cccd 3f3d6666 3f410000 3f44999a 3f483333",
    "3f4bcccd 3f4f6666 3f530000 3f56999a 3f5a3333 3f5dcccd 3f616666 3f650000",
    "3f68999a 3f6c3333 3f6fcccd 3f736666 3f770000 3f7a999a 3f7e3333 3f800000",
)


def _dynamic_map() -> np.ndarray:
    words = " ".join(_DYNAMIC_HEX).split()
    a = np.array([int(w, 16) for w in words], dtype=np.uint32).view(np.float32)
    a.setflags(write=False)
    return a


DYNAMIC_MAP: np.ndarray = _dynamic_map()
"""bitsandbytes' signed 8-bit dynamic map, ``create_dynamic_map(signed=True, max_exponent_bits=7,
total_bits=8)`` (Dettmers, "8-Bit Approximations for Parallelism in Deep Learning", arXiv
1511.04561), as float32 bit patterns: 256 sorted values from -0.99296874 to 1.0, one 0.
Used for the absmaxes in double quantization (QLoRA §3)."""


DYNAMIC_CODEBOOK = Codebook(
    "dynamic",
    tuple(float(v) for v in DYNAMIC_MAP),
    "bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)",
)


def _lut_index(s: np.ndarray) -> np.ndarray:
    f32 = np.float32
    v = np.clip(np.asarray(s, dtype=f32), f32(-1), f32(1))
    t = (v + f32(1)) * f32(0.5)
    t = t * f32(65535)
    t = t + f32(0.5)
    return t.astype(np.uint16)  # truncation


_LUT_CACHE: dict[bytes, np.ndarray] = {}


def _bnb_lut(code: np.ndarray) -> np.ndarray:
    key = code.tobytes()
    lut = _LUT_CACHE.get(key)
    if lut is None:
        f32 = np.float32
        mids = (f32(0.5) * (code[:-1] + code[1:])).astype(f32)
        i = np.arange(65536, dtype=f32)
        val = (f32(-1) + (f32(2) * i) / f32(65535)).astype(f32)
        lut = np.searchsorted(mids, val, side="left").astype(np.uint8)  # midpoints strictly below val
        lut.setflags(write=False)
        _LUT_CACHE[key] = lut
    return lut


def bnb_cpu_codes(s: np.ndarray, code: np.ndarray = DYNAMIC_MAP) -> np.ndarray:
    """bitsandbytes' CPU 8-bit rule (``quantize_blockwise``, csrc/cpu_ops.cpp since 0.49):
    a 65536-entry table over [-1, 1], ``idx = trunc(fl32(fl32(fl32(s + 1) * 0.5) * 65535) + 0.5)``,
    ``table[i]`` = the number of midpoints ``fl32(0.5 * (c_j + c_{j+1}))`` below
    ``fl32(-1 + fl32(2i / 65535))``.

    It equals the nearest code except within about 1.5e-5 of a midpoint and near 0, where the
    map's codes are closer together than the table's bins.  Example: ``s = 1.0`` -> 255.
    """
    return _bnb_lut(np.asarray(code, dtype=np.float32))[_lut_index(s)]


def nearest_dynamic(s: np.ndarray, code: np.ndarray = DYNAMIC_MAP) -> np.ndarray:
    """The exact nearest code of a sorted 256-value map (ties to the lower code), uint8."""
    return Codebook("map", tuple(float(v) for v in np.asarray(code, dtype=np.float32))).nearest(np.asarray(s, dtype=np.float32))


def build_nf4(offset: float = 0.9677083, *, use_extra_value: bool = True) -> np.ndarray:
    """NF4 from normal quantiles, as QLoRA / bitsandbytes' ``create_normal_map`` builds it.

    Quantile points: 9 (8 with ``use_extra_value=False``) from ``offset`` down to 0.5 for the
    positive side, 8 for the negative, each list in float32 as torch.linspace makes them;
    values ``Phi^-1(p)`` (``statistics.NormalDist.inv_cdf``, Wichura's AS241, ~1e-16), plus one
    zero, sorted and divided by the largest.  ``Phi^-1(0.9677083) = 1.8481...`` becomes 1.0.

    Returns float64 values, sorted.  They differ from the typed table :data:`NF4_CODEBOOK`
    by up to 9e-8 after rounding to float32 (the table was generated with another
    linspace / ppf), which is why quantization uses the table.
    """
    if not 0.5 < offset < 1.0:
        raise ValueError(f"offset must lie in (0.5, 1), got {offset!r}")
    nd = NormalDist()

    def points(k: int) -> np.ndarray:
        return np.linspace(np.float32(offset), np.float32(0.5), k).astype(np.float32)[:-1].astype(np.float64)

    pos = [nd.inv_cdf(float(p)) for p in points(9 if use_extra_value else 8)]
    neg = [-nd.inv_cdf(float(p)) for p in points(8)]
    v = np.sort(np.array(pos + [0.0] + neg))
    return v / v.max()
