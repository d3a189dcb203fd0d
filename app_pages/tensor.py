"""Tensor Lab (/tensor): quantize your own tensor (or a built-in sample), see what is lost, and
compare schemes.

Layout only, top to bottom: URL -> widgets -> quantlib (through lab.tensor.cached, keyed by
content hashes) -> figure builders (figures/tensor/) -> st.*. One function per section,
each returning what the next needs; the last lines call them in order.
"""

import math

import pandas as pd
import streamlit as st

from figures import tensor as figs
from lab.tensor import cached as tc
from lab.tensor import state as ts
from lab.tensor.closeup import block_up_close
from lab.core import widgets
from lab.core.widgets import PLOTLY_CONFIG
from lab.core.i18n import N_, _
from lab.core.state import url_value
from lab.tensor.display import metrics_html, shape_text, stored_note, tensor_labels
from lab.tensor.state import TL
from lab.tensor.widgets import scheme_picker
from quantlib import PRESETS
from quantlib import analysis as qa
from quantlib.samples import DEFAULT_SAMPLE, SAMPLES
from quantlib.tensorio import MAX_FILE_BYTES, TensorFileError, supported_extensions

SOURCE_LABELS = {"sample": N_("Built-in sample"), "upload": N_("Upload a file")}
SIZE_LABELS = {"default": N_("default size"), "1M": N_("1 M values"), "4M": N_("4 M values"), "16M": N_("16 M values")}
CSS = """<style>
table.tl-metrics { max-width: 46rem; }
table.tl-metrics th:nth-child(1) { width: 55%; }
table.tl-metrics td.ql-mono { font-weight: 600; word-break: normal; overflow-wrap: anywhere; vertical-align: middle; }
table.tl-metrics .tl-meaning { font-size: 0.78rem; opacity: 0.7; line-height: 1.25; margin-top: 0.1rem; }
</style>"""
PROGRESS_WORK = 1 << 21  # show a progress bar when about this many elements are to be processed anew

ts.tl_load_url()
ss = st.session_state
widgets.inject_css()
labels = tensor_labels()
seen: set = ss[TL.seen]


def download(label: str, data, file_name: str, mime: str, key: str, icon: str = ":material/download:") -> None:
    """A download button whose file is made only when clicked (``data`` is a callable)."""
    st.download_button(label, data=data, file_name=file_name, mime=mime, key=key, icon=icon, on_click="ignore", type="tertiary")


def chart_downloads(key: str, stem: str, fig, png=None) -> None:
    """PNG (matplotlib) and interactive HTML (plotly) downloads of a chart, made on click."""
    with st.container(horizontal=True, gap="small"):
        if png is not None:
            download(_("PNG"), png, f"{stem}.png", "image/png", f"{key}_png", icon=":material/image:")
        download(_("Interactive HTML"), lambda: figs.figure_html(fig, stem), f"{stem}.html", "text/html", f"{key}_html", icon=":material/code:")


st.title(_("Tensor Lab"))
st.caption(
    _("Quantize a weight or activation tensor with any scheme, see exactly what is lost, and find the scheme that loses least for the bits it costs. Start with the built-in sample or upload your own tensor.")
)
for note in ss.get(TL.notes, []):
    st.warning(note, icon=":material/link:")


def sample_controls() -> tc.Tensor:
    c_sample, c_size = st.columns([3, 2], vertical_alignment="bottom")
    name = c_sample.selectbox(
        _("Sample"), list(SAMPLES), key=TL.sample, persist_state="session", format_func=lambda n: _(ts.SAMPLE_TEXT[n][0]) if n in ts.SAMPLE_TEXT else SAMPLES[n].title,
        help=_("Synthetic samples are drawn from a seed; the MiniLM ones are real trained weights."),
    )
    sample = SAMPLES[name]
    size = ss.get(TL.size, "default")
    if not sample.is_real:
        size = c_size.selectbox(
            _("Size"), list(ts.SIZES), key=TL.size, persist_state="session",
            format_func=lambda s: _(SIZE_LABELS[s]) + (" · " + shape_text(ts.sample_shape(name, s) or sample.default_shape)),
            help=_("Make the sample bigger to see how fast the lab is on a large tensor (16 M values = 64 MB of float32)."),
        )
    description = ts.SAMPLE_TEXT.get(name, (sample.title, sample.description))[1]
    if sample.is_real:
        source_note = _("Source: {note}.").format(note=sample.source_note)
    else:
        source_note = _("Synthetic, drawn from seed {seed}.").format(seed=int(ss.get(TL.seed, 0)))
    st.caption(_(description) + " " + source_note)
    big = math.prod(ts.sample_shape(name, size) or sample.default_shape) >= PROGRESS_WORK
    if big and ("sample", name, size, int(ss.get(TL.seed, 0))) not in seen:
        with st.spinner(_("Generating the sample…"), show_time=True):
            t = tc.sample_tensor(name, size, int(ss.get(TL.seed, 0)))
    else:
        t = tc.sample_tensor(name, size, int(ss.get(TL.seed, 0)))
    seen.add(("sample", name, size, int(ss.get(TL.seed, 0))))
    return t


