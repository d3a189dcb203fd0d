"""Block formats with a scale per block: OCP Microscaling (:class:`MX`) and :class:`NVFP4`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..codec import all_values, decode, encode
from ..formats import FloatFormat, get_format
from ._base import QuantizedTensor, Scheme, _beyond, _check_int, _opt, _require_finite, _sat_threshold, _value_table

__all__ = ["MX", "MX_SCALE_ROUNDINGS", "NVFP4"]


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

    e is clamped to the scale format's range, [-127, 127] for E8M0; an all-zero block gets its
    smallest scale, 2^-127.  MXINT8 elements are 8-bit two's complement with 6 fraction bits
    (±127/64), rounded half to even (microxcaling rounds half away).  ``scales`` = X,
    ``scale_codes`` = X's codes in ``scale_format`` (E8M0: the byte e + 127).

    The formats are data: ``element`` (a FloatFormat name, or ``"int8"``) and ``scale_format``
    (a power-of-two format: no mantissa bits; ``float8_e8m0fnu`` by default, the ``scale=``
    option) -- ``MX(element="float4_e2m1fn", scale_format="float8_e8m0fnu")`` is ``mxfp4``.
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
    scale_format: str = _opt("float8_e8m0fnu", "scale", "str")

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
        sf = _format_name(self.scale_format, "MX scale_format")
        if get_format(sf).nmant != 0:
            raise ValueError(
                f"MX scales are powers of two: scale_format must be a format without mantissa bits (float8_e8m0fnu), got {self.scale_format!r}"
                " (a scale with mantissa bits is NVFP4's rule: nvfp4:scale=...)"
            )
        object.__setattr__(self, "scale_format", sf)

    @classmethod
    def _match_head(cls, head):
        head = _MX_ALIASES.get(head, head)
        return {"element": _MX_ELEMENTS[head]} if head in _MX_ELEMENTS else None

    def _head(self):
        return {v: k for k, v in _MX_ELEMENTS.items()}[self.element]

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

    @property
    def _group_bits(self) -> int:  # type: ignore[override]
        return self.scale_fmt.bits  # one E8M0 byte

    @property
    def scale_fmt(self) -> FloatFormat:
        return get_format(self.scale_format)

    @property
    def scale_exponents(self) -> tuple[int, int]:
        """The range of e the scale format holds: (-127, 127) for E8M0."""
        sf = self.scale_fmt
        return int(np.frexp(sf.smallest_subnormal)[1]) - 1, int(sf.emax)

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
        """The unbiased exponent e of each block absmax's scale 2^e (int64), by ``scale_rounding``."""
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
        lo, hi = self.scale_exponents
        e = np.where(A > 0, e, lo)
        return np.clip(e, lo, hi)

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
            scale_codes=encode(X, self.scale_fmt).astype(self.scale_fmt.code_dtype).reshape(ss),
            clipped=layout.ungroup(clip_G),
        )

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


def _format_name(name, what: str) -> str:
    try:
        return get_format(name).name
    except ValueError:
        raise ValueError(f"{what} must be a float format name, got {name!r}") from None


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

    The formats are data: ``element`` (``float4_e2m1fn``, the ``element=`` option) and
    ``scale_format`` (``float8_e4m3fn``, ``scale=``); 6 and 448 above are their largest values
    and 2^-6 the scale's smallest normal.  Any float format of up to 8 bits can be either
    (the element a signed one): ``nvfp4:scale=float8_e5m2`` takes E5M2 block scales.
    """

    family: ClassVar[str] = "nvfp4"
    examples: ClassVar[tuple[str, ...]] = ("nvfp4", "nvfp4:block=32")

    block_size: int = _opt(16, "block", "int")
    element: str = _opt("float4_e2m1fn", "element", "str")
    scale_format: str = _opt("float8_e4m3fn", "scale", "str")

    def __post_init__(self) -> None:
        _check_int("block_size", self.block_size, 1)
        el = _format_name(self.element, "NVFP4 element")
        sf = _format_name(self.scale_format, "NVFP4 scale_format")
        if get_format(el).bits > 8 or not get_format(el).signed:
            raise ValueError(f"NVFP4 element must be a signed float format of at most 8 bits, got {self.element!r}")
        if get_format(sf).bits > 8:
            raise ValueError(f"NVFP4 scale_format must be a float format of at most 8 bits, got {self.scale_format!r}")
        object.__setattr__(self, "element", el)
        object.__setattr__(self, "scale_format", sf)

    @property
    def fmt(self) -> FloatFormat:
        return get_format(self.element)

    @property
    def scale_fmt(self) -> FloatFormat:
        return get_format(self.scale_format)

    @property
    def code_bits(self) -> int:
        return self.fmt.bits

    @property
    def code_format(self) -> str | None:
        return self.element

    @property
    def _group_bits(self) -> int:  # type: ignore[override]
        return self.scale_fmt.bits

    def _overhead_bits(self, layout):
        return self._group_bits * layout.n_groups + 32

    def _quantize(self, arr, layout, threads):
        wd = arr.dtype
        e2m1, e4m3 = self.fmt, self.scale_fmt
        G = layout.groups(arr)
        A = K.group_absmax(G, layout, threads)
        _require_finite(A, self)
        at = A.max()
        st = wd.type(np.float64(at) / (e4m3.max * e2m1.max)) if at > 0 else wd.type(1)  # = fl(at / 2688): one rounding
        if st == 0:
            st = wd.type(1)
        sbq = np.clip(A.astype(np.float64) / (e2m1.max * float(st)), e4m3.smallest_normal, e4m3.max)
        sc = encode(sbq, e4m3, saturate=True)
        sb = decode(sc, e4m3)
        total = sb * float(st)  # exact: 4 + 24 significant bits
        codes_G = np.empty(G.shape, e2m1.code_dtype)
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
        out = K.table_dequantize(lay.groups(q.codes), _value_table(self.fmt), s, lay, threads, q.dtype)
        return lay.ungroup(out)

    def _levels(self, q, g):
        return all_values(self.fmt).finite_sorted() * (q._group_scale(g) * q.tensor_scale)
