"""quantlib.tensorio: .npy and .npz files (dtypes, exact conversion, refusals, CRC)."""

from __future__ import annotations

import io
import pickle
import zipfile

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import (
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    list_tensors,
    load_tensor,
    load_tensors,
)
from tests.tensorio_files import (
    W_SPECIAL,
    W,
    npy,
    npz,
    same,
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
