"""quantlib.tensorio: every loader path, exact decoding, NaN/inf counts, limits, saving, and a
fuzz run over corrupted / truncated / mislabelled files that must always give TensorFileError."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import struct
import zipfile
import zlib
from contextlib import contextmanager

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import (
    MAX_ELEMENTS,
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    list_tensors,
    load_tensor,
    load_tensors,
    read_metadata,
    save_npy,
    save_quantized_safetensors,
    save_safetensors,
    supported_extensions,
    torch_available,
)

needs_torch = pytest.mark.skipif(not torch_available(), reason="PyTorch is not installed")


# --------------------------------------------------------------------------- helpers
class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` in the loader can hide it."""


@contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def npy(arr, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def npz(compressed=False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def st_by_hand(entries: dict, data: bytes, metadata=None, raw_header: bytes | None = None) -> bytes:
    """A safetensors file with whatever header we like (for malformed cases)."""
    h = dict(entries)
    if metadata is not None:
        h["__metadata__"] = metadata
    hb = raw_header if raw_header is not None else json.dumps(h).encode()
    return struct.pack("<Q", len(hb)) + hb + data


def same(a, b) -> bool:
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when widening NaN codes
        return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)


RNG = np.random.default_rng(1234)
W = RNG.standard_normal((6, 8)).astype(np.float32)
W_SPECIAL = W.copy()
W_SPECIAL[0, :3] = np.nan
W_SPECIAL[1, 0] = np.inf
W_SPECIAL[2, 1] = -np.inf


def safetensors_mixed() -> bytes:
    """F32 / F16 / BF16 / F8_E4M3 / F8_E5M2 / I64 entries, written by the safetensors library."""
    st_numpy = pytest.importorskip("safetensors.numpy")
    torch = pytest.importorskip("torch")
    from safetensors.torch import save

    t = torch.from_numpy(W_SPECIAL)
    del st_numpy
    return save(
        {
            "f32": t,
            "f16": t.half(),
            "bf16": t.bfloat16(),
            "e4m3": torch.from_numpy(W).to(torch.float8_e4m3fn),
            "e5m2": t.to(torch.float8_e5m2),
            "ids": torch.arange(10, dtype=torch.int64),
        },
        metadata={"format": "pt"},
    )


def safetensors_numpy_only() -> bytes:
    """F32 + F16 + BF16/F8 codes, written by our own writer (no torch needed)."""
    return save_safetensors(
        {
            "f32": W_SPECIAL,
            "f16": W_SPECIAL.astype(np.float16),
            "bf16": W_SPECIAL.astype(ml_dtypes.bfloat16).view(np.uint16),
            "e4m3": W.astype(ml_dtypes.float8_e4m3fn).view(np.uint8),
            "e5m2": W_SPECIAL.astype(ml_dtypes.float8_e5m2).view(np.uint8),
        },
        dtypes={"bf16": "BF16", "e4m3": "F8_E4M3", "e5m2": "F8_E5M2"},
        metadata={"quantlab.scheme": "test"},
    )


# --------------------------------------------------------------------------- npy
def test_npy_float32_with_nan_inf_counts():
    out = load_tensors(npy(W_SPECIAL), name="weights.npy")
    assert list(out) == ["weights"]
    t = out["weights"]
    assert isinstance(t, LoadedTensor)
    assert t.array.dtype == np.float32 and t.shape == (6, 8) and t.source_dtype == "float32"
    assert t.source_format == "npy"
    assert same(t.array, W_SPECIAL)
    assert (t.n_nan, t.n_inf, t.n_nonfinite) == (3, 2, 5)
    assert t.array.flags.writeable


@pytest.mark.parametrize(
    "dtype, out, src",
    [
        ("<f2", np.float32, "float16"),
        (">f4", np.float32, "float32"),
        ("<f8", np.float64, "float64"),
        (">f8", np.float64, "float64"),
    ],
)
def test_npy_float_dtypes_exact(dtype, out, src):
    a = W_SPECIAL.astype(dtype)
    t = load_tensor(npy(a), name="a.npy")
    assert t.array.dtype == out and t.source_dtype == src
    assert same(t.array, a)
    assert t.n_nan == 3 and t.n_inf == 2


def test_npy_fortran_order_and_scalar():
    a = np.asfortranarray(W)
    t = load_tensor(npy(a), name="f.npy")
    assert same(t.array, W)
    s = load_tensor(npy(np.float32(2.5)), name="s.npy")
    assert s.shape == () and float(s.array) == 2.5


@pytest.mark.parametrize(
    "dtype, out",
    [("i1", np.float32), ("u1", np.float32), ("i2", np.float32), ("<u2", np.float32), ("<i4", np.float64), ("<u4", np.float64), ("<i8", np.float64), (">i8", np.float64), ("<u8", np.float64)],
)
def test_npy_integers_converted_exactly(dtype, out):
    info = np.iinfo(np.dtype(dtype))
    vals = np.array([max(info.min, -(2**53)), -1 if info.min < 0 else 0, 0, 1, min(info.max, 2**53)], dtype=dtype)
    t = load_tensor(npy(vals), name="i.npy")
    assert t.array.dtype == out
    assert [int(v) for v in t.array] == [int(v) for v in vals]
    assert t.source_dtype == np.dtype(dtype).name


def test_int64_beyond_2_53_refused():
    with pytest.raises(TensorFileError, match=r"2\*\*53"):
        load_tensors(npy(np.array([1, 2**53 + 1], np.int64)), name="big.npy")
    with pytest.raises(TensorFileError, match=r"2\*\*53"):
        load_tensors(npy(np.array([-(2**60)], np.int64)), name="big.npy")
    t = load_tensor(npy(np.array([2**53, -(2**53)], np.int64)), name="ok.npy")
    assert t.array.tolist() == [2.0**53, -(2.0**53)]


@pytest.mark.parametrize(
    "arr, words",
    [
        (np.array([True, False]), "booleans"),
        (np.array([1 + 2j], np.complex64), "complex"),
        (np.array(["a", "b"]), "text strings"),
        (np.zeros(2, dtype=[("x", "f4"), ("y", "i4")]), "structured"),
        (np.zeros(3, ml_dtypes.bfloat16), "raw bytes"),
        (np.array(["2020-01-01"], "M8[D]"), "dates"),
        (np.zeros((0, 3), np.float32), "no values"),
    ],
)
def test_npy_refused_dtypes(arr, words):
    with pytest.raises(TensorFileError, match=words) as e:
        load_tensors(npy(arr), name="x.npy")
    assert "x.npy" in str(e.value)


def test_object_npy_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = npy(np.array([Evil(), 1], dtype=object), allow_pickle=True)
    with pytest.raises(TensorFileError, match="Python objects.*never loaded"):
        load_tensors(data, name="obj.npy")
    assert not marker.exists()
    raw_pickle = pickle.dumps(Evil())
    with pytest.raises(TensorFileError, match="pickle"):
        load_tensors(raw_pickle, name="obj.npy")
    with pytest.raises(TensorFileError, match="pickle"):
        load_tensors(raw_pickle, name="obj.pkl")
    assert not marker.exists()


# --------------------------------------------------------------------------- npz
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_several_arrays(compressed):
    data = npz(compressed, w=W_SPECIAL, b=np.arange(4, dtype=np.int16), h=W.astype(np.float16), mask=np.ones(3, bool))
    entries = list_tensors(data, name="m.npz")
    assert [e.name for e in entries] == ["w", "b", "h", "mask"]
    assert all(isinstance(e, TensorEntry) for e in entries)
    assert entries[0].shape == (6, 8) and entries[0].dtype == "float32" and entries[0].nbytes == 6 * 8 * 4
    assert entries[3].problem and "booleans" in entries[3].problem and not entries[3].loadable
    out = load_tensors(data, name="m.npz")
    assert list(out) == ["w", "b", "h"]  # the boolean mask is skipped
    assert same(out["w"].array, W_SPECIAL) and out["w"].n_nan == 3
    assert out["b"].array.tolist() == [0, 1, 2, 3] and out["b"].source_dtype == "int16"
    assert same(out["h"].array, W.astype(np.float16)) and out["h"].source_dtype == "float16"
    only = load_tensors(data, name="m.npz", select=["h"])
    assert list(only) == ["h"]
    with pytest.raises(TensorFileError, match="booleans"):
        load_tensors(data, name="m.npz", select=["mask"])
    with pytest.raises(TensorFileError, match="no tensor named 'nope'.*w, b, h, mask"):
        load_tensors(data, name="m.npz", select=["nope"])


def test_npz_with_nothing_loadable():
    with pytest.raises(TensorFileError, match="complex.*Nothing in the file can be loaded"):
        load_tensors(npz(c=np.ones(2, np.complex128), m=np.ones(2, bool)), name="c.npz")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(TensorFileError, match="empty .npz"):
        load_tensors(empty.getvalue(), name="e.npz")


def test_npz_bad_crc_detected():
    data = bytearray(npz(w=W))
    # flip one data byte of the stored (uncompressed) member: only the CRC can tell
    i = bytes(data).index(W.tobytes()[:16]) + 5
    data[i] ^= 0xFF
    with pytest.raises(TensorFileError, match="damaged or truncated zip"):
        load_tensors(bytes(data), name="crc.npz")


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


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize(
    "text, shape",
    [
        ("1,2,3\n4,5,6\n", (2, 3)),
        ("a;b\n1.5;2\n3;-4e-3\n", (2, 2)),
        ("# comment\n\n1\t2\n3\t4\n", (2, 2)),
        ("1 2  3\n4 5 6\n", (2, 3)),
        ("\ufeffx,y\n1,2\n", (2,)),
        ("1\n2\n3\n", (3,)),
        ('"1","2"\n"3","4"\n', (2, 2)),
    ],
)
def test_text_tables(text, shape):
    for name in ("t.csv", "t.txt", None):
        t = load_tensor(text.encode(), name=name)
        assert t.shape == shape and t.array.dtype == np.float64 and t.source_format == "text"


def test_text_nan_inf_and_errors():
    t = load_tensor(b"nan,1\ninf,-inf\n", name="n.csv")
    assert (t.n_nan, t.n_inf) == (1, 2)
    with pytest.raises(TensorFileError, match="line 3 has 3 values but the first row has 2"):
        load_tensors(b"1,2\n3,4\n5,6,7\n", name="r.csv")
    with pytest.raises(TensorFileError, match="line 2, column 2 holds 'abc'"):
        load_tensors(b"1,2\n3,abc\n", name="x.csv")
    with pytest.raises(TensorFileError, match="line 1, column 2 is empty"):
        load_tensors(b"1,,2\n", name="x.csv")
    with pytest.raises(TensorFileError, match="no numbers"):
        load_tensors(b"# only a comment\n\n", name="c.txt")
    with pytest.raises(TensorFileError, match="UTF-8"):
        load_tensors(b"\xff\xfe\x00\x01garbage", name="g.csv")


# --------------------------------------------------------------------------- torch
@needs_torch
def test_torch_state_dict(tmp_path):
    import torch

    sd = {
        "layer.weight": torch.from_numpy(W_SPECIAL),
        "layer.bf": torch.from_numpy(W).bfloat16(),
        "layer.fp8": torch.from_numpy(W).to(torch.float8_e5m2),
        "nested": {"ids": torch.arange(3), "flag": torch.ones(2, dtype=torch.bool)},
        "epoch": 3,
    }
    p = tmp_path / "m.pt"
    torch.save(sd, p)
    entries = {e.name: e for e in list_tensors(p)}
    assert set(entries) == {"layer.weight", "layer.bf", "layer.fp8", "nested.ids", "nested.flag"}
    assert entries["layer.bf"].dtype == "bfloat16" and not entries["nested.flag"].loadable
    out = load_tensors(p)
    assert same(out["layer.weight"].array, W_SPECIAL) and out["layer.weight"].n_nan == 3
    assert same(out["layer.bf"].array, W.astype(ml_dtypes.bfloat16))
    assert same(out["layer.fp8"].array, W.astype(ml_dtypes.float8_e5m2))
    assert out["nested.ids"].array.tolist() == [0, 1, 2]
    legacy = io.BytesIO()
    torch.save({"w": torch.from_numpy(W)}, legacy, _use_new_zipfile_serialization=False)
    assert same(load_tensor(legacy.getvalue(), name="old.pth").array, W)
    buf = io.BytesIO()
    torch.save(torch.from_numpy(W), buf)
    assert list(load_tensors(buf.getvalue(), name="t.pt")) == ["tensor"]


@needs_torch
def test_torch_weights_only_blocks_code(tmp_path):
    import torch

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Evil()}, p)
    with pytest.raises(TensorFileError, match="weights_only=True"):
        load_tensors(p)
    assert not marker.exists()
    buf = io.BytesIO()
    torch.save({"n": 1, "s": "text"}, buf)
    with pytest.raises(TensorFileError, match="no tensors"):
        load_tensors(buf.getvalue(), name="nothing.pt")


