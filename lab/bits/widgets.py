"""The Bit Inspector's widgets: one button per bit, and the S / E / M fields table."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from quantlib import exact

from lab.core.display import COLORS, approx
from lab.core.i18n import _

_ROW_CSS = """
<style>
/* one bit per narrow button, so a 32-bit word is one row at 1280 px (it wraps on a phone) */
.st-key-bitrow .stButton button { min-width: 1.3rem; width: 1.3rem; min-height: 2rem; padding: 0; }
.st-key-bitrow .stButton button p { font-size: 0.92rem; }
.st-key-bitrow [data-testid="stHorizontalBlock"], .st-key-bitrow .stHorizontalBlock { gap: 2px; }
</style>
"""


def bits_css() -> None:
    """The Bit Inspector's own styles (narrow bit buttons); style-only st.html takes no space."""
    st.html(_ROW_CSS)


def bit_toggles(info: exact.CodeInfo, *, on_set: Callable[[int], None]) -> None:
    """One button per bit, most significant first, grouped S / E / M with coloured borders.

    A 1 bit is filled, a 0 bit outlined; clicking calls ``on_set(code with that bit flipped)``.
    Buttons wrap, so float64's 64 bits fit a phone screen.  Keys: ``bitS_<pos>``,
    ``bitE_<pos>``, ``bitM_<pos>`` with ``pos`` the bit position (0 = least significant).
    """
    fmt = info.fmt
    groups = (
        ("S", _("sign"), info.sign_bits),
        ("E", _("exponent"), info.exponent_bits),
        ("M", _("mantissa"), info.mantissa_bits),
    )
    pos = fmt.bits - 1
    with st.container(horizontal=True, wrap=True, gap="small", key="bitrow"):
        for letter, name, bits in groups:
            if not bits:
                continue
            width = len(bits)
            with st.container(key=f"bitgrp{letter}", width="content", gap="xxsmall"):
                st.caption(f"{letter} · {name} · {width}")
                with st.container(horizontal=True, wrap=True, gap="xxsmall"):
                    for i, bit in enumerate(bits):
                        if letter == "S":
                            tip = _("bit {pos}: the sign (1 = negative). Click to flip.").format(pos=pos)
                        elif letter == "E":
                            tip = _("bit {pos}: exponent, worth 2^{k} in the field. Click to flip.").format(pos=pos, k=width - 1 - i)
                        else:
                            tip = _("bit {pos}: mantissa, worth 2^-{k} of the significand. Click to flip.").format(pos=pos, k=i + 1)
                        st.button(
                            bit,
                            key=f"bit{letter}_{pos}",
                            type="primary" if bit == "1" else "secondary",
                            on_click=on_set,
                            args=(info.code ^ (1 << pos),),
                            help=tip,
                        )
                        pos -= 1


def fields_html(info: exact.CodeInfo, kind_label: str) -> str:
    """The S / E / M fields as a small table: bits, integer value, and what they mean."""
    fmt = info.fmt
    rows = []
    if fmt.signed:
        rows.append(("S", _("sign"), info.sign_bits, str(info.sign), "−" if info.sign else "+"))
    if info.kind == "normal":
        e_meaning = _("{e} − bias {bias} = {p}").format(e=info.exponent_field, bias=fmt.bias, p=info.unbiased_exponent)
    elif info.kind == "subnormal":
        e_meaning = _("subnormal: 1 − bias = {p}").format(p=info.unbiased_exponent)
    else:
        e_meaning = kind_label
    rows.append(("E", _("exponent"), info.exponent_bits, str(info.exponent_field), e_meaning))
    if info.mantissa_bits:
        m_meaning = _("significand {sig}").format(sig=approx(info.significand, 12)) if info.significand is not None else kind_label
        rows.append(("M", _("mantissa"), info.mantissa_bits, str(info.mantissa_field), m_meaning))
    head = "".join(f"<th>{h}</th>" for h in (_("Field"), _("Bits"), _("Integer"), _("Meaning")))
    body = "".join(
        f'<tr><td><b style="color:{COLORS[letter]}">{letter}</b> {html.escape(name)}</td>'
        f'<td class="ql-mono" style="color:{COLORS[letter]}">{bits}</td>'
        f'<td class="ql-mono">{integer}</td><td>{html.escape(meaning)}</td></tr>'
        for letter, name, bits, integer, meaning in rows
    )
    return f'<table class="ql-table ql-fields"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
