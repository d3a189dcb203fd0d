"""The formulas of one block up close, in LaTeX for ``st.latex``, filled in with the block's own
numbers from :func:`quantlib.schemes.explain.block_explain` (pure functions: no streamlit).

Notation (the notes'): a block is multiplied by its constant ``c``, rounded to ``q`` and read back
as ``deq = q / c``; ``Δ = 1/c`` is the step.  Worked number: int8, absmax 2.54 ->
``c = \\frac{2^{8-1}-1}{2.54} = \\frac{127}{2.54} = 50``.
"""

from __future__ import annotations

import math

import numpy as np

from quantlib.schemes.explain import BlockExplain

__all__ = ["block_formulas", "tex_num", "tex_name", "worst_element"]


def tex_num(v, digits: int = 6) -> str:
    """A number for LaTeX: ``tex_num(0.0000123) == "1.23\\times 10^{-5}"``, ``tex_num(50.0) == "50"``,
    ``tex_num(None) == "—"``; integers exactly, others to ``digits`` significant digits."""
    if v is None:
        return r"\text{—}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if math.isnan(v):
        return r"\mathrm{NaN}"
    if math.isinf(v):
        return r"\infty" if v > 0 else r"-\infty"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    s = f"{v:.{digits}g}"
    if "e" in s:
        m, e = s.split("e")
        return rf"{m}\times 10^{{{int(e)}}}"
    return s


def _p(v, digits: int = 6) -> str:
    """tex_num, in parentheses when negative (a factor of a product)."""
    t = tex_num(v, digits)
    return f"({t})" if t.startswith("-") or r"\times" in t else t


def tex_name(name: str) -> str:
    """A format name in upright LaTeX: ``float4_e2m1fn`` -> ``\\mathrm{float4\\_e2m1fn}``."""
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def worst_element(be: BlockExplain) -> int:
    """The index, in the whole tensor's block numbering, of the element the formulas show."""
    return be.start + be.worst


def _sat(v: float, fmax: float) -> str:
    """``v`` as the argument of an element rounding: ``\\operatorname{clamp}(v, -max, max)`` when
    it lies beyond the format's max (the cast saturates), else ``v``."""
    if abs(v) > fmax:
        return rf"\operatorname{{clamp}}({tex_num(v, 8)}, -{tex_num(fmax)}, {tex_num(fmax)})"
    return tex_num(v, 8)


def _lines(*rows: str) -> str:
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _err_row(be: BlockExplain, i: int) -> str:
    return rf"\varepsilon &= \operatorname{{deq}} - x = {tex_num(be.deq[i], 8)} - {_p(be.x[i], 8)} = {tex_num(float(be.deq[i]) - be.x[i], 4)}"


def block_formulas(be: BlockExplain) -> list[str]:
    """The LaTeX of ``be``'s scheme for its worst element (``be.worst``), one string per formula
    block: the constant, the rounding, the dequantization and the error (and, for NF4, the bits
    per parameter; for NVFP4, its two scales).  A family without a formula gives ``[]``."""
    fn = _BUILDERS.get(be.family)
    return fn(be) if fn is not None and be.x.size else []


