"""Quantization-aware training (/qat): the digits MLP quantized to a few bits three ways --
data-free PTQ, calibrated PTQ and QAT (fake quantization + straight-through estimator) -- and
the weight families (binary, ternary, linear, logarithmic) side by side.

Layout only, top to bottom: URL -> settings -> quantlib.train.qat (through lab.qat.cached,
trained live with a progress bar and a loss chart, stored by settings) -> figures/qat.py ->
st.*.  Every number shown is computed by this run; the findings are built from those numbers.
"""

import time

import numpy as np
import streamlit as st

from figures import qat as figs
from figures.training import live_loss_frame, live_loss_spec
from lab.qat import cached as qc
from lab.qat import state as qs
from lab.core import widgets
from lab.core.widgets import PLOTLY_CONFIG
from lab.core.cached import shared_figure
from lab.core.i18n import _, current_lang
from lab.qat.display import CAL_NAMES, family_findings, findings, qat_labels, timing_note
from figures.training import spread, spread_text
from lab.qat.state import QAT
from quantlib.calibration import CALIBRATION_METHODS
from quantlib.train.qat import BITS_CHOICES, level_changes

LIVE_EVERY = 0.5  # seconds between redraws of the live loss chart
BAR_EVERY = 0.1  # seconds between redraws of the progress bar

qs.qat_load_url()
ss = st.session_state
widgets.inject_css()
labels = qat_labels()
lang = current_lang()  # the charts' words: shared between sessions of one language

st.title(_("Quantization-aware training"))
st.caption(
    _("A small network (64 → 128 → 10, ReLU) trained in float32 on the UCI handwritten digits, then quantized to a few bits three ways: post-training quantization without data, post-training quantization with a calibration set, and quantization-aware training, which fine-tunes the network with the quantizer in the loop. Then the families of weight quantization side by side.")
)
for note in ss.get(QAT.notes, []):
    st.warning(note, icon=":material/link:")

with st.expander(_("How the three methods work"), icon=":material/school:"):
    st.markdown(
        _("**PTQ, data-free** (TensorFlow Lite's *dynamic range* mode): the weights are quantized from their own range (symmetric int, absmax); no data is needed. The activations are quantized on the fly: each example's layer input gets its own asymmetric range (its min and max), as TFLite's dynamic-range kernels quantize their inputs row by row.")
        + "\n\n"
        + _("**PTQ, calibrated** (TFLite's *full integer* mode with a representative dataset): the same weights; each layer input gets one static range, measured once on a calibration set of training images with the method you choose (min-max, percentile, MSE or KL). At test time nothing is measured any more.")
        + "\n\n"
        + _("**QAT**: start from the calibrated network and fine-tune it with *fake quantization*: in the forward pass every weight and layer input is quantized and dequantized exactly as the real quantizer does, so the loss sees the rounding. Rounding has zero gradient almost everywhere, so the backward pass uses the *straight-through estimator* (STE): the gradient passes unchanged where the value lies inside the clip range, and is zero outside it. With *learnable clips* (LSQ, Esser et al. 2020) the clip ranges are trained too. The fine-tuned network is then evaluated with the real quantizers.")
        + "\n\n"
        + _("Bits apply to both weights and activations (W4A4: 4-bit weights, 4-bit layer inputs, the image included); biases stay float32, as in TFLite.")
    )

# ================================================================== settings
st.header(_("Settings"))
with st.form("qat_form", border=True):
    st.multiselect(
        _("Bit widths"), list(BITS_CHOICES), key=QAT.bits, persist_state="session",
        help=_("Each bit width quantizes the weights and the activations (layer inputs) to that many bits."),
    )
    c1, c2 = st.columns(2)
    c1.selectbox(
        _("Calibration method"), list(CALIBRATION_METHODS), key=QAT.cal, persist_state="session", format_func=lambda m: _(CAL_NAMES[m]),
        help=_("How the calibrated PTQ chooses each activation range from the calibration images; QAT starts from these ranges."),
    )
    c2.select_slider(
        _("Calibration images"), list(qs.N_CALIB_CHOICES), key=QAT.n_calib, persist_state="session",
        help=_("The first images of the training set, run through the float32 network to measure the ranges of the layer inputs."),
    )
    c3, c4 = st.columns(2)
    c3.slider(_("QAT epochs"), 1, qs.EPOCHS_MAX, key=QAT.epochs, persist_state="session", help=_("Fine-tuning passes over the 1,438 training images, batch 64, Adam."))
    c4.select_slider(_("QAT learning rate"), list(qs.LR_CHOICES), key=QAT.lr, persist_state="session", format_func=lambda v: f"{v:g}")
    c5, c6, c7 = st.columns([2, 2, 1], vertical_alignment="bottom")
    c5.segmented_control(
        _("Weight scales"), ["channel", "tensor"], key=QAT.gran, persist_state="session", required=True,
        format_func=lambda g: _("per output channel") if g == "channel" else _("per tensor"),
    )
    c6.toggle(_("Learnable clips (LSQ)"), key=QAT.lsq, persist_state="session", help=_("Train the clip range of every weight and activation quantizer with the LSQ gradient, instead of keeping the weights' absmax and the calibrated ranges."))
    c7.number_input(_("Seed"), 0, 9999, key=QAT.seed, persist_state="session", help=_("Initialises the float32 network and orders the training batches."))
    st.slider(_("Seeds"), 1, qs.SEEDS_MAX, key=QAT.seeds, persist_state="session",
              help=_("The whole study is run with this many seeds (seed, seed + 1, …), each with its own float32 network: the tables show the mean and the min–max, and a difference inside that spread is no clear difference."))
    st.form_submit_button(_("Train"), type="primary", icon=":material/play_arrow:", on_click=qs.apply_widgets)

