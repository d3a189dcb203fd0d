"""The Bit Inspector's cast view: a :class:`quantlib.exact.cast_steps.CastSteps` as a formula,
coloured bits and sentences (every number from quantlib; this module only chooses words).

float32 0.1 to bfloat16: ``rebias_latex`` gives ``e_dst = 123 − 127 + 127 = 123``,
``significand_html`` shows ``1.1001100|1100110011001101`` with the 16 dropped bits struck
through, and ``decision_text`` says they are more than half a step, so the kept bits round up.
"""

from __future__ import annotations

import html

from quantlib.exact.cast_steps import CastSteps

from lab.core.display import COLORS, approx
from lab.core.i18n import _

__all__ = ["rebias_latex", "significand_html", "decision_text", "outcome_notes", "special_note", "elide"]

KEEP_EDGE = 24  # dropped bits shown at each end when there are more than 2 × KEEP_EDGE + 8


def elide(bits: str) -> str:
    """A long bit string with its middle left out: '0000…(1030 bits)…0001'."""
    if len(bits) <= 2 * KEEP_EDGE + 8:
        return bits
    return f"{bits[:KEEP_EDGE]}…({len(bits) - 2 * KEEP_EDGE})…{bits[-KEEP_EDGE:]}"


def rebias_latex(s: CastSteps) -> str:
    """The exponent re-biased, with its numbers: e_dst = e_src − bias_src + bias_dst."""
    src, dst = s.src.fmt, s.dst
    assert s.exponent is not None and s.dst_field is not None
    d = "\\mathrm{dst}"
    if s.src.kind == "normal":
        line = (
            f"e_{{{d}}} = e_{{\\mathrm{{src}}}} - \\mathrm{{bias}}_{{\\mathrm{{src}}}} + \\mathrm{{bias}}_{{{d}}}"
            f" = {s.src.exponent_field} - {_p(src.bias)} + {_p(dst.bias)} = {s.dst_field}"
        )
    else:  # subnormal source: its exponent is that of its leading 1
        line = (
            f"e = \\lfloor \\log_2 |x| \\rfloor = {s.exponent},\\quad e_{{{d}}} = e + \\mathrm{{bias}}_{{{d}}} = {s.exponent} + {_p(dst.bias)} = {s.dst_field}"
        )
    if s.result is None:
        return line
    low = 1 if dst.has_zero else 0
    if s.dst_field < low and dst.has_zero:
        line += f" < 1 \\;\\Rightarrow\\; e_{{{d}}} = 0,\\; 2^{{1-{_p(dst.bias)}}} = 2^{{{s.target_exponent}}}"
    elif s.dst_field < low:
        line += f" < 0 \\;\\Rightarrow\\; e_{{{d}}} = 0"
    elif s.overflow is not None and s.dst_field > (dst.max_code >> dst.nmant):
        line += f" > {dst.max_code >> dst.nmant}"
    if s.carry:
        line += f"\\;\\xrightarrow{{+1}}\\; {s.result.exponent_field}" if s.result.kind in ("normal", "subnormal") else ""
    return line


def _p(n: int) -> str:
    return str(n) if n >= 0 else f"({n})"


def significand_html(s: CastSteps) -> str:
    """lead.kept|dropped, coloured: kept bits in the mantissa colour, padded zeros in italics,
    the guard bit boxed and the dropped bits struck through."""
    m = COLORS["M"]
    real_kept = s.kept[: len(s.kept) - s.padded] if s.padded else s.kept
    pad = s.kept[len(real_kept) :]
    parts = [f'<span style="color:{m};font-weight:700">{html.escape(s.lead)}.{real_kept}</span>']
    if pad:
        parts.append(f'<i style="color:{m};opacity:0.6">{pad}</i>')
    if s.dropped:
        guard, rest = s.dropped[0], elide(s.dropped[1:])
        parts.append(
            '<span style="opacity:0.85">&nbsp;|&nbsp;</span>'
            f'<s style="text-decoration-thickness:2px"><b style="outline:1.5px solid #d62728;outline-offset:1px">{guard}</b>{html.escape(rest)}</s>'
        )
    return f'<span class="ql-code">{"".join(parts)} × 2<sup>{s.target_exponent}</sup></span>'


def decision_text(s: CastSteps) -> str:
    """What the dropped bits decide under round half to even, with the guard and sticky bits."""
    n = len(s.dropped)
    if not s.dropped:
        if s.padded:
            return _("{dst} keeps every bit and more: {pad} zeros are appended as new low mantissa bits. Nothing is rounded.").format(
                dst=s.dst.name, pad=s.padded
            )
        return _("Nothing is dropped: the value fits exactly.")
    gs = _("guard bit g = {g}, sticky bit s = {s} (any 1 after g)").format(g=s.guard, s=int(s.sticky))
    texts = {
        "exact": _("The {n} dropped bits are all 0: nothing is lost."),
        "down": _("The {n} dropped bits start with 0 ({gs}): less than half a step, so they are cut off and the kept bits stay."),
        "up": _("The {n} dropped bits start with 1 and are not exactly half ({gs}): more than half a step, so the kept bits round up by one."),
        "tie_down": _(
            "The {n} dropped bits are exactly 10…0 ({gs}): a tie, half way between two neighbours. Round half to even: the last kept bit is already 0 (even), so it stays."
        ),
        "tie_up": _(
            "The {n} dropped bits are exactly 10…0 ({gs}): a tie, half way between two neighbours. Round half to even: the last kept bit is 1 (odd), so it rounds up to the even neighbour."
        ),
    }
    return texts[s.decision or "exact"].format(n=n, gs=gs)


