"""Bit Inspector (/bits): one value, one format, every bit explained.

Layout only, top to bottom: URL -> widgets -> quantlib (through lab.core.cached) -> display.
"""

import html

import pandas as pd
import streamlit as st

from lab.bits import cached
from lab.bits import cast_view
from lab.bits import display as explain
from lab.bits import formulas
from lab.bits import state
from lab.core.state import write_url
from lab.core import widgets
from lab.core.display import approx, approx_eq, code_html, hex_digits, power_of_two, sci, short_decimal
from lab.core.i18n import N_, _
from lab.bits import widgets as bit_widgets
from lab.bits.widgets import fields_html
from lab.bits.state import BITS

KIND_LABELS = {
    "zero": N_("zero"),
    "subnormal": N_("subnormal"),
    "normal": N_("normal"),
    "inf": N_("infinity"),
    "nan": N_("NaN"),
}

state.bits_load_url()
model = state.bits_model()
ss = st.session_state
widgets.inject_css()
bit_widgets.bits_css()

st.title(_("Bit Inspector"))
st.caption(_("Type a number or flip bits, and see exactly how a floating-point format stores it."))
for note in ss.get(BITS.notes, []):
    st.warning(note, icon=":material/link:")

left, right = st.columns([3, 2], gap="large")

# ------------------------------------------------------------------ controls
with left:
    fmt, fmt_key = widgets.format_picker(BITS.fmt, on_change=state.on_format_changed)
    c_round, c_sat = st.columns([2, 1], vertical_alignment="bottom")
    with c_round:
        rounding, seed = widgets.rounding_picker(BITS.rounding, BITS.seed, help=_("How a decimal that falls between two representable values is rounded."))
    with c_sat:
        saturate = st.toggle(
            _("Saturate"),
            key=BITS.saturate,
            persist_state="session",
            help=_("Clamp values beyond the largest finite number to ±max instead of ±inf / NaN."),
        )

# ------------------------------------------------------------------ quantlib
insp: cached.Inspection | None = None
problem: str | None = None
source = model["source"]
if fmt is not None:
    try:
        if source == "value":
            insp = cached.inspect_value(fmt_key, model["value_text"], rounding, saturate, seed)
        else:
            if source in ("hex", "bin"):
                code = cached.parse_code(fmt_key, model["code_text"], 16 if source == "hex" else 2)
                model.update(source="code", code=code)
            insp = cached.inspect_code(fmt_key, model["code"])
    except ValueError as exc:
        problem = state.input_problem(exc, model, source)

info = insp.info if insp else None
if info is not None:  # the boxes show the current code; the decimal box what was typed
    ss[BITS.hex] = info.hex
    ss[BITS.bin] = " ".join(b for b in (info.sign_bits, info.exponent_bits, info.mantissa_bits) if b)
    ss[BITS.value] = model["value_text"] if model["source"] == "value" else info.decimal
    model.update(shown_decimal=info.decimal)
elif source == "value":
    ss[BITS.value] = model["value_text"]
elif source in ("hex", "bin"):
    ss[BITS.hex if source == "hex" else BITS.bin] = model["code_text"]

# ------------------------------------------------------------------ input boxes
with left:
    c_val, c_hex = st.columns([2, 1])
    c_val.text_input(
        _("Decimal value"),
        key=BITS.value,
        on_change=state.on_value_typed,
        placeholder="0.1, -2.5e-3, 1/3, inf, nan, -0",
        help=_("Any number of digits, exponent notation (2.5e-3), a fraction (1/3), a hex float (0x1.8p3), inf, -inf, nan or -0. Press Enter to apply."),
    )
    c_hex.text_input(
        _("Hex code"),
        key=BITS.hex,
        on_change=state.on_hex_typed,
        help=_("The code in hexadecimal, e.g. 3f80 or 0x3F80. Press Enter to apply."),
    )
    st.text_input(
        _("Binary code"),
        key=BITS.bin,
        on_change=state.on_bin_typed,
        help=_("The code in binary; spaces and _ are ignored. Press Enter to apply."),
    )

    if fmt is None:
        st.info(_("Fix the custom layout above to see its bits."))
    elif problem is not None:
        if source == "value":
            st.error(
                _("**Cannot use the decimal value:** {reason}.").format(reason=problem)
                + "\n\n"
                + _(
                    "Type a number like 0.1, -2.5e-3, 1/3 or 1e10, or inf, -inf, nan, -0. A format without NaN or inf (like float4_e2m1fn) cannot store those: pick another format or type a number."
                ),
                icon=":material/error:",
            )
        else:
            st.error(
                _("**Cannot use the code:** {reason}.").format(reason=problem)
                + "\n\n"
                + _("A {name} code has {bits} bits: at most {digits} hex digits (0-9, a-f) or {bits} binary digits.").format(
                    name=fmt.name, bits=fmt.bits, digits=hex_digits(fmt.bits)
                ),
                icon=":material/error:",
            )

