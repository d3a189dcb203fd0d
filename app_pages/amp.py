"""Mixed precision training (/amp): a real small network trained live in float32, float16,
bfloat16 (and FP8), with and without a float32 master copy and loss scaling.

Layout only: URL -> widgets -> quantlib.train (through lab.amp.cached) -> figures/amp.py -> st.*.
"""

import time

import numpy as np
import streamlit as st

from figures import amp as figs
from figures.training import live_loss_frame, live_loss_spec, spread, spread_text
from lab.amp import cached as ac
from lab.amp import state as amp_state
from lab.amp.state import AMP, FP8_RUNS, PRESETS, RUNS
from lab.amp.display import accuracy_finding, amp_labels, timing_note
from lab.core import widgets
from lab.core.cached import shared_figure
from lab.core.i18n import _, current_lang
from lab.core.widgets import PLOTLY_CONFIG
from quantlib.train import load_digits
from quantlib.train.amp import format_range, lost_update_example
from quantlib.train.loop import GRAD_KINDS

LIVE_EVERY = 0.4  # seconds between live-chart updates while training (each costs a chart round trip)

ss = st.session_state
amp_state.amp_load_url()


def run_name(key: str) -> str:
    return _(RUNS[key].label)


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}%"


def mean_of(hs, fn) -> float:
    """The mean over the seeds' runs of ``fn(history)``."""
    return float(np.mean([fn(h) for h in hs]))


LABELS = amp_labels()
lang = current_lang()  # the charts' words: shared between sessions of one language

st.title(_("Mixed precision training"))
st.caption(
    _("A real network (64 → 256 → 10, ReLU) learns the UCI handwritten digits, right here in numpy, with every tensor of the forward and backward pass held in float32, float16, bfloat16 or FP8. See what goes wrong in low precision — gradients that flush to zero, weight updates that are lost — and how a float32 master copy and loss scaling fix it.")
)
for note in ss.get(AMP.notes, []):
    st.warning(note, icon=":material/link:")

# ================================================================== settings
st.selectbox(_("Preset"), list(PRESETS), key=AMP.preset, format_func=lambda k: _(PRESETS[k].label), on_change=amp_state.apply_preset,
             help=_("Each preset sets the form below to a case where low precision fails (or, the last one, does not); change anything from there."))
st.info(_(PRESETS[ss[AMP.preset]].note), icon=":material/lightbulb:")
with st.form("amp_settings", border=True):
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.selectbox(_("Optimizer"), list(amp_state.OPTIMIZERS), key=AMP.opt, format_func=lambda k: _(amp_state.OPTIMIZERS[k]))
    c2.number_input(_("Learning rate"), min_value=1e-5, max_value=10.0, key=AMP.lr, format="%g", step=0.01)
    c3.number_input(_("Epochs"), *amp_state.LIMITS["epochs"], key=AMP.epochs, step=1)
    c4.number_input(_("Batch size"), *amp_state.LIMITS["batch"], key=AMP.batch, step=8)
    c5.number_input(_("Seed"), *amp_state.LIMITS["seed"], key=AMP.seed, step=1, help=_("The first seed; the runs use this seed and the next ones."))
    st.multiselect(_("Runs to compare"), list(RUNS), key=AMP.runs, format_func=run_name)
    d1, d2, d3, d4, d5 = st.columns(5)
    d1.selectbox(_("Loss scaling"), list(amp_state.SCALINGS), key=AMP.scaling, format_func=lambda k: _(amp_state.SCALINGS[k]),
                 help=_("Used by the runs “+ loss scaling”. Dynamic: start at the scale below, halve and skip the step when a gradient overflows, double after N clean steps (PyTorch's GradScaler). Static: one fixed scale; steps with inf/NaN are skipped."))
    d2.number_input(_("Scale (log2)"), *amp_state.LIMITS["scale"], key=AMP.scale, step=1, help=_("2^16 = 65536 is GradScaler's default initial scale."))
    d3.number_input(_("Grow after N clean steps"), *amp_state.LIMITS["interval"], key=AMP.interval, step=10,
                    help=_("GradScaler's growth_interval (PyTorch default 2000; small here so that growth shows in a short run)."))
    d4.number_input(_("Loss weight (log2)"), *amp_state.LIMITS["weight"], key=AMP.weight, step=1,
                    help=_("Every gradient × 2^weight, as a loss averaged over many more values has; with SGD the learning rate is multiplied by 2^−weight, so float32 trains exactly as at 0 (powers of two are exact). Try −20: float16's gradients underflow."))
    d5.number_input(_("Seeds"), *amp_state.LIMITS["seeds"], key=AMP.seeds, step=1,
                    help=_("Each run is trained this many times (seed, seed + 1, …): the table shows the mean and the min–max, and a difference inside that spread is no clear difference."))
    submitted = st.form_submit_button(_("Train"), type="primary", icon=":material/play_arrow:")
