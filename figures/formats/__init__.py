"""Builders of the Format Comparison page (``/formats``): tables and plotly figures of the
range and precision of several :class:`quantlib.FloatFormat` side by side.

Every builder takes quantlib objects (formats, exact values) and returns a pandas table or
a ``plotly.graph_objects.Figure``; nothing here imports streamlit.  User-facing words come
from ``labels`` (English defaults in :data:`LABELS`; the page passes the translated ones).

Magnitudes are drawn on log2 axes: a position ``k`` is the magnitude ``2**k``, so one unit
is one *binade* (the values between two powers of two, which share one exponent).  Every
position is computed from exact fractions (``log2`` of numerator and denominator), so
custom formats far beyond float64 (E16M7 reaches 2**32768) still plot.

Point budget: a format contributes a few points per chart (the range bar: 6; the precision
curve: 2 for the subnormal ramp, 2 per binade, or a 5-point envelope when it has more than
:data:`TEETH_MAX` binades, 1 for max); only the number line draws every value, and only for
formats of at most 8 bits.

By what they build: :mod:`.labels` (words, colours, budgets), :mod:`.common` (exact values as
text, the typed inputs), :mod:`.tables`, :mod:`.charts`.  Everything is re-exported here:
``from figures import formats as figs``.
"""

from __future__ import annotations

from .charts import (  # noqa: F401
    CodebookView,
    NUMBER_LINE_VIEWS,
    codebooks,
    dynamic_range_figure,
    number_line_figure,
    precision_figure,
    precision_points,
    zoom_window,
)
from .common import (  # noqa: F401
    Reference,
    format_colors,
    log2q,
    num,
    parse_references,
    parse_value_or_range,
    pow2,
    short,
)
from .labels import (  # noqa: F401
    CODEBOOK_COLOR,
    FORMAT_COLORS,
    KIND_COLORS,
    KIND_TINTS,
    LABELS,
    MARK_COLOR,
    NUMBER_LINE_MAX_BITS,
    REF_COLOR,
    TEETH_MAX,
)
from .tables import (  # noqa: F401
    CodeTable,
    _rel_error_bound,
    code_table,
    codebook_properties,
    exact_limits_table,
    landing_table,
    properties_hover,
    properties_table,
    takeaways,
)

__all__ = [
    "LABELS",
    "TEETH_MAX",
    "NUMBER_LINE_MAX_BITS",
    "FORMAT_COLORS",
    "KIND_COLORS",
    "KIND_TINTS",
    "Reference",
    "CodebookView",
    "CodeTable",
    "codebooks",
    "num",
    "short",
    "pow2",
    "log2q",
    "format_colors",
    "parse_references",
    "parse_value_or_range",
    "properties_table",
    "properties_hover",
    "exact_limits_table",
    "dynamic_range_figure",
    "precision_figure",
    "precision_points",
    "zoom_window",
    "number_line_figure",
    "code_table",
    "codebook_properties",
    "landing_table",
    "takeaways",
]
