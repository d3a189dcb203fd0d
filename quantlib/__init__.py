"""quantlib: exact number formats and quantization, numpy only.

Layers: :mod:`quantlib.formats` (what a format is, its limits, the registry),
:mod:`quantlib.codec` (vectorized encode / decode / cast of arrays),
:mod:`quantlib.exact` (one code at a time, in exact fractions: what the Bit Inspector shows).
"""

from .codec import AllValues, all_values, cast, classify, decode, encode
from .formats import ALIASES, FORMATS, FloatFormat, format_names, get_format
from .rounding import KINDS, ROUNDING_MODES

__all__ = [
    "ALIASES",
    "FORMATS",
    "KINDS",
    "ROUNDING_MODES",
    "AllValues",
    "FloatFormat",
    "all_values",
    "cast",
    "classify",
    "decode",
    "encode",
    "format_names",
    "get_format",
]
