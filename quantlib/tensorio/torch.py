""".pt / .pth / .bin, only when PyTorch is installed and only through
``torch.load(weights_only=True)``, which refuses anything but tensors and plain containers
(pickled code is never run)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _source
from ._source import (
    _F32,
    LoadedTensor,
    TensorEntry,
    TensorFileError,
    _convert,
    _fill_from,
    _Kind,
    _MemStream,
    _numpy_kind,
    _raise_problem,
    _Reader,
    _Source,
    _too_many,
)

_MAX_NESTING = 32  # torch checkpoints: how deep nested dicts/lists are walked


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
        if not _source.torch_available():  # looked up at call time: tests replace it
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
