"""Integer grids: absmax ``int{k}`` (:class:`AbsmaxInt`), zero-point ``uint{k}``
(:class:`AsymmetricUInt`) and logarithmic ``log{k}`` (:class:`LogQuant`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..calibration import CALIBRATION_METHODS, calibrate
from ._base import QuantizedTensor, Scheme, _check_granularity, _opt, _require_finite, _zeros_mask

__all__ = ["AbsmaxInt", "AsymmetricUInt", "LogQuant"]


# ============================================================== integer grids
@dataclass(frozen=True, kw_only=True)
class _IntGrid(Scheme):
    """What absmax ``int{k}`` and asymmetric ``uint{k}`` share: k-bit codes (the head of the
    string form is ``{prefix}{k}``), a granularity, and an optional calibration of the range."""

    _prefix: ClassVar[str]
    _min_bits: ClassVar[int]
    _bits_error: ClassVar[str]  # "{name} needs {lo} to 16 bits, got bits={bits!r}..."

    bits: int = _opt(8, None, "int")
    axis: int | None = _opt(None, "axis", "int?")
    block_size: int | None = _opt(None, "block", "int?")
    calibration: str = _opt("minmax", "cal", "str")
    percentile: float = _opt(99.99, "pct", "float")

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, (int, np.integer)) or not self._min_bits <= self.bits <= 16:
            raise ValueError(self._bits_error.format(bits=self.bits))
        _check_granularity(self.axis, self.block_size)
        _check_calibration(self)

    @classmethod
    def _match_head(cls, head):
        m = re.fullmatch(rf"{cls._prefix}(\d+)", head)
        return {"bits": int(m.group(1))} if m else None

    def _head(self):
        return f"{self._prefix}{self.bits}"

    @property
    def code_bits(self) -> int:
        return self.bits


def _check_calibration(s) -> None:
    if s.calibration not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration {s.calibration!r}; choose one of {', '.join(CALIBRATION_METHODS)}")
    if not 0 < s.percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100], got {s.percentile!r}")
    if s.calibration != "minmax" and (s.axis is not None or s.block_size is not None):
        raise ValueError(f"calibration={s.calibration!r} chooses one range per tensor (as TensorRT): drop axis= and block=")


# ============================================================== absmax int
@dataclass(frozen=True, kw_only=True)
class AbsmaxInt(_IntGrid):
    """Symmetric absmax int-k, the seed's rule: ``c = (2^(k-1) - 1) / absmax(x)``,
    ``q = round(x * c)``, ``x~ = q / c`` (bitsandbytes / LLM.int8, Dettmers et al., arXiv 2208.07339).

    Worked number (k = 8): x = [0.5, -2, 0.3, 1]: absmax 2, c = 63.5, q = [32, -127, 19, 64]
    (63.5 ties to even), x~ = [0.50394, -2, 0.29921, 1.00787].  ``c = fl(127 / A)`` in the
    work dtype (float64 where that overflows: A below ~1e-37 in float32); ``round`` is
    half-to-even of the *exact* product ``x * c``; ``x~ = fl(q / c)``.  ``scales`` are the
    absmaxes A (bitsandbytes stores those), one float32 each.  A group of zeros gets c = 1.

    ``calibration`` (per tensor only): ``percentile`` / ``mse`` / ``kl`` choose a clip
    threshold T < absmax (:mod:`quantlib.calibration`); ``A = T`` and ``|q|`` is clamped to
    ``2^(k-1) - 1``; :attr:`QuantizedTensor.clipped` marks the clamped elements.
    """

    family: ClassVar[str] = "int"
    examples: ClassVar[tuple[str, ...]] = (
        "int8",
        "int4:block=64",
        "int4:block=128",
        "int2:axis=0",
        "int16:block=32",
        "int8:block=64",
        "int8:cal=percentile,pct=99.9",
        "int8:cal=mse",
        "int8:cal=kl",
        "int5:axis=1",
    )

    _prefix: ClassVar[str] = "int"
    _min_bits: ClassVar[int] = 2
    _bits_error: ClassVar[str] = "absmax int needs 2 to 16 bits, got bits={bits!r} (1 bit is the 'binary' scheme)"

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def _c(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(c, wide)``: c = fl(qmax / A) in A's dtype (1 for A = 0); ``wide`` marks groups whose
        c overflows that dtype (A < qmax / FLT_MAX ~ 1e-37 for float32): those use float64."""
        wd = A.dtype
        with np.errstate(all="ignore"):
            c = (wd.type(self.qmax) / A).astype(wd)
        c[A == 0] = 1
        wide = ~np.isfinite(c)
        c[wide] = 1
        return c, wide

    def _quantize(self, arr, layout, threads):
        G = layout.groups(arr)
        calibrated = self.calibration != "minmax"
        if calibrated:
            _require_finite(arr, self)
            A = np.array([calibrate(arr, self.calibration, bits=self.bits, percentile=self.percentile).threshold], arr.dtype)
        else:
            A = K.group_absmax(G, layout, threads)
            _require_finite(A, self)
        c, wide = self._c(A)
        qmax = self.qmax
        codes_G = np.empty(G.shape, np.int8 if self.bits <= 8 else np.int16)
        clip_G = np.zeros(G.shape, bool) if calibrated else None

        def tile(g0, g1, c0, c1, scratch):
            xt = G[g0:g1, c0:c1]
            r = scratch("r", xt.shape, xt.dtype)
            K.rint_exact_product(xt, c[g0:g1, None], r, scratch)
            if calibrated:
                np.greater(np.abs(r), qmax, out=clip_G[g0:g1, c0:c1])
                np.clip(r, -qmax, qmax, out=r)
            np.copyto(codes_G[g0:g1, c0:c1], r, casting="unsafe")

        K.map_tiles(layout, threads, tile)
        for g in np.flatnonzero(wide):  # tiny absmax: c only exists in float64
            r = np.empty(G.shape[1])
            K.rint_exact_product(G[g].astype(np.float64), np.float64(self.qmax) / np.float64(A[g]), r, K.Scratch())
            if calibrated:
                clip_G[g] = np.abs(r) > qmax
            codes_G[g] = np.clip(r, -qmax, qmax)
        clipped = layout.ungroup(clip_G) if calibrated else _zeros_mask(arr.shape)
        return QuantizedTensor(
            scheme=self, layout=layout, dtype=arr.dtype, codes=layout.ungroup(codes_G), scales=A.reshape(layout.scale_shape), clipped=clipped
        )

    def _dequantize(self, q, threads):
        lay = q.layout
        C = lay.groups(q.codes)
        A = np.asarray(q.scales, q.dtype).reshape(-1)
        c, wide = self._c(A)
        out = np.empty(C.shape, q.dtype)

        def tile(g0, g1, c0, c1, scratch):
            np.divide(C[g0:g1, c0:c1], c[g0:g1, None], out=out[g0:g1, c0:c1])

        K.map_tiles(lay, threads, tile)
        for g in np.flatnonzero(wide):
            out[g] = C[g] / (np.float64(self.qmax) / np.float64(A[g]))
        return lay.ungroup(out)

    def _levels(self, q, g):
        A = np.asarray(q.scales, q.dtype).reshape(-1)[g : g + 1]
        c, wide = self._c(A)
        cg = np.float64(self.qmax) / np.float64(A[0]) if wide[0] else c[0]
        return np.arange(-self.qmax, self.qmax + 1) / cg

    def _fields(self, codes):
        return codes.astype(np.int64) & ((1 << self.bits) - 1)  # k-bit two's complement


