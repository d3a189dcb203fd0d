"""Post-training quantization recipes for MiniLM: TensorFlow Lite's four, emulated, and our own.

TFLite recipes (the arithmetic of ``tensorflow/lite/tools/optimize/quantization_utils.cc`` and
the reference kernels, reproduced in numpy):

* ``tflite_dynamic`` -- dynamic-range: every Linear weight int8 per output channel,
  ``scale = fl32(max|W_c| / 127)``, ``q = clamp(round(fl32(W * fl32(1 / scale))), -127, 127)``
  with ``round`` half away from zero (``TfLiteRound``); weights dequantized ``q * scale``,
  activations float32 (as the brief asks; TFLite's hybrid kernels may also quantize the input
  per row on the fly: ``tflite_dynamic_hybrid`` emulates that with ``uint8:axis=0``).
* ``tflite_float16`` -- every float parameter (weights, biases, embeddings, LayerNorms)
  rounded to float16 and computed in float32.
* ``tflite_int8`` -- full integer: weights as above; each Linear's input and output int8 per
  tensor, asymmetric with a zero point, from the min / max seen on a representative dataset
  (``GetAsymmetricQuantizationParams``: the range extended to include 0, ``scale =
  (max - min) / 255``, ``zp = round(-128 - min / scale)`` clamped); bias int32 with scale
  ``s_in * s_w``; the int32 accumulation ``sum (q_x - zp) q_w + q_b`` computed exactly; the
  output requantized ``round(acc * s_in s_w / s_out) + zp_out`` (a float64 multiplier where
  TFLite uses a 31-bit fixed-point one: they can differ by 1 on a near-tie).
* ``tflite_16x8`` -- int16 activations (symmetric, ``scale = max(|min|, |max|) / 32767``, zero
  point 0), int8 weights per channel, int64 bias.

What is *not* emulated in the integer recipes: TFLite would also run LayerNorm, softmax,
GELU and the attention matmuls on integers; here they run in float32 between the quantized
Linears (the tensors entering and leaving every Linear are exactly the integer ones).

Our recipes use quantlib schemes through :class:`~quantlib.model.forward.LinearQuant`:
weight-only (NF4 +- double quant, int4 blocks of 64), weights and activations (FP8 E4M3 / E5M2
per tensor, MXFP8 / MXFP6 / MXFP4 blocks of 32 along the reduction axis, NVFP4 blocks of 16,
W8A8 per tensor or per token).  :func:`with_float_layers` keeps chosen Linears in float32.

Caching for a page: :func:`reference` (float32 embeddings) and :func:`calibrate_model`
(activation ranges on the first n calibration texts) return plain arrays / dicts to pass back
in; :func:`run_recipe` takes them.  :func:`calibration_study` compares min-max / percentile /
MSE / KL clip ranges (:mod:`quantlib.calibration`) for one Linear's input, end to end.
The bytes, part by part, and the quantized token embeddings live in :mod:`quantlib.model.size`.  Quantized weights are cached per scheme in
:func:`quantlib.model.forward.quantized_weight` and :func:`_tflite_weights`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..schemes import parse_scheme
from .evalset import CALIBRATION_TEXTS, EvalMetrics, compare
from .forward import LinearQuant, QuantHook, collect_stats, embed, forward
from .minilm import Batch, Linear, MiniLM, tokenize
from .size import SizeBreakdown, embedding_scheme, kept_float, model_size, quantized_embeddings

__all__ = [
    "RECIPES",
    "CalibrationRow",
    "Recipe",
    "RecipeResult",
    "SizeBreakdown",
    "StaticSymmetric",
    "TFLiteLinear",
    "build_plan",
    "calibrate_model",
    "calibration_study",
    "custom_recipe",
    "linear_outputs",
    "model_size",
    "reference",
    "run_plan",
    "run_recipe",
    "tflite_asymmetric_params",
    "tflite_round",
    "tflite_symmetric_params",
    "tflite_weight_int8",
    "with_float_layers",
    "with_quantized_embeddings",
]


# ============================================================================ TFLite arithmetic
def tflite_round(x: np.ndarray) -> np.ndarray:
    """``TfLiteRound`` / ``std::round``: to nearest, halves away from zero."""
    x = np.asarray(x)
    return np.sign(x) * np.floor(np.abs(x) + x.dtype.type(0.5)) if np.issubdtype(x.dtype, np.floating) else x


def tflite_weight_int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel symmetric int8 of a (out, in) weight, as the TFLite converter does it.

    ``scale_c = fl32(max(|min W_c|, |max W_c|) / 127)`` (1 if 0), ``q = clamp(round(fl32(W *
    fl32(1 / scale_c))), -127, 127)``.  Worked number: a row [0.5, -1.27, 0.0049] -> scale
    0.01, 1/scale = 100.0 in float32 (99.99999... rounds up), q = [50, -127, 0].  Returns
    (q int8, scale float32 (out,)).
    """
    w = np.asarray(w, np.float32)
    half = np.maximum(np.abs(w.min(axis=1)), np.abs(w.max(axis=1)))
    scale = (half / np.float32(127)).astype(np.float32)
    scale[scale == 0] = np.float32(1)
    inv = (np.float32(1) / scale).astype(np.float32)
    q = np.clip(tflite_round((w * inv[:, None]).astype(np.float32)), -127, 127).astype(np.int8)
    return q, scale


