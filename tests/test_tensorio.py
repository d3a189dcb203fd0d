"""quantlib.tensorio: sources, names and limits, a fuzz run over corrupted / truncated / mislabelled
files that must always give TensorFileError, chunked conversion and memory.  The readers' own
tests: test_tensorio_npy.py, test_tensorio_safetensors.py, test_tensorio_text_torch.py."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import (
    MAX_ELEMENTS,
    TensorFileError,
    load_tensor,
    load_tensors,
    save_safetensors,
    supported_extensions,
    torch_available,
)
from tests.tensorio_files import (
    RNG,
    W_SPECIAL,
    W,
    npy,
    npz,
    safetensors_numpy_only,
    same,
    st_by_hand,
    time_limit,
)


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
    import quantlib.tensorio._source as tio_source  # the module whose _convert reads the chunk size

    monkeypatch.setattr(tio_source, "CHUNK", 7)  # many chunks, a ragged last one
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
