"""Read tensors from the files people have, and write quantized results back out.

Reading (:func:`list_tensors`, :func:`load_tensors`, :func:`load_tensor`) accepts

* ``.npy`` and ``.npz`` (parsed here, never unpickled: ``allow_pickle`` is never on);
* ``.safetensors``, header parsed and checked here, including the dtypes numpy lacks:
  ``BF16``, ``F8_E4M3``, ``F8_E5M2``, ``F8_E4M3FNUZ``, ``F8_E5M2FNUZ``, ``F8_E8M0``, decoded
  exactly by :func:`quantlib.codec.decode`;
* ``.csv`` / ``.tsv`` / ``.txt``: a numeric matrix (comma, semicolon, tab or spaces; ``#``
  comments and one header row allowed);
* ``.pt`` / ``.pth`` / ``.bin`` only when PyTorch is installed, and only through
  ``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers.

The format is decided by the file's first bytes (``\\x93NUMPY``, ``PK`` zip with or without
a ``data.pkl`` member, the safetensors length prefix + ``{``), so a mislabelled file is read
as what it is; a file whose extension names a binary format it does not hold is refused.

Every problem with the *content* of a file (bad, truncated, empty, non-float, complex, object,
oversized, mislabelled) raises :class:`TensorFileError`, a ``ValueError`` whose message says
what was wrong, what is accepted and how to fix it. NaN and ±inf are kept and counted
(:attr:`LoadedTensor.n_nan`, :attr:`LoadedTensor.n_inf`).

Values come back as float32 (float32, float16, bfloat16, FP8 and integers of at most 16 bits:
all exact in float32) or float64 (float64, 32/64-bit integers: exact while ``|v| <= 2**53``,
refused above; csv/txt text, parsed to the nearest float64). Booleans are refused.

Memory: tensors are read straight into their output array (float32/float64 sources) or
converted in chunks of 2**18 elements, so loading a file from a path peaks at about the size of
the arrays returned, plus a few MB.

Writing: :func:`save_safetensors` (any tensors + string metadata),
:func:`save_quantized_safetensors` (codes + scales + the scheme in the metadata) and
:func:`save_npy`; each returns the file's bytes (for a download button) and can also write it.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import math
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self

import numpy as np

from .codec import decode

__all__ = [
    "ACCEPTED",
    "MAX_ELEMENTS",
    "MAX_FILE_BYTES",
    "MAX_TEXT_BYTES",
    "LoadedTensor",
    "TensorEntry",
    "TensorFileError",
    "list_tensors",
    "load_tensor",
    "load_tensors",
    "read_metadata",
    "save_npy",
    "save_quantized_safetensors",
    "save_safetensors",
    "supported_extensions",
    "torch_available",
]

MB = 1 << 20
MAX_FILE_BYTES = 512 * MB
"""Default limit on a file's size (and on what an .npz unpacks to)."""
MAX_ELEMENTS = 1 << 26
"""Default limit on the values in one tensor: 64 Mi (256 MB as float32)."""
MAX_TEXT_BYTES = 64 * MB
"""csv/txt files are parsed as text, which costs ~10x their size in memory: a lower limit."""
_MAX_NPY_HEADER = 1 << 16
_MAX_ST_HEADER = 64 * MB
_CHUNK = 1 << 18  # elements converted at a time: ~5 MB of temporaries for a bf16/fp8 decode
_MAX_NESTING = 32  # torch checkpoints: how deep nested dicts/lists are walked

ACCEPTED = (
    "accepted: .npy, .npz (numeric arrays), .safetensors (F64/F32/F16/BF16/F8_E4M3/F8_E5M2/"
    "F8_E4M3FNUZ/F8_E5M2FNUZ/F8_E8M0 and integer tensors), .csv/.tsv/.txt (a numeric matrix)"
)
_ACCEPTED_TORCH = ", .pt/.pth/.bin (PyTorch state dicts, read with weights_only=True)"


