"""Smaller, not faster (/cost): what quantization saves in memory, what a roofline says that
saving buys in tokens per second on named hardware, and what numpy measures on this server.

Layout only, top to bottom: URL -> model, context, batch -> quantlib.cost (through lab.cost.cached)
-> the formulas with the numbers, table, chart -> the hardware profile -> the roofline -> the live
measurement (on a button, stored by its sizes).
"""

import streamlit as st

from figures import cost as figs
from lab.core import widgets
from lab.core.i18n import _
from lab.core.widgets import PLOTLY_CONFIG
from lab.cost import cached as cc
from lab.cost import state as cs
from lab.cost.display import HW_NAMES, MODEL_NAMES, cost_labels, decode_tex, dequant_text, kind_names, kv_tex, measure_findings, prefill_tex, weights_tex
from lab.cost.state import COST, CUSTOM
from quantlib.cost import HARDWARE, KV_FORMATS, MODELS, WEIGHT_SCHEMES, kv_bits, weight_bits

cs.cost_load_url()
ss = st.session_state
widgets.inject_css()
labels = cost_labels()
P = "session"

st.title(_("Smaller, not faster"))
st.caption(
    _(
        "The notes' first point: quantization makes a model smaller, and smaller is not necessarily faster. This page counts the bytes exactly, estimates what they buy in tokens per second on named hardware, and measures what numpy does with them on this server."
    )
)
for note in ss.get(COST.notes, []):
    st.warning(note, icon=":material/link:")

# ================================================================== memory
st.header(_("Memory"))
c1, c2, c3, c4 = st.columns([3, 1.3, 1, 1.6])
c1.selectbox(_("Model"), [*MODELS, CUSTOM], key=COST.model, persist_state=P, format_func=lambda m: _(MODEL_NAMES[m]))
c2.number_input(
    _("Context (tokens)"),
    1,
    1_048_576,
    key=COST.ctx,
    step=512,
    persist_state=P,
    help=_("How many tokens each sequence keeps in its KV cache: the prompt and what was generated so far."),
)
c3.number_input(
    _("Batch"),
    1,
    4096,
    key=COST.batch,
    step=1,
    persist_state=P,
    help=_("Sequences decoded together: they share one read of the weights, each has its own KV cache."),
)
c4.selectbox(
    _("KV cache stored as"), KV_FORMATS, key=COST.kv, persist_state=P, help=_("int8:axis=0 keeps one float32 scale per token and head, counted in its bits.")
)
if ss[COST.model] == CUSTOM:
    d1, d2, d3, d4 = st.columns(4)
    d1.number_input(_("Parameters (millions)"), 1.0, 10_000_000.0, key=COST.params, step=100.0, format="%g", persist_state=P)
    d2.number_input(_("Layers"), 1, 1000, key=COST.layers, persist_state=P)
    d3.number_input(_("KV heads"), 1, 1024, key=COST.kvh, persist_state=P, help=_("Key/value heads: fewer than the query heads with grouped-query attention."))
    d4.number_input(_("Head size"), 1, 4096, key=COST.hd, persist_state=P)