def tflite_asymmetric_params(lo: float, hi: float, qmin: int = -128, qmax: int = 127) -> tuple[np.float32, int]:
    """``GetAsymmetricQuantizationParams`` (float32 arithmetic): (scale, zero_point).

    Worked number: [-1, 3] -> scale = 4/255 = 0.015686275, zp_from_min = -128 + 63.75 = -64.25
    -> zp = -64.  [2, 5] -> [0, 5]: scale 5/255, zp = -128.
    """
    lo32 = min(np.float32(lo), np.float32(0))
    hi32 = max(np.float32(hi), np.float32(0))
    scale = np.float32((hi32 - lo32) / np.float32(qmax - qmin))
    zfm = np.float32(qmin)
    if scale != 0:
        zfm = np.float32(np.float32(qmin) - lo32 / scale)
    if zfm < qmin:
        zp = qmin
    elif zfm > qmax:
        zp = qmax
    else:
        zp = int(tflite_round(np.float32(zfm)))
    if scale == 0:
        scale = np.float32(1)
    return scale, zp


def tflite_symmetric_params(lo: float, hi: float, half_range: int = 32767) -> np.float32:
    """Symmetric scale (zero point 0): ``max(|lo|, |hi|) / half_range`` (float32); 16x8 uses 32767."""
    s = np.float32(max(abs(np.float32(lo)), abs(np.float32(hi))) / np.float32(half_range))
    return s if s != 0 else np.float32(1)


def _quantize_tensor(x: np.ndarray, scale: np.float32, zp: int, qmin: int, qmax: int) -> np.ndarray:
    """TFLite ``AffineQuantize``: ``clamp(round(fl32(x / scale)) + zp, qmin, qmax)`` (as float64 ints)."""
    q = tflite_round((x / scale).astype(np.float32)).astype(np.float64) + zp
    return np.clip(q, qmin, qmax)


_TFLITE_W: dict[str, tuple] = {}


def _tflite_weights(lin: Linear) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q int8, scale, dequantized float32 q * scale) of a Linear's weight, cached by name."""
    ent = _TFLITE_W.get(lin.name)
    if ent is None or ent[0] is not lin.weight:
        q, s = tflite_weight_int8(lin.weight)
        ent = (lin.weight, q, s, (q.astype(np.float32) * s[:, None]).astype(np.float32))
        _TFLITE_W[lin.name] = ent
    return ent[1], ent[2], ent[3]