# ================================================================== 1. the tensor
def the_tensor() -> tuple[tc.Tensor, dict | None, str | None, list]:
    """Section 1: a built-in sample or an uploaded file, summarised, NaN/inf taken out; returns
    (the tensor, the uploaded file's info or None, the chosen tensor name, the file's entries)."""
    st.subheader(_("1. The tensor"))
    source = st.segmented_control(
        _("Source"), list(SOURCE_LABELS), key=TL.source, required=True, persist_state="session",
        format_func=lambda s: _(SOURCE_LABELS[s]), label_visibility="collapsed",
    )
    tensor: tc.Tensor | None = None
    file_info = None
    tensor_name = None
    entries = []

    if source == "upload":
        up = st.file_uploader(
            _("Tensor file"), type=supported_extensions(), key=TL.upload, on_change=ts.on_upload_changed,
            max_upload_size=MAX_FILE_BYTES >> 20,  # MB: the uploader's limit is the loader's, whatever the server's config says
            help=_("A weight or activation tensor. Files are parsed by the lab itself, never unpickled; PyTorch files only with weights_only=True.")
            + " " + _("Accepted: .npy, .npz, .safetensors (float64 down to bfloat16 and FP8, integers), .csv/.tsv/.txt (a numeric matrix), and .pt/.pth/.bin when PyTorch is installed.")
            + " " + _("Also .gguf (llama.cpp models): F32, F16, BF16 and the quant types Q4_0 … Q6_K and IQ4_NL, dequantized exactly as llama.cpp does."),
        )
        file_info = ss.get(TL.file)
        if up is not None and (file_info is None or file_info.get("file_id") != up.file_id):
            file_info = {"obj": up, "file_id": up.file_id, "name": up.name, "size": up.size, "sha": None}
            ss[TL.file] = file_info
        if file_info is not None:
            f = file_info["obj"]
            fname = file_info["name"]
            if up is None:
                st.caption(_("Showing {name}, uploaded earlier in this session.").format(name=fname))
            todo = file_info["sha"] is None
            bar = st.progress(0.0, text=_("Reading {name}…").format(name=fname)) if todo and file_info["size"] > (16 << 20) else None
            try:
                if todo:
                    file_info["sha"] = tc.file_sha(f)
                sha = file_info["sha"]
                if bar is not None:
                    bar.progress(0.2, text=_("Listing the tensors of {name}…").format(name=fname))
                entries = tc.file_entries(sha, fname, f)
                loadable = [e for e in entries if e.loadable]
                if not loadable:
                    problems = "; ".join(f"{e.name}: {e.problem}" for e in entries[:5])
                    raise TensorFileError(_("{name} holds no tensor the lab can read ({problems}).").format(name=fname, problems=problems))
                names = [e.name for e in loadable]
                if ss.get(TL.tensor) not in names:
                    ss[TL.tensor] = names[0]
                if len(entries) > 1:
                    by_name = {e.name: e for e in loadable}
                    tensor_name = st.selectbox(
                        _("Tensor ({n} in the file)").format(n=len(entries)), names, key=TL.tensor,
                        format_func=lambda n: _("{name} — {shape} · {dtype} · {size}").format(
                            name=n, shape=shape_text(by_name[n].shape), dtype=by_name[n].stored_type or by_name[n].dtype, size=figs.nbytes_text(by_name[n].nbytes)
                        ),
                    )
                    skipped = [e for e in entries if not e.loadable]
                    if skipped:
                        with st.expander(_("{n} tensors cannot be quantized").format(n=len(skipped)), icon=":material/block:"):
                            for e in skipped:
                                st.markdown(f"- `{e.name}`: {e.problem}")
                else:
                    tensor_name = names[0]
                if bar is not None:
                    bar.progress(0.4, text=_("Loading {tensor}…").format(tensor=tensor_name))
                tensor = tc.file_tensor(sha, fname, tensor_name, f)
                ts.offer_stored_scheme(tensor.stored_scheme, (sha, tensor_name))  # a .gguf Q4_1 tensor: compare with q4_1
            except TensorFileError as exc:
                st.error(_("**Cannot read the file:** {reason}").format(reason=exc), icon=":material/error:")
                tensor = None
            finally:
                if bar is not None:
                    bar.empty()
        elif ss.get(TL.url_file):
            st.info(_("This link was made with the file {name}: upload it again to see its results.").format(name=url_value(ss[TL.url_file])), icon=":material/upload_file:")
        if tensor is None:
            sample = SAMPLES[ss.get(TL.sample, DEFAULT_SAMPLE)]
            st.info(_("Until a file is read, the page shows the built-in sample {title}.").format(title=_(ts.SAMPLE_TEXT.get(sample.name, (sample.title,))[0])), icon=":material/info:")
            tensor = tc.sample_tensor(sample.name, ss.get(TL.size, "default"), int(ss.get(TL.seed, 0)))
    else:
        tensor = sample_controls()

    # summary of the tensor
    stats = tc.tensor_stats(tensor.key, tensor.array)
    st.markdown(
        _("**{name}**: shape {shape}, stored as {dtype}, {n} values ({size})").format(
            name=tensor.name, shape=shape_text(tensor.shape), dtype=tensor.source_dtype, n=f"{tensor.size:,}", size=figs.nbytes_text(tensor.orig_nbytes)
        )
    )
    st.caption(
        _("min {min} · max {max} · mean {mean} · std {std} · max |x| / std {ratio} · zeros {zeros}").format(
            min=figs.num(stats["min"]), max=figs.num(stats["max"]), mean=figs.num(stats["mean"]), std=figs.num(stats["std"]),
            ratio=figs.num(stats["absmax"] / stats["std"], 3) if stats["std"] else "—", zeros=figs.pct(stats["zeros"]),
        )
    )
    if note := stored_note(tensor.stored_type, tensor.stored_scheme, tensor.stored_bits):
        st.caption(note)
    if tensor.n_nonfinite:
        st.warning(
            _("This tensor holds {nan} NaN and {inf} infinite values. No scheme has a code that would make their error meaningful, so they are taken out before quantizing.").format(
                nan=f"{tensor.n_nan:,}", inf=f"{tensor.n_inf:,}"
            ),
            icon=":material/warning:",
        )
        mode = st.radio(_("NaN and infinite values"), list(ts.NONFINITE_LABELS), key=TL.nonfinite, horizontal=True, format_func=lambda m: _(ts.NONFINITE_LABELS[m]))
        tensor = tc.cleaned(tensor.key, mode, tensor)
        st.caption(_("Quantized below: {n} finite values, shape {shape}.").format(n=f"{tensor.size:,}", shape=shape_text(tensor.shape)))
    return tensor, file_info, tensor_name, entries