def test_pt_without_torch_says_so(monkeypatch):
    import quantlib.tensorio as tio

    monkeypatch.setattr(tio, "torch_available", lambda: False)
    zip_pt = io.BytesIO()
    with zipfile.ZipFile(zip_pt, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(TensorFileError, match="needs PyTorch"):
        load_tensors(zip_pt.getvalue(), name="m.pt")
    assert "pt" not in tio.supported_extensions()


# --------------------------------------------------------------------------- sources, names, limits
def test_sources_path_bytes_filelike_stream_uploadedfile(tmp_path):
    data = npy(W)
    p = tmp_path / "w.npy"
    p.write_bytes(data)

    class Stream(io.RawIOBase):  # not seekable, like a pipe
        def __init__(self, b):
            self.b = io.BytesIO(b)

        def readable(self):
            return True

        def readinto(self, buf):
            return self.b.readinto(buf)

    seekable = open(p, "rb")  # noqa: SIM115
    try:
        for src, name in [(p, None), (str(p), None), (data, "w.npy"), (bytearray(data), "w.npy"), (memoryview(data), "w.npy"), (io.BytesIO(data), "w.npy"), (Stream(data), "w.npy"), (seekable, None)]:
            t = load_tensor(src, name=name)
            assert t.name == "w" and same(t.array, W)
    finally:
        seekable.close()
    up = pytest.importorskip("streamlit.runtime.uploaded_file_manager")
    f = up.UploadedFile(up.UploadedFileRec("id", "upload.safetensors", "application/octet-stream", safetensors_numpy_only()), None)
    assert "f32" in load_tensors(f)
    f.write(b"x")  # the upload stays writable: no buffer export is kept
    with pytest.raises(TypeError):
        load_tensors(12345)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(TensorFileError, match="no such file"):
        load_tensors(tmp_path / "nope.npy")
    with pytest.raises(TensorFileError, match="not a regular file"):
        load_tensors(tmp_path)


def test_limits():
    with pytest.raises(TensorFileError, match="more than the limit of 1.0 KB"):
        load_tensors(npy(np.zeros(1000, np.float32)), name="big.npy", max_bytes=1024)
    with pytest.raises(TensorFileError, match="more than the limit of 100 per tensor"):
        load_tensors(npy(np.zeros(101, np.float32)), name="big.npy", max_elements=100)
    with pytest.raises(TensorFileError, match="unpacks to"):
        load_tensors(npz(True, z=np.zeros(100_000, np.float32)), name="bomb.npz", max_bytes=50_000)
    # a header declaring far more data than the file has: refused before any allocation
    hdr = npy(np.zeros(1, np.float32)).replace(b"(1,)", b"(10**12,)".replace(b"10**12", str(10**12).encode()))
    with pytest.raises(TensorFileError, match="truncated"):
        load_tensors(hdr, name="huge.npy")
    assert MAX_ELEMENTS == 2**26


def test_mislabelled_files():
    st = safetensors_numpy_only()
    assert "f32" in load_tensors(st, name="really_safetensors.npy")  # read by its magic
    assert "w" in load_tensors(npy(W), name="w.safetensors")
    assert "w" in load_tensors(npz(w=W), name="w.npy")
    for name in ("x.npy", "x.npz", "x.safetensors", "x.pt"):
        with pytest.raises(TensorFileError, match="not a .* file.*signature"):
            load_tensors(b"1,2,3\n", name=name)
    with pytest.raises(TensorFileError, match="accepted"):
        load_tensors(os.urandom(64) + b"\xff", name="x.bin2")


def test_supported_extensions():
    ext = supported_extensions()
    assert {"npy", "npz", "safetensors", "csv", "txt"} <= set(ext)
    assert ("pt" in ext) == torch_available()


# --------------------------------------------------------------------------- fuzz
def _outcome(data: bytes, name: str) -> str:
    """'ok' or 'error'; anything but TensorFileError (or a hang) fails the test."""
    with time_limit(5.0):
        try:
            out = load_tensors(data, name=name)
        except TensorFileError as exc:
            msg = str(exc)
            assert name in msg and len(msg) > 40, msg  # names the file and says what to do
            return "error"
    for t in out.values():
        assert t.array.dtype in (np.float32, np.float64)
        assert t.n_nan == int(np.isnan(t.array).sum()) and t.n_inf == int(np.isinf(t.array).sum())
    return "ok"


def _valid_files() -> dict[str, bytes]:
    files = {
        "w.npy": npy(W_SPECIAL),
        "h.npy": npy(np.asfortranarray(W.astype(">f2"))),
        "i.npy": npy(np.arange(12, dtype=np.int64).reshape(3, 4)),
        "m.npz": npz(a=W, b=np.arange(3, dtype=np.uint8)),
        "c.npz": npz(True, a=W_SPECIAL),
        "s.safetensors": safetensors_numpy_only(),
        "t.csv": b"x,y,z\n1,2,3\n4.5,nan,6\n",
        "t.txt": b"# c\n1 2\n3 4\n",
    }
    if torch_available():
        import torch

        buf = io.BytesIO()
        torch.save({"w": torch.from_numpy(W), "b": torch.from_numpy(W).bfloat16()}, buf)
        files["m.pt"] = buf.getvalue()
    return files


VALID = _valid_files()


@pytest.mark.parametrize("name", list(VALID))
def test_fuzz_truncated_flipped_mislabelled(name):
    data = VALID[name]
    assert _outcome(data, name) == "ok"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n = len(data)
    cuts = sorted(set(range(min(n, 80))) | set(rng.integers(0, n, 40).tolist()) | {n - 1, n - 2, n // 2})
    results = [_outcome(data[:k], name) for k in cuts]
    binary = not name.endswith((".csv", ".txt"))
    if binary:
        assert all(r == "error" for r in results), "a truncated binary file must never load"
    for _ in range(60):
        b = bytearray(data)
        for i in rng.integers(0, n, rng.integers(1, 5)):
            b[i] = int(rng.integers(0, 256))
        _outcome(bytes(b), name)
    for k in range(min(n, 64)):  # every byte of the header region, set to 0xFF
        b = bytearray(data)
        b[k] = 0xFF
        _outcome(bytes(b), name)
    for other in ("x.npy", "x.npz", "x.safetensors", "x.csv", "x.txt", "x.pt", "x"):
        _outcome(data, other)
    assert _outcome(b"", name) == "error"
    assert _outcome(data + os.urandom(7), name) in ("ok", "error")


def test_fuzz_special_cases(tmp_path):
    cases = {
        "empty.npy": b"",
        "zero_len.npy": npy(np.zeros(0, np.float32)),
        "zero_len.safetensors": save_safetensors({"a": np.zeros((0, 4), np.float32)}),
        "zero_len.npz": npz(a=np.zeros((3, 0))),
        "object.npy": npy(np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "none.npy": npy(np.array([None]), allow_pickle=True),
        "object.npz": npz(o=np.array([None, 1], dtype=object)),
        "pickle.npy": pickle.dumps({"w": W}),
        "huge_shape.npy": npy(np.zeros(2, np.float32)).replace(b"(2,)", b"(99999999999999999999,)"),
        "neg_shape.npy": npy(np.zeros(2, np.float32)).replace(b"(2,)", b"(-2,)"),
        "bad_descr.npy": npy(np.zeros(2, np.float32)).replace(b"'<f4'", b"'<q9'"),
        "eval.npy": npy(np.zeros(2, np.float32)).replace(b"'<f4'", b"__import__('os').getcwd()"),
        "version9.npy": b"\x93NUMPY\x09\x00" + bytes(100),
        "neg_offsets.safetensors": st_by_hand({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, bytes(4)),
        "overlap.safetensors": st_by_hand(
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)
        ),
        "huge_shape.safetensors": st_by_hand({"a": {"dtype": "BF16", "shape": [2**40, 2**40], "data_offsets": [0, 2**81]}}, bytes(8)),
        "zip_not_npz.npz": _zip_with({"readme.txt": b"hello"}),
        "zip_bad_member.npz": _zip_with({"a.npy": b"\x93NUMPY\x01\x00" + b"\xff" * 30}),
        "random.safetensors": os.urandom(256),
        "text.safetensors": b"1,2,3\n",
        "nul.csv": b"1,2\x00,3\n",
        "deep.npy": b"\x93NUMPY\x01\x00" + struct.pack("<H", 3000) + b"(" * 3000,
    }
    for name, data in cases.items():
        assert _outcome(data, name) == "error", name
    p = tmp_path / "trunc.safetensors"
    p.write_bytes(safetensors_numpy_only()[:-3])
    with time_limit(5.0), pytest.raises(TensorFileError, match="truncated"):
        load_tensors(p)


def _zip_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


# --------------------------------------------------------------------------- chunking and memory
def test_multi_chunk_conversion(monkeypatch):
    import quantlib.tensorio as tio

    monkeypatch.setattr(tio, "_CHUNK", 7)  # many chunks, a ragged last one
    x = RNG.standard_normal(100).astype(np.float32)
    x[[3, 50]] = np.nan
    x[99] = -np.inf
    data = save_safetensors(
        {"bf": x.astype(ml_dtypes.bfloat16).view(np.uint16), "h": x.astype(np.float16), "i": np.arange(-50, 50, dtype=np.int64)},
        dtypes={"bf": "BF16"},
    )
    out = load_tensors(data, name="c.safetensors")
    assert same(out["bf"].array, x.astype(ml_dtypes.bfloat16)) and (out["bf"].n_nan, out["bf"].n_inf) == (2, 1)
    assert same(out["h"].array, x.astype(np.float16)) and out["h"].n_nan == 2
    assert out["i"].array.tolist() == list(range(-50, 50))
    with pytest.raises(TensorFileError, match="truncated"):
        load_tensors(npy(x.astype(np.float16))[:-20], name="t.npy")


def test_select_string_and_metadata_types():
    d = save_safetensors({"a": W, "b": W})
    assert list(load_tensors(d, name="x.safetensors", select="b")) == ["b"]
    bad = st_by_hand({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4), metadata=[])
    with pytest.raises(TensorFileError, match="__metadata__"):
        load_tensors(bad, name="m.safetensors")


@pytest.mark.parametrize("tag", ["F32", "BF16"])
def test_peak_memory_of_a_path_load(tmp_path, tag):
    """Loading from a path needs the returned arrays (1x an F32 file, 2x a BF16 one) plus a few MB."""
    import tracemalloc

    n = 4 << 20  # 16 MB of F32 / 8 MB of BF16
    x = np.arange(n, dtype=np.float32)
    arr = x if tag == "F32" else (x.view(np.uint32) >> 16).astype(np.uint16)
    p = tmp_path / "big.safetensors"
    save_safetensors({"w": arr}, dtypes={"w": tag} if tag == "BF16" else None, file=p)
    del x, arr
    size = p.stat().st_size
    tracemalloc.start()
    try:
        out = load_tensors(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out["w"].array.nbytes == n * 4
    extra = peak - out["w"].array.nbytes
    assert extra < 6 * 2**20, f"peak {peak / size:.2f}x the file size, {extra / 2**20:.1f} MB beyond the result"


def test_upload_limit_matches_the_loader():
    """The app's upload limit (.streamlit/config.toml) is the loader's file limit, and both
    let through the largest tensor the lab takes: MAX_ELEMENTS float32 values in a file."""
    import tomllib
    from pathlib import Path

    from quantlib import tensorio

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    upload_mb = config["server"]["maxUploadSize"]
    assert upload_mb * tensorio.MB == tensorio.MAX_FILE_BYTES
    assert tensorio.MAX_FILE_BYTES > 4 * tensorio.MAX_ELEMENTS + 64 * 1024  # 64 Mi float32 + headers