def outcome_notes(s: CastSteps) -> list[str]:
    """Carry, overflow and underflow of a finite cast, with the target's limits."""
    dst, out = s.dst, []
    if s.carry and s.overflow is None:
        out.append(_("Rounding up carried out of the mantissa: the mantissa becomes 0 and the exponent field goes up by one."))
    if s.overflow == "inf":
        out.append(
            _("**Overflow.** The value is beyond {dst}'s largest finite value {max}: it becomes ±∞.").format(dst=dst.name, max=approx(dst.max_exact, 12))
        )
    elif s.overflow == "nan":
        out.append(
            _(
                "**Overflow.** The value is beyond {dst}'s largest finite value {max}, and {dst} has no infinity: it becomes NaN. Turn on *Saturate the cast* to clamp it to ±max."
            ).format(dst=dst.name, max=approx(dst.max_exact, 12))
        )
    elif s.overflow == "max":
        out.append(
            _("**Overflow.** The value is beyond {dst}'s largest finite value {max}; {dst} has neither inf nor NaN, so it is clamped to ±max.").format(
                dst=dst.name, max=approx(dst.max_exact, 12)
            )
        )
    elif s.overflow == "saturate":
        out.append(
            _("**Overflow, saturated.** The value is beyond {dst}'s largest finite value {max}: with *Saturate the cast* on it is clamped to ±max.").format(
                dst=dst.name, max=approx(dst.max_exact, 12)
            )
        )
    if s.underflow == "subnormal":
        out.append(
            _(
                "**Underflow to a subnormal.** The value is below {dst}'s smallest normal number {sn}: the exponent stays at 1 − bias = {p}, the bits shift right by {shift}, and the leading 1 becomes a stored mantissa bit, so fewer significant bits are kept."
            ).format(dst=dst.name, sn=approx(dst.smallest_normal_exact, 12), p=dst.minexp, shift=(s.target_exponent or 0) - (s.exponent or 0))
        )
    elif s.underflow == "zero":
        out.append(
            _("**Underflow to zero.** The value is below half of {dst}'s smallest subnormal {tiny}: no bit of it is left, and the result is {zero}.").format(
                dst=dst.name, tiny=approx(dst.smallest_subnormal_exact, 12), zero=s.result.decimal if s.result else "0"
            )
        )
    elif s.underflow == "smallest":
        out.append(
            _("{dst} has no zero: a value below its smallest value {tiny} becomes that smallest value.").format(
                dst=dst.name, tiny=approx(dst.smallest_subnormal_exact, 12)
            )
        )
    return out


def special_note(s: CastSteps) -> str:
    """Why a NaN, ±∞, zero or a negative value into an unsigned format casts as it does."""
    dst, src = s.dst, s.src
    shown = s.result.hex if s.result else ""
    if s.special == "no_nan":
        return _("{dst} has no NaN, so this NaN cannot be cast to it: there is no code to write.").format(dst=dst.name)
    if s.special == "nan":
        return _("NaN stays NaN: {dst} writes its NaN code {hex}.").format(dst=dst.name, hex=shown)
    if s.special == "sign":
        return _("{dst} has no sign bit, so the negative value {x} cannot be stored: it becomes NaN ({hex}).").format(dst=dst.name, x=src.decimal, hex=shown)
    if s.special == "no_zero":
        return _("{dst} has no zero, so 0 becomes NaN ({hex}).").format(dst=dst.name, hex=shown)
    if s.special == "zero":
        if src.negative and s.result is not None and not s.result.negative:
            return _("Zero stays zero, but {dst} has no −0: −0 becomes +0 ({hex}).").format(dst=dst.name, hex=shown)
        return _("Zero stays zero, with its sign: {hex}.").format(hex=shown)
    if s.overflow == "saturate":
        return _("±∞ is clamped to ±max by *Saturate the cast*: {hex}.").format(hex=shown)
    if s.overflow == "nan":
        return _("{dst} has no infinity, so ±∞ becomes NaN ({hex}).").format(dst=dst.name, hex=shown)
    if s.overflow == "max":
        return _("{dst} has neither inf nor NaN, so ±∞ becomes ±max ({hex}).").format(dst=dst.name, hex=shown)
    return _("∞ stays ∞ (exponent all ones, mantissa 0): {hex}.").format(hex=shown)
