"""Builders of the Tensor Lab page (``/tensor``): what quantizing one tensor does to it.

Plotly figures, pandas tables and matplotlib PNGs (none imports streamlit), built from the
few thousand numbers that :mod:`quantlib.analysis` reduces a tensor of up to 64 Mi values to
(histograms, pooled error maps, the scatter sample, the Pareto front); a chart never gets
one point per element.  By what they build:

* :mod:`.labels`: :data:`LABELS` (English defaults of every word; the page passes the
  translated ones, ``lab.tensor.display.tensor_labels``), colours, level-drawing limits;
* :mod:`.tables`: :func:`rounding_table`, :func:`metrics_rows`, :func:`compare_table`;
* :mod:`.charts`: the plotly figures and :func:`figure_html`;
* :mod:`.png`: the PNG downloads.

Numbers as text (:func:`num`, :func:`pct`, :func:`db`, :func:`nbytes_text`) come from
:mod:`figures.text`.  Everything is re-exported here: ``from figures import tensor as figs``.
"""

from __future__ import annotations

from ..text import db, nbytes_text, num, pct
from .charts import (
    channel_figure,
    error_histogram_figure,
    figure_html,
    heatmap_figure,
    level_lines,
    per_tensor_figure,
    rate_distortion_figure,
    scatter_figure,
    value_histogram_figure,
)
from .labels import FAMILY_COLORS, FAMILY_NAMES, LABELS, LEVEL_LINES_MAX, LEVEL_TICKS_MAX
from .png import error_histogram_png, rate_distortion_png, value_histogram_png
from .tables import COMPARE_FIELDS, compare_table, metrics_rows, rounding_table

__all__ = [
    "LABELS",
    "LEVEL_LINES_MAX",
    "LEVEL_TICKS_MAX",
    "FAMILY_COLORS",
    "FAMILY_NAMES",
    "COMPARE_FIELDS",
    "num",
    "pct",
    "db",
    "nbytes_text",
    "rounding_table",
    "metrics_rows",
    "compare_table",
    "value_histogram_figure",
    "level_lines",
    "error_histogram_figure",
    "scatter_figure",
    "heatmap_figure",
    "channel_figure",
    "rate_distortion_figure",
    "per_tensor_figure",
    "figure_html",
    "value_histogram_png",
    "error_histogram_png",
    "rate_distortion_png",
]
