"""decode: codes of a format -> numpy floats (a table for small formats, arithmetic for wide)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._parallel import CHUNK
from ..formats import FloatFormat, get_format
from ._common import _F16_FMT, _F32_FMT, _F64_FMT, _run_chunked, _threads


# ------------------------------------------------------------------------ decode
@lru_cache(maxsize=64)
def _decode_table(fmt: FloatFormat) -> np.ndarray:
    codes = np.arange(1 << fmt.bits, dtype=np.uint64)
    tab = _decode_arith(codes, fmt)
    tab.setflags(write=False)
    return tab


def _fits_f64(fmt: FloatFormat) -> bool:
    return fmt.fits_in(_F64_FMT) or (not fmt.has_zero and fmt.emax <= 1023 and fmt.minexp >= -1022 and fmt.nmant <= 52)


def _fits_f32(fmt: FloatFormat) -> bool:
    return fmt.fits_in(_F32_FMT) or (not fmt.has_zero and fmt.emax <= 127 and fmt.minexp - fmt.nmant >= -149 and fmt.nmant <= 23)


def _decode_arith(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Exact float64 values of codes by arithmetic (format must fit in float64)."""
    c = codes.astype(np.uint64)
    nm = np.uint64(fmt.nmant)
    mag = c & np.uint64(fmt.mag_mask)
    ef = (mag >> nm).astype(np.int64)
    m = mag & np.uint64((1 << fmt.nmant) - 1)
    if fmt.has_zero:
        sig = m + ((ef != 0).astype(np.uint64) << nm)
        ex = np.maximum(ef, 1) - fmt.bias - fmt.nmant
    else:
        sig = m + (np.uint64(1) << nm)
        ex = ef - fmt.bias - fmt.nmant
    with np.errstate(over="ignore"):  # the inf/NaN codes of ieee formats are overwritten below
        val = np.ldexp(sig.astype(np.float64), ex.astype(np.int32))  # sig < 2**53: exact
    if fmt.signed:
        val = np.where((c & np.uint64(fmt.sign_mask)) != 0, -val, val)
    if fmt.nonfinite == "ieee":
        top = ef == (1 << fmt.nexp) - 1
        val = np.where(top & (m == 0), np.copysign(np.inf, val), val)
        val = np.where(top & (m != 0), np.copysign(np.nan, val), val)
    elif fmt.nonfinite == "fn":
        val = np.where(mag == np.uint64(fmt.mag_mask), np.copysign(np.nan, val), val)
    elif fmt.nonfinite == "fnuz":
        val = np.where(c == np.uint64(fmt.sign_mask), np.nan, val)
    return val


def decode(codes, fmt: FloatFormat | str, *, dtype=np.float64) -> np.ndarray:
    """Exact values of codes: ``decode(0x3F80, "bfloat16")`` → 1.0.

    ``dtype`` is float64 (default) or float32/float16 when every value of ``fmt`` is exact
    in it; otherwise ValueError.  Codes outside ``0 .. 2**bits-1`` raise ValueError.
    """
    fmt = get_format(fmt)
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        ok = _fits_f64(fmt)
    elif dtype == np.float32:
        ok = _fits_f32(fmt)
    elif dtype == np.float16:
        ok = fmt.fits_in(_F16_FMT)
    else:
        raise ValueError(f"decode dtype must be float16, float32 or float64, not {dtype}")
    if not ok:
        raise ValueError(
            f"not every value of {fmt.name} is exact in {dtype}; decode to a wider dtype, "
            "or use quantlib.exact for exact values"
        )
    c = np.asarray(codes)
    if not (np.issubdtype(c.dtype, np.integer) or c.dtype == np.bool_):
        raise ValueError(f"codes must be integers, got {c.dtype}")
    if c.size:
        if np.issubdtype(c.dtype, np.signedinteger) and c.min() < 0:
            raise ValueError("codes must be non-negative")
        if int(c.max()) >> fmt.bits:
            raise ValueError(f"code {int(c.max()):#x} does not fit in {fmt.bits} bits of {fmt.name}")
    if fmt.bits > 16:
        return _decode_arith(c, fmt).astype(dtype, copy=False)
    table = _decode_table_as(fmt, dtype)  # exact in dtype (checked above)
    flat = np.ascontiguousarray(c).reshape(-1)
    out = np.empty(flat.size, dtype)

    def work(a: int, b: int) -> None:
        for i in range(a, b, CHUNK):  # per chunk: the index conversion stays in cache
            j = min(b, i + CHUNK)
            np.take(table, flat[i:j], out=out[i:j])

    _run_chunked(flat.size, _threads(None, flat.size), work)
    return out.reshape(c.shape)


@lru_cache(maxsize=64)
def _decode_table_as(fmt: FloatFormat, dtype: np.dtype) -> np.ndarray:
    tab = _decode_table(fmt).astype(dtype)
    tab.setflags(write=False)
    return tab
