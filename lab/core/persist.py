"""The on-disk half of the shared result cache: a safe codec and a bounded, concurrent-safe store.

A result is written as one ``.npz`` file (numpy arrays as members, everything else as a JSON
member ``__meta__``) and read back with ``np.load(..., allow_pickle=False)``: nothing on disk is
ever unpickled, so a file planted in the cache directory cannot run code.  What the codec
carries: ``None``, bools, ints, floats (NaN and ±inf too), strings, lists, tuples, dicts with any
of those as keys, numpy arrays and scalars (not of object dtype), and dataclass instances of
``quantlib`` or ``lab`` classes (restored field by field, without calling ``__init__``).  Anything
else raises :class:`NotPersistable`, and the result is then kept in memory only.

Every file records its canonical key and the code version; a file whose key or version differs,
that is truncated, fails its zip CRC, or does not decode is deleted and recomputed, never
trusted.  Writes go to a temporary file in the same directory and are renamed into place
(atomic on POSIX), so a concurrent reader sees the old file or the new one, never half of one.
The directory is kept under ``max_bytes`` by deleting the least recently used files (a read
touches its file's mtime): with 2 GiB and 4 MiB entries about 500 results survive.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NotPersistable", "DiskStore", "canonical_key", "decode", "encode", "code_version"]

ALLOWED_MODULES = ("quantlib.", "lab.")
_ROOT = Path(__file__).resolve().parents[2]


class NotPersistable(TypeError):
    """A value the codec does not carry (kept in memory only)."""


def encode(value: Any, arrays: list[np.ndarray]) -> Any:
    """A JSON-able tree for ``value``; its arrays are appended to ``arrays`` and referenced by
    index: ``encode((1, np.zeros(2)), a)`` is ``{"t": [1, {"nd": 0}]}`` with ``a == [zeros(2)]``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if type(value) is int else {"int": int(value)}
    if isinstance(value, float):
        return value if type(value) is float else {"float": float(value)}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise NotPersistable("numpy arrays of objects are not persisted")
        arrays.append(arr)
        return {"nd" if isinstance(value, np.ndarray) else "ns": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"t": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"d": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith(ALLOWED_MODULES):
            raise NotPersistable(f"{cls.__module__}.{cls.__qualname__} is not a quantlib/lab dataclass")
        fields = {f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
        return {"dc": f"{cls.__module__}:{cls.__qualname__}", "f": fields}
    raise NotPersistable(f"{type(value).__name__} values are not persisted")


def _class(path: str) -> type:
    module, _, qualname = path.partition(":")
    if not module.startswith(ALLOWED_MODULES):
        raise ValueError(f"class {path!r} is outside quantlib and lab")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        raise ValueError(f"{path!r} is not a dataclass")
    return obj


def decode(tree: Any, arrays: list[np.ndarray]) -> Any:
    """The inverse of :func:`encode`; ValueError for anything it would not have written."""
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise ValueError("malformed cache entry")
    if "nd" in tree:
        return arrays[tree["nd"]]
    if "ns" in tree:
        return arrays[tree["ns"]][()]
    if "t" in tree:
        return tuple(decode(v, arrays) for v in tree["t"])
    if "d" in tree:
        return {decode(k, arrays): decode(v, arrays) for k, v in tree["d"]}
    if "int" in tree:
        return int(tree["int"])
    if "float" in tree:
        return float(tree["float"])
    if "dc" in tree:
        cls = _class(tree["dc"])
        obj = cls.__new__(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        if set(tree["f"]) != names:
            raise ValueError(f"{tree['dc']}: stored fields differ from the class's")
        for name, v in tree["f"].items():
            object.__setattr__(obj, name, decode(v, arrays))
        return obj
    raise ValueError("malformed cache entry")


def canonical_key(namespace: str, key: Any, version: str) -> tuple[str, str]:
    """(text, sha256 digest) of a key: its codec tree as sorted JSON, arrays by their bytes.
    Raises NotPersistable for a key the codec does not carry."""
    arrays: list[np.ndarray] = []
    tree = encode(key, arrays)
    digests = [hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + np.ascontiguousarray(a).tobytes()).hexdigest() for a in arrays]
    text = json.dumps({"ns": namespace, "v": version, "k": tree, "a": digests}, sort_keys=True, allow_nan=True)
    return text, hashlib.sha256(text.encode()).hexdigest()


def code_version() -> str:
    """A digest of the code a result depends on: every .py file of quantlib/ and lab/, and
    numpy's version.  Editing any of them makes every stored result stale (recomputed)."""
    h = hashlib.sha256(np.__version__.encode())
    for sub in ("quantlib", "lab"):
        for p in sorted((_ROOT / sub).rglob("*.py")):
            h.update(str(p.relative_to(_ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


class DiskStore:
    """Results on disk, one ``<digest>.npz`` per key under ``root``, at most ``max_bytes`` in all.

    ``get`` returns :data:`MISSING` for an absent, stale or corrupt entry (deleting the latter two);
    ``put`` writes atomically and evicts least recently used files past the bound."""

    MISSING = object()

    def __init__(self, root: str | os.PathLike, *, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.root.mkdir(parents=True, exist_ok=True)
        self.corrupt = 0  # entries found unreadable and deleted (tests read it)

    def path(self, digest: str) -> Path:
        return self.root / f"{digest}.npz"

    def lock_path(self, digest: str) -> Path:
        return self.root / f"{digest}.lock"

    def get(self, digest: str, key_text: str) -> Any:
        p = self.path(digest)
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(bytes(z["__meta__"]).decode())
                if meta.get("key") != key_text:
                    raise ValueError("stored key differs")
                arrays = [z[f"a{i}"] for i in range(int(meta["n"]))]
                value = decode(meta["value"], arrays)
        except FileNotFoundError:
            return self.MISSING
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
            self.corrupt += 1
            self._unlink(p)
            return self.MISSING
        try:
            os.utime(p)
        except OSError:
            pass
        return value

    def put(self, digest: str, key_text: str, value: Any) -> bool:
        """Store ``value``; False (nothing written) when the codec does not carry it."""
        arrays: list[np.ndarray] = []
        try:
            tree = encode(value, arrays)
        except NotPersistable:
            return False
        meta = json.dumps({"key": key_text, "n": len(arrays), "value": tree}, allow_nan=True).encode()
        buf = {f"a{i}": a for i, a in enumerate(arrays)}
        buf["__meta__"] = np.frombuffer(meta, dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **buf)
            os.replace(tmp, self.path(digest))
        except BaseException:
            self._unlink(Path(tmp))
            raise
        self._evict()
        return True

    def _evict(self) -> None:
        entries = []
        for p in self.root.glob("*.npz"):
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(e[1] for e in entries)
        if total <= self.max_bytes:
            return
        for _mtime, size, p in sorted(entries, key=lambda e: e[0]):
            self._unlink(p)
            self._unlink(p.with_suffix(".lock"))
            total -= size
            if total <= 0.9 * self.max_bytes:
                break

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.npz") if p.exists())

    @staticmethod
    def _unlink(p: Path) -> None:
        try:
            p.unlink()
        except OSError:
            pass


def roundtrip(value: Any) -> Any:
    """``decode(encode(value))`` through real npz bytes (tests use it)."""
    arrays: list[np.ndarray] = []
    tree = encode(value, arrays)
    f = io.BytesIO()
    np.savez(f, **{f"a{i}": a for i, a in enumerate(arrays)})
    f.seek(0)
    with np.load(f, allow_pickle=False) as z:
        return decode(json.loads(json.dumps(tree, allow_nan=True)), [z[f"a{i}"] for i in range(len(arrays))])
