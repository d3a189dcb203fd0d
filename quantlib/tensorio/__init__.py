"""Read tensors from the files people have, and write quantized results back out.

Reading (:func:`list_tensors`, :func:`load_tensors`, :func:`load_tensor`) accepts

* ``.npy`` and ``.npz`` (parsed here, never unpickled: ``allow_pickle`` is never on);
* ``.safetensors``, header parsed and checked here, including the dtypes numpy lacks:
  ``BF16``, ``F8_E4M3``, ``F8_E5M2``, ``F8_E4M3FNUZ``, ``F8_E5M2FNUZ``, ``F8_E8M0``, decoded
  exactly by :func:`quantlib.codec.decode`;
* ``.gguf`` (llama.cpp's model files), header parsed and checked here: ``F32``/``F16``/``BF16``
  (and ``F64``, ``I8``...``I64``) read exactly, the quant types quantlib has as schemes (``Q4_0``
  ... ``Q6_K``, ``IQ4_NL``) dequantized bit-exactly (:func:`quantlib.schemes.from_ggml_bytes`),
  the others (``IQ2_XXS`` ...) listed but refused; each entry names its ``stored_type``;
* ``.csv`` / ``.tsv`` / ``.txt``: a numeric matrix (comma, semicolon, tab or spaces; ``#``
  comments and one header row allowed);
* ``.pt`` / ``.pth`` / ``.bin`` only when PyTorch is installed, and only through
  ``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers.

The format is decided by the file's first bytes (``\\x93NUMPY``, ``PK`` zip with or without
a ``data.pkl`` member, the safetensors length prefix + ``{``, ``GGUF``), so a mislabelled file
is read as what it is; a file whose extension names a binary format it does not hold is refused.

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
:func:`save_quantized_safetensors` (codes + scales + the scheme in the metadata),
:func:`save_quantized` (a whole :class:`~quantlib.schemes.QuantizedTensor`) and :func:`save_npy`;
each returns the file's bytes (for a download button) and can also write it.

Layout: this module sniffs the format and dispatches; ``_source`` holds the byte sources, the
limits, the errors, the result types and the dtype conversion; ``npy`` (.npy/.npz),
``safetensors`` (reader and writer), ``gguf``, ``text`` (csv/txt) and ``torch`` are the readers;
``write`` the quantized-result writers.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._source import (
    ACCEPTED,
    MAX_ELEMENTS,
    MAX_FILE_BYTES,
    MAX_TEXT_BYTES,
    MB,  # noqa: F401 - public: limits are given in MB
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    _accepted,
    _open_source,
    _Reader,
    _Source,
    supported_extensions,
    torch_available,
)
from .gguf import MAGIC as _GGUF_MAGIC
from .gguf import _GgufReader
from .npy import _ZIP_ERRORS, _NpyReader, _NpzReader, _zip_error
from .safetensors import _looks_safetensors, _SafetensorsReader, save_safetensors
from .text import _TextReader
from .torch import _TorchReader
from .write import save_npy, save_quantized, save_quantized_safetensors

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
    "save_quantized",
    "save_quantized_safetensors",
    "save_safetensors",
    "supported_extensions",
    "torch_available",
]


# --------------------------------------------------------------------------- dispatch
_EXT = {
    ".npy": "npy",
    ".npz": "npz",
    ".safetensors": "safetensors",
    ".st": "safetensors",
    ".gguf": "gguf",
    ".csv": "text",
    ".tsv": "text",
    ".txt": "text",
    ".dat": "text",
    ".pt": "torch",
    ".pth": "torch",
    ".bin": "torch",
}
_BINARY_NAMES = {"npy": ".npy", "npz": ".npz", "safetensors": ".safetensors", "gguf": ".gguf", "torch": "PyTorch (.pt/.pth)"}


def _sniff(head: bytes, size: int) -> str | None:
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(_GGUF_MAGIC):
        return "gguf"
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
    if sniffed == "gguf":
        return _GgufReader(src, max_elements)
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
