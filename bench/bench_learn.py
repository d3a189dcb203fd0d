"""Rerun time of every /learn lesson after an interaction, on the server (AppTest), per lesson.

    python bench/bench_learn.py [--repeat 5] [--write bench/README_learn.md]

For each lesson: open ``/learn?lesson=<id>`` once (warm caches), then ``repeat`` times move its
first slider (or number input, or radio) to another value and rerun the page; the table gives
the median and the worst of those reruns.  The issue's budget is 300 ms per interaction.  This
is the server's script time only (no browser paint); a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _interact(at, i: int) -> str:
    """Change the lesson's first interactive widget (the i-th time); returns what was changed."""
    for s in at.slider:
        if s.key and s.key.startswith("learn_"):
            lo, hi = s.min, s.max
            step = s.step or 1
            span = int(round((hi - lo) / step))
            s.set_value(type(lo)(lo + step * ((i * 7 + 1) % (span + 1))))
            return f"slider {s.key}"
    for n in at.number_input:
        if n.key and n.key.startswith("learn_"):
            n.set_value((n.value or 0) + 1)
            return f"number {n.key}"
    for r in at.radio:
        if r.key and r.key.startswith("learn_") and not r.key.endswith("_q"):
            opts = r.options
            r.set_value(r.options[i % len(opts)] if isinstance(r.options[0], str) else i % len(opts))
            return f"radio {r.key}"
    return "rerun only"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    from lab.learn.core import LESSONS
    from tests.apptest import open_page

    rows = []
    for info in LESSONS:
        t0 = time.perf_counter()
        at = open_page("app_pages/learn.py", timeout=600, lesson=info.id)
        first = time.perf_counter() - t0
        times, what = [], ""
        for i in range(args.repeat):
            what = _interact(at, i)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        rows.append((info.id, what, first, statistics.median(times), max(times)))
        print(f"{info.id:16s} {what:40s} first {first:6.2f} s  median {1e3 * rows[-1][3]:6.0f} ms  worst {1e3 * rows[-1][4]:6.0f} ms", flush=True)
    lines = [
        f"{len(rows)} lessons, {args.repeat} interactions each; server time of one rerun (AppTest), not browser paint.",
        "",
        "| lesson | interaction | first open s | median ms | worst ms |",
        "|---|---|---:|---:|---:|",
        *(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {1e3 * r[3]:.0f} | {1e3 * r[4]:.0f} |" for r in rows),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        from _common import write_section

        write_section(args.write, "learn", text)


if __name__ == "__main__":
    main()
