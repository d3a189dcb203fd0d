"""quantlib: exact number formats and quantization, numpy only."""
from .formats import ALIASES, FORMATS, FloatFormat, format_names, get_format

__all__ = ["ALIASES", "FORMATS", "FloatFormat", "format_names", "get_format"]
