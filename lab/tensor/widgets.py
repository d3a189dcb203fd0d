"""Tensor Lab widgets: the scheme picker (a family, then that family's options).

Every widget keeps its value under a fixed key of :class:`lab.tensor.state.TL`, so the URL,
the scheme box and the family defaults can set them (:func:`lab.tensor.state.apply_scheme`);
:func:`scheme_picker` returns the canonical scheme string the widgets describe.
"""

from __future__ import annotations

import streamlit as st

from quantlib import FORMATS, parse_scheme
from quantlib.calibration import CALIBRATION_METHODS
from quantlib.schemes import GGML_TYPES, MX_SCALE_ROUNDINGS

from lab.tensor import state as ts
from lab.core.i18n import _
from lab.tensor.state import TL
from lab.core.state import scheme_problem
from lab.core.widgets import ROUNDING_LABELS

__all__ = ["scheme_picker"]

_P = "session"  # widgets keep their value while the user visits another page

_GRANULAR = ("float", "int", "uint", "nf4", "bnb_fp4", "codebook", "log", "binary", "ternary")


def _options_with(options, value) -> list:
    """``options`` plus ``value`` (from the URL or the scheme box) when it is not among them."""
    out = list(options)
    if value is not None and value not in out:
        out.append(value)
        out.sort()
    return out


def _granularity(fam: str, ndim: int, *, scaled: bool = True) -> None:
    """Granularity (per tensor / channel / block) with its axis or block size."""
    ss = st.session_state
    if fam not in _GRANULAR or (fam == "float" and not scaled):
        return
    c_gran, c_arg = st.columns([3, 2], vertical_alignment="bottom")
    gran = c_gran.selectbox(
        _("Granularity: who shares a scale"), ts.GRANULARITIES, key=TL.gran, persist_state=_P,
        format_func=lambda g: _(ts.GRANULARITY_LABELS[g]),
        help=_("One scale for the whole tensor, one per channel (an index of the axis you pick: for a weight matrix, axis 0 is the output channels) or one per block of B consecutive values along the last axis (the last block of a row may be shorter)."),
    )
    if gran == "channel":
        axes = list(range(max(ndim, 1)))
        if ss.get(TL.axis) not in axes:
            ss[TL.axis] = 0
        c_arg.selectbox(_("Axis"), axes, key=TL.axis, persist_state=_P, help=_("The axis whose every index gets its own scale."))
    elif gran == "block":
        c_arg.selectbox(
            _("Block size B"), _options_with(ts.BLOCK_SIZES, ss.get(TL.block)), key=TL.block, persist_state=_P,
            help=_("Values per block. Smaller blocks follow the data more closely but store more scales: 32 bits of scale per 64 values add 0.5 bits per value."),
        )