@dataclass(frozen=True, eq=False)
class TFLiteLinear:
    """The integer FullyConnected kernel of TFLite, for one Linear (a ``LinearQuant.kernel``).

    ``bits`` 8: int8 input / output, asymmetric per tensor (ranges ``in_range`` / ``out_range``);
    ``bits`` 16: int16, symmetric.  Weights int8 per channel (:func:`tflite_weight_int8`).
    ``quantize_output``: also round the output to its int tensor (TFLite always does).
    """

    in_range: tuple[float, float]
    out_range: tuple[float, float]
    bits: int = 8
    quantize_output: bool = True

    def params(self, lo: float, hi: float) -> tuple[np.float32, int, int, int]:
        if self.bits == 8:
            s, zp = tflite_asymmetric_params(lo, hi, -128, 127)
            return s, zp, -128, 127
        return tflite_symmetric_params(lo, hi, 32767), 0, -32768, 32767

    def __call__(self, lin: Linear, x: np.ndarray) -> np.ndarray:
        s_in, zp_in, qmin, qmax = self.params(*self.in_range)
        qw, s_w, _ = _tflite_weights(lin)
        bias_scale = (s_in * s_w).astype(np.float32)
        qb = tflite_round((lin.bias / bias_scale).astype(np.float32)).astype(np.float64)
        qx = _quantize_tensor(x, s_in, zp_in, qmin, qmax) - zp_in
        acc = qx @ qw.T.astype(np.float64)  # exact: |acc| < 2^53
        acc += qb
        real = acc * (np.float64(s_in) * s_w.astype(np.float64))
        if not self.quantize_output:
            return real.astype(np.float32)
        s_out, zp_out, omin, omax = self.params(*self.out_range)
        qy = np.clip(tflite_round(real / np.float64(s_out)) + zp_out, omin, omax)
        return ((qy - zp_out) * np.float64(s_out)).astype(np.float32)


def _tflite_dynamic_kernel(lin: Linear, x: np.ndarray) -> np.ndarray:
    _, _, w = _tflite_weights(lin)
    y = x @ w.T
    y += lin.bias
    return y


# ============================================================================ recipes
_TFL_HEAD = "converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)\n"


@dataclass(frozen=True)
class Recipe:
    """A quantization recipe (hashable, so a page can use it as a cache key).

    ``kind``: ``"schemes"`` (``weight`` / ``act`` are quantlib scheme strings, dynamic),
    ``"tflite_dynamic"``, ``"tflite_float16"``, ``"tflite_int8"``, ``"tflite_16x8"``.
    ``keep_float``: Linear names left in float32.  ``quant_embeddings``: the word table
    quantized too (:func:`quantlib.model.size.quantized_embeddings`).  ``tflite``: the equivalent
    ``tf.lite.TFLiteConverter`` settings, or None when TFLite has none.
    """

    key: str
    title: str
    kind: str = "schemes"
    weight: str | None = None
    act: str | None = None
    keep_float: frozenset = frozenset()
    tflite: str | None = None
    note: str = ""
    quant_embeddings: bool = False

    @property
    def needs_calibration(self) -> bool:
        return self.kind in ("tflite_int8", "tflite_16x8")

    @property
    def weight_label(self) -> str:
        if self.kind in ("tflite_dynamic", "tflite_int8", "tflite_16x8"):
            return "int8 per channel (TFLite)"
        if self.kind == "tflite_float16":
            return "float16"
        return self.weight or "float32"


def _rec(key, title, kind="schemes", weight=None, act=None, tflite=None, note=""):
    return Recipe(
        key=key,
        title=title,
        kind=kind,
        weight=weight,
        act=act,
        tflite=tflite,
        note=note,
    )


