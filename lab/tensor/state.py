"""Tensor Lab (``/tensor``) state: session keys, the scheme <-> widgets mapping, URL <-> state,
(the figure builders' translated words are in :mod:`lab.tensor.display`).

The scheme is the page's central piece of state.  Its canonical string
(``str(quantlib.parse_scheme(...))``, e.g. ``nf4:block=64,dq``) is what the URL carries and
what the results are cached by; the scheme widgets are one editable view of it:
:func:`apply_scheme` writes a scheme into the widget keys, :func:`scheme_text` reads them
back into a string.  URL parameters (all optional)::

    sample=gaussian_weights  size=16M  seed=3        a built-in sample (the default)
    source=upload  file=w.safetensors  tensor=layer.0.weight   an uploaded file (upload it again to restore)
                             (.gguf: a tensor stored as Q4_1 ... adds q4_1 to the schemes compared, once)
    nonfinite=drop           NaN/inf: drop them (default: replace them with 0)
    scheme=nf4:block=64,dq   the scheme
    compare=int8|nf4:block=64|mxfp4   schemes compared ('|'-separated; default: quantlib.PRESETS; 'none')
    log=1  bins=241  levels=0  block=17            chart options and the zoomed block
"""

from __future__ import annotations

import streamlit as st

from quantlib import PRESETS, parse_scheme
from quantlib.samples import DEFAULT_SAMPLE, SAMPLES
from quantlib.schemes import GGML_PRESETS, Scheme

from lab.core.i18n import N_, _
from lab.core.state import Param, params_to_query, query_dict, read_params, scheme_problem, url_is_new, url_value, write_url

__all__ = [
    "TL",
    "FAMILIES",
    "FAMILY_LABELS",
    "FLOAT_ROUNDINGS",
    "FAMILY_DEFAULTS",
    "GRANULARITIES",
    "GRANULARITY_LABELS",
    "CALIBRATION_LABELS",
    "MX_ROUNDING_LABELS",
    "MX_ELEMENTS",
    "NONFINITE_LABELS",
    "SIZES",
    "SAMPLE_TEXT",
    "BLOCK_SIZES",
    "BINS",
    "apply_scheme",
    "scheme_text",
    "tl_defaults",
    "tl_load_url",
    "tl_url",
    "tl_write_url",
    "on_family_changed",
    "on_scheme_typed",
    "on_compare_presets",
    "on_compare_add",
    "on_compare_keep_current",
    "on_compare_ggml",
    "offer_stored_scheme",
    "on_upload_changed",
    "sample_shape",
]


class TL:
    """Session-state keys of the Tensor Lab."""

    page = "tensor"
    source = "tl_source"            # "sample" | "upload"
    sample = "tl_sample"
    size = "tl_size"                # synthetic sample size: "default", "1M", "4M", "16M"
    seed = "tl_seed"
    upload = "tl_upload"            # the file_uploader
    file = "tl_file"                # the last uploaded file (kept across page visits): dict
    url_file = "tl_url_file"        # file name the URL asked for (to be uploaded again)
    tensor = "tl_tensor"            # tensor picked in a multi-tensor file
    nonfinite = "tl_nonfinite"      # "zero" | "drop"
    # scheme widgets
    family = "tl_family"
    format = "tl_format"
    scaled = "tl_scaled"
    gran = "tl_gran"
    axis = "tl_axis"
    block = "tl_block"
    int_bits = "tl_int_bits"
    uint_bits = "tl_uint_bits"
    log_bits = "tl_log_bits"
    cal = "tl_cal"
    pct = "tl_pct"
    dq = "tl_dq"
    values = "tl_values"
    mx_element = "tl_mx_element"
    mx_round = "tl_mx_round"
    rounding = "tl_rounding"
    saturate = "tl_saturate"
    delta = "tl_delta"
    ggml_type = "tl_ggml_type"      # llama.cpp type: "q4_k" ...
    scheme_box = "tl_scheme_box"    # the scheme string text box
    scheme_error = "tl_scheme_error"
    # compare
    compare = "tl_compare"          # list of scheme strings
    compare_extra = "tl_compare_extra"  # strings the user added (options of the multiselect)
    compare_add = "tl_compare_add"  # the "add a scheme" text box
    compare_error = "tl_compare_error"
    stored_offered = "tl_stored_offered"  # ((file sha, tensor), the stored scheme it added to the comparison or None)
    # chart options
    log = "tl_log"
    bins = "tl_bins"
    levels = "tl_levels"
    zoom = "tl_zoom"                # group number of the zoomed block
    zoom_for = "tl_zoom_for"        # (tensor key, scheme) the zoom number belongs to
    tab = "tl_tab"                  # the open chart tab (its label; only that tab is computed)
    all_tensors = "tl_all_tensors"  # (file sha, scheme, nonfinite) of the per-tensor comparison asked for
    seen = "tl_seen"                # set of computations done in this session (decides on progress bars)
    notes = "tl_url_notes"

    default_scheme = "nf4:block=64"
    default_bins = 121