def _int(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    k = n["bits"]
    amax = "T" if n["clamp"] else r"\operatorname{absmax}(x)"  # a calibrated range clips at T
    rnd = rf"\operatorname{{round}}({_p(be.x[i], 8)} \times {tex_num(n['c'], 8)})"
    q_row = rf"q &= \operatorname{{round}}(x\cdot c) = {rnd} = \operatorname{{round}}({tex_num(be.scaled[i], 8)}) = {be.codes[i]}"
    if n["clamp"]:
        q_row = (
            rf"q &= \operatorname{{clamp}}(\operatorname{{round}}(x\cdot c), -{n['qmax']}, {n['qmax']})"
            rf" = \operatorname{{clamp}}(\operatorname{{round}}({tex_num(be.scaled[i], 8)}), -{n['qmax']}, {n['qmax']}) = {be.codes[i]}"
        )
    return [
        _lines(
            rf"c &= \frac{{2^{{k-1}}-1}}{{{amax}}} = \frac{{2^{{{k - 1}}}-1}}{{{tex_num(n['absmax'], 8)}}} = \frac{{{n['qmax']}}}{{{tex_num(n['absmax'], 8)}}} = {tex_num(n['c'], 8)}",
            q_row,
            rf"\operatorname{{deq}} &= \frac{{q}}{{c}} = \frac{{{be.codes[i]}}}{{{tex_num(n['c'], 8)}}} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]


def _uint(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    k, L = n["bits"], n["qmax"]
    if n["lo"] is not None:
        step = rf"\Delta &= \frac{{\max - \min}}{{2^k - 1}} = \frac{{{tex_num(n['hi'], 8)} - {_p(n['lo'], 8)}}}{{2^{{{k}}} - 1}} = {tex_num(n['scale'], 8)}, \quad c = \frac{{1}}{{\Delta}} = {tex_num(n['c'], 8)}"
        zrow = rf"z &= \operatorname{{round}}\!\left(\frac{{-\min}}{{\Delta}}\right) = \operatorname{{round}}\!\left(\frac{{{tex_num(-n['lo'], 8) if n['lo'] else '0'}}}{{{tex_num(n['scale'], 8)}}}\right) = {n['z']}"
    else:  # a calibrated range: the scale and zero point come from calibration
        step = rf"\Delta &= {tex_num(n['scale'], 8)}, \quad c = \frac{{1}}{{\Delta}} = {tex_num(n['c'], 8)}"
        zrow = rf"z &= {n['z']}"
    return [
        _lines(
            step,
            zrow,
            rf"q &= \operatorname{{clamp}}(\operatorname{{round}}(x/\Delta) + z, 0, 2^k - 1) = \operatorname{{clamp}}(\operatorname{{round}}({tex_num(be.scaled[i], 8)}) + {n['z']}, 0, {L}) = {be.codes[i]}",
            rf"\operatorname{{deq}} &= (q - z)\cdot\Delta = ({be.codes[i]} - {n['z']}) \times {tex_num(n['scale'], 8)} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]


_TABLE_NAMES = {"nf4": r"\mathrm{NF4}", "bnb_fp4": r"\mathrm{FP4}_{\mathrm{bnb}}", "codebook": r"T"}


def _codebook(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    T = _TABLE_NAMES[be.family]
    A = tex_num(n["absmax"], 8)
    scale = tex_num(n["scale"], 8)
    deq_factor = r"\operatorname{absmax}" if "dq_code" not in n else r"\widehat{\operatorname{absmax}}"
    out = [
        _lines(
            rf"c &= \frac{{1}}{{\operatorname{{absmax}}(x)}} = \frac{{1}}{{{A}}} = {tex_num(n['c'], 8)}",
            rf"x\cdot c &= {_p(be.x[i], 8)} \times {tex_num(n['c'], 8)} = {tex_num(be.scaled[i], 8)}",
            rf"q &= \operatorname{{find\_nearest}}(x\cdot c,\ {T}) = \operatorname{{find\_nearest}}({tex_num(be.scaled[i], 8)}) = {be.codes[i]}, \quad {T}[{be.codes[i]}] = {tex_num(be.values[i], 8)}",
            rf"\operatorname{{deq}} &= {T}[q]\cdot {deq_factor} = {_p(be.values[i], 8)} \times {scale} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]
    if n.get("bits_dq") is not None:
        b, B = n["code_bits"], n["block"]
        a_bits, dq_bits, dq_block = n["absmax_bits"], n["dq_code_bits"], n["dq_block"]
        out.append(
            rf"{b} + \frac{{{a_bits}}}{{{B}}} = {tex_num(n['bits_no_dq'], 6)} \;\longrightarrow\; {b} + \frac{{{dq_bits}}}{{{B}}} + \frac{{{a_bits}}}{{{B}\cdot {dq_block}}} = {tex_num(n['bits_dq'], 6)}"
        )
    return out


def _mx(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    el = tex_name(n["element"])
    if n["rounding"] == "floor" and n["floor_log2"] is not None:
        fl, em = n["floor_log2"], n["emax"]
        clamped = fl - em != n["e"]
        scale = (
            rf"s &= 2^{{\lfloor \log_2 \operatorname{{amax}}(x) \rfloor - e_{{\max}}}} = 2^{{\lfloor \log_2 {tex_num(n['absmax'], 8)} \rfloor - {em}}}"
            rf" = 2^{{{fl} - {em}}}" + (rf" \to 2^{{{n['e']}}}" if clamped else rf" = 2^{{{n['e']}}}") + rf" = {tex_num(n['scale'], 8)}"
        )
    else:
        scale = (
            rf"s &= 2^{{e}} = 2^{{{n['e']}}} = {tex_num(n['scale'], 8)} \quad (\operatorname{{amax}}(x) = {tex_num(n['absmax'], 8)},\ e_{{\max}} = {n['emax']})"
        )
    return [
        _lines(
            scale + rf", \quad c = \frac{{1}}{{s}} = {tex_num(n['c'], 8)}",
            rf"q &= \operatorname{{round}}_{{{el}}}(x\cdot c) = \operatorname{{round}}_{{{el}}}({_sat(be.scaled[i], n['fmax_elem'])}) = {tex_num(be.values[i], 8)}",
            rf"\operatorname{{deq}} &= q\cdot s = {_p(be.values[i], 8)} \times {tex_num(n['scale'], 8)} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]


def _nvfp4(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    el, sf = tex_name(n["element"]), tex_name(n["scale_format"])
    fe, fs = tex_num(n["fmax_elem"]), tex_num(n["fmax_scale"])
    return [
        _lines(
            rf"s_t &= \frac{{\operatorname{{amax}}(\mathbf{{X}})}}{{{fs}\cdot {fe}}} = \frac{{{tex_num(n['tensor_amax'], 8)}}}{{{fs}\cdot {fe}}} = {tex_num(n['s_t'], 8)}",
            rf"s_b &= {sf}\!\left(\frac{{\operatorname{{amax}}(x)}}{{{fe}\, s_t}}\right) = {sf}\!\left(\frac{{{tex_num(n['absmax'], 8)}}}{{{fe} \times {tex_num(n['s_t'], 8)}}}\right)",
            rf"&= {sf}({tex_num(n['s_b_exact'], 8)}) = {tex_num(n['s_b'], 8)} \quad (\mathtt{{0x{n['s_b_code']:02X}}})",
        ),
        _lines(
            rf"c &= \frac{{1}}{{s_b\, s_t}} = {tex_num(n['c'], 8)}",
            rf"q &= \operatorname{{round}}_{{{el}}}(x\cdot c) = \operatorname{{round}}_{{{el}}}({_sat(be.scaled[i], n['fmax_elem'])}) = {tex_num(be.values[i], 8)}",
            rf"\operatorname{{deq}} &= q\cdot s_b\cdot s_t = {_p(be.values[i], 8)} \times {tex_num(n['s_b'], 8)} \times {tex_num(n['s_t'], 8)} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        ),
    ]


def _float(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    f = tex_name(n["format"])
    rnd = rf"\operatorname{{round}}_{{{f}}}" if n["rounding"] == "nearest_even" else rf"\operatorname{{{n['rounding'].replace('_', chr(92) + '_')}}}_{{{f}}}"
    around = ""
    if n.get("below") is not None and n.get("above") is not None:
        around = rf" \quad ({tex_num(n['below'], 8)} \le {tex_num(be.scaled[i], 8)} \le {tex_num(n['above'], 8)})"
    if not n["scaled"]:
        return [_lines(rf"\operatorname{{deq}} &= {rnd}(x) = {rnd}({tex_num(be.x[i], 10)}) = {tex_num(be.values[i], 10)}" + around, _err_row(be, i))]
    return [
        _lines(
            rf"s &= \frac{{\operatorname{{amax}}(x)}}{{\max_{{{f}}}}} = \frac{{{tex_num(n['absmax'], 8)}}}{{{tex_num(n['fmax'], 8)}}} = {tex_num(n['scale'], 8)}, \quad c = \frac{{1}}{{s}} = {tex_num(n['c'], 8)}",
            rf"q &= {rnd}(x\cdot c) = {rnd}({_sat(be.scaled[i], n['fmax'])}) = {tex_num(be.values[i], 8)}" + around,
            rf"\operatorname{{deq}} &= q\cdot s = {_p(be.values[i], 8)} \times {tex_num(n['scale'], 8)} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]


def _log(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    return [
        _lines(
            rf"e_{{\mathrm{{top}}}} &= \operatorname{{round}}(\log_2 \operatorname{{absmax}}(x)) = {n['e_top']}, \quad e_{{\mathrm{{low}}}} = {n['e_low']}",
            rf"\operatorname{{deq}} &= \operatorname{{sign}}(x)\, 2^{{\operatorname{{clamp}}(\operatorname{{round}}(\log_2|x|),\, e_{{\mathrm{{low}}}},\, e_{{\mathrm{{top}}}})}} = \operatorname{{sign}}({tex_num(be.x[i], 8)})\, 2^{{\operatorname{{round}}({tex_num(be.scaled[i], 6)})}} = {tex_num(be.deq[i], 8)}",
            _err_row(be, i),
        )
    ]


def _sign(be: BlockExplain) -> list[str]:
    n, i = be.numbers, be.worst
    if be.family == "binary":
        first = rf"\alpha &= \operatorname{{mean}}|x| = {tex_num(n['alpha'], 8)}, \quad q = \operatorname{{sign}}(x) = {be.codes[i]}"
    else:
        first = (
            rf"\delta &= {tex_num(n['delta'])}\cdot\operatorname{{mean}}|x| = {tex_num(n['delta'])} \times {tex_num(n['mean_abs'], 8)} = {tex_num(n['threshold'], 8)}, \quad"
            rf" \alpha = \operatorname{{mean}}(|x| : |x| > \delta) = {tex_num(n['alpha'], 8)}, \quad q = {be.codes[i]}"
        )
    return [_lines(first, rf"\operatorname{{deq}} &= q\cdot\alpha = {be.codes[i]} \times {tex_num(n['alpha'], 8)} = {tex_num(be.deq[i], 8)}", _err_row(be, i))]


_BUILDERS = {
    "int": _int,
    "uint": _uint,
    "nf4": _codebook,
    "bnb_fp4": _codebook,
    "codebook": _codebook,
    "mx": _mx,
    "nvfp4": _nvfp4,
    "float": _float,
    "log": _log,
    "binary": _sign,
    "ternary": _sign,
}
