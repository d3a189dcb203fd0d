"""The one way quantlib splits work over threads: cache-sized chunks, one contiguous share per thread.

numpy releases the GIL inside its loops, so a few threads over contiguous spans of an array
scale on the cores a page has.  Every hot path uses these three functions and these two
constants, so "how big is a chunk" and "when is a tensor big enough to thread" are decided once:

- :data:`CHUNK` elements per chunk (2**18: 1 MiB of float32, measured best with 2 threads on a
  1 MiB L2); a chunk's scratch buffers are allocated once per thread, not per chunk.
- :data:`PARALLEL_MIN` elements (2**18): below it one thread does everything, since starting
  threads costs more than they save.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

__all__ = ["CHUNK", "PARALLEL_MIN", "thread_count", "spans", "shares", "run_parallel"]

CHUNK = 1 << 18
PARALLEL_MIN = 1 << 18

T = TypeVar("T")
R = TypeVar("R")


def thread_count(n: int, threads: int | None = None, *, step: int = CHUNK) -> int:
    """Threads for ``n`` elements: 1 below :data:`PARALLEL_MIN`, else ``threads`` (default one
    per core) but never more than there are chunks of ``step``: ``thread_count(1 << 20, 8) == 4``."""
    if n < PARALLEL_MIN:
        return 1
    t = (os.cpu_count() or 1) if threads is None else int(threads)
    return max(1, min(t, -(-n // max(1, step))))


def spans(n: int, parts: int, *, align: int = CHUNK) -> list[tuple[int, int]]:
    """At most ``parts`` contiguous ranges covering ``range(n)``, boundaries at multiples of ``align``:
    ``spans(10, 2, align=4) == [(0, 8), (8, 10)]`` (never empty: ``spans(0, 2) == [(0, 0)]``)."""
    steps = -(-n // max(1, align))
    per = -(-steps // max(1, min(parts, steps or 1))) * max(1, align)
    return [(a, min(n, a + per)) for a in range(0, n, per)] or [(0, 0)]


def shares(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` cut into at most ``parts`` contiguous shares: ``shares([1, 2, 3], 2) == [[1, 2], [3]]``."""
    per = -(-len(items) // max(1, min(parts, len(items) or 1)))
    return [items[i : i + per] for i in range(0, len(items), per)] or [items]


def run_parallel(parts: Sequence[T], work: Callable[[T], R], *, quiet: bool = False) -> list[R]:
    """``[work(p) for p in parts]``, one thread per part when there are several.

    ``quiet``: floating-point warnings silenced inside ``work`` (numpy's error state is per
    thread, so the caller's ``np.errstate`` does not reach the workers)."""

    def call(p: T) -> R:
        if not quiet:
            return work(p)
        with np.errstate(all="ignore"):
            return work(p)

    if len(parts) <= 1:
        return [call(p) for p in parts]
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        return list(pool.map(call, parts))
