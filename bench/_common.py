"""Shared by the bench scripts: best-of timing, and writing a results table into a markdown file."""

from __future__ import annotations

import time
from pathlib import Path


def best_ms(fn, repeat: int) -> float:
    """Best of ``repeat`` runs of ``fn()`` in milliseconds, after one warm-up run."""
    fn()  # warm up: tables, thread pools, page faults
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def write_section(path: Path, tag: str, text: str) -> None:
    """Replace what stands between ``<!-- {tag}:begin -->`` and ``<!-- {tag}:end -->`` in ``path``
    (created with just the markers if missing) by ``text``."""
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    doc = path.read_text() if path.exists() else f"{begin}\n{end}\n"
    head, _, rest = doc.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