ZOOM_TAB = N_("One block up close")

FAMILIES = ("float", "int", "uint", "nf4", "bnb_fp4", "codebook", "mx", "nvfp4", "ggml", "log", "binary", "ternary")
FAMILY_LABELS = {
    "float": N_("Float cast (bfloat16, FP8, FP6, FP4 …)"),
    "int": N_("Integer, symmetric absmax (int2 … int16)"),
    "uint": N_("Integer, asymmetric with zero point (uint1 … uint16)"),
    "nf4": N_("NF4 codebook (QLoRA)"),
    "bnb_fp4": N_("bitsandbytes FP4 codebook"),
    "codebook": N_("Your own codebook"),
    "mx": N_("MX microscaling (OCP: MXFP8, MXFP6, MXFP4, MXINT8)"),
    "nvfp4": N_("NVFP4 (E2M1, E4M3 scale per 16)"),
    "ggml": N_("llama.cpp quant types (Q4_0 … Q6_K, IQ4_NL)"),
    "log": N_("Logarithmic (powers of two)"),
    "binary": N_("Binary (sign × mean |x|)"),
    "ternary": N_("Ternary (−a, 0, +a)"),
}
FAMILY_DEFAULTS = {
    "float": "float8_e4m3fn:scaled",
    "int": "int8",
    "uint": "uint8",
    "nf4": "nf4:block=64",
    "bnb_fp4": "bnb_fp4:block=64",
    "codebook": "codebook:values=-1;-0.5;0;0.5;1,block=64",
    "mx": "mxfp4",
    "nvfp4": "nvfp4",
    "ggml": "q4_k",
    "log": "log4",
    "binary": "binary",
    "ternary": "ternary",
}
GRANULARITIES = ("tensor", "channel", "block")
GRANULARITY_LABELS = {
    "tensor": N_("per tensor (one scale)"),
    "channel": N_("per channel (one scale per index of an axis)"),
    "block": N_("per block (one scale per B values of a row)"),
}
CALIBRATION_LABELS = {
    "minmax": N_("min–max (clips nothing)"),
    "percentile": N_("percentile of |x|"),
    "mse": N_("least MSE (search)"),
    "kl": N_("least KL divergence (TensorRT)"),
}
MX_ELEMENTS = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4", "mxint8")
MX_ROUNDING_LABELS = {
    "floor": N_("floor (the OCP spec)"),
    "ceil": N_("ceil (never clips)"),
    "even": N_("round, then floor (torchao EVEN)"),
    "rceil": N_("smallest scale that fits (RCEIL)"),
}
NONFINITE_LABELS = {
    "zero": N_("replace them with 0 (keeps the shape)"),
    "drop": N_("drop them (a 1-D tensor of the finite values)"),
}
SAMPLE_TEXT = {
    "gaussian_weights": (
        N_("Gaussian weights"),
        N_("A weight matrix drawn from a normal distribution with standard deviation 1/sqrt(fan_in), like a freshly initialised linear layer."),
    ),
    "laplacian_weights": (
        N_("Laplacian weights"),
        N_("A weight matrix with Laplace-distributed values (same standard deviation as the Gaussian), sharper at zero and with longer tails, as trained weights often are."),
    ),
    "student_t_weights": (
        N_("Heavy-tailed weights (Student-t)"),
        N_("A weight matrix from a Student-t distribution with 3 degrees of freedom: most values are small but a few are many standard deviations out, which stretches an absmax scale."),
    ),
    "llm_activations": (
        N_("LLM activations with outlier channels"),
        N_("Activations of 256 tokens x 1024 channels in which 6 channels are 20-100x larger than the rest in every token, the outlier features reported by LLM.int8() and SmoothQuant."),
    ),
    "post_gelu_activations": (
        N_("Post-GELU activations"),
        N_("Activations after a GELU (tanh form): one-sided, never below -0.17, with a long positive tail, as in a transformer's feed-forward block."),
    ),
    "gradients": (
        N_("Tiny gradients"),
        N_("Weight gradients of magnitude about 1e-6: almost all fall below float16's smallest normal (6.1e-5) and some below its smallest subnormal, which is why mixed-precision training scales the loss."),
    ),
    "minilm_l0_attn_query": (
        N_("MiniLM layer 0 attention query"),
        N_("The query projection of the first attention layer of all-MiniLM-L6-v2, a real trained 384x384 weight matrix."),
    ),
    "minilm_l0_ffn_up": (
        N_("MiniLM layer 0 feed-forward up"),
        N_("The first feed-forward (up-projection, 1536x384) weight matrix of all-MiniLM-L6-v2's first layer, real trained weights."),
    ),
    "minilm_l5_ffn_down": (
        N_("MiniLM layer 5 feed-forward down"),
        N_("The feed-forward down-projection (384x1536) of the last layer of all-MiniLM-L6-v2, real trained weights."),
    ),
}
"""The samples' titles and descriptions (the same English as quantlib.samples), marked for translation."""
SIZES = {"default": 0, "1M": 1 << 20, "4M": 1 << 22, "16M": 1 << 24}
BLOCK_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 4096)
BINS = (61, 121, 241, 481)
FLOAT_ROUNDINGS = ("nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative")


