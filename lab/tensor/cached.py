"""Cached quantlib work of the Tensor Lab (``/tensor``), keyed by content hashes.

A tensor is identified by :attr:`Tensor.key`, the SHA-1 of its dtype, shape and bytes
(computed once, when it is loaded); every result is cached by ``(tensor key, canonical
scheme string, options)`` and the array itself is passed as an unhashed ``_x`` argument.
So the same tensor gives the same cache entries whether it came from a sample or a file,
and a rerun that only changes a chart option recomputes nothing.

Large things (tensors, quantized tensors) are kept with ``st.cache_resource`` (shared, never
copied: the arrays are read-only); small results (metrics, histograms, pooled heatmaps,
sampled points) with ``st.cache_data``.  :data:`MISSES` counts the computations actually done
(tests use it to check that a chart option recomputes nothing).
"""

from __future__ import annotations

import collections
import hashlib
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from figures import tensor as figs
from quantlib import analysis as qa
from quantlib import quantize
from quantlib.metrics import metrics as quant_metrics
from quantlib.samples import SAMPLES, load_sample
from quantlib.schemes import QuantizedTensor
from quantlib.schemes.explain import block_explain
from quantlib.tensorio import (
    TensorEntry,
    list_tensors,
    load_tensors,
    save_npy,
    save_quantized,
)

from lab.tensor.state import sample_shape

__all__ = [
    "MISSES",
    "Tensor",
    "Analysis",
    "content_key",
    "file_sha",
    "sample_tensor",
    "file_entries",
    "file_tensor",
    "cleaned",
    "tensor_stats",
    "max_abs_index",
    "quantized",
    "analysis",
    "hists",
    "compare_row",
    "block_zoom",
    "per_tensor_row",
    "quantized_file",
    "dequantized_file",
    "source_bits",
]

DEFAULT_BINS = 121
"""Histogram bins computed with every analysis (lab.tensor.state.TL.default_bins)."""

MISSES: collections.Counter = collections.Counter()
"""How many times each cached computation really ran (cache misses), by function name."""

_DTYPE_BITS = {
    "float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int64": 64, "int32": 32, "int16": 16, "int8": 8,
    "uint64": 64, "uint32": 32, "uint16": 16, "uint8": 8,
}


def source_bits(source_dtype: str, array_dtype: np.dtype) -> int:
    """Bits per element of the tensor as it was stored (float8_* 8; text: the parsed dtype)."""
    if source_dtype in _DTYPE_BITS:
        return _DTYPE_BITS[source_dtype]
    if source_dtype.startswith("float8"):
        return 8
    return int(np.dtype(array_dtype).itemsize * 8)


@dataclass(frozen=True, eq=False)
class Tensor:
    """A tensor ready to quantize: a read-only float array and where it came from."""

    key: str
    name: str
    array: np.ndarray = field(repr=False)
    source_dtype: str
    source: str  # "sample", "npy", "npz", "safetensors", "gguf", "text", "torch"
    n_nan: int = 0
    n_inf: int = 0
    stored_type: str | None = None  # .gguf: the type it was stored as ("Q4_1", "F32")
    stored_scheme: str | None = None  # ... and the quantlib scheme of it ("q4_1"; None for floats)
    stored_bits: float | None = None  # bits per element in the file (Q4_1: 5.0)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def size(self) -> int:
        return int(self.array.size)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def n_nonfinite(self) -> int:
        return self.n_nan + self.n_inf

    @property
    def orig_bits(self) -> float:
        if self.stored_bits is not None:
            return self.stored_bits
        return source_bits(self.source_dtype, self.array.dtype)

    @property
    def orig_nbytes(self) -> int:
        return math.ceil(self.size * self.orig_bits / 8)


def content_key(arr: np.ndarray) -> str:
    """SHA-1 of a tensor's dtype, shape and bytes (hex, 24 digits)."""
    a = np.ascontiguousarray(arr)
    h = hashlib.sha1(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:24]


def file_sha(f: Any) -> str:
    """SHA-1 of an uploaded file's bytes (Streamlit's UploadedFile: no copy)."""
    buf = f.getbuffer() if hasattr(f, "getbuffer") else memoryview(bytes(f))
    return hashlib.sha1(buf).hexdigest()[:24]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------- tensors
