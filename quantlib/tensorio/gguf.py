""".gguf, llama.cpp's model files: the header parsed and checked here (every length, size and
offset against the file before anything is allocated), the float tensors read exactly and the
quant types quantlib has as schemes dequantized bit-exactly.

Stored types read: ``F32``, ``F16``, ``BF16``, ``F64``, ``I8`` ... ``I64`` (as the same dtypes of
.safetensors), and every type of :data:`quantlib.schemes.GGML_TYPES` (``Q4_0`` ... ``Q6_K``,
``IQ4_NL``), dequantized to float32 by :func:`quantlib.schemes.from_ggml_bytes` -- the values of
ggml's ``dequantize_row_*`` and ``gguf.quants.dequantize``.  The other llama.cpp types
(``IQ2_XXS``, ``TQ1_0``, ``MXFP4`` ...) are listed, with their sizes checked, but refused on load.
:attr:`TensorEntry.stored_type` is the type as gguf names it (``"Q4_1"``),
:attr:`TensorEntry.stored_scheme` the quantlib scheme of it (``"q4_1"``, None for float types).

The layout (GGUF v2 and v3, little-endian): ``b"GGUF"``, u32 version, u64 tensor count, u64
key/value count; the key/values (a string is a u64 length + UTF-8 bytes; a value is a u32 type
+ the value; an array is a u32 element type, a u64 count and the elements); per tensor its name,
u32 n_dims, n_dims x u64 ``ne`` (``ne[0]`` is the row length), u32 ggml type, u64 offset into
the data section, which starts at the next multiple of ``general.alignment`` (default 32).  The
torch-order shape is ``reversed(ne)``: a [576, 1536] weight is (1536, 576).

The header is walked here rather than by ``gguf.GGUFReader``: that one needs a path (an upload
would have to be copied to disk for every read), spends ~2.7 s on the header of a 135M model
(one numpy view per vocabulary string, 100 k of them; here ~0.1 s) and never ends on an
array whose declared length runs past the file.  The table of type sizes is gguf-py's
(``gguf.constants.GGML_QUANT_SIZES``, imported on first use; without the package, the types
quantlib knows).  Loading one tensor reads only its bytes, dequantized in chunks of rows.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ._source import (
    MB,
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    _convert,
    _fill_from,
    _fmt_bytes,
    _Kind,
    _raise_problem,
    _read_n,
    _Reader,
    _readinto_exact,
    _Source,
    _too_many,
    _truncated,
)
from .safetensors import _ST_KINDS

MAGIC = b"GGUF"
_VERSIONS = (2, 3)
_MAX_HEADER = 64 * MB  # key/values + tensor infos: a 256 k-token vocabulary takes ~10 MB
_MAX_DIMS = 4  # GGML_MAX_DIMS
_DEFAULT_ALIGNMENT = 32
_DEQ_CHUNK = 1 << 20  # elements dequantized at a time: ~4 MB of float32 plus the codes
_READ_AHEAD = 1 << 20  # header bytes read at a time from a path

# key/value types (gguf_type / GGUFValueType): struct format and size of the scalars
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_PLAIN = {"F32": "F32", "F16": "F16", "BF16": "BF16", "F64": "F64", "I8": "I8", "I16": "I16", "I32": "I32", "I64": "I64"}
"""ggml types stored element by element, read as the safetensors dtype of the same name."""


@cache
def ggml_type_table() -> dict[int, tuple[str, int, int]]:
    """``{ggml type id: (name as gguf spells it, block size, bytes per block)}``: gguf-py's table
    (``GGMLQuantizationType``, ``GGML_QUANT_SIZES``), or, without the gguf package, the types
    quantlib reads."""
    try:
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType
    except ImportError:  # pragma: no cover - gguf is a dependency; this keeps the reader usable
        from ..schemes.ggml import GGML_TYPES

        table = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 30: ("BF16", 1, 2)}
        table.update({t.type_id: (t.name.upper(), t.block_size, t.type_size) for t in GGML_TYPES.values()})
        return table
    return {int(t): (t.name, *GGML_QUANT_SIZES[t]) for t in GGMLQuantizationType if t in GGML_QUANT_SIZES}


def _schemes() -> dict[str, Any]:
    from ..schemes.ggml import GGML_TYPES

    return GGML_TYPES


def _readable_types() -> str:
    return "F32, F16, BF16, F64, I8-I64 and " + ", ".join(n.upper() for n in _schemes())


# --------------------------------------------------------------------------- the header
class _Header:
    """A cursor over the header bytes: the whole buffer of an upload, or a path's bytes read as
    far as needed; every read is checked against the file's end and :data:`_MAX_HEADER`."""

    def __init__(self, src: _Source):
        self.src = src
        self.label = src.label
        self.pos = 0
        self.buf: Any = src.mem if src.mem is not None else bytearray()
        self.whole = src.mem is not None

    def need(self, n: int, what: str) -> None:
        end = self.pos + n
        if end <= len(self.buf):
            return
        if end > self.src.size:
            raise TensorFileError(
                f"{self.label} is truncated: {what} needs {n:,} bytes at offset {self.pos:,}, but the file ends at {self.src.size:,}; upload the complete file"
            )
        if end > _MAX_HEADER:
            raise TensorFileError(
                f"{self.label} has a GGUF header (metadata and tensor list) of more than {_fmt_bytes(_MAX_HEADER)}, which is not read here; "
                "the file is damaged, or its metadata is unusually large"
            )
        if self.whole:  # pragma: no cover - the buffer is the file: caught by the size check
            raise AssertionError
        want = min(self.src.size, _MAX_HEADER, max(end, len(self.buf) + _READ_AHEAD, 2 * len(self.buf)))
        s = self.src.stream
        s.seek(len(self.buf))
        self.buf += _read_n(s, want - len(self.buf))
        if len(self.buf) < end:
            raise TensorFileError(f"{self.label} is truncated inside its GGUF header ({what}); upload the complete file")

    def unpack(self, fmt: str, size: int, what: str):
        self.need(size, what)
        v = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        self.pos += size
        return v

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def string(self, what: str, keep: bool = True) -> bytes | None:
        n = self.unpack("Q", 8, what)
        self.need(n, what)
        out = bytes(self.buf[self.pos : self.pos + n]) if keep else None
        self.pos += n
        return out

    def room(self) -> int:
        """Bytes between the cursor and the end of what a header may use."""
        return min(self.src.size, _MAX_HEADER) - self.pos


