"""Lesson 7: NF4 (QLoRA's 4-bit NormalFloat) against evenly spaced int4, and double quantization.

NF4's 16 levels are normal quantiles scaled to [−1, 1] (``build_nf4``: Φ⁻¹(0.9677083) = 1.848
becomes 1), denser near 0 where normal weights are; each block of 64 stores 4-bit indices and
one float32 absmax: ``x̂ = absmax·NF4[q]``, 4 + 32/64 = 4.5 bits per weight.  Double
quantization stores the absmaxes as 8-bit codes with one float32 per 256 of them:
4 + 8/64 + 32/(64·256) = 4.127 bits, plus one float32 offset per tensor (32/16384 here: 4.129).

The comparison runs on 16384 weights (256 blocks) and reports the spread over 8 chunks of 32
blocks, since one draw could be noise.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize
from quantlib.codebooks import NF4_CODEBOOK

from figures import learn3 as learn_figs
from lab.core.i18n import N_, _, translated
from lab.core.widgets import PLOTLY_CONFIG
from lab.learn.core import Lesson

BLOCK = 64
N_BLOCKS = 256
CHUNKS = 8
DISTRIBUTIONS = {"normal": N_("normal (as trained weights)"), "uniform": N_("uniform"), "student_t": N_("heavy-tailed (Student t, 3 degrees of freedom)")}
GRIDS = {"nf4": "nf4:block=64", "int4": "int4:block=64"}


def weights(dist: str, seed: int) -> np.ndarray:
    """16384 float32 weights of standard deviation ≈ 0.02 drawn from ``dist``."""
    rng = np.random.default_rng(seed)
    n = BLOCK * N_BLOCKS
    if dist == "uniform":
        w = rng.uniform(-np.sqrt(3), np.sqrt(3), n)
    elif dist == "student_t":
        w = rng.standard_t(3, n) / np.sqrt(3.0)
    else:
        w = rng.standard_normal(n)
    return (0.02 * w).astype(np.float32)


def study(w: np.ndarray) -> dict:
    """Per grid: the quantized tensor, the mean squared error, and the MSE of each of the
    :data:`CHUNKS` chunks of 32 blocks; plus NF4's double-quantized tensor."""
    out = {}
    for name, scheme in GRIDS.items():
        q = quantize(w, scheme)
        err = (q.dequantize().astype(np.float64) - w.astype(np.float64)) ** 2
        out[name] = {"q": q, "mse": float(err.mean()), "chunks": err.reshape(CHUNKS, -1).mean(axis=1)}
    out["dq"] = quantize(w, "nf4:block=64,dq")
    return out


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "Trained weights are roughly **normally distributed**: most are near 0, few are large. int4 spaces its 15 levels evenly, so most weights share the few levels near 0. **NF4** (NormalFloat, QLoRA) puts its 16 levels at quantiles of the normal distribution, so that each level is used about equally often; each block of 64 weights still has one absmax scale. **Double quantization** then quantizes those scales too."
        )
    )
    labels = translated(DISTRIBUTIONS)
    c_d, c_s = st.columns([3, 1])
    dist = c_d.selectbox(_("The weights' distribution"), list(DISTRIBUTIONS), format_func=labels.get, key=lesson.key("dist"))
    seed = c_s.number_input(_("seed"), 0, 999, 0, key=lesson.key("seed"))
    w = weights(dist, int(seed))
    r = study(w)
    nf, i4 = r["nf4"], r["int4"]

    st.plotly_chart(
        learn_figs.levels_figure({"NF4": np.array(NF4_CODEBOOK.values), "int4": np.arange(-7, 8) / 7.0}, (w.reshape(-1, BLOCK) / np.abs(w.reshape(-1, BLOCK)).max(axis=1, keepdims=True)).reshape(-1), translated(learn_figs.LABELS)),
        key=lesson.key("levels"),
        config=PLOTLY_CONFIG,
    )
    st.caption(_("Look where the ticks are dense: NF4's levels crowd where the grey histogram of the weights (each divided by its block's absmax) is tall; int4's are evenly spread."))

    absmax = float(np.asarray(nf["q"].scales).reshape(-1)[0])
    j = int(np.argmax(np.abs(w[:BLOCK]) < absmax))  # the first weight of block 1 that is not its absmax
    code = int(nf["q"].codes.reshape(-1)[j])
    deq = float(nf["q"].dequantize().reshape(-1)[j])
    lesson.formula(
        r"q = \arg\min_i \left|\mathrm{NF4}[i] - \frac{x}{\operatorname{absmax}}\right|:\quad \frac{x_{%d}}{\operatorname{absmax}} = \frac{%.5g}{%.5g} = %.4f \to q = %d"
        % (j + 1, w[j], absmax, w[j] / absmax, code)
    )
    lesson.formula(r"\hat x = \operatorname{absmax}\cdot \mathrm{NF4}[q]:\quad \hat x_{%d} = %.5g \cdot \mathrm{NF4}[%d] = %.5g \cdot %.4f = %.5g" % (j + 1, absmax, code, absmax, NF4_CODEBOOK.values[code], deq))
    b_nf, b_dq = nf["q"].bits_per_element, r["dq"].bits_per_element
    lesson.formula(r"\text{%s } 4 + \frac{32}{64} = %.4g,\qquad \text{%s } 4 + \frac{8}{64} + \frac{32}{64\cdot 256} + \frac{32}{%d} = %.4g" % (_("bits per weight:"), b_nf, _("double quant:"), w.size, b_dq))
    st.caption(_("Double quantization: each absmax becomes an 8-bit code (8/64 bits per weight), with one float32 scale per 256 absmaxes (32/(64·256)) and one float32 mean of all of them for the tensor (32/{n}).").format(n=f"{w.size:,}"))
    mse_dq = float(np.mean((r["dq"].dequantize().astype(np.float64) - w) ** 2))
    ratio = i4["chunks"] / nf["chunks"]
    st.markdown(
        _("Mean squared error on {n} weights: NF4 {nf}, int4 {i4}, NF4 with double quant {dq}. int4's error ÷ NF4's, over {c} chunks of {b} blocks: {mean} (min {lo}, max {hi}).").format(
            n=f"{w.size:,}", nf=f"{nf['mse']:.3g}", i4=f"{i4['mse']:.3g}", dq=f"{mse_dq:.3g}", c=CHUNKS, b=N_BLOCKS // CHUNKS,
            mean=f"{ratio.mean():.3f}", lo=f"{ratio.min():.3f}", hi=f"{ratio.max():.3f}",
        )
    )

    if ratio.min() > 1:
        answer, verdict = 0, _("NF4 is better in every chunk")
    elif ratio.max() < 1:
        answer, verdict = 1, _("int4 is better in every chunk")
    else:
        answer, verdict = 2, _("the chunks disagree")
    options = ["NF4", "int4", _("neither, clearly")]
    why = _("{verdict}: int4's error is {mean}× NF4's (from {lo} to {hi} over the chunks). NF4's levels fit normal weights; uniform weights use evenly spaced levels best. Double quantization costs almost nothing in error ({dq} against {nf}) and saves {saved} bits per weight.").format(
        verdict=verdict, mean=f"{ratio.mean():.3f}", lo=f"{ratio.min():.3f}", hi=f"{ratio.max():.3f}", dq=f"{mse_dq:.3g}", nf=f"{nf['mse']:.3g}", saved=f"{b_nf - b_dq:.3f}"
    )
    lesson.predict(_("For {dist} weights, which 4-bit grid has the smaller error, with one absmax per 64 weights?").format(dist=labels[dist]), options, answer, why)
    lesson.open_tool(_("Open the Tensor Lab with NF4 and double quantization"), "app_pages/tensor.py", {"scheme": "nf4:block=64,dq"})