@st.cache_resource(max_entries=4, show_spinner=False)
def sample_tensor(name: str, size: str, seed: int) -> Tensor:
    """A built-in sample (:mod:`quantlib.samples`), optionally enlarged (synthetic ones)."""
    MISSES["sample_tensor"] += 1
    s = SAMPLES[name]
    x = _frozen(load_sample(name, seed=int(seed) if not s.is_real else 0, shape=sample_shape(name, size)))
    dtype = s.provenance.get("stored_dtype", "float16") if s.provenance else "float32"
    return Tensor(key=content_key(x), name=name, array=x, source_dtype=dtype, source="sample")


@st.cache_data(max_entries=16, show_spinner=False)
def file_entries(sha: str, name: str, _file: Any) -> list[TensorEntry]:
    """The tensors of an uploaded file (headers only); TensorFileError for a bad file."""
    MISSES["file_entries"] += 1
    return list_tensors(_file, name=name)


@st.cache_resource(max_entries=3, show_spinner=False)
def file_tensor(sha: str, name: str, tensor: str, _file: Any) -> Tensor:
    """One tensor of an uploaded file, read by quantlib.tensorio (never unpickled)."""
    MISSES["file_tensor"] += 1
    lt = load_tensors(_file, name=name, select=[tensor])[tensor]
    x = _frozen(lt.array)
    return Tensor(
        key=content_key(x), name=lt.name, array=x, source_dtype=lt.source_dtype, source=lt.source_format, n_nan=lt.n_nan, n_inf=lt.n_inf,
        stored_type=lt.stored_type, stored_scheme=lt.stored_scheme, stored_bits=lt.stored_bits,
    )


def _clean(x: np.ndarray, mode: str) -> np.ndarray:
    ok = np.isfinite(x)
    if mode == "drop":
        return x[ok]
    return np.where(ok, x, x.dtype.type(0))


@st.cache_resource(max_entries=3, show_spinner=False)
def cleaned(key: str, mode: str, _t: Tensor) -> Tensor:
    """The tensor with its NaN/inf replaced by 0 (``zero``) or dropped (``drop``, 1-D)."""
    MISSES["cleaned"] += 1
    x = _frozen(_clean(_t.array, mode))
    if x.size == 0:
        raise ValueError("every value of the tensor is NaN or infinite: nothing is left to quantize")
    return Tensor(
        key=content_key(x), name=_t.name, array=x, source_dtype=_t.source_dtype, source=_t.source,
        stored_type=_t.stored_type, stored_scheme=_t.stored_scheme, stored_bits=_t.stored_bits,
    )


@st.cache_data(max_entries=32, show_spinner=False)
def tensor_stats(key: str, _x: np.ndarray) -> dict[str, float]:
    """min, max, mean, std, max |x| and the share of zeros (finite values only)."""
    MISSES["tensor_stats"] += 1
    x = _x.reshape(-1)
    f = x if np.isfinite(x).all() else x[np.isfinite(x)]
    if f.size == 0:
        return {k: math.nan for k in ("min", "max", "mean", "std", "absmax", "zeros")}
    mean = float(np.mean(f, dtype=np.float64))
    return {
        "min": float(f.min()),
        "max": float(f.max()),
        "mean": mean,
        "std": float(np.std(f, dtype=np.float64)),
        "absmax": float(max(abs(float(f.min())), abs(float(f.max())))),
        "zeros": float(np.count_nonzero(f == 0)) / f.size,
    }


@st.cache_data(max_entries=32, show_spinner=False)
def max_abs_index(key: str, _x: np.ndarray) -> int:
    """Flat index of the element of largest magnitude (the first NaN if there is one): the
    group whose levels the histogram marks.  Per tensor, not per scheme (argmax of 16 M
    float32 takes ~90 ms)."""
    MISSES["max_abs_index"] += 1
    flat = _x.reshape(-1)
    if flat.size == 0:
        return 0
    i_hi, i_lo = int(np.argmax(flat)), int(np.argmin(flat))
    return i_hi if abs(float(flat[i_hi])) >= abs(float(flat[i_lo])) else i_lo