def _bad(label: str, what: str) -> TensorFileError:
    return TensorFileError(f"{label} has a damaged GGUF header: {what}; re-convert the model with llama.cpp (convert_hf_to_gguf.py) or download it again")


def _too_many_for(h: _Header, what: str) -> TensorFileError:
    return TensorFileError(
        f"{h.label} is truncated or damaged: {what}, more than its {h.src.size:,} bytes could hold; upload the complete, original file"
    )


def _value(h: _Header, vtype: int, key: str, depth: int = 0) -> Any:
    """Read one value of type ``vtype``: scalars and strings are returned, arrays skipped (None)."""
    what = f"the value of {key!r}"
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return h.unpack(fmt, struct.calcsize(fmt), what)
    if vtype == _STRING:
        raw = h.string(what)
        return raw.decode("utf-8", "replace") if raw is not None else None
    if vtype != _ARRAY:
        raise _bad(h.label, f"the metadata key {key!r} has the unknown value type {vtype}")
    if depth >= 2:
        raise _bad(h.label, f"the metadata key {key!r} nests arrays more than two deep")
    etype = h.unpack("I", 4, what)
    count = h.unpack("Q", 8, what)
    if etype in _SCALARS:
        size = struct.calcsize(_SCALARS[etype])
        if count * size > h.room():
            raise _too_many_for(h, f"the metadata array {key!r} declares {count:,} values of {size} bytes")
        h.skip(count * size, what)
    elif etype == _STRING:
        if count * 8 > h.room():
            raise _too_many_for(h, f"the metadata array {key!r} declares {count:,} strings")
        for _ in range(count):
            h.string(what, keep=False)
    elif etype == _ARRAY:
        if count * 12 > h.room():
            raise _too_many_for(h, f"the metadata array {key!r} declares {count:,} arrays")
        for _ in range(count):
            _value(h, _ARRAY, key, depth + 1)
    else:
        raise _bad(h.label, f"the array {key!r} has the unknown element type {etype}")
    return None


@dataclass(frozen=True)
class _GgufTensor:
    name: str
    type_id: int
    type_name: str  # as gguf spells it: "Q4_1", "F32"; "type 99" when unknown
    ne: tuple[int, ...]  # ggml order: ne[0] is the row length
    begin: int  # absolute byte offset in the file
    nbytes: int
    known: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.ne))

    @property
    def row(self) -> int:
        return self.ne[0] if self.ne else 1


