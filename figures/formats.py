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
formats of at most 8 bits.  Figures are built in one go from plain dicts (see :func:`_figure`).
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from quantlib import FloatFormat, all_values, exact
from quantlib.rounding import KINDS

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
    "landing_table",
    "takeaways",
]

TEETH_MAX = 64
"""Formats with more binades than this draw the precision envelope instead of every tooth."""

NUMBER_LINE_MAX_BITS = 8
"""The number line and the code table show formats of at most this many bits (256 codes)."""

FORMAT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
"""One colour per chosen format, in order (tableau 10), the same in every chart."""

KIND_COLORS = {"zero": "#7f7f7f", "subnormal": "#ff7f0e", "normal": "#1f77b4", "inf": "#9467bd", "nan": "#d62728"}
KIND_TINTS = {"zero": "#e6e6e6", "subnormal": "#ffe0bd", "normal": "#d6e6f5", "inf": "#e8dcf4", "nan": "#f8d3d3"}
CODEBOOK_COLOR = "#2ca02c"
REF_COLOR = "#7a7a7a"
MARK_COLOR = "#e6007e"

LABELS: dict[str, str] = {
    # classes (same words as the Bit Inspector)
    "zero": "zero",
    "subnormal": "subnormal",
    "normal": "normal",
    "inf": "infinity",
    "nan": "NaN",
    # axes
    "axis_magnitude": "magnitude |x| (log2 scale: 2^k)",
    "axis_rel_spacing": "relative spacing ulp(x) / |x| (log2 scale)",
    "axis_value": "value",
    "axis_scaled": "value ÷ the format's max",
    "axis_log_positive": "positive values (log2 scale: 2^k)",
    # dynamic-range chart
    "range_ends": "{lo} … {hi}",
    "hover_normal_range": "{name}: normal numbers from {lo} to {hi}, {binades} binades",
    "hover_subnormal_range": "{name}: subnormals from {lo} to {hi} (fewer significant bits)",
    # precision chart
    "legend_overflow": "overflow above max",
    "hover_binade": "{name}: |x| from {lo} to {hi}: ulp = {ulp}, ulp/|x| from {rel_hi} down to {rel_lo}",
    "hover_envelope": "{name}: in each of its {n} binades ulp/|x| falls from {rel_hi} to {rel_lo} (the teeth are too dense to draw)",
    "hover_ramp": "{name}: subnormals, fixed step {ulp}: ulp/|x| grows from {rel_lo} to 100% toward the smallest subnormal {tiny}",
    "hover_overflow": "{name} overflows above max = {max}",
    # number line
    "codebook_suffix": "{name} (codebook)",
    "legend_codebook": "codebook value (not IEEE)",
    "hover_value": "{name} {hex}: {value} ({kind})",
    "hover_codebook": "{name} code {code}: {value}",
    # reference lines
    "mark_value": "your value {value}",
    "mark_range": "your range {lo} … {hi}",
    # properties table
    "col_property": "Property",
    "prop_bits": "Bits: sign + exponent + mantissa",
    "prop_bias": "Exponent bias",
    "prop_max": "Largest finite value (max)",
    "prop_normal": "Smallest normal",
    "prop_subnormal": "Smallest subnormal",
    "prop_eps": "eps (gap from 1 to the next value)",
    "prop_digits": "Decimal digits of precision",
    "prop_binades": "Dynamic range in binades (factors of 2)",
    "prop_decades": "Dynamic range in decades (factors of 10)",
    "prop_db": "Dynamic range in dB",
    "prop_finite": "Distinct finite values",
    "prop_inf": "Infinity",
    "prop_nan": "NaN",
    "prop_negzero": "Negative zero",
    "cell_digits": "{digits} (numpy: {precision})",
    "cell_none": "none",
    "cell_no_subnormals": "none (no subnormals)",
    "cell_inf": "±inf",
    "cell_nan_codes": "{n} codes",
    "cell_nan_code": "1 code: {hex}",
    "cell_yes": "yes",
    "cell_negzero_fnuz": "no: its code is the NaN",
    "cell_negzero_unsigned": "no: unsigned",
    "cell_no_zero": "no zero at all",
    "hover_exact": "code {hex} = {decimal}",
    "hover_digits": "log10(2^(M+1)) = {digits}; numpy's finfo.precision = int(−log10(eps)) = {precision}",
    "hover_bits": "{layout} ({bits} bits)",
    "hover_db": "20 × log10(max / smallest subnormal)",
    "hover_more_digits": "… ({n} digits in all)",
    # exact limits table
    "col_format": "Format",
    "col_limit": "Limit",
    "col_code": "Code",
    "col_power": "Power of two",
    "col_decimal": "Exact decimal (every digit)",
    # code table
    "code_title": "{hex} = {value} ({kind})",
    # where does my number land
    "col_stored": "Stored as",
    "col_abs_error": "Abs error",
    "col_rel_error": "Rel error",
    "col_result": "Result",
    "col_low": "Low end stored as",
    "col_high": "High end stored as",
    "col_worst": "Worst rel. error (round to nearest)",
    "res_exact": "exact",
    "res_rounded": "rounded",
    "res_subnormal": "rounded; subnormal: fewer significant bits",
    "res_underflow": "underflow to {stored}",
    "res_overflow": "overflow to {stored} (max {max})",
    "res_saturated": "overflow, saturated to {stored}",
    "res_cannot": "cannot store: {reason}",
    "res_fits": "fits: every value in the normal range",
    "res_low_subnormal": "low end is subnormal (fewer significant bits)",
    "res_low_underflow": "low end underflows (the smallest value is {tiny})",
    "res_crosses_zero": "the range includes 0: the smallest magnitudes round to 0",
    "res_nan": "{value} is stored as NaN",
    "res_high_overflow": "high end overflows (max {max})",
    # key takeaways
    "tk_widest": "Of the chosen formats, **{name}** has the widest range: {binades} binades ({decades} decades), from {tiny} to {max}.",
    "tk_finest": "**{name}** has the finest precision: eps = {eps}, about {digits} decimal digits.",
    "tk_same_range": "**{names}** have the same {e} exponent bits and reach about the same max ({maxes}), but differ in precision: {digits} decimal digits.",
    "tk_overflow": "**{name}** overflows above {max}, where {wide} still reaches {wide_max}.",
    "tk_tradeoff": "Same {bits} bits, split differently: **{fine}** (E{fe}M{fm}) overflows above {fine_max}, while **{wide}** (E{we}M{wm}) reaches {wide_max}; in exchange its values are {ratio}× coarser ({wide_digits} instead of {fine_digits} decimal digits).",
    "tk_lesson": "Exponent bits buy range, mantissa bits buy precision: gradients, which span many orders of magnitude, need range (E5M2); weights and activations, whose scale is known, need precision (E4M3).",
    "tk_few_values": "**{name}** holds only {n} distinct values: {values}. Between its two largest there is a gap of {gap} ({pct}% of the value).",
    "tk_ref_overflow": "{value} overflows in {bad} but fits in {good}.",
    "tk_ref_all_fit": "{value} lies in the normal range of every chosen format.",
    "tk_ref_none_fit": "{value} overflows in every chosen format.",
    "tk_ref_underflow": "{value} underflows to 0 in {bad}.",
    "tk_ref_subnormal": "{value} is subnormal (fewer significant bits) in {bad}.",
    "tk_and": "{a} and {b}",
    "tk_sep": ", ",
    "tk_max_of": "{name} (max {max})",
}
"""Every user-facing string of the builders, by key; the page passes translations of these."""


