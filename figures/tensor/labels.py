"""The Tensor Lab's words (:data:`LABELS`, English; the page passes their translations,
``lab.tensor.display.tensor_labels``), colours and drawing limits."""

from __future__ import annotations

__all__ = ["LABELS", "LEVEL_LINES_MAX", "LEVEL_TICKS_MAX", "FAMILY_COLORS", "FAMILY_NAMES"]

LEVEL_LINES_MAX = 40
"""Up to this many quantization levels in view are drawn as lines across the histogram ..."""
LEVEL_TICKS_MAX = 600
"""... up to this many as ticks along its bottom; more are too dense to draw."""

ORIGINAL_COLOR = "#1f77b4"
DEQUANT_COLOR = "#ff7f0e"
ERROR_COLOR = "#9467bd"
LEVEL_COLOR = "#2ca02c"
CLIP_COLOR = "#d62728"
FRONT_COLOR = "#d62728"
CURRENT_COLOR = "#111111"
FAMILY_COLORS = {
    "float": "#1f77b4", "int": "#ff7f0e", "uint": "#8c564b", "nf4": "#2ca02c", "bnb_fp4": "#17becf",
    "codebook": "#bcbd22", "mx": "#9467bd", "nvfp4": "#e377c2", "log": "#7f7f7f", "binary": "#444444", "ternary": "#aa4499",
}

LABELS: dict[str, str] = {
    # histogram of values
    "axis_value": "value",
    "axis_count": "count",
    "axis_count_log": "count (log scale)",
    "legend_original": "original",
    "legend_dequantized": "dequantized",
    "legend_levels": "levels of {group}",
    "legend_clip": "clipping range",
    "clip_text": "±{t}",
    "clip_text_asym": "{lo} … {hi}",
    "hover_bin": "{lo} … {hi}: {count}",
    # error histogram
    "axis_error": "error (dequantized − original)",
    "legend_error": "error",
    # scatter
    "axis_original": "original value",
    "axis_dequantized": "dequantized value",
    "legend_identity": "no error (y = x)",
    "legend_sample": "{n} sampled elements",
    # heatmaps
    "axis_column": "column",
    "axis_row": "row",
    "axis_block": "block along the row",
    "axis_channel": "channel (index along axis {axis})",
    "colorbar_log_mse": "log10 MSE",
    "colorbar_scale": "scale",
    "colorbar_log_scale": "log2 scale",
    "hover_cell": "rows {r0}–{r1}, {what} {c0}–{c1}: {value}",
    "word_columns": "columns",
    "word_blocks": "blocks",
    "hover_channel": "{i}: {value}",
    "axis_index": "index",
    # rate-distortion
    "axis_bits": "bits per element (codes + scales; log scale)",
    "axis_sqnr": "SQNR (dB, higher is better)",
    "legend_front": "Pareto front",
    "legend_current": "current scheme",
    "legend_dominated": "other schemes",
    "lossless": "lossless",
    "fam_float": "float cast",
    "fam_int": "int (absmax)",
    "fam_uint": "uint (zero point)",
    "fam_nf4": "NF4",
    "fam_bnb_fp4": "bnb FP4",
    "fam_codebook": "codebook",
    "fam_mx": "MX",
    "fam_nvfp4": "NVFP4",
    "fam_log": "log",
    "fam_binary": "binary",
    "fam_ternary": "ternary",
    "hover_scheme": "{scheme}: {bits} bits per element, SQNR {sqnr}",
    # per-tensor
    "axis_tensor": "tensor",
    # tables
    "col_metric": "Metric",
    "col_value": "Value",
    "col_meaning": "What it means",
    "m_sqnr": "SQNR",
    "m_sqnr_help": "10·log10(Σx² / Σe²): signal over error power. +6 dB ≈ one more bit.",
    "m_mse": "MSE",
    "m_mse_help": "mean of e², e = dequantized − original",
    "m_rmse": "RMSE",
    "m_rmse_help": "√MSE, in the units of the tensor",
    "m_max": "Max |error|",
    "m_max_help": "the worst single element",
    "m_mean_abs": "Mean |error|",
    "m_mean_abs_help": "the typical element's error",
    "m_rel": "Relative error",
    "m_rel_help": "‖e‖ / ‖x‖",
    "m_cos": "Cosine similarity",
    "m_cos_help": "⟨x, x̃⟩ / (‖x‖‖x̃‖); 1 − cos in brackets",
    "m_clipped": "Clipped",
    "m_clipped_help": "share of elements saturated to the largest level",
    "m_flushed": "Flushed to zero",
    "m_flushed_help": "share of non-zero elements stored as 0",
    "m_bits": "Bits per element",
    "m_bits_help": "codes plus every scale, zero point and offset",
    "m_size": "Size",
    "m_size_help": "quantized storage vs the original's",
    "size_cell": "{q} vs {orig} ({dtype}): {ratio}",
    "cos_cell": "{cos} (1 − cos = {omc})",
    "col_scheme": "Scheme",
    "col_bits": "Bits/elem",
    "col_bytes": "Size (bytes)",
    "col_ratio": "vs original",
    "col_sqnr": "SQNR (dB)",
    "col_mse": "MSE",
    "col_max": "Max |error|",
    "col_omc": "1 − cos",
    "col_clipped": "Clipped",
    "col_flushed": "Flushed",
    "col_front": "Pareto",
    "col_tensor": "Tensor",
    "col_shape": "Shape",
    "col_elements": "Elements",
    "col_rel": "Rel. error",
    "col_problem": "Problem",
    # block zoom
    "col_index": "Index",
    "col_x": "Original x",
    "col_xc": "x·c",
    "col_q": "q",
    "col_below": "Level below",
    "col_above": "Level above",
    "col_code": "Code",
    "col_xq": "Stored as",
    "col_error": "Error",
    "col_how": "How it was rounded",
    "how_exact": "exact: a level itself",
    "how_down": "down to the nearer level",
    "how_up": "up to the nearer level",
    "how_tie_down": "a tie: down",
    "how_tie_up": "a tie: up",
    "how_clip_top": "clipped to the top level",
    "how_clip_bottom": "clipped to the bottom level",
    "how_zero": "flushed to 0",
    "how_far": "to a level that is not the nearest ({rule})",
    "how_nonfinite": "not a finite number",
}
"""Every user-facing string of the builders, by key; the page passes translations of these."""


FAMILY_NAMES = {f: f"fam_{f}" for f in FAMILY_COLORS}
"""The label key of each scheme family's legend name."""
