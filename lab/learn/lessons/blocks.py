"""Lesson 5: symmetric block-wise k-bit quantization, c = (2^(k−1) − 1)/absmax(x), q = round(x·c),
deq = q/c, on 8 editable numbers with one outlier: one scale for all 8, or one per block of 4.

With k = 4 and the outlier 9.5 in x₆: per tensor c = 7/9.5 = 0.737 and all seven small values
round to q = 0; in blocks of 4 only block 2 (x₅…x₈) pays: block 1 keeps c = 7/0.43 = 16.3.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize

from lab.core.i18n import _
from lab.learn.core import Lesson

DEFAULT = "0.21, -0.43, 0.12, 0.35, -0.08, 9.5, 0.27, -0.16"
N = 8
BLOCK = 4


def values(text: str) -> np.ndarray | None:
    """Exactly 8 finite numbers, not all zero, or None: ``values("1,2,3,4,5,6,7,8")``."""
    try:
        x = np.array([float(v) for v in text.replace(";", ",").split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        return None
    return x if x.size == N and np.isfinite(x).all() and np.abs(x).max() > 0 else None


def ruined_blocks(x: np.ndarray, codes: np.ndarray) -> list[int]:
    """The blocks (0-based) where at least half of the non-zero values other than the block's
    absmax round to q = 0: their scale was set by a value much larger than they are."""
    out = []
    for b in range(N // BLOCK):
        xs, qs = x[b * BLOCK : (b + 1) * BLOCK], codes[b * BLOCK : (b + 1) * BLOCK]
        rest = [i for i in range(BLOCK) if i != int(np.abs(xs).argmax()) and xs[i] != 0]
        if rest and sum(qs[i] == 0 for i in rest) * 2 >= len(rest):
            out.append(b)
    return out


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "**Symmetric** (对称) k-bit quantization maps the largest magnitude, the **absmax**, to the largest code 2^(k−1) − 1 and scales everything else with it. **Block-wise** (分块) quantization gives every block of B values its own scale c: one outlier then only coarsens its own block. That is the notes' reason for blocks: an extreme value makes c small, and the other values crowd onto a few codes near 0."
        )
    )
    c_x, c_k = st.columns([3, 1])
    text = c_x.text_input(_("Eight numbers (one of them an outlier)"), DEFAULT, key=lesson.key("values"))
    k = c_k.slider(_("bits k"), 2, 8, 4, key=lesson.key("bits"), help=_("The code of k bits holds −(2^(k−1) − 1) … 2^(k−1) − 1: 4 bits give −7 … 7."))
    x = values(text)
    if x is None:
        st.error(_("Type exactly 8 finite numbers separated by commas, not all zero, e.g. {example}.").format(example=DEFAULT), icon=":material/error:")
        return
    x32 = x.astype(np.float32)
    qmax = 2 ** (k - 1) - 1
    whole = quantize(x32, f"int{k}")
    blocks = quantize(x32, f"int{k}:block={BLOCK}")
    absmax_b = np.asarray(blocks.scales, dtype=np.float64).reshape(-1)
    absmax_t = float(np.asarray(whole.scales).reshape(-1)[0])
    q_t, q_b = whole.codes.reshape(-1).astype(int), blocks.codes.reshape(-1).astype(int)
    deq_t, deq_b = whole.dequantize().astype(np.float64), blocks.dequantize().astype(np.float64)

    lesson.formula(r"c = \frac{2^{k-1} - 1}{\operatorname{absmax}(x)}:\quad \text{per tensor } \frac{%d}{%.6g} = %.4g,\quad \text{block 1 } \frac{%d}{%.6g} = %.4g,\quad \text{block 2 } \frac{%d}{%.6g} = %.4g" % (qmax, absmax_t, qmax / absmax_t, qmax, absmax_b[0], qmax / absmax_b[0], qmax, absmax_b[1], qmax / absmax_b[1]))
    j = int(np.abs(x).argmin()) if np.abs(x).min() > 0 else int(np.argsort(np.abs(x))[min(1, N - 1)])
    bj = j // BLOCK
    cb = qmax / absmax_b[bj]
    lesson.formula(
        r"q_{%d} = \operatorname{round}(x_{%d} \cdot c):\quad \text{per tensor } \operatorname{round}(%.4g \cdot %.4g) = %d \to \hat x = %.4g,\quad \text{in blocks } \operatorname{round}(%.4g \cdot %.4g) = %d \to \hat x = %.4g"
        % (j + 1, j + 1, x[j], qmax / absmax_t, q_t[j], deq_t[j], x[j], cb, q_b[j], deq_b[j])
    )
    st.dataframe(
        {
            _("block"): [i // BLOCK + 1 for i in range(N)],
            _("x"): x,
            _("q, per tensor"): q_t,
            _("q/c, per tensor"): deq_t,
            _("q, blocks of 4"): q_b,
            _("q/c, blocks of 4"): deq_b,
        },
        hide_index=True,
    )
    mse_t = float(np.mean((deq_t - x) ** 2))
    mse_b = float(np.mean((deq_b - x) ** 2))
    st.markdown(_("Mean squared error: {t:.4g} with one scale, {b:.4g} with one per block of 4 (the price: {bt:g} against {bb:g} bits per number, for the extra scale).").format(t=mse_t, b=mse_b, bt=whole.bits_per_element, bb=blocks.bits_per_element))

    ruined = ruined_blocks(x, q_b)
    options = [_("block 1 (x₁…x₄)"), _("block 2 (x₅…x₈)"), _("both"), _("neither")]
    answer = {(0,): 0, (1,): 1, (0, 1): 2}.get(tuple(ruined), 3)
    zeros = [int(sum(1 for i in range(b * BLOCK, (b + 1) * BLOCK) if q_b[i] == 0 and x[i] != 0)) for b in range(N // BLOCK)]
    why = _("Each block's scale is set by its own absmax: {a1:.4g} in block 1 (c = {c1:.4g}) and {a2:.4g} in block 2 (c = {c2:.4g}). In blocks of 4, {z1} non-zero value(s) of block 1 and {z2} of block 2 round to q = 0; a block counts as ruined when at least half of its values other than the absmax do.").format(
        a1=absmax_b[0], c1=qmax / absmax_b[0], a2=absmax_b[1], c2=qmax / absmax_b[1], z1=zeros[0], z2=zeros[1]
    )
    lesson.predict(_("With {k}-bit codes in blocks of 4, which block's scale does the outlier ruin?").format(k=k), options, answer, why)
    lesson.open_tool(_("Open the Tensor Lab with this scheme on a million numbers"), "app_pages/tensor.py", {"scheme": str(blocks.scheme)})