name, shape, params = cs.model()
ctx, batch, kv = int(ss[COST.ctx]), int(ss[COST.batch]), ss[COST.kv]
st.caption(
    _("{params} parameters; KV cache shape: {layers} layers × {kvh} key/value heads × {hd} values per head.").format(
        params=f"{params:,.0f}", layers=shape.n_layers, kvh=shape.n_kv_heads, hd=shape.kv_head_dim
    )
)
st.selectbox(
    _("Scheme worked out in the formulas"),
    WEIGHT_SCHEMES,
    key=COST.scheme,
    persist_state=P,
    help=_("Every scheme is in the table and the charts; this one is written out with its numbers."),
)
scheme = ss[COST.scheme]
rows = cc.memory_rows(WEIGHT_SCHEMES, params, shape, ctx, batch, kv)
row = next(r for r in rows if r["scheme"] == scheme)
st.latex(weights_tex(params, row["bits"]))
st.caption(
    _("P parameters, b bits per weight: {scheme}'s codes and its scales, {bits} bits, quantlib's exact bits per element of a large tensor.").format(
        scheme=scheme, bits=f"{weight_bits(scheme):.10g}"
    )
)
kvb = kv_bits(kv, shape.kv_head_dim)
st.latex(kv_tex(shape, context=ctx, batch=batch, bits=kvb, total=row["kv_bytes"]))
st.caption(
    _(
        "The KV cache keeps a key and a value (the 2) for every layer L, key/value head H_kv, value of a head d_h, token of context T and sequence B, at b bits each ({kv}: {bits} bits)."
    ).format(kv=kv, bits=f"{kvb:.10g}")
)
widgets.dataframe(figs.memory_table(rows, labels), hide_index=True, width="stretch")
st.plotly_chart(figs.memory_figure(rows, labels), config=PLOTLY_CONFIG, width="stretch")
st.caption(
    _(
        "Look at the orange KV cache next to the blue weights: it does not shrink with the weights' format, and at long contexts or large batches it becomes most of the memory."
    )
)
if row["kv_bytes"] > row["weight_bytes"]:
    st.info(
        _(
            "Here the KV cache ({kv}) is larger than the weights in {scheme} ({w}): quantizing the cache would save more than quantizing the weights further."
        ).format(kv=figs.bytes_text(row["kv_bytes"]), scheme=scheme, w=figs.bytes_text(row["weight_bytes"])),
        icon=":material/lightbulb:",
    )

# ================================================================== roofline
st.header(_("Speed: a roofline estimate"))
st.markdown(
    _(
        "A step of a model can go no faster than the bytes it reads over the memory bandwidth, and no faster than its operations over the peak rate of the unit that multiplies. **Decode** (one new token per sequence) reads every weight once per step and does 2 operations per weight per token: memory-bound. **Prefill** (the whole prompt at once) reuses each weight for every token: compute-bound. These are upper bounds, not predictions."
    )
)
h1, h2 = st.columns([2, 3])
h1.selectbox(_("Hardware profile"), list(HARDWARE), key=COST.hw, persist_state=P, format_func=lambda h: _(HW_NAMES[h]), on_change=cs.on_profile)
h2.segmented_control(
    _("A format without hardware support is"),
    ["fused", "materialized"],
    key=COST.deq,
    persist_state=P,
    required=True,
    format_func=lambda d: _("dequantized inside the kernel") if d == "fused" else _("dequantized to a copy first"),
)
with st.container(border=True):
    k = kind_names()
    cols = st.columns(6)
    cols[0].number_input(_("Bandwidth (GB/s)"), 0.1, 1e6, key=COST.field("bandwidth"), step=10.0, format="%g", persist_state=P)
    for col, f in zip(cols[1:], ("float32", "bfloat16", "float8", "int8", "float4")):
        col.number_input(
            _("{kind} (TFLOPS)").format(kind=k[f]),
            0.0,
            1e6,
            key=COST.field(f),
            step=1.0,
            format="%g",
            persist_state=P,
            help=_("Dense peak; 0: no hardware path for it."),
        )
    st.toggle(
        _("Block scales in hardware (MX, NVFP4)"),
        key=COST.block_scaled,
        persist_state=P,
        help=_("The matrix units apply the MX and NVFP4 block scales themselves (Blackwell); without them those formats are dequantized first."),
    )
    st.caption(
        _(
            "Dense peaks, sparsity not counted. A100 80GB SXM: 2,039 GB/s, 19.5 TFLOPS float32, 312 bfloat16, 624 TOPS int8, no FP8 (NVIDIA A100 datasheet). H100 SXM: 3,350 GB/s, 67 float32, 989 bfloat16, 1,979 FP8 and int8 (NVIDIA H100 datasheet, its sparse figures halved). B200 (approximate): 8,000 GB/s, 2,250 bfloat16, 4,500 FP8, 9,000 FP4 with block scales (HGX B200 datasheet, halved). RTX 4090: 1,008 GB/s, 82.6 float32, 165.2 bfloat16 with float32 accumulate (330.3 is float16 with float16 accumulate), 330.3 FP8 with float32 accumulate, 660.6 int8 (NVIDIA Ada whitepaper). Apple M2 Max (approximate): 400 GB/s (Apple), ~13.6 TFLOPS float32 and float16 on its 38-core GPU. Laptop CPU (approximate): two DDR5-5600 channels, 89.6 GB/s peak, ~80 reached; 8 cores × 2 AVX2 FMA units × 3 GHz ≈ 0.77 TFLOPS float32, ~3.1 TOPS int8 with AVX-VNNI, no 16-bit path (bfloat16 weights are widened to float32)."
        )
    )
