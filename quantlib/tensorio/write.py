"""Writing quantized results: :func:`save_quantized_safetensors` (codes + scales + the scheme in
the metadata), :func:`save_quantized` (a whole QuantizedTensor) and :func:`save_npy`; each
returns the file's bytes (for a download button) and can also write them."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._source import _write_out
from .safetensors import _FMT_TO_ST, _ST_KINDS, save_safetensors

if TYPE_CHECKING:  # not imported at run time: schemes imports nothing from here, and need not
    from ..schemes import QuantizedTensor


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


def save_quantized(
    q: QuantizedTensor,
    *,
    source: str,
    metadata: Mapping[str, str] | None = None,
    name: str = "tensor",
    file: Any = None,
) -> bytes:
    """A :class:`~quantlib.schemes.QuantizedTensor` as safetensors, everything needed to
    dequantize it again: ``{name}.codes`` (unpacked: one code per element, tagged with its
    safetensors dtype when it has one, see :func:`save_quantized_safetensors`),
    ``{name}.scales``, ``{name}.zero_points``, ``{name}.scale_codes``, ``{name}.tensor_scale``
    (NVFP4's second-level scale) and the double-quantization state ``{name}.dq_codes``,
    ``{name}.dq_absmax``, ``{name}.dq_offset``, each only when the scheme has it; llama.cpp's
    types also ``{name}.ggml_blocks``, the exact ggml block bytes (uint8, one row per tensor row:
    with the sub-block scales and mins the codes alone do not carry), readable with
    ``quantlib.schemes.from_ggml_bytes(type, blocks, shape)`` or gguf's ``dequantize``.

    The metadata holds the scheme string and code format, ``quantlab.shape`` (``"32,80"``),
    ``quantlab.dtype``, ``quantlab.bits_per_element``, ``quantlab.layout`` and
    ``quantlab.source`` (``source``: the original tensor's name), then your own ``metadata``
    (which may override them). Returns the file's bytes; ``file`` (a path or a writable binary
    object) also receives them. :func:`load_tensors` and :func:`read_metadata` read it back.
    """
    extra: dict[str, np.ndarray] = {}
    if q.zero_points is not None:
        extra["zero_points"] = np.asarray(q.zero_points)
    if q.scale_codes is not None:
        extra["scale_codes"] = np.asarray(q.scale_codes)
    if q.tensor_scale is not None:
        extra["tensor_scale"] = np.asarray([q.tensor_scale], dtype=np.float32)
    if q.blocks is not None:
        extra["ggml_blocks"] = np.asarray(q.blocks, dtype=np.uint8)
    if q.double_quant is not None:
        dq = q.double_quant
        extra["dq_codes"] = np.asarray(dq.codes)
        extra["dq_absmax"] = np.asarray(dq.absmax)
        extra["dq_offset"] = np.asarray([dq.offset], dtype=np.float32)
    meta = {
        "quantlab.shape": ",".join(map(str, q.shape)),
        "quantlab.dtype": np.dtype(q.dtype).name,
        "quantlab.bits_per_element": repr(float(q.bits_per_element)),
        "quantlab.layout": "unpacked: one code per element",
        "quantlab.source": source,
    }
    meta.update(metadata or {})
    scales = None if q.scales is None else np.asarray(q.scales)
    return save_quantized_safetensors(
        codes=np.asarray(q.codes), scheme=str(q.scheme), scales=scales, code_format=q.scheme.code_format,
        name=name, extra=extra, metadata=meta, file=file,
    )
