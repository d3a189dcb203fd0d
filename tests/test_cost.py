"""quantlib.cost: weight bytes from every scheme's exact bits, the KV cache formula, the model
shapes' parameter counts, the roofline's two bounds and its dequantization rule, the live
measurement's routes."""

from __future__ import annotations

import numpy as np
import pytest

from quantlib.cost import (
    HARDWARE,
    KV_FORMATS,
    MODELS,
    ROUTES,
    WEIGHT_SCHEMES,
    ModelShape,
    compute_kind,
    kv_bits,
    kv_cache_bytes,
    measure,
    roofline,
    route_error,
    weight_bits,
    weight_bytes,
)
from quantlib.llm.model import LlamaConfig
from quantlib.schemes import GGML_PRESETS, PRESETS, SCHEMES, parse_scheme

REGISTRY = sorted({e for cls in SCHEMES.values() for e in cls.examples} | set(PRESETS) | set(GGML_PRESETS) | set(WEIGHT_SCHEMES))
N = 4096 * 4096
SEVEN_B = MODELS["llama2-7b"]


@pytest.mark.parametrize("scheme", REGISTRY)
def test_weight_bytes_are_params_times_bits_over_8(scheme):
    s = parse_scheme(scheme)
    assert weight_bytes(7e9, scheme) == 7e9 * s.bits_per_element() / 8
    # the large-tensor limit is the exact storage of a 4096 x 4096 matrix, up to one or two
    # float32s per row for the per-channel schemes
    exact = s.total_bits((4096, 4096)) / N
    assert abs(weight_bits(scheme) - exact) <= 64 / 4096 + 1e-12


def test_scale_overhead_is_counted():
    assert weight_bits("float32") == 32 and weight_bits("bfloat16") == 16
    assert weight_bits("nf4:block=64") == 4.5
    assert weight_bits("nf4:block=64,dq") == 4 + 8 / 64 + 32 / (64 * 256)
    assert weight_bits("mxfp4") == 4.25 and weight_bits("nvfp4") == 4.5 and weight_bits("q2_k") == 2.625
    assert weight_bytes(134_515_008, "nf4:block=64") == 75_664_692


def test_model_parameter_counts():
    assert MODELS["smollm2-135m"].params == 134_515_008  # SmolLM2-135M (tied embeddings)
    assert MODELS["llama2-7b"].params == 6_738_415_616
    assert MODELS["llama2-70b"].params == 68_976_648_192
    smol = MODELS["smollm2-135m"]
    cfg = LlamaConfig()
    assert (smol.n_layers, smol.n_kv_heads, smol.kv_head_dim) == (cfg.n_layers, cfg.n_kv_heads, cfg.head_dim) == (30, 3, 64)
    assert (MODELS["llama2-70b"].n_kv_heads, MODELS["llama2-70b"].kv_head_dim) == (8, 128)


def test_kv_cache_worked_example():
    smol = MODELS["smollm2-135m"]
    # 2 * 30 * 3 * 64 * 2048 * 2 bytes
    assert kv_cache_bytes(smol, context=2048, batch=1, bits=16) == 2 * 30 * 3 * 64 * 2048 * 2 == 47_185_920
    assert kv_cache_bytes(smol, context=2048, batch=1, bits=32) == 94_371_840
    assert kv_cache_bytes(smol, context=2048, batch=4, bits=16) == 4 * 47_185_920
    assert kv_cache_bytes(SEVEN_B, context=4096, batch=1, bits=16) == 2 * 2**30  # 2 GiB
    # grouped-query attention: 70B's cache per token is 8/32 of 7B's per layer
    per_layer_70 = kv_cache_bytes(MODELS["llama2-70b"], context=1, batch=1, bits=16) / 80
    per_layer_7 = kv_cache_bytes(SEVEN_B, context=1, batch=1, bits=16) / 32
    assert per_layer_70 / per_layer_7 == 8 / 32


def test_kv_bits_count_the_scales():
    assert kv_bits("float16", 64) == 16 and kv_bits("float8_e4m3fn", 128) == 8
    assert kv_bits("int8:axis=0", 64) == 8 + 32 / 64
    assert kv_bits("int4:axis=0", 128) == 4 + 32 / 128
    assert all(kv_bits(f, 64) > 0 for f in KV_FORMATS)


