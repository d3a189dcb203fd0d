"""Format Comparison (/formats): dynamic range and precision of several formats, side by side.

Layout only, top to bottom: URL -> widgets -> quantlib (through lab.core.cached and the figure
builders of figures/formats.py) -> tables and charts.
"""


import streamlit as st

from lab.formats import cached
from lab.formats import state
from lab.bits.state import bits_link_params
from lab.core.state import write_url
from lab.core import widgets
from lab.formats.display import formats_labels
from lab.core.i18n import N_, _, current_lang
from lab.formats.state import FMTS
from lab.core.widgets import PLOTLY_CONFIG
from quantlib import FORMATS

VIEW_LABELS = {
    "scaled": N_("÷ max (as block scaling uses them)"),
    "linear": N_("linear"),
    "log": N_("log2 (positive values)"),
}

state.fmts_load_url()
ss = st.session_state
widgets.inject_css()
labels = formats_labels()
lang = current_lang()

st.title(_("Format Comparison"))
st.caption(
    _("Dynamic range and precision of every format, side by side: why bfloat16 trains where float16 overflows, why E4M3 is used for weights and E5M2 for gradients, and what 4 bits can and cannot hold.")
)
for note in ss.get(FMTS.notes, []):
    st.warning(note, icon=":material/link:")

# ------------------------------------------------------------------ formats
customs = state.fmts_customs()
options = [*FORMATS, *customs]
ss[FMTS.selected] = [n for n in ss.get(FMTS.selected, []) if n in options]
selected = st.multiselect(
    _("Formats"), options, key=FMTS.selected, persist_state="session",
    format_func=lambda n: _("{name} (custom)").format(name=n) if n in customs else n,
    placeholder=_("Choose formats to compare"),
    help=_("Registry formats (names as in ml_dtypes) and the custom formats you add below, in the order you pick them."),
)
with st.expander(_("Add a custom format"), expanded=bool(ss.get(FMTS.add_error)), icon=":material/add:"):
    st.caption(_("Choose the bits and give the layout a name: it joins the comparison and appears in every table and chart (and in the URL)."))
    new_fmt, _new_key = widgets.custom_format_control(FMTS.new)
    c_name, c_add = st.columns([3, 1], vertical_alignment="bottom")
    c_name.text_input(
        _("Name"), key=FMTS.new_name, max_chars=32, placeholder=new_fmt.name if new_fmt else "",
        help=_("Letters, digits, '_', '.' or '-'. Empty: the layout's own name. A name you already used is redefined."),
    )
    c_add.button(_("Add"), key="fmts_add", on_click=state.on_add_custom, disabled=new_fmt is None, width="stretch", type="primary")
    if ss.get(FMTS.add_error):
        st.error(ss[FMTS.add_error], icon=":material/error:")

keys = tuple(state.fmts_key(n) for n in selected)
fmts = cached.resolve_formats(keys)
value_text = ss.get(FMTS.value, "")
refs_text = ss.get(FMTS.refs, "")
small = [(n, k, f) for n, k, f in zip(selected, keys, fmts, strict=True) if f.bits <= 8]
table_names = [n for n, _k, _f in small]
if table_names and ss.get(FMTS.table) not in table_names:
    ss[FMTS.table] = table_names[0]

if not fmts:
    st.info(_("Choose at least one format above."), icon=":material/info:")
