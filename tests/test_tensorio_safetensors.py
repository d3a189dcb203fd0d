"""quantlib.tensorio: safetensors reading (every dtype, exact decoding, bad headers) and writing."""

from __future__ import annotations

import struct

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import (
    TensorFileError,
    list_tensors,
    load_tensor,
    load_tensors,
    read_metadata,
    save_npy,
    save_quantized_safetensors,
    save_safetensors,
)
from tests.tensorio_files import (
    W_SPECIAL,
    W,
    needs_torch,
    npy,
    safetensors_mixed,
    safetensors_numpy_only,
    same,
    st_by_hand,
)


# --------------------------------------------------------------------------- safetensors
@pytest.mark.parametrize("maker", [safetensors_numpy_only, safetensors_mixed])
def test_safetensors_all_float_dtypes(maker):
    data = maker()
    out = load_tensors(data, name="model.safetensors")
    assert same(out["f32"].array, W_SPECIAL) and out["f32"].n_nan == 3 and out["f32"].n_inf == 2
    assert same(out["f16"].array, W_SPECIAL.astype(np.float16)) and out["f16"].n_inf == 2
    assert same(out["bf16"].array, W_SPECIAL.astype(ml_dtypes.bfloat16)) and out["bf16"].source_dtype == "bfloat16"
    assert (out["bf16"].n_nan, out["bf16"].n_inf) == (3, 2)
    e5 = W_SPECIAL.astype(ml_dtypes.float8_e5m2)
    assert same(out["e5m2"].array, e5) and out["e5m2"].source_dtype == "float8_e5m2"
    assert same(out["e4m3"].array, W.astype(ml_dtypes.float8_e4m3fn)) and out["e4m3"].n_nan == 0
    for t in out.values():
        assert t.array.dtype in (np.float32, np.float64) and t.source_format == "safetensors"


def test_safetensors_ints_and_metadata():
    data = safetensors_mixed()
    out = load_tensors(data, name="m.safetensors")
    assert out["ids"].array.dtype == np.float64 and out["ids"].array.tolist() == list(range(10))
    assert read_metadata(data, name="m.safetensors") == {"format": "pt"}
    assert read_metadata(npy(W), name="w.npy") == {}