def test_roofline_worked_example():
    a100 = HARDWARE["a100"]
    kv = kv_cache_bytes(SEVEN_B, context=2048, batch=1, bits=16)
    r = roofline("float16", a100, SEVEN_B, params=SEVEN_B.params, context=2048, batch=1, kv_bits=16)
    assert r.native and r.kind == "bfloat16" and r.peak == 312
    assert r.weight_bytes == 13_476_831_232 and r.kv_bytes == kv == 1_073_741_824
    assert r.decode_memory == pytest.approx(2039e9 / (13_476_831_232 + 1_073_741_824))
    assert r.decode == pytest.approx(140.1319, rel=1e-5) and r.decode_bound == "memory"
    assert r.prefill == pytest.approx(312e12 / (2 * 6_738_415_616)) == pytest.approx(23_150.84, rel=1e-6)
    assert r.prefill_bound == "compute"
    # batch 8: eight tokens per read of the weights (and eight KV caches)
    r8 = roofline("float16", a100, SEVEN_B, params=SEVEN_B.params, context=2048, batch=8, kv_bits=16)
    assert r8.decode_memory == pytest.approx(8 * 2039e9 / (13_476_831_232 + 8 * 1_073_741_824))


def test_smaller_weights_speed_up_decode_not_prefill_when_dequantized():
    a100 = HARDWARE["a100"]
    kw = dict(params=SEVEN_B.params, context=2048, batch=1, kv_bits=16)
    f16 = roofline("bfloat16", a100, SEVEN_B, **kw)
    nf4 = roofline("nf4:block=64", a100, SEVEN_B, **kw)
    assert not nf4.native and nf4.kind == "bfloat16"
    assert nf4.decode > 2.5 * f16.decode
    assert nf4.prefill == f16.prefill
    # materialized: the bfloat16 copy is written and read every pass
    mat = roofline("nf4:block=64", a100, SEVEN_B, materialize=True, **kw)
    assert mat.extra_bytes == 2 * 2 * SEVEN_B.params
    assert mat.decode < f16.decode
    # int8 has its own units on an A100: twice the bfloat16 peak
    assert roofline("int8", a100, SEVEN_B, **kw).prefill == pytest.approx(2 * f16.prefill)


def test_hardware_support_decides_the_unit():
    kw = dict(params=1e9, context=128, batch=1, kv_bits=16, shape=SEVEN_B)
    fp8 = "float8_e4m3fn:scaled"
    assert roofline(fp8, HARDWARE["a100"], **kw).kind == "bfloat16"  # no FP8 on Ampere
    h = roofline(fp8, HARDWARE["h100"], **kw)
    assert h.native and h.peak == 1979
    assert not roofline("nvfp4", HARDWARE["h100"], **kw).native  # FP4 needs Blackwell
    b = roofline("nvfp4", HARDWARE["b200"], **kw)
    assert b.native and b.kind == "float4" and b.peak == 9000
    assert not roofline("mxfp4", HARDWARE["b200"].edited(block_scaled=False), **kw).native
    # no 16-bit path on the laptop CPU: bfloat16 weights are widened to float32
    lap = roofline("bfloat16", HARDWARE["laptop"], **kw)
    assert (lap.kind, lap.native, lap.peak) == ("float32", False, 0.77)


def test_compute_kind():
    assert compute_kind("float32") == "float32" and compute_kind("float16") == "bfloat16"
    assert compute_kind("float8_e5m2:scaled") == "float8" and compute_kind("int8") == "int8"
    assert compute_kind("int4:block=64") is None and compute_kind("q4_k") is None and compute_kind("nf4:block=64,dq") is None
    assert compute_kind("mxfp8_e4m3") == "mx:float8" and compute_kind("nvfp4") == "mx:float4"
    assert compute_kind("float8_e4m3fn:scaled,block=32") is None  # block scales outside MX


def test_custom_shape_kv():
    shape = ModelShape(10, 128, 0, 2, 2, 0, head_dim=64)
    assert kv_cache_bytes(shape, context=100, batch=3, bits=8) == 2 * 10 * 2 * 64 * 100 * 3


def test_measure_times_every_route():
    m = measure(m=64, k=64, n=1, repeats=3)
    assert tuple(m.times) == ROUTES
    assert all(len(t) == 3 and min(t) > 0 for t in m.times.values())
    lo, hi = m.spread("int8")
    assert lo <= m.median("int8") <= hi
    assert m.slowdown("float32") == 1
    assert m.weight_bytes("float32") == 4 * 64 * 64 and m.weight_bytes("int8") == 64 * 64
    assert measure(m=8, k=8, n=8, repeats=1).ops == 2 * 8**3


def test_routes_compute_the_same_product():
    err = route_error(m=128, k=256, n=4)
    assert err["dequantize"] < 1e-6
    assert 0 < err["int8"] < 2e-2
    assert np.isfinite(list(err.values())).all()