settings = qs.applied()
seed_list = qs.seed_settings(settings, qs.applied_seeds())
missing = [x for x in seed_list if qc.cached_study(x) is None]
if missing:
    t0 = time.perf_counter()
    bar = st.progress(0.0, text=_("Training the float32 network…"))
    live = st.empty()
    fam_label = _("Seed {seed}: fine-tuning the {family} weights…")
    qat_label = _("Seed {seed}: QAT at {bits} bits, epoch {epoch} of {epochs}…")
    bar_shown = [0.0]

    def progress(frac: float, text: str) -> None:
        """The progress bar, redrawn at most every BAR_EVERY seconds (each redraw is a message
        to the browser; one per training step would cost more than the training)."""
        now = time.perf_counter()
        if now - bar_shown[0] >= BAR_EVERY:
            bar_shown[0] = now
            bar.progress(frac, text=text)

    for i, one in enumerate(missing):
        curves: dict[int, dict] = {}
        last = [0.0]

        def on_progress(r: dict, i=i, one=one, curves=curves, last=last) -> None:
            frac = min((i + min(r["done"] / max(r["total"], 1), 1.0)) / len(missing), 1.0)
            if r["stage"] in ("qat", "qat_epoch"):
                c = curves.setdefault(r["bits"], {"step_loss": [], "epoch_acc": [], "start_accuracy": float("nan")})
                if r["stage"] == "qat":
                    c["step_loss"].append(r["loss"])
                    progress(frac, qat_label.format(seed=one.seed, bits=r["bits"], epoch=r["epoch"] + 1, epochs=settings.epochs))
                else:
                    c["epoch_acc"].append(r["accuracy"])
                now = time.perf_counter()
                if now - last[0] > LIVE_EVERY:  # by the clock: each redraw is a ~30 ms figure and a browser round trip
                    last[0] = now
                    frame = live_loss_frame({labels["trace_bits"].format(bits=b): c["step_loss"] for b, c in sorted(curves.items(), reverse=True)}, window=figs.SMOOTH)
                    live.vega_lite_chart(frame, live_loss_spec(x_title=labels["axis_step"], y_title=labels["axis_loss"]), height=300)
            elif r["stage"] == "family":
                progress(frac, fam_label.format(seed=one.seed, family=r["family"]))
            elif r["stage"] == "ptq":
                progress(frac, _("Post-training quantization done; fine-tuning…"))

        qc.float_network(one.seed)
        qc.study(one, on_progress=on_progress)
    bar.empty()
    live.empty()
    st.toast(_("Trained in {s} s (numpy emulation on this server).").format(s=f"{time.perf_counter() - t0:.1f}"), icon=":material/check:")
studies = [qc.study(x) for x in seed_list]
study = studies[0]  # the first seed's: the training curves and the weights
n_seeds = len(studies)
f_acc = spread(x.float_accuracy for x in studies)
rows = figs.seed_rows(studies)
fam_rows = figs.seed_families(studies)

s = settings
cal_name = _(CAL_NAMES[s.calibration])
seed_words = _("seed {seed}").format(seed=s.seed) if n_seeds == 1 else _("seeds {first}–{last}").format(first=s.seed, last=s.seed + n_seeds - 1)
st.caption(
    _("Shown: {bits} bits · calibration {method} on {n} images · QAT {epochs} epochs, lr {lr} · weights per {gran} · {lsq} · {seeds}. The float32 network: {acc} test accuracy on 359 held-out images, {bytes} bytes.").format(
        bits=", ".join(map(str, s.bits)), method=cal_name, n=s.n_calib, epochs=s.epochs, lr=f"{s.lr:g}",
        gran=_("output channel") if s.per_channel else _("tensor"), lsq=_("learnable clips (LSQ)") if s.learnable else _("fixed clips"),
        seeds=seed_words, acc=spread_text(f_acc), bytes=f"{study.float_bytes:,}",
    )
)