@pytest.mark.parametrize(
    "tag, fmt, mld",
    [
        ("F8_E4M3", "float8_e4m3fn", ml_dtypes.float8_e4m3fn),
        ("F8_E5M2", "float8_e5m2", ml_dtypes.float8_e5m2),
        ("F8_E4M3FNUZ", "float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz),
        ("F8_E5M2FNUZ", "float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz),
        ("F8_E8M0", "float8_e8m0fnu", ml_dtypes.float8_e8m0fnu),
        ("BF16", "bfloat16", ml_dtypes.bfloat16),
    ],
)
def test_every_code_decodes_exactly_like_ml_dtypes(tag, fmt, mld):
    bits = 16 if tag == "BF16" else 8
    codes = np.arange(2**bits, dtype=np.uint16 if bits == 16 else np.uint8)
    data = save_safetensors({"c": codes}, dtypes={"c": tag})
    t = load_tensor(data, name="codes.safetensors")
    want = codes.view(mld).astype(np.float32)
    assert t.source_dtype == fmt and t.array.dtype == np.float32
    assert same(t.array, want)
    assert np.array_equal(np.signbit(t.array[~np.isnan(want)]), np.signbit(want[~np.isnan(want)]))
    assert t.n_nan == int(np.isnan(want).sum()) and t.n_inf == int(np.isinf(want).sum())


def test_safetensors_library_reads_our_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    p = tmp_path / "q.safetensors"
    save_safetensors({"a": W, "i": np.arange(3, dtype=np.int32)}, metadata={"k": "v"}, file=p)
    back = st.load_file(str(p))
    assert np.array_equal(back["a"], W) and back["i"].tolist() == [0, 1, 2]


@needs_torch
def test_quantized_fp8_file_is_read_as_fp8_by_torch(tmp_path):
    import torch

    safe_open = pytest.importorskip("safetensors").safe_open
    codes = W.astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
    scales = np.array([0.5, 2.0], np.float32)
    data = save_quantized_safetensors(
        codes=codes, scales=scales, scheme="float8_e4m3fn per-tensor absmax", code_format="float8_e4m3fn", name="w", metadata={"note": "x"}
    )
    p = tmp_path / "w.safetensors"
    p.write_bytes(data)
    with safe_open(str(p), framework="pt") as f:
        assert f.get_tensor("w.codes").dtype == torch.float8_e4m3fn
        assert f.metadata()["quantlab.scheme"] == "float8_e4m3fn per-tensor absmax"
    meta = read_metadata(data, name="w.safetensors")
    assert meta["quantlab.code_format"] == "float8_e4m3fn" and meta["quantlab.scales"] == "w.scales" and meta["note"] == "x"
    out = load_tensors(p)
    assert same(out["w.codes"].array, codes.view(ml_dtypes.float8_e4m3fn)) and same(out["w.scales"].array, scales)


def test_quantized_int_codes_and_npy_roundtrip():
    codes = np.arange(-8, 8, dtype=np.int8).reshape(4, 4)
    data = save_quantized_safetensors(codes=codes, scales=np.ones(4, np.float32), scheme="int4 per-row", code_format="int4", extra={"zero": np.zeros(4, np.float32)})
    out = load_tensors(data, name="q.safetensors")
    assert list(out) == ["tensor.codes", "tensor.scales", "tensor.zero"]
    assert out["tensor.codes"].array.tolist() == codes.tolist()
    deq = W_SPECIAL.astype(np.float64)
    back = load_tensor(save_npy(deq), name="d.npy")
    assert back.array.dtype == np.float64 and same(back.array, deq)
    with pytest.raises(ValueError):
        save_npy(np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        save_safetensors({"c": np.zeros(2, np.uint8)}, dtypes={"c": "BF16"})


@pytest.mark.parametrize(
    "entries, data_len, words",
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 12, "overlaps"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 12, "gap"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, 8, "data_offsets"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, 8, "data_offsets"),
        ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, 8, "needs 12 bytes"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, 4, "truncated"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, 16, "extra data"),
        ({"a": {"dtype": "F32", "shape": [10**15], "data_offsets": [0, 8]}}, 8, "needs"),
        ({"a": {"dtype": "F32", "shape": [10**15], "data_offsets": [0, 4 * 10**15]}}, 8, "truncated"),
        ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, 8, "shape"),
        ({"a": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, 8, "shape"),
        ({"a": {"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}}, 8, "unknown dtype"),
        ({"a": {"dtype": "F32", "shape": [2]}}, 8, "needs dtype"),
        ({"a": [1, 2]}, 8, "needs dtype"),
    ],
)
def test_safetensors_bad_headers(entries, data_len, words):
    data = st_by_hand(entries, bytes(data_len))
    with pytest.raises(TensorFileError, match=words):
        load_tensors(data, name="bad.safetensors")


def test_safetensors_more_bad_headers():
    ok = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    cases = {
        "JSON": st_by_hand({}, bytes(8), raw_header=b'{"a": {"dtype": "F32", "sha'),
        "duplicate": st_by_hand({}, bytes(8), raw_header=b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'),
        "not a .safetensors file": st_by_hand({}, bytes(8), raw_header=b"[1, 2, 3]"),
        "metadata": st_by_hand(ok, bytes(8), metadata={"n": 1}),
        "JSON ": st_by_hand({}, bytes(8), raw_header=b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}"),
    }
    for words, data in cases.items():
        with pytest.raises(TensorFileError, match=words):
            load_tensors(data, name="bad.safetensors")
    huge_len = struct.pack("<Q", 2**63) + b"{}"
    with pytest.raises(TensorFileError):
        load_tensors(huge_len, name="bad.safetensors")
    with pytest.raises(TensorFileError, match="holds no tensors"):
        load_tensors(st_by_hand({}, b""), name="empty.safetensors")
    bools = st_by_hand({"m": {"dtype": "BOOL", "shape": [4], "data_offsets": [0, 4]}}, bytes(4))
    with pytest.raises(TensorFileError, match="booleans"):
        load_tensors(bools, name="m.safetensors")
    f4 = st_by_hand({"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}, bytes(2))
    assert not list_tensors(f4, name="f4.safetensors")[0].loadable