def _labels(labels: Mapping[str, str] | None) -> Mapping[str, str]:
    if not labels:
        return LABELS
    return {**LABELS, **labels}


# ============================================================== numbers as text
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pow2(k: int) -> str:
    """'2⁻¹²⁶' (Unicode superscripts, for tables and hovers)."""
    return "2" + str(int(k)).translate(_SUP)


def _decimal(q: Fraction, digits: int) -> tuple[decimal.Decimal, bool]:
    ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emin=-(10**9), Emax=10**9)
    d = ctx.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))
    return d, not ctx.flags[decimal.Inexact]


def num(q: Fraction | int | float | None, digits: int = 4, *, mark: bool = True) -> str:
    """A short decimal of an exact value: '448', '65504', '0.015625', '≈3.403e38', '≈1.401e-45'.

    Exact when it fits in ``digits`` significant digits (then no '≈'); plain notation for
    magnitudes from 1e-4 to below 1e6, else 'e' notation.  ``mark=False`` drops the '≈'.
    """
    if q is None:
        return "—"
    if isinstance(q, float):
        if math.isnan(q):
            return "nan"
        if math.isinf(q):
            return "inf" if q > 0 else "-inf"
    q = Fraction(q)
    if q == 0:
        return "0"
    d, is_exact = _decimal(q, digits)
    adj = d.adjusted()
    if -4 <= adj < 6:
        text = format(d.normalize(), "f")
    else:
        mant = d.scaleb(-adj).normalize()
        text = f"{format(mant, 'f')}e{adj}"
    return text if (is_exact or not mark) else "≈" + text


def short(q: Fraction | int | None, digits: int = 4, keep: int = 8) -> str:
    """Every digit when that takes at most ``keep`` characters ('65504', '0.015625', '-0.5'),
    else :func:`num` with ``digits`` significant digits ('≈3.403e38')."""
    if q is None:
        return "—"
    q = Fraction(q)
    if q.denominator & (q.denominator - 1) == 0:  # dyadic: a finite decimal
        text = exact.exact_decimal(q)
        if len(text) <= keep:
            return text
    return num(q, digits)


def log2q(q: Fraction) -> float:
    """log2 of a positive exact value, for plotting (works far beyond float64)."""
    q = Fraction(q)
    if q <= 0:
        raise ValueError("log2 of a non-positive value")
    return math.log2(q.numerator) - math.log2(q.denominator)


def _short(text: str, keep: int = 80, more: str = "… ({n} digits in all)") -> str:
    if len(text) <= keep:
        return text
    digits = sum(ch.isdigit() for ch in text)
    return text[:keep] + more.format(n=digits)


def format_colors(fmts: Sequence[FloatFormat]) -> dict[str, str]:
    """Format name -> colour, by position in the selection (repeats after 10)."""
    return {f.name: FORMAT_COLORS[i % len(FORMAT_COLORS)] for i, f in enumerate(fmts)}


def _digits(fmt: FloatFormat) -> float:
    """Decimal digits of precision as a float: log10(2**(nmant+1))."""
    return (fmt.nmant + 1) * math.log10(2.0)


def _has_subnormals(fmt: FloatFormat) -> bool:
    return fmt.has_zero and fmt.nmant > 0


def _smallest_normal_code(fmt: FloatFormat) -> int:
    return (1 << fmt.nmant) if fmt.has_zero else 0


# ============================================================== references and inputs
@dataclass(frozen=True)
class Reference:
    """A magnitude (or a range of them) to draw on the charts: 'my activations go up to 3000'.

    ``lo`` and ``hi`` are exact non-negative magnitudes (``hi`` None for a single value);
    ``label`` is the user's text; ``mine`` marks the value of "where does my number land".
    """

    lo: Fraction
    hi: Fraction | None = None
    label: str = ""
    text: str = ""
    mine: bool = False

    @property
    def is_range(self) -> bool:
        return self.hi is not None


def parse_references(text: str) -> tuple[list[Reference], list[tuple[str, str]]]:
    """'3000 activations, 1e-6 gradients' -> references; also returns (item, reason) for
    the items that cannot be drawn: quantlib's reason for text that is not a number, ''
    for 0, inf and nan (no place on a log scale).  Each comma-separated item is a number
    (anything :func:`quantlib.exact.parse_value` reads) optionally followed by a label."""
    refs: list[Reference] = []
    bad: list[tuple[str, str]] = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        number, _sep, label = item.partition(" ")
        try:
            ev = exact.parse_value(number)
        except ValueError as exc:
            bad.append((item, str(exc)))
            continue
        if ev.kind != "finite" or ev.magnitude == 0:
            bad.append((item, ""))  # a number, but not one a log scale can show
            continue
        refs.append(Reference(lo=ev.magnitude, label=label.strip(), text=number))
    return refs, bad


_RANGE_SPLIT = re.compile(r"\s*(?:\.\.|…|\bto\b)\s*", re.IGNORECASE)


