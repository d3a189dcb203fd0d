"""quantlib: exact number formats and quantization, numpy only.

Modules: :mod:`quantlib.formats` (what a format is, its limits, the registry),
:mod:`quantlib.codec` (vectorized encode / decode / cast of arrays),
:mod:`quantlib.exact` (one code at a time, in exact fractions: what the Bit Inspector shows),
:mod:`quantlib.schemes` (quantize a tensor: int, NF4, MX, NVFP4, ...), :mod:`quantlib.calibration`,
:mod:`quantlib.metrics`, :mod:`quantlib.tensorio` (safe tensor files), :mod:`quantlib.samples`.
"""

from .codec import AllValues, all_values, cast, classify, decode, encode
from .formats import ALIASES, FORMATS, FloatFormat, format_names, get_format
from .rounding import KINDS, ROUNDING_MODES
from .schemes import PRESETS, SCHEMES, QuantizedTensor, parse_scheme, quantize

__all__ = [
    "ALIASES",
    "FORMATS",
    "KINDS",
    "ROUNDING_MODES",
    "AllValues",
    "PRESETS",
    "SCHEMES",
    "QuantizedTensor",
    "parse_scheme",
    "quantize",
    "FloatFormat",
    "all_values",
    "cast",
    "classify",
    "decode",
    "encode",
    "format_names",
    "get_format",
]
