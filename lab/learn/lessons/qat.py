"""Lesson 10: quantization-aware training: the forward pass rounds, the backward pass pretends
it does not (the straight-through estimator, STE).

``x̃ = clamp(round(w·c), ±qmax) / c`` with ``c = qmax / A``; backward ``∂L/∂w = ∂L/∂x̃`` when
``|w| ≤ A`` and 0 outside.  Worked number (int4, A = 1): c = 7, w = 0.3 → q = 2, x̃ = 0.2857;
w = 1.3 → clipped to x̃ = 1, gradient 0.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from figures.learn3 import LABELS as STE_LABELS
from figures.learn3 import ste_figure
from quantlib.train.fakequant import sym_fixed

from lab.core.i18n import _, translated
from lab.core.widgets import PLOTLY_CONFIG
from lab.learn.core import Lesson


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "Post-training quantization rounds a network that never saw rounding. **Quantization-aware training** (QAT) fine-tunes it with the rounding inside: each forward pass uses the fake-quantized weights w̃ (quantized, then dequantized to float), while the optimizer keeps updating a float copy w. The snag is the backward pass: round() is flat almost everywhere, its derivative 0, so no gradient would ever reach w. The **straight-through estimator** (STE) passes the gradient through as if round() were the identity, inside the clip range, and blocks it outside."
        )
    )
    c1, c2, c3 = st.columns(3)
    bits = c1.slider(_("Bits"), 2, 8, 3, key=lesson.key("bits"))
    clip = c2.slider(_("Clip A"), 0.25, 2.0, 1.0, 0.25, key=lesson.key("clip"), help=_("The largest magnitude the grid reaches; weights beyond it are clipped to ±A."))
    w = c3.slider(_("Your weight w"), -2.0, 2.0, 0.3, 0.01, key=lesson.key("w"))
    qmax = 2 ** (bits - 1) - 1
    c = qmax / clip
    w_q, q = sym_fixed(np.float32([w]), clip, bits=bits)
    x_q, code = float(w_q[0]), int(q[0])
    inside = abs(np.float32(w)) <= np.float32(clip)
    grad_up = 1.0  # ∂L/∂w̃ taken as 1 to show what passes

    lesson.formula(
        r"\text{forward: } \tilde w = \frac{\operatorname{clamp}(\operatorname{round}(w\cdot c),\,-%d,\,%d)}{c},\quad c = \frac{%d}{A} = %.4g:\quad \tilde w = \frac{\operatorname{clamp}(\operatorname{round}(%.4g), \pm %d)}{%.4g} = \frac{%d}{%.4g} = %.4g"
        % (qmax, qmax, qmax, c, w * c, qmax, c, code, c, x_q)
    )
    lesson.formula(
        r"\text{backward (STE): } \frac{\partial L}{\partial w} \approx \frac{\partial L}{\partial \tilde w}\cdot \mathbb{1}\left[|w| \le A\right] = \frac{\partial L}{\partial \tilde w}\cdot \mathbb{1}\left[%.4g \le %.4g\right] = %s"
        % (abs(w), clip, r"\frac{\partial L}{\partial \tilde w}" if inside else "0")
    )
    grid = np.linspace(-2.0, 2.0, 801, dtype=np.float32)
    fq, _codes = sym_fixed(grid, clip, bits=bits)
    st.plotly_chart(ste_figure(grid, fq, clip, w, x_q, translated(STE_LABELS)), key=lesson.key("chart"), config=PLOTLY_CONFIG)
    st.caption(_("The blue staircase is what the forward pass computes, the dashed line what the backward pass assumes: between the dotted clip lines the two agree on average, so small gradient steps add up until w crosses a step; beyond them the gradient is cut."))

    question = _("w = {w}, clip A = {a}: if the loss's gradient with respect to w̃ is {g}, what does the STE pass back to w?").format(w=f"{w:.2f}", a=f"{clip:.2f}", g=f"{grad_up:g}")
    options = [_("{g}: the gradient, unchanged").format(g=f"{grad_up:g}"), _("0: round() has no slope"), _("0: w is clipped")]
    answer = 0 if inside else 2
    if inside:
        why = _("|w| = {w} is inside the clip ({a}), so the STE treats round() as the identity and passes {g} on, although round()'s true slope here is 0. That is what lets QAT move w until w̃ jumps to a better level.").format(w=f"{abs(w):.2f}", a=f"{clip:.2f}", g=f"{grad_up:g}")
    else:
        why = _("|w| = {w} is beyond the clip ({a}): w̃ stays at ±A = {q} whatever w does, so the STE passes 0, and only weight decay or a learnt clip (LSQ) can bring w back.").format(w=f"{abs(w):.2f}", a=f"{clip:.2f}", q=f"{x_q:.4g}")
    lesson.predict(question, options, answer, why)
    lesson.open_tool(_("Open the QAT page: PTQ against QAT at 8, 4, 3 and 2 bits on a real network"), "app_pages/qat.py")
