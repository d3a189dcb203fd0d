"""Quantization schemes behind one interface: ``quantize(x, scheme) -> QuantizedTensor``.

A scheme is a small frozen dataclass with keyword options and a short string form for URLs::

    >>> s = parse_scheme("nf4:block=64,dq")
    >>> s
    NF4(block_size=64, axis=None, double_quant=True)
    >>> str(s)
    'nf4:block=64,dq'
    >>> q = quantize(x, s); q.codes, q.scales, q.bits_per_element, q.dequantize()

String grammar: ``head[:opt,opt,...]``; an option is ``key=value`` or a bare ``key`` for a
true flag; ``none`` is None.  The head names the family (``int8``, ``uint4``, ``nf4``,
``mxfp4``, ``float8_e4m3fn``, ...); ``str(scheme)`` prints the canonical form and
``parse_scheme(str(s)) == s`` for every scheme.

Granularity (see :mod:`quantlib.blocks`): ``axis=k`` one scale per index along axis k;
``block=B`` one scale per B consecutive elements of the last axis (the last block of a row
zero padded; the padding is not data and is not counted); neither: one per tensor.

=================  ======================================  =============================
family             rule (``A`` = group absmax)             source
=================  ======================================  =============================
``float8_e4m3fn``  cast, optionally ``x / s``, ``s=A/max``  FP8 inference (arXiv 2209.05433)
``int8``           ``q = round(x * 127/A)``, ``x~ = q/c``   LLM.int8 / the seed's absmax
``uint8``          zero point, range extended to 0         TFLite / PyTorch
``nf4``            nearest NF4 value of ``x / A``           QLoRA (arXiv 2305.14314)
``bnb_fp4``        nearest bitsandbytes FP4 value          bitsandbytes
``codebook``       nearest user value of ``x / A``          --
``mxfp4`` ...      E8M0 scale ``2^(floor log2 A - emax)``   OCP MX v1.0
``nvfp4``          E4M3 scale per 16, FP32 per tensor       NVIDIA NVFP4
``log4``           sign * 2^round(log2|x|)                 Miyashita et al. (arXiv 1603.01025)
``binary``         sign(x) * mean|x|                       XNOR-Net (arXiv 1603.05279)
``ternary``        {-a, 0, a}, threshold 0.7 mean|x|       TWN (arXiv 1605.04711)
=================  ======================================  =============================

Exactness: every rounding is done once, from the exact value, unless a docstring says which
float32 operations a scheme reproduces on purpose (the bitsandbytes ones, to give the same
codes as bitsandbytes).
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from typing import ClassVar

import numpy as np

from . import _kernels as K
from .blocks import Layout, default_threads, layout_for
from .calibration import CALIBRATION_METHODS, calibrate
from .codebooks import (
    BNB_FP4_CODEBOOK,
    DYNAMIC_MAP,
    NF4_CODEBOOK,
    Codebook,
    bnb_cpu_codes,
    nearest_dynamic,
)
from .codec import _cast_dtype, _decode_table, all_values, decode, encode
from .formats import FORMATS, FloatFormat, get_format
from .rounding import check_rounding

__all__ = [
    "DOUBLE_QUANT_RULES",
    "MX",
    "NF4",
    "NVFP4",
    "PRESETS",
    "SCHEMES",
    "AbsmaxInt",
    "AsymmetricUInt",
    "Binary",
    "BnbFP4",
    "CodebookQuant",
    "DoubleQuantState",
    "FloatCast",
    "LogQuant",
    "QuantizedTensor",
    "Scheme",
    "Ternary",
    "double_quantize",
    "parse_scheme",
    "quantize",
]

_TINY_ABSMAX = np.float32(1e-38)  # bitsandbytes: absmax.clamp(min=1e-38)


def _value_table(fmt: FloatFormat | str) -> np.ndarray:
    """Every code's exact value as float64 (a table of ``2**bits`` entries; <= 16 bits)."""
    return _decode_table(get_format(fmt))