RECIPES: dict[str, Recipe] = {
    r.key: r
    for r in (
        _rec("float32", "float32 (reference)", note="No quantization."),
        _rec(
            "tflite_dynamic",
            "TFLite dynamic range (int8 weights, float activations)",
            "tflite_dynamic",
            tflite=_TFL_HEAD + "converter.optimizations = [tf.lite.Optimize.DEFAULT]\ntflite_model = converter.convert()",
            note="Weights int8 per output channel; activations stay float32.",
        ),
        _rec(
            "tflite_dynamic_hybrid",
            "TFLite dynamic range, hybrid kernel (inputs int8 per row on the fly)",
            "tflite_dynamic",
            act="uint8:axis=0",
            tflite=_TFL_HEAD + "converter.optimizations = [tf.lite.Optimize.DEFAULT]\ntflite_model = converter.convert()",
            note="As dynamic range, with the input of each Linear quantized per token (asymmetric 8-bit) as TFLite's hybrid FullyConnected does.",
        ),
        _rec(
            "tflite_float16",
            "TFLite float16",
            "tflite_float16",
            tflite=_TFL_HEAD
            + "converter.optimizations = [tf.lite.Optimize.DEFAULT]\nconverter.target_spec.supported_types = [tf.float16]\ntflite_model = converter.convert()",
            note="Every float parameter stored as float16, computed in float32.",
        ),
        _rec(
            "tflite_int8",
            "TFLite full integer int8",
            "tflite_int8",
            tflite=_TFL_HEAD + "converter.optimizations = [tf.lite.Optimize.DEFAULT]\n"
            "def representative_dataset():\n"
            "    for text in calibration_texts[:n]:\n"
            "        yield [tokenize(text)]\n"
            "converter.representative_dataset = representative_dataset\n"
            "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]\n"
            "converter.inference_input_type = tf.int8  # or tf.uint8\n"
            "converter.inference_output_type = tf.int8\n"
            "tflite_model = converter.convert()",
            note="Weights int8 per channel; activations int8 per tensor with a zero point, from the representative dataset's min/max.",
        ),
        _rec(
            "tflite_16x8",
            "TFLite 16x8 (int16 activations, int8 weights)",
            "tflite_16x8",
            tflite=_TFL_HEAD + "converter.optimizations = [tf.lite.Optimize.DEFAULT]\n"
            "converter.representative_dataset = representative_dataset\n"
            "converter.target_spec.supported_ops = [\n"
            "    tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]\n"
            "tflite_model = converter.convert()",
            note="Activations int16 symmetric per tensor, weights int8 per channel, bias int64.",
        ),
        _rec(
            "w8a8",
            "W8A8 (int8 per channel, activations int8 per tensor, dynamic)",
            weight="int8:axis=0",
            act="int8",
        ),
        _rec(
            "w8a8_per_token",
            "W8A8, activations per token",
            weight="int8:axis=0",
            act="int8:axis=0",
        ),
        _rec(
            "nf4",
            "NF4 weights (blocks of 64)",
            weight="nf4:block=64",
            note="QLoRA's 4-bit NormalFloat, weight-only.",
        ),
        _rec(
            "nf4_dq",
            "NF4 weights + double quant",
            weight="nf4:block=64,dq",
            note="Block absmaxes themselves quantized to 8 bits.",
        ),
        _rec(
            "int4_block",
            "int4 weights, blocks of 64",
            weight="int4:block=64",
            note="Weight-only, one float32 scale per 64 weights.",
        ),
        _rec(
            "fp8_e4m3",
            "FP8 E4M3 (weights and activations, per-tensor scale)",
            weight="float8_e4m3fn:scaled",
            act="float8_e4m3fn:scaled",
        ),
        _rec(
            "fp8_e5m2",
            "FP8 E5M2 (weights and activations, per-tensor scale)",
            weight="float8_e5m2:scaled",
            act="float8_e5m2:scaled",
        ),
        _rec(
            "mxfp8",
            "MXFP8 E4M3 (weights and activations)",
            weight="mxfp8_e4m3",
            act="mxfp8_e4m3",
        ),
        _rec(
            "mxfp6",
            "MXFP6 E2M3 (weights and activations)",
            weight="mxfp6_e2m3",
            act="mxfp6_e2m3",
        ),
        _rec("mxfp4", "MXFP4 (weights and activations)", weight="mxfp4", act="mxfp4"),
        _rec("nvfp4", "NVFP4 (weights and activations)", weight="nvfp4", act="nvfp4"),
    )
}
"""Every built-in recipe by key."""


def custom_recipe(weight: str | None, act: str | None = None, *, title: str | None = None) -> Recipe:
    """A recipe from two quantlib scheme strings (validated; canonical form)."""
    w = str(parse_scheme(weight)) if weight else None
    a = str(parse_scheme(act)) if act else None
    return Recipe(
        key=f"custom:{w}|{a}",
        title=title or f"W {w or 'float32'}, A {a or 'float32'}",
        weight=w,
        act=a,
    )


