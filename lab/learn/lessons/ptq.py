"""Lesson 9: post-training quantization (PTQ): TFLite's four modes, and calibration: choosing an
activation's clip range T from sample data, ``s = T/127``, ``q = clamp(round(x/s), −127, 127)``.

4096 activations N(0, 1) with 4 outliers of size 30: min-max takes T = 30 and rounds the bulk
with a step of 30/127 = 0.236; percentile 99.9 and KL clip the outliers (KL: T = 3.9) and round the bulk
7.7× more finely.  Which of min-max, percentile, MSE and KL gives the least squared error is
computed, not assumed: for the tensor's own squared error min-max (and MSE calibration) are
hard to beat; clipping buys the bulk a finer step, which is what end-to-end accuracy often
rewards (the PTQ studio measures that).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize
from quantlib.calibration import CALIBRATION_METHODS, calibrate

from lab.core.i18n import N_, _, translated
from lab.learn.core import Lesson
from lab.model.display import recipe_note, recipe_title

N_VALUES = 4096
BULK = 4.0  # |x| below this is "the bulk" (a standard normal has 99.994% of its mass there)
MODES = ("tflite_dynamic", "tflite_float16", "tflite_int8", "tflite_16x8")
MODE_CALIBRATION = {
    "tflite_dynamic": N_("no: activations stay float (or are quantized per row on the fly)"),
    "tflite_float16": N_("no"),
    "tflite_int8": N_("yes: a representative dataset fixes every activation's range"),
    "tflite_16x8": N_("yes: int16 activation ranges from a representative dataset"),
}
PERCENTILE = 99.9
METHOD_NAMES = {"minmax": N_("min-max"), "percentile": N_("percentile 99.9"), "mse": N_("MSE"), "kl": N_("KL (TensorRT entropy)")}


def activations(outlier: float, n_outliers: int, seed: int) -> np.ndarray:
    """4096 float32 activations: standard normal, the first ``n_outliers`` replaced by ±outlier."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(N_VALUES)
    if n_outliers:
        x[:n_outliers] = outlier * np.where(rng.random(n_outliers) < 0.5, -1.0, 1.0)
    return x.astype(np.float32)


def study(x: np.ndarray) -> dict[str, dict]:
    """Per calibration method: the clip T (quantlib.calibration), the share of values clipped,
    and the int8 quantization's mean squared error on all values and on the bulk (|x| < 4)."""
    x64 = x.astype(np.float64)
    bulk = np.abs(x64) < BULK
    out = {}
    for m in CALIBRATION_METHODS:
        t = calibrate(x, m, bits=8, percentile=PERCENTILE).threshold
        q = quantize(x, f"int8:cal=percentile,pct={PERCENTILE:g}" if m == "percentile" else f"int8:cal={m}")
        err = (q.dequantize().astype(np.float64) - x64) ** 2
        out[m] = {"T": float(t), "scale": float(t) / 127, "clipped": float(np.mean(np.abs(x64) > t)), "mse": float(err.mean()), "mse_bulk": float(err[bulk].mean()), "q": q}
    return out


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "**Post-training quantization** (PTQ, 训练后量化) quantizes a model that is already trained, with no more training. TensorFlow Lite offers four modes. Weights are easy: they are known, so their range is just their absmax. **Activations** are only known when data flows through the network: their range must be **calibrated** on a few hundred sample inputs, the representative dataset, and then fixed."
        )
    )
    st.table(
        {
            _("TFLite mode"): [recipe_title(k) for k in MODES],
            _("what it stores"): [recipe_note(k) for k in MODES],
            _("needs calibration data"): [translated(MODE_CALIBRATION)[k] for k in MODES],
        },
    )
    st.markdown(
        _("Calibration chooses a clip range ±T for an activation. Real activations have rare **outliers**: keep them (min-max) and the step s = T/127 is coarse for every other value; clip them (percentile, MSE, KL) and they are rounded to ±T. Try it on 4096 sample activations:")
    )
    c_o, c_n, c_s = st.columns([2, 2, 1])
    outlier = c_o.slider(_("outlier size (× the typical value)"), 1.0, 100.0, 30.0, 1.0, key=lesson.key("outlier"))
    n_out = c_n.slider(_("number of outliers"), 0, 200, 4, key=lesson.key("count"))
    seed = c_s.number_input(_("seed"), 0, 999, 0, key=lesson.key("seed"))
    x = activations(float(outlier), int(n_out), int(seed))
    r = study(x)
    names = translated(METHOD_NAMES)

    mm, kl = r["minmax"], r["kl"]
    lesson.formula(r"s = \frac{T}{127}:\quad \text{min-max } \frac{%.4g}{127} = %.4g,\qquad \text{KL } \frac{%.4g}{127} = %.4g" % (mm["T"], mm["scale"], kl["T"], kl["scale"]))
    j = 0 if n_out else int(np.abs(x).argmax())  # an outlier (the largest value without any)
    lesson.formula(r"q = \operatorname{clamp}\!\left(\operatorname{round}\!\left(\tfrac{x}{s}\right), -127, 127\right),\qquad \hat x = q\cdot s")
    for name, row in (("min-max", mm), ("KL", kl)):
        raw = int(np.rint(x[j] / row["scale"]))
        lesson.formula(
            r"\text{%s: } x = %.4g \to \operatorname{clamp}(%d) = %d \to \hat x = %.4g" % (name, x[j], raw, int(row["q"].codes[j]), float(row["q"].dequantize()[j]))
        )
    st.dataframe(
        {
            _("calibration"): [names[m] for m in r],
            _("clip T"): [f"{v['T']:.4g}" for v in r.values()],
            _("step s = T/127"): [f"{v['scale']:.4g}" for v in r.values()],
            _("values clipped"): [f"{100 * v['clipped']:.2f}%" for v in r.values()],
            _("MSE, all values"): [f"{v['mse']:.3g}" for v in r.values()],
            _("MSE, |x| < 4"): [f"{v['mse_bulk']:.3g}" for v in r.values()],
        },
        hide_index=True,
    )
    st.caption(_("Look at the two error columns: a tight clip makes the bulk's error small and the outliers' large; min-max does the opposite. This is one sample (seed {seed}); change the seed to see how much the numbers move.").format(seed=int(seed)))

    answer = 0 if mm["mse"] <= kl["mse"] else 1
    options = [_("min-max: keep the outliers"), _("KL: clip to the bulk")]
    why = _("Over all values: min-max {mm}, KL {kl}. On the bulk (|x| < 4) KL's step {ks} rounds {ratio}× more finely (error {klb} against {mmb}), but every value beyond T = {t} is cut to ±T and costs (|x| − T)²; MSE calibration, which picks T for the least of this error by construction, chose T = {mt}. The squared error of one tensor is not what matters in the end: the PTQ studio measures each calibration end to end on a real model.").format(
        mm=f"{mm['mse']:.3g}", kl=f"{kl['mse']:.3g}", ks=f"{kl['scale']:.4g}", ratio=f"{mm['scale'] / kl['scale']:.1f}", klb=f"{kl['mse_bulk']:.3g}", mmb=f"{mm['mse_bulk']:.3g}", t=f"{kl['T']:.4g}", mt=f"{r['mse']['T']:.4g}"
    )
    lesson.predict(_("With {n} outliers of {o}× the typical value, which clip range gives the smaller mean squared error over all 4096 int8 activations?").format(n=int(n_out), o=f"{outlier:g}"), options, answer, why)
    lesson.open_tool(_("Open the PTQ studio: the four calibrations on a real transformer's Linear"), "app_pages/model.py", {"recipe": "tflite_int8", "section": "calibration"})