# --------------------------------------------------------------------------- one scheme
@dataclass(frozen=True, eq=False)
class Quantized:
    q: QuantizedTensor
    xq: np.ndarray  # dequantized, read-only


@st.cache_resource(max_entries=3, show_spinner=False)
def quantized(key: str, scheme: str, _x: np.ndarray) -> Quantized:
    """quantlib's quantize + dequantize (the big arrays, kept once per tensor and scheme)."""
    MISSES["quantized"] += 1
    q = quantize(_x, scheme)
    return Quantized(q=q, xq=_frozen(q.dequantize()))


@dataclass(frozen=True)
class Analysis:
    """Everything the page shows about one quantization, reduced to chart-sized data."""

    scheme: str
    family: str
    metrics: dict[str, float]
    bits_per_element: float
    nbytes: int
    kind: str  # layout: "tensor", "channel", "block"
    n_groups: int
    axis: int | None
    block_size: int | None
    group_mse: np.ndarray  # one MSE per group, in the scale's shape (flattened for heatmaps by the page)
    scale_shape: tuple[int, ...]
    worst_group: int
    error_cells: np.ndarray  # MSE per tile of the 2-D view
    error_steps: tuple[int, int]
    scales: np.ndarray | None  # one scale per group (scale_shape), None for an unscaled cast
    tensor_scale: float | None
    levels: np.ndarray | None  # levels of level_group within the data range (None: too many / none)
    levels_in_view: int
    level_group: int
    clip: tuple[float, float] | None
    sample_x: np.ndarray
    sample_q: np.ndarray
    n_nonfinite_out: int = 0  # elements stored as NaN or ±inf (overflow; negatives in an unsigned format)
    hist: qa.Hists | None = None  # the histograms with DEFAULT_BINS bins (other bins: hists())


def _levels_in_range(q: QuantizedTensor, group: int, lo: float, hi: float) -> tuple[np.ndarray | None, int]:
    try:
        lv = np.asarray(q.levels(group), dtype=np.float64)
    except ValueError:  # a 32/64-bit float cast: too many levels to list
        return None, -1
    lv = lv[np.isfinite(lv)]
    pad = 0.02 * (hi - lo)
    view = lv[(lv >= lo - pad) & (lv <= hi + pad)]
    return (view if view.size <= figs.LEVEL_TICKS_MAX else None), int(view.size)