def _parse_gguf(src: _Source) -> tuple[list[_GgufTensor], dict[str, Any], int]:
    """The tensors (checked: sizes, alignment, inside the file, no overlaps), the scalar metadata
    and the offset of the data section."""
    label = src.label
    h = _Header(src)
    if src.size < 24:
        raise TensorFileError(f"{label} is too short ({src.size} bytes) to be a GGUF file, whose header alone takes 24 bytes; upload the complete file")
    h.need(4, "the GGUF magic")
    if bytes(h.buf[:4]) != MAGIC:
        raise TensorFileError(f"{label} is not a GGUF file: it does not start with the magic bytes 'GGUF'")
    h.pos = 4
    version = h.unpack("I", 4, "the GGUF version")
    if version & 0xFFFF == 0 and version >> 16:
        raise TensorFileError(
            f"{label} is a big-endian GGUF file, which is not read here; convert it with gguf-py's "
            f"gguf_convert_endian.py {label} little"
        )
    if version not in _VERSIONS:
        hint = "re-convert it with a current llama.cpp" if version < 2 else "it is newer than this reader; update the lab"
        raise TensorFileError(f"{label} is a GGUF file of version {version}; versions 2 and 3 are read: {hint}")
    n_tensors = h.unpack("Q", 8, "the tensor count")
    n_kv = h.unpack("Q", 8, "the metadata count")
    if n_kv * 13 > h.room():
        raise _too_many_for(h, f"its header declares {n_kv:,} metadata entries")
    meta: dict[str, Any] = {}
    for i in range(n_kv):
        raw = h.string(f"metadata key {i}")
        try:
            key = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(label, f"metadata key {i} is not UTF-8 text") from None
        if key in meta:
            raise _bad(label, f"the metadata key {key!r} appears twice")
        vtype = h.unpack("I", 4, f"the type of {key!r}")
        meta[key] = _value(h, vtype, key)
        if key == "general.alignment" and vtype != _UINT32:
            raise _bad(label, f"general.alignment has value type {vtype}, not uint32")
    alignment = meta.get("general.alignment", _DEFAULT_ALIGNMENT)
    if alignment <= 0 or alignment & (alignment - 1):
        raise _bad(label, f"general.alignment is {alignment}, not a power of two")
    if n_tensors * 24 > h.room():
        raise _too_many_for(h, f"its header declares {n_tensors:,} tensors")
    infos = []
    for i in range(n_tensors):
        raw = h.string(f"the name of tensor {i}")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(label, f"the name of tensor {i} is not UTF-8 text") from None
        n_dims = h.unpack("I", 4, f"the rank of {name!r}")
        if n_dims > _MAX_DIMS:
            raise _bad(label, f"tensor {name!r} has {n_dims} dimensions (ggml allows at most {_MAX_DIMS})")
        ne = tuple(h.unpack("Q", 8, f"the shape of {name!r}") for _ in range(n_dims))
        type_id = h.unpack("I", 4, f"the type of {name!r}")
        offset = h.unpack("Q", 8, f"the data offset of {name!r}")
        infos.append((name, ne, type_id, offset))
    data_start = -(-h.pos // alignment) * alignment
    tensors = [_check_tensor(label, src.size, data_start, alignment, *info) for info in infos]
    names = set()
    for t in tensors:
        if t.name in names:
            raise _bad(label, f"two tensors are named {t.name!r}")
        names.add(t.name)
    end, prev = 0, None
    for t in sorted((t for t in tensors if t.known), key=lambda t: (t.begin, t.nbytes)):
        if t.begin < end:
            raise _bad(label, f"the data of {t.name!r} (bytes {t.begin:,} to {t.begin + t.nbytes:,}) overlaps that of {prev!r}")
        end, prev = t.begin + t.nbytes, t.name
    return tensors, meta, data_start


def _check_tensor(label: str, size: int, data_start: int, alignment: int, name: str, ne: tuple[int, ...], type_id: int, offset: int) -> _GgufTensor:
    table = ggml_type_table()
    if type_id not in table:
        return _GgufTensor(name, type_id, f"type {type_id}", ne, data_start + offset, 0, known=False)
    tname, block, tsize = table[type_id]
    n = math.prod(ne)
    row = ne[0] if ne else 1
    if row % block:
        raise _bad(label, f"tensor {name!r} ({tname}, ne {list(ne)}) has rows of {row:,} values, not a multiple of {tname}'s blocks of {block}")
    if offset % alignment:
        raise _bad(label, f"the data offset {offset:,} of {name!r} is not a multiple of the alignment {alignment}")
    nbytes = n // block * tsize
    begin = data_start + offset
    if begin + nbytes > size:
        where = "starts past the end of the file" if begin >= size else f"runs past the end of the file, to byte {begin + nbytes:,}"
        raise TensorFileError(
            f"{label} is truncated or damaged: tensor {name!r} ({tname}, shape {tuple(reversed(ne))}, {nbytes:,} bytes from byte {begin:,}) "
            f"{where}, but the file has {size:,} bytes; upload the complete file"
        )
    return _GgufTensor(name, type_id, tname, ne, begin, nbytes, known=True)


# --------------------------------------------------------------------------- the reader
class _GgufReader(_Reader):
    fmt = "gguf"

    def __init__(self, src: _Source, max_elements: int):
        self.src, self.max_elements = src, max_elements
        tensors, self.metadata, self.data_start = _parse_gguf(src)
        self.tensors = {t.name: t for t in tensors}

    def _where(self, t: _GgufTensor) -> str:
        return f"{self.src.label}[{t.name}]"

    def _problem(self, t: _GgufTensor) -> str | None:
        where = self._where(t)
        if not t.known:
            return (
                f"{where} is stored in ggml type number {t.type_id}, which the installed gguf package does not know; "
                "update it (pip install -U gguf) or convert the tensor to F16"
            )
        if t.type_name not in _PLAIN and t.type_name.lower() not in _schemes():
            return f"{where} is stored as {t.type_name}, a llama.cpp type quantlib cannot decode; readable types: {_readable_types()} (llama-quantize can re-save a model in one of them)"
        if math.prod(t.ne) == 0:
            return f"{where} holds no values (shape {t.shape})"
        if math.prod(t.ne) > self.max_elements:
            return _too_many(where, t.shape, self.max_elements)
        return None

    def _dtype(self, t: _GgufTensor) -> str:
        return _ST_KINDS[_PLAIN[t.type_name]].name if t.type_name in _PLAIN else t.type_name

    def _scheme(self, t: _GgufTensor) -> str | None:
        return t.type_name.lower() if t.known and t.type_name.lower() in _schemes() else None

    def entries(self) -> list[TensorEntry]:
        return [
            TensorEntry(t.name, t.shape, self._dtype(t), t.nbytes, self._problem(t), stored_type=t.type_name, stored_scheme=self._scheme(t))
            for t in self.tensors.values()
        ]

    def load(self, entry: TensorEntry) -> LoadedTensor:
        t = self.tensors[entry.name]
        _raise_problem(self._problem(t))
        s = self.src.stream
        s.seek(t.begin)
        where = self._where(t)
        scheme = self._scheme(t)
        if scheme is None:
            kind: _Kind = _ST_KINDS[_PLAIN[t.type_name]]
            arr, n_nan, n_inf = _convert(_fill_from(s), kind, t.shape, where)
            bits = float(kind.bits)
        else:
            arr, n_nan, n_inf = _dequantize(s, t, scheme, where)
            bits = t.nbytes * 8 / math.prod(t.ne)
        return LoadedTensor(t.name, arr, self._dtype(t), "gguf", n_nan, n_inf, stored_type=t.type_name, stored_scheme=scheme, stored_bits=bits)


def _dequantize(stream, t: _GgufTensor, scheme: str, where: str) -> tuple[np.ndarray, int, int]:
    """A ggml-quantized tensor's values (float32), read and dequantized a chunk of rows at a time."""
    from ..schemes.ggml import from_ggml_bytes

    cols = t.row
    rows = math.prod(t.ne) // cols
    row_bytes = t.nbytes // rows
    step = max(1, _DEQ_CHUNK // cols)
    out = np.empty((rows, cols), np.float32)
    buf = np.empty(min(rows, step) * row_bytes, np.uint8)
    n_nan = n_inf = 0
    for r0 in range(0, rows, step):
        k = min(step, rows - r0)
        dest = buf[: k * row_bytes]
        got = _readinto_exact(stream, memoryview(dest))
        if got != dest.size:
            raise _truncated(where, t.nbytes, r0 * row_bytes + got)
        chunk = out[r0 : r0 + k]
        chunk[...] = from_ggml_bytes(scheme, dest, (k, cols)).dequantize()
        n_nan += int(np.count_nonzero(np.isnan(chunk)))
        n_inf += int(np.count_nonzero(np.isinf(chunk)))
    return out.reshape(t.shape), n_nan, n_inf
