"""lab.tensor.formulas: the LaTeX of one block holds that block's live numbers (from
quantlib.schemes.explain), for every scheme family the Tensor Lab explains."""

from __future__ import annotations

import numpy as np
import pytest

from lab.tensor.formulas import block_formulas, tex_num, worst_element
from quantlib import quantize
from quantlib.schemes import SCHEMES
from quantlib.schemes.explain import EXPLAINED_FAMILIES, block_explain


def explain(x, scheme, group=0):
    x = np.asarray(x, dtype=np.float32)
    return block_explain(quantize(x, scheme), x, group)


def test_tex_num():
    assert tex_num(50.0) == "50"
    assert tex_num(127) == "127"
    assert tex_num(0.0000123) == r"1.23\times 10^{-5}"
    assert tex_num(None) == r"\text{—}"
    assert tex_num(-0.0) == "-0" and tex_num(float("inf")) == r"\infty"


def test_int8_absmax_254_gives_c_50():
    be = explain([2.54, 1.013, -0.5], "int8")
    (tex,) = block_formulas(be)
    i = be.worst
    assert r"\frac{127}{2.54} = 50" in tex and r"2^{7}-1" in tex
    assert f"= {be.codes[i]}" in tex and tex_num(be.deq[i], 8) in tex and tex_num(be.x[i], 8) in tex
    assert tex_num(float(be.deq[i]) - be.x[i], 4) in tex  # the error of the value shown


def test_uint_shows_step_zero_point_and_clamp():
    be = explain([-1.0, 3.0, 1.0, 0.37], "uint8")
    (tex,) = block_formulas(be)
    n = be.numbers
    assert n["z"] == 64 and r"\operatorname{round}\!\left(\frac{1}{" + tex_num(n["scale"], 8) in tex
    assert r"\frac{3 - (-1)}{2^{8} - 1} = " + tex_num(n["scale"], 8) in tex
    assert r"\operatorname{clamp}" in tex and "0, 255" in tex and f"({be.codes[be.worst]} - 64)" in tex


def test_nf4_level_index_value_and_double_quant_bits():
    x = np.zeros(128, np.float32)
    x[0], x[1], x[64] = 2.0, 1.3, 1.0
    be = explain(x, "nf4:block=64,dq")
    main, bits = block_formulas(be)
    i = be.worst
    assert r"\operatorname{find\_nearest}" in main and rf"\mathrm{{NF4}}[{be.codes[i]}] = {tex_num(be.values[i], 8)}" in main
    assert r"\widehat{\operatorname{absmax}}" in main  # double quantization changes the absmax used
    assert bits == r"4 + \frac{32}{64} = 4.5 \;\longrightarrow\; 4 + \frac{8}{64} + \frac{32}{64\cdot 256} = " + tex_num(4 + 8 / 64 + 32 / (64 * 256), 6)
    b128 = block_formulas(explain(np.tile(x, 2), "nf4:block=128"))[1]
    assert r"\frac{32}{128}" in b128 and r"\frac{32}{128\cdot 256}" in b128


def test_mx_shared_exponent_numbers():
    x = np.zeros(32, np.float32)
    x[0], x[1] = 7.0, 2.6
    (tex,) = block_formulas(explain(x, "mxfp4"))
    assert r"2^{\lfloor \log_2 7 \rfloor - 2} = 2^{2 - 2} = 2^{0} = 1" in tex
    assert r"\mathrm{float4\_e2m1fn}" in tex
    (t8,) = block_formulas(explain(x, "mxfp8_e5m2"))
    assert r"\rfloor - 15} = 2^{2 - 15} = 2^{-13}" in t8


def test_nvfp4_two_scales():
    x = np.zeros(32, np.float32)
    x[0], x[16], x[17] = 2688.0, 6.0, 2.4
    be = explain(x, "nvfp4", group=1)
    st_tex, main = block_formulas(be)
    assert r"\frac{2688}{448\cdot 6} = 1" in st_tex
    assert r"\mathrm{float8\_e4m3fn}" in st_tex and r"\mathtt{0x38}" in st_tex
    assert r"q\cdot s_b\cdot s_t" in main and tex_num(be.deq[be.worst], 8) in main


def test_float_cast_scale_and_rounding_neighbours():
    be = explain([7.0, 0.1, -3.3], "float8_e4m3fn:scaled")
    (tex,) = block_formulas(be)
    n = be.numbers
    assert r"\frac{7}{448} = 0.015625" in tex
    assert f"{tex_num(n['below'], 8)} \\le {tex_num(be.scaled[be.worst], 8)} \\le {tex_num(n['above'], 8)}" in tex
    (plain,) = block_formulas(explain([0.1], "bfloat16"))
    assert r"\mathrm{bfloat16}}(0.1000000015) = " + tex_num(0.10009765625, 10) in plain


@pytest.mark.parametrize("family", EXPLAINED_FAMILIES)
def test_every_family_has_its_formula_with_its_numbers(family):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    be = block_explain(quantize(x, SCHEMES[family].examples[0]), x, 0)
    lines = block_formulas(be)
    assert lines and all(t.count("{") == t.count("}") for t in lines)
    assert tex_num(be.deq[be.worst], 8) in " ".join(lines)
    assert worst_element(be) == be.start + be.worst
