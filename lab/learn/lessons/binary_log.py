"""Lesson 11: binary, linear and logarithmic quantization: where the levels go.

Eight weights (a seeded normal draw) through four quantizers of quantlib: binary
(``sign(w)·mean|w|``, 1 bit), ternary (0 or ``±a`` with ``Δ = 0.7·mean|w|``, 2 bits), linear
(``round(w·c)/c``, k bits) and logarithmic (``sign(w)·2^round(log2|w|)``, k bits).  Worked
number: w = [0.5, −1.5, 1.0] → binary a = 1.0, w̃ = [1, −1, 1].
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize

from lab.core.i18n import N_, _
from lab.learn.core import Lesson

N = 8
KINDS = {"binary": N_("binary"), "ternary": N_("ternary"), "linear": N_("linear"), "log": N_("logarithmic")}


def schemes(bits: int) -> dict[str, str]:
    """The quantlib scheme of each kind, one scale for the 8 weights: ``schemes(3)["log"] == "log3:axis=none"``."""
    return {"binary": "binary:axis=none", "ternary": "ternary:axis=none", "linear": f"int{bits}", "log": f"log{bits}"}


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "The notes sort quantization into three kinds by where the levels go. **Binary** keeps only the sign, times one scale: 1 bit, the smallest a weight can be (ternary adds a 0). **Linear** spaces 2^k levels evenly between −max and max. **Logarithmic** uses powers of two, dense near zero and sparse far from it, so a multiplication becomes a bit shift. Try them on eight weights."
        )
    )
    c1, c2 = st.columns(2)
    bits = c1.slider(_("Bits for linear and logarithmic"), 2, 6, 3, key=lesson.key("bits"))
    seed = c2.number_input(_("Weights: random seed"), 0, 999, 0, key=lesson.key("seed"), help=_("Another draw of eight weights from a normal distribution."))
    w = np.random.default_rng(int(seed)).normal(0.0, 0.5, N).astype(np.float32)
    out = {k: quantize(w, s) for k, s in schemes(bits).items()}
    deq = {k: q.dequantize().astype(np.float64) for k, q in out.items()}
    mse = {k: float(np.mean((d - w) ** 2)) for k, d in deq.items()}

    b = out["binary"]
    a = float(np.asarray(b.scales).reshape(-1)[0])
    lesson.formula(r"\text{binary: } \tilde w = \operatorname{sign}(w)\cdot a,\quad a = \overline{|w|} = %.4g" % a)
    absmax = float(np.asarray(out["linear"].scales).reshape(-1)[0])  # int-k stores the absmax as its scale
    c = (2 ** (bits - 1) - 1) / absmax
    lesson.formula(r"\text{linear: } \tilde w = \frac{\operatorname{round}(w\cdot c)}{c},\quad c = \frac{2^{%d}-1}{\max|w|} = \frac{%d}{%.4g} = %.4g" % (bits - 1, 2 ** (bits - 1) - 1, absmax, c))
    lg = out["log"]
    top = int(round(np.log2(float(np.asarray(lg.scales).reshape(-1)[0]))))
    lesson.formula(
        r"\text{log: } \tilde w = \operatorname{sign}(w)\cdot 2^{\operatorname{clamp}(\operatorname{round}(\log_2|w|),\ %d,\ %d)}\ \ (0 \text{ below } 2^{%d})" % (top - (2 ** (bits - 1) - 1) + 1, top, top - (2 ** (bits - 1) - 1) + 1)
    )
    st.dataframe(
        {_("w"): w.astype(np.float64), **{_(KINDS[k]): deq[k] for k in KINDS}},
        hide_index=True,
    )
    st.dataframe(
        {
            _("quantizer"): [_(KINDS[k]) for k in KINDS],
            _("bits per weight"): [out[k].bits_per_element for k in KINDS],
            _("levels"): [len(np.unique(out[k].levels())) for k in KINDS],
            _("mean squared error"): [mse[k] for k in KINDS],
        },
        hide_index=True,
    )
    st.caption(_("Compare the last column: more bits buy a smaller error, and at the same bits the spacing of the levels decides."))

    best = "linear" if mse["linear"] <= mse["log"] else "log"
    question = _("At {k} bits, which puts these eight weights closer to their true values: linear or logarithmic levels?").format(k=bits)
    options = [_("linear"), _("logarithmic")]
    why = _("Mean squared error: linear {lin}, logarithmic {log}. Logarithmic levels crowd near zero, where they help small weights, and leave big gaps near the maximum, where the largest weights land; which matters more depends on the draw and on k.").format(
        lin=f"{mse['linear']:.3g}", log=f"{mse['log']:.3g}"
    )
    lesson.predict(question, options, 0 if best == "linear" else 1, why)
    lesson.open_tool(_("Open the QAT page: binary, ternary, linear and logarithmic weights in a trained network"), "app_pages/qat.py")
    lesson.open_tool(_("Open the Tensor Lab with these four quantizers compared"), "app_pages/tensor.py", {"scheme": f"log{bits}", "compare": "|".join(schemes(bits).values())})