else:
    # -------------------------------------------------------------- takeaways
    st.subheader(_("Key takeaways"))
    points = cached.takeaways(keys, refs_text, value_text, lang, labels)
    st.markdown("\n".join(f"- {p}" for p in points))
    st.caption(_("Computed from the formats chosen above and from your value and reference lines below."))

    # -------------------------------------------------------------- properties
    st.subheader(_("Properties"))
    exact_limits = cached.properties(keys, lang, labels)[2]
    books_shown = ss.get(FMTS.books, True) and bool(cached.codebook_names())
    st.html(cached.properties_html(keys, books_shown, lang, labels))  # NF4 and bnb FP4 as columns too (the toggle above the number line)
    st.caption(_("Values marked ≈ are rounded for the table. Hover over an underlined cell for its code and every decimal digit, or open the exact values below."))
    if books_shown:
        st.caption(_("NF4 and bnb FP4 are codebooks, not float formats: 16 levels in [−1, 1], found by a 4-bit index and multiplied by the block's scale (its absmax), so their limits are written × scale. Hide them with the codebook switch under the number line."))
    with st.expander(_("Exact values: code and every decimal digit"), icon=":material/function:"):
        widgets.dataframe(
            exact_limits, hide_index=True, width="stretch", height="content",
            column_config={
                labels["col_format"]: st.column_config.TextColumn(width=130, pinned=True),
                labels["col_limit"]: st.column_config.TextColumn(width=170),
                labels["col_code"]: st.column_config.TextColumn(width=150),
                labels["col_power"]: st.column_config.TextColumn(width=190),
                labels["col_decimal"]: st.column_config.TextColumn(width="large"),
            },
        )
        st.caption(_("Click a cell to see the whole number; the wide formats have limits with hundreds of digits."))

    # -------------------------------------------------------------- where does my number land
    st.subheader(_("Where does my number land?"))
    c_val, c_sat = st.columns([3, 1], vertical_alignment="bottom")
    c_val.text_input(
        _("A value or a range"), key=FMTS.value, persist_state="session",
        placeholder="3000, 0.1, 1e-4 .. 3000",
        help=_("A number (any digits, 2.5e-3, 1/3, 0x1.8p3) or a range written 'low .. high'. Press Enter to apply. It is also drawn on the charts below."),
    )
    saturate = c_sat.toggle(
        _("Saturate"), key=FMTS.saturate, persist_state="session",
        help=_("Clamp values beyond the largest finite number to ±max instead of ±inf / NaN."),
    )
    if value_text.strip():
        try:
            landing = cached.landing(keys, value_text, saturate, lang, labels)
        except ValueError as exc:
            st.error(_("**Cannot use the value:** {reason}.").format(reason=state.value_problem(exc, value_text)), icon=":material/error:")
        else:
            stored_cols = (1, 2) if labels["col_low"] in landing.columns else (1,)
            st.html(widgets.frame_html(landing, mono=stored_cols))
            st.caption(_("Rounded to nearest, ties to even. For a range, the worst relative error is the largest that rounding any number between the ends can make: half the spacing of values divided by the number."))

    # -------------------------------------------------------------- dynamic range
    st.subheader(_("Dynamic range"))
    st.caption(
        _("Each bar runs from the smallest subnormal (thin part) through the smallest normal number to max (thick part). The axis is logarithmic: one step is a factor of 2, and 2^10 ≈ 1000. Numbers beyond the right end overflow; numbers below half the left end round to 0.")
    )
    st.text_input(
        _("Reference lines"), key=FMTS.refs, persist_state="session", placeholder=_("e.g. 3000 activations, 1e-6 gradients"),
        help=_("Magnitudes to mark on the charts, separated by commas, each optionally followed by a label. Press Enter to apply."),
    )
    _refs, bad_refs, _problem = cached.references(refs_text, value_text)
    for item, reason in bad_refs:
        st.warning(state.reference_note(item, reason), icon=":material/warning:")
    st.plotly_chart(cached.range_figure(keys, refs_text, value_text, lang, labels), key="fmts_range_chart", config=PLOTLY_CONFIG)

    # -------------------------------------------------------------- precision
    st.subheader(_("Precision"))
    st.caption(
        _("The gap between neighbouring values relative to the value, ulp(x)/|x|, at every magnitude x: the rounding error is at most half of it. Within a binade (from one power of two to the next) it falls from 2^−M to about 2^−(M+1), then jumps back up: the staircase, one step lower per mantissa bit. Below the smallest normal number the gap stays fixed, so the relative gap climbs to 100% (the subnormal ramp). × marks max: beyond it the format overflows.")
    )
    zoom = False
    if cached.zoom_window(keys) is not None:
        zoom = st.toggle(
            _("Zoom in on the narrow formats"), key=FMTS.zoom, persist_state="session",
            help=_("Start with the magnitudes of the narrow formats, where their staircases are visible. The chart's autoscale button shows all magnitudes; drag to zoom anywhere."),
        )
    st.plotly_chart(cached.precision_figure(keys, refs_text, value_text, zoom, lang, labels), key="fmts_precision_chart", config=PLOTLY_CONFIG)

    # -------------------------------------------------------------- the values themselves
    st.subheader(_("Every value of the small formats"))
    c_view, c_books = st.columns([3, 2], vertical_alignment="bottom")
    view = c_view.radio(
        _("Number line"), FMTS.views, key=FMTS.view, horizontal=True, persist_state="session",
        format_func=lambda v: _(VIEW_LABELS[v]),
        help=_("÷ max: each format scaled so that its largest value is 1, as a per-block scale uses it; this is also how NF4 is used. Linear: the values as they are. log2: positive values on a log axis, showing the binades."),
    )
    books = c_books.toggle(_("Show the NF4 and bitsandbytes FP4 codebooks"), key=FMTS.books, persist_state="session")
    book_names = cached.codebook_names() if books else []
    if not small and not book_names:
        st.info(_("Choose a format of at most 8 bits (float8_…, float6_…, float4_e2m1fn) to see every one of its values."), icon=":material/info:")
    else:
        st.plotly_chart(
            cached.number_line_figure(tuple(k for _n, k, _f in small), view, books, lang, labels),
            key="fmts_number_line", config=PLOTLY_CONFIG,
        )
        if books and book_names:
            st.caption(
                _("{names} are codebooks, not floating-point formats: a table of 16 numbers looked up by a 4-bit index and multiplied by the block's scale; they have no exponent or mantissa field. bnb FP4 is the FP4 of bitsandbytes, which is not OCP's float4_e2m1fn.").format(
                    names=" · ".join(book_names)
                )
            )
    if books and not book_names:
        st.info(_("The codebooks (quantlib.codebooks) are not available in this build."), icon=":material/info:")

    # -------------------------------------------------------------- code table
    if small:
        st.subheader(_("Code table"))
        by_name = {n: (k, f) for n, k, f in small}
        table_name = st.selectbox(
            _("Format of the table"), table_names, key=FMTS.table, persist_state="session",
            format_func=lambda n: _("{name} (custom)").format(name=n) if n in customs else n,
        )
        t_key, t_fmt = by_name[table_name]
        table_html, legend_html, code_titles = cached.code_table_view(t_key, lang, labels)
        st.markdown(table_html, unsafe_allow_html=True)
        st.markdown(legend_html, unsafe_allow_html=True)
        st.caption(_("Row + column = code, as in the tables of the OCP 8-bit floating-point spec. Click a cell to open that code in the Bit Inspector; hover for its exact value."))
        n_codes = 1 << t_fmt.bits
        if not 0 <= ss.get(FMTS.open_code, -1) < n_codes:
            ss[FMTS.open_code] = t_fmt.max_code
        c_code, c_link = st.columns([2, 3], vertical_alignment="bottom")
        code = c_code.selectbox(
            _("Or choose a code"), list(range(n_codes)), key=FMTS.open_code,
            format_func=code_titles.__getitem__,
        )
        c_link.page_link(
            "app_pages/bits.py", icon=":material/memory:",
            label=_("Open {hex} of {name} in the Bit Inspector").format(hex=f"0x{code:0{(t_fmt.bits + 3) // 4}X}", name=t_fmt.name),
            query_params=bits_link_params(t_key, code, t_fmt.bits),
        )

# ------------------------------------------------------------------ URL
write_url(FMTS.page, state.fmts_url(table_names[0] if table_names else None))
