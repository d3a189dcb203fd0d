"""The Format Comparison's tables (pandas): properties, exact limits, every code of a
format, where a number lands in each format, and the key takeaways."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import pandas as pd

from quantlib import FloatFormat, all_values, exact
from quantlib.rounding import KINDS

from ..style import merge_labels
from .common import Reference, _digits, _has_subnormals, _pct, _short, _smallest_normal_code, log2q, num, pow2, short
from .labels import LABELS, NUMBER_LINE_MAX_BITS

__all__ = ["properties_table", "codebook_properties", "properties_hover", "exact_limits_table", "CodeTable", "code_table", "landing_table", "takeaways"]


# ============================================================== properties table
def _exact_hover(fmt: FloatFormat, code: int, lab: Mapping[str, str]) -> str:
    info = exact.decompose(code, fmt)
    return lab["hover_exact"].format(hex=info.hex, decimal=_short(info.decimal, 80, lab["hover_more_digits"]))


def _eps_code(fmt: FloatFormat) -> int | None:
    """The code of eps itself, when eps is a value of the format."""
    eps = Fraction(2) ** fmt.machep
    try:
        code = exact.round_value(eps, fmt)
    except ValueError:
        return None
    v = exact.code_value(code, fmt)
    return code if v.kind == "finite" and v.magnitude == eps else None


def _pow_cell(k: int, q: Fraction) -> str:
    text = num(q, 4)
    return f"{pow2(k)} {'≈ ' + text[1:] if text.startswith('≈') else '= ' + text}"


def properties_table(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Properties (rows) × formats (columns), as display text, exact where it matters.

    Rows: bits, bias, max, smallest normal / subnormal, eps, decimal digits, dynamic range
    in binades / decades / dB, number of finite values, inf / NaN / -0 conventions."""
    lab = merge_labels(LABELS, labels)
    rows = ["prop_bits", "prop_bias", "prop_max", "prop_normal", "prop_subnormal", "prop_eps", "prop_digits",
            "prop_binades", "prop_decades", "prop_db", "prop_finite", "prop_inf", "prop_nan", "prop_negzero"]
    data: dict[str, list[str]] = {}
    for f in fmts:
        binades = f.dynamic_range_binades
        if f.nonfinite == "ieee":
            nan = lab["cell_nan_codes"].format(n=f"{f.num_nan_codes:,}")
        elif f.has_nan:
            nan = lab["cell_nan_code"].format(hex=exact.decompose(f.nan_code, f).hex) if f.num_nan_codes == 1 else lab["cell_nan_codes"].format(n=f.num_nan_codes)
        else:
            nan = lab["cell_none"]
        if f.has_negative_zero:
            negzero = lab["cell_yes"]
        elif not f.has_zero:
            negzero = lab["cell_no_zero"]
        elif not f.signed:
            negzero = lab["cell_negzero_unsigned"]
        else:
            negzero = lab["cell_negzero_fnuz"]
        col = [
            f"{int(f.signed)} + {f.nexp} + {f.nmant} = {f.bits}",
            str(f.bias),
            short(f.max_exact),
            _pow_cell(f.minexp, f.smallest_normal_exact),
            _pow_cell(f.minexp - f.nmant, f.smallest_subnormal_exact) if _has_subnormals(f) else lab["cell_no_subnormals"],
            _pow_cell(f.machep, Fraction(2) ** f.machep),
            lab["cell_digits"].format(digits=f"{_digits(f):.2f}", precision=f.precision),
            f"{binades:.1f}",
            f"{binades * math.log10(2):.1f}",
            f"{20 * binades * math.log10(2):.0f}",
            f"{f.num_finite_values:,}",
            lab["cell_inf"] if f.has_inf else lab["cell_none"],
            nan,
            negzero,
        ]
        data[f.name] = col
    df = pd.DataFrame(data, index=[lab[r] for r in rows])
    df.index.name = lab["col_property"]
    return df


