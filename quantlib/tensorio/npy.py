""".npy and .npz, parsed here and never unpickled (``allow_pickle`` is never on)."""

from __future__ import annotations

import ast
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ._source import (
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    _accepted,
    _convert,
    _fill_from,
    _fmt_bytes,
    _Kind,
    _numpy_kind,
    _raise_problem,
    _read_n,
    _Reader,
    _Source,
    _too_many,
)

_MAX_NPY_HEADER = 1 << 16


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