@st.cache_data(max_entries=64, show_spinner=False)
def analysis(key: str, scheme: str, _x: np.ndarray, _keep: bool = True) -> Analysis:
    """Quantize and reduce: metrics, per-group errors, heatmaps, levels, a sample.

    ``_keep``: the quantized arrays stay in :func:`quantized` (the current scheme: its downloads
    and close-up need them); False for a compared scheme, whose arrays are dropped, so that the
    comparison does not push the current scheme's out of that 3-entry cache.  Either way the
    analysis is the same cache entry: picking a compared scheme later reuses it."""
    MISSES["analysis"] += 1
    if _keep:
        qz = quantized(key, scheme, _x)
        q, xq = qz.q, qz.xq
    else:
        q = quantize(_x, scheme)
        xq = q.dequantize()
    lay = q.layout
    m = quant_metrics(_x, xq, clipped=q.clipped).as_dict()  # NaN/inf stored: an infinite error
    n_bad = m.pop("n_nonfinite")  # shown apart, in a warning (the metrics table and csv keep their rows)
    st_x = tensor_stats(key, _x)  # x's finite range, per tensor; xq's, once here (not again in the sweep)
    lo, hi = st_x["min"], st_x["max"]
    if n_bad < xq.size:
        qlo, qhi = qa.finite_min_max(xq.reshape(-1))
        lo, hi = min(lo, qlo), max(hi, qhi)
    if n_bad == 0:
        maps, hist = qa.sweep(_x, xq, lay, bins=DEFAULT_BINS, max_error=m["max_abs_error"], finite=True, value_range=(lo, hi))
    else:  # the error range has to be found among the finite errors first
        maps, _none = qa.sweep(_x, xq, lay)
        hist = qa.value_histograms(_x, xq, bins=DEFAULT_BINS, error_bins=DEFAULT_BINS)
    gm, cells, rs, cs = maps.group_mse, maps.cells, maps.row_step, maps.col_step
    i_max = max_abs_index(key, _x)
    level_group = lay.group_of(np.unravel_index(i_max, _x.shape)) if _x.ndim else 0
    clip = None
    if lay.n_groups == 1 and q.scales is not None:
        try:
            lv = np.asarray(q.levels(0), dtype=np.float64)
            lv = lv[np.isfinite(lv)]
            clip = (float(lv.min()), float(lv.max()))
            lo, hi = min(lo, clip[0]), max(hi, clip[1])
        except ValueError:
            clip = None
    levels, in_view = _levels_in_range(q, level_group, lo, hi)
    sx, sq = qa.sample_points(_x, xq)
    return Analysis(
        scheme=scheme,
        family=type(q.scheme).family,
        metrics=m,
        bits_per_element=float(q.bits_per_element),
        nbytes=int(q.nbytes),
        kind=lay.kind,
        n_groups=int(lay.n_groups),
        axis=lay.axis,
        block_size=lay.block_size,
        group_mse=gm.reshape(lay.scale_shape) if lay.scale_shape else gm,
        scale_shape=tuple(lay.scale_shape),
        worst_group=int(np.argmax(gm)) if gm.size else 0,
        error_cells=cells,
        error_steps=(rs, cs),
        scales=None if q.scales is None else np.asarray(q.scales, dtype=np.float64).copy(),
        tensor_scale=q.tensor_scale,
        levels=levels,
        levels_in_view=in_view,
        level_group=int(level_group),
        clip=clip,
        sample_x=sx,
        sample_q=sq,
        n_nonfinite_out=n_bad,
        hist=hist,
    )


def hists(key: str, scheme: str, bins: int, _x: np.ndarray) -> qa.Hists:
    """Original, dequantized and error histograms with ``bins`` bins (the default ones come with
    the analysis, in the same pass over the data)."""
    a = analysis(key, scheme, _x)
    if bins == DEFAULT_BINS and a.hist is not None:
        return a.hist
    return _hists(key, scheme, bins, _x)


@st.cache_data(max_entries=64, show_spinner=False)
def _hists(key: str, scheme: str, bins: int, _x: np.ndarray) -> qa.Hists:
    MISSES["hists"] += 1
    qz = quantized(key, scheme, _x)
    a = analysis(key, scheme, _x)
    return qa.value_histograms(_x, qz.xq, bins=bins, error_bins=bins, max_error=a.metrics["max_abs_error"], finite=a.n_nonfinite_out == 0)


def _summary(scheme: str, family: str, bits: float, nbytes: int, m: dict[str, Any]) -> dict[str, Any]:
    """One row of a comparison table: the scheme, its cost and its error metrics."""
    return {
        "scheme": scheme,
        "family": family,
        "bits": float(bits),
        "nbytes": int(nbytes),
        "sqnr_db": float(m["sqnr_db"]),
        "mse": float(m["mse"]),
        "max_abs_error": float(m["max_abs_error"]),
        "one_minus_cosine": float(m["one_minus_cosine"]),
        "rel_error": float(m["rel_error"]),
        "frac_clipped": float(m["frac_clipped"] or 0.0),
        "frac_flushed": float(m["frac_flushed"]),
    }


@st.cache_data(max_entries=1024, show_spinner=False)
def compare_row(key: str, scheme: str, _x: np.ndarray) -> dict[str, Any]:
    """One row of the comparison, from the scheme's whole :func:`analysis` (nothing big is
    kept): a compared scheme picked as the current one is then a cache hit, not a second
    quantization (16 Mi values: about 0.1 s instead of 0.5 s on the server), for the price of
    the error sweep per compared scheme.  ValueError (quantlib's message) when the scheme
    cannot quantize this tensor."""
    MISSES["compare_row"] += 1
    return row_from_analysis(analysis(key, scheme, _x, _keep=False))