def codebook_properties(books: Sequence, labels: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of :func:`properties_table` for codebooks (NF4, bitsandbytes FP4: objects with
    ``name`` and ``values``), and their tooltips: a codebook is a table of levels in [−1, 1]
    looked up by a 4-bit index and multiplied by the block's scale, so it has no bias, eps or
    subnormals; its range is max / smallest nonzero level (NF4: 1 / 0.0796 = 12.6, 3.65 binades)."""
    lab = merge_labels(LABELS, labels)
    data: dict[str, list[str]] = {}
    tips: dict[str, list[str]] = {}
    for b in books:
        v = sorted(set(float(x) for x in b.values))
        mags = sorted({abs(x) for x in v if x != 0})
        top, low = max(abs(x) for x in v), mags[0]
        gaps = [hi - lo for lo, hi in zip(v, v[1:])]
        binades = math.log2(top / low)
        bits = max(1, math.ceil(math.log2(len(b.values))))
        data[b.name] = [
            lab["cell_cb_bits"].format(bits=bits, n=len(b.values)),
            lab["cell_cb_no_exponent"],
            lab["cell_cb_scale"].format(v=f"{top:.4g}"),
            lab["cell_cb_smallest"].format(v=f"{low:.4g}"),
            lab["cell_no_subnormals"],
            lab["cell_cb_steps"].format(lo=f"{min(gaps):.4g}", hi=f"{max(gaps):.4g}"),
            lab["cell_cb_no_digits"],
            f"{binades:.1f}",
            f"{binades * math.log10(2):.1f}",
            f"{20 * binades * math.log10(2):.0f}",
            f"{len(v):,}",
            lab["cell_none"],
            lab["cell_none"],
            lab["cell_cb_zero"] if 0.0 in v else lab["cell_no_zero"],
        ]
        levels = ", ".join(f"{x:.4g}" for x in b.values)
        tips[b.name] = [lab["hover_cb"].format(name=b.name, levels=levels)] + [""] * 13
    index = properties_table([], labels).index
    return pd.DataFrame(data, index=index), pd.DataFrame(tips, index=index)


def properties_hover(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Tooltips for :func:`properties_table` (same shape): the code and every digit of
    each exact limit, the bit layout, how the digits are counted; '' where there is none."""
    lab = merge_labels(LABELS, labels)
    data: dict[str, list[str]] = {}
    for f in fmts:
        layout = " ".join(p for p in ("S" * int(f.signed), "E" * f.nexp, "M" * f.nmant) if p)
        eps_code = _eps_code(f)
        data[f.name] = [
            lab["hover_bits"].format(layout=layout, bits=f.bits),
            "",
            _exact_hover(f, f.max_code, lab),
            _exact_hover(f, _smallest_normal_code(f), lab),
            _exact_hover(f, 1, lab) if _has_subnormals(f) else "",
            _exact_hover(f, eps_code, lab) if eps_code is not None else "",
            lab["hover_digits"].format(digits=f"{_digits(f):.3f}", precision=f.precision),
            "",
            "",
            lab["hover_db"],
            "",
            "",
            "",
            "",
        ]
    df = pd.DataFrame(data, index=properties_table(fmts[:1], labels).index if fmts else None)
    return df


def exact_limits_table(fmts: Sequence[FloatFormat], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per (format, limit): code in hex, the power of two, every decimal digit."""
    lab = merge_labels(LABELS, labels)
    records = []
    for f in fmts:
        limits = [("prop_max", f.max_code, None), ("prop_normal", _smallest_normal_code(f), f.minexp)]
        if _has_subnormals(f):
            limits.append(("prop_subnormal", 1, f.minexp - f.nmant))
        eps_code = _eps_code(f)
        if eps_code is not None:
            limits.append(("prop_eps", eps_code, f.machep))
        for key, code, k in limits:
            info = exact.decompose(code, f)
            records.append({
                lab["col_format"]: f.name,
                lab["col_limit"]: lab[key],
                lab["col_code"]: info.hex,
                lab["col_power"]: pow2(k) if k is not None else f"{pow2(f.emax)} × {num(info.significand, 17)}",
                lab["col_decimal"]: info.decimal,
            })
    return pd.DataFrame.from_records(records, columns=[lab[c] for c in ("col_format", "col_limit", "col_code", "col_power", "col_decimal")])


# ============================================================== code table
@dataclass(frozen=True)
class CodeTable:
    """Every code of a small format laid out like the OCP spec tables: ``cols`` (16) codes
    per row.  DataFrames of the same shape: ``text`` (short value), ``kind`` (a KINDS name),
    ``code`` (int), ``title`` (hover text: code, every digit, class)."""

    fmt: FloatFormat
    text: pd.DataFrame
    kind: pd.DataFrame
    code: pd.DataFrame
    title: pd.DataFrame


def _cell_text(v: float) -> str:
    """A table cell's value in at most 8 characters: every digit when that takes at most 6
    ('448', '0.0625', '-0.5'), else 3 significant digits: '0.0352', '-0.203', '1.95e-3'."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    text = exact.exact_decimal(Fraction(v))
    if len(text) <= 6:
        return text
    if 0.01 <= abs(v) < 1e4:
        return num(Fraction(v), 3, mark=False)
    mant, _e, exp = f"{v:.2e}".partition("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


def code_table(fmt: FloatFormat, labels: Mapping[str, str] | None = None) -> CodeTable:
    """The code table of a format of at most 8 bits (ValueError for wider ones)."""
    if fmt.bits > NUMBER_LINE_MAX_BITS:
        raise ValueError(f"{fmt.name} has {fmt.bits} bits: the code table lists formats of at most {NUMBER_LINE_MAX_BITS} bits")
    lab = merge_labels(LABELS, labels)
    av = all_values(fmt)
    n = 1 << fmt.bits
    cols = min(16, n)
    nrows = n // cols
    width = (fmt.bits + 3) // 4
    texts, kinds, codes, titles = [], [], [], []
    for r in range(nrows):
        tr, kr, cr, ttl = [], [], [], []
        for c in range(cols):
            code = r * cols + c
            v = float(av.values[code])
            kind = KINDS[int(av.kinds[code])]
            info = exact.decompose(code, fmt)
            tr.append(_cell_text(v))
            kr.append(kind)
            cr.append(code)
            ttl.append(lab["code_title"].format(hex=info.hex, value=info.decimal, kind=lab[kind]))
        texts.append(tr)
        kinds.append(kr)
        codes.append(cr)
        titles.append(ttl)
    index = [f"0x{r * cols:0{width}X}" for r in range(nrows)]
    columns = [f"+{c:X}" for c in range(cols)]
    mk = lambda rows: pd.DataFrame(rows, index=index, columns=columns)  # noqa: E731
    return CodeTable(fmt=fmt, text=mk(texts), kind=mk(kinds), code=mk(codes), title=mk(titles))


# ============================================================== where does my number land
def _stored_text(fmt: FloatFormat, code: int) -> str:
    info = exact.decompose(code, fmt)
    return short(info.value, 8, keep=12) if info.value else info.decimal  # '-0', 'nan', 'inf' as decimal


def _rel_error_bound(fmt: FloatFormat, lo: Fraction, hi: Fraction) -> Fraction | None:
    """sup over |x| in [lo, min(hi, max)] of (half the spacing at x) / |x|: the worst relative
    error of round-to-nearest over a range of magnitudes (≤ 1; None if the range is above max)."""
    hi = min(hi, fmt.max_exact)
    if hi < lo:
        return None
    if lo == 0:
        return Fraction(1)
    sn = fmt.smallest_normal_exact
    m = fmt.nmant
    bound = Fraction(0)
    if lo < sn:
        if not fmt.has_zero:
            return Fraction(1)
        bound = fmt.smallest_subnormal_exact / 2 / lo
    if hi >= sn:
        x0 = max(lo, sn)
        e0 = math.floor(log2q(x0))
        while Fraction(2) ** e0 > x0:  # guard float rounding of log2
            e0 -= 1
        while Fraction(2) ** (e0 + 1) <= x0:
            e0 += 1
        if x0 == Fraction(2) ** e0 or hi >= Fraction(2) ** (e0 + 1):
            bound = max(bound, Fraction(1, 2 ** (m + 1)))
        else:
            bound = max(bound, Fraction(2) ** (e0 - m - 1) / x0)
    return min(bound, Fraction(1))


def _result(fmt: FloatFormat, value: exact.ExactValue, saturate: bool, lab: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(stored, abs error, rel error, result) of storing one value."""
    try:
        code = exact.round_value(value, fmt, saturate=saturate)
    except ValueError as exc:
        return "—", "—", "—", lab["res_cannot"].format(reason=exc)
    err = exact.conversion_error(value, code, fmt)
    info = exact.decompose(code, fmt)
    stored = _stored_text(fmt, code)
    if err.overflow:
        res = lab["res_overflow" if info.value is None else "res_saturated"].format(stored=stored, max=short(fmt.max_exact))
    elif err.underflow:
        res = lab["res_underflow"].format(stored=stored)
    elif err.absolute == 0:
        res = lab["res_exact"]
    elif info.kind == "subnormal":
        res = lab["res_subnormal"]
    elif err.absolute is None:
        res = lab["res_exact"]
    else:
        res = lab["res_rounded"]
    abs_e = short(err.absolute, 3) if err.absolute is not None else "—"
    rel_e = ("0" if err.relative == 0 else _pct(err.relative)) if err.relative is not None else "—"
    return stored, abs_e, rel_e, res


def landing_table(
    fmts: Sequence[FloatFormat],
    value: exact.ExactValue,
    high: exact.ExactValue | None = None,
    *,
    saturate: bool = False,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Where a number (or a range) lands in each format, rounded to nearest-even.

    One value: stored value, absolute and relative error, and the result (exact, rounded,
    subnormal, underflow, overflow).  A range ``value .. high``: both ends as stored, the
    worst relative error of rounding anything in between, and whether it fits."""
    lab = merge_labels(LABELS, labels)
    records = []
    for f in fmts:
        if high is None:
            stored, abs_e, rel_e, res = _result(f, value, saturate, lab)
            records.append({lab["col_format"]: f.name, lab["col_stored"]: stored, lab["col_abs_error"]: abs_e,
                            lab["col_rel_error"]: rel_e, lab["col_result"]: res})
            continue
        lo_s = _result(f, value, saturate, lab)[0]
        hi_s = _result(f, high, saturate, lab)[0]
        a, b = sorted((abs(value.as_fraction()), abs(high.as_fraction())))
        crosses = value.as_fraction() * high.as_fraction() <= 0
        if crosses:
            a = Fraction(0)  # zero is inside the range
        notes = []
        if _fate(f, b) == "overflow":
            notes.append(lab["res_high_overflow"].format(max=short(f.max_exact)))
        if crosses:
            notes.append(lab["res_crosses_zero"])
        elif _fate(f, a) == "underflow":
            notes.append(lab["res_low_underflow"].format(tiny=short(f.smallest_subnormal_exact)))
        elif _fate(f, a) == "subnormal":
            notes.append(lab["res_low_subnormal"])
        for ev, stored in ((value, lo_s), (high, hi_s)):
            if stored == "nan" and not (_fate(f, abs(ev.as_fraction())) == "overflow"):
                notes.append(lab["res_nan"].format(value=short(ev.as_fraction())))
        if not notes:
            notes.append(lab["res_fits"])
        bound = _rel_error_bound(f, a, b)
        records.append({
            lab["col_format"]: f.name, lab["col_low"]: lo_s, lab["col_high"]: hi_s,
            lab["col_worst"]: ("≤ " + _pct(bound)) if bound is not None else "—",
            lab["col_result"]: "; ".join(notes),
        })
    return pd.DataFrame.from_records(records)


# ============================================================== key takeaways
def _join(items: Sequence[str], lab: Mapping[str, str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return lab["tk_and"].format(a=lab["tk_sep"].join(items[:-1]), b=items[-1])


def _one(x: float) -> str:
    """277 or 17.8: one decimal below 100."""
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def _fate(fmt: FloatFormat, q: Fraction) -> str:
    """What round-to-nearest-even does to the magnitude ``q`` in ``fmt``: 'overflow',
    'underflow', 'subnormal' or 'normal' (the flags of :func:`quantlib.exact.conversion_error`)."""
    code = exact.round_value(q, fmt)
    err = exact.conversion_error(q, code, fmt)
    if err.overflow:
        return "overflow"
    if err.underflow:
        return "underflow"
    return exact.decompose(code, fmt).kind


def takeaways(
    fmts: Sequence[FloatFormat],
    refs: Sequence[Reference] = (),
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Key takeaways computed from the chosen formats and references (Markdown sentences).

    Widest range and finest precision; formats with the same max but different precision
    (bfloat16 vs float32); formats that overflow where the widest still has room (float16
    at 65504); same-width pairs that split their bits differently (E4M3 vs E5M2); what a
    format with at most 16 values holds; where each reference value overflows or underflows.
    """
    lab = merge_labels(LABELS, labels)
    out: list[str] = []
    if not fmts:
        return out
    fmts = list({f.name: f for f in fmts}.values())
    widest = max(fmts, key=lambda f: (f.dynamic_range_binades, f.max_exact))
    finest = max(fmts, key=lambda f: (f.nmant, f.dynamic_range_binades))
    if len(fmts) > 1:
        out.append(lab["tk_widest"].format(
            name=widest.name, binades=_one(widest.dynamic_range_binades), decades=_one(widest.dynamic_range_decades),
            tiny=short(widest.smallest_subnormal_exact, 3), max=short(widest.max_exact, 3)))
        out.append(lab["tk_finest"].format(name=finest.name, eps=f"{pow2(finest.machep)} ≈ {num(Fraction(2) ** finest.machep, 3, mark=False)}",
                                           digits=f"{_digits(finest):.1f}"))
    # same exponent bits and about the same max, different precision (bfloat16 vs float32)
    by_top: dict[tuple[int, int], list[FloatFormat]] = {}
    for f in fmts:
        by_top.setdefault((f.nexp, round(log2q(f.max_exact))), []).append(f)
    for (nexp, _top), group in by_top.items():
        if len(group) > 1 and len({f.nmant for f in group}) > 1:
            group = sorted(group, key=lambda f: f.nmant)
            out.append(lab["tk_same_range"].format(
                names=_join([f.name for f in group], lab), e=nexp,
                maxes=_join([short(f.max_exact, 3) for f in group], lab),
                digits=_join([f"{_digits(f):.1f}" for f in group], lab)))
    # same width, different split: one pair per bit width, the widest range against the finest precision
    in_pairs: set[str] = set()
    by_bits: dict[int, list[FloatFormat]] = {}
    for f in fmts:
        if f.signed and f.has_zero:  # data formats (not the E8M0 scale type)
            by_bits.setdefault(f.bits, []).append(f)
    for bits, group in sorted(by_bits.items(), key=lambda kv: -kv[0]):
        wide = max(group, key=lambda f: (f.max_exact, f.nexp))
        fine = max(group, key=lambda f: (f.nmant, f.max_exact))
        if wide.nexp <= fine.nexp or wide.max_exact <= fine.max_exact:
            continue
        in_pairs.add(fine.name)
        out.append(lab["tk_tradeoff"].format(
            bits=bits, fine=fine.name, fe=fine.nexp, fm=fine.nmant, fine_max=short(fine.max_exact),
            wide=wide.name, we=wide.nexp, wm=wide.nmant, wide_max=short(wide.max_exact, 3),
            ratio=_ratio(2.0 ** (fine.nmant - wide.nmant)),
            wide_digits=f"{_digits(wide):.1f}", fine_digits=f"{_digits(fine):.1f}"))
    if in_pairs:
        out.append(lab["tk_lesson"])
    # what a tiny format holds
    for f in fmts:
        if f.num_finite_values <= 16:
            pos = [v for v in all_values(f).finite_sorted().tolist() if v >= 0]
            values = ", ".join(("±" if f.signed and v else "") + _cell_text(abs(v)) for v in pos)
            gap = pos[-1] - pos[-2] if len(pos) > 1 else 0.0
            out.append(lab["tk_few_values"].format(name=f.name, n=f.num_finite_values, values=values,
                                                   gap=_cell_text(gap), pct=f"{100 * gap / pos[-1]:.0f}"))
    # overflow where the widest still has room (formats not already in a pair above)
    top = max(fmts, key=lambda f: f.max_exact)
    small_max = [f for f in fmts if f.name not in in_pairs and log2q(top.max_exact) - log2q(f.max_exact) >= 8]
    for f in sorted(small_max, key=lambda f: -f.max_exact)[:2]:
        out.append(lab["tk_overflow"].format(name=f.name, max=short(f.max_exact), wide=top.name, wide_max=short(top.max_exact, 3)))
    # reference values: the top of each reference against max, its bottom against the smallest values
    for r in refs:
        top_q = r.hi if r.is_range else r.lo
        low = r.lo
        if not top_q:
            continue
        shown_top = r.text if (r.text and not r.is_range) else short(top_q)
        shown_low = r.text if (r.text and not r.is_range) else short(low)
        over = [f for f in fmts if _fate(f, top_q) == "overflow"]
        fits = [f for f in fmts if f not in over]
        under = [f for f in fmts if _fate(f, low) == "underflow"]
        sub = [f for f in fmts if _fate(f, low) == "subnormal"]
        if over and fits:
            out.append(lab["tk_ref_overflow"].format(
                value=shown_top, bad=_join([lab["tk_max_of"].format(name=f.name, max=short(f.max_exact)) for f in over], lab),
                good=_join([f.name for f in fits], lab)))
        elif over:
            out.append(lab["tk_ref_none_fit"].format(value=shown_top))
        if under:
            out.append(lab["tk_ref_underflow"].format(value=shown_low, bad=_join([f.name for f in under], lab)))
        if sub:
            out.append(lab["tk_ref_subnormal"].format(value=shown_low, bad=_join([f.name for f in sub], lab)))
        if not (over or under or sub) and len(fmts) > 1:
            out.append(lab["tk_ref_all_fit"].format(value=shown_top if not r.is_range else f"{shown_low} … {shown_top}"))
    return out