def parse_value_or_range(text: str) -> tuple[exact.ExactValue, exact.ExactValue | None]:
    """'3000' -> (3000, None); '1e-4 .. 3000' (or '…', 'to') -> (1e-4, 3000).

    ValueError with quantlib's message when a part is not a number."""
    parts = [p for p in _RANGE_SPLIT.split((text or "").strip())]
    if len(parts) == 1:
        return exact.parse_value(parts[0]), None
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(f"could not read {text.strip()!r} as a range: write two numbers, like 1e-4 .. 3000")
    a, b = exact.parse_value(parts[0]), exact.parse_value(parts[1])
    if a.kind != "finite" or b.kind != "finite":
        raise ValueError("the ends of a range must be finite numbers")
    if abs(a.as_fraction()) > abs(b.as_fraction()):
        a, b = b, a
    return a, b


# ============================================================== properties table
def _exact_hover(fmt: FloatFormat, code: int, lab: Mapping[str, str]) -> str:
    info = exact.decompose(code, fmt)
    return lab["hover_exact"].format(hex=info.hex, decimal=_short(info.decimal, 80, lab["hover_more_digits"]))


def _eps_code(fmt: FloatFormat) -> int | None:
    """The code of eps itself, when eps is a value of the format."""
    eps = Fraction(2) ** fmt.machep
    try:
        code = exact.round_value(eps, fmt)
    except ValueError:
        return None
    v = exact.code_value(code, fmt)
    return code if v.kind == "finite" and v.magnitude == eps else None


def _pow_cell(k: int, q: Fraction) -> str:
    text = num(q, 4)
    return f"{pow2(k)} {'≈ ' + text[1:] if text.startswith('≈') else '= ' + text}"


