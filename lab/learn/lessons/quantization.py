"""Lesson 1: what quantization is, and its two costs (memory saved, error paid).

Eight numbers the student can edit are stored as int8 with one absmax scale:
``x = 0.9 → c = 127/0.9 = 141.1, q = round(0.9·141.1) = 127``; 8 values take 8·8 + 32 = 96
bits against float32's 256, 2.67× smaller, not 4×, because the scale is stored too.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize

from lab.core.i18n import _
from lab.learn.core import Lesson

DEFAULT = "0.12, -0.5, 0.33, 0.02, -0.07, 0.9, -0.21, 0.05"


def _values(text: str) -> np.ndarray | None:
    try:
        x = np.array([float(v) for v in text.replace(";", ",").split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        return None
    return x if 1 <= x.size <= 64 and np.isfinite(x).all() and np.abs(x).max() > 0 else None


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "A trained network is millions of float32 numbers. **Quantization** stores each one with fewer bits: here as an 8-bit integer q, together with one float32 scale for the whole group, so that q / c gives the number back, almost. It has two costs to weigh against the memory it saves: the **error** of every number (q / c is not exactly x), and the **work** of converting back before, or while, computing."
        )
    )
    text = st.text_input(_("Your numbers (comma-separated, up to 64)"), DEFAULT, key=lesson.key("values"))
    x = _values(text)
    if x is None:
        st.error(_("Type between 1 and 64 finite numbers separated by commas, not all zero, e.g. {example}.").format(example=DEFAULT), icon=":material/error:")
        return
    qt = quantize(x.astype(np.float32), "int8")
    absmax = float(qt.scales)
    c = 127 / absmax
    deq = qt.dequantize().astype(np.float64)
    err = np.abs(deq - x)
    j = int(err.argmax())
    q = int(qt.codes.reshape(-1)[j])

    st.markdown(_("The scale c maps the largest magnitude to 127; every number is multiplied by c and rounded:"))
    lesson.formula(
        r"c = \frac{127}{\max|x|} = \frac{127}{%.6g} = %.6g,\qquad q_{%d} = \operatorname{round}(%.6g \cdot %.6g) = \operatorname{round}(%.6g) = %d"
        % (absmax, c, j + 1, x[j], c, x[j] * c, q)
    )
    lesson.formula(r"\hat x_{%d} = \frac{q_{%d}}{c} = \frac{%d}{%.6g} = %.6g,\qquad |\hat x_{%d} - x_{%d}| = %.3g\ \text{(the largest error here)}" % (j + 1, j + 1, q, c, deq[j], j + 1, j + 1, err[j]))
    st.dataframe(
        {_("x"): x, _("q = round(x·c)"): qt.codes.reshape(-1).astype(int), _("q / c"): deq, _("error"): deq - x},
        hide_index=True,
    )

    n = x.size
    bits_f32 = 32 * n
    bits_q = qt.total_bits
    ratio = bits_f32 / bits_q
    question = _("Stored as int8 codes plus their float32 scale, how much smaller are these {n} numbers than in float32?").format(n=n)
    options = [_("exactly 4× smaller (32 bits → 8 bits)"), _("less than 4× smaller"), _("more than 4× smaller")]
    answer = 0 if bits_q * 4 == bits_f32 else (1 if ratio < 4 else 2)
    why = _("{n} codes of 8 bits and one 32-bit scale are {bq} bits against {bf} in float32: {r}× smaller. The scale's bits are spread over the group, {bpe} bits per number; with a million numbers per scale it would be all but 4×.").format(
        n=n, bq=bits_q, bf=bits_f32, r=f"{ratio:.2f}", bpe=f"{qt.bits_per_element:.3g}"
    )
    lesson.predict(question, options, answer, why)
    lesson.open_tool(_("Open the Tensor Lab: the same rule on a million numbers"), "app_pages/tensor.py", {"scheme": "int8"})
    lesson.open_tool(_("Smaller, not faster: what the saved bytes buy in speed"), "app_pages/cost.py")