# ============================================================== asymmetric uint
@dataclass(frozen=True, kw_only=True)
class AsymmetricUInt(_IntGrid):
    """Asymmetric (zero-point) uint-k, as TFLite and PyTorch: the range ``[lo, hi]`` is first
    extended to include 0, then ``scale = (hi - lo) / (2^k - 1)``, ``zp = round(-lo / scale)``,
    ``q = clamp(round(x / scale) + zp, 0, 2^k - 1)``, ``x~ = (q - zp) * scale``
    (Jacob et al., arXiv 1712.05877; ``torch.ao.quantization.MinMaxObserver``).

    Worked number (k = 8): x in [-1, 3]: scale = 4/255 = 0.0156863, zp = round(63.75) = 64,
    x = 1 -> round(63.75) + 64 = 128 -> (128 - 64) * scale = 1.0039.  A range [2, 5] becomes
    [0, 5] (zp 0).  ``scale`` is computed in float64 and rounded once to the work dtype
    (PyTorch rounds ``max - min`` and the quotient in float32 separately); the roundings of
    ``x / scale`` and ``-lo / scale`` are exact half-to-even.  An all-zero group gets scale 1.
    Stored per group: a float32 scale and a k-bit zero point.
    """

    family: ClassVar[str] = "uint"
    symmetric: ClassVar[bool] = False
    examples: ClassVar[tuple[str, ...]] = ("uint8", "uint4:block=64", "uint3:axis=1", "uint8:cal=percentile", "uint2:block=16", "uint8:cal=mse")

    _prefix: ClassVar[str] = "uint"
    _min_bits: ClassVar[int] = 1
    _bits_error: ClassVar[str] = "asymmetric uint needs 1 to 16 bits, got bits={bits!r}"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.calibration == "kl":
            raise ValueError("kl (entropy) calibration is symmetric, as in TensorRT: use int{k}:cal=kl")

    @property
    def _group_bits(self) -> int:  # type: ignore[override]
        return 32 + self.bits  # float32 scale + k-bit zero point

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        G = layout.groups(arr)
        if self.calibration != "minmax":
            _require_finite(arr, self)
            r = calibrate(arr, self.calibration, bits=self.bits, symmetric=False, percentile=self.percentile)
            lo, hi = np.array([r.lo], wd), np.array([r.hi], wd)
        else:
            lo, hi = K.group_minmax(G, layout, threads)
            _require_finite(lo, self)
            _require_finite(hi, self)
        lo = np.minimum(lo, 0).astype(wd)
        hi = np.maximum(hi, 0).astype(wd)
        levels = 2**self.bits - 1
        hi64, lo64 = hi.astype(np.float64), lo.astype(np.float64)
        with np.errstate(all="ignore"):
            s64 = (hi64 - lo64) / levels
            s64 = np.where(np.isfinite(s64), s64, hi64 / levels - lo64 / levels)  # float64 overflow
        scale = s64.astype(wd)
        scale[scale == 0] = 1
        zp = np.clip(np.rint(-lo.astype(np.float64) / scale.astype(np.float64)), 0, levels)
        zpw = zp.astype(wd)
        codes_G = np.empty(G.shape, np.uint8 if self.bits <= 8 else np.uint16)
        clip_G = np.empty(G.shape, bool)

        def tile(g0, g1, c0, c1, scratch):
            xt = G[g0:g1, c0:c1]
            r = scratch("r", xt.shape, wd)
            K.rint_exact_quotient(xt, scale[g0:g1, None], r, scratch)
            np.add(r, zpw[g0:g1, None], out=r)
            cl = clip_G[g0:g1, c0:c1]
            np.logical_or(r < 0, r > levels, out=cl)
            np.clip(r, 0, levels, out=r)
            np.copyto(codes_G[g0:g1, c0:c1], r, casting="unsafe")

        K.map_tiles(layout, threads, tile)
        ss = layout.scale_shape
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=scale.reshape(ss),
            zero_points=zp.astype(codes_G.dtype).reshape(ss),
            clipped=layout.ungroup(clip_G),
        )

    def _dequantize(self, q, threads):
        lay = q.layout
        C = lay.groups(q.codes)
        scale = np.asarray(q.scales, q.dtype).reshape(-1, 1)
        zp = np.asarray(q.zero_points).reshape(-1, 1).astype(q.dtype)
        out = np.empty(C.shape, q.dtype)

        def tile(g0, g1, c0, c1, scratch):
            o = out[g0:g1, c0:c1]
            np.subtract(C[g0:g1, c0:c1], zp[g0:g1], out=o, casting="unsafe")  # exact small integers
            np.multiply(o, scale[g0:g1], out=o)

        K.map_tiles(lay, threads, tile)
        return lay.ungroup(out)

    def _levels(self, q, g):
        scale = np.asarray(q.scales, q.dtype).reshape(-1)[g]
        zp = float(np.asarray(q.zero_points).reshape(-1)[g])
        return (np.arange(2**self.bits, dtype=q.dtype) - q.dtype.type(zp)) * scale


