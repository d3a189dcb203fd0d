"""Cached work of the "Smaller, not faster" page (``/cost``).

The memory and roofline rows are quick arithmetic, memoized by their arguments with
``st.cache_data``.  A measurement is stored in a :func:`~lab.core.cached.shared_store` by its
sizes: timings of this server, shared by every session (one "Measure" for all), and measured
again only by :func:`remeasure`.  :data:`MISSES` counts the measurements really run (tests use it).
"""

from __future__ import annotations

import collections

import streamlit as st

from lab.core.cached import LRUStore, shared_store

from quantlib.cost import Hardware, Measurement, ModelShape, Roofline, kv_bits, kv_cache_bytes, measure, roofline, weight_bits, weight_bytes

__all__ = ["MISSES", "REPEATS", "measured", "measurement", "memory_rows", "speed_rows"]

REPEATS = 5
MISSES: collections.Counter = collections.Counter()


@st.cache_data(show_spinner=False, max_entries=64)
def memory_rows(schemes: tuple[str, ...], params: float, shape: ModelShape, context: int, batch: int, kv: str) -> list[dict]:
    """One dict per scheme: bits per weight, bytes of the weights and of the KV cache."""
    kvb = kv_cache_bytes(shape, context=context, batch=batch, bits=kv_bits(kv, shape.kv_head_dim))
    return [{"scheme": s, "bits": weight_bits(s), "weight_bytes": weight_bytes(params, s), "kv_bytes": kvb} for s in schemes]


@st.cache_data(show_spinner=False, max_entries=64)
def speed_rows(
    schemes: tuple[str, ...], hw: Hardware, shape: ModelShape, params: float, context: int, batch: int, kv: str, materialize: bool
) -> list[Roofline]:
    """The roofline of each scheme on ``hw``."""
    b = kv_bits(kv, shape.kv_head_dim)
    return [roofline(s, hw, shape, params=params, context=context, batch=batch, kv_bits=b, materialize=materialize) for s in schemes]


def _store() -> LRUStore:
    return shared_store("cost_measurements", 16)


def _key(m: int, k: int, n: int) -> tuple:
    return (int(m), int(k), int(n), REPEATS)


def measured(m: int, k: int, n: int) -> Measurement | None:
    """The stored measurement of ``(m x k) @ (k x n)``, or None."""
    return _store().get(_key(m, k, n))


def measurement(m: int, k: int, n: int, *, again: bool = False) -> Measurement:
    """Measure ``(m x k) @ (k x n)`` on this server (stored; ``again`` measures anew)."""
    key = _key(m, k, n)
    if not again:
        hit = _store().get(key)
        if hit is not None:
            return hit
    MISSES["measure"] += 1
    return _store().put(key, measure(m=m, k=k, n=n, repeats=REPEATS))
