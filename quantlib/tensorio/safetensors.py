""".safetensors: the header parsed and checked here (every dtype, including those numpy lacks,
decoded exactly by :func:`quantlib.codec.decode`), and :func:`save_safetensors`."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._source import (
    _F32,
    _F64,
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    _convert,
    _fill_from,
    _Kind,
    _raise_problem,
    _Reader,
    _Source,
    _too_many,
    _write_out,
)
from ._source import MB

_MAX_ST_HEADER = 64 * MB


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


# --------------------------------------------------------------------------- writing
_NP_TO_ST = {
    "float64": "F64", "float32": "F32", "float16": "F16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
    "uint64": "U64", "uint32": "U32", "uint16": "U16", "uint8": "U8", "bool": "BOOL",
}


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