def with_float_layers(recipe: Recipe | str, names) -> Recipe:
    """``recipe`` with the Linears in ``names`` kept in float32 (the per-layer mix).  A name may
    be a Linear (``"layer5.ffn_down"``), a layer (``"layer5"``) or a kind (``"ffn_down"``)."""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    names = frozenset(names)
    if not names:
        return r
    return replace(
        r,
        key=f"{r.key}+float:{','.join(sorted(names))}",
        title=f"{r.title}, float: {', '.join(sorted(names))}",
        keep_float=r.keep_float | names,
    )


def with_quantized_embeddings(recipe: Recipe | str) -> Recipe:
    """``recipe`` with its token embedding table quantized by the recipe's weight scheme
    (:func:`quantlib.model.size.embedding_scheme`; per-row int8 for TFLite's integer recipes);
    the recipe itself when it has no scheme for it (float32, TFLite float16)."""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    if r.quant_embeddings or embedding_scheme(r) is None:
        return r
    return replace(r, key=f"{r.key}+emb", title=f"{r.title}, embeddings quantized", quant_embeddings=True)


# ============================================================================ calibration
def calibrate_model(model: MiniLM, n: int = 16, texts=None) -> dict[str, dict]:
    """Activation statistics of every Linear on the first ``n`` calibration texts (the
    representative dataset): name -> :meth:`ActStats.summary` (input absmax per channel, min,
    max, output min, max).  Plain arrays: cache it (``st.cache_data``) and pass it back."""
    texts = list(texts if texts is not None else CALIBRATION_TEXTS)
    if not 1 <= n <= len(texts):
        raise ValueError(f"n must be between 1 and {len(texts)}, got {n}")
    stats = collect_stats(model, tokenize(texts[:n]))
    return {k: v.summary() for k, v in stats.items()}


def reference(model: MiniLM, batch: Batch) -> np.ndarray:
    """The float32 embeddings (cache them)."""
    return embed(model, batch)


# ============================================================================ plans & sizes
def build_plan(model: MiniLM, recipe: Recipe, calib: dict | None = None) -> dict[str, LinearQuant]:
    """Linear name -> :class:`LinearQuant` for ``recipe`` (integer recipes need ``calib``)."""
    if recipe.needs_calibration and calib is None:
        raise ValueError(f"{recipe.key} needs calibration statistics: calibrate_model(model, n)")
    plan = {}
    for name in model.linears:
        if kept_float(recipe, name):
            continue
        k = recipe.kind
        if k == "schemes":
            if recipe.weight is None and recipe.act is None:
                continue
            plan[name] = LinearQuant(weight=recipe.weight, act=recipe.act)
        elif k == "tflite_dynamic":
            if recipe.act:
                plan[name] = LinearQuant(kernel=_DynamicAct(recipe.act))
            else:
                plan[name] = LinearQuant(kernel=_tflite_dynamic_kernel)
        elif k == "tflite_float16":
            plan[name] = LinearQuant(weight="float16")
        else:
            c = calib[name]
            plan[name] = LinearQuant(
                kernel=TFLiteLinear(
                    (c["lo"], c["hi"]),
                    (c["out_lo"], c["out_hi"]),
                    bits=8 if k == "tflite_int8" else 16,
                )
            )
    return plan


@dataclass(frozen=True)
class _DynamicAct:
    act: str

    def __call__(self, lin: Linear, x: np.ndarray) -> np.ndarray:
        from .forward import quantize_act

        return _tflite_dynamic_kernel(lin, quantize_act(x, self.act))


# ============================================================================ running
@dataclass(frozen=True)
class RecipeResult:
    recipe: Recipe
    embeddings: np.ndarray
    metrics: EvalMetrics
    size: SizeBreakdown
    seconds: float


@lru_cache(maxsize=2)
def _float16_model(model: MiniLM) -> MiniLM:
    return model.map_params(lambda a: a.astype(np.float16).astype(np.float32))


def run_recipe(
    model: MiniLM,
    recipe: Recipe | str,
    batch: Batch,
    ref: np.ndarray,
    calib: dict | None = None,
    *,
    plan_hook: Callable | None = None,
) -> RecipeResult:
    """Embed ``batch`` under ``recipe`` and compare with the float32 ``ref``."""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    t0 = time.perf_counter()
    plan = build_plan(model, r, calib)
    if plan_hook is not None:
        plan = plan_hook(plan)
    m = _float16_model(model) if r.kind == "tflite_float16" else model
    if r.quant_embeddings:
        m = quantized_embeddings(m, r)
    emb = embed(m, batch, QuantHook(plan) if plan else None)
    size = model_size(model, r)
    met = compare(ref, emb, size.total)
    return RecipeResult(r, emb, met, size, time.perf_counter() - t0)


