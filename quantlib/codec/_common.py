"""Helpers shared by the codec: the input domain, float arrays, chunked threads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._parallel import run_parallel, spans, thread_count
from ..formats import FloatFormat


# --------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _Domain:
    """The float type whose bit pattern a chunk is processed in."""

    ftype: type
    utype: type
    itype: type
    p: int  # stored mantissa bits
    bias: int
    width: int

    @property
    def sign(self):
        return self.utype(1 << (self.width - 1))

    @property
    def absmask(self):
        return self.utype((1 << (self.width - 1)) - 1)


_F32 = _Domain(np.float32, np.uint32, np.int32, 23, 127, 32)
_F64 = _Domain(np.float64, np.uint64, np.int64, 52, 1023, 64)
_F32_FMT = FloatFormat(name="float32", nexp=8, nmant=23)
_F16_FMT = FloatFormat(name="float16", nexp=5, nmant=10)
_F64_FMT = FloatFormat(name="float64", nexp=11, nmant=52)


def _as_float_array(x) -> np.ndarray:
    """numpy float array holding x exactly (float16/32/64 kept; ints and Python floats → float64)."""
    arr = np.asarray(x)
    if arr.dtype in (np.float16, np.float32, np.float64):
        return arr
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        out = arr.astype(np.float64)
        if arr.size and np.issubdtype(arr.dtype, np.integer):
            big = np.abs(arr.astype(np.float64)) > 2.0**53
            if big.any():
                raise ValueError(
                    f"{int(big.sum())} integer input(s) exceed 2**53 and are not exact in float64; "
                    "convert them to float yourself if rounding twice is acceptable"
                )
        return out
    if np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{arr.dtype} input is not supported: convert to float64 first")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("complex input is not supported: encode the real and imaginary parts separately")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"could not read the input as numbers ({arr.dtype}): {exc}") from None


def _threads(threads: int | None, n: int) -> int:
    return thread_count(n, threads)


def _run_chunked(n: int, threads: int, work) -> None:
    """Call work(start, stop) over contiguous spans of whole chunks, one span per thread.

    Floating-point warnings are silenced inside: widening a signalling NaN raises 'invalid',
    and lanes that the exact kernel overwrites may overflow on the way.
    """
    run_parallel(spans(n, threads), lambda span: work(*span), quiet=True)