# ================================================================== 1. accuracy vs bits
st.header(_("Accuracy against bits"))
st.plotly_chart(shared_figure("accuracy", tuple(seed_list), lang, lambda: figs.accuracy_figure(rows, f_acc, labels)), key="qat_acc_chart", config=PLOTLY_CONFIG)
st.caption(_("Look at where each method's line falls away from the dashed float32 line as the bits shrink; the error bars span the lowest to the highest of the {n} seeds.").format(n=n_seeds))
widgets.dataframe(figs.methods_table(rows, f_acc, study.float_bytes, labels), hide_index=True, width="stretch")
st.caption(_("Test accuracy on the 359 held-out images (one image is 0.28 points): the mean over {seeds}, with the lowest and highest seed in brackets. Size: the int weights with their float32 scales, plus float32 biases; the activations are not stored.").format(seeds=seed_words))
st.markdown("\n".join(f"- {t}" for t in findings(studies)))

# ================================================================== 2. QAT curve
st.header(_("QAT training"))
curves = {b: {"step_loss": r.step_loss, "epoch_acc": r.epoch_acc, "start_accuracy": r.start_accuracy} for b, r in study.qat.items()}
steps_per_epoch = int(next(iter(study.qat.values())).step_loss.size // max(s.epochs, 1)) if study.qat else 0
st.plotly_chart(shared_figure("curve", seed_list[0], lang, lambda: figs.curve_figure(curves, steps_per_epoch, labels)), key="qat_curve_chart", config=PLOTLY_CONFIG)
st.caption(
    _("Top: the training loss of every batch, with fake quantization in the forward pass. Bottom: the test accuracy after each epoch with the real quantizers; epoch 0 is the calibrated PTQ network the fine-tune starts from.")
    + " " + _("Seed {seed} shown.").format(seed=s.seed)
)

# ================================================================== 3. weights
st.header(_("Weights before and after"))
c_b, c_l = st.columns(2)
show_bits = c_b.selectbox(_("Bits"), list(s.bits), index=len(s.bits) - 1, key=QAT.show_bits, format_func=lambda b: f"int{b}")
layer = c_l.segmented_control(
    _("Layer"), [0, 1], default=0, key=QAT.show_layer, required=True,
    format_func=lambda i: _("hidden (64 × 128)") if i == 0 else _("output (128 × 10)"),
)
layer = 0 if layer is None else int(layer)
run = study.qat[show_bits]
W0 = qc.float_network(s.seed)[layer]["W"]
W1 = run.params[layer]["W"]
A0 = np.abs(W0).max(axis=0) if s.per_channel else np.array([np.abs(W0).max()], np.float32)
A1 = run.weight_clips[layer]
st.plotly_chart(
    shared_figure("weights", (seed_list[0], show_bits, layer), lang,
                  lambda: figs.histogram_figure(figs.normalized_weights(W0, A0), figs.normalized_weights(W1, A1), show_bits, s.per_channel, labels)),
    key="qat_hist_chart", config=PLOTLY_CONFIG,
)
moved = level_changes(W0, A0, W1, A1, bits=show_bits)
st.caption(
    _("Each weight divided by its clip A, so that every channel has the same int{bits} levels k / {qmax} (dotted lines); a weight is stored as the nearest level. QAT moved {moved} of this layer's {n} weights to another level; its mean clip went from {a0} to {a1}.").format(
        bits=show_bits, qmax=2 ** (show_bits - 1) - 1, moved=f"{100 * moved:.1f}%", n=f"{W0.size:,}", a0=f"{A0.mean():.3f}", a1=f"{A1.mean():.3f}",
    )
)

# ================================================================== 4. families
st.header(_("Quantization families"))
st.caption(
    _("The same float32 network with its weights binary (sign × mean|w| per channel, XNOR-Net), ternary (−a, 0, a with the threshold 0.7 × mean|w|, TWN), linear (int, absmax) or logarithmic (±A·2^−k, power-of-two levels); activations stay float32 here, to compare the weights alone. Each is quantized (PTQ) and then fine-tuned with the same STE for {epochs} epochs (QAT).").format(epochs=s.epochs)
)
st.plotly_chart(shared_figure("families", tuple(seed_list), lang, lambda: figs.families_figure(fam_rows, f_acc, study.float_bytes, labels)), key="qat_fam_chart", config=PLOTLY_CONFIG)
st.caption(_("Look at the arrows: each goes from a family's accuracy right after quantization to its accuracy after QAT, at its size in bits per weight; the error bars span the {n} seeds.").format(n=n_seeds))
widgets.dataframe(figs.families_table(fam_rows, f_acc, study.float_bytes, labels), hide_index=True, width="stretch")
st.markdown("\n".join(f"- {t}" for t in family_findings(studies)))

sec = {k: float(np.mean([x.seconds[k] for x in studies])) for k in ("total", "ptq", "qat", "families")}
st.caption(
    _("Each seed's study took {total} s on average: PTQ {ptq} s, {n_qat} QAT fine-tunes {qat} s, {n_fam} families {fam} s. The float32 network is trained once per seed and shared; a rerun with the same settings shows the stored results at once.").format(
        total=f"{sec['total']:.2f}", ptq=f"{sec['ptq']:.2f}", n_qat=len(study.qat), qat=f"{sec['qat']:.2f}", n_fam=len(study.families), fam=f"{sec['families']:.2f}",
    )
    + " " + timing_note()
)
qs.write_qat_url()