if submitted or AMP.applied not in ss:
    ss[AMP.applied] = (amp_state.current_settings(), tuple(ss[AMP.runs]))
settings, runs = ss[AMP.applied]
runs = tuple(k for k in RUNS if k in runs)  # canonical order
amp_state.amp_write_url(settings, runs)
if not runs:
    st.info(_("Pick at least one run to compare."))
    st.stop()
seeds = amp_state.seed_settings(settings)

# ================================================================== training (live, then cached)
todo = [(s, k) for k in runs for s in seeds if ac.cached_run(s, k) is None]
if todo:
    bar = st.progress(0.0)
    live = st.empty()
    curves: dict[str, list[float]] = {}
    total = len(todo)
    shown = [0.0]  # when the live chart was last sent: at most LIVE_EVERY seconds apart

    def show_live(i: int, key: str, seed: int, rec) -> None:
        bar.progress((i + rec.step / rec.n_steps) / total,
                     text=_("Training {run}, seed {seed} ({i}/{n}): step {step} of {steps}").format(
                         run=run_name(key), seed=seed, i=i + 1, n=total, step=rec.step, steps=rec.n_steps))
        # a plain Vega-Lite spec: st.line_chart builds and validates an Altair chart (~130 ms a call)
        frame = live_loss_frame(curves, window=15)
        live.vega_lite_chart(frame, live_loss_spec(x_title=LABELS["step"], y_title=LABELS["loss"]), height=260)
        shown[0] = time.perf_counter()

    for i, (s, key) in enumerate(todo):
        name = f"{run_name(key)} · {s.seed}"
        curves[name] = []

        def on_step(rec, key=key, i=i, name=name, seed=s.seed):
            curves[name].append(rec.loss)
            if rec.step == rec.n_steps or time.perf_counter() - shown[0] >= LIVE_EVERY:
                show_live(i, key, seed, rec)

        ac.train_run(s, key, on_step)
    bar.empty()
    live.empty()
histories = {key: [ac.train_run(s, key) for s in seeds] for key in runs}  # run -> one History per seed
first = {key: hs[0] for key, hs in histories.items()}  # the first seed's, for the per-step views
h0 = next(iter(first.values()))
spe = h0.steps_per_epoch
n_seeds = len(seeds)
seed_words = _("seed {seed}").format(seed=settings.seed) if n_seeds == 1 else _("seeds {first}–{last}").format(first=settings.seed, last=settings.seed + n_seeds - 1)

# ================================================================== results
st.subheader(_("1. Loss curves and accuracy"))
chart_key = (tuple(seeds), runs)  # the settings every chart below is a function of (shared by every session)
st.plotly_chart(shared_figure("loss", chart_key, lang, lambda: figs.loss_figure({k: (run_name(k), np.array([h.step_loss for h in hs])) for k, hs in histories.items()}, window=spe, labels=LABELS)),
                config=PLOTLY_CONFIG)
