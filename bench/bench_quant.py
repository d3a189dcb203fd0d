"""Benchmark: quantlib quantizers against bitsandbytes' CPU kernels, and the metrics sweep.

    python bench/bench_quant.py [--n 16777216] [--repeat 5] [--threads 1 2] [--write bench/README_quant.md]

Input: 2**24 float32 standard normals.  For each thread count a worker subprocess is started
with OMP_NUM_THREADS / MKL_NUM_THREADS set (bitsandbytes' C++ kernels use OpenMP, its torch
kernels torch's pool: torch.set_num_threads is called too) and quantlib gets ``threads=T``:

* NF4, block 64: ``quantize_4bit`` + ``dequantize_4bit`` against ``quantize`` + ``dequantize``,
  also with double quantization (``compress_statistics=True``);
* absmax int8, block 64: ``quantize_blockwise`` + ``dequantize_blockwise`` (bitsandbytes'
  8-bit dynamic map, the closest bitsandbytes has) against ``int8:block=64``;
* every metric of :func:`quantlib.metrics.metrics` together, in units of one plain pass
  (``np.subtract(x, xq, out=buf)``: read two arrays, write one);
* the nearest-codebook search for NF4 three ways (comparison sum, ``np.searchsorted``, a
  64Ki-bucket table with one midpoint per bucket);
* the other presets, quantize + dequantize.

Times are the best of ``--repeat`` runs; ratios are bitsandbytes / quantlib (above 1: quantlib
is faster).  This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import best_ms, write_section  # noqa: E402  (bench/ is the script's directory)


def _nearest_variants(n: int, repeat: int) -> dict:
    """NF4 nearest-code search on 2**24 normalised values, three ways (one thread)."""
    from quantlib.codebooks import NF4_CODEBOOK

    rng = np.random.default_rng(1)
    s = np.clip(rng.standard_normal(n, dtype=np.float32) * np.float32(0.4), -1, 1)
    mids = NF4_CODEBOOK.midpoints
    out = np.empty(n, np.uint8)
    # table: bucket = top 16 bits of the float32; one midpoint at most per bucket
    u = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    lo, hi = u.view(np.float32), (u | np.uint32(0xFFFF)).view(np.float32)
    with np.errstate(invalid="ignore"):
        vmin, vmax = np.fmin(lo, hi), np.fmax(lo, hi)
    cl = np.searchsorted(mids, np.nan_to_num(vmin), side="left").astype(np.uint8)
    ch = np.searchsorted(mids, np.nan_to_num(vmax), side="left").astype(np.uint8)
    thr = np.full(1 << 16, np.inf, np.float32)
    amb = np.flatnonzero(ch != cl)
    thr[amb] = mids[cl[amb]]
    CH = 1 << 16
    bbuf, ibuf, tbuf = np.empty(CH, bool), np.empty(CH, np.uint32), np.empty(CH, np.float32)

    def comparison_sum():
        for a in range(0, n, CH):
            NF4_CODEBOOK.nearest(s[a : a + CH], out=out[a : a + CH], scratch=bbuf[: min(CH, n - a)])

    def searchsorted():
        for a in range(0, n, CH):
            out[a : a + CH] = np.searchsorted(mids, s[a : a + CH], side="left")

    def table():
        for a in range(0, n, CH):
            m = min(CH, n - a)
            sc = s[a : a + m]
            np.right_shift(sc.view(np.uint32), np.uint32(16), out=ibuf[:m])
            np.take(cl, ibuf[:m], out=out[a : a + m])
            np.take(thr, ibuf[:m], out=tbuf[:m])
            np.greater(sc, tbuf[:m], out=bbuf[:m])
            np.add(out[a : a + m], bbuf[:m], out=out[a : a + m], casting="unsafe")

    res = {}
    ref = None
    for name, fn in (("comparison sum (15 compares)", comparison_sum), ("np.searchsorted", searchsorted), ("64Ki-bucket table", table)):
        res[name] = best_ms(fn, repeat)
        ref = out.copy() if ref is None else ref
        assert np.array_equal(out, ref), name
    return res


def worker(n: int, repeat: int, threads: int) -> dict:
    from quantlib.metrics import metrics
    from quantlib.schemes import PRESETS, quantize

    try:
        import torch

        torch.set_num_threads(threads)
        import bitsandbytes
        import bitsandbytes.functional as F
    except Exception:  # noqa: BLE001 - bitsandbytes is optional and may fail to load in many ways
        torch = F = bitsandbytes = None
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    res: dict = {"threads": threads, "rows": [], "presets": []}
    if F is not None:
        res["bnb_version"] = bitsandbytes.__version__
        res["torch_version"] = torch.__version__
        xt = torch.from_numpy(x)

    def row(label, ours_q, ours_d, bnb_q=None, bnb_d=None):
        r = {"label": label, "ql_q": best_ms(ours_q, repeat), "ql_d": None}
        r["ql_d"] = best_ms(ours_d, repeat)
        if bnb_q is not None:
            r["bnb_q"] = best_ms(bnb_q, repeat)
            r["bnb_d"] = best_ms(bnb_d, repeat)
        res["rows"].append(r)

    for dq in (False, True):
        scheme = f"nf4:block=64{',dq' if dq else ''}"
        q = quantize(x, scheme, threads=threads)
        bq = bd = None
        if F is not None:
            packed, state = F.quantize_4bit(xt, blocksize=64, quant_type="nf4", compress_statistics=dq)
            if not dq:
                res["nf4_identical"] = bool(np.array_equal(q.pack(), packed.numpy().reshape(-1)))
            bq = lambda dq=dq: F.quantize_4bit(xt, blocksize=64, quant_type="nf4", compress_statistics=dq)
            bd = lambda packed=packed, state=state: F.dequantize_4bit(packed, state)
        row(scheme, lambda scheme=scheme: quantize(x, scheme, threads=threads), lambda q=q: q.dequantize(threads=threads), bq, bd)

    q8 = quantize(x, "int8:block=64", threads=threads)
    bq = bd = None
    if F is not None:
        c8, s8 = F.quantize_blockwise(xt, blocksize=64)
        bq = lambda: F.quantize_blockwise(xt, blocksize=64)
        bd = lambda: F.dequantize_blockwise(c8, s8)
    row("int8:block=64", lambda: quantize(x, "int8:block=64", threads=threads), lambda: q8.dequantize(threads=threads), bq, bd)

    # metrics: all of them, in units of one plain pass
    qn = quantize(x, "nf4:block=64", threads=threads)
    xq = qn.dequantize(threads=threads)
    buf = np.empty_like(x)
    res["pass_ms"] = best_ms(lambda: np.subtract(x, xq, out=buf), repeat)
    res["metrics_ms"] = best_ms(lambda: metrics(x, xq, clipped=qn.clipped, block_size=64, threads=threads), repeat)
    res["metrics_noblock_ms"] = best_ms(lambda: metrics(x, xq, clipped=qn.clipped, threads=threads), repeat)

    for p in PRESETS:
        qp = quantize(x, p, threads=threads)
        res["presets"].append(
            {
                "scheme": p,
                "q": best_ms(lambda p=p: quantize(x, p, threads=threads), max(1, repeat // 2)),
                "d": best_ms(lambda qp=qp: qp.dequantize(threads=threads), max(1, repeat // 2)),
                "bits": qp.bits_per_element,
            }
        )
    if threads == 1:
        res["nearest"] = _nearest_variants(n, repeat)
    return res


def run(n: int, repeat: int, threads_list: list[int]) -> list[dict]:
    out = []
    for t in threads_list:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--worker", "--n", str(n), "--repeat", str(repeat), "--threads", str(t)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        out.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return out


def table(results: list[dict], n: int) -> str:
    r0 = results[0]

    def f(v):
        return "–" if v is None else f"{v:.1f}"

    head = (
        f"{n:,} float32 standard normals; best of runs, milliseconds. {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numpy {np.__version__}"
        + (f", bitsandbytes {r0['bnb_version']}, torch {r0['torch_version']}" if "bnb_version" in r0 else ", bitsandbytes not installed")
        + ". Ratio = bitsandbytes / quantlib, quantize + dequantize."
    )
    lines = [head, "", "| scheme | threads | quantlib quantize | quantlib dequantize | bitsandbytes quantize | bitsandbytes dequantize | ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for row in r["rows"]:
            ours = row["ql_q"] + row["ql_d"]
            theirs = row.get("bnb_q", 0) + row.get("bnb_d", 0) if "bnb_q" in row else None
            ratio = "–" if theirs is None else f"**{theirs / ours:.1f}×**"
            lines.append(
                f"| `{row['label']}` | {r['threads']} | {f(row['ql_q'])} | {f(row['ql_d'])} | {f(row.get('bnb_q'))} | {f(row.get('bnb_d'))} | {ratio} |"
            )
    lines.append("")
    lines.append("bitsandbytes' int8 row is `quantize_blockwise` (its 8-bit dynamic map), quantlib's is absmax int8; both in blocks of 64.")
    if "nf4_identical" in r0:
        lines.append(f"NF4 packed bytes identical to bitsandbytes on this input: {r0['nf4_identical']}.")
    lines += ["", "Metrics (all of them, per-block MSE included) in units of one plain pass `np.subtract(x, xq, out=buf)`:", ""]
    lines += ["| threads | one pass | all metrics | passes | without per-block | passes |", "|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['threads']} | {r['pass_ms']:.1f} | {r['metrics_ms']:.1f} | {r['metrics_ms'] / r['pass_ms']:.1f} | "
            f"{r['metrics_noblock_ms']:.1f} | {r['metrics_noblock_ms'] / r['pass_ms']:.1f} |"
        )
    if "nearest" in r0:
        lines += ["", f"NF4 nearest-code search, {n:,} values, one thread (same codes all three ways):", "", "| method | ms |", "|---|---:|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in r0["nearest"].items()]
    lines += ["", "Presets, quantize + dequantize (ms):", ""]
    lines += ["| scheme | bits/element | " + " | ".join(f"{r['threads']} thread{'s' * (r['threads'] > 1)}" for r in results) + " |"]
    lines += ["|---|---:|" + "---:|" * len(results)]
    for i, p in enumerate(r0["presets"]):
        lines.append(f"| `{p['scheme']}` | {p['bits']:.4f} | " + " | ".join(f"{r['presets'][i]['q']:.1f} + {r['presets'][i]['d']:.1f}" for r in results) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 24)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--write", type=Path, help="replace the results section of this markdown file")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.n, args.repeat, args.threads[0])))
        return 0
    results = run(args.n, args.repeat, args.threads)
    text = table(results, args.n)
    print(text)
    if args.write:
        write_section(args.write, "bench_quant", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