def sample_shape(name: str, size: str) -> tuple[int, ...] | None:
    """The shape of a synthetic sample at ``size`` (None: its default shape): the default's
    last axis kept, rows added.  Real samples (and unknown sizes) keep their own shape."""
    s = SAMPLES.get(name)
    n = SIZES.get(size, 0)
    if s is None or s.is_real or not n:
        return None
    cols = s.default_shape[-1]
    return (n // cols, cols)


# --------------------------------------------------------------------------- scheme <-> widgets
def _family_of(s: Scheme) -> str:
    return type(s).family


def apply_scheme(s: Scheme | str) -> None:
    """Write a scheme into the widget keys (the URL, the scheme box, a family change)."""
    s = parse_scheme(s)
    ss = st.session_state
    fam = _family_of(s)
    ss[TL.family] = fam
    if fam == "ggml":  # the type fixes the block: the granularity widgets keep their values
        ss[TL.ggml_type] = s.type
        return
    axis = getattr(s, "axis", None)
    block = getattr(s, "block_size", None)
    if block is not None:
        ss[TL.gran], ss[TL.block] = "block", int(block)
    elif axis is not None:
        ss[TL.gran], ss[TL.axis] = "channel", int(axis)
    else:
        ss[TL.gran] = "tensor"
    if fam == "float":
        ss[TL.format] = s.format
        ss[TL.scaled] = bool(s.scaled)
        ss[TL.rounding] = s.rounding
        ss[TL.saturate] = bool(s.saturate)
    elif fam in ("int", "uint"):
        ss[TL.int_bits if fam == "int" else TL.uint_bits] = int(s.bits)
        ss[TL.cal] = s.calibration
        ss[TL.pct] = float(s.percentile)
    elif fam == "log":
        ss[TL.log_bits] = int(s.bits)
    elif fam == "mx":
        ss[TL.mx_element] = s.head
        ss[TL.mx_round] = s.scale_rounding
    elif fam == "ternary":
        ss[TL.delta] = float(s.delta)
    if fam in ("nf4", "bnb_fp4", "codebook"):
        ss[TL.dq] = bool(s.double_quant)
    if fam == "codebook":
        ss[TL.values] = ";".join(f"{v:g}" for v in s.values)


def _gran_opts(fam: str, ss) -> list[str]:
    gran = ss.get(TL.gran, "tensor")
    if gran == "block":
        return [f"block={int(ss.get(TL.block, 64))}"]
    if gran == "channel":
        if fam in ("nf4", "bnb_fp4", "codebook"):  # their block size is 64 unless turned off
            return ["block=none", f"axis={int(ss.get(TL.axis, 0))}"]
        return [f"axis={int(ss.get(TL.axis, 0))}"]
    if fam in ("nf4", "bnb_fp4", "codebook"):
        return ["block=none"]
    if fam in ("binary", "ternary"):
        return ["axis=none"]
    return []


def scheme_text() -> str:
    """The scheme string the widgets describe (not yet validated: :func:`parse_scheme` does that)."""
    ss = st.session_state
    fam = ss.get(TL.family, "nf4")
    opts: list[str] = []
    if fam == "float":
        head = ss.get(TL.format, "bfloat16")
        if ss.get(TL.scaled):
            opts += ["scaled", *_gran_opts(fam, ss)]
        elif ss.get(TL.saturate):
            opts.append("sat")
        if ss.get(TL.rounding, "nearest_even") != "nearest_even":
            opts.append(f"round={ss[TL.rounding]}")
    elif fam in ("int", "uint"):
        head = f"{fam}{int(ss.get(TL.int_bits if fam == 'int' else TL.uint_bits, 8))}"
        cal = ss.get(TL.cal, "minmax")
        if ss.get(TL.gran, "tensor") != "tensor" or (fam == "uint" and cal == "kl"):
            cal = "minmax"  # calibration chooses one range per tensor
        opts += _gran_opts(fam, ss)
        if cal != "minmax":
            opts.append(f"cal={cal}")
            if cal == "percentile":
                opts.append(f"pct={float(ss.get(TL.pct, 99.99)):g}")
    elif fam == "codebook":
        head = "codebook"
        opts.append("values=" + str(ss.get(TL.values, "-1;0;1")).replace(",", ";").replace(" ", ""))
        opts += _gran_opts(fam, ss)
    elif fam in ("nf4", "bnb_fp4"):
        head = fam
        opts += _gran_opts(fam, ss)
    elif fam == "mx":
        head = ss.get(TL.mx_element, "mxfp4")
        opts.append(f"block={int(ss.get(TL.block, 32))}")
        if ss.get(TL.mx_round, "floor") != "floor":
            opts.append(f"round={ss[TL.mx_round]}")
    elif fam == "nvfp4":
        head = "nvfp4"
        opts.append(f"block={int(ss.get(TL.block, 16))}")
    elif fam == "ggml":
        head = ss.get(TL.ggml_type, "q4_k")
    elif fam == "log":
        head = f"log{int(ss.get(TL.log_bits, 4))}"
        opts += _gran_opts(fam, ss)
    else:  # binary, ternary
        head = fam
        opts += _gran_opts(fam, ss)
        if fam == "ternary":
            opts.append(f"delta={float(ss.get(TL.delta, 0.7)):g}")
    if fam in ("nf4", "bnb_fp4", "codebook") and ss.get(TL.dq):
        opts.append("dq")
    return head + (":" + ",".join(opts) if opts else "")


# --------------------------------------------------------------------------- defaults & URL
def tl_defaults() -> None:
    """Give every Tensor Lab key its default, once per session."""
    ss = st.session_state
    ss.setdefault(TL.source, "sample")
    ss.setdefault(TL.sample, DEFAULT_SAMPLE)
    ss.setdefault(TL.size, "default")
    ss.setdefault(TL.seed, 0)
    ss.setdefault(TL.nonfinite, "zero")
    ss.setdefault(TL.compare, list(PRESETS))
    ss.setdefault(TL.compare_extra, [])
    ss.setdefault(TL.log, False)
    ss.setdefault(TL.bins, TL.default_bins)
    ss.setdefault(TL.levels, True)
    ss.setdefault(TL.seen, set())
    if TL.family not in ss:
        apply_scheme(TL.default_scheme)
    for key, value in (
        (TL.format, "float8_e4m3fn"), (TL.scaled, True), (TL.gran, "block"), (TL.axis, 0), (TL.block, 64),
        (TL.int_bits, 8), (TL.uint_bits, 8), (TL.log_bits, 4), (TL.cal, "minmax"), (TL.pct, 99.99), (TL.dq, False),
        (TL.values, "-1;-0.5;0;0.5;1"), (TL.mx_element, "mxfp4"), (TL.mx_round, "floor"), (TL.rounding, "nearest_even"),
        (TL.saturate, False), (TL.delta, 0.7), (TL.ggml_type, "q4_k"),
    ):
        ss.setdefault(key, value)


def _split_schemes(text: str) -> list[str]:
    return [p.strip() for p in text.split("|") if p.strip()]


SOURCE_PARAM = Param("source", TL.source, "choice", default="sample", options=("sample", "upload"))
"""Where the tensor comes from: ``upload`` (with ``file``, also implied by it) or ``sample``."""
SOURCE_PARAMS = (
    Param("sample", TL.sample, "choice", default=DEFAULT_SAMPLE, options=tuple(SAMPLES), lower=False),
    Param("size", TL.size, "choice", default="default", options=tuple(SIZES), lower=False),
    Param("seed", TL.seed, "int", default=0, lo=0),
    Param("nonfinite", TL.nonfinite, "choice", default="zero", options=tuple(NONFINITE_LABELS)),
)
"""Where the tensor comes from (written by :func:`tl_url` only where they apply)."""
CHART_PARAMS = (
    Param("log", TL.log, "bool", default=False),
    Param("bins", TL.bins, "int", default=TL.default_bins, options=tuple(BINS)),
    Param("levels", TL.levels, "bool", default=True),
)
"""The chart options."""
ZOOM_PARAM = Param("block", TL.zoom, "int", lo=0)
"""The group shown up close (written from the page's current zoom)."""


def tl_load_url() -> None:
    """Apply the URL to the page state when it came from outside; keep warnings for display."""
    tl_defaults()
    if not url_is_new(TL.page):
        return
    qp = query_dict()
    ss = st.session_state
    notes: list[str] = []
    source = None
    if "source" in qp:
        try:
            source = SOURCE_PARAM.read(qp["source"])[0]
        except ValueError as exc:
            notes.append(str(exc))
    if source == "upload" or "file" in qp:
        ss[TL.source] = "upload"
        ss[TL.url_file] = qp.get("file", "")
        if "tensor" in qp:
            ss[TL.tensor] = qp["tensor"]
    elif "sample" in qp or source == "sample":
        ss[TL.source] = "sample"
    notes += read_params(qp, SOURCE_PARAMS)
    if "scheme" in qp:
        try:
            apply_scheme(qp["scheme"])
            ss.pop(TL.scheme_error, None)
        except ValueError as exc:
            notes.append(_("URL parameter scheme={value!r} ignored: {reason}").format(value=url_value(qp["scheme"]), reason=scheme_problem(exc, qp["scheme"])))
    if "compare" in qp:
        chosen: list[str] = []
        text = qp["compare"].strip()
        for item in [] if text.lower() == "none" else _split_schemes(text):
            try:
                canon = str(parse_scheme(item))
            except ValueError as exc:
                notes.append(_("URL parameter compare: {value!r} ignored: {reason}").format(value=url_value(item), reason=scheme_problem(exc, item)))
                continue
            if canon not in chosen:
                chosen.append(canon)
        ss[TL.compare_extra] = [c for c in chosen if c not in PRESETS]
        ss[TL.compare] = chosen
    notes += read_params(qp, CHART_PARAMS)
    if "block" in qp:
        try:
            ss[TL.zoom], note = ZOOM_PARAM.read(qp["block"])
            ss[TL.zoom_for] = "url"
            ss[TL.tab] = _(ZOOM_TAB)  # a link to a block opens it
            notes += [note] if note else []
        except ValueError as exc:
            notes.append(str(exc))
    ss[TL.notes] = notes


def tl_url(scheme: str | None, file_name: str | None, tensor_name: str | None, zoom: int | None) -> dict[str, str]:
    """The canonical query parameters of the current Tensor Lab state."""
    ss = st.session_state
    params: dict[str, str] = {}
    if ss.get(TL.source) == "upload":
        params["source"] = "upload"
        if file_name:
            params["file"] = file_name
        if tensor_name:
            params["tensor"] = tensor_name
        if ss.get(TL.nonfinite, "zero") != "zero":
            params["nonfinite"] = ss[TL.nonfinite]
    else:
        params["sample"] = ss.get(TL.sample, DEFAULT_SAMPLE)
        if ss.get(TL.size, "default") != "default" and sample_shape(params["sample"], ss[TL.size]) is not None:
            params["size"] = ss[TL.size]
        if int(ss.get(TL.seed, 0)) and not SAMPLES[params["sample"]].is_real:
            params["seed"] = str(int(ss[TL.seed]))
    if scheme:
        params["scheme"] = str(scheme)  # a rejected typed scheme is a url_value: its plain text
    compare = list(ss.get(TL.compare, []))
    if compare != list(PRESETS):
        params["compare"] = "|".join(compare) if compare else "none"
    params.update(params_to_query(CHART_PARAMS))
    if zoom is not None:
        params["block"] = str(int(zoom))
    return params


def tl_write_url(params: dict[str, str]) -> None:
    write_url(TL.page, params)


# --------------------------------------------------------------------------- callbacks
def on_family_changed() -> None:
    """A new family starts from its default scheme (granularity and options included)."""
    fam = st.session_state.get(TL.family)
    if fam in FAMILY_DEFAULTS:
        apply_scheme(FAMILY_DEFAULTS[fam])
    st.session_state.pop(TL.scheme_error, None)


def on_scheme_typed() -> None:
    """The scheme box: a valid string sets every widget; an invalid one is kept with its reason
    (the text as a :class:`url_value`, so a note's ``{text!r}`` shows it escaped; the reason as
    plain text)."""
    ss = st.session_state
    text = (ss.get(TL.scheme_box) or "").strip()
    try:
        apply_scheme(text)
    except ValueError as exc:
        ss[TL.scheme_error] = (url_value(text), scheme_problem(exc, text))
        return
    ss.pop(TL.scheme_error, None)


def on_compare_presets() -> None:
    st.session_state[TL.compare] = list(PRESETS)
    st.session_state.pop(TL.compare_error, None)


def _add_to_compare(text: str) -> None:
    ss = st.session_state
    canon = str(parse_scheme(text))
    extra = list(ss.get(TL.compare_extra, []))
    if canon not in PRESETS and canon not in extra:
        extra.append(canon)
    ss[TL.compare_extra] = extra
    chosen = list(ss.get(TL.compare, []))
    if canon not in chosen:
        chosen.append(canon)
    ss[TL.compare] = chosen


def on_compare_add() -> None:
    """The "add a scheme" box: parse, add to the options and to the comparison."""
    ss = st.session_state
    text = (ss.get(TL.compare_add) or "").strip()
    if not text:
        return
    try:
        _add_to_compare(text)
    except ValueError as exc:
        ss[TL.compare_error] = _("Cannot add {value!r}: {reason}").format(value=url_value(text), reason=scheme_problem(exc, text))
        return
    ss.pop(TL.compare_error, None)
    ss[TL.compare_add] = ""


def on_compare_keep_current(scheme: str) -> None:
    _add_to_compare(scheme)


def on_compare_ggml() -> None:
    """Add llama.cpp's usual types (quantlib.schemes.GGML_PRESETS) to the comparison."""
    for s in GGML_PRESETS:
        _add_to_compare(s)
    st.session_state.pop(TL.compare_error, None)


def offer_stored_scheme(scheme: str | None, marker) -> None:
    """Compare with the scheme a tensor was stored in (a .gguf tensor's ``q4_1``; None: stored as
    plain numbers): added once per ``marker`` (file and tensor), so that removing it keeps it
    removed; the previous tensor's stored scheme leaves again if this made it join."""
    ss = st.session_state
    prev = ss.get(TL.stored_offered)
    if prev is not None and prev[0] == marker:
        return
    chosen = list(ss.get(TL.compare, []))
    if prev is not None and prev[1] is not None and prev[1] != scheme and prev[1] in chosen:
        ss[TL.compare] = [c for c in chosen if c != prev[1]]
    joined = scheme is not None and scheme not in ss.get(TL.compare, [])
    if scheme is not None:
        _add_to_compare(scheme)
    ss[TL.stored_offered] = (marker, scheme if joined else None)


def on_upload_changed() -> None:
    """Keep the uploaded file across page visits; forget it when the user removes it."""
    ss = st.session_state
    f = ss.get(TL.upload)
    if f is None:
        ss.pop(TL.file, None)
        ss.pop(TL.tensor, None)
    else:
        ss[TL.file] = {"obj": f, "file_id": f.file_id, "name": f.name, "size": f.size, "sha": None}
        ss.pop(TL.url_file, None)  # a tensor name from the URL is kept: it may be in this file