st.caption(_("Look for the runs whose loss stays high while float32's falls. Each line is the mean over {seeds} of the loss averaged over one epoch's steps; the shaded band around it spans the lowest to the highest seed.").format(seeds=seed_words))
rows = []
for k, hs in histories.items():
    h = hs[0]
    low = h.policy.weights != "float32"
    rows.append({
        "name": run_name(k), "acc": spread(x.test_accuracy for x in hs), "loss": spread(float(x.epoch_test_loss[-1]) for x in hs),
        "seconds": spread(x.seconds for x in hs),
        "underflow": mean_of(hs, lambda x: x.fraction("underflow")) if h.policy.gradients != "float32" else None,
        "lost": mean_of(hs, lambda x: x.fraction("lost")) if low else None, "skipped": mean_of(hs, lambda x: float(x.skipped.sum())),
    })
widgets.dataframe(figs.accuracy_table(rows, labels=LABELS), hide_index=True)
data = load_digits()
st.caption(
    _("{n_train} training and {n_test} test images ({source}); {steps} steps of {batch} images per epoch. “Weight updates lost” for runs with a master copy counts the updates that would be lost without it.").format(
        n_train=data.x_train.shape[0], n_test=data.x_test.shape[0], source=data.source, steps=spe, batch=settings.batch)
    + " " + _("Accuracy and loss: the mean over {seeds}, with the lowest and highest seed in brackets (one test image is {img} points); the other columns are means over the seeds.").format(
        seeds=seed_words, img=f"{100 / data.x_test.shape[0]:.2f}")
    + " " + timing_note()
)
ref = histories.get("float32")
if ref is not None:
    ref_acc = spread(x.test_accuracy for x in ref)
    findings = [accuracy_finding(run_name(k), spread(x.test_accuracy for x in hs), ref_acc, ref_name="float32") for k, hs in histories.items() if k != "float32"]
    if findings:
        st.markdown("\n".join(f"- {f}" for f in findings))

# ================================================================== gradient histogram
st.subheader(_("2. Gradients against the formats' range"))
f16, bf16 = format_range("float16"), format_range("bfloat16")
fp8 = any(k in FP8_RUNS for k in runs)
e5m2, e4m3 = format_range("float8_e5m2"), format_range("float8_e4m3fn")
grad_fmt, lines = (e5m2, [e5m2, e4m3]) if fp8 else (f16, [f16, bf16])  # FP8 runs: their gradient format's range
src_key = "float32" if "float32" in histories else next(iter(histories))
src = histories[src_key]
counts = {"true": (_("gradients of the {run} run ({seeds})").format(run=run_name(src_key), seeds=seed_words), sum(h.hist_true[k] for h in src for k in GRAD_KINDS))}
scaled_key = next((k for k in runs if RUNS[k].scaled and (RUNS[k].policy == "fp8" if fp8 else RUNS[k].policy.startswith("float16"))), None)
if scaled_key is not None:
    counts["scaled"] = (_("as stored by {run} (× the loss scale)").format(run=run_name(scaled_key)), sum(h.hist_stored[k] for h in histories[scaled_key] for k in GRAD_KINDS))
st.plotly_chart(shared_figure("gradients", chart_key, lang, lambda: figs.grad_histogram(src[0].hist_bins, counts, lines, shade=grad_fmt, labels=LABELS)), config=PLOTLY_CONFIG)
st.caption(_("Look at the bars left of the grey zone's edge: those gradient values are stored as 0 in {fmt}. The bars count the values by their power of two; the vertical lines are each format's smallest subnormal (dotted), smallest normal (dashed) and max (solid).").format(fmt=grad_fmt.name))
true_counts = counts["true"][1]
below = int(true_counts[src[0].hist_bins < grad_fmt.log2_smallest_subnormal - 1].sum())
total = int(true_counts.sum())
text = _("Of {total} nonzero gradient values computed in the {run} run ({seeds}), {below} ({frac}) lie below 2^{e} = half of {fmt}'s smallest subnormal ({tiny}): {fmt} stores them as 0.").format(
    total=f"{total:,}", run=run_name(src_key), seeds=seed_words, below=f"{below:,}", frac=pct(below / total if total else 0.0), e=grad_fmt.log2_smallest_subnormal - 1,
    tiny=f"{grad_fmt.smallest_subnormal:.3g}", fmt=grad_fmt.name)
