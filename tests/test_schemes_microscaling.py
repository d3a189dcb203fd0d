"""quantlib.schemes.microscaling: MX and NVFP4, hand-worked numbers, MX against a plain
reference from the spec text (ml_dtypes rounds the elements), properties, formats as data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quantlib import get_format
from quantlib.schemes import MX, quantize

HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ====================================================================== hand-worked numbers
def test_mx_worked_cases():
    """The OCP MX worked case: an E2M1 block whose absmax is 7."""
    x = np.zeros(32, np.float32)
    x[0], x[1] = 7.0, 1.3
    q = quantize(x, "mxfp4")  # floor: X = 2**(floor(log2 7) - 2) = 1, 7 clips to 6
    assert q.scales.tolist() == [1.0] and q.scale_codes.tolist() == [127]
    assert q.dequantize()[0] == 6.0 and q.clipped[0] and q.n_clipped == 1
    q = quantize(x, "mxfp4:round=rceil")  # X = 2**ceil(log2(7/6)) = 2: 7 -> 3.5 -> 4 (RNE) -> 8
    assert q.scales.tolist() == [2.0]
    assert q.dequantize()[0] == 8.0 and not q.clipped.any()
    for mode in ("ceil", "even"):
        assert quantize(x, f"mxfp4:round={mode}").scales.tolist() == [2.0]
    y = x.copy()
    y[0] = 6.0
    assert quantize(y, "mxfp4:round=even").scales.tolist() == [1.0]
    assert quantize(np.zeros(32, np.float32), "mxfp8_e4m3").scale_codes.tolist() == [0]  # 2**-127


def test_mxint8_worked():
    x = np.zeros(32, np.float32)
    x[0], x[1] = 1.5, -0.7
    q = quantize(x, "mxint8")  # floor(log2 1.5) - 0 = 0: X = 1, q = round(64 x)
    assert q.scales.tolist() == [1.0]
    assert q.codes[:2].tolist() == [96, -45]  # -44.8 -> -45
    assert q.dequantize()[1] == np.float32(-45 / 64)


def test_nvfp4_worked():
    x = np.zeros(32, np.float32)
    x[0], x[1], x[16] = 6.0, 2.5, 2688.0
    q = quantize(x, "nvfp4")
    assert q.tensor_scale == 1.0
    assert q.scales.tolist() == [1.0, 448.0]
    assert q.dequantize()[:2].tolist() == [6.0, 2.0]  # 2.5 ties to even 2
    assert q.dequantize()[16] == 2688.0
    assert q.total_bits == 4 * 32 + 8 * 2 + 32


# ====================================================================== MX vs a plain reference
def _mx_reference(x: np.ndarray, elem: str, mode: str, block: int = 32) -> np.ndarray:
    """Block by block, straight from the spec text, elements rounded by ml_dtypes."""
    ml = pytest.importorskip("ml_dtypes")
    fmt = get_format(elem)
    emax, mx = fmt.emax, fmt.max
    out = np.empty_like(x, dtype=np.float64)
    for b in range(0, x.size, block):
        blk = x[b : b + block].astype(np.float64)
        amax = float(np.max(np.abs(blk)))
        if amax == 0:
            e = -127
        else:
            m, ex = math.frexp(amax)
            fl = ex - 1
            if mode == "floor":
                e = fl - emax
            elif mode == "ceil":
                e = fl + (m != 0.5) - emax
            else:  # rceil
                e = math.ceil(math.log2(amax / mx))
                while amax > mx * 2.0**e:
                    e += 1
                while amax <= mx * 2.0 ** (e - 1):
                    e -= 1
        e = max(-127, min(127, e))
        s = np.clip(blk / 2.0**e, -mx, mx).astype(np.float32)
        out[b : b + block] = s.astype(getattr(ml, elem)).astype(np.float64) * 2.0**e
    return out


@pytest.mark.parametrize("elem", ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"])
@pytest.mark.parametrize("mode", ["floor", "ceil", "rceil"])
def test_mx_matches_reference(elem, mode):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(32 * 40) * np.repeat(2.0 ** rng.integers(-20, 20, 40), 32)).astype(np.float32)
    x[::97] = 0
    x[32:64] = 0  # an all-zero block
    q = quantize(x, MX(element=elem, scale_rounding=mode))
    np.testing.assert_array_equal(q.dequantize().astype(np.float64), _mx_reference(x, elem, mode))


# ====================================================================== properties
@HYP
@given(
    hnp.arrays(np.float32, st.integers(1, 100), elements=st.floats(-2.0**100, 2.0**100, width=32)),
    st.sampled_from(["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn"]),
)
def test_mx_properties(x, elem):
    s = MX(element=elem)
    q = quantize(x, s)
    d = q.dequantize()
    fmt = get_format(elem)
    X = q.layout.expand(q.scales).astype(np.float64)
    ok = ~q.clipped
    spacing = 2.0 ** (fmt.emax - fmt.nmant)  # the widest element step
    assert np.all(np.abs(d - x)[ok] <= (X * spacing / 2)[ok])
    assert np.all(np.abs(d) <= X * fmt.max)
    np.testing.assert_array_equal(quantize(-x, s).dequantize(), -d)
    np.testing.assert_array_equal(quantize(d, s).codes, q.codes)