# ------------------------------------------------------------------ about the format
if fmt is not None:
    with right:
        st.subheader(_("About {name}").format(name=fmt.name))
        for para in explain.format_notes(fmt):
            st.markdown(para)

# ------------------------------------------------------------------ the code (full width: one row of bits)
if info is not None:
    kind = _(KIND_LABELS[info.kind])
    st.subheader(_("Bits"))
    st.caption(_("Click a bit to flip it. Filled = 1, outlined = 0; S sign, E exponent, M mantissa."))
    bit_widgets.bit_toggles(info, on_set=state.set_code)
    c_down, c_up = st.columns(2)
    c_down.button(
        _("◀ code −1 = {hex} · {value}").format(hex=insp.code_minus.hex, value=explain.value_label(insp.code_minus, 8)),
        key="bits_down",
        on_click=state.set_code,
        args=(insp.code_minus.code,),
        width="stretch",
        help=_(
            "Subtract 1 from the code as an integer (wrapping around). Among positive codes this is the next smaller value; watch what happens at 0, at the top of the range and with negative codes."
        ),
    )
    c_up.button(
        _("code +1 ▶ = {hex} · {value}").format(hex=insp.code_plus.hex, value=explain.value_label(insp.code_plus, 8)),
        key="bits_up",
        on_click=state.set_code,
        args=(insp.code_plus.code,),
        width="stretch",
        help=_("Add 1 to the code as an integer (wrapping around). Counting up the codes walks up the values: that is why floats sort like integers."),
    )

    st.subheader(_("Stored value"))
    st.markdown(
        f"**{info.hex}** &nbsp; {code_html(info)} &nbsp; · {kind}",
        unsafe_allow_html=True,
    )
    st.markdown(fields_html(info, kind), unsafe_allow_html=True)
    st.markdown(f"**{_('Formula')}**")
    st.latex(formulas.code_formula(info))
    st.caption(formulas.formula_caption(info))

    left2, right2 = st.columns([3, 2], gap="large")
    with left2:
        st.markdown(f"**{_('Exact stored value (every digit)')}**")
        if len(info.decimal) <= 120:
            st.code(info.decimal, language=None, wrap_lines=True)
        else:
            with st.expander(_("{approx} · all {n} characters").format(approx=approx(info.value, 17), n=len(info.decimal))):
                st.code(info.decimal, language=None, wrap_lines=True)

        # conversion error
        st.subheader(_("Conversion"))
        if insp.error is not None:
            err = insp.error
            st.markdown(
                widgets.table_html(
                    [_("Typed"), _("Absolute error"), _("Relative error"), _("Error in ulps")],
                    [[short_decimal(model["value_text"].strip(), 40), sci(err.absolute), sci(err.relative), sci(err.ulps)]],
                    mono=(0,),
                ),
                unsafe_allow_html=True,
            )
            st.caption(_("Absolute error = |stored − typed|, relative = absolute / |typed|, ulps = absolute / ulp of the stored value; all computed exactly."))
            if err.overflow:
                st.warning(_("Overflow: the input is beyond ±max of {name}.").format(name=info.fmt.name), icon=":material/arrow_upward:")
            if err.underflow:
                st.warning(
                    _("Underflow: the input is too small for {name} and lost all its digits.").format(name=info.fmt.name), icon=":material/arrow_downward:"
                )
        else:
            st.info(_("You set the bits directly, so nothing was rounded: Rounding and Saturate apply when you type a decimal."))

        # neighbours
        st.subheader(_("Neighbours"))
        st.markdown(
            widgets.table_html(
                ["", _("Code"), _("Value")],
                [
                    [_("next down"), insp.down.hex, explain.value_label(insp.down)] if insp.down else [_("next down"), "—", _("none")],
                    [_("this code"), info.hex, explain.value_label(info)],
                    [_("next up"), insp.up.hex, explain.value_label(insp.up)] if insp.up else [_("next up"), "—", _("none")],
                ],
                mono=(1, 2),
            ),
            unsafe_allow_html=True,
        )
        if insp.ulp is not None:
            st.markdown(
                _("**ulp** (unit in the last place, the spacing of values in this binade) = {ulp} {eq_value}").format(
                    ulp=power_of_two(insp.ulp), eq_value=approx_eq(insp.ulp, 17)
                )
            )

    # -------------------------------------------------------------- explanations
    with right2:
        st.subheader(_("How to read it"))
        for para in explain.reading(info):
            st.markdown(para)
        if insp.error is not None:
            st.subheader(_("What rounding did"))
            for para in explain.conversion_notes(insp, model["value_text"], rounding, _(widgets.ROUNDING_LABELS[rounding]), saturate):
                st.markdown(para)

    # -------------------------------------------------------------- cast to another format
    with st.expander(_("Cast to another format"), expanded=bool(ss.get(BITS.cast_open)), icon=":material/swap_horiz:"):
        st.caption(
            _(
                "Converting a float to a narrower float re-biases the exponent and rounds the mantissa (half to even, as ml_dtypes and hardware do); to a wider one it pads the mantissa with zeros. Here is every step for the code above."
            )
        )
        c_dst, c_csat = st.columns([3, 1], vertical_alignment="bottom")
        with c_dst:
            st.markdown(f"**{_('Target format')}**")
            dst_fmt, dst_key = widgets.format_picker(BITS.cast_fmt)
        with c_csat:
            cast_sat = st.toggle(
                _("Saturate the cast"),
                key=BITS.cast_saturate,
                persist_state="session",
                help=_("Clamp an overflow to ±max instead of ±inf / NaN (like a saturating hardware conversion)."),
            )
        if dst_fmt is not None:
            steps, cast_err = cached.cast(fmt_key, info.code, dst_key, cast_sat)
            st.markdown(
                f"**{_('Source')}** &nbsp; {html.escape(fmt.name)} &nbsp; **{info.hex}** &nbsp; {code_html(info)} &nbsp; = {html.escape(explain.value_label(info))}",
                unsafe_allow_html=True,
            )
            if steps.special is not None:
                (st.error if steps.code is None else st.info)(cast_view.special_note(steps))
            else:
                st.markdown(f"**{_('1. Exponent: re-bias it')}**")
                st.latex(cast_view.rebias_latex(steps))
                st.caption(_("The power of two stays the same; only the stored field changes: subtract the source's bias, add the target's."))
                st.markdown(f"**{_('2. Mantissa: keep {n} bits, drop the rest').format(n=dst_fmt.nmant)}**")
                st.markdown(cast_view.significand_html(steps), unsafe_allow_html=True)
                st.caption(
                    _(
                        "Green: the {n} mantissa bits {dst} keeps (italic: zeros it pads with); struck through: the bits it drops, the first of them (boxed) worth half a step."
                    ).format(n=dst_fmt.nmant, dst=dst_fmt.name)
                )
                st.markdown(f"**{_('3. Round half to even')}**")
                st.markdown(cast_view.decision_text(steps))
                for note in cast_view.outcome_notes(steps):
                    st.markdown(note)
            if steps.result is not None:
                st.markdown(
                    f"**{_('Result')}** &nbsp; {html.escape(dst_fmt.name)} &nbsp; **{steps.result.hex}** &nbsp; {code_html(steps.result)} &nbsp; = {html.escape(explain.value_label(steps.result))}",
                    unsafe_allow_html=True,
                )
                if cast_err is not None and cast_err.absolute is not None:
                    st.caption(
                        _("Cast error: {abs} absolute, {ulps} ulp of {dst}; the same code as quantlib's exact rounding of the source value.").format(
                            abs=sci(cast_err.absolute), ulps=sci(cast_err.ulps), dst=dst_fmt.name
                        )
                    )