def properties_table(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Properties (rows) × formats (columns), as display text, exact where it matters.

    Rows: bits, bias, max, smallest normal / subnormal, eps, decimal digits, dynamic range
    in binades / decades / dB, number of finite values, inf / NaN / -0 conventions."""
    lab = _labels(labels)
    rows = ["prop_bits", "prop_bias", "prop_max", "prop_normal", "prop_subnormal", "prop_eps", "prop_digits",
            "prop_binades", "prop_decades", "prop_db", "prop_finite", "prop_inf", "prop_nan", "prop_negzero"]
    data: dict[str, list[str]] = {}
    for f in fmts:
        binades = f.dynamic_range_binades
        if f.nonfinite == "ieee":
            nan = lab["cell_nan_codes"].format(n=f"{f.num_nan_codes:,}")
        elif f.has_nan:
            nan = lab["cell_nan_code"].format(hex=exact.decompose(f.nan_code, f).hex) if f.num_nan_codes == 1 else lab["cell_nan_codes"].format(n=f.num_nan_codes)
        else:
            nan = lab["cell_none"]
        if f.has_negative_zero:
            negzero = lab["cell_yes"]
        elif not f.has_zero:
            negzero = lab["cell_no_zero"]
        elif not f.signed:
            negzero = lab["cell_negzero_unsigned"]
        else:
            negzero = lab["cell_negzero_fnuz"]
        col = [
            f"{int(f.signed)} + {f.nexp} + {f.nmant} = {f.bits}",
            str(f.bias),
            short(f.max_exact),
            _pow_cell(f.minexp, f.smallest_normal_exact),
            _pow_cell(f.minexp - f.nmant, f.smallest_subnormal_exact) if _has_subnormals(f) else lab["cell_no_subnormals"],
            _pow_cell(f.machep, Fraction(2) ** f.machep),
            lab["cell_digits"].format(digits=f"{_digits(f):.2f}", precision=f.precision),
            f"{binades:.1f}",
            f"{binades * math.log10(2):.1f}",
            f"{20 * binades * math.log10(2):.0f}",
            f"{f.num_finite_values:,}",
            lab["cell_inf"] if f.has_inf else lab["cell_none"],
            nan,
            negzero,
        ]
        data[f.name] = col
    df = pd.DataFrame(data, index=[lab[r] for r in rows])
    df.index.name = lab["col_property"]
    return df


def properties_hover(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Tooltips for :func:`properties_table` (same shape): the code and every digit of
    each exact limit, the bit layout, how the digits are counted; '' where there is none."""
    lab = _labels(labels)
    data: dict[str, list[str]] = {}
    for f in fmts:
        layout = " ".join(p for p in ("S" * int(f.signed), "E" * f.nexp, "M" * f.nmant) if p)
        eps_code = _eps_code(f)
        data[f.name] = [
            lab["hover_bits"].format(layout=layout, bits=f.bits),
            "",
            _exact_hover(f, f.max_code, lab),
            _exact_hover(f, _smallest_normal_code(f), lab),
            _exact_hover(f, 1, lab) if _has_subnormals(f) else "",
            _exact_hover(f, eps_code, lab) if eps_code is not None else "",
            lab["hover_digits"].format(digits=f"{_digits(f):.3f}", precision=f.precision),
            "",
            "",
            lab["hover_db"],
            "",
            "",
            "",
            "",
        ]
    df = pd.DataFrame(data, index=properties_table(fmts[:1], labels).index if fmts else None)
    return df


def exact_limits_table(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per (format, limit): code in hex, the power of two, every decimal digit."""
    lab = _labels(labels)
    records = []
    for f in fmts:
        limits = [("prop_max", f.max_code, None), ("prop_normal", _smallest_normal_code(f), f.minexp)]
        if _has_subnormals(f):
            limits.append(("prop_subnormal", 1, f.minexp - f.nmant))
        eps_code = _eps_code(f)
        if eps_code is not None:
            limits.append(("prop_eps", eps_code, f.machep))
        for key, code, k in limits:
            info = exact.decompose(code, f)
            records.append({
                lab["col_format"]: f.name,
                lab["col_limit"]: lab[key],
                lab["col_code"]: info.hex,
                lab["col_power"]: pow2(k) if k is not None else f"{pow2(f.emax)} × {num(info.significand, 17)}",
                lab["col_decimal"]: info.decimal,
            })
    return pd.DataFrame.from_records(records, columns=[lab[c] for c in ("col_format", "col_limit", "col_code", "col_power", "col_decimal")])


# ============================================================== shared chart pieces
_FONT = dict(size=13)


def _pow2_axis(title: str) -> dict:
    """A linear axis of log2 positions whose ticks read 2^k (with a superscript)."""
    return dict(
        title=dict(text=title),
        tickprefix="2<sup>",
        ticksuffix="</sup>",
        zeroline=False,
        showgrid=True,
        gridcolor="rgba(128,128,128,0.18)",
        tickformat="d",
    )


def _ref_shapes(
    refs: Sequence[Reference], lab: Mapping[str, str], x_range: Sequence[float], *, above: bool = False
) -> tuple[list[dict], list[dict]]:
    """(shapes, annotations): a vertical line (a band for a range) at each reference, labelled
    at the top, inside the plot or ``above`` it; labels of neighbouring lines are staggered so
    they do not overlap, and near either edge of ``x_range`` they extend inward."""
    shapes: list[dict] = []
    placed = []
    for r in refs:
        if r.lo <= 0:
            continue
        color = MARK_COLOR if r.mine else REF_COLOR
        if r.mine:
            text = lab["mark_range"].format(lo=short(r.lo), hi=short(r.hi)) if r.is_range else lab["mark_value"].format(value=r.text or short(r.lo))
        else:
            text = f"{r.text or short(r.lo)} {r.label}".strip()
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # user text, not plotly markup
        if r.is_range and r.hi is not None:
            x0, x1 = log2q(r.lo), log2q(r.hi)
            shapes.append(dict(type="rect", x0=x0, x1=x1, y0=0, y1=1, xref="x", yref="paper", fillcolor=color,
                               opacity=0.10, line=dict(width=0), layer="below"))
            shapes += [_vline(x, color, "dot") for x in (x0, x1)]
            x = (x0 + x1) / 2
        else:
            x = log2q(r.lo)
            shapes.append(_vline(x, color, "solid" if r.mine else "dash"))
        placed.append((x, text, color))
    lo, hi = x_range
    annotations = []
    for level, (x, text, color) in enumerate(sorted(placed)):
        where = (x - lo) / ((hi - lo) or 1.0)
        annotations.append(dict(
            x=x, y=1.0, yref="paper", yanchor="bottom" if above else "top", text=text, showarrow=False,
            xanchor="right" if where > 0.75 else "left" if where < 0.25 else "center",
            yshift=(18 * (level % 3)) if above else -(18 * (level % 3)),
            font=dict(size=12, color=color), bgcolor="rgba(128,128,128,0.14)",
        ))
    return shapes, annotations


def _vline(x: float, color: str, dash: str = "solid", width: float = 1.5) -> dict:
    return dict(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=dict(color=color, width=width, dash=dash))


def zoom_window(fmts: Sequence[FloatFormat]) -> tuple[float, float] | None:
    """A log2 window around the narrow formats when wide ones dwarf them (float8 next to
    float32: 18 binades in 277), else None.  Narrow: at most 30% of the widest range."""
    if not fmts:
        return None
    widest = max(f.dynamic_range_binades for f in fmts)
    narrow = [f for f in fmts if f.dynamic_range_binades <= 0.3 * widest]
    if not narrow or len(narrow) == len(fmts):
        return None
    lo = min(log2q(f.smallest_subnormal_exact) for f in narrow)
    hi = max(log2q(f.max_exact) for f in narrow)
    pad = 1.0 + 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _span(fmts: Sequence[FloatFormat], refs: Sequence[Reference]) -> tuple[float, float]:
    lo = min(log2q(f.smallest_subnormal_exact) for f in fmts)
    hi = max(log2q(f.max_exact) for f in fmts)
    for r in refs:
        for q in (r.lo, r.hi):
            if q is not None and q > 0:
                lo, hi = min(lo, log2q(q)), max(hi, log2q(q))
    return lo, hi


def _layout(height: int, **more) -> dict:
    """Shared layout: the legend in a row above the plot (plotly widens the top margin to fit
    it, also when it wraps on a phone), nothing below the x-axis title."""
    layout = dict(
        height=height,
        margin=dict(l=8, r=8, t=8, b=8),
        font=_FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
        hoverlabel=dict(namelength=-1, font=dict(size=12)),
        hovermode="closest",
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    layout.update(more)
    return layout


def _figure(traces: list[dict], layout: dict) -> go.Figure:
    """One Figure built at once from plain dicts: plotly validates every trace and the layout
    a single time (adding traces, shapes and annotations one by one re-validates them, which
    made these small figures take 70-300 ms)."""
    return go.Figure(data=traces, layout=layout)


# ============================================================== dynamic-range chart
def dynamic_range_figure(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Each format as a bar on a log2 axis, from the smallest subnormal (thin) through the
    smallest normal to max (thick), its two ends written above it; reference lines on top.

    7 points per format (two segments of 3: ends and a middle that carries the hover; one label)."""
    lab = _labels(labels)
    colors = format_colors(fmts)
    names = [f.name for f in fmts]
    traces: list[dict] = []
    for f in fmts:
        c = colors[f.name]
        lo_sub, lo_norm, hi = log2q(f.smallest_subnormal_exact), log2q(f.smallest_normal_exact), log2q(f.max_exact)
        if lo_norm > lo_sub:
            hover = lab["hover_subnormal_range"].format(name=f.name, lo=short(f.smallest_subnormal_exact), hi=short(f.smallest_normal_exact))
            traces.append(dict(
                type="scatter", x=[lo_sub, (lo_sub + lo_norm) / 2, lo_norm], y=[f.name] * 3, mode="lines",
                line=dict(color=c, width=7), opacity=0.55, hovertext=hover, hoverinfo="text", showlegend=False,
            ))
        hover = lab["hover_normal_range"].format(
            name=f.name, lo=short(f.smallest_normal_exact), hi=short(f.max_exact), binades=f"{f.dynamic_range_binades_normal:.1f}"
        )
        traces.append(dict(
            type="scatter", x=[lo_norm, (lo_norm + hi) / 2, hi], y=[f.name] * 3, mode="lines",
            line=dict(color=c, width=18), hovertext=hover, hoverinfo="text", showlegend=False,
        ))
    # the two ends written above each bar, from its left end (beside the ends they would run
    # off the plot on a phone; over the middle they would sit on the lines near 1)
    annotations = [
        dict(
            x=log2q(f.smallest_subnormal_exact), xanchor="left", y=f.name, yshift=17, showarrow=False,
            text=lab["range_ends"].format(lo=short(f.smallest_subnormal_exact, 3), hi=short(f.max_exact, 3)),
            font=dict(size=12), bgcolor="rgba(128,128,128,0.14)",
        )
        for f in fmts
    ]
    lo, hi = _span(fmts, refs)
    pad = max(2.0, 0.05 * (hi - lo))
    x_range = [lo - pad, hi + pad]
    shapes, ref_notes = _ref_shapes(refs, lab, x_range, above=True)
    shapes.insert(0, _vline(0.0, "rgba(128,128,128,0.6)", width=1))  # 1.0 as a landmark
    n_labels = len(ref_notes)
    return _figure(traces, _layout(
        90 + 46 * len(fmts),
        showlegend=False,
        margin=dict(l=8, r=8, t=10 + 18 * min(n_labels, 3), b=8),
        shapes=shapes,
        annotations=annotations + ref_notes,
        xaxis=dict(**_pow2_axis(lab["axis_magnitude"]), range=x_range),
        yaxis=dict(autorange="reversed", type="category", categoryorder="array", categoryarray=names, automargin=True),
    ))


# ============================================================== precision chart
def precision_points(fmt: FloatFormat) -> tuple[list[float], list[float], bool]:
    """The relative-spacing curve of a format in log2 coordinates: (x, y, envelope).

    ``x = log2|x|``, ``y = log2(ulp(x)/|x|)``.  Subnormal ramp: a line of slope −1 from the
    smallest subnormal (y = 0: spacing = the value itself) to the smallest normal
    (y = −nmant).  Each normal binade ``[2**e, 2**(e+1))``: from ``(e, −nmant)`` down to
    ``(e+1, −nmant−1)``, then a jump back up: the staircase (a sawtooth; exact, since
    ``ulp/|x|`` is a straight line on log-log axes).  The last binade ends at max.  With more
    than :data:`TEETH_MAX` binades the teeth are replaced by their envelope (``envelope``
    True; 4 corner points of the band ``−nmant−1 … −nmant``).
    """
    m, e0, e1 = fmt.nmant, fmt.minexp, fmt.emax
    top = log2q(fmt.max_exact)
    xs: list[float] = []
    ys: list[float] = []
    if _has_subnormals(fmt):
        xs += [float(e0 - m), float(e0)]
        ys += [0.0, float(-m)]
    nbin = e1 - e0 + 1
    if nbin <= TEETH_MAX:
        for e in range(e0, e1 + 1):
            end = float(e + 1) if e < e1 else top
            xs += [float(e), end]
            ys += [float(-m), e - m - end]
        return xs, ys, False
    # envelope: the band's outline, drawn clockwise (the caller fills it)
    xs += [float(e0), top, top, float(e0)]
    ys += [float(-m), float(-m), e1 - m - top, float(-m - 1)]
    return xs, ys, True


def _pct(q: float | Fraction) -> str:
    """A relative size as a percentage with 3 significant digits: 12.5%, 0.0977%, 5.96e-6%
    (exact fractions of any size too: 1e40%)."""
    if isinstance(q, Fraction):
        return num(q * 100, 3, mark=False) + "%"
    p = q * 100
    return f"{p:.3g}%".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def precision_figure(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
    *,
    zoom: bool = False,
) -> go.Figure:
    """Relative spacing ``ulp(x)/|x|`` across magnitudes: the staircase of each format, its
    subnormal ramp, and an × where it overflows (at max).

    ``zoom``: show only :func:`zoom_window` (the narrow formats) at first; plotly's autoscale
    button still shows everything."""
    lab = _labels(labels)
    colors = format_colors(fmts)
    traces: list[dict] = []
    ymin = 0.0
    for f in fmts:
        c = colors[f.name]
        xs, ys, envelope = precision_points(f)
        m = f.nmant
        ramp = 2 if _has_subnormals(f) else 0
        hovers = [lab["hover_ramp"].format(
            name=f.name, ulp=short(f.smallest_subnormal_exact), rel_lo=_pct(2.0**-m), tiny=short(f.smallest_subnormal_exact))] * ramp
        if envelope:
            hovers += [lab["hover_envelope"].format(
                name=f.name, n=f"{f.emax - f.minexp + 1:,}", rel_hi=_pct(2.0**-m), rel_lo=_pct(2.0 ** (-m - 1)))] * (len(xs) - ramp)
        else:  # two points per binade e = minexp … emax: its start and its end
            for e, y_end in zip(range(f.minexp, f.emax + 1), ys[ramp + 1 :: 2], strict=True):
                hi_q = f.max_exact if e == f.emax else Fraction(2) ** (e + 1)
                hovers += [lab["hover_binade"].format(
                    name=f.name, lo=short(Fraction(2) ** e), hi=short(hi_q), ulp=pow2(e - m),
                    rel_hi=_pct(2.0**-m), rel_lo=_pct(2.0**y_end))] * 2
        if envelope:
            # ramp as a line, the band as a filled polygon in the same legend group
            if ramp:
                traces.append(dict(
                    type="scatter", x=xs[:ramp], y=ys[:ramp], mode="lines", line=dict(color=c, width=2.5), name=f.name,
                    legendgroup=f.name, hovertext=hovers[:ramp], hoverinfo="text", showlegend=False,
                ))
            traces.append(dict(
                type="scatter", x=xs[ramp:] + [xs[ramp]], y=ys[ramp:] + [ys[ramp]], mode="lines", fill="toself",
                line=dict(color=c, width=1.5), fillcolor=c, opacity=0.45, name=f.name, legendgroup=f.name,
                hovertext=hovers[ramp:] + [hovers[ramp]], hoverinfo="text", showlegend=True,
            ))
        else:
            traces.append(dict(
                type="scatter", x=xs, y=ys, mode="lines", line=dict(color=c, width=2.5), name=f.name, legendgroup=f.name,
                hovertext=hovers, hoverinfo="text", showlegend=True,
            ))
        # overflow: an × at max
        top = log2q(f.max_exact)
        traces.append(dict(
            type="scatter", x=[top], y=[f.emax - m - top], mode="markers",
            marker=dict(symbol="x-thin", size=14, line=dict(width=3, color=c)),
            legendgroup=f.name, showlegend=False, hoverinfo="text",
            hovertext=[lab["hover_overflow"].format(name=f.name, max=short(f.max_exact))],
        ))
        ymin = min(ymin, -m - 1)
    traces.append(dict(  # the legend entry of the × markers
        type="scatter", x=[None], y=[None], mode="markers", marker=dict(symbol="x-thin", size=12, line=dict(width=3, color="#666")),
        name=lab["legend_overflow"], showlegend=True, hoverinfo="skip",
    ))
    lo, hi = _span(fmts, refs)
    pad = max(1.0, 0.03 * (hi - lo))
    window = zoom_window(fmts) if zoom else None
    x_range = list(window) if window else [lo - pad, hi + pad]
    shapes, notes = _ref_shapes(refs, lab, x_range)
    return _figure(traces, _layout(
        460,
        shapes=shapes,
        annotations=notes,
        xaxis=dict(**_pow2_axis(lab["axis_magnitude"]), range=x_range),
        yaxis=dict(**_pow2_axis(lab["axis_rel_spacing"]), range=[ymin - 1.5, 2.5]),
    ))


# ============================================================== codebooks (NF4, bitsandbytes FP4)
@dataclass(frozen=True)
class CodebookView:
    """A codebook to show next to the formats: its name and its values in code order."""

    name: str
    values: tuple[float, ...]
    citation: str = ""


def codebooks() -> list[CodebookView]:
    """NF4 and bitsandbytes' FP4 from :mod:`quantlib.codebooks`; [] if that module (being
    written alongside) is not there, so the page can say so instead of failing."""
    try:
        from quantlib.codebooks import BNB_FP4_CODEBOOK, NF4_CODEBOOK
    except ImportError:  # pragma: no cover - depends on the tree
        return []
    out = []
    for cb, name in ((NF4_CODEBOOK, "NF4"), (BNB_FP4_CODEBOOK, "bnb FP4")):
        out.append(CodebookView(name=name, values=tuple(float(v) for v in cb.values), citation=getattr(cb, "citation", "")))
    return out


# ============================================================== number line
NUMBER_LINE_VIEWS = ("scaled", "linear", "log")


def number_line_figure(
    fmts: Sequence[FloatFormat],
    books: Sequence[CodebookView] = (),
    view: str = "scaled",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Every finite value of each format of at most 8 bits as a tick on its own row, coloured
    by class; codebooks on their own rows in green, labelled '(codebook)'.

    ``view``: ``"scaled"`` value ÷ the format's max (how block-scaled formats and codebooks
    are used: the largest magnitude maps to 1), ``"linear"`` the values as they are,
    ``"log"`` positive values on a log2 axis.  One trace per class; at most 256 points per
    format and 16 per codebook."""
    if view not in NUMBER_LINE_VIEWS:
        raise ValueError(f"view must be one of {NUMBER_LINE_VIEWS}, got {view!r}")
    lab = _labels(labels)
    small = [f for f in fmts if f.bits <= NUMBER_LINE_MAX_BITS]
    rows: list[str] = []
    per_kind: dict[str, tuple[list[float], list[str], list[str]]] = {k: ([], [], []) for k in KINDS[:3]}
    for f in small:
        rows.append(f.name)
        av = all_values(f)
        finite = np.isfinite(av.values)
        vals, codes, kinds = av.values[finite], av.codes[finite], av.kinds[finite]
        if view == "log":
            keep = vals > 0
            vals, codes, kinds = vals[keep], codes[keep], kinds[keep]
        scale = float(f.max_exact) if view == "scaled" else 1.0
        width = (f.bits + 3) // 4
        for v, c, k in zip(vals.tolist(), codes.tolist(), kinds.tolist(), strict=True):
            kind = KINDS[k]
            xs, ys, hs = per_kind[kind]
            xs.append(math.log2(v) if view == "log" else v / scale)
            ys.append(f.name)
            hs.append(lab["hover_value"].format(name=f.name, hex=f"0x{c:0{width}X}", value=repr(v).removesuffix(".0") if v != int(v) or abs(v) < 1e16 else repr(v), kind=lab[kind]))
    cb_x: list[float] = []
    cb_y: list[str] = []
    cb_h: list[str] = []
    for b in books:
        row = lab["codebook_suffix"].format(name=b.name)
        rows.append(row)
        top = max(abs(v) for v in b.values) or 1.0
        for code, v in enumerate(b.values):
            if view == "log" and v <= 0:
                continue
            cb_x.append(math.log2(v) if view == "log" else (v / top if view == "scaled" else v))
            cb_y.append(row)
            cb_h.append(lab["hover_codebook"].format(name=b.name, code=code, value=f"{v:.7g}"))
    traces: list[dict] = []
    for kind in ("normal", "subnormal", "zero"):
        xs, ys, hs = per_kind[kind]
        if xs:
            traces.append(dict(
                type="scatter", x=xs, y=ys, mode="markers", name=lab[kind], hovertext=hs, hoverinfo="text",
                marker=dict(symbol="line-ns", size=18, line=dict(width=1.6, color=KIND_COLORS[kind]), color=KIND_COLORS[kind]),
            ))
    if cb_x:
        traces.append(dict(
            type="scatter", x=cb_x, y=cb_y, mode="markers", name=lab["legend_codebook"], hovertext=cb_h, hoverinfo="text",
            marker=dict(symbol="diamond", size=9, color=CODEBOOK_COLOR, line=dict(width=0)),
        ))
    if view == "log":
        xaxis = _pow2_axis(lab["axis_log_positive"])
    else:
        xaxis = dict(title=dict(text=lab["axis_scaled" if view == "scaled" else "axis_value"]), zeroline=True,
                     zerolinecolor="rgba(128,128,128,0.5)", showgrid=True, gridcolor="rgba(128,128,128,0.18)")
    return _figure(traces, _layout(
        110 + 44 * max(1, len(rows)),
        xaxis=xaxis,
        yaxis=dict(autorange="reversed", type="category", categoryorder="array", categoryarray=rows, automargin=True),
    ))


# ============================================================== code table
@dataclass(frozen=True)
class CodeTable:
    """Every code of a small format laid out like the OCP spec tables: ``cols`` (16) codes
    per row.  DataFrames of the same shape: ``text`` (short value), ``kind`` (a KINDS name),
    ``code`` (int), ``title`` (hover text: code, every digit, class)."""

    fmt: FloatFormat
    text: pd.DataFrame
    kind: pd.DataFrame
    code: pd.DataFrame
    title: pd.DataFrame


def _cell_text(v: float) -> str:
    """A table cell's value in at most 8 characters: every digit when that takes at most 6
    ('448', '0.0625', '-0.5'), else 3 significant digits: '0.0352', '-0.203', '1.95e-3'."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    text = exact.exact_decimal(Fraction(v))
    if len(text) <= 6:
        return text
    if 0.01 <= abs(v) < 1e4:
        return num(Fraction(v), 3, mark=False)
    mant, _e, exp = f"{v:.2e}".partition("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


def code_table(fmt: FloatFormat, labels: Mapping[str, str] | None = None) -> CodeTable:
    """The code table of a format of at most 8 bits (ValueError for wider ones)."""
    if fmt.bits > NUMBER_LINE_MAX_BITS:
        raise ValueError(f"{fmt.name} has {fmt.bits} bits: the code table lists formats of at most {NUMBER_LINE_MAX_BITS} bits")
    lab = _labels(labels)
    av = all_values(fmt)
    n = 1 << fmt.bits
    cols = min(16, n)
    nrows = n // cols
    width = (fmt.bits + 3) // 4
    texts, kinds, codes, titles = [], [], [], []
    for r in range(nrows):
        tr, kr, cr, ttl = [], [], [], []
        for c in range(cols):
            code = r * cols + c
            v = float(av.values[code])
            kind = KINDS[int(av.kinds[code])]
            info = exact.decompose(code, fmt)
            tr.append(_cell_text(v))
            kr.append(kind)
            cr.append(code)
            ttl.append(lab["code_title"].format(hex=info.hex, value=info.decimal, kind=lab[kind]))
        texts.append(tr)
        kinds.append(kr)
        codes.append(cr)
        titles.append(ttl)
    index = [f"0x{r * cols:0{width}X}" for r in range(nrows)]
    columns = [f"+{c:X}" for c in range(cols)]
    mk = lambda rows: pd.DataFrame(rows, index=index, columns=columns)  # noqa: E731
    return CodeTable(fmt=fmt, text=mk(texts), kind=mk(kinds), code=mk(codes), title=mk(titles))


# ============================================================== where does my number land
def _stored_text(fmt: FloatFormat, code: int) -> str:
    info = exact.decompose(code, fmt)
    return short(info.value, 8, keep=12) if info.value else info.decimal  # '-0', 'nan', 'inf' as decimal


def _rel_error_bound(fmt: FloatFormat, lo: Fraction, hi: Fraction) -> Fraction | None:
    """sup over |x| in [lo, min(hi, max)] of (half the spacing at x) / |x|: the worst relative
    error of round-to-nearest over a range of magnitudes (≤ 1; None if the range is above max)."""
    hi = min(hi, fmt.max_exact)
    if hi < lo:
        return None
    if lo == 0:
        return Fraction(1)
    sn = fmt.smallest_normal_exact
    m = fmt.nmant
    bound = Fraction(0)
    if lo < sn:
        if not fmt.has_zero:
            return Fraction(1)
        bound = fmt.smallest_subnormal_exact / 2 / lo
    if hi >= sn:
        x0 = max(lo, sn)
        e0 = math.floor(log2q(x0))
        while Fraction(2) ** e0 > x0:  # guard float rounding of log2
            e0 -= 1
        while Fraction(2) ** (e0 + 1) <= x0:
            e0 += 1
        if x0 == Fraction(2) ** e0 or hi >= Fraction(2) ** (e0 + 1):
            bound = max(bound, Fraction(1, 2 ** (m + 1)))
        else:
            bound = max(bound, Fraction(2) ** (e0 - m - 1) / x0)
    return min(bound, Fraction(1))


def _result(fmt: FloatFormat, value: exact.ExactValue, saturate: bool, lab: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(stored, abs error, rel error, result) of storing one value."""
    try:
        code = exact.round_value(value, fmt, saturate=saturate)
    except ValueError as exc:
        return "—", "—", "—", lab["res_cannot"].format(reason=exc)
    err = exact.conversion_error(value, code, fmt)
    info = exact.decompose(code, fmt)
    stored = _stored_text(fmt, code)
    if err.overflow:
        res = lab["res_overflow" if info.value is None else "res_saturated"].format(stored=stored, max=short(fmt.max_exact))
    elif err.underflow:
        res = lab["res_underflow"].format(stored=stored)
    elif err.absolute == 0:
        res = lab["res_exact"]
    elif info.kind == "subnormal":
        res = lab["res_subnormal"]
    elif err.absolute is None:
        res = lab["res_exact"]
    else:
        res = lab["res_rounded"]
    abs_e = short(err.absolute, 3) if err.absolute is not None else "—"
    rel_e = ("0" if err.relative == 0 else _pct(err.relative)) if err.relative is not None else "—"
    return stored, abs_e, rel_e, res


def landing_table(
    fmts: Sequence[FloatFormat],
    value: exact.ExactValue,
    high: exact.ExactValue | None = None,
    *,
    saturate: bool = False,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Where a number (or a range) lands in each format, rounded to nearest-even.

    One value: stored value, absolute and relative error, and the result (exact, rounded,
    subnormal, underflow, overflow).  A range ``value .. high``: both ends as stored, the
    worst relative error of rounding anything in between, and whether it fits."""
    lab = _labels(labels)
    records = []
    for f in fmts:
        if high is None:
            stored, abs_e, rel_e, res = _result(f, value, saturate, lab)
            records.append({lab["col_format"]: f.name, lab["col_stored"]: stored, lab["col_abs_error"]: abs_e,
                            lab["col_rel_error"]: rel_e, lab["col_result"]: res})
            continue
        lo_s = _result(f, value, saturate, lab)[0]
        hi_s = _result(f, high, saturate, lab)[0]
        a, b = sorted((abs(value.as_fraction()), abs(high.as_fraction())))
        crosses = value.as_fraction() * high.as_fraction() <= 0
        if crosses:
            a = Fraction(0)  # zero is inside the range
        notes = []
        if _fate(f, b) == "overflow":
            notes.append(lab["res_high_overflow"].format(max=short(f.max_exact)))
        if crosses:
            notes.append(lab["res_crosses_zero"])
        elif _fate(f, a) == "underflow":
            notes.append(lab["res_low_underflow"].format(tiny=short(f.smallest_subnormal_exact)))
        elif _fate(f, a) == "subnormal":
            notes.append(lab["res_low_subnormal"])
        for ev, stored in ((value, lo_s), (high, hi_s)):
            if stored == "nan" and not (_fate(f, abs(ev.as_fraction())) == "overflow"):
                notes.append(lab["res_nan"].format(value=short(ev.as_fraction())))
        if not notes:
            notes.append(lab["res_fits"])
        bound = _rel_error_bound(f, a, b)
        records.append({
            lab["col_format"]: f.name, lab["col_low"]: lo_s, lab["col_high"]: hi_s,
            lab["col_worst"]: ("≤ " + _pct(bound)) if bound is not None else "—",
            lab["col_result"]: "; ".join(notes),
        })
    return pd.DataFrame.from_records(records)


# ============================================================== key takeaways
def _join(items: Sequence[str], lab: Mapping[str, str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return lab["tk_and"].format(a=lab["tk_sep"].join(items[:-1]), b=items[-1])


def _one(x: float) -> str:
    """277 or 17.8: one decimal below 100."""
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def _fate(fmt: FloatFormat, q: Fraction) -> str:
    """What round-to-nearest-even does to the magnitude ``q`` in ``fmt``: 'overflow',
    'underflow', 'subnormal' or 'normal' (the flags of :func:`quantlib.exact.conversion_error`)."""
    code = exact.round_value(q, fmt)
    err = exact.conversion_error(q, code, fmt)
    if err.overflow:
        return "overflow"
    if err.underflow:
        return "underflow"
    return exact.decompose(code, fmt).kind


def takeaways(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Key takeaways computed from the chosen formats and references (Markdown sentences).

    Widest range and finest precision; formats with the same max but different precision
    (bfloat16 vs float32); formats that overflow where the widest still has room (float16
    at 65504); same-width pairs that split their bits differently (E4M3 vs E5M2); what a
    format with at most 16 values holds; where each reference value overflows or underflows.
    """
    lab = _labels(labels)
    out: list[str] = []
    if not fmts:
        return out
    fmts = list({f.name: f for f in fmts}.values())
    widest = max(fmts, key=lambda f: (f.dynamic_range_binades, f.max_exact))
    finest = max(fmts, key=lambda f: (f.nmant, f.dynamic_range_binades))
    if len(fmts) > 1:
        out.append(lab["tk_widest"].format(
            name=widest.name, binades=_one(widest.dynamic_range_binades), decades=_one(widest.dynamic_range_decades),
            tiny=short(widest.smallest_subnormal_exact, 3), max=short(widest.max_exact, 3)))
        out.append(lab["tk_finest"].format(name=finest.name, eps=f"{pow2(finest.machep)} ≈ {num(Fraction(2) ** finest.machep, 3, mark=False)}",
                                           digits=f"{_digits(finest):.1f}"))
    # same exponent bits and about the same max, different precision (bfloat16 vs float32)
    by_top: dict[tuple[int, int], list[FloatFormat]] = {}
    for f in fmts:
        by_top.setdefault((f.nexp, round(log2q(f.max_exact))), []).append(f)
    for (nexp, _top), group in by_top.items():
        if len(group) > 1 and len({f.nmant for f in group}) > 1:
            group = sorted(group, key=lambda f: f.nmant)
            out.append(lab["tk_same_range"].format(
                names=_join([f.name for f in group], lab), e=nexp,
                maxes=_join([short(f.max_exact, 3) for f in group], lab),
                digits=_join([f"{_digits(f):.1f}" for f in group], lab)))
    # same width, different split: one pair per bit width, the widest range against the finest precision
    in_pairs: set[str] = set()
    by_bits: dict[int, list[FloatFormat]] = {}
    for f in fmts:
        if f.signed and f.has_zero:  # data formats (not the E8M0 scale type)
            by_bits.setdefault(f.bits, []).append(f)
    for bits, group in sorted(by_bits.items(), key=lambda kv: -kv[0]):
        wide = max(group, key=lambda f: (f.max_exact, f.nexp))
        fine = max(group, key=lambda f: (f.nmant, f.max_exact))
        if wide.nexp <= fine.nexp or wide.max_exact <= fine.max_exact:
            continue
        in_pairs.add(fine.name)
        out.append(lab["tk_tradeoff"].format(
            bits=bits, fine=fine.name, fe=fine.nexp, fm=fine.nmant, fine_max=short(fine.max_exact),
            wide=wide.name, we=wide.nexp, wm=wide.nmant, wide_max=short(wide.max_exact, 3),
            ratio=_ratio(2.0 ** (fine.nmant - wide.nmant)),
            wide_digits=f"{_digits(wide):.1f}", fine_digits=f"{_digits(fine):.1f}"))
    if in_pairs:
        out.append(lab["tk_lesson"])
    # what a tiny format holds
    for f in fmts:
        if f.num_finite_values <= 16:
            pos = [v for v in all_values(f).finite_sorted().tolist() if v >= 0]
            values = ", ".join(("±" if f.signed and v else "") + _cell_text(abs(v)) for v in pos)
            gap = pos[-1] - pos[-2] if len(pos) > 1 else 0.0
            out.append(lab["tk_few_values"].format(name=f.name, n=f.num_finite_values, values=values,
                                                   gap=_cell_text(gap), pct=f"{100 * gap / pos[-1]:.0f}"))
    # overflow where the widest still has room (formats not already in a pair above)
    top = max(fmts, key=lambda f: f.max_exact)
    small_max = [f for f in fmts if f.name not in in_pairs and log2q(top.max_exact) - log2q(f.max_exact) >= 8]
    for f in sorted(small_max, key=lambda f: -f.max_exact)[:2]:
        out.append(lab["tk_overflow"].format(name=f.name, max=short(f.max_exact), wide=top.name, wide_max=short(top.max_exact, 3)))
    # reference values: the top of each reference against max, its bottom against the smallest values
    for r in refs:
        top_q = r.hi if r.is_range else r.lo
        low = r.lo
        if not top_q:
            continue
        shown_top = r.text if (r.text and not r.is_range) else short(top_q)
        shown_low = r.text if (r.text and not r.is_range) else short(low)
        over = [f for f in fmts if _fate(f, top_q) == "overflow"]
        fits = [f for f in fmts if f not in over]
        under = [f for f in fmts if _fate(f, low) == "underflow"]
        sub = [f for f in fmts if _fate(f, low) == "subnormal"]
        if over and fits:
            out.append(lab["tk_ref_overflow"].format(
                value=shown_top, bad=_join([lab["tk_max_of"].format(name=f.name, max=short(f.max_exact)) for f in over], lab),
                good=_join([f.name for f in fits], lab)))
        elif over:
            out.append(lab["tk_ref_none_fit"].format(value=shown_top))
        if under:
            out.append(lab["tk_ref_underflow"].format(value=shown_low, bad=_join([f.name for f in under], lab)))
        if sub:
            out.append(lab["tk_ref_subnormal"].format(value=shown_low, bad=_join([f.name for f in sub], lab)))
        if not (over or under or sub) and len(fmts) > 1:
            out.append(lab["tk_ref_all_fit"].format(value=shown_top if not r.is_range else f"{shown_low} … {shown_top}"))
    return out
