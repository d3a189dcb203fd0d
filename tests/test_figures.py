"""The Format Comparison builders (figures/formats.py): quantlib objects in, tables and plotly
figures out, checked against numbers worked out by hand (no streamlit)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import plotly.graph_objects as go
import pytest

from figures import formats as F
from quantlib import FORMATS, FloatFormat, exact

SIX = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"]


def fmts(*names: str) -> list[FloatFormat]:
    return [FORMATS[n] for n in names]


def points(fig: go.Figure) -> int:
    return sum(len(t.x) for t in fig.data if t.x is not None)


def annotations(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# ------------------------------------------------------------------ labels and number text
def test_num_short_pow2():
    assert F.num(Fraction(448)) == "448"
    assert F.num(FORMATS["float32"].max_exact) == "≈3.403e38"
    assert F.num(Fraction(1, 2**9)) == "≈0.001953"
    assert F.num(Fraction(1, 2**9), 3, mark=False) == "0.00195"
    assert F.num(FORMATS["float64"].smallest_subnormal_exact, 3) == "≈4.94e-324"
    assert F.num(Fraction(0)) == "0" and F.num(None) == "—"
    assert F.short(Fraction(65504)) == "65504"
    assert F.short(Fraction(1, 64)) == "0.015625"
    assert F.short(Fraction(1, 2**9)) == "≈0.001953"  # 0.001953125 is longer than 8 characters
    assert F.pow2(-126) == "2⁻¹²⁶" and F.pow2(10) == "2¹⁰"
    assert F.log2q(Fraction(1, 2**9)) == -9
    assert F.log2q(FloatFormat(nexp=16, nmant=7).max_exact) == pytest.approx(32768, abs=0.01)  # far beyond float64
    with pytest.raises(ValueError):
        F.log2q(Fraction(0))


# ------------------------------------------------------------------ inputs
def test_parse_references():
    refs, bad = F.parse_references("3000 activations, 1e-6 small gradients,, 0, abc")
    assert [(r.lo, r.label, r.text) for r in refs] == [(3000, "activations", "3000"), (Fraction(1, 10**6), "small gradients", "1e-6")]
    assert [item for item, _reason in bad] == ["0", "abc"]
    assert bad[0][1] == "" and "could not read" in bad[1][1]
    assert F.parse_references("") == ([], [])


def test_parse_value_or_range():
    lo, hi = F.parse_value_or_range("3000")
    assert lo.as_fraction() == 3000 and hi is None
    lo, hi = F.parse_value_or_range("3000 .. 1e-4")  # ends are ordered by magnitude
    assert lo.as_fraction() == Fraction(1, 10**4) and hi.as_fraction() == 3000
    lo, hi = F.parse_value_or_range("1/3 to 0x1.8p3")
    assert lo.as_fraction() == Fraction(1, 3) and hi.as_fraction() == 12
    for bad in ("1 .. ", "1 .. 2 .. 3", "abc", "1 .. inf"):
        with pytest.raises(ValueError):
            F.parse_value_or_range(bad)


# ------------------------------------------------------------------ properties table
def test_properties_table_values():
    t = F.properties_table(fmts(*SIX))
    assert list(t.columns) == SIX
    assert len(t) == 14
    col = t["float16"]
    assert col["Bits: sign + exponent + mantissa"] == "1 + 5 + 10 = 16"
    assert col["Exponent bias"] == "15"
    assert col["Largest finite value (max)"] == "65504"
    assert col["Smallest normal"] == "2⁻¹⁴ ≈ 6.104e-5"
    assert col["Smallest subnormal"] == "2⁻²⁴ ≈ 5.96e-8"
    assert col["eps (gap from 1 to the next value)"] == "2⁻¹⁰ ≈ 0.0009766"
    assert col["Decimal digits of precision"] == "3.31 (numpy: 3)"
    assert col["Dynamic range in binades (factors of 2)"] == "40.0"  # log2(65504 / 2**-24)
    assert col["Dynamic range in dB"] == f"{20 * math.log10(65504 * 2**24):.0f}"
    assert col["Distinct finite values"] == "63,487"  # 2 * 31744 - 1 (±0 once)
    assert col["NaN"] == "2,046 codes"
    e4m3 = t["float8_e4m3fn"]
    assert e4m3["Largest finite value (max)"] == "448"
    assert e4m3["Infinity"] == "none" and e4m3["NaN"] == "2 codes" and e4m3["Distinct finite values"] == "253"
    assert t["float4_e2m1fn"]["Distinct finite values"] == "15" and t["float4_e2m1fn"]["NaN"] == "none"
    assert t["bfloat16"]["Largest finite value (max)"] == "≈3.39e38"


def test_properties_table_conventions():
    t = F.properties_table(fmts("float8_e4m3fnuz", "float8_e8m0fnu"))
    assert t["float8_e4m3fnuz"]["NaN"] == "1 code: 0x80"
    assert t["float8_e4m3fnuz"]["Negative zero"] == "no: its code is the NaN"
    assert t["float8_e8m0fnu"]["Negative zero"] == "no zero at all"
    assert t["float8_e8m0fnu"]["Smallest subnormal"] == "none (no subnormals)"
    assert t["float8_e8m0fnu"]["Bits: sign + exponent + mantissa"] == "0 + 8 + 0 = 8"


def test_properties_hover_gives_code_and_every_digit():
    h = F.properties_hover(fmts("float8_e4m3fn", "float64"))
    assert h.shape == (14, 2)
    assert h["float8_e4m3fn"].iloc[2] == "code 0x7E = 448"
    assert h["float8_e4m3fn"].iloc[4] == "code 0x01 = 0.001953125"
    assert h["float8_e4m3fn"].iloc[5] == "code 0x20 = 0.125"  # eps = 2**-3
    long = h["float64"].iloc[4]
    assert long.startswith("code 0x0000000000000001 = 0.0000") and "(1075 digits in all)" in long


def test_exact_limits_table():
    t = F.exact_limits_table(fmts("float8_e4m3fn", "float64"))
    rows = {(r.Format, r.Limit): r for r in t.itertuples(index=False)}
    assert rows[("float8_e4m3fn", "Largest finite value (max)")][2] == "0x7E"
    assert rows[("float8_e4m3fn", "Smallest subnormal")][3] == "2⁻⁹"
    dec = rows[("float64", "Smallest subnormal")][4]
    assert Fraction(dec) == Fraction(1, 2**1074) and len(dec.lstrip("0.")) == 751
    assert rows[("float64", "Largest finite value (max)")][4] == str(int(FORMATS["float64"].max_exact))


# ------------------------------------------------------------------ dynamic-range chart
def test_dynamic_range_bars_are_exact_and_small():
    six = fmts(*SIX)
    fig = F.dynamic_range_figure(six)
    assert len(fig.data) == 2 and points(fig) <= 2 * len(six)  # two traces (subnormal, normal), a bar per format in each
    bars = {}
    for t in fig.data:
        assert t.type == "bar" and t.orientation == "h" and len(t.marker.color) == len(t.y) == len(t.hovertext)
        for name, base, length in zip(t.y, t.base, t.x, strict=True):
            bars.setdefault(name, []).append((base, base + length, t.width))
    assert bars["float8_e4m3fn"] == [(-9, -6, 0.14), (-6, pytest.approx(math.log2(448)), 0.36)]  # subnormal thin, normal thick
    assert bars["float4_e2m1fn"][0][:2] == (-1, 0)
    assert fig.layout.barmode == "overlay"
    assert list(fig.layout.yaxis.categoryarray) == SIX
    assert "≈0.00195 … 448" in annotations(fig)
    assert fig.layout.xaxis.title.text.startswith("magnitude")


def test_dynamic_range_references():
    refs, _ = F.parse_references("3000 activations")
    refs.append(F.Reference(lo=Fraction(1, 10**4), hi=Fraction(3000), text="1e-4 .. 3000", mine=True))
    fig = F.dynamic_range_figure(fmts("float16", "float8_e4m3fn"), refs)
    texts = annotations(fig)
    assert "3000 activations" in texts
    assert "your range 0.0001 … 3000" in texts
    xs = [s.x0 for s in fig.layout.shapes if s.type == "line"]
    assert pytest.approx(math.log2(3000)) in xs


# ------------------------------------------------------------------ precision chart
def test_precision_points_e4m3fn():
    x, y, envelope = F.precision_points(FORMATS["float8_e4m3fn"])
    assert not envelope
    assert (x[0], y[0]) == (-9, 0)  # the smallest subnormal: the gap equals the value
    assert (x[1], y[1]) == (-6, -3)  # the smallest normal: 2**-nmant
    assert len(x) == 2 + 2 * 15  # ramp + 15 binades (2**-6 .. 2**8)
    assert (x[2], y[2], x[3], y[3]) == (-6, -3, -5, -4)  # one tooth: 2**-3 down to 2**-4
    assert x[-1] == pytest.approx(math.log2(448)) and y[-1] == pytest.approx(8 - 3 - math.log2(448))
    # every point agrees with the exact spacing ulp(x)/x at representable values
    for code in (1, 5, 8, 0x30, 0x7E):
        v = FORMATS["float8_e4m3fn"].exact_value(code)
        rel = exact.ulp(code, "float8_e4m3fn") / v
        xs = math.log2(v)
        i = max(i for i in range(len(x) - 1) if x[i] <= xs <= x[i + 1] and x[i] != x[i + 1])
        yi = y[i] + (y[i + 1] - y[i]) * (xs - x[i]) / (x[i + 1] - x[i])
        assert yi == pytest.approx(math.log2(rel))


def test_precision_points_envelope_for_wide_formats():
    x, y, envelope = F.precision_points(FORMATS["float32"])
    assert envelope and len(x) == 2 + 4
    assert (x[0], y[0], x[1], y[1]) == (-149, 0, -126, -23)
    assert min(y) == -24 and max(y[2:]) == -23
    x, y, envelope = F.precision_points(FORMATS["float8_e8m0fnu"])  # no zero, no subnormals: no ramp
    assert envelope and len(x) == 4 and (x[0], y[0]) == (-127, 0)  # 255 binades, each from 100% to 50%
    x, y, envelope = F.precision_points(FORMATS["float16"])
    assert not envelope and len(x) == 2 + 2 * 30


def test_precision_figure_budget_and_zoom():
    six = fmts(*SIX)
    fig = F.precision_figure(six)
    assert points(fig) < 400
    assert [t.name for t in fig.data if t.showlegend][:6] == SIX
    crosses = [t for t in fig.data if t.mode == "markers" and t.x[0] is not None]
    assert len(crosses) == 1 and len(crosses[0].x) == 6  # every format's × at max in one trace, in its own colour
    assert list(crosses[0].marker.line.color) == [t.line.color for t in fig.data if t.showlegend][:6]
    assert fig.layout.yaxis.title.text.startswith("relative spacing")
    full = tuple(fig.layout.xaxis.range)
    assert full[0] < -149 and full[1] > 128
    zoomed = F.precision_figure(six, zoom=True)
    lo, hi = zoomed.layout.xaxis.range
    assert -30 < lo < -24 and 16 < hi < 22  # float16 / float8 span 2**-24 .. 65504
    assert F.zoom_window(fmts("float8_e4m3fn", "float8_e5m2")) is None  # nothing dwarfs anything
    wide = fmts("float64", "float16")  # float64's 2098 binades: 2 envelope points per corner only
    assert points(F.precision_figure(wide)) < 100


# ------------------------------------------------------------------ number line and codebooks
def test_codebooks_adapter():
    pytest.importorskip("quantlib.codebooks")
    books = {b.name: b for b in F.codebooks()}
    assert set(books) == {"NF4", "bnb FP4"}
    nf4 = books["NF4"].values
    assert len(nf4) == 16 and min(nf4) == -1.0 and max(nf4) == 1.0 and 0.0 in nf4
    assert 0.0052083334885537624 in books["bnb FP4"].values


def test_number_line_views():
    books = [F.CodebookView("NF4", tuple(np.linspace(-1, 1, 16).tolist()))]
    six = fmts(*SIX)
    fig = F.number_line_figure(six, books, "scaled")
    rows = list(fig.layout.yaxis.categoryarray)
    assert rows == ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "NF4 (codebook)"]  # wide formats left out
    assert points(fig) == 254 + 248 + 16 + 16  # every finite code (±0 both) and every codebook entry
    xs = [x for t in fig.data for x in t.x]
    assert max(xs) == 1.0 and min(xs) == -1.0
    codebook = [t for t in fig.data if "codebook" in t.name]
    assert len(codebook) == 1 and len(codebook[0].x) == 16
    lin = F.number_line_figure(fmts("float4_e2m1fn"), [], "linear")
    assert sorted({x for t in lin.data for x in t.x}) == [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6]
    log = F.number_line_figure(fmts("float4_e2m1fn"), [], "log")
    assert sorted(x for t in log.data for x in t.x) == pytest.approx([math.log2(v) for v in (0.5, 1, 1.5, 2, 3, 4, 6)])
    with pytest.raises(ValueError):
        F.number_line_figure(six, [], "sideways")


# ------------------------------------------------------------------ code table
def test_code_table_e4m3fn():
    t = F.code_table(FORMATS["float8_e4m3fn"])
    assert t.text.shape == (16, 16)
    assert list(t.text.index[:2]) == ["0x00", "0x10"] and list(t.text.columns[:2]) == ["+0", "+1"]
    assert t.text.loc["0x70", "+E"] == "448" and t.kind.loc["0x70", "+E"] == "normal"
    assert t.text.loc["0x70", "+F"] == "NaN" and t.kind.loc["0x70", "+F"] == "nan"
    assert t.text.loc["0x80", "+0"] == "-0" and t.kind.loc["0x80", "+0"] == "zero"
    assert t.text.loc["0x00", "+1"] == "1.95e-3" and t.kind.loc["0x00", "+1"] == "subnormal"
    assert t.code.loc["0x30", "+8"] == 0x38 and t.text.loc["0x30", "+8"] == "1"
    assert t.title.loc["0x00", "+1"] == "0x01 = 0.001953125 (subnormal)"
    assert max(len(s) for s in t.text.to_numpy().ravel()) <= 8


def test_code_table_shapes():
    assert F.code_table(FORMATS["float4_e2m1fn"]).text.shape == (1, 16)
    assert F.code_table(FORMATS["float6_e3m2fn"]).text.shape == (4, 16)
    tiny = F.code_table(FloatFormat(nexp=1, nmant=1, nonfinite="none"))
    assert tiny.text.shape == (1, 8)
    e5m2 = F.code_table(FORMATS["float8_e5m2"])
    assert e5m2.text.loc["0x70", "+C"] == "inf" and e5m2.kind.loc["0x70", "+C"] == "inf"
    with pytest.raises(ValueError):
        F.code_table(FORMATS["float16"])


# ------------------------------------------------------------------ where does my number land
def test_landing_one_value():
    lo, _ = F.parse_value_or_range("3000")
    t = F.landing_table(fmts(*SIX), lo).set_index("Format")
    assert t.loc["float16", "Result"] == "exact"
    assert (t.loc["bfloat16", "Stored as"], t.loc["bfloat16", "Abs error"]) == ("3008", "8")
    assert t.loc["float8_e5m2", "Stored as"] == "3072" and t.loc["float8_e5m2", "Rel error"] == "2.4%"
    assert t.loc["float8_e4m3fn", "Result"] == "overflow to nan (max 448)"
    assert t.loc["float4_e2m1fn", "Result"] == "overflow, saturated to 6"  # no inf, no NaN: it clamps
    sat = F.landing_table(fmts("float8_e4m3fn"), lo, saturate=True)
    assert sat.iloc[0]["Stored as"] == "448" and sat.iloc[0]["Result"] == "overflow, saturated to 448"
    tiny, _ = F.parse_value_or_range("1e-6")
    t = F.landing_table(fmts("float16", "float8_e4m3fn"), tiny).set_index("Format")
    assert t.loc["float16", "Result"] == "rounded; subnormal: fewer significant bits"
    assert t.loc["float8_e4m3fn", "Result"] == "underflow to 0"
    nan, _ = F.parse_value_or_range("nan")
    t = F.landing_table(fmts("float4_e2m1fn"), nan)
    assert t.iloc[0]["Result"].startswith("cannot store")


def test_landing_range():
    lo, hi = F.parse_value_or_range("1e-4 .. 3000")
    t = F.landing_table(fmts("float16", "float8_e4m3fn", "float8_e5m2"), lo, hi).set_index("Format")
    assert t.loc["float16", "Result"] == "fits: every value in the normal range"
    assert t.loc["float16", "Worst rel. error (round to nearest)"] == "≤ 0.0488%"  # 2**-11
    assert t.loc["float8_e5m2", "Worst rel. error (round to nearest)"] == "≤ 12.5%"  # 2**-3
    notes = t.loc["float8_e4m3fn", "Result"]
    assert "high end overflows (max 448)" in notes and "low end underflows" in notes
    lo, hi = F.parse_value_or_range("-3 .. 3")
    t = F.landing_table(fmts("float8_e8m0fnu"), lo, hi)
    assert "includes 0" in t.iloc[0]["Result"] and "-3 is stored as NaN" in t.iloc[0]["Result"]


def test_rel_error_bound():
    f16 = FORMATS["float16"]
    assert F._rel_error_bound(f16, Fraction(1), Fraction(2)) == Fraction(1, 2**11)
    assert F._rel_error_bound(f16, Fraction(3, 2), Fraction(7, 4)) == Fraction(1, 2**11) / Fraction(3, 2)  # no power of 2 inside
    ss = f16.smallest_subnormal_exact
    assert F._rel_error_bound(f16, 2 * ss, Fraction(1)) == Fraction(1, 4)  # half a step of 2 steps
    assert F._rel_error_bound(f16, Fraction(70000), Fraction(80000)) is None


# ------------------------------------------------------------------ key takeaways
def test_takeaways_of_the_seed_formats():
    refs, _ = F.parse_references("3000, 1e-6")
    text = "\n".join(F.takeaways(fmts(*SIX), refs))
    assert "Of the chosen formats, **float32** has the widest range: 277 binades" in text
    assert "**float32** has the finest precision: eps = 2⁻²³" in text
    assert "**bfloat16 and float32** have the same 8 exponent bits" in text
    assert "**float16** (E5M10) overflows above 65504, while **bfloat16** (E8M7) reaches ≈3.39e38" in text
    assert "**float8_e4m3fn** (E4M3) overflows above 448, while **float8_e5m2** (E5M2) reaches 57344" in text
    assert "**float4_e2m1fn** holds only 15 distinct values: 0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6" in text
    assert "3000 overflows in float8_e4m3fn (max 448) and float4_e2m1fn (max 6) but fits in float32, bfloat16, float16 and float8_e5m2." in text
    assert "1e-6 underflows to 0 in float8_e4m3fn, float8_e5m2 and float4_e2m1fn." in text
    assert "1e-6 is subnormal (fewer significant bits) in float16." in text


def test_takeaways_follow_the_data():
    assert F.takeaways([]) == []
    one = F.takeaways(fmts("float16"))
    assert not any("widest" in t for t in one)  # nothing to compare with
    refs, _ = F.parse_references("460")  # rounds down to 448 in E4M3FN: not an overflow
    text = "\n".join(F.takeaways(fmts("float8_e4m3fn", "float16"), refs))
    assert "460 lies in the normal range of every chosen format." in text
    marked = {k: "«" + v for k, v in F.LABELS.items()}  # the labels are used, not literals
    out = F.takeaways(fmts("float16", "bfloat16"), labels=marked)
    assert out and all(t.startswith("«") for t in out)