# ============================================================== logarithmic
_SQRT2_RN = 1.4142135623730951  # the double nearest sqrt(2), above it: m >= sqrt(2) <=> m >= this


def _round_log2(a: np.ndarray) -> np.ndarray:
    """round(log2 a) for a > 0, exactly: up from 2^n when the significand is >= sqrt(2)."""
    m, ex = np.frexp(np.asarray(a, dtype=np.float64))
    return ex.astype(np.int64) - 1 + (2 * m >= _SQRT2_RN)


@dataclass(frozen=True, kw_only=True)
class LogQuant(Scheme):
    """Logarithmic (power-of-two) quantization: sign + (k-1) exponent bits (Miyashita et al.,
    "Convolutional Neural Networks using Logarithmic Data Representation", arXiv 1603.01025).

    ``e_top = round(log2 A)``; the ``L = 2^(k-1) - 1`` levels are ``2^(e_top - j)``, j < L;
    ``x~ = sign(x) 2^clamp(round(log2|x|), e_top - L + 1, e_top)``, and 0 when
    ``round(log2|x|)`` falls below the lowest level.  Rounding is in the log domain (up from
    2^n at 2^n sqrt 2), exact.  Worked number (k = 4, A = 1): levels 1, 1/2, ..., 1/64;
    x = 0.3 -> log2 = -1.74 -> 2^-2 = 0.25; x = 0.005 -> -7.6 -> -8 < -6 -> 0.  Field 0 is
    zero, field i is 2^(e_low + i - 1); the sign is the top bit.  e_top is stored as an E8M0
    byte (clamped to [-127, 127]); ``scales`` = 2^e_top.
    """

    family: ClassVar[str] = "log"
    examples: ClassVar[tuple[str, ...]] = ("log4", "log3:block=64", "log8:axis=0", "log2", "log5:block=32")

    bits: int = _opt(4, None, "int")
    axis: int | None = _opt(None, "axis", "int?")
    block_size: int | None = _opt(None, "block", "int?")

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, (int, np.integer)) or not 2 <= self.bits <= 8:
            raise ValueError(f"logarithmic quantization needs 2 to 8 bits, got bits={self.bits!r}")
        _check_granularity(self.axis, self.block_size)

    @classmethod
    def _match_head(cls, head):
        m = re.fullmatch(r"log(\d+)", head)
        return {"bits": int(m.group(1))} if m else None

    def _head(self):
        return f"log{self.bits}"

    @property
    def scale_format(self) -> str | None:
        return "float8_e8m0fnu"

    @property
    def code_bits(self) -> int:
        return self.bits

    _group_bits: ClassVar[int] = 8

    @property
    def n_levels(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        e_top = np.clip(np.where(A > 0, _round_log2(np.where(A > 0, A, 1)), 0), -127, 127)
        L = self.n_levels
        e_low = e_top - L + 1
        sign_bit = 1 << (self.bits - 1)
        codes_G = np.empty(G.shape, np.uint8)
        clip_G = np.empty(G.shape, bool)

        def tile(g0, g1, c0, c1, scratch):
            xt = G[g0:g1, c0:c1]
            a = np.abs(xt)
            nz = a > 0
            n = _round_log2(np.where(nz, a, 1))
            f = n - e_low[g0:g1, None] + 1
            clip_G[g0:g1, c0:c1] = nz & (f > L)
            f = np.where(nz & (f >= 1), np.minimum(f, L), 0)
            codes_G[g0:g1, c0:c1] = f | np.where((xt < 0) & (f > 0), sign_bit, 0)

        K.map_tiles(layout, threads, tile)
        ss = layout.scale_shape
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=np.ldexp(np.ones(e_top.shape, wd), e_top).reshape(ss),
            scale_codes=(e_top + 127).astype(np.uint8).reshape(ss),
            clipped=layout.ungroup(clip_G),
        )

    def _dequantize(self, q, threads):
        lay = q.layout
        C = lay.groups(q.codes).astype(np.int64)
        e_low = np.asarray(q.scale_codes, np.int64).reshape(-1, 1) - 127 - self.n_levels + 1
        sign_bit = 1 << (self.bits - 1)
        f = C & (sign_bit - 1)
        v = np.where(f > 0, np.ldexp(1.0, e_low + f - 1), 0.0)
        v = np.where(C & sign_bit, -v, v)
        return lay.ungroup(v.astype(q.dtype))

    def _levels(self, q, g):
        e_top = int(np.asarray(q.scale_codes).reshape(-1)[g]) - 127
        pos = np.ldexp(1.0, e_top - np.arange(self.n_levels))
        return np.concatenate([-pos, [0.0], pos])