# ------------------------------------------------------------------ every format
table_input = model["value_text"] if model["source"] == "value" else (info.decimal if info else None)
if table_input is not None:
    try:
        table = cached.all_formats(table_input, rounding, saturate, seed)
    except ValueError:
        table = None  # unreadable input: already explained above
    if table is not None:
        st.subheader(_("The same input in every format"))
        st.caption(
            _("Input {x}, rounding {mode}, saturate {sat}. Click a cell to see the whole exact value.").format(
                x=short_decimal(table_input.strip(), 40), mode=_(widgets.ROUNDING_LABELS[rounding]), sat=_("on") if saturate else _("off")
            )
        )
        records = []
        for row in table:
            note = ""
            if row.problem is not None:
                note = _("cannot store: {reason}").format(reason=row.problem)
            elif row.error.overflow:
                note = _("overflow")
            elif row.error.underflow:
                note = _("underflow")
            records.append(
                {
                    _("Format"): row.name,
                    _("S+E+M"): f"{int(row.fmt.signed)}+{row.fmt.nexp}+{row.fmt.nmant}",
                    _("Stored value"): explain.value_label(row.info, 12),
                    _("Note"): note,
                    _("Abs error"): sci(row.error.absolute) if row.error else "—",
                    _("Rel error"): sci(row.error.relative) if row.error else "—",
                    _("ulps"): sci(row.error.ulps) if row.error else "—",
                    _("Class"): _(KIND_LABELS[row.info.kind]) if row.info else "—",
                    _("Code"): row.info.hex if row.info else "—",
                    _("Exact stored value"): row.info.decimal if row.info else "—",
                }
            )
        widgets.dataframe(
            pd.DataFrame.from_records(records),
            hide_index=True,
            width="stretch",
            height="content",
            column_config={
                _("Format"): st.column_config.TextColumn(width=140, pinned=True),
                _("S+E+M"): st.column_config.TextColumn(width=64),
                _("Stored value"): st.column_config.TextColumn(width=130),
                _("Note"): st.column_config.TextColumn(width=120),
                _("Code"): st.column_config.TextColumn(width="medium"),
                _("Exact stored value"): st.column_config.TextColumn(width="large"),
            },
        )

# ------------------------------------------------------------------ URL
write_url(BITS.page, state.bits_url(model, info.hex if info else None, info.binary if info else None))
