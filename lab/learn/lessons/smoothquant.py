"""Lesson 12: SmoothQuant (Xiao et al., 2022): move the activations' outlier channels into the
weights, ``s_j = max|X_j|^α / max|W_j|^(1−α)``, ``X' = X / s``, ``W' = W · s``, so that
``X'W'ᵀ = XWᵀ`` and int8 activations (one scale per tensor) lose less.

Worked number: ``max|X_j| = 16``, ``max|W_j| = 0.25``, α = 0.5 → ``s_j = 4 / 0.5 = 8``; after it
both maxima are 2.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize
from quantlib.model.smoothquant import smoothing_factors

from lab.core.i18n import _
from lab.learn.core import Lesson

TOKENS, CHANNELS, OUTPUTS = 16, 6, 4
W8, A8 = "int8:axis=0", "int8"  # weights per output channel, activations per tensor (W8A8)


def _data(outlier: float, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (TOKENS, CHANNELS)).astype(np.float32)
    w = rng.normal(0.0, 0.5, (OUTPUTS, CHANNELS)).astype(np.float32)
    j = 2
    x[:, j] *= np.float32(outlier)  # one channel carries the outlier, as in LLM activations
    return x, w, j


def _w8a8_error(x: np.ndarray, w: np.ndarray) -> float:
    """Relative error ‖Ŷ − Y‖ / ‖Y‖ of the int8 product against the float one."""
    y = x.astype(np.float64) @ w.T.astype(np.float64)
    yq = quantize(x, A8).dequantize().astype(np.float64) @ quantize(w, W8).dequantize().astype(np.float64).T
    return float(np.linalg.norm(yq - y) / np.linalg.norm(y))


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "In large language models a few activation channels are up to 100× larger than the rest, in every token. With one int8 scale for the whole activation tensor, that channel sets the scale and every other channel is rounded to a handful of levels. Weights have no such outliers. **SmoothQuant** divides each activation channel j by a factor s_j and multiplies the weights' column j by the same s_j: the product XWᵀ does not change, but the difficulty moves from the activations to the weights. α decides how much moves."
        )
    )
    c1, c2 = st.columns(2)
    outlier = c1.slider(_("Outlier channel: how many times larger"), 1, 100, 40, key=lesson.key("outlier"), help=_("The factor one activation channel is multiplied by, in every token."))
    alpha = c2.slider(_("Migration strength α"), 0.0, 1.0, 0.5, 0.05, key=lesson.key("alpha"), help=_("α = 0.5 balances the two maxima; α → 1 moves all of the activation's range into the weights."))
    x, w, j = _data(float(outlier), 0)
    xa = np.abs(x).max(axis=0)
    wa = np.abs(w).max(axis=0)
    s = smoothing_factors(xa, w, alpha)
    xs, ws = x / s, w * s
    before, after = _w8a8_error(x, w), _w8a8_error(xs, ws)

    st.markdown(_("For the outlier channel j = {j}, over {n} tokens and {o} output rows:").format(j=j, n=TOKENS, o=OUTPUTS))
    lesson.formula(
        r"s_{%d} = \frac{\max|X_{%d}|^{\alpha}}{\max|W_{%d}|^{1-\alpha}} = \frac{%.4g^{%.2f}}{%.4g^{%.2f}} = %.4g" % (j, j, j, xa[j], alpha, wa[j], 1 - alpha, s[j])
    )
    lesson.formula(
        r"\max|X'_{%d}| = \frac{%.4g}{%.4g} = %.4g,\qquad \max|W'_{%d}| = %.4g \cdot %.4g = %.4g" % (j, xa[j], s[j], np.abs(xs[:, j]).max(), j, wa[j], s[j], np.abs(ws[:, j]).max())
    )
    st.dataframe(
        {
            _("channel"): np.arange(CHANNELS),
            _("max|X_j|"): xa,
            _("max|W_j|"): wa,
            _("s_j"): s,
            _("max|X'_j|"): np.abs(xs).max(axis=0),
            _("max|W'_j|"): np.abs(ws).max(axis=0),
        },
        hide_index=True,
    )
    st.caption(_("Look at the outlier's row: before, its activation maximum is far above the others; after, activations and weights share the range."))
    lesson.formula(
        r"\frac{\lVert \hat Y - Y\rVert}{\lVert Y\rVert}:\quad \text{W8A8} = %.4f,\qquad \text{SmoothQuant } (\alpha = %.2f) + \text{W8A8} = %.4f" % (before, alpha, after)
    )

    better = after < before
    question = _("With the outlier {k}× larger and α = {a}, does smoothing make the int8 product (W8A8) more accurate?").format(k=outlier, a=f"{alpha:.2f}")
    options = [_("yes, the error falls"), _("no, the error grows or stays")]
    ratio = before / after if after > 0 else float("inf")
    if better:
        why = _("The relative error goes from {b} to {a} ({r}× smaller): the activation scale no longer has to cover the outlier, and the weights, quantized per output row, absorb the factor.").format(b=f"{before:.4f}", a=f"{after:.4f}", r=f"{ratio:.2f}")
    else:
        why = _("The relative error goes from {b} to {a}: with this α (or without a real outlier) the weights' columns get the range the activations lost, and per-row weight scales do not absorb it. Try α near 0.5 with a larger outlier.").format(b=f"{before:.4f}", a=f"{after:.4f}")
    lesson.predict(question, options, 0 if better else 1, why)
    lesson.open_tool(_("Open the PTQ studio: SmoothQuant on every layer of a real transformer"), "app_pages/model.py", {"recipe": "w8a8", "section": "smoothquant"})