# ================================================================== 2. the scheme
def the_scheme(tensor: tc.Tensor) -> tuple[str | None, tuple | None]:
    """Section 2: the scheme picker and its one-line string; returns (the canonical scheme or
    None when the options make none, the rejected typed string and its reason or None)."""
    st.subheader(_("2. The quantization scheme"))
    scheme, problem = scheme_picker(tensor.ndim)
    box_error = ss.get(TL.scheme_error)
    if box_error is None:
        ss[TL.scheme_box] = scheme or ts.scheme_text()
    st.text_input(
        _("Scheme string"), key=TL.scheme_box, on_change=ts.on_scheme_typed,
        help=_("The scheme in one line, as in the URL and in quantlib.parse_scheme: e.g. int4:block=128, nf4:block=64,dq, mxfp6_e2m3, float8_e5m2:scaled,axis=0, int8:cal=percentile,pct=99.9. Type one and press Enter."),
    )
    if box_error is not None:
        st.error(_("**Cannot use the scheme {text!r}:** {reason}").format(text=box_error[0], reason=box_error[1]), icon=":material/error:")
    if problem is not None:
        st.error(_("**These options do not make a valid scheme:** {reason}").format(reason=problem), icon=":material/error:")
    return scheme, box_error


# ================================================================== 3. what the scheme does
def what_it_does(tensor: tc.Tensor, scheme: str | None) -> tc.Analysis | None:
    """Section 3: metrics, downloads, the histograms, error maps and one block up close;
    returns the analysis (None when there is no scheme or it cannot quantize the tensor)."""
    x = tensor.array
    an: tc.Analysis | None = None
    hist = None
    if scheme is not None:
        work = ("analysis", tensor.key, scheme)
        try:
            if tensor.size >= PROGRESS_WORK and work not in seen:
                with st.spinner(_("Quantizing {n} values with {scheme}…").format(n=f"{tensor.size:,}", scheme=scheme), show_time=True):
                    an = tc.analysis(tensor.key, scheme, x)
            else:
                an = tc.analysis(tensor.key, scheme, x)
            hist = tc.hists(tensor.key, scheme, int(ss.get(TL.bins, TL.default_bins)), x)
            seen.add(work)
        except ValueError as exc:
            an = hist = None
            st.error(_("**{scheme} cannot quantize this tensor:** {reason}").format(scheme=scheme, reason=exc), icon=":material/error:")

    if an is not None:
        st.subheader(_("3. What {scheme} does to it").format(scheme=scheme))
        st.html(CSS)
        rows = figs.metrics_rows(an.metrics, bits_per_element=an.bits_per_element, nbytes=an.nbytes, orig_nbytes=tensor.orig_nbytes, orig_dtype=tensor.source_dtype, labels=labels)
        if an.n_nonfinite_out:
            st.warning(
                _("{n} values could not be stored as numbers and became NaN or ±inf: they overflowed the format, or are negative in an unsigned one. The metrics count them as an infinite error; the charts leave them out.").format(
                    n=f"{an.n_nonfinite_out:,}"
                ),
                icon=":material/warning:",
            )
        with st.container(key="tl_metrics"):
            st.html(metrics_html(rows, labels))

        def metrics_csv() -> bytes:
            m = dict(an.metrics)
            m.update(scheme=scheme, tensor=tensor.name, bits_per_element=an.bits_per_element, nbytes=an.nbytes, original_nbytes=tensor.orig_nbytes)
            return tc.csv_bytes(pd.DataFrame({"metric": list(m), "value": [str(v) for v in m.values()]}))

        def quantized_bytes() -> bytes:
            qz = tc.quantized(tensor.key, scheme, x)
            return tc.quantized_file(qz.q, tensor.name, {"quantlab.sqnr_db": repr(an.metrics["sqnr_db"])})

        def dequantized_bytes() -> bytes:
            return tc.dequantized_file(tc.quantized(tensor.key, scheme, x).xq)

        stem = f"{tensor.name}-{scheme}".replace(":", "_").replace(",", "_").replace("=", "").replace(";", "_").replace("/", "_")[:120]
        with st.container(horizontal=True, gap="small", key="tl_downloads"):
            download(_("Quantized (.safetensors)"), quantized_bytes, f"{stem}.safetensors", "application/octet-stream", "tl_dl_quantized")
            download(_("Dequantized (.npy)"), dequantized_bytes, f"{stem}-dequantized.npy", "application/octet-stream", "tl_dl_dequantized")
            download(_("Metrics (.csv)"), metrics_csv, f"{stem}-metrics.csv", "text/csv", "tl_dl_metrics")
        st.caption(
            _("The .safetensors file holds one code per element (unpacked), the scales and the scheme string in its metadata, so quantlib (or you) can dequantize it again.")
        )

        # -------------------------------------------------------------- chart options
        with st.container(horizontal=True, gap="medium", vertical_alignment="bottom", key="tl_chart_opts"):
            log_y = st.toggle(_("Log count axis"), key=TL.log, persist_state="session", help=_("Shows the rare values in the tails, e.g. outliers and clipped values."))
            show_levels = st.toggle(_("Show the levels"), key=TL.levels, persist_state="session")
            st.selectbox(_("Bins"), ts.BINS, key=TL.bins, persist_state="session", width=110)

        st.markdown(f"**{_('Values before and after')}**")
        group_word = {"block": _("block {g}"), "channel": _("channel {g}"), "tensor": _("the tensor")}[an.kind].format(g=an.level_group)
        level_note = ""
        if an.levels is None and an.levels_in_view > 0:
            level_note = _("Its {n} levels in this range are too dense to draw.").format(n=f"{an.levels_in_view:,}")
        elif an.levels is None:
            level_note = _("Its levels are too many to list (a 32- or 64-bit format).")
        elif an.kind != "tensor":
            level_note = _("The green lines are the levels of {group}, the one that holds the largest |x|; every {kind} has its own scale, so its levels are these, rescaled.").format(
                group=group_word, kind=_("block") if an.kind == "block" else _("channel")
            )
        else:
            level_note = _("The green lines are the values a code can stand for (the levels).")
        fig_hist = figs.value_histogram_figure(hist, levels=an.levels, level_group=group_word, clip=an.clip, log_y=log_y, show_levels=show_levels, labels=labels)
        st.plotly_chart(fig_hist, key="tl_hist", config=PLOTLY_CONFIG)
        crowded = not log_y and hist.original.max() > 0.5 * hist.original.sum() and hist.original.size > 10
        if crowded:
            st.info(
                _("Most values fall into one bin: a few outliers stretch the range. Switch on the log count axis to see them, and compare per-block schemes below: a block scale keeps an outlier from costing every other value its precision."),
                icon=":material/lightbulb:",
            )
        st.caption(
            _("Blue: the original values, orange: what they are stored as, on the same bins. Every value moves to a level, so the orange histogram is spiky.")
            + " " + level_note
            + (" " + _("The dashed red lines are the clipping range: values beyond it are stored as its ends.") if an.clip is not None and an.kind == "tensor" else "")
        )
        chart_downloads(
            "tl_hist", f"{stem}-histogram", fig_hist,
            png=lambda: figs.value_histogram_png(hist, levels=an.levels if show_levels else None, clip=an.clip, log_y=log_y, title=f"{tensor.name} · {scheme}", level_group=group_word, labels=labels),
        )

        tab_err, tab_scatter, tab_heat, tab_zoom = st.tabs(
            [_("Error"), _("Original vs stored"), _("Where the error is"), _(ts.ZOOM_TAB)], key=TL.tab, on_change="rerun"
        )  # lazy: only the open tab's charts are built and sent
        with tab_err:
            if tab_err.open:
                fig_err = figs.error_histogram_figure(hist, log_y=log_y, labels=labels)
                st.plotly_chart(fig_err, key="tl_err", config=PLOTLY_CONFIG)
                st.caption(
                    _("The error of every element, stored minus original. Rounding to the nearest level keeps it within half a step; clipped values make the far tails (switch on the log count axis to see them).")
                )
                chart_downloads("tl_err", f"{stem}-error", fig_err, png=lambda: figs.error_histogram_png(hist, log_y=log_y, title=f"{tensor.name} · {scheme}", labels=labels))
        with tab_scatter:
            if tab_scatter.open:
                fig_sc = figs.scatter_figure(an.sample_x, an.sample_q, labels=labels)
                st.plotly_chart(fig_sc, key="tl_scatter", config=PLOTLY_CONFIG)
                st.caption(
                    _("Each dot is one element: its original value across, its stored value up ({n} elements sampled at random). A perfect quantizer would put every dot on the dashed line; the horizontal steps are the levels.").format(
                        n=f"{an.sample_x.size:,}"
                    )
                )
                chart_downloads("tl_scatter", f"{stem}-scatter", fig_sc)
        with tab_heat:
            if tab_heat.open:
                R, C = qa.matrix_shape(tensor.shape)
                if an.kind == "block" and R > 1:
                    gm, rs, cs = qa.pool_mean(an.group_mse.reshape(R, -1))
                    fig_gm = figs.heatmap_figure(gm, row_step=rs, col_step=cs, log10=True, colorbar=labels["colorbar_log_mse"], x_title=labels["axis_block"], col_word=labels["word_blocks"], labels=labels)
                    heat_title, heat_note = _("Error of every block"), _("Each cell is the mean squared error of {rs} × {cs} blocks of {b} values (rows × blocks along a row).").format(rs=rs, cs=cs, b=an.block_size)
                elif an.kind == "channel":
                    fig_gm = figs.channel_figure(an.group_mse, title=labels["col_mse"], axis=an.axis, log_y=True, labels=labels)
                    heat_title, heat_note = _("Error of every channel"), _("The mean squared error of every channel.")
                elif R > 1:
                    cells, (rs, cs) = an.error_cells, an.error_steps
                    fig_gm = figs.heatmap_figure(cells, row_step=rs, col_step=cs, log10=True, colorbar=labels["colorbar_log_mse"], labels=labels)
                    heat_title, heat_note = _("Error across the tensor"), _("Each cell is the mean squared error of {rs} × {cs} values (rows × columns).").format(rs=rs, cs=cs)
                else:
                    _rs, cs = an.error_steps
                    fig_gm = figs.channel_figure(an.error_cells.reshape(-1), title=labels["col_mse"], x_step=cs, x_title=labels["axis_index"], log_y=True, labels=labels)
                    heat_title, heat_note = _("Error along the vector"), _("Each point is the mean squared error of {n} consecutive values.").format(n=cs)
                st.markdown(f"**{heat_title}**")
                st.plotly_chart(fig_gm, key="tl_heat_err", config=PLOTLY_CONFIG)
                st.caption(heat_note + " " + _("The error axis is logarithmic: each step of 1 in log10 is a factor of 10. Hover for the exact place and value."))
                chart_downloads("tl_heat_err", f"{stem}-error-map", fig_gm)
                if an.scales is None:
                    st.info(_("A plain cast has no scale: every value is rounded on its own."), icon=":material/info:")
                elif an.kind == "tensor":
                    st.info(
                        _("One scale for the whole tensor: {scale}.").format(scale=figs.num(float(an.scales.reshape(-1)[0]), 6))
                        + (" " + _("NVFP4 multiplies it by the tensor scale {ts}.").format(ts=figs.num(an.tensor_scale, 6)) if an.tensor_scale else ""),
                        icon=":material/info:",
                    )
                elif an.kind == "channel":
                    st.markdown(f"**{_('Scale of every channel')}**")
                    fig_sc2 = figs.channel_figure(an.scales, title=labels["colorbar_scale"], axis=an.axis, labels=labels)
                    st.plotly_chart(fig_sc2, key="tl_heat_scales", config=PLOTLY_CONFIG)
                    chart_downloads("tl_heat_scales", f"{stem}-scales", fig_sc2)
                else:
                    st.markdown(f"**{_('Scale of every block')}**")
                    if R > 1:
                        sc, rs2, cs2 = qa.pool_mean(an.scales.reshape(R, -1))
                        fig_sc2 = figs.heatmap_figure(sc, row_step=rs2, col_step=cs2, log2=True, colorbar=labels["colorbar_log_scale"], x_title=labels["axis_block"], col_word=labels["word_blocks"], colorscale="Cividis", labels=labels)
                    else:
                        fig_sc2 = figs.channel_figure(an.scales.reshape(-1), title=labels["colorbar_scale"], axis=0, labels=labels)
                    st.plotly_chart(fig_sc2, key="tl_heat_scales", config=PLOTLY_CONFIG)
                    st.caption(
                        _("The scale each block stores, coloured by its log2: a block's scale follows its largest |x|, so outlier rows and columns stand out.")
                        + (" " + _("Times the tensor scale {ts}.").format(ts=figs.num(an.tensor_scale, 6)) if an.tensor_scale else "")
                    )
                    chart_downloads("tl_heat_scales", f"{stem}-scales", fig_sc2)
        with tab_zoom:
            if tab_zoom.open:
                block_up_close(tensor, scheme, an, labels)
    return an


