"""quantlib.tensorio.save_quantized: a QuantizedTensor's safetensors payload, byte for byte what
the Tensor Lab's download built before the function moved into tensorio, and read back."""

from __future__ import annotations

import io

import numpy as np
import pytest

from quantlib.codec import decode
from quantlib.schemes import quantize
from quantlib.tensorio import load_tensors, read_metadata, save_quantized, save_quantized_safetensors

SCHEMES = ["int8:axis=0", "nf4:block=64,dq", "mxfp4", "nvfp4", "float8_e4m3fn", "uint4"]


def old_quantized_file(q, name, extra_meta=None) -> bytes:
    """lab/tensor_cached.py::quantized_file as it was, before save_quantized (the reference)."""
    extra: dict[str, np.ndarray] = {}
    if q.zero_points is not None:
        extra["zero_points"] = np.asarray(q.zero_points)
    if q.scale_codes is not None:
        extra["scale_codes"] = np.asarray(q.scale_codes)
    if q.tensor_scale is not None:
        extra["tensor_scale"] = np.asarray([q.tensor_scale], dtype=np.float32)
    if q.double_quant is not None:
        dq = q.double_quant
        extra["dq_codes"] = np.asarray(dq.codes)
        extra["dq_absmax"] = np.asarray(dq.absmax)
        extra["dq_offset"] = np.asarray([dq.offset], dtype=np.float32)
    meta = {
        "quantlab.shape": ",".join(map(str, q.shape)),
        "quantlab.dtype": np.dtype(q.dtype).name,
        "quantlab.bits_per_element": repr(float(q.bits_per_element)),
        "quantlab.layout": "unpacked: one code per element",
        "quantlab.source": name,
    }
    meta.update(extra_meta or {})
    scales = None if q.scales is None else np.asarray(q.scales)
    return save_quantized_safetensors(
        codes=np.asarray(q.codes), scheme=str(q.scheme), scales=scales, code_format=q.scheme.code_format, name="tensor", extra=extra, metadata=meta,
    )


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(11).standard_normal((32, 128)).astype(np.float32)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_bytes_are_the_old_construction(x, scheme, tmp_path):
    q = quantize(x, scheme)
    extra = {"quantlab.sqnr_db": "31.5"}
    data = save_quantized(q, source="w", metadata=extra)
    assert data == old_quantized_file(q, "w", extra)
    assert save_quantized(q, source="layer.0") == old_quantized_file(q, "layer.0")
    p = tmp_path / "q.safetensors"
    buf = io.BytesIO()
    assert save_quantized(q, source="w", metadata=extra, file=p) == data == p.read_bytes()
    save_quantized(q, source="w", metadata=extra, file=buf)
    assert buf.getvalue() == data


@pytest.mark.parametrize("scheme", SCHEMES)
def test_read_back(x, scheme):
    q = quantize(x, scheme)
    data = save_quantized(q, source="w", metadata={"note": "mine", "quantlab.layout": "overridden"})
    meta = read_metadata(data, name="q.safetensors")
    assert meta["quantlab.scheme"] == str(q.scheme) == scheme
    assert meta["quantlab.codes"] == "tensor.codes"
    assert meta["quantlab.shape"] == "32,128" and meta["quantlab.dtype"] == "float32"
    assert float(meta["quantlab.bits_per_element"]) == q.bits_per_element
    assert meta["quantlab.source"] == "w" and meta["note"] == "mine" and meta["quantlab.layout"] == "overridden"
    assert meta.get("quantlab.code_format") == q.scheme.code_format
    t = load_tensors(data, name="q.safetensors")
    want = {"tensor.codes"}
    want |= {"tensor.scales"} if q.scales is not None else set()
    want |= {"tensor.zero_points"} if q.zero_points is not None else set()
    want |= {"tensor.scale_codes"} if q.scale_codes is not None else set()
    want |= {"tensor.tensor_scale"} if q.tensor_scale is not None else set()
    want |= {"tensor.dq_codes", "tensor.dq_absmax", "tensor.dq_offset"} if q.double_quant is not None else set()
    assert set(t) == want
    codes = t["tensor.codes"]
    assert codes.shape == x.shape
    fmt = q.scheme.code_format
    if codes.source_dtype == fmt:  # a format safetensors knows: stored with its dtype tag, read as values
        np.testing.assert_array_equal(codes.array, decode(np.asarray(q.codes), fmt, dtype=np.float32))
    else:
        np.testing.assert_array_equal(codes.array, np.asarray(q.codes, dtype=np.float64))
    if q.scales is not None:
        np.testing.assert_array_equal(t["tensor.scales"].array, np.asarray(q.scales))
    if q.tensor_scale is not None:
        assert float(t["tensor.tensor_scale"].array[0]) == np.float32(q.tensor_scale)
    if q.double_quant is not None:
        np.testing.assert_array_equal(t["tensor.dq_codes"].array, np.asarray(q.double_quant.codes))


def test_float8_codes_are_tagged_and_int_codes_are_not(x):
    assert read_metadata(save_quantized(quantize(x, "float8_e4m3fn"), source="w"))["quantlab.code_format"] == "float8_e4m3fn"
    assert load_tensors(save_quantized(quantize(x, "float8_e4m3fn"), source="w"))["tensor.codes"].source_dtype == "float8_e4m3fn"
    assert load_tensors(save_quantized(quantize(x, "int8:axis=0"), source="w"))["tensor.codes"].source_dtype == "int8"