hw = cs.hardware()
hw_name = _(HW_NAMES[ss[COST.hw]])
speed = cc.speed_rows(WEIGHT_SCHEMES, hw, shape, params, ctx, batch, kv, ss[COST.deq] == "materialized")
r = next(x for x in speed if x.scheme == scheme)
st.subheader(_("Decode"))
st.latex(decode_tex(r, hw, batch=batch))
st.subheader(_("Prefill"))
st.latex(prefill_tex(r, hw, context=ctx, batch=batch))
st.caption(
    _(
        "{scheme} on {hw}: BW is the memory bandwidth in bytes/s, π the peak operations/s of the unit used ({kind}), P the parameters (2P operations per token: a multiply and an add per weight), M_W the weights' bytes, M_KV the KV cache's. The embedding lookup and attention's own products are left out; each regime's speed is the smaller of its two bounds."
    ).format(scheme=scheme, hw=hw_name, kind=k.get(r.kind, r.kind))
)
st.markdown(dequant_text(r, hw_name))
widgets.dataframe(figs.speed_table(speed, labels, k), hide_index=True, width="stretch")
st.plotly_chart(figs.speed_figure(speed, labels), config=PLOTLY_CONFIG, width="stretch")
st.caption(
    _(
        "Compare the two panels: decode (left) grows as the weights shrink, since every weight is read once per step; prefill (right) stays at the peak of the unit that multiplies, so a format dequantized first (grey) is no faster there than bfloat16, and only formats with matrix units of their own (green) go beyond it."
    )
)

# ================================================================== measured here
st.header(_("Measured here, live"))
st.warning(
    _(
        "numpy emulation on this server, not hardware speed: numpy has BLAS for float32 but no int8 kernels, so this measures what a quantized product costs without them."
    ),
    icon=":material/science:",
)
m1, m2, m3 = st.columns([1, 1, 1.4], vertical_alignment="bottom")
m1.selectbox(_("Matrix × vector size"), list(cs.MATVEC_SIZES), key=COST.matvec, persist_state=P, format_func=lambda n: f"{n} × {n} · {n}")
m2.selectbox(
    _("Matrix × matrix size"),
    list(cs.MATMUL_SIZES),
    key=COST.matmul,
    persist_state=P,
    format_func=lambda n: f"{n} × {n} · {n} × {n}",
    help=_("numpy multiplies int32 matrices without BLAS: 512³ already takes about 0.1 s that way, 1024³ several seconds."),
)
mv, mm = int(ss[COST.matvec]), int(ss[COST.matmul])
clicked = m3.button(_("Measure on this machine"), type="primary", icon=":material/timer:")
found = (cc.measured(mv, mv, 1), cc.measured(mm, mm, mm))
if clicked or ss.get(COST.measured) == (mv, mm) or all(found):
    with st.spinner(_("Measuring…")):
        results = [cc.measurement(mv, mv, 1, again=clicked), cc.measurement(mm, mm, mm, again=clicked)]
    ss[COST.measured] = (mv, mm)
    st.caption(
        _(
            "Median of {n} runs each after a warm-up call; min – max shown. Random int8 codes with a float32 scale per row; the float32 matrix holds exactly their values."
        ).format(n=cc.REPEATS)
    )
    widgets.dataframe(figs.measure_table(results, labels), hide_index=True, width="stretch")
    st.plotly_chart(figs.measure_figure(results, labels), config=PLOTLY_CONFIG, width="stretch")
    st.caption(_("Look at the red int8 bars against the blue float32 ones; the scale is logarithmic, so each step of the grid is ten times slower."))
    for text in measure_findings(*results):
        st.markdown(text)
else:
    st.caption(_("Times a float32 matrix product through BLAS against the same product through int8 codes and through dequantize-then-matmul, about 2 s."))

cs.write_cost_url()
