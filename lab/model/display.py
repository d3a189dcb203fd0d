"""The words of the PTQ studio (``/model``), translated into the session's language: the
figures' and tables' labels (:data:`figures.model.LABELS`, whose English values are the
msgids) and the recipes' names and notes.

The recipes are defined in :data:`quantlib.model.recipes.RECIPES` with English titles and
notes; the tables below repeat them as msgids (``tests/test_app_model.py`` checks that they
match), with a short name for the chart markers.
"""

from __future__ import annotations

from figures import model as model_figs
from lab.core.i18n import N_, _, translated

__all__ = [
    "RECIPE_NOTES",
    "RECIPE_SHORT",
    "RECIPE_TITLES",
    "SIZE_PART_LABELS",
    "calibration_tex",
    "model_labels",
    "recipe_note",
    "recipe_short",
    "recipe_title",
    "recipe_titles",
    "size_part_labels",
    "smooth_tex",
    "tex_num",
]

RECIPE_TITLES: dict[str, str] = {
    "float32": N_("float32 (reference)"),
    "tflite_dynamic": N_("TFLite dynamic range (int8 weights, float activations)"),
    "tflite_dynamic_hybrid": N_("TFLite dynamic range, hybrid kernel (inputs int8 per row on the fly)"),
    "tflite_float16": N_("TFLite float16"),
    "tflite_int8": N_("TFLite full integer int8"),
    "tflite_16x8": N_("TFLite 16x8 (int16 activations, int8 weights)"),
    "w8a8": N_("W8A8 (int8 per channel, activations int8 per tensor, dynamic)"),
    "w8a8_per_token": N_("W8A8, activations per token"),
    "nf4": N_("NF4 weights (blocks of 64)"),
    "nf4_dq": N_("NF4 weights + double quant"),
    "int4_block": N_("int4 weights, blocks of 64"),
    "fp8_e4m3": N_("FP8 E4M3 (weights and activations, per-tensor scale)"),
    "fp8_e5m2": N_("FP8 E5M2 (weights and activations, per-tensor scale)"),
    "mxfp8": N_("MXFP8 E4M3 (weights and activations)"),
    "mxfp6": N_("MXFP6 E2M3 (weights and activations)"),
    "mxfp4": N_("MXFP4 (weights and activations)"),
    "nvfp4": N_("NVFP4 (weights and activations)"),
}
"""Recipe key -> its title (the English of ``Recipe.title``)."""

RECIPE_NOTES: dict[str, str] = {
    "float32": N_("No quantization."),
    "tflite_dynamic": N_("Weights int8 per output channel; activations stay float32."),
    "tflite_dynamic_hybrid": N_("As dynamic range, with the input of each Linear quantized per token (asymmetric 8-bit) as TFLite's hybrid FullyConnected does."),
    "tflite_float16": N_("Every float parameter stored as float16, computed in float32."),
    "tflite_int8": N_("Weights int8 per channel; activations int8 per tensor with a zero point, from the representative dataset's min/max."),
    "tflite_16x8": N_("Activations int16 symmetric per tensor, weights int8 per channel, bias int64."),
    "nf4": N_("QLoRA's 4-bit NormalFloat, weight-only."),
    "nf4_dq": N_("Block absmaxes themselves quantized to 8 bits."),
    "int4_block": N_("Weight-only, one float32 scale per 64 weights."),
}
"""Recipe key -> its note (the English of ``Recipe.note``; recipes without a note are absent)."""

RECIPE_SHORT: dict[str, str] = {
    "float32": N_("float32"),
    "tflite_dynamic": N_("TFLite dynamic"),
    "tflite_dynamic_hybrid": N_("TFLite hybrid"),
    "tflite_float16": N_("TFLite float16"),
    "tflite_int8": N_("TFLite int8"),
    "tflite_16x8": N_("TFLite 16x8"),
    "w8a8": N_("W8A8"),
    "w8a8_per_token": N_("W8A8 per token"),
    "nf4": N_("NF4"),
    "nf4_dq": N_("NF4 + double quant"),
    "int4_block": N_("int4, blocks of 64"),
    "fp8_e4m3": N_("FP8 E4M3"),
    "fp8_e5m2": N_("FP8 E5M2"),
    "mxfp8": N_("MXFP8"),
    "mxfp6": N_("MXFP6"),
    "mxfp4": N_("MXFP4"),
    "nvfp4": N_("NVFP4"),
}
"""Recipe key -> a short name for a chart marker or bar."""

SIZE_PART_LABELS: dict[str, str] = {
    "embeddings": N_("embeddings"),
    "linear_codes": N_("Linear weights (codes)"),
    "scales": N_("scales and zero points"),
    "norms_biases": N_("LayerNorms and biases"),
}
""":data:`quantlib.model.size.SIZE_PARTS` -> what a stacked bar's legend calls them."""


