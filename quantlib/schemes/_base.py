"""What every scheme shares: the :class:`Scheme` base, :class:`QuantizedTensor`, the option
fields of the string form (``_opt``) and the checks of their values.

A scheme's string form is ``head[:opt,opt,...]``; ``str(scheme)`` prints only the options that
differ from their defaults (``nf4:block=64,dq``), and ``parse_scheme(str(s)) == s``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from functools import cached_property
from typing import ClassVar

import numpy as np

from .. import _kernels as K
from ..blocks import Layout, default_threads
from ..codec._decode import _decode_table
from ..formats import FloatFormat, get_format
from ..granularity import Granularity, PerAxis, PerBlock, PerTensor, granularity_of


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


@dataclass(frozen=True, kw_only=True)
class GroupView:
    """What one group stores, as :meth:`QuantizedTensor.group` reads it.

    ``index``: the group number; ``size``: its real elements; ``where``: its place
    (:meth:`~quantlib.blocks.Layout.group_index`, e.g. ``("block", 1, 96, 100)``); ``scale``,
    ``scale_code`` (an E8M0 byte, an E4M3 code), ``zero_point``; ``tensor_scale`` (NVFP4);
    ``dq_original`` / ``dq_code``: with double quantization the exact absmax and its 8-bit code
    (``scale`` is then the absmax it gives back).  None where the scheme stores no such thing.
    """

    index: int
    size: int
    where: tuple
    scale: float | None = None
    scale_code: int | None = None
    zero_point: int | None = None
    tensor_scale: float | None = None
    dq_original: float | None = None
    dq_code: int | None = None


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
    blocks : uint8 ndarray or None
        The ggml types' stored bytes, ``(*x.shape[:-1], blocks_per_row * type_size)``.
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
    blocks: np.ndarray | None = None

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

    def group(self, group: int) -> GroupView:
        """Group ``group``'s scale, stored scale code, zero point and double-quant state:
        ``quantize(x, "int8:axis=0").group(2).scale`` is the absmax of row 2."""
        g = self.layout._check_group(group)

        def at(a):
            return None if a is None else np.asarray(a).reshape(-1)[g]

        dq = self.double_quant
        return GroupView(
            index=g,
            size=self.layout.group_size(g),
            where=self.layout.group_index(g),
            scale=None if self.scales is None else float(at(self.scales)),
            scale_code=None if self.scale_codes is None else int(at(self.scale_codes)),
            zero_point=None if self.zero_points is None else int(at(self.zero_points)),
            tensor_scale=self.tensor_scale,
            dq_original=None if dq is None else float(at(dq.original)),
            dq_code=None if dq is None else int(at(dq.codes)),
        )

    def group_elements(self, a, group: int, limit: int | None = None) -> np.ndarray:
        """Group ``group``'s elements of ``a`` (x, the codes, the dequantized values, ... of this
        shape), at most ``limit`` (:meth:`~quantlib.blocks.Layout.group_elements`)."""
        return self.layout.group_elements(a, group, limit)

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
    @property
    def granularity(self) -> Granularity:
        """Which elements share a scale: ``int8:axis=1`` -> PerAxis(1), ``nf4:block=64`` ->
        PerBlock(64), ``int8`` (and an unscaled cast) -> PerTensor()."""
        return granularity_of(getattr(self, "axis", None), getattr(self, "block_size", None))

    def with_granularity(self, granularity: Granularity) -> Scheme:
        """This scheme with another granularity: ``int8`` with PerBlock(64) -> ``int8:block=64``.
        ValueError if the scheme does not allow it (MX takes only blocks, a plain cast none)."""
        kinds = {f.name: f.metadata.get("kind") for f in fields(self)}
        g = granularity
        if isinstance(g, PerBlock):
            kw = {"block_size": g.size, "axis": None}
        elif isinstance(g, PerAxis):
            kw = {"block_size": None, "axis": g.axis}
        elif isinstance(g, PerTensor):
            kw = {"block_size": None, "axis": None}
        else:
            raise ValueError(f"a granularity is PerTensor(), PerAxis(k) or PerBlock(B), got {g!r}")
        kw = {k: v for k, v in kw.items() if k in kinds or v is not None}
        if any(k not in kinds or (v is None and kinds[k] == "int") for k, v in kw.items()):
            raise ValueError(f"{self.head} takes {type(self.granularity).__name__} granularity only, not {g!r}")
        return replace(self, **kw)

    def layout(self, shape) -> Layout:
        """The groups of a tensor of ``shape`` under this scheme (:meth:`granularity`'s layout)."""
        return self.granularity.layout(shape)

    @property
    def scale_format(self) -> str | None:
        """The format (name) the stored ``scale_codes`` are codes of, or None when the scales are
        kept as float32 values: ``"float8_e8m0fnu"`` for MX and log, ``"float8_e4m3fn"`` for NVFP4."""
        return None

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