def row_from_analysis(a: Analysis) -> dict[str, Any]:
    """The comparison row of the current scheme, from its analysis (no recomputation)."""
    return _summary(a.scheme, a.family, a.bits_per_element, a.nbytes, a.metrics)


# --------------------------------------------------------------------------- block zoom
ZOOM_MAX = 128
"""The zoom table shows at most this many elements of a group."""


def code_text(q: QuantizedTensor, codes: np.ndarray) -> list[str]:
    """Codes as people read them: hex bit patterns for float elements, integers otherwise."""
    s = q.scheme
    if s.code_format is not None:
        digits = (s.code_bits + 3) // 4
        return [f"0x{int(c):0{digits}X}" for c in codes]
    return [str(int(c)) for c in codes]


@st.cache_data(max_entries=64, show_spinner=False)
def block_zoom(key: str, scheme: str, group: int, _x: np.ndarray) -> dict[str, Any]:
    """One group (block / channel / the tensor) up close: its first :data:`ZOOM_MAX` values,
    codes and dequantized values, its scale (and how that is stored) and its levels."""
    MISSES["block_zoom"] += 1
    qz = quantized(key, scheme, _x)
    q, xq = qz.q, qz.xq
    lay = q.layout
    gv = q.group(int(min(max(group, 0), lay.n_groups - 1)))
    g = gv.index
    out: dict[str, Any] = {
        "group": g,
        "n": gv.size,
        "sel": gv.where,
        "x": q.group_elements(_x, g, ZOOM_MAX).astype(np.float64),
        "xq": q.group_elements(xq, g, ZOOM_MAX).astype(np.float64),
        "codes": code_text(q, q.group_elements(q.codes, g, ZOOM_MAX)),
        "clipped": q.group_elements(q.clipped, g, ZOOM_MAX).copy(),
        "scale": gv.scale,
        "scale_code": gv.scale_code,
        "zero_point": gv.zero_point,
        "tensor_scale": gv.tensor_scale,
        "dq_original": gv.dq_original,
        "code_bits": int(q.scheme.code_bits),
    }
    if gv.dq_code is not None:
        out["dq_code"] = gv.dq_code
    try:
        out["levels"] = np.asarray(q.levels(g), dtype=np.float64)
    except ValueError:
        out["levels"] = None
    try:  # the scheme's own intermediate numbers for the formulas (None for a ggml type)
        out["explain"] = block_explain(q, _x, g, limit=ZOOM_MAX)
    except (ValueError, AssertionError):
        out["explain"] = None
    return out


# --------------------------------------------------------------------------- every tensor of a file
@st.cache_data(max_entries=2048, show_spinner=False)
def per_tensor_row(sha: str, name: str, tensor: str, scheme: str, mode: str, _file: Any) -> dict[str, Any]:
    """One tensor of a file quantized with ``scheme``: its summary row, or its problem."""
    MISSES["per_tensor_row"] += 1
    row: dict[str, Any] = {"tensor": tensor, "shape": "", "size": 0, "problem": None}
    try:
        lt = load_tensors(_file, name=name, select=[tensor])[tensor]
        x = lt.array if not lt.n_nonfinite else _clean(lt.array, mode)
        row.update(shape=" × ".join(map(str, lt.array.shape)) or "()", size=int(lt.array.size))
        q = quantize(x, scheme)
        row.update(_summary(scheme, type(q.scheme).family, q.bits_per_element, q.nbytes, quant_metrics(x, q.dequantize(), clipped=q.clipped).as_dict()))
    except ValueError as exc:  # TensorFileError is a ValueError; so are quantlib's refusals
        row["problem"] = str(exc)
    return row


# --------------------------------------------------------------------------- downloads
def quantized_file(q: QuantizedTensor, name: str, extra_meta: dict[str, str] | None = None) -> bytes:
    """The quantized tensor as .safetensors (:func:`quantlib.tensorio.save_quantized`)."""
    return save_quantized(q, source=name, metadata=extra_meta)


def dequantized_file(xq: np.ndarray) -> bytes:
    """The dequantized tensor as .npy."""
    return save_npy(np.asarray(xq))


def csv_bytes(df) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")