def model_labels() -> dict[str, str]:
    return translated(model_figs.LABELS)


def recipe_title(key: str, *, emb: bool = False, keep=()) -> str:
    """The translated title of recipe ``key``; ``emb``: its token embeddings quantized too;
    ``keep``: the Linears of the per-layer mix (kept in float32)."""
    title = _(RECIPE_TITLES[key]) if key in RECIPE_TITLES else key
    if emb:
        title = _("{title}, embeddings quantized").format(title=title)
    if keep:
        title = _("{title}, float: {names}").format(title=title, names=", ".join(sorted(keep)))
    return title


def recipe_titles(keys) -> dict[str, str]:
    """Key -> translated title, for a selectbox or a table."""
    return {k: recipe_title(k) for k in keys}


def recipe_note(key: str) -> str:
    return _(RECIPE_NOTES[key]) if key in RECIPE_NOTES else ""


def recipe_short(keys) -> dict[str, str]:
    """Key -> translated short name, for the chart markers."""
    return {k: _(RECIPE_SHORT[k]) if k in RECIPE_SHORT else k for k in keys}


def size_part_labels() -> dict[str, str]:
    return {k: _(v) for k, v in SIZE_PART_LABELS.items()}


# --------------------------------------------------------------------------- TeX
def tex_num(x: float, digits: int = 4) -> str:
    """``digits`` significant digits ('4.127'), very large or small numbers as
    '1.2\\times 10^{-5}'."""
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        mant, _e, power = f"{x:.{digits - 1}e}".partition("e")
        return f"{float(mant):g}\\times 10^{{{int(power)}}}"
    return f"{x:.{digits}g}"


def smooth_tex(ext: dict) -> list[str]:
    """SmoothQuant's factor for the channel with the largest activation maximum
    (:meth:`quantlib.model.smoothquant.SmoothView.extreme`): the formula with its numbers, then
    that channel's and the whole Linear's maxima before and after."""
    a, j = ext["alpha"], ext["j"]
    n = tex_num
    return [
        rf"s_j = \frac{{\max|X_j|^{{\alpha}}}}{{\max|W_j|^{{1-\alpha}}}},\quad "
        rf"s_{{{j}}} = \frac{{{n(ext['x'])}^{{{a:.2f}}}}}{{{n(ext['w'])}^{{{1 - a:.2f}}}}} = {n(ext['s'])}",
        rf"\max|X_{{{j}}}|: {n(ext['x'])} \xrightarrow{{\ \div s_{{{j}}}\ }} {n(ext['x_after'])},\qquad "
        rf"\max|W_{{{j}}}|: {n(ext['w'])} \xrightarrow{{\ \times s_{{{j}}}\ }} {n(ext['w_after'])}",
        rf"\max_j \max|X_j|: {n(ext['x_max'])} \to {n(ext['x_max_after'])},\qquad "
        rf"\max_j \max|W_j|: {n(ext['w_max'])} \to {n(ext['w_max_after'])}",
    ]


def calibration_tex(row: dict) -> str:
    """The clip threshold T of one calibration method with its numbers (a row of
    :func:`lab.model.cached.calibration_study`)."""
    n = tex_num
    t, amax, m = row["threshold"], row["amax"], row["method"]
    if m == "minmax":
        return rf"T = \max|x| = {n(t)}"
    if m == "percentile":
        return rf"T = P_{{{row['percentile']:g}}}(|x|) = {n(t)} \quad (\max|x| = {n(amax)})"
    if m == "mse":
        k, total = row["best"] + 1, row["n_candidates"]
        return (
            rf"T = \arg\min_{{T_i = \max|x|\cdot i/{total}}} \operatorname{{E}}\big[(x - Q_{{T_i}}(x))^2\big] = {n(amax)}\cdot \tfrac{{{k}}}{{{total}}} = {n(t)},"
            rf"\quad \mathrm{{MSE}} = {n(row['objective'])}\ (\text{{{_('min-max')}}}: {n(row['objective_minmax'])})"
        )
    bins = round(amax / row["bin_width"])
    return (
        rf"T = (i^{{*}} + \tfrac12)\,\Delta,\ \ i^{{*}} = \arg\min_{{i}} \mathrm{{KL}}(P_i \,\|\, Q_i) = {row['chosen_bin']},\ \ \Delta = \tfrac{{\max|x|}}{{{bins}}} = {n(row['bin_width'])},"
        rf"\ \ T = {n(t)},\quad \mathrm{{KL}} = {n(row['objective'])}"
    )
