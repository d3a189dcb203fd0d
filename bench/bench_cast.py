"""Benchmark: quantlib.cast against ml_dtypes and torch round trips, in one run.

    python bench/bench_cast.py [--n 16777216] [--repeat 5] [--write bench/README.md]

Input: 2**24 float32 standard normals (and the same as float64). For each format:
quantlib.cast with 1 thread and with one thread per core; ``x.astype(ml_dtypes.<fmt>)
.astype(np.float32)``; torch's ``x.to(dtype).to(torch.float32)`` on 1 thread and on as many
threads as torch uses by default. Times are the best of ``--repeat`` runs; ratios are
other / quantlib (above 1 means quantlib is faster).  This is a benchmark, not a test:
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quantlib import FORMATS  # noqa: E402
from quantlib.codec import cast  # noqa: E402

from _common import best_ms, write_section  # noqa: E402  (bench/ is the script's directory)

try:
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

NAMES = [n for n, f in FORMATS.items() if f.bits <= 19 or n == "float32"]


def torch_dtype(name: str):
    if torch is None or name == "float32":  # float32 -> float32 is a no-op in torch
        return None
    return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(name) or getattr(torch, name, None)


def run(n: int, repeat: int) -> tuple[list[dict], float]:
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal(n, dtype=np.float32)
    x64 = x32.astype(np.float64)
    copy_ms = best_ms(lambda: x32.copy(), repeat)
    cores = os.cpu_count() or 1
    rows = []
    tx = torch.from_numpy(x32) if torch is not None else None
    torch_threads = torch.get_num_threads() if torch is not None else 0
    for name in NAMES:
        row = {"format": name}
        row["ql1"] = best_ms(lambda: cast(x32, name, threads=1), repeat)
        row["qlN"] = best_ms(lambda: cast(x32, name, threads=cores), repeat)
        row["ql64"] = best_ms(lambda: cast(x64, name, threads=cores), repeat)
        if ml_dtypes is not None and hasattr(ml_dtypes, name) or name in ("float16", "float32"):
            dt = getattr(ml_dtypes, name, None) or np.dtype(name)
            with np.errstate(all="ignore"):
                row["ml"] = best_ms(lambda: x32.astype(dt).astype(np.float32), repeat)
        tdt = torch_dtype(name)
        if tdt is not None:
            torch.set_num_threads(1)
            row["t1"] = best_ms(lambda: tx.to(tdt).to(torch.float32), repeat)
            torch.set_num_threads(torch_threads)
            row["tN"] = best_ms(lambda: tx.to(tdt).to(torch.float32), repeat)
        rows.append(row)
    return rows, copy_ms


def table(rows: list[dict], copy_ms: float, n: int) -> str:
    cores = os.cpu_count() or 1
    tthreads = torch.get_num_threads() if torch is not None else 0
    lines = [
        f"{n:,} float32 standard normals, best of runs, milliseconds. {platform.processor() or platform.machine()}, "
        f"{cores} cores, numpy {np.__version__}"
        + (f", ml_dtypes {ml_dtypes.__version__}" if ml_dtypes else "")
        + (f", torch {torch.__version__} ({tthreads} threads)" if torch else ", torch not installed")
        + f". A plain copy takes {copy_ms:.1f} ms.",
        "",
        f"| format | quantlib 1 thread | quantlib {cores} threads | float64 input | ml_dtypes | × vs ml_dtypes | torch 1 thread | torch {tthreads} threads | × vs torch {tthreads} threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def f(v):
        return "–" if v is None else f"{v:.1f}"

    def ratio(a, b):
        return "–" if a is None else f"{a / b:.1f}×"

    for r in rows:
        lines.append(
            f"| `{r['format']}` | {f(r['ql1'])} | {f(r['qlN'])} | {f(r['ql64'])} | {f(r.get('ml'))} | "
            f"{ratio(r.get('ml'), r['qlN'])} | {f(r.get('t1'))} | {f(r.get('tN'))} | {ratio(r.get('tN'), r['qlN'])} |"
        )
    lines.append("")
    lines.append(
        "float64 input: " + ", ".join(f"{r['format']} {r['ql64'] / r['qlN']:.2f}×" for r in rows) + " the float32 time."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 24)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write", type=Path, help="replace the results section of this markdown file")
    args = ap.parse_args(argv)
    rows, copy_ms = run(args.n, args.repeat)
    text = table(rows, copy_ms, args.n)
    print(text)
    if args.write:
        write_section(args.write, "bench_cast", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