# ================================================================== 4. compare
def compare(tensor: tc.Tensor, scheme: str | None, an: tc.Analysis | None) -> None:
    """Section 4: the chosen schemes on the same tensor, the rate-distortion chart and its table."""
    x = tensor.array
    st.subheader(_("4. Compare schemes"))
    st.caption(
        _("Every scheme below quantizes the same tensor. The chart plots quality (SQNR) against cost (bits per element, scales included): the red staircase is the Pareto front, the schemes that nothing beats on both, so the best scheme for a budget sits on it.")
    )
    extra = [s for s in ss.get(TL.compare_extra, []) if s not in PRESETS]
    options = list(PRESETS) + extra
    ss[TL.compare] = [s for s in ss.get(TL.compare, []) if s in options]
    st.multiselect(
        _("Schemes to compare"), options, key=TL.compare, placeholder=_("Choose schemes or add your own below"),
        help=_("The current scheme is always compared too (ringed in the chart)."),
    )
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom", key="tl_compare_ctrl"):
        st.button(_("Standard presets"), key="tl_presets", on_click=ts.on_compare_presets, icon=":material/playlist_add_check:",
                  help=_("int8, int4 absmax with blocks of 64 and 128, NF4 with and without double quantization, FP8 E4M3 and E5M2 (scaled), MXFP8, MXFP6, MXFP4, NVFP4, bfloat16 and float16."))
        st.button(_("Keep the current scheme"), key="tl_keep", on_click=ts.on_compare_keep_current, args=(scheme,), disabled=scheme is None or scheme in ss.get(TL.compare, []),
                  icon=":material/push_pin:")
        st.button(_("llama.cpp types"), key="tl_ggml", on_click=ts.on_compare_ggml, icon=":material/memory:", help=_("Add Q8_0, Q6_K, Q5_K, Q4_K, Q4_0, IQ4_NL, Q3_K and Q2_K."))
    st.text_input(_("Add a scheme"), key=TL.compare_add, on_change=ts.on_compare_add, placeholder="int3:block=32, nf4:block=128,dq, mxfp6_e3m2",
                  help=_("A scheme string; press Enter to add it."))
    if ss.get(TL.compare_error):
        st.error(ss[TL.compare_error], icon=":material/error:")

    chosen = [s for s in ss.get(TL.compare, []) if s != scheme]
    todo = [s for s in chosen if ("compare", tensor.key, s) not in seen]
    bar = None
    if todo and tensor.size * len(todo) >= PROGRESS_WORK:
        bar = st.progress(0.0, text=_("Comparing {n} schemes on {m} values…").format(n=len(chosen), m=f"{tensor.size:,}"))
    cmp_rows, cmp_problems = [], []
    for i, s in enumerate(chosen):
        try:
            cmp_rows.append(tc.compare_row(tensor.key, s, x))
            seen.add(("compare", tensor.key, s))
            seen.add(("analysis", tensor.key, s))  # the row came from its analysis: picking it needs no spinner
        except ValueError as exc:
            cmp_problems.append((s, str(exc)))
        if bar is not None:
            bar.progress((i + 1) / len(chosen), text=_("Compared {s} ({i} of {n})").format(s=s, i=i + 1, n=len(chosen)))
    if bar is not None:
        bar.empty()
    if an is not None:
        cmp_rows.append(tc.row_from_analysis(an))
    for r in cmp_rows:
        r["ratio"] = r["nbytes"] / tensor.orig_nbytes
    for s, reason in cmp_problems:
        st.warning(_("{scheme} cannot quantize this tensor: {reason}").format(scheme=s, reason=reason), icon=":material/warning:")

    if len(cmp_rows) == 1 and not cmp_problems:  # the current scheme alone: nothing to compare yet
        st.info(_("Choose schemes above, or press Standard presets, to see them beside {scheme}.").format(scheme=cmp_rows[0]["scheme"]), icon=":material/info:")
    elif cmp_rows:
        names = [r["scheme"] for r in cmp_rows]
        bits = [r["bits"] for r in cmp_rows]
        sqnr = [r["sqnr_db"] for r in cmp_rows]
        best = qa.best_per_budget(names, bits, sqnr)
        if best:
            st.markdown(
                "\n".join(
                    "- " + _("Within {budget} bits per element: **{scheme}**, {sqnr} at {bits} bits.").format(budget=f"{budget:g}", scheme=s, sqnr=figs.db(q), bits=f"{b:.3g}")
                    for budget, s, b, q in best
                )
            )
        fig_rd = figs.rate_distortion_figure(names, [r["family"] for r in cmp_rows], bits, sqnr, current=scheme if an is not None else None, labels=labels)
        st.plotly_chart(fig_rd, key="tl_rd", config=PLOTLY_CONFIG)
        front = qa.front_order(bits, sqnr)
        st.markdown(
            _("**Pareto front** (numbered on the chart): {items}").format(
                items=" · ".join(
                    _("**{k}** {scheme} ({bits} bits, {sqnr})").format(k=k + 1, scheme=names[i], bits=f"{bits[i]:.3g}", sqnr=figs.db(sqnr[i]))
                    for k, i in enumerate(front)
                )
            )
        )
        chart_downloads(
            "tl_rd", f"{tensor.name}-rate-distortion", fig_rd,
            png=lambda: figs.rate_distortion_png(names, bits, sqnr, current=scheme, title=tensor.name, labels=labels),
        )
        table = figs.compare_table(cmp_rows, labels)
        widgets.dataframe(
            table, hide_index=True, width="stretch", height="content", key="tl_compare_table",
            column_config={
                labels["col_scheme"]: st.column_config.TextColumn(width=170, pinned=True),
                labels["col_bits"]: st.column_config.NumberColumn(format="%.3f"),
                labels["col_sqnr"]: st.column_config.NumberColumn(format="%.2f"),
                labels["col_front"]: st.column_config.TextColumn(),
                labels["col_mse"]: st.column_config.NumberColumn(format="%.3e"),
                labels["col_max"]: st.column_config.NumberColumn(format="%.3e"),
                labels["col_omc"]: st.column_config.NumberColumn(format="%.2e"),
                labels["col_clipped"]: st.column_config.NumberColumn(format="%.3g%%"),
                labels["col_flushed"]: st.column_config.NumberColumn(format="%.3g%%"),
                labels["col_bytes"]: st.column_config.NumberColumn(format="localized"),
                labels["col_ratio"]: st.column_config.NumberColumn(format="%.1f%%"),
            },
        )
        download(_("Comparison (.csv)"), lambda: tc.csv_bytes(pd.DataFrame(cmp_rows)), f"{tensor.name}-comparison.csv", "text/csv", "tl_dl_compare")


