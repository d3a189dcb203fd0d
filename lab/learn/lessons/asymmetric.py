"""Lesson 6: asymmetric (zero-point) k-bit quantization against symmetric absmax, on 8 editable
numbers that are not centred on 0 (ReLU outputs by default).

The range is first extended to include 0, ``lo = min(min x, 0)``, ``hi = max(max x, 0)``; then
``scale = (hi − lo)/(2^k − 1)``, ``z = round(−lo/scale)``, ``q = clamp(round(x/scale) + z, 0, 2^k − 1)``,
``x̂ = (q − z)·scale``.  k = 4 on [0, 3.1]: scale = 3.1/15 = 0.2067, z = 0, all 16 codes
cover the data; symmetric int4 spends −7…−1 on negatives that never come: c = 7/3.1, 8 codes used.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from quantlib import quantize

from lab.core.i18n import _
from lab.learn.core import Lesson

DEFAULT = "0.0, 0.31, 1.12, 2.47, 0.74, 3.1, 0.18, 1.59"
N = 8


def values(text: str) -> np.ndarray | None:
    """Exactly 8 finite numbers, not all equal to 0, or None."""
    try:
        x = np.array([float(v) for v in text.replace(";", ",").split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        return None
    return x if x.size == N and np.isfinite(x).all() and np.abs(x).max() > 0 else None


def compare(x: np.ndarray, k: int) -> dict:
    """Symmetric int-k and asymmetric uint-k of ``x`` (one scale for all): codes, values back,
    mean squared errors, the scale and zero point, and how many of the codes each can use on
    ``x``'s range (the levels that fall inside [min x, max x])."""
    x32 = x.astype(np.float32)
    sym, asym = quantize(x32, f"int{k}"), quantize(x32, f"uint{k}")
    d_s, d_a = sym.dequantize().astype(np.float64), asym.dequantize().astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    qmax = 2 ** (k - 1) - 1
    absmax = float(np.asarray(sym.scales).reshape(-1)[0])
    scale = float(np.asarray(asym.scales).reshape(-1)[0])
    z = int(np.asarray(asym.zero_points).reshape(-1)[0])
    lv_s = np.arange(-qmax, qmax + 1) * absmax / qmax
    lv_a = (np.arange(2**k) - z) * scale
    tol = 1e-9 * max(abs(lo), abs(hi))
    return {
        "sym": sym, "asym": asym, "deq_sym": d_s, "deq_asym": d_a,
        "mse_sym": float(np.mean((d_s - x) ** 2)), "mse_asym": float(np.mean((d_a - x) ** 2)),
        "absmax": absmax, "qmax": qmax, "scale": scale, "z": z, "lo": min(lo, 0.0), "hi": max(hi, 0.0),
        "used_sym": int(np.sum((lv_s >= lo - tol) & (lv_s <= hi + tol))), "used_asym": int(np.sum((lv_a >= lo - tol) & (lv_a <= hi + tol))),
        "n_sym": 2 * qmax + 1, "n_asym": 2**k,
    }


