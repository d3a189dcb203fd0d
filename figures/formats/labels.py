"""The Format Comparison's words (:data:`LABELS`, English; the page passes their translations,
``lab.formats.display.formats_labels``), colours and point budgets."""

from __future__ import annotations

__all__ = ["TEETH_MAX", "NUMBER_LINE_MAX_BITS", "FORMAT_COLORS", "KIND_COLORS", "KIND_TINTS", "CODEBOOK_COLOR", "REF_COLOR", "MARK_COLOR", "LABELS"]


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
    "cell_cb_bits": "a {bits}-bit index into {n} levels",
    "cell_cb_no_exponent": "none (no exponent field)",
    "cell_cb_scale": "{v} × scale",
    "cell_cb_smallest": "{v} × scale (smallest nonzero level)",
    "cell_cb_steps": "none: uneven steps, {lo} to {hi} × scale",
    "cell_cb_no_digits": "none (a lookup table)",
    "cell_cb_zero": "no: one zero",
    "hover_cb": "{name}: the levels, in code order: {levels}",
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
