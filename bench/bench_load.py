"""Benchmark: peak memory and time of quantlib.tensorio.load_tensors on a 256 MB safetensors file.

    python bench/bench_load.py [--mb 256] [--dtype F32|F16|BF16|all] [--source path|bytesio]

For each case a fresh subprocess writes nothing but loads the file once and reports

* ``tracemalloc`` peak: Python + numpy allocations during the load (numpy reports its buffers
  to tracemalloc), i.e. the extra memory the load needs;
* ``ru_maxrss`` growth: resident memory of the process after the load minus before it
  (includes any pages of the file that are mapped; none are here: the loader reads with
  ``readinto``).

Both are divided by the file's size. An F32 file decodes to float32 arrays of the same size,
so its floor is 1.0x; F16/BF16 files decode to float32, twice their size, so their floor is
2.0x. This is a benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import io, json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
import numpy as np
from quantlib.tensorio import load_tensors
path, source = {path!r}, {source!r}
src = path
if source == "bytesio":
    src = io.BytesIO(open(path, "rb").read())   # what Streamlit's UploadedFile holds
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
t0 = time.perf_counter()
out = load_tensors(src, name="bench.safetensors")
dt = time.perf_counter() - t0
cur, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(seconds=dt, tracemalloc_peak=peak, rss_growth=rss1 - rss0,
                      out_bytes=sum(t.array.nbytes for t in out.values()), n=len(out))))
"""


def write_file(path: Path, mb: int, tag: str) -> int:
    """A safetensors file of about ``mb`` MB: tensors of at most 2**26 values, written in chunks."""
    item = {"F32": 4, "F16": 2, "BF16": 2}[tag]
    total = mb * (1 << 20) // item
    per = min(total, 1 << 26)
    n_t = (total + per - 1) // per
    header, off = {}, 0
    for i in range(n_t):
        k = min(per, total - i * per)
        header[f"t{i}"] = {"dtype": tag, "shape": [k // 4096, 4096], "data_offsets": [off, off + (k // 4096) * 4096 * item]}
        off += (k // 4096) * 4096 * item
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    import numpy as np

    rng = np.random.default_rng(0)
    block = rng.standard_normal(1 << 20).astype(np.float32)
    if tag == "F16":
        block = block.astype(np.float16)
    elif tag == "BF16":
        block = (block.view(np.uint32) >> 16).astype(np.uint16)
    raw = block.tobytes()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        left = off
        while left:
            n = min(left, len(raw))
            f.write(raw[:n])
            left -= n
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--dtype", default="all", choices=["F32", "F16", "BF16", "all"])
    ap.add_argument("--source", default="path", choices=["path", "bytesio", "all"])
    args = ap.parse_args()
    tags = ["F32", "F16", "BF16"] if args.dtype == "all" else [args.dtype]
    sources = ["path", "bytesio"] if args.source == "all" else [args.source]
    print("| file | source | size | time | tracemalloc peak | RSS growth | arrays returned |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for tag in tags:
            p = Path(d) / f"bench_{tag}.safetensors"
            size = write_file(p, args.mb, tag)
            for source in sources:
                code = CHILD.format(root=str(ROOT), path=str(p), source=source)
                res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                r = json.loads(res.stdout.strip().splitlines()[-1])
                mb = 1 << 20
                print(
                    f"| {tag} | {source} | {size / mb:.0f} MB | {r['seconds']:.2f} s "
                    f"| {r['tracemalloc_peak'] / mb:.0f} MB ({r['tracemalloc_peak'] / size:.2f}x) "
                    f"| {r['rss_growth'] / mb:.0f} MB ({r['rss_growth'] / size:.2f}x) "
                    f"| {r['out_bytes'] / mb:.0f} MB in {r['n']} |"
                )
            os.unlink(p)


if __name__ == "__main__":
    main()