def render(lesson: Lesson) -> None:
    st.markdown(
        _(
            "Symmetric quantization puts 0 in the middle of the codes. Many tensors are not centred on 0: after a ReLU every activation is ≥ 0, and half of the symmetric codes are then never used. **Asymmetric** (非对称) quantization maps the range [min, max] onto all 2^k codes, with a **scale** and a **zero point** z: the code that stands for 0. The notes' formula: scale = (max − min)/(2^k − 1), z = round(−min/scale)."
        )
    )
    c_x, c_k = st.columns([3, 1])
    text = c_x.text_input(_("Eight numbers (try all positive, or shifted)"), DEFAULT, key=lesson.key("values"))
    k = c_k.slider(_("bits k"), 2, 8, 4, key=lesson.key("bits"))
    x = values(text)
    if x is None:
        st.error(_("Type exactly 8 finite numbers separated by commas, not all zero, e.g. {example}.").format(example=DEFAULT), icon=":material/error:")
        return
    r = compare(x, k)
    levels = 2**k - 1
    j = int(np.argsort(x)[N // 2])  # a middle value: neither end of the range
    qa = int(r["asym"].codes.reshape(-1)[j])
    qs = int(r["sym"].codes.reshape(-1)[j])

    st.markdown(_("The range is first widened to include 0 (0 must be exact: padding and ReLU zeros are everywhere), then:"))
    lesson.formula(
        r"\text{scale} = \frac{\max(x, 0) - \min(x, 0)}{2^{k}-1} = \frac{%.6g - (%.6g)}{%d} = %.6g,\qquad z = \operatorname{round}\!\left(\frac{-\min(x,0)}{\text{scale}}\right) = %d"
        % (r["hi"], r["lo"], levels, r["scale"], r["z"])
    )
    lesson.formula(
        r"q_{%d} = \operatorname{clamp}\!\left(\operatorname{round}\!\left(\frac{%.6g}{%.6g}\right) + %d,\ 0,\ %d\right) = %d"
        % (j + 1, x[j], r["scale"], r["z"], levels, qa)
    )
    lesson.formula(r"\hat x_{%d} = (q_{%d} - z)\cdot\text{scale} = (%d - %d)\cdot %.6g = %.6g" % (j + 1, j + 1, qa, r["z"], r["scale"], r["deq_asym"][j]))
    st.markdown(_("Symmetric, for comparison: one scale c from the absmax, no zero point:"))
    lesson.formula(
        r"c = \frac{2^{k-1}-1}{\max|x|} = \frac{%d}{%.6g} = %.6g,\qquad q_{%d} = \operatorname{round}(%.6g \cdot %.6g) = %d \to \hat x_{%d} = %.6g"
        % (r["qmax"], r["absmax"], r["qmax"] / r["absmax"], j + 1, x[j], r["qmax"] / r["absmax"], qs, j + 1, r["deq_sym"][j])
    )
    st.dataframe(
        {
            _("x"): x,
            _("q, symmetric int{k}").format(k=k): r["sym"].codes.reshape(-1).astype(int),
            _("x̂, symmetric"): r["deq_sym"],
            _("q, asymmetric uint{k}").format(k=k): r["asym"].codes.reshape(-1).astype(int),
            _("x̂, asymmetric"): r["deq_asym"],
        },
        hide_index=True,
    )
    st.markdown(
        _("Of the codes, symmetric int{k} has {us} of its {ns} levels inside the data's range [{lo}, {hi}], asymmetric uint{k} {ua} of {na}. Mean squared error: {ms} symmetric, {ma} asymmetric. The price of the zero point: {bs:g} against {ba:g} bits per number here (a {k}-bit z per group).").format(
            k=k, us=r["used_sym"], ns=r["n_sym"], ua=r["used_asym"], na=r["n_asym"], lo=f"{x.min():.4g}", hi=f"{x.max():.4g}",
            ms=f"{r['mse_sym']:.4g}", ma=f"{r['mse_asym']:.4g}", bs=r["sym"].bits_per_element, ba=r["asym"].bits_per_element,
        )
    )

    answer = 0 if r["mse_asym"] < r["mse_sym"] else (1 if r["mse_sym"] < r["mse_asym"] else 2)
    options = [_("asymmetric uint{k}").format(k=k), _("symmetric int{k}").format(k=k), _("they tie")]
    why = _("Asymmetric uses {ua} levels on these values, symmetric {us}: its step is {sa} against {ss}, and the mean squared error {ma} against {ms}. For data centred on 0 the two are close and the zero point is extra work in every product.").format(
        ua=r["used_asym"], us=r["used_sym"], sa=f"{r['scale']:.4g}", ss=f"{r['absmax'] / r['qmax']:.4g}", ma=f"{r['mse_asym']:.4g}", ms=f"{r['mse_sym']:.4g}"
    )
    lesson.predict(_("At {k} bits, which quantizes these eight numbers with the smaller mean squared error?").format(k=k), options, answer, why)
    lesson.open_tool(_("Open the Tensor Lab with asymmetric uint{k} in blocks of 64").format(k=k), "app_pages/tensor.py", {"scheme": f"uint{k}:block=64"})