def torch_available() -> bool:
    """Whether PyTorch can be imported here (checked without importing it)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # pragma: no cover - broken installs
        return False


def _accepted() -> str:
    return ACCEPTED + (_ACCEPTED_TORCH if torch_available() else "; .pt/.pth need PyTorch, which is not installed")


def supported_extensions() -> list[str]:
    """File extensions (without dot) an upload widget should accept; .pt/.pth only with torch."""
    ext = ["npy", "npz", "safetensors", "csv", "tsv", "txt"]
    if torch_available():
        ext += ["pt", "pth", "bin"]
    return ext


class TensorFileError(ValueError):
    """A file could not be read as tensors: the message says why, what is accepted, and how to fix it."""


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a file as its header describes it (cheap: no data read).

    ``problem`` is None when the tensor can be loaded, else the reason it cannot
    (e.g. booleans, complex numbers, too many values); such entries are skipped by
    :func:`load_tensors` unless asked for by name, which raises :class:`TensorFileError`.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str  # the stored dtype: "float32", "bfloat16", "float8_e4m3fn", "int64", "bool", "text" ...
    nbytes: int
    problem: str | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def loadable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, eq=False)
class LoadedTensor:
    """A tensor read from a file: values as float32 or float64, with NaN/inf counted."""

    name: str
    array: np.ndarray
    source_dtype: str  # as stored: "bfloat16", "float8_e4m3fn", "float16", "int8", "text", ...
    source_format: str  # "npy", "npz", "safetensors", "text", "torch"
    n_nan: int
    n_inf: int

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def size(self) -> int:
        return int(self.array.size)

    @property
    def n_nonfinite(self) -> int:
        return self.n_nan + self.n_inf


# --------------------------------------------------------------------------- sources
class _MemStream(io.RawIOBase):
    """A seekable read-only stream over a memoryview, without copying it."""

    def __init__(self, mv: memoryview) -> None:
        super().__init__()
        self._mv = mv
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._mv)}[whence]
        pos = base + offset
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b) -> int:
        dest = memoryview(b).cast("B")
        n = max(0, min(len(dest), len(self._mv) - self._pos))
        dest[:n] = self._mv[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        end = len(self._mv) if size is None or size < 0 else min(len(self._mv), self._pos + size)
        out = bytes(self._mv[self._pos : max(self._pos, end)])
        self._pos += len(out)
        return out

    def readall(self) -> bytes:
        return self.read(-1)


class _Source:
    """The bytes of one file: a path, an in-memory buffer, or a seekable file object."""

    def __init__(self, label: str, size: int, *, path: str | None = None, mem: memoryview | None = None, fobj: BinaryIO | None = None):
        self.label = label
        self.size = size
        self.path = path
        self.mem = mem
        self.fobj = fobj
        self._stream: BinaryIO | None = None

    def __enter__(self) -> Self:
        if self.path is not None:
            try:
                self._stream = open(self.path, "rb")
            except OSError as exc:
                raise TensorFileError(f"{self.label} could not be opened: {exc.strerror or exc}") from None
        elif self.mem is not None:
            self._stream = _MemStream(self.mem)
        else:
            self._stream = self.fobj
        return self

    def __exit__(self, *exc) -> None:
        if self.path is not None and self._stream is not None:
            self._stream.close()
        self._stream = None

    @property
    def stream(self) -> BinaryIO:
        assert self._stream is not None
        return self._stream

    def read_at(self, offset: int, n: int, what: str) -> bytes:
        s = self.stream
        s.seek(offset)
        data = _read_n(s, n)
        if len(data) != n:
            raise TensorFileError(
                f"{self.label} is truncated: {what} needs {n} bytes at offset {offset}, "
                f"but the file has {self.size} bytes; upload the complete file"
            )
        return data


def _read_n(stream: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def _readinto_exact(stream: BinaryIO, dest: memoryview) -> int:
    """Fill dest from stream; returns how many bytes arrived (less than len(dest) at EOF)."""
    got, n = 0, len(dest)
    while got < n:
        k = stream.readinto(dest[got:])
        if not k:
            break
        got += k
    return got


def _open_source(file: Any, name: str | None, max_bytes: int) -> _Source:
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        label = name or os.path.basename(path) or path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise TensorFileError(f"{label}: no such file ({path})") from None
        except OSError as exc:
            raise TensorFileError(f"{label} could not be read: {exc.strerror or exc}") from None
        if not os.path.isfile(path):
            raise TensorFileError(f"{label} is not a regular file (a directory?); choose a tensor file ({_accepted()})")
        _check_size(label, st.st_size, max_bytes)
        return _Source(label, st.st_size, path=path)
    if isinstance(file, (bytes, bytearray, memoryview)):
        mv = memoryview(file)
        if not mv.contiguous:
            mv = memoryview(mv.tobytes())
        mv = mv.cast("B")
        label = name or "upload"
        _check_size(label, len(mv), max_bytes)
        return _Source(label, len(mv), mem=mv)
    if hasattr(file, "read"):
        label = name or os.path.basename(str(getattr(file, "name", "") or "")) or "upload"
        if hasattr(file, "getbuffer"):  # BytesIO, Streamlit's UploadedFile: no copy
            mv = file.getbuffer().cast("B")
            _check_size(label, len(mv), max_bytes)
            return _Source(label, len(mv), mem=mv)
        seekable = False
        try:
            seekable = bool(file.seekable())
        except (AttributeError, OSError, ValueError):
            pass
        if seekable:
            size = file.seek(0, 2)
            file.seek(0)
            _check_size(label, size, max_bytes)
            return _Source(label, size, fobj=file)
        data = file.read(max_bytes + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"file.read() returned {type(data).__name__}; open the file in binary mode ('rb')")
        _check_size(label, len(data), max_bytes)
        return _Source(label, len(data), mem=memoryview(data))
    raise TypeError(f"file must be a path, bytes or a binary file object, not {type(file).__name__}")


def _check_size(label: str, size: int, max_bytes: int) -> None:
    if size == 0:
        raise TensorFileError(f"{label} is empty (0 bytes); upload a file that holds a tensor ({_accepted()})")
    if size > max_bytes:
        raise TensorFileError(
            f"{label} is {_fmt_bytes(size)}, more than the limit of {_fmt_bytes(max_bytes)}; "
            "upload one layer's weights (e.g. save a single tensor with np.save or safetensors)"
        )


def _fmt_bytes(n: int) -> str:
    for unit, k in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------- dtypes
@dataclass(frozen=True)
class _Kind:
    """How one stored dtype becomes float values."""

    name: str  # source dtype name shown to people
    raw: np.dtype | None  # the numpy dtype of the stored elements (codes for bf16/fp8)
    out: np.dtype | None  # float32 or float64
    fmt: str | None = None  # quantlib format decoding the codes
    problem: str | None = None  # why it cannot be loaded
    bits: int = 0  # stored bits per element

    @property
    def itemsize(self) -> int:
        return self.raw.itemsize if self.raw is not None else 0


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _numpy_kind(dt: np.dtype, where: str) -> _Kind:
    """Classify a numpy dtype from an .npy header or a torch tensor."""
    k = dt.kind
    if k == "f":
        if dt.itemsize in (2, 4, 8):
            out = _F64 if dt.itemsize == 8 else _F32
            return _Kind(f"float{dt.itemsize * 8}", dt, out, bits=dt.itemsize * 8)
        return _Kind(
            f"float{dt.itemsize * 8}", None, None,
            problem=f"{where} holds {dt.itemsize * 8}-bit long doubles, which are not read here; save arr.astype(np.float64)",
        )
    if k in "iu":
        out = _F32 if dt.itemsize <= 2 else _F64
        return _Kind(dt.name, dt, out, bits=dt.itemsize * 8)
    return _Kind(str(dt), None, None, problem=_dtype_problem(dt, where))


def _dtype_problem(dt: np.dtype, where: str) -> str:
    k = dt.kind
    if k == "b":
        return f"{where} holds booleans (dtype bool), not numbers; save arr.astype(np.float32) instead"
    if k == "c":
        return (
            f"{where} holds complex numbers ({dt.name}); only real numbers are accepted: "
            "save arr.real and arr.imag as two arrays"
        )
    if k == "O":
        return (
            f"{where} holds Python objects (dtype object), which would need unpickling and are never loaded; "
            "only numeric arrays are accepted: save it with np.save(path, arr.astype(np.float32))"
        )
    if k == "V":
        if dt.names:
            return f"{where} holds structured records ({dt}); save each numeric field as its own array"
        return (
            f"{where} holds raw bytes (dtype {dt}); an ml_dtypes array (bfloat16, float8) saved with np.save "
            "looks like this: save it as .safetensors (BF16/F8 are read) or as arr.astype(np.float32)"
        )
    if k in "US":
        return f"{where} holds text strings ({dt}); convert the numbers with arr.astype(np.float32)"
    if k in "mM":
        return f"{where} holds dates or time spans ({dt}), not numbers to quantize"
    return f"{where} has dtype {dt}, which is not a number type; save arr.astype(np.float32)"


def _st_kinds() -> dict[str, _Kind]:
    le = lambda s: np.dtype(s).newbyteorder("<")
    kinds = {
        "F64": _Kind("float64", le("f8"), _F64, bits=64),
        "F32": _Kind("float32", le("f4"), _F32, bits=32),
        "F16": _Kind("float16", le("f2"), _F32, bits=16),
        "BF16": _Kind("bfloat16", le("u2"), _F32, fmt="bfloat16", bits=16),
        "F8_E4M3": _Kind("float8_e4m3fn", np.dtype("u1"), _F32, fmt="float8_e4m3fn", bits=8),
        "F8_E5M2": _Kind("float8_e5m2", np.dtype("u1"), _F32, fmt="float8_e5m2", bits=8),
        "F8_E4M3FNUZ": _Kind("float8_e4m3fnuz", np.dtype("u1"), _F32, fmt="float8_e4m3fnuz", bits=8),
        "F8_E5M2FNUZ": _Kind("float8_e5m2fnuz", np.dtype("u1"), _F32, fmt="float8_e5m2fnuz", bits=8),
        "F8_E8M0": _Kind("float8_e8m0fnu", np.dtype("u1"), _F32, fmt="float8_e8m0fnu", bits=8),
        "I64": _Kind("int64", le("i8"), _F64, bits=64),
        "U64": _Kind("uint64", le("u8"), _F64, bits=64),
        "I32": _Kind("int32", le("i4"), _F64, bits=32),
        "U32": _Kind("uint32", le("u4"), _F64, bits=32),
        "I16": _Kind("int16", le("i2"), _F32, bits=16),
        "U16": _Kind("uint16", le("u2"), _F32, bits=16),
        "I8": _Kind("int8", np.dtype("i1"), _F32, bits=8),
        "U8": _Kind("uint8", np.dtype("u1"), _F32, bits=8),
        "BOOL": _Kind("bool", None, None, bits=8, problem="holds booleans (BOOL), not numbers to quantize"),
        "C64": _Kind(
            "complex64", None, None, bits=64,
            problem="holds complex numbers (C64); only real numbers are accepted: store the real and imaginary parts as two tensors",
        ),
    }
    for tag, bits in (("F4", 4), ("F6_E2M3", 6), ("F6_E3M2", 6)):
        kinds[tag] = _Kind(
            tag, None, None, bits=bits,
            problem=f"holds packed {bits}-bit floats ({tag}), which are not read yet; store them as F16/F32 values or U8 codes",
        )
    return kinds


_ST_KINDS = _st_kinds()
_FMT_TO_ST = {k.fmt: tag for tag, k in _ST_KINDS.items() if k.fmt}


# --------------------------------------------------------------------------- conversion
def _convert(fill: Callable[[memoryview], int], kind: _Kind, shape: tuple[int, ...], label: str) -> tuple[np.ndarray, int, int]:
    """Read ``prod(shape)`` stored elements through ``fill`` and return (float array, n_nan, n_inf).

    ``fill(dest)`` writes bytes into ``dest`` and returns how many it wrote (fewer = truncated).
    float32/float64 little-endian data is read straight into the output; the rest goes through
    a 2**18-element buffer, so memory stays at the size of the output plus a few MB.
    """
    count = math.prod(shape)
    raw_dt, out_dt = kind.raw, kind.out
    assert raw_dt is not None and out_dt is not None
    out = np.empty(count, dtype=out_dt)
    direct = kind.fmt is None and raw_dt == out_dt and raw_dt.isnative
    if direct:
        want = count * raw_dt.itemsize
        got = fill(memoryview(out).cast("B"))
        if got != want:
            raise _truncated(label, want, got)
    else:
        buf = np.empty(min(count, _CHUNK), dtype=raw_dt)
        for start in range(0, count, _CHUNK):
            k = min(_CHUNK, count - start)
            want = k * raw_dt.itemsize
            got = fill(memoryview(buf[:k]).cast("B"))
            if got != want:
                raise _truncated(label, count * raw_dt.itemsize, start * raw_dt.itemsize + got)
            raw = buf[:k]
            if kind.fmt is not None:
                out[start : start + k] = decode(raw.astype(raw.dtype.newbyteorder("="), copy=False), kind.fmt, dtype=np.float32)
            else:
                if raw_dt.kind in "iu" and raw_dt.itemsize == 8:
                    _check_int53(raw, label)
                out[start : start + k] = raw
    n_nan = n_inf = 0
    if out_dt.kind == "f" and (kind.raw.kind == "f" or kind.fmt is not None):
        for start in range(0, count, _CHUNK):
            c = out[start : start + _CHUNK]
            n_nan += int(np.count_nonzero(np.isnan(c)))
            n_inf += int(np.count_nonzero(np.isinf(c)))
    return out.reshape(shape), n_nan, n_inf


def _check_int53(raw: np.ndarray, label: str) -> None:
    lim = 1 << 53
    big = (raw > lim) | (raw < -lim) if raw.dtype.kind == "i" else raw > np.uint64(lim)
    if big.any():
        v = raw[np.argmax(big)]
        raise TensorFileError(
            f"{label} holds the integer {int(v)}, beyond ±2**53, which float64 cannot hold exactly; "
            "integers are accepted while |v| <= 2**53: convert the tensor to float yourself if rounding is acceptable"
        )


def _truncated(label: str, want: int, got: int) -> TensorFileError:
    return TensorFileError(
        f"{label} is truncated: its header declares {want} bytes of data but only {got} are there; upload the complete file"
    )


def _too_many(label: str, shape, max_elements: int) -> str:
    return (
        f"{label} has {math.prod(shape):,} values (shape {tuple(shape)}), more than the limit of {max_elements:,} per tensor; "
        "save a slice of it (e.g. one layer or arr[:1024])"
    )


def _fill_from(stream: BinaryIO) -> Callable[[memoryview], int]:
    return lambda dest: _readinto_exact(stream, dest)


# --------------------------------------------------------------------------- readers
class _Reader:
    """One file opened as a table of tensors."""

    fmt = ""

    def entries(self) -> list[TensorEntry]:  # pragma: no cover - interface
        raise NotImplementedError

    def load(self, entry: TensorEntry) -> LoadedTensor:  # pragma: no cover - interface
        raise NotImplementedError


# ---- .npy
@dataclass
class _NpyHeader:
    kind: _Kind
    shape: tuple[int, ...]
    fortran: bool
    data_offset: int  # bytes from the start of the .npy stream


def _read_npy_header(stream: BinaryIO, label: str) -> _NpyHeader:
    pre = _read_n(stream, 8)
    if len(pre) < 8 or pre[:6] != b"\x93NUMPY":
        raise TensorFileError(f"{label} is not a .npy file: it does not start with the magic bytes \\x93NUMPY; {_accepted()}")
    major, minor = pre[6], pre[7]
    if major == 1:
        lb = _read_n(stream, 2)
        hlen = struct.unpack("<H", lb)[0] if len(lb) == 2 else -1
        start = 10
    elif major in (2, 3):
        lb = _read_n(stream, 4)
        hlen = struct.unpack("<I", lb)[0] if len(lb) == 4 else -1
        start = 12
    else:
        raise TensorFileError(f"{label} is a .npy file of format version {major}.{minor}, which is unknown; versions 1-3 are read: re-save it with np.save")
    if hlen < 0:
        raise TensorFileError(f"{label} is truncated inside its .npy header; upload the complete file")
    if hlen > _MAX_NPY_HEADER:
        raise TensorFileError(f"{label} declares a .npy header of {hlen} bytes (at most {_MAX_NPY_HEADER} are accepted): the file is damaged or not from np.save")
    raw = _read_n(stream, hlen)
    if len(raw) != hlen:
        raise TensorFileError(f"{label} is truncated inside its .npy header; upload the complete file")
    bad = f"{label} has a damaged .npy header"
    try:
        text = raw.decode("latin1" if major < 3 else "utf8")
        d = ast.literal_eval(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError, TypeError) as exc:
        raise TensorFileError(f"{bad} ({type(exc).__name__}); re-save the array with np.save") from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise TensorFileError(f"{bad}: it must be a dict with keys descr, fortran_order and shape; re-save the array with np.save")
    shape, fortran, descr = d["shape"], d["fortran_order"], d["descr"]
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
        raise TensorFileError(f"{bad}: shape {shape!r} is not a tuple of non-negative integers; re-save the array with np.save")
    if not isinstance(fortran, bool):
        raise TensorFileError(f"{bad}: fortran_order is {fortran!r}, not True/False; re-save the array with np.save")
    if not isinstance(descr, str):
        kind = _Kind("structured", None, None, problem=f"{label} holds structured records; save each numeric field as its own array")
    else:
        try:
            dt = np.dtype(descr)
        except (TypeError, ValueError, SyntaxError):
            raise TensorFileError(f"{bad}: unknown dtype {descr[:40]!r}; re-save the array with np.save") from None
        kind = _numpy_kind(dt, label)
    return _NpyHeader(kind, shape, fortran, start + hlen)


def _npy_load_from(stream: BinaryIO, hdr: _NpyHeader, name: str, label: str, fmt: str, max_elements: int) -> LoadedTensor:
    _raise_problem(_npy_problem(hdr, label, max_elements))
    arr, n_nan, n_inf = _convert(_fill_from(stream), hdr.kind, hdr.shape[::-1] if hdr.fortran else hdr.shape, label)
    if hdr.fortran:
        arr = arr.T
    return LoadedTensor(name, arr, hdr.kind.name, fmt, n_nan, n_inf)


def _npy_problem(hdr: _NpyHeader, label: str, max_elements: int) -> str | None:
    if hdr.kind.problem:
        return hdr.kind.problem
    if math.prod(hdr.shape) == 0:
        return f"{label} holds no values (shape {hdr.shape}); upload a non-empty array"
    if math.prod(hdr.shape) > max_elements:
        return _too_many(label, hdr.shape, max_elements)
    return None


def _raise_problem(problem: str | None) -> None:
    if problem:
        raise TensorFileError(problem)


class _NpyReader(_Reader):
    fmt = "npy"

    def __init__(self, src: _Source, max_elements: int):
        self.src, self.max_elements = src, max_elements
        src.stream.seek(0)
        self.hdr = _read_npy_header(src.stream, src.label)
        self.name = Path(src.label).stem or "array"
        k = self.hdr.kind
        need = math.prod(self.hdr.shape) * k.itemsize
        if k.problem is None and self.hdr.data_offset + need > src.size:
            raise TensorFileError(
                f"{src.label} is truncated: its header declares shape {self.hdr.shape} of {k.name} "
                f"({_fmt_bytes(need)} of data) but the file has only {src.size - self.hdr.data_offset} bytes of data; upload the complete file"
            )

    def entries(self) -> list[TensorEntry]:
        k = self.hdr.kind
        return [TensorEntry(self.name, self.hdr.shape, k.name, math.prod(self.hdr.shape) * k.itemsize, _npy_problem(self.hdr, self.src.label, self.max_elements))]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        self.src.stream.seek(self.hdr.data_offset)
        return _npy_load_from(self.src.stream, self.hdr, self.name, self.src.label, "npy", self.max_elements)


# ---- .npz
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError, OverflowError, struct.error)


class _NpzReader(_Reader):
    fmt = "npz"

    def __init__(self, src: _Source, zf: zipfile.ZipFile, max_bytes: int, max_elements: int):
        self.src, self.zf, self.max_elements = src, zf, max_elements
        self.members: dict[str, tuple[zipfile.ZipInfo, _NpyHeader | None, str | None]] = {}
        infos = [i for i in zf.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise TensorFileError(
                f"{src.label} unpacks to {_fmt_bytes(total)}, more than the limit of {_fmt_bytes(max_bytes)}; save fewer or smaller arrays"
            )
        for info in infos:
            name = info.filename.removesuffix(".npy")
            where = f"{src.label}[{name}]"
            if not info.filename.endswith(".npy"):
                self.members[name] = (info, None, f"{where} is not an .npy member; .npz files hold arrays saved by np.savez")
                continue
            try:
                with zf.open(info) as f:
                    hdr = _read_npy_header(f, where)
            except _ZIP_ERRORS as exc:
                raise _zip_error(src.label, exc) from None
            need = hdr.data_offset + math.prod(hdr.shape) * hdr.kind.itemsize
            if hdr.kind.problem is None and need > info.file_size:
                raise TensorFileError(
                    f"{where} is truncated: its header declares shape {hdr.shape} of {hdr.kind.name} "
                    f"but the member holds only {info.file_size} bytes; re-save with np.savez"
                )
            self.members[name] = (info, hdr, _npy_problem(hdr, where, max_elements))
        if not self.members:
            raise TensorFileError(f"{src.label} is an empty .npz (no arrays); save arrays with np.savez(path, name=arr)")

    def entries(self) -> list[TensorEntry]:
        out = []
        for name, (info, hdr, problem) in self.members.items():
            if hdr is None:
                out.append(TensorEntry(name, (), "unknown", info.file_size, problem))
            else:
                out.append(TensorEntry(name, hdr.shape, hdr.kind.name, math.prod(hdr.shape) * hdr.kind.itemsize, problem))
        return out

    def load(self, entry: TensorEntry) -> LoadedTensor:
        info, hdr, problem = self.members[entry.name]
        _raise_problem(problem)
        assert hdr is not None
        where = f"{self.src.label}[{entry.name}]"
        try:
            with self.zf.open(info) as f:
                _read_n(f, hdr.data_offset)
                t = _npy_load_from(f, hdr, entry.name, where, "npz", self.max_elements)
                f.read(1)  # reach the member's end: the CRC is checked there
        except _ZIP_ERRORS as exc:
            raise _zip_error(self.src.label, exc) from None
        return t


def _zip_error(label: str, exc: BaseException) -> TensorFileError:
    return TensorFileError(
        f"{label} is a damaged or truncated zip archive ({type(exc).__name__}: {str(exc)[:120]}); "
        "re-save it (np.savez for arrays, torch.save for PyTorch)"
    )


# ---- .safetensors
@dataclass(frozen=True)
class _StTensor:
    name: str
    kind: _Kind
    tag: str
    shape: tuple[int, ...]
    begin: int
    end: int


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    d: dict = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _looks_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    n = struct.unpack("<Q", head[:8])[0]
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def _parse_safetensors(src: _Source) -> tuple[list[_StTensor], dict[str, str], int]:
    label = src.label
    bad = f"{label} has a damaged safetensors header"
    if src.size < 8:
        raise TensorFileError(f"{label} is too short ({src.size} bytes) to be a safetensors file, which starts with an 8-byte header length")
    n = struct.unpack("<Q", src.read_at(0, 8, "the header length"))[0]
    if n > _MAX_ST_HEADER:
        raise TensorFileError(f"{bad}: it declares a header of {n:,} bytes (at most {_MAX_ST_HEADER:,} are accepted); upload the complete, original file")
    if 8 + n > src.size:
        raise TensorFileError(f"{label} is truncated: the safetensors header needs {n:,} bytes but the file has {src.size - 8:,} after the length; upload the complete file")
    raw = src.read_at(8, n, "the header")
    try:
        obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TensorFileError(f"{bad} (not valid JSON: {str(exc)[:100]}); re-save it with safetensors' save_file") from None
    if not isinstance(obj, dict):
        raise TensorFileError(f"{bad}: the header must be a JSON object; re-save it with safetensors' save_file")
    meta = obj.pop("__metadata__", None)
    meta = {} if meta is None else meta
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TensorFileError(f"{bad}: __metadata__ must map strings to strings")
    data_start = 8 + n
    data_len = src.size - data_start
    tensors = []
    for name, info in obj.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise TensorFileError(f"{bad}: entry {name!r} needs dtype, shape and data_offsets")
        tag, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(tag, str) or tag not in _ST_KINDS:
            raise TensorFileError(f"{bad}: entry {name!r} has unknown dtype {str(tag)[:20]!r}; known: {', '.join(_ST_KINDS)}")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise TensorFileError(f"{bad}: entry {name!r} has shape {str(shape)[:60]}, not a list of non-negative integers")
        if not (isinstance(offs, list) and len(offs) == 2 and all(type(o) is int and o >= 0 for o in offs) and offs[0] <= offs[1]):
            raise TensorFileError(f"{bad}: entry {name!r} has data_offsets {str(offs)[:60]}, not [begin, end] with 0 <= begin <= end")
        kind = _ST_KINDS[tag]
        nbits = math.prod(shape) * kind.bits
        if nbits % 8:
            raise TensorFileError(f"{bad}: entry {name!r} ({tag}, shape {shape}) does not fill whole bytes")
        if offs[1] - offs[0] != nbits // 8:
            raise TensorFileError(
                f"{bad}: entry {name!r} ({tag}, shape {shape}) needs {nbits // 8:,} bytes but its data_offsets {offs} span {offs[1] - offs[0]:,}"
            )
        tensors.append(_StTensor(name, kind, tag, tuple(shape), offs[0], offs[1]))
    pos = 0
    for t in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if t.begin != pos:
            what = "overlaps the tensor before it" if t.begin < pos else f"leaves a gap of {t.begin - pos} bytes before it"
            raise TensorFileError(f"{bad}: the data of {t.name!r} (offsets {t.begin}..{t.end}) {what}; re-save it with safetensors' save_file")
        pos = t.end
    if pos != data_len:
        if pos > data_len:
            raise TensorFileError(
                f"{label} is truncated: its header declares {pos:,} bytes of tensor data but the file holds {data_len:,}; upload the complete file"
            )
        raise TensorFileError(f"{bad}: the tensors cover {pos:,} bytes but {data_len:,} follow the header (extra data); re-save it with safetensors' save_file")
    return tensors, meta, data_start


class _SafetensorsReader(_Reader):
    fmt = "safetensors"

    def __init__(self, src: _Source, max_elements: int):
        self.src, self.max_elements = src, max_elements
        tensors, self.metadata, self.data_start = _parse_safetensors(src)
        self.tensors = {t.name: t for t in tensors}

    def _problem(self, t: _StTensor) -> str | None:
        where = f"{self.src.label}[{t.name}]"
        if t.kind.problem:
            return f"{where} {t.kind.problem}"
        if math.prod(t.shape) == 0:
            return f"{where} holds no values (shape {t.shape})"
        if math.prod(t.shape) > self.max_elements:
            return _too_many(where, t.shape, self.max_elements)
        return None

    def entries(self) -> list[TensorEntry]:
        return [TensorEntry(t.name, t.shape, t.kind.name, t.end - t.begin, self._problem(t)) for t in self.tensors.values()]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        t = self.tensors[entry.name]
        _raise_problem(self._problem(t))
        s = self.src.stream
        s.seek(self.data_start + t.begin)
        arr, n_nan, n_inf = _convert(_fill_from(s), t.kind, t.shape, f"{self.src.label}[{t.name}]")
        return LoadedTensor(t.name, arr, t.kind.name, "safetensors", n_nan, n_inf)


# ---- csv / txt
def _parse_text(src: _Source, max_elements: int) -> tuple[np.ndarray, str]:
    label = src.label
    if src.size > MAX_TEXT_BYTES:
        raise TensorFileError(
            f"{label} is {_fmt_bytes(src.size)} of text, more than the {_fmt_bytes(MAX_TEXT_BYTES)} accepted for csv/txt; "
            "save large tensors as .npy or .safetensors"
        )
    raw = src.read_at(0, src.size, "the text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TensorFileError(
            f"{label} is neither a known binary tensor format nor UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); {_accepted()}"
        ) from None
    if "\x00" in text:
        raise TensorFileError(f"{label} holds binary data (NUL bytes), not a text table; {_accepted()}")
    rows = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines())]
    rows = [(i, ln) for i, ln in rows if ln and not ln.startswith("#")]
    if not rows:
        raise TensorFileError(f"{label} holds no numbers (only blank or # comment lines); a csv/txt file must hold a numeric matrix, one row per line")
    first = rows[0][1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)

    def cells(line: str) -> list[str]:
        parts = line.split(delim) if delim else line.split()
        return [p.strip().strip('"').strip() for p in parts]

    def number(c: str) -> bool:
        try:
            float(c)
        except ValueError:
            return False
        return True

    header = None
    if len(rows) > 1 and not all(number(c) for c in cells(first)) and all(c for c in cells(first)):
        header = cells(first)
        rows = rows[1:]
    ncols = len(cells(rows[0][1]))
    if len(rows) * ncols > max_elements:
        raise TensorFileError(_too_many(label, (len(rows), ncols), max_elements))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt([ln for _, ln in rows], delimiter=delim, dtype=np.float64, ndmin=2, quotechar='"', comments=None)
    except ValueError as exc:
        _diagnose_text(label, rows, cells, number, delim, header)
        raise TensorFileError(f"{label} could not be parsed as a numeric matrix ({str(exc)[:120]}); a csv/txt file must hold only numbers") from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    return arr, Path(label).stem or "table"


def _diagnose_text(label, rows, cells, number, delim, header) -> None:
    """Raise TensorFileError naming the first ragged row or non-number cell, if there is one."""
    sep = {",": "comma", ";": "semicolon", "\t": "tab", None: "whitespace"}[delim]
    ncols = None
    for lineno, line in rows:
        cs = cells(line)
        if ncols is None:
            ncols = len(cs)
            if header is not None and len(header) != ncols:
                raise TensorFileError(
                    f"{label}: the header row has {len(header)} columns but line {lineno} has {ncols} ({sep}-separated); "
                    "every row needs the same number of columns"
                )
        elif len(cs) != ncols:
            raise TensorFileError(
                f"{label}: line {lineno} has {len(cs)} values but the first row has {ncols} ({sep}-separated); "
                "every row needs the same number of columns"
            )
        for j, c in enumerate(cs):
            if not number(c):
                what = "is empty" if not c else f"holds {c[:30]!r}, not a number"
                raise TensorFileError(
                    f"{label}: line {lineno}, column {j + 1} {what}; a csv/txt file must hold only numbers "
                    "(one header row and # comments are allowed; write NaN/inf as nan/inf)"
                )


class _TextReader(_Reader):
    fmt = "text"

    def __init__(self, src: _Source, max_elements: int):
        self.arr, self.name = _parse_text(src, max_elements)

    def entries(self) -> list[TensorEntry]:
        return [TensorEntry(self.name, self.arr.shape, "text", self.arr.nbytes)]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        a = self.arr
        return LoadedTensor(self.name, a, "text", "text", int(np.isnan(a).sum()), int(np.isinf(a).sum()))


# ---- .pt / .pth
_TORCH_FMT = {
    "bfloat16": "bfloat16",
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
}


class _TorchReader(_Reader):
    fmt = "torch"

    def __init__(self, src: _Source, max_elements: int):
        self.src, self.max_elements = src, max_elements
        label = src.label
        if not torch_available():
            raise TensorFileError(
                f"{label} is a PyTorch file, and reading it needs PyTorch, which is not installed here; "
                "export the tensors with safetensors (safetensors.torch.save_file) or np.save(t.float().numpy())"
            )
        try:
            import torch
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - a broken torch install
            raise TensorFileError(f"{label} is a PyTorch file, but PyTorch failed to import ({type(exc).__name__}); export it as .safetensors") from None
        self.torch = torch
        target: Any = src.path if src.path is not None else io.BytesIO(src.read_at(0, src.size, "the file"))
        try:
            obj = torch.load(target, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types (UnpicklingError, RuntimeError, ...) for bad files
            msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
            raise TensorFileError(
                f"{label} could not be read by torch.load(weights_only=True), which only loads tensors and plain containers "
                f"and never runs code from the file ({type(exc).__name__}: {msg}); save a state dict of tensors with torch.save(model.state_dict(), path)"
            ) from None
        self.tensors: dict[str, Any] = {}
        self._walk(obj, "", 0)
        if not self.tensors:
            raise TensorFileError(
                f"{label} holds no tensors (it holds a {type(obj).__name__}); save a state dict of tensors with torch.save(model.state_dict(), path)"
            )

    def _walk(self, obj: Any, prefix: str, depth: int) -> None:
        torch = self.torch
        if isinstance(obj, torch.Tensor):
            self.tensors[prefix or "tensor"] = obj
        elif depth >= _MAX_NESTING:
            return
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                self._walk(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                self._walk(v, f"{prefix}.{i}" if prefix else str(i), depth + 1)

    def _kind(self, name: str, t) -> _Kind:
        where = f"{self.src.label}[{name}]"
        tname = str(t.dtype).removeprefix("torch.")
        if t.layout != self.torch.strided or t.is_quantized:
            return _Kind(tname, None, None, problem=f"{where} is a sparse or quantized torch tensor; save t.dequantize().to_dense().float() instead")
        if tname in _TORCH_FMT:
            raw = np.dtype("u2") if t.element_size() == 2 else np.dtype("u1")
            return _Kind(tname, raw, _F32, fmt=_TORCH_FMT[tname], bits=raw.itemsize * 8)
        try:
            dt = np.dtype(tname)
        except TypeError:
            return _Kind(tname, None, None, problem=f"{where} has dtype {tname}, which is not read here; save t.float()")
        return _numpy_kind(dt, where)

    def _problem(self, name: str, t) -> str | None:
        k = self._kind(name, t)
        where = f"{self.src.label}[{name}]"
        if k.problem:
            return k.problem
        if t.numel() == 0:
            return f"{where} holds no values (shape {tuple(t.shape)})"
        if t.numel() > self.max_elements:
            return _too_many(where, tuple(t.shape), self.max_elements)
        return None

    def entries(self) -> list[TensorEntry]:
        return [
            TensorEntry(n, tuple(t.shape), self._kind(n, t).name, t.numel() * t.element_size(), self._problem(n, t))
            for n, t in self.tensors.items()
        ]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        t = self.tensors[entry.name]
        _raise_problem(self._problem(entry.name, t))
        kind = self._kind(entry.name, t)
        t = t.detach().contiguous()
        if kind.fmt is not None:
            t = t.view(self.torch.int16 if kind.itemsize == 2 else self.torch.uint8)
        raw = t.numpy().view(kind.raw)
        stream = _MemStream(memoryview(np.ascontiguousarray(raw).reshape(-1)).cast("B"))
        arr, n_nan, n_inf = _convert(_fill_from(stream), kind, tuple(t.shape), f"{self.src.label}[{entry.name}]")
        return LoadedTensor(entry.name, arr, kind.name, "torch", n_nan, n_inf)


# --------------------------------------------------------------------------- dispatch
_EXT = {
    ".npy": "npy",
    ".npz": "npz",
    ".safetensors": "safetensors",
    ".st": "safetensors",
    ".csv": "text",
    ".tsv": "text",
    ".txt": "text",
    ".dat": "text",
    ".pt": "torch",
    ".pth": "torch",
    ".bin": "torch",
}
_BINARY_NAMES = {"npy": ".npy", "npz": ".npz", "safetensors": ".safetensors", "torch": "PyTorch (.pt/.pth)"}


def _sniff(head: bytes, size: int) -> str | None:
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if _looks_safetensors(head, size):
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    return None


def _open_reader(src: _Source, max_bytes: int, max_elements: int) -> _Reader:
    label = src.label
    claimed = _EXT.get(Path(label).suffix.lower())
    head = src.read_at(0, min(src.size, 16), "the first bytes")
    sniffed = _sniff(head, src.size)
    if sniffed == "npy":
        return _NpyReader(src, max_elements)
    if sniffed == "safetensors":
        return _SafetensorsReader(src, max_elements)
    if sniffed == "zip":
        src.stream.seek(0)
        try:
            zf = zipfile.ZipFile(src.stream)
            names = zf.namelist()
        except _ZIP_ERRORS as exc:
            raise _zip_error(label, exc) from None
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            return _TorchReader(src, max_elements)
        return _NpzReader(src, zf, max_bytes, max_elements)
    if sniffed == "pickle":
        if claimed == "torch":
            return _TorchReader(src, max_elements)
        raise TensorFileError(
            f"{label} is a Python pickle, and pickles are never loaded here because unpickling can run code; "
            f"save the array with np.save(path, arr) (no pickle) or as .safetensors. {_accepted()}"
        )
    if claimed == "safetensors" and src.size >= 9:
        n = struct.unpack("<Q", head[:8])[0]
        if n > src.size - 8:
            raise TensorFileError(
                f"{label} is truncated or damaged: its first 8 bytes declare a {n:,}-byte safetensors header "
                f"but only {src.size - 8:,} bytes follow; upload the complete file"
            )
    if claimed in _BINARY_NAMES:
        raise TensorFileError(
            f"{label} is not a {_BINARY_NAMES[claimed]} file: its first bytes {head[:8]!r} are not that format's signature; "
            f"the file is damaged or mislabelled. {_accepted()}"
        )
    return _TextReader(src, max_elements)


def _with_reader(file: Any, name: str | None, max_bytes: int, max_elements: int, work: Callable[[_Reader], Any]) -> Any:
    src = _open_source(file, name, max_bytes)
    with src:
        return work(_open_reader(src, max_bytes, max_elements))


def list_tensors(
    file: Any,
    *,
    name: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_elements: int = MAX_ELEMENTS,
) -> list[TensorEntry]:
    """The tensors a file holds, from its headers (for .pt/.pth and csv/txt the file is parsed whole).

    ``file`` is a path, ``bytes`` or a binary file object (Streamlit's ``UploadedFile``);
    ``name`` is the file name shown in messages and whose extension hints the format
    (default: the path's or the file object's ``.name``). Entries that cannot be loaded carry
    the reason in :attr:`TensorEntry.problem`.
    """
    return _with_reader(file, name, max_bytes, max_elements, lambda r: r.entries())


def load_tensors(
    file: Any,
    *,
    name: str | None = None,
    select: Iterable[str] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_elements: int = MAX_ELEMENTS,
) -> dict[str, LoadedTensor]:
    """Read a file's tensors as float arrays: ``{tensor name: LoadedTensor}`` in file order.

    ``select`` names the tensors to read (others are not read); a name that is missing or
    cannot be loaded raises :class:`TensorFileError`. Without ``select`` every loadable
    tensor is read and the others are skipped; if none is loadable, :class:`TensorFileError`
    says why. See :func:`list_tensors` for ``file`` and ``name``.
    """

    def work(r: _Reader) -> dict[str, LoadedTensor]:
        entries = {e.name: e for e in r.entries()}
        if select is not None:
            wanted = list(dict.fromkeys([select] if isinstance(select, str) else select))
            missing = [w for w in wanted if w not in entries]
            if missing:
                have = ", ".join(list(entries)[:12]) + (" ..." if len(entries) > 12 else "")
                raise TensorFileError(f"{_label(r)} has no tensor named {missing[0]!r}; it holds: {have}")
            chosen = [entries[w] for w in wanted]
        else:
            chosen = [e for e in entries.values() if e.loadable]
            if not chosen:
                problems = [e.problem for e in entries.values() if e.problem]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise TensorFileError(
                    (problems[0] + more if problems else f"{_label(r)} holds no tensors")
                    + f". Nothing in the file can be loaded; {_accepted()}"
                )
        return {e.name: r.load(e) for e in chosen}

    return _with_reader(file, name, max_bytes, max_elements, work)


def _label(r: _Reader) -> str:
    src = getattr(r, "src", None)
    return src.label if src is not None else "the file"


def load_tensor(
    file: Any,
    *,
    name: str | None = None,
    tensor: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_elements: int = MAX_ELEMENTS,
) -> LoadedTensor:
    """One tensor of a file: the one named ``tensor``, or the first loadable one."""

    def work(r: _Reader) -> LoadedTensor:
        entries = r.entries()
        if tensor is not None:
            e = next((e for e in entries if e.name == tensor), None)
            if e is None:
                have = ", ".join(x.name for x in entries[:12]) + (" ..." if len(entries) > 12 else "")
                raise TensorFileError(f"{_label(r)} has no tensor named {tensor!r}; it holds: {have}")
            return r.load(e)
        for e in entries:
            if e.loadable:
                return r.load(e)
        problems = [e.problem for e in entries if e.problem]
        raise TensorFileError((problems[0] if problems else f"{_label(r)} holds no tensors") + f". Nothing in the file can be loaded; {_accepted()}")

    return _with_reader(file, name, max_bytes, max_elements, work)


def read_metadata(file: Any, *, name: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file (``{}`` for other formats)."""

    def work(r: _Reader) -> dict[str, str]:
        return dict(r.metadata) if isinstance(r, _SafetensorsReader) else {}

    return _with_reader(file, name, max_bytes, MAX_ELEMENTS, work)


# --------------------------------------------------------------------------- writing
_NP_TO_ST = {
    "float64": "F64", "float32": "F32", "float16": "F16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
    "uint64": "U64", "uint32": "U32", "uint16": "U16", "uint8": "U8", "bool": "BOOL",
}


def _write_out(data: bytes, file: Any) -> None:
    if file is None:
        return
    if isinstance(file, (str, os.PathLike)):
        Path(file).write_bytes(data)
    else:
        file.write(data)


def save_safetensors(
    tensors: Mapping[str, np.ndarray],
    *,
    metadata: Mapping[str, str] | None = None,
    dtypes: Mapping[str, str] | None = None,
    file: Any = None,
) -> bytes:
    """A safetensors file of ``tensors`` (numpy arrays) with string ``metadata``; returns its bytes.

    ``dtypes`` may tag a tensor of raw codes with the safetensors dtype they are, so other tools
    read values, not codes: ``{"w.codes": "F8_E4M3"}`` for uint8 codes of float8_e4m3fn,
    ``"BF16"`` for uint16 codes of bfloat16 (the code array's itemsize must match).
    ``file`` (a path or a writable binary object) also receives the bytes.
    """
    dtypes = dict(dtypes or {})
    header: dict[str, Any] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata maps strings to strings; convert numbers with str()")
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for tname, arr in tensors.items():
        if not isinstance(tname, str) or tname == "__metadata__":
            raise ValueError(f"tensor names must be strings other than '__metadata__', got {tname!r}")
        a = np.asarray(arr)
        tag = dtypes.pop(tname, None)
        if tag is None:
            tag = _NP_TO_ST.get(a.dtype.name)
            if tag is None:
                raise ValueError(f"tensor {tname!r} has dtype {a.dtype}, which safetensors cannot store here; use a float or integer dtype")
        else:
            kind = _ST_KINDS.get(tag)
            if kind is None or kind.raw is None or a.dtype.kind not in "uif" or a.dtype.itemsize * 8 != kind.bits:
                raise ValueError(f"tensor {tname!r}: a {a.dtype} array cannot be stored as {tag}")
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[tname] = {"dtype": tag, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if dtypes:
        raise ValueError(f"dtypes names tensors that are not saved: {', '.join(dtypes)}")
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    out = b"".join([struct.pack("<Q", len(h)), h, *blobs])
    _write_out(out, file)
    return out


def save_quantized_safetensors(
    *,
    codes: np.ndarray,
    scheme: str,
    scales: np.ndarray | None = None,
    code_format: str | None = None,
    name: str = "tensor",
    extra: Mapping[str, np.ndarray] | None = None,
    metadata: Mapping[str, str] | None = None,
    file: Any = None,
) -> bytes:
    """A quantized tensor as safetensors: ``{name}.codes``, ``{name}.scales``, ``{name}.<extra>``.

    The metadata records ``quantlab.scheme`` (e.g. ``"float8_e4m3fn per-channel absmax"``),
    ``quantlab.code_format`` and the tensor names, plus your own ``metadata``. Codes of a
    format safetensors knows (bfloat16, float8_e4m3fn, float8_e5m2, float8_e4m3fnuz,
    float8_e5m2fnuz, float8_e8m0fnu) are stored with that dtype tag, so PyTorch and
    safetensors read them as values; other codes (int4/int8, FP6, FP4...) as unsigned integers.
    """
    codes = np.asarray(codes)
    tensors: dict[str, np.ndarray] = {f"{name}.codes": codes}
    dtypes: dict[str, str] = {}
    tag = _FMT_TO_ST.get(code_format or "")
    if tag is not None and codes.dtype.kind == "u" and codes.dtype.itemsize * 8 == _ST_KINDS[tag].bits:
        dtypes[f"{name}.codes"] = tag
    meta = {"quantlab.scheme": str(scheme), "quantlab.codes": f"{name}.codes"}
    if code_format:
        meta["quantlab.code_format"] = str(code_format)
    if scales is not None:
        tensors[f"{name}.scales"] = np.asarray(scales)
        meta["quantlab.scales"] = f"{name}.scales"
    for k, v in (extra or {}).items():
        tensors[f"{name}.{k}"] = np.asarray(v)
    meta.update(metadata or {})
    return save_safetensors(tensors, metadata=meta, dtypes=dtypes, file=file)


def save_npy(array: np.ndarray, *, file: Any = None) -> bytes:
    """``array`` as .npy bytes (never pickled: object arrays raise ValueError)."""
    a = np.asarray(array)
    if a.dtype.hasobject:
        raise ValueError("object arrays cannot be saved without pickling; convert with arr.astype(np.float32)")
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    out = buf.getvalue()
    _write_out(out, file)
    return out
