"""Files for the quantlib.tensorio tests: .npy/.npz/safetensors bytes made by hand, by numpy and by
the safetensors library, the arrays in them, and a time limit for the fuzz runs."""

from __future__ import annotations

import io
import json
import signal
import struct
from contextlib import contextmanager

import ml_dtypes
import numpy as np
import pytest

from quantlib.tensorio import save_safetensors, torch_available

needs_torch = pytest.mark.skipif(not torch_available(), reason="PyTorch is not installed")


# --------------------------------------------------------------------------- helpers
class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` in the loader can hide it."""


@contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def npy(arr, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def npz(compressed=False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def st_by_hand(entries: dict, data: bytes, metadata=None, raw_header: bytes | None = None) -> bytes:
    """A safetensors file with whatever header we like (for malformed cases)."""
    h = dict(entries)
    if metadata is not None:
        h["__metadata__"] = metadata
    hb = raw_header if raw_header is not None else json.dumps(h).encode()
    return struct.pack("<Q", len(hb)) + hb + data


def same(a, b) -> bool:
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when widening NaN codes
        return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)


RNG = np.random.default_rng(1234)
W = RNG.standard_normal((6, 8)).astype(np.float32)
W_SPECIAL = W.copy()
W_SPECIAL[0, :3] = np.nan
W_SPECIAL[1, 0] = np.inf
W_SPECIAL[2, 1] = -np.inf


def safetensors_mixed() -> bytes:
    """F32 / F16 / BF16 / F8_E4M3 / F8_E5M2 / I64 entries, written by the safetensors library."""
    st_numpy = pytest.importorskip("safetensors.numpy")
    torch = pytest.importorskip("torch")
    from safetensors.torch import save

    t = torch.from_numpy(W_SPECIAL)
    del st_numpy
    return save(
        {
            "f32": t,
            "f16": t.half(),
            "bf16": t.bfloat16(),
            "e4m3": torch.from_numpy(W).to(torch.float8_e4m3fn),
            "e5m2": t.to(torch.float8_e5m2),
            "ids": torch.arange(10, dtype=torch.int64),
        },
        metadata={"format": "pt"},
    )


def safetensors_numpy_only() -> bytes:
    """F32 + F16 + BF16/F8 codes, written by our own writer (no torch needed)."""
    return save_safetensors(
        {
            "f32": W_SPECIAL,
            "f16": W_SPECIAL.astype(np.float16),
            "bf16": W_SPECIAL.astype(ml_dtypes.bfloat16).view(np.uint16),
            "e4m3": W.astype(ml_dtypes.float8_e4m3fn).view(np.uint8),
            "e5m2": W_SPECIAL.astype(ml_dtypes.float8_e5m2).view(np.uint8),
        },
        dtypes={"bf16": "BF16", "e4m3": "F8_E4M3", "e5m2": "F8_E5M2"},
        metadata={"quantlab.scheme": "test"},
    )