def run_plan(model: MiniLM, plan, batch: Batch, ref: np.ndarray) -> tuple[np.ndarray, EvalMetrics]:
    """Embed ``batch`` under an explicit plan (name -> LinearQuant) and compare with ``ref``."""
    emb = embed(model, batch, QuantHook(plan))
    return emb, compare(ref, emb)


def linear_outputs(model: MiniLM, batch: Batch, plan=None) -> dict[str, np.ndarray]:
    """Every Linear's output on ``batch`` (for per-layer error views)."""
    outs: dict[str, np.ndarray] = {}
    inner = QuantHook(plan)

    def hook(lin, x):
        y = inner(lin, x)
        outs[lin.name] = y
        return y

    forward(model, batch, hook)
    return outs


# ============================================================================ calibration study
@dataclass(frozen=True)
class StaticSymmetric:
    """A ``LinearQuant.kernel``: the input quantized to int``bits`` symmetric with a fixed clip
    ``threshold`` (``s = T / qmax``, ``q = clamp(rint(x / s), -qmax, qmax)``), the weight with
    ``weight`` (a quantlib scheme, or None for float32)."""

    threshold: float
    bits: int = 8
    weight: str | None = "int8:axis=0"

    def __call__(self, lin: Linear, x: np.ndarray) -> np.ndarray:
        from .forward import quantized_weight

        qmax = 2 ** (self.bits - 1) - 1
        s = np.float32(self.threshold / qmax) if self.threshold > 0 else np.float32(1)
        xq = (np.clip(np.rint(x / s), -qmax, qmax) * s).astype(np.float32)
        w = quantized_weight(lin, self.weight) if self.weight else lin.weight
        y = xq @ w.T
        y += lin.bias
        return y


@dataclass(frozen=True)
class CalibrationRow:
    method: str
    result: object  # quantlib.calibration.CalibrationResult: lo, hi, candidates, objective
    frac_clipped: float  # of the evaluation-set inputs beyond the threshold
    output_rel_error: float  # ||Y_q - Y|| / ||Y|| of this Linear on the evaluation set
    metrics: EvalMetrics  # end to end, only this Linear quantized


def calibration_study(
    model: MiniLM,
    name: str,
    calib_inputs: np.ndarray,
    batch: Batch,
    ref: np.ndarray,
    eval_inputs: np.ndarray | None = None,
    *,
    methods=("minmax", "percentile", "mse", "kl"),
    bits: int = 8,
    percentile: float = 99.99,
    weight: str | None = "int8:axis=0",
) -> list[CalibrationRow]:
    """For Linear ``name``: the symmetric clip range each calibration method picks on
    ``calib_inputs`` (its inputs on the representative set, e.g. ``collect_stats(...,
    keep_inputs=True)[name].inputs()``), and what it does: fraction clipped and output error on
    ``eval_inputs``, and the end-to-end metrics with only this Linear quantized (static int8
    input with that clip, weight ``weight``)."""
    from ..calibration import calibrate

    lin = model.linears[name]
    rows = []
    for method in methods:
        res = calibrate(calib_inputs, method, bits=bits, symmetric=True, percentile=percentile)
        kern = StaticSymmetric(res.threshold, bits, weight)
        emb = embed(model, batch, QuantHook({name: LinearQuant(kernel=kern)}))
        if eval_inputs is not None:
            y = eval_inputs @ lin.weight.T + lin.bias
            yq = kern(lin, eval_inputs)
            err = float(np.linalg.norm((yq - y).astype(np.float64)) / np.linalg.norm(y.astype(np.float64)))
            clip = float(np.mean(np.abs(eval_inputs) > res.threshold))
        else:
            err, clip = float("nan"), float("nan")
        rows.append(CalibrationRow(method, res, clip, err, compare(ref, emb)))
    return rows