# ============================================================== options & string form
def _opt(default, key: str | None, kind: str, *, always: bool = False):
    """A keyword option. ``key``: its name in the string form (None: it is part of the head)."""
    return field(default=default, metadata={"key": key, "kind": kind, "always": always})


def _num(v: float) -> str:
    s = repr(float(v))
    return s.removesuffix(".0")


def _num32(v: float) -> str:
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def _format_value(kind: str, v) -> str:
    if v is None:
        return "none"
    if kind == "float":
        return _num(v)
    if kind == "floats":
        return ";".join(_num32(f) for f in v)
    return str(v)


def _parse_value(kind: str, text: str, key: str):
    t = text.strip()
    try:
        if kind == "int?" and t.lower() == "none":
            return None
        if kind in ("int", "int?"):
            return int(t)
        if kind == "float":
            return float(t)
        if kind == "bool":
            low = t.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "floats":
            return tuple(float(v) for v in t.split(";") if v.strip())
        return t
    except ValueError:
        raise ValueError(f"option {key}={text!r}: expected {_KIND_NAMES[kind]}") from None


_KIND_NAMES = {
    "int": "an integer",
    "int?": "an integer or 'none'",
    "float": "a number",
    "bool": "true/false (or the bare key for true)",
    "floats": "numbers separated by ';'",
    "str": "a name",
}


def _check_int(name: str, v, lo: int, hi: int | None = None, *, allow_none: bool = False) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        rng = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an integer {rng}{' or None' if allow_none else ''}, got {v!r}")


def _check_granularity(axis, block_size) -> None:
    _check_int("axis", axis, -64, 64, allow_none=True)
    if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1):
        raise ValueError(f"block_size must be a positive integer (or None for no blocks), got {block_size!r}")
    if axis is not None and block_size is not None:
        raise ValueError("choose per-channel (axis) or per-block (block_size), not both")


def _require_finite(values: np.ndarray, scheme) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"the input holds NaN or inf; {scheme} has no code for them (replace them first, e.g. np.nan_to_num)")


# ============================================================== quantized tensor
@dataclass(frozen=True, eq=False, kw_only=True)
class DoubleQuantState:
    """QLoRA double quantization of the per-block absmaxes (bitsandbytes ``compress_statistics``).

    ``offset`` = the float32 mean of the absmaxes; ``absmax - offset`` is quantized in blocks of
    256 with the 8-bit dynamic map: ``codes`` (uint8, one per absmax) and ``absmax`` (float32,
    one per 256).  :meth:`dequantize` gives ``fl32(fl32(code[c] * absmax) + offset)``.
    """

    codes: np.ndarray
    absmax: np.ndarray
    offset: float
    original: np.ndarray
    code: np.ndarray
    block_size: int = 256

    def dequantize(self) -> np.ndarray:
        """The reconstructed absmaxes (float32, in the shape of ``codes``)."""
        flat = self.codes.reshape(-1)
        a2 = np.repeat(self.absmax, self.block_size)[: flat.size]
        rec = (self.code[flat] * a2).astype(np.float32) + np.float32(self.offset)
        return rec.astype(np.float32).reshape(self.codes.shape)


