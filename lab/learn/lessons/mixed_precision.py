"""Lesson 8: mixed-precision training: why float16 gradients vanish, how loss scaling brings
them back, why bfloat16 needs neither, and why the weights keep a float32 master copy.

float16's smallest subnormal is 2^−24 = 5.96e−8; a gradient below half of it, 2^−25, rounds to
0.  g = 1.3·2^−27 = 9.69e−9 → 0 in float16; scaled by S = 2^10 first: fl16(g·S) = 9.894e−6 (a float16 subnormal),
÷ S = 9.662e−9.  An update Δ = 2^−12 to w = 1 is lost in float16
(½ ulp(1) = 2^−11) but kept in a float32 master copy.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from quantlib import cast, get_format

from lab.core.i18n import _
from lab.learn.core import Lesson, tex_number

MANT = 1.3  # g = MANT · 2^e: not a power of two, so rounding shows


def fl(x: float, fmt: str) -> float:
    """``x`` rounded to ``fmt`` (round to nearest, ties to even; inf past the max), as a float."""
    return float(cast(np.array([x], dtype=np.float64), fmt)[0])


def gradient(e: int, s: int) -> dict:
    """g = 1.3·2^e in float16 without and with loss scale S = 2^s, in bfloat16, and which of
    three things happened to float16's scaled gradient: ``kept``, ``zero`` or ``inf``."""
    g = MANT * 2.0**e
    S = 2.0**s
    scaled = fl(g * S, "float16")
    back = scaled / S  # the unscale, in float32 (exact: S is a power of two)
    outcome = "inf" if math.isinf(scaled) else ("zero" if scaled == 0 else "kept")
    return {"g": g, "S": S, "f16": fl(g, "float16"), "scaled": scaled, "back": back, "bf16": fl(g, "bfloat16"), "outcome": outcome}


def update(w: float, d: int, fmt: str) -> tuple[float, float]:
    """(w + 2^d rounded to ``fmt``, ``fmt``'s ulp of w): the update survives when they differ."""
    f = get_format(fmt)
    wf = fl(w, fmt)
    ulp = 2.0 ** (max(math.floor(math.log2(abs(wf))), 1 - f.bias) - f.nmant) if wf else f.smallest_subnormal
    return fl(wf + 2.0**d, fmt), ulp


def render(lesson: Lesson) -> None:
    f16, bf16 = get_format("float16"), get_format("bfloat16")
    st.markdown(
        _(
            "Training in 16 bits halves the memory and, on GPUs with 16-bit units, speeds up the products. **float16** has 10 mantissa bits but a small range: nothing below its smallest subnormal 2^−24 survives, and many gradients are smaller than that. **Mixed precision** computes in float16 and fixes this twice: the loss is multiplied by a **loss scale** S before the backward pass (every gradient is then S times larger) and the gradients divided by S afterwards, in float32; and the weights are kept in a float32 **master copy**, because a small update to a large weight is lost in float16. **bfloat16** has float32's 8 exponent bits: it needs no loss scale, but has only 7 mantissa bits."
        )
    )
    c_e, c_s = st.columns(2)
    e = c_e.slider(_("gradient g = 1.3 × 2^e: e"), -40, 0, -27, key=lesson.key("exp"), help=_("Typical gradients of a deep network lie between 2^−30 and 2^−5."))
    s = c_s.slider(_("loss scale S = 2^s: s"), 0, 24, 0, key=lesson.key("scale"), help=_("0: no loss scaling. Mixed-precision trainers start near 2^16 and adjust S as they go."))
    r = gradient(e, s)
    lesson.formula(
        r"g = 1.3\cdot 2^{%d} = %s,\qquad \operatorname{fl}_{\text{float16}}(g) = %s,\qquad \operatorname{fl}_{\text{bfloat16}}(g) = %s"
        % (e, tex_number(r["g"], 5), tex_number(r["f16"], 5), tex_number(r["bf16"], 5))
    )
    lesson.formula(
        r"\frac{\operatorname{fl}_{\text{float16}}(g\cdot S)}{S} = \frac{\operatorname{fl}_{\text{float16}}(%s \cdot 2^{%d})}{2^{%d}} = \frac{%s}{2^{%d}} = %s"
        % (tex_number(r["g"], 5), s, s, tex_number(r["scaled"], 5), s, tex_number(r["back"], 5))
    )
    st.caption(
        _("float16 flushes to 0 below 2^−25 = {half} (half its smallest subnormal {tiny}) and overflows to inf above {max}; bfloat16's smallest subnormal is {bf_tiny}.").format(
            half=f"{f16.smallest_subnormal / 2:.3g}", tiny=f"{f16.smallest_subnormal:.3g}", max=f"{f16.max:g}", bf_tiny=f"{bf16.smallest_subnormal:.3g}"
        )
    )

    options = [_("g, up to float16's rounding"), _("0: the gradient is lost"), _("inf: the scaled gradient overflows")]
    answer = {"kept": 0, "zero": 1, "inf": 2}[r["outcome"]]
    why = {
        "kept": _("g·S = {gs} lies inside float16's range, so it is stored with 11 significant bits; dividing by S in float32 gives {back} for g = {g}."),
        "zero": _("g·S = {gs} is below 2^−25, half of float16's smallest subnormal: it rounds to 0, and no division brings it back. Raise s until g·S reaches 2^−24."),
        "inf": _("g·S = {gs} is above float16's max 65504: it becomes inf, and the step must be skipped (dynamic loss scaling then halves S)."),
    }[r["outcome"]].format(gs=f"{r['g'] * r['S']:.4g}", back=f"{r['back']:.6g}", g=f"{r['g']:.6g}")
    lesson.predict(_("With e = {e} and s = {s}, what does the float16 gradient hold after dividing by S?").format(e=e, s=s), options, answer, why, name="q")

    st.subheader(_("Why a float32 master copy"))
    c_w, c_d = st.columns(2)
    w = c_w.number_input(_("weight w"), 0.001, 1000.0, 1.0, key=lesson.key("w"))
    d = c_d.slider(_("update Δ = 2^d: d"), -30, 0, -12, key=lesson.key("update"))
    new16, ulp16 = update(float(w), d, "float16")
    new32, ulp32 = update(float(w), d, "float32")
    w16 = fl(float(w), "float16")
    lesson.formula(
        r"\operatorname{fl}_{\text{float16}}(%s + 2^{%d}) = %s\ \ (\tfrac12\operatorname{ulp} = %s),\qquad \operatorname{fl}_{\text{float32}}(%s + 2^{%d}) = %s"
        % (tex_number(w16, 6), d, tex_number(new16, 8), tex_number(ulp16 / 2, 4), tex_number(fl(float(w), "float32"), 8), d, tex_number(new32, 10))
    )
    lost16, lost32 = new16 == w16, new32 == fl(float(w), "float32")
    if lost16 and not lost32:
        st.markdown(_("The update is **lost** in float16 (it is below half an ulp of w) and **kept** in float32: without a master copy this weight never learns from such steps."))
    elif lost16:
        st.markdown(_("The update is lost even in float32: it is below half of float32's ulp of w too."))
    else:
        st.markdown(_("Both keep the update: it is at least half an ulp of w in float16. Make d smaller or w larger to see it vanish."))
    lesson.open_tool(_("Open the mixed-precision page: train a network in each format"), "app_pages/amp.py", {"preset": "underflow"})