if not fp8:
    text += " " + _("bfloat16 reaches down to 2^{bf_e}, so none of them is lost there.").format(bf_e=bf16.log2_smallest_subnormal)
for k in ("float16", "float16_master", "fp8"):
    if k in histories:
        hs = histories[k]
        text += " " + _("Measured in the {run} run: {frac} of the nonzero gradient values became 0 ({act} of activation gradients, {wg} of weight gradients).").format(
            run=run_name(k), frac=pct(mean_of(hs, lambda h: h.fraction("underflow"))), act=pct(mean_of(hs, lambda h: h.fraction("underflow", kind="gradients"))),
            wg=pct(mean_of(hs, lambda h: h.fraction("underflow", kind="weight_grads"))))
st.markdown(text)

# ================================================================== lost updates
low_runs = {k: hs for k, hs in histories.items() if hs[0].policy.weights != "float32"}
if low_runs:
    st.subheader(_("3. Weight updates lost without a master copy"))
    series = {}
    for k, hs in low_runs.items():
        per_epoch = [mean_of(hs, lambda h, e=e: h.fraction("lost", steps=slice(e * spe, (e + 1) * spe))) for e in range(hs[0].epoch_test_accuracy.size)]
        series[k] = (run_name(k), np.array(per_epoch))
    st.plotly_chart(shared_figure("lost", chart_key, lang, lambda: figs.lost_figure(series, labels=LABELS)), config=PLOTLY_CONFIG)
    st.caption(_("Look at how many updates each low-precision format rounds away, epoch by epoch (mean over {seeds}): the higher the line, the less the weights learn without a master copy.").format(seeds=seed_words))
    # a worked example from this run's numbers: a typical weight and a typical update lr·|g|
    base = ref[0] if ref is not None else h0
    w_typ = float(np.median(np.abs(base.params[0]["W"][base.params[0]["W"] != 0])))
    wg = base.hist_true["weight_grads"]
    e_med = int(base.hist_bins[np.searchsorted(np.cumsum(wg), wg.sum() / 2)])
    u_typ = settings.train_lr * 2.0**e_med
    ex = lost_update_example(w_typ, u_typ, "float16")
    verdict = _("so w + u rounds back to w: the update is lost.") if ex.lost else _("so this update survives; smaller ones (|u| below {half}) are lost.").format(half=f"{ex.ulp / 2:.3g}")
    st.markdown(
        _("**Worked example** (numbers from this run): a typical first-layer weight w = {w} (as float16), a typical update u = lr × |g| = {lr} × 2^{e} = {u}. In float16 the spacing at w is ulp(w) = {ulp}, half of it {half}; |u| {cmp} {half}, {verdict} With a float32 master copy the update is added in float32 (spacing {ulp32}) and kept.").format(
            w=f"{ex.w:.6g}", lr=f"{settings.train_lr:g}", e=e_med, u=f"{ex.u:.3g}", ulp=f"{ex.ulp:.3g}", half=f"{ex.ulp / 2:.3g}", cmp="<" if abs(ex.u) < ex.ulp / 2 else "≥",
            verdict=verdict, ulp32=f"{lost_update_example(ex.w, u_typ, 'float32').ulp:.3g}")
    )
    parts = [_("{run}: {frac} of the updates lost").format(run=run_name(k), frac=pct(mean_of(hs, lambda h: h.fraction("lost")), 1)) for k, hs in low_runs.items() if hs[0].policy.master is None]
    if parts:
        st.markdown(_("Without a master copy, measured over the whole run: {parts}.").format(parts="; ".join(parts)))