@dataclass(frozen=True, eq=False, kw_only=True)
class QuantizedTensor:
    """The result of :func:`quantize`: codes, scales, and everything a page needs to explain them.

    Attributes
    ----------
    codes : ndarray, x's shape
        One code per element, unpacked: the integer ``q`` of the scheme's formula (signed for
        ``int``/``binary``/``ternary``), a codebook index, or a float format's bit pattern.
    scales : ndarray of ``layout.scale_shape`` or None
        One value per group, as the scheme defines it (absmax, step, 2**e, ...); with double
        quantization the reconstructed absmaxes actually used.
    zero_points : ndarray or None
        ``uint`` schemes only.
    clipped : bool ndarray, x's shape
        Elements saturated to the largest level: they would have rounded beyond it.
    scale_codes : ndarray or None
        How the scales are stored when they are themselves a small format (E8M0 byte, E4M3 code).
    tensor_scale : float or None
        NVFP4's FP32 per-tensor scale.
    double_quant : DoubleQuantState or None
    """

    scheme: Scheme
    layout: Layout
    dtype: np.dtype
    codes: np.ndarray
    scales: np.ndarray | None
    clipped: np.ndarray
    zero_points: np.ndarray | None = None
    scale_codes: np.ndarray | None = None
    tensor_scale: float | None = None
    double_quant: DoubleQuantState | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.layout.shape

    @property
    def size(self) -> int:
        return self.layout.size

    @cached_property
    def n_clipped(self) -> int:
        return int(np.count_nonzero(self.clipped))

    def dequantize(self, *, threads: int | None = None) -> np.ndarray:
        """The values the codes stand for, in ``self.dtype`` (float32 for float16/32 input)."""
        return self.scheme._dequantize(self, default_threads(threads, self.size))

    def pack(self) -> np.ndarray:
        """The payload bytes (codes only; see :func:`quantlib._kernels.pack_codes` for the layout).

        NF4: two codes per byte, high nibble first, as bitsandbytes stores them.
        """
        return K.pack_codes(self.scheme._fields(self.codes), self.scheme.code_bits, pad=self.scheme._pad_code)

    @property
    def total_bits(self) -> int:
        """Payload plus every scale, zero point and offset, in bits."""
        return self.scheme.total_bits(self.shape)

    @property
    def bits_per_element(self) -> float:
        """``total_bits / size``: 4.5 for NF4 with 64-blocks, 4.127 with double quantization."""
        return self.total_bits / self.size

    @property
    def nbytes(self) -> int:
        """Storage in bytes, ``ceil(total_bits / 8)``."""
        return -(-self.total_bits // 8)

    def levels(self, group: int = 0) -> np.ndarray:
        """Every value group ``group`` can decode to, sorted (``self.dtype``)."""
        g = int(group)
        if not 0 <= g < self.layout.n_groups:
            raise ValueError(f"group {group} out of range: {self.layout.n_groups} groups")
        return np.unique(np.asarray(self.scheme._levels(self, g), dtype=self.dtype))

    def scales_per_element(self) -> np.ndarray:
        """The scale of every element, in x's shape."""
        if self.scales is None:
            raise ValueError(f"{self.scheme} has no scales")
        return self.layout.expand(self.scales)

    def group_of(self, index) -> int:
        """Group number of the element at ``index`` (tuple): use it with :meth:`levels`."""
        return self.layout.group_of(index)

    def _group_scale(self, g: int) -> float:
        return float(np.asarray(self.scales).reshape(-1)[g])


# ============================================================== the base class
@dataclass(frozen=True, kw_only=True)
class Scheme:
    """Base of every scheme: string form, bit accounting, the quantize entry point."""

    family: ClassVar[str] = ""
    examples: ClassVar[tuple[str, ...]] = ()
    symmetric: ClassVar[bool] = True  # quantize(-x) == -quantize(x) (codes aside)

    # ------------------------------------------------------------ strings
    @classmethod
    def _match_head(cls, head: str) -> dict | None:
        return {} if head == cls.family else None

    @property
    def head(self) -> str:
        """The part of the string form before the colon: ``"nf4"``, ``"int8"``, ``"mxfp4"``, ``"float8_e4m3fn"``."""
        return self._head()

    @property
    def code_format(self) -> str | None:
        """The float format (ml_dtypes name) the stored codes are bit patterns of, or None for
        integer and codebook-index codes: ``"float4_e2m1fn"`` for NVFP4 and MXFP4, None for int8."""
        return None

    def _head(self) -> str:
        return self.family

    def __str__(self) -> str:
        items = []
        for f in fields(self):
            key = f.metadata.get("key")
            if key is None:
                continue
            v = getattr(self, f.name)
            default = f.default if f.default is not MISSING else None
            if v == default and not f.metadata.get("always"):
                continue
            if f.metadata["kind"] == "bool":
                items.append(key if v else f"{key}=0")
            else:
                items.append(f"{key}={_format_value(f.metadata['kind'], v)}")
        return self._head() + (":" + ",".join(items) if items else "")

    # ------------------------------------------------------------ layout & bits
    def layout(self, shape) -> Layout:
        """The groups of a tensor of ``shape`` under this scheme."""
        return layout_for(shape, axis=getattr(self, "axis", None), block_size=getattr(self, "block_size", None))

    @property
    def code_bits(self) -> int:
        """Bits of one stored code."""
        raise NotImplementedError

    _group_bits: ClassVar[int] = 32  # stored per group (a float32 scale, unless a scheme says otherwise)

    def _overhead_bits(self, layout: Layout) -> int:
        return self._group_bits * layout.n_groups

    def total_bits(self, shape) -> int:
        """Exact storage of a tensor of ``shape``: codes of the real elements + every scale/offset."""
        lay = self.layout(shape)
        return self.code_bits * lay.size + self._overhead_bits(lay)

    def bits_per_element(self, shape=None) -> float:
        """Exact bits per element for ``shape``; without a shape the large-tensor limit
        (``nf4:block=64`` 4.5, ``nf4:block=64,dq`` 4 + 8/64 + 32/(64*256) = 4.127, ``int8`` 8)."""
        if shape is not None:
            lay = self.layout(shape)
            return self.total_bits(shape) / lay.size
        bs = getattr(self, "block_size", None)
        if bs is None:
            return float(self.code_bits)
        return self._nominal_bits(bs)

    def _nominal_bits(self, block_size: int) -> float:
        return self.code_bits + self._group_bits / block_size

    # ------------------------------------------------------------ quantize
    def quantize(self, x, *, threads: int | None = None) -> QuantizedTensor:
        """Quantize x (float16/32/64 or integers); see :func:`quantize`."""
        arr = K.as_work_array(x)
        if arr.size == 0:
            raise ValueError("cannot quantize an empty array")
        lay = self.layout(arr.shape)
        return self._quantize(arr, lay, default_threads(threads, arr.size))

    # hooks ---------------------------------------------------------------
    def _quantize(self, arr: np.ndarray, layout: Layout, threads: int) -> QuantizedTensor:  # pragma: no cover
        raise NotImplementedError

    def _dequantize(self, q: QuantizedTensor, threads: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _levels(self, q: QuantizedTensor, g: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _fields(self, codes: np.ndarray) -> np.ndarray:
        """Codes as the unsigned ``code_bits``-wide fields that are stored."""
        return codes

    _pad_code: ClassVar[int] = 0  # nibble that completes an odd count of 4-bit codes


def _zeros_mask(shape) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def _sat_threshold(fmt: FloatFormat) -> tuple[float, bool]:
    """``(t, tie_up)``: round-to-nearest-even goes beyond ``fmt.max`` iff ``|s| > t`` or
    (``|s| == t`` and ``tie_up``).  E2M1: (7.0, True), so 7 saturates to 6; E4M3FN: (464.0, False)."""
    ulp = 2.0 ** (fmt.emax - fmt.nmant)
    return fmt.max + ulp / 2, bool(fmt.max_code & 1) or fmt.nmant == 0


def _beyond(a: np.ndarray, thr: float, tie_up: bool) -> np.ndarray:
    return (a >= thr) if tie_up else (a > thr)


# ============================================================== float cast
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


# ============================================================== MX
_MX_ELEMENTS = {
    "mxfp8_e4m3": "float8_e4m3fn",
    "mxfp8_e5m2": "float8_e5m2",
    "mxfp6_e2m3": "float6_e2m3fn",
    "mxfp6_e3m2": "float6_e3m2fn",
    "mxfp4": "float4_e2m1fn",
    "mxint8": "int8",
}
_MX_ALIASES = {"mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e2m3", "mxfp4_e2m1": "mxfp4"}
MX_SCALE_ROUNDINGS: tuple[str, ...] = ("floor", "ceil", "even", "rceil")


@dataclass(frozen=True, kw_only=True)
class MX(Scheme):
    """OCP Microscaling v1.0 (MXFP8 E4M3/E5M2, MXFP6 E2M3/E3M2, MXFP4 E2M1, MXINT8): blocks of
    32 along the last axis share an E8M0 scale ``X = 2^e``; elements ``RNE_elem(x / X)``
    saturating (spec §6.3).

    ``scale_rounding`` picks e (A = block absmax, ``emax`` = the element's largest exponent:
    8 E4M3, 15 E5M2, 2 E2M3, 4 E3M2, 2 E2M1, 0 INT8):

    * ``floor`` (spec): ``floor(log2 A) - emax``.  E2M1, A = 7: e = 2 - 2 = 0, X = 1, 7 -> 6 (clipped).
    * ``ceil``: ``ceil(log2 A) - emax`` (never clips): A = 7 -> X = 2.
    * ``even``: floor of log2 of A rounded to the element's mantissa bits (ties away, torchao
      ``EVEN``): 7 = 1.75 * 4 -> 2.0 * 4 -> X = 2.
    * ``rceil``: the smallest ``2^e >= A / max_elem`` (exact; cuBLAS/torchao ``RCEIL`` compute
      ``A * (1/max)`` in float32 first): 7/6 -> X = 2, 7 -> 3.5 -> 4 (RNE) -> 8.

    e is clamped to the E8M0 range [-127, 127]; an all-zero block gets 2^-127.  MXINT8
    elements are 8-bit two's complement with 6 fraction bits (±127/64), rounded half to even
    (microxcaling rounds half away).  ``scales`` = X, ``scale_codes`` = the E8M0 bytes e + 127.
    """

    family: ClassVar[str] = "mx"
    examples: ClassVar[tuple[str, ...]] = (
        "mxfp8_e4m3",
        "mxfp8_e5m2",
        "mxfp6_e2m3",
        "mxfp6_e3m2",
        "mxfp4",
        "mxint8",
        "mxfp4:round=rceil",
        "mxfp4:round=ceil",
        "mxfp8_e4m3:round=even",
        "mxfp6_e3m2:block=16",
    )

    element: str = _opt("float8_e4m3fn", None, "str")
    block_size: int = _opt(32, "block", "int")
    scale_rounding: str = _opt("floor", "round", "str")

    def __post_init__(self) -> None:
        el = self.element
        if el != "int8":
            try:
                el = get_format(el).name
            except ValueError:
                el = None
        if el not in _MX_ELEMENTS.values():
            raise ValueError(f"MX element must be one of {', '.join(_MX_ELEMENTS.values())}, got {self.element!r}")
        object.__setattr__(self, "element", el)
        _check_int("block_size", self.block_size, 1)
        if self.scale_rounding not in MX_SCALE_ROUNDINGS:
            raise ValueError(f"unknown scale_rounding {self.scale_rounding!r}; choose one of {', '.join(MX_SCALE_ROUNDINGS)}")

    @classmethod
    def _match_head(cls, head):
        head = _MX_ALIASES.get(head, head)
        return {"element": _MX_ELEMENTS[head]} if head in _MX_ELEMENTS else None

    def _head(self):
        return {v: k for k, v in _MX_ELEMENTS.items()}[self.element]

    def layout(self, shape) -> Layout:
        return layout_for(shape, block_size=self.block_size)

    @property
    def is_int(self) -> bool:
        return self.element == "int8"

    @property
    def fmt(self) -> FloatFormat | None:
        return None if self.is_int else get_format(self.element)

    @property
    def code_format(self) -> str | None:
        return None if self.is_int else self.element

    @property
    def code_bits(self) -> int:
        return 8 if self.is_int else self.fmt.bits

    _group_bits: ClassVar[int] = 8  # one E8M0 byte

    @property
    def emax(self) -> int:
        return 0 if self.is_int else self.fmt.emax

    @property
    def max_element(self) -> float:
        return 127 / 64 if self.is_int else self.fmt.max

    @property
    def _mbits(self) -> int:
        return 6 if self.is_int else self.fmt.nmant

    def shared_exponent(self, absmax) -> np.ndarray:
        """The unbiased E8M0 exponent e of each block absmax (int64), by ``scale_rounding``."""
        A = np.asarray(absmax, dtype=np.float64)
        m, ex = np.frexp(A)  # A = m * 2**ex, m in [0.5, 1)
        fl = ex.astype(np.int64) - 1  # floor(log2 A) for A > 0
        mode = self.scale_rounding
        if mode == "floor":
            e = fl - self.emax
        elif mode == "ceil":
            e = fl + (m != 0.5) - self.emax
        elif mode == "even":
            e = fl + (2 * m >= 2 - 2.0 ** -(self._mbits + 1)) - self.emax
        else:  # rceil: smallest e with A <= max * 2**e, exactly
            mx = self.max_element
            with np.errstate(all="ignore"):
                e = np.ceil(np.log2(np.where(A > 0, A, 1.0) / mx)).astype(np.int64)
            e += A > np.ldexp(mx, e)
            e -= A <= np.ldexp(mx, e - 1)
        e = np.where(A > 0, e, -127)
        return np.clip(e, -127, 127)

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        e = self.shared_exponent(A)
        inv = np.ldexp(np.ones(e.shape, wd), -e)  # 2**-e, exact (2**-127 is a float32 subnormal)
        X = np.ldexp(np.ones(e.shape, wd), e)
        fmt = self.fmt
        if self.is_int:
            codes_G = np.empty(G.shape, np.int8)
            thr, tie_up = 127.5, True
        else:
            codes_G = np.empty(G.shape, fmt.code_dtype)
            thr, tie_up = _sat_threshold(fmt)
        clip_G = np.empty(G.shape, bool)

        def tile(g0, g1, c0, c1, scratch):
            xt = G[g0:g1, c0:c1]
            s = scratch("s", xt.shape, wd)
            np.multiply(xt, inv[g0:g1, None], out=s)  # exact: a power of two
            if self.is_int:
                np.multiply(s, 64, out=s)
                a = scratch("a", xt.shape, wd)
                np.abs(s, out=a)
                clip_G[g0:g1, c0:c1] = _beyond(a, thr, tie_up)
                np.rint(s, out=s)
                np.clip(s, -127, 127, out=s)
                np.copyto(codes_G[g0:g1, c0:c1], s, casting="unsafe")
            else:
                codes_G[g0:g1, c0:c1] = encode(s, fmt, saturate=True, threads=1)
                np.abs(s, out=s)
                clip_G[g0:g1, c0:c1] = _beyond(s, thr, tie_up)

        K.map_tiles(layout, threads, tile)
        ss = layout.scale_shape
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=X.reshape(ss),
            scale_codes=(e + 127).astype(np.uint8).reshape(ss),
            clipped=layout.ungroup(clip_G),
        )

    def _element_values(self, codes, dtype) -> np.ndarray:
        if self.is_int:
            return codes.astype(dtype) / dtype.type(64)
        return decode(codes, self.fmt, dtype=dtype)

    def _dequantize(self, q, threads):
        lay = q.layout
        if self.is_int:  # int8 codes (-127..127), read as bytes: value = int8(byte) / 64
            table = np.arange(256, dtype=np.uint8).view(np.int8).astype(q.dtype) / q.dtype.type(64)
            C = lay.groups(q.codes).view(np.uint8)
        else:
            table = _value_table(self.fmt).astype(q.dtype)  # every element value is exact in it
            C = lay.groups(q.codes)
        # a power-of-two scale: the product in the dtype is the exact one, rounded once
        return lay.ungroup(K.table_dequantize(C, table, q.scales, lay, threads, q.dtype))

    def _levels(self, q, g):
        if self.is_int:
            vals = np.arange(-127, 128) / 64
        else:
            vals = all_values(self.fmt).finite_sorted()
        return vals * q._group_scale(g)

    def _fields(self, codes):
        return codes.astype(np.int64) & 0xFF if self.is_int else codes


# ============================================================== NVFP4
@dataclass(frozen=True, kw_only=True)
class NVFP4(Scheme):
    """NVFP4: E2M1 elements, blocks of 16 with an E4M3 scale, and an FP32 per-tensor scale
    (NVIDIA, "Introducing NVFP4 for Efficient and Accurate Low-Precision Inference", 2025;
    torchao ``nvfp4_tensor``).

    ``s_t = fl32(amax(x) / (448 * 6))``; per block ``s_b = E4M3(clamp(A / (6 s_t), 2^-6, 448))``;
    ``code = E2M1(x / (s_b s_t))`` saturating; ``x~ = fl32(value * s_b * s_t)``.  Each rounding
    is done once from the exact quotient (torchao rounds ``A / 6`` and ``/ s_t`` in float32
    first).  Worked number: amax 2688 -> s_t = 1; block A = 6 -> s_b = 1, x = 2.5 -> 2
    (ties to even).  ``scales`` = the decoded s_b, ``scale_codes`` their E4M3 codes,
    ``tensor_scale`` = s_t.  4 + 8/16 + 32/n bits.
    """

    family: ClassVar[str] = "nvfp4"
    examples: ClassVar[tuple[str, ...]] = ("nvfp4", "nvfp4:block=32")

    block_size: int = _opt(16, "block", "int")

    def __post_init__(self) -> None:
        _check_int("block_size", self.block_size, 1)

    def layout(self, shape) -> Layout:
        return layout_for(shape, block_size=self.block_size)

    @property
    def code_bits(self) -> int:
        return 4

    @property
    def code_format(self) -> str | None:
        return "float4_e2m1fn"

    _group_bits: ClassVar[int] = 8

    def _overhead_bits(self, layout):
        return 8 * layout.n_groups + 32

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        e2m1, e4m3 = get_format("float4_e2m1fn"), get_format("float8_e4m3fn")
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        at = A.max()
        st = (at / wd.type(448 * 6)).astype(wd) if at > 0 else wd.type(1)
        if st == 0:
            st = wd.type(1)
        sbq = np.clip(A.astype(np.float64) / (6.0 * float(st)), 2.0**-6, 448.0)
        sc = encode(sbq, e4m3, saturate=True)
        sb = decode(sc, e4m3)
        total = sb * float(st)  # exact: 4 + 24 significant bits
        codes_G = np.empty(G.shape, np.uint8)
        clip_G = np.empty(G.shape, bool)
        thr, tie_up = _sat_threshold(e2m1)

        def tile(g0, g1, c0, c1, scratch):
            t = scratch("t", (g1 - g0, c1 - c0), np.float64)
            np.divide(G[g0:g1, c0:c1], total[g0:g1, None], out=t)
            codes_G[g0:g1, c0:c1] = encode(t, e2m1, saturate=True, threads=1)
            np.abs(t, out=t)
            clip_G[g0:g1, c0:c1] = _beyond(t, thr, tie_up)

        K.map_tiles(layout, threads, tile)
        ss = layout.scale_shape
        return QuantizedTensor(
            scheme=self,
            layout=layout,
            dtype=wd,
            codes=layout.ungroup(codes_G),
            scales=sb.astype(np.float32).reshape(ss),
            scale_codes=sc.reshape(ss),
            tensor_scale=float(st),
            clipped=layout.ungroup(clip_G),
        )

    def _dequantize(self, q, threads):
        lay = q.layout
        s = np.asarray(q.scales, np.float64).reshape(-1) * q.tensor_scale  # E4M3 x FP32: exact in float64
        # E2M1 value (2 bits) x s (<= 28 bits): exact in float64, rounded once to the dtype
        out = K.table_dequantize(lay.groups(q.codes), _value_table("float4_e2m1fn"), s, lay, threads, q.dtype)
        return lay.ungroup(out)

    def _levels(self, q, g):
        return all_values("float4_e2m1fn").finite_sorted() * (q._group_scale(g) * q.tensor_scale)


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


# ============================================================== registry & parsing
SCHEMES: dict[str, type[Scheme]] = {
    cls.family: cls for cls in (FloatCast, AbsmaxInt, AsymmetricUInt, NF4, BnbFP4, CodebookQuant, MX, NVFP4, LogQuant, Binary, Ternary)
}
"""Every scheme class by family name; :func:`parse_scheme` tries their heads in this order."""

PRESETS: tuple[str, ...] = (
    "int8",
    "int4:block=64",
    "int4:block=128",
    "nf4:block=64",
    "nf4:block=64,dq",
    "float8_e4m3fn:scaled",
    "float8_e5m2:scaled",
    "mxfp8_e4m3",
    "mxfp6_e2m3",
    "mxfp4",
    "nvfp4",
    "bfloat16",
    "float16",
)
"""Standard presets for the Tensor Lab page, each a canonical scheme string."""


def parse_scheme(text: str | Scheme) -> Scheme:
    """The scheme a string names: ``parse_scheme("nf4:block=64,dq")`` -> ``NF4(block_size=64, double_quant=True)``.

    A Scheme is returned unchanged.  Unknown heads, keys or bad values raise ValueError.
    """
    if isinstance(text, Scheme):
        return text
    if not isinstance(text, str):
        raise ValueError(f"a scheme is a string like 'nf4:block=64', got {type(text).__name__}")  # noqa: TRY004 - bad options are ValueErrors here
    s = text.strip()
    head, _, rest = s.partition(":")
    head = head.strip().lower()
    if not head:
        raise ValueError("empty scheme string")
    for cls in SCHEMES.values():
        base = cls._match_head(head)
        if base is not None:
            break
    else:
        raise ValueError(
            f"unknown scheme {head!r}; families: int2..int16, uint1..uint16, nf4, bnb_fp4, codebook, "
            f"{', '.join(_MX_ELEMENTS)}, nvfp4, log2..log8, binary, ternary, or a float format ({', '.join(FORMATS)})"
        )
    opts = {f.metadata["key"]: f for f in fields(cls) if f.metadata.get("key")}
    by_name = {f.name: f for f in opts.values()}
    kwargs = dict(base)
    for item in filter(None, (p.strip() for p in rest.split(","))) if rest else ():
        key, eq, val = item.partition("=")
        key = key.strip().lower()
        f = opts.get(key) or by_name.get(key)
        if f is None:
            raise ValueError(f"{head}: unknown option {key!r}; valid: {', '.join(opts) or 'none'}")
        if f.name in kwargs and f.name not in base:
            raise ValueError(f"{head}: option {key!r} given twice")
        kind = f.metadata["kind"]
        if not eq:
            if kind != "bool":
                raise ValueError(f"{head}: option {key!r} needs a value ({key}=...)")
            kwargs[f.name] = True
        else:
            kwargs[f.name] = _parse_value(kind, val, key)
    return cls(**kwargs)


def quantize(x, scheme: Scheme | str, *, threads: int | None = None) -> QuantizedTensor:
    """Quantize ``x`` with ``scheme`` (a :class:`Scheme` or its string form).

    ``threads``: worker threads for large inputs (default one per core).
    Example: ``quantize(np.float32([0.5, -2, 0.3, 1]), "int8").codes`` -> ``[32, -127, 19, 64]``.
    """
    return parse_scheme(scheme).quantize(x, threads=threads)
