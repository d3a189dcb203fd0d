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
``q4_0`` ``q8_0``  fp16 d per 32 (q4_1, q5_1: and a min)   llama.cpp / ggml
``q2_k`` ``q6_k``  256-blocks, 6/4-bit sub-block scales    llama.cpp k-quants
``iq4_nl``         fp16 d per 32, 16-level codebook        llama.cpp
=================  ======================================  =============================

The ggml types (``q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl``,
:mod:`quantlib.schemes.ggml`) are bit-exact with llama.cpp: the same bytes, kept in
``QuantizedTensor.blocks``, and the same float32 values; their block is fixed by the type.

Exactness: every rounding is done once, from the exact value, unless a docstring says which
float32 operations a scheme reproduces on purpose (the bitsandbytes ones, to give the same
codes as bitsandbytes).
"""

from __future__ import annotations

from dataclasses import fields

from ..formats import FORMATS
from ._base import DoubleQuantState, QuantizedTensor, Scheme, _parse_value
from .codebook import DOUBLE_QUANT_RULES, NF4, BnbFP4, CodebookQuant, double_quantize
from .float import FloatCast
from .ggml import GGML_TYPES, GGMLQuant, from_ggml_bytes, ggml_sub_blocks
from .integer import AbsmaxInt, AsymmetricUInt, LogQuant
from .microscaling import _MX_ELEMENTS, MX, MX_SCALE_ROUNDINGS, NVFP4
from .sign import Binary, Ternary

__all__ = [
    "DOUBLE_QUANT_RULES",
    "GGML_PRESETS",
    "GGML_TYPES",
    "MX_SCALE_ROUNDINGS",
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
    "GGMLQuant",
    "LogQuant",
    "QuantizedTensor",
    "Scheme",
    "Ternary",
    "double_quantize",
    "from_ggml_bytes",
    "ggml_sub_blocks",
    "parse_scheme",
    "quantize",
]


# ============================================================== registry & parsing
SCHEMES: dict[str, type[Scheme]] = {
    cls.family: cls for cls in (FloatCast, AbsmaxInt, AsymmetricUInt, NF4, BnbFP4, CodebookQuant, MX, NVFP4, LogQuant, Binary, Ternary, GGMLQuant)
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

GGML_PRESETS: tuple[str, ...] = ("q8_0", "q6_k", "q5_k", "q4_k", "q4_0", "iq4_nl", "q3_k", "q2_k")
"""llama.cpp's common types, most bits first (the ``Q*_K`` of Q4_K_M etc. and the classic ones)."""


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
            f"{', '.join(_MX_ELEMENTS)}, nvfp4, log2..log8, binary, ternary, the ggml types {', '.join(GGML_TYPES)}, "
            f"or a float format ({', '.join(FORMATS)})"
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