# ================================================================== 5. every tensor of the file
def every_tensor(file_info: dict | None, entries: list, scheme: str | None) -> None:
    """Section 5: every tensor of an uploaded file quantized with the scheme, worst first."""
    loadable_entries = [e for e in entries if e.loadable]
    if file_info is not None and len(loadable_entries) > 1 and scheme is not None:
        st.subheader(_("5. Every tensor of the file"))
        st.caption(_("Quantize every tensor of {name} with {scheme} and see which layers suffer most: the lowest SQNR first.").format(name=file_info["name"], scheme=scheme))
        mode = ss.get(TL.nonfinite, "zero")
        want = (file_info["sha"], scheme, mode)
        st.button(
            _("Quantize all {n} tensors").format(n=len(loadable_entries)), key="tl_all", icon=":material/layers:",
            on_click=lambda: ss.__setitem__(TL.all_tensors, want), disabled=ss.get(TL.all_tensors) == want,
        )
        if ss.get(TL.all_tensors) == want:
            total = sum(e.size for e in loadable_entries)
            unseen = [e for e in loadable_entries if ("file", want, e.name) not in seen]
            bar = st.progress(0.0, text=_("Quantizing {n} tensors…").format(n=len(loadable_entries))) if unseen and total >= PROGRESS_WORK else None
            per = []
            for i, e in enumerate(loadable_entries):
                per.append(tc.per_tensor_row(file_info["sha"], file_info["name"], e.name, scheme, mode, file_info["obj"]))
                seen.add(("file", want, e.name))
                if bar is not None:
                    bar.progress((i + 1) / len(loadable_entries), text=_("Quantized {tensor} ({i} of {n})").format(tensor=e.name, i=i + 1, n=len(loadable_entries)))
            if bar is not None:
                bar.empty()
            ok = [r for r in per if r["problem"] is None]
            ok.sort(key=lambda r: r["sqnr_db"])
            if ok:
                fig_pt = figs.per_tensor_figure([r["tensor"] for r in ok], [r["sqnr_db"] for r in ok], labels=labels)
                st.plotly_chart(fig_pt, key="tl_per_tensor", config=PLOTLY_CONFIG)
                df = pd.DataFrame(
                    {
                        labels["col_tensor"]: [r["tensor"] for r in ok],
                        labels["col_shape"]: [r["shape"] for r in ok],
                        labels["col_elements"]: [r["size"] for r in ok],
                        labels["col_sqnr"]: [r["sqnr_db"] for r in ok],
                        labels["col_rel"]: [100 * r["rel_error"] for r in ok],
                        labels["col_max"]: [r["max_abs_error"] for r in ok],
                        labels["col_bits"]: [r["bits"] for r in ok],
                    }
                )
                widgets.dataframe(
                    df, hide_index=True, width="stretch", key="tl_per_tensor_table",
                    column_config={
                        labels["col_tensor"]: st.column_config.TextColumn(pinned=True),
                        labels["col_sqnr"]: st.column_config.NumberColumn(format="%.2f"),
                        labels["col_rel"]: st.column_config.NumberColumn(format="%.3g%%"),
                        labels["col_max"]: st.column_config.NumberColumn(format="%.3e"),
                        labels["col_bits"]: st.column_config.NumberColumn(format="%.3f"),
                        labels["col_elements"]: st.column_config.NumberColumn(format="localized"),
                    },
                )
                download(_("Per-tensor results (.csv)"), lambda: tc.csv_bytes(pd.DataFrame(per)), f"{file_info['name']}-{scheme}-per-tensor.csv".replace(":", "_"), "text/csv", "tl_dl_per_tensor")
            for r in per:
                if r["problem"] is not None:
                    st.warning(_("{tensor}: {reason}").format(tensor=r["tensor"], reason=r["problem"]), icon=":material/warning:")


# ================================================================== URL
def write_url(tensor: tc.Tensor, scheme: str | None, box_error: tuple | None, an: tc.Analysis | None, file_info: dict | None, tensor_name: str | None, entries: list) -> None:
    """The page's state back into the URL (the zoomed block only when it is not the worst one)."""
    zoom_param = None
    if an is not None and isinstance(ss.get(TL.zoom), int) and ss.get(TL.zoom_for) in ((tensor.key, scheme), "url") and ss[TL.zoom] != an.worst_group:
        zoom_param = ss[TL.zoom]
    ts.tl_write_url(
        ts.tl_url(
            scheme or (box_error[0] if box_error else None),
            file_info["name"] if file_info else ss.get(TL.url_file),
            tensor_name if len(entries) > 1 else None,
            zoom_param,
        )
    )


# ================================================================== the page, top to bottom
tensor, file_info, tensor_name, entries = the_tensor()
scheme, box_error = the_scheme(tensor)
an = what_it_does(tensor, scheme)
compare(tensor, scheme, an)
every_tensor(file_info, entries, scheme)
write_url(tensor, scheme, box_error, an, file_info, tensor_name, entries)