def scheme_picker(ndim: int) -> tuple[str | None, str | None]:
    """The family and its options; returns ``(canonical scheme string, None)`` or ``(None, why not)``
    (quantlib's reason as plain text: the codebook values are typed)."""
    ss = st.session_state
    fam = st.selectbox(
        _("Scheme family"), ts.FAMILIES, key=TL.family, persist_state=_P, on_change=ts.on_family_changed,
        format_func=lambda f: _(ts.FAMILY_LABELS[f]),
        help=_("Every quantization scheme of quantlib. Changing the family starts from its usual settings."),
    )
    scaled = True
    if fam == "float":
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        c1.selectbox(_("Format"), list(FORMATS), key=TL.format, persist_state=_P, help=_("Names as in ml_dtypes: e.g. float8_e4m3fn has 4 exponent and 3 mantissa bits and no infinity."))
        scaled = c2.toggle(
            _("Scaled"), key=TL.scaled, persist_state=_P,
            help=_("Divide by a scale first so that the largest |x| of each group lands on the format's max, as FP8 inference does. Off: a plain cast."),
        )
        c3, c4 = st.columns([3, 2], vertical_alignment="bottom")
        c3.selectbox(_("Rounding"), ts.FLOAT_ROUNDINGS, key=TL.rounding, persist_state=_P, format_func=lambda r: _(ROUNDING_LABELS[r]))
        if not scaled:
            c4.toggle(_("Saturate"), key=TL.saturate, persist_state=_P, help=_("Clamp values beyond the largest finite number to ±max instead of ±inf / NaN."))
    elif fam in ("int", "uint", "log"):
        key, lo, hi = {"int": (TL.int_bits, 2, 16), "uint": (TL.uint_bits, 1, 16), "log": (TL.log_bits, 2, 8)}[fam]
        bits = list(range(lo, hi + 1))
        if ss.get(key) not in bits:
            ss[key] = bits[-1] if (ss.get(key) or 0) > hi else lo
        c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
        c1.selectbox(_("Bits"), bits, key=key, persist_state=_P)
        if fam in ("int", "uint"):
            methods = [m for m in CALIBRATION_METHODS if not (fam == "uint" and m == "kl")]
            if ss.get(TL.cal) not in methods:
                ss[TL.cal] = "minmax"
            per_tensor = ss.get(TL.gran) == "tensor"
            c2.selectbox(
                _("Calibration: the clipping range"), methods, key=TL.cal, persist_state=_P, disabled=not per_tensor,
                format_func=lambda m: _(ts.CALIBRATION_LABELS[m]),
                help=_("How the range that maps to the largest code is chosen. Clipping a few outliers makes the steps for everything else finer. Calibration picks one range per tensor, so it needs the per-tensor granularity."),
            )
            if per_tensor and ss.get(TL.cal) == "percentile":
                st.number_input(_("Percentile"), min_value=50.0, max_value=100.0, step=0.01, format="%.4f", key=TL.pct, persist_state=_P,
                                help=_("99.99 clips the largest 0.01% of |x|."))
    elif fam == "codebook":
        st.text_input(
            _("Codebook values"), key=TL.values, persist_state=_P, placeholder="-1;-0.5;0;0.5;1",
            help=_("2 to 256 numbers separated by ';'. They are divided by the largest |value|, then every x / absmax of a group is rounded to the nearest one. Press Enter to apply."),
        )
    elif fam == "mx":
        c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
        c1.selectbox(_("Element format"), ts.MX_ELEMENTS, key=TL.mx_element, persist_state=_P)
        c2.selectbox(_("Block size B"), _options_with((16, 32, 64), ss.get(TL.block)), key=TL.block, persist_state=_P, help=_("The OCP spec uses 32."))
        c3.selectbox(
            _("Shared-exponent rounding"), MX_SCALE_ROUNDINGS, key=TL.mx_round, persist_state=_P, format_func=lambda r: _(ts.MX_ROUNDING_LABELS[r]),
            help=_("How the power-of-two scale of a block is chosen from its largest |x|: the spec's floor can clip the block's largest values; ceil never clips but wastes range."),
        )
    elif fam == "nvfp4":
        st.selectbox(_("Block size B"), _options_with((16, 32), ss.get(TL.block)), key=TL.block, persist_state=_P, help=_("NVIDIA's NVFP4 uses 16."))
    elif fam == "ggml":
        st.selectbox(
            _("Type"), list(GGML_TYPES), key=TL.ggml_type, persist_state=_P,
            format_func=lambda t: _("{type} · {bits} bits per weight").format(type=t.upper(), bits=f"{GGML_TYPES[t].bits_per_element:g}"),
            help=_("llama.cpp's own types, bit-exact with its reference quantizers: blocks of 32 (Q4_0 … Q8_0, IQ4_NL) or super-blocks of 256 with 6-bit sub-block scales (the K types)."),
        )
    elif fam == "ternary":
        st.number_input(
            _("Threshold factor"), min_value=0.0, max_value=3.0, step=0.05, key=TL.delta, persist_state=_P,
            help=_("Values with |x| below this times mean |x| become 0 (TWN uses 0.7)."),
        )
    if fam in ("mx", "nvfp4"):
        ss[TL.gran] = "block"
    _granularity(fam, ndim, scaled=scaled)
    if fam in ("nf4", "bnb_fp4", "codebook"):
        st.toggle(
            _("Double quantization"), key=TL.dq, persist_state=_P,
            help=_("QLoRA: store the per-block absmaxes themselves in 8 bits (blocks of 256), saving about 0.37 bits per value with 64-blocks."),
        )
    text = ts.scheme_text()
    try:
        return str(parse_scheme(text)), None
    except ValueError as exc:
        return None, scheme_problem(exc, text)