# ================================================================== loss scaling
scaled = {k: h for k, h in first.items() if RUNS[k].scaled}
st.subheader(_("4. Loss scaling"))
if not scaled:
    st.info(_("Add a run with loss scaling to the comparison to see the scale over time."))
else:
    st.plotly_chart(shared_figure("scale", chart_key, lang, lambda: figs.scale_figure({k: (run_name(k), h.scale, h.skipped) for k, h in scaled.items()}, labels=LABELS)), config=PLOTLY_CONFIG)
    st.caption(_("Look at how the scale moves: dynamic scaling doubles it after N clean steps; where a gradient overflowed, the step was skipped (×) and the scale halved. Seed {seed} shown.").format(seed=settings.seed))
    for k, h in scaled.items():
        unscaled = next((first[u] for u in first if RUNS[u].policy == RUNS[k].policy and not RUNS[u].scaled), None)
        first_skip = int(np.flatnonzero(h.skipped)[0]) + 1 if h.skipped.any() else None
        msg = _("{run}: scale 2^{start} at the start, 2^{end} at the end, {skips} skipped steps{first}; {rescued} of the nonzero gradient values were stored nonzero only thanks to the scale (they would have flushed to 0 unscaled); still flushed: {under}.").format(
            run=run_name(k), start=int(np.log2(h.scale[0])), end=int(np.log2(h.scale[-1])), skips=int(h.skipped.sum()),
            first=_(" (the first at step {s})").format(s=first_skip) if first_skip else "",
            rescued=pct(h.fraction("rescued")), under=pct(h.fraction("underflow")))
        if unscaled is not None:
            msg += " " + _("Without scaling the same policy flushed {under}.").format(under=pct(unscaled.fraction("underflow")))
        st.markdown(msg)

# ================================================================== FP16 vs BF16
st.subheader(_("5. FP16 vs BF16"))
ranges = [format_range("float32"), f16, bf16] + ([e5m2, e4m3] if fp8 else [])
widgets.dataframe(figs.range_table(ranges, labels=LABELS), hide_index=True)
msg = _("float16 spends {f16_e} bits on the exponent and {f16_m} on the mantissa: {f16_bin} binades from {f16_sub} to {f16_max}. bfloat16 has {bf_e} exponent bits, as many as float32 ({bf_bin} binades, down to {bf_sub}), and only {bf_m} mantissa bits. So its gradients do not underflow and it needs no loss scaling — but each weight is stored {coarse} times more coarsely, so more small updates are lost without a master copy.").format(
    f16_e=f16.nexp, f16_m=f16.nmant, f16_bin=f"{f16.binades:.0f}", f16_sub=f"{f16.smallest_subnormal:.3g}", f16_max=f"{f16.max:g}", bf_e=bf16.nexp,
    bf_bin=f"{bf16.binades:.0f}", bf_sub=f"{bf16.smallest_subnormal:.3g}", bf_m=bf16.nmant, coarse=2 ** (f16.nmant - bf16.nmant))
st.markdown(msg)
meas = []
if "bfloat16" in histories:
    hs = histories["bfloat16"]
    meas.append(_("pure bfloat16: {under} of gradient values flushed, {lost} of updates lost, test accuracy {acc}").format(
        under=pct(mean_of(hs, lambda h: h.fraction("underflow"))), lost=pct(mean_of(hs, lambda h: h.fraction("lost")), 1), acc=spread_text(spread(h.test_accuracy for h in hs))))
if "float16" in histories:
    hs = histories["float16"]
    meas.append(_("pure float16: {under} flushed, {lost} lost, test accuracy {acc}").format(
        under=pct(mean_of(hs, lambda h: h.fraction("underflow"))), lost=pct(mean_of(hs, lambda h: h.fraction("lost")), 1), acc=spread_text(spread(h.test_accuracy for h in hs))))
if meas:
    st.markdown(_("Measured in this run ({seeds}; accuracy as mean (min–max)): {items}.").format(seeds=seed_words, items="; ".join(meas)))
