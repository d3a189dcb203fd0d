"""Home (/): what the lab is, and one sentence per page."""

import streamlit as st

from lab.core.i18n import _

st.title(_("Quantization Lab"))
st.markdown(
    _("An interactive lab for the number formats of machine learning: from float64 down to 8-, 6- and 4-bit floats. Every value is computed exactly, so you see the true stored number, every digit of it, and the error of storing yours.")
)
st.markdown(
    _("Pick a page in the sidebar or below. Every page keeps its state in the URL, so you can share exactly what you see.")
)

st.subheader(_("Start here"))
st.page_link("app_pages/learn.py", label=_("Learn: the notes, one idea at a time"), icon=":material/route:")
st.caption(_("Thirteen short lessons in the order of the notes, from what quantization is to what it does to a language model: one idea, one thing to try, the formula with your numbers, and a question to answer before the lab shows you."))

st.subheader(_("Pages"))
st.page_link("app_pages/bits.py", label=_("Bit Inspector"), icon=":material/memory:")
st.caption(_("Type a number or flip bits in any format (float32, bfloat16, float8_e4m3fn, float4_e2m1fn, or your own layout) and see its sign, exponent and mantissa, the exact stored value, the rounding error and the neighbouring values."))
st.page_link("app_pages/formats.py", label=_("Format Comparison"), icon=":material/compare_arrows:")
st.caption(_("Put formats side by side: their range and precision in a table and in charts, every value of the 8-, 6- and 4-bit formats with their codes, and where your number lands in each."))
st.page_link("app_pages/tensor.py", label=_("Tensor Lab"), icon=":material/grid_on:")
st.caption(_("Quantize a weight or activation tensor (a built-in sample or your own file) with int8, NF4, FP8, MX, NVFP4 and more: the error in numbers and charts, every block up close, and which scheme is best for its bits."))
st.page_link("app_pages/model.py", label=_("PTQ studio"), icon=":material/model_training:")
st.caption(_("Quantize a real transformer (all-MiniLM-L6-v2, in numpy) with TFLite's recipes and ours, and see what happens to its sentence embeddings: activation outliers, SmoothQuant, per-layer sensitivity and calibration, all computed live."))
st.page_link("app_pages/llm.py", label=_("Language model"), icon=":material/chat:")
st.caption(_("Quantize a real language model (SmolLM2-135M, in numpy) with llama.cpp's types (Q8_0 … Q2_K), NF4, MXFP4 or W8A8, and watch its next-token predictions, its perplexity and the text it writes change."))
st.page_link("app_pages/amp.py", label=_("Mixed precision training"), icon=":material/speed:")
st.caption(_("Train a small network on handwritten digits, live, in float32, float16, bfloat16 or FP8: gradients that flush to zero, weight updates that are lost, and how a float32 master copy and loss scaling fix them."))
st.page_link("app_pages/qat.py", label=_("Quantization-aware training"), icon=":material/school:")
st.caption(_("Quantize the same network to 8, 4, 3 and 2 bits three ways (data-free PTQ, calibrated PTQ, QAT with a straight-through estimator) and compare binary, ternary, linear and logarithmic weights."))
st.page_link("app_pages/cost.py", label=_("Smaller, not faster"), icon=":material/memory_alt:")
st.caption(_("Count a model's bytes in every format, weights and KV cache, estimate its tokens per second on named hardware with a roofline, and measure what numpy does with int8 on this server."))

st.subheader(_("Try"))
st.page_link("app_pages/bits.py", label=_("0.1 in float32: why it is not exactly 0.1"), icon=":material/arrow_forward:", query_params={"format": "float32", "value": "0.1"})
st.page_link("app_pages/bits.py", label=_("1.0 in bfloat16, from its code 0x3F80"), icon=":material/arrow_forward:", query_params={"format": "bfloat16", "hex": "3f80"})
st.page_link("app_pages/bits.py", label=_("500 in float8_e4m3fn: overflow to NaN (turn on Saturate to get 448)"), icon=":material/arrow_forward:", query_params={"format": "float8_e4m3fn", "value": "500"})
st.page_link("app_pages/amp.py", label=_("Train in FP8 (E4M3 forward, E5M2 gradients) with and without loss scaling"), icon=":material/arrow_forward:", query_params={"runs": "float32|fp8|fp8_scaled"})
st.page_link("app_pages/qat.py", label=_("2-bit weights: what QAT recovers that PTQ cannot"), icon=":material/arrow_forward:", query_params={"bits": "4,2"})
