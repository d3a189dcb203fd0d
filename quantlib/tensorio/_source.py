"""What every reader shares: the file's bytes (path, buffer or file object) and their size
checks, the limits, :class:`TensorFileError`, the result types, and how a stored dtype becomes
float32/float64 values (:func:`_convert`, in chunks of :data:`quantlib._parallel.CHUNK` elements)."""

from __future__ import annotations

import importlib.util
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self

import numpy as np

from .._parallel import CHUNK  # elements converted at a time: ~5 MB of temporaries for a bf16/fp8 decode
from ..codec import decode

MB = 1 << 20
MAX_FILE_BYTES = 512 * MB
"""Default limit on a file's size (and on what an .npz unpacks to)."""
MAX_ELEMENTS = 1 << 26
"""Default limit on the values in one tensor: 64 Mi (256 MB as float32)."""
MAX_TEXT_BYTES = 64 * MB
"""csv/txt files are parsed as text, which costs ~10x their size in memory: a lower limit."""

ACCEPTED = (
    "accepted: .npy, .npz (numeric arrays), .safetensors (F64/F32/F16/BF16/F8_E4M3/F8_E5M2/"
    "F8_E4M3FNUZ/F8_E5M2FNUZ/F8_E8M0 and integer tensors), .gguf (llama.cpp models: F32/F16/BF16 and the quant types "
    "Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q2_K...Q6_K/IQ4_NL), .csv/.tsv/.txt (a numeric matrix)"
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
    ext = ["npy", "npz", "safetensors", "gguf", "csv", "tsv", "txt"]
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

    ``stored_type`` is the type a file format names itself (.gguf: ``"Q4_1"``, ``"F32"``,
    ``"IQ2_XXS"``; None for the other formats) and ``stored_scheme`` the quantlib scheme string
    of it when quantlib has one (``"q4_1"``; None for float and unknown types).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str  # the stored dtype: "float32", "bfloat16", "float8_e4m3fn", "int64", "bool", "text", "Q4_1" ...
    nbytes: int
    problem: str | None = None
    stored_type: str | None = None
    stored_scheme: str | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def loadable(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, eq=False)
class LoadedTensor:
    """A tensor read from a file: values as float32 or float64, with NaN/inf counted.

    A tensor stored quantized (.gguf ``Q4_1`` ...) comes back dequantized; ``stored_type``,
    ``stored_scheme`` are as in :class:`TensorEntry` and ``stored_bits`` the bits per element
    it took in the file (``Q4_1``: 5.0, ``F16``: 16.0); all None for the formats without them.
    """

    name: str
    array: np.ndarray
    source_dtype: str  # as stored: "bfloat16", "float8_e4m3fn", "float16", "int8", "text", "Q4_1", ...
    source_format: str  # "npy", "npz", "safetensors", "gguf", "text", "torch"
    n_nan: int
    n_inf: int
    stored_type: str | None = None
    stored_scheme: str | None = None
    stored_bits: float | None = None

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
        buf = np.empty(min(count, CHUNK), dtype=raw_dt)
        for start in range(0, count, CHUNK):
            k = min(CHUNK, count - start)
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
        for start in range(0, count, CHUNK):
            c = out[start : start + CHUNK]
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


def _raise_problem(problem: str | None) -> None:
    if problem:
        raise TensorFileError(problem)


def _write_out(data: bytes, file: Any) -> None:
    if file is None:
        return
    if isinstance(file, (str, os.PathLike)):
        Path(file).write_bytes(data)
    else:
        file.write(data)
