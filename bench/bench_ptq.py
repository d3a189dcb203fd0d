"""Benchmark: quantlib's GPTQ beside a torch transcription of the reference, and RTN / GPTQ / AWQ on MiniLM.

    python bench/bench_ptq.py [--threads 2] [--n 128] [--write bench/README_ptq.md]

Measured in one run, with ``threads`` threads for both libraries (OPENBLAS_NUM_THREADS for numpy,
``torch.set_num_threads`` for torch; set before either is imported):

* **per matrix**: the Hessians H = 2 X X^T of all-MiniLM-L6-v2's Linears from one float pass of
  ``--n`` calibration texts; then, for one Linear of each shape, ``quantlib.ptq.gptq`` (uint4,
  groups of 64 columns, lazy blocks of 128, damping 1 %) beside the same algorithm written in
  torch after the reference implementation (IST-DASLab/gptq, ``GPTQ.fasterquant`` with its
  asymmetric min-max ``Quantizer``, groupsize 64): time (best of ``--repeat``), the output error
  tr((W - Q) H (W - Q)^T) of each, and the share of codes that agree (the first columns agree
  exactly; the reference factors H^-1 in float32, quantlib in float64, so a few roundings fall
  the other way and GPTQ's error feedback carries the difference on: the output errors agree);
* **whole model**: ``quantlib.model.ptq.run_method`` for RTN, GPTQ and AWQ on int4 / int3 with
  groups of 64: time and the evaluation set's mean cosine to the float model.

Numpy emulation on a CPU: the lab's response times, not what the methods cost on a GPU.  A
benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def torch_gptq(W, H, *, bits=4, groupsize=64, blocksize=128, percdamp=0.01):
    """The reference's ``fasterquant`` (IST-DASLab/gptq, gptq.py) with its ``Quantizer``
    (sym=False, per-row min-max extended to 0), no act-order; returns (Q, codes)."""
    import torch

    W = W.clone().float()
    H = H.clone()
    maxq = 2**bits - 1
    rows, cols = W.shape
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0

    def find_params(x):
        xmin = torch.minimum(x.min(1).values, torch.zeros(1))
        xmax = torch.maximum(x.max(1).values, torch.zeros(1))
        both = (xmin == 0) & (xmax == 0)
        xmin[both], xmax[both] = -1, +1
        scale = (xmax - xmin) / maxq
        zero = torch.round(-xmin / scale)
        return scale.unsqueeze(1), zero.unsqueeze(1)

    Q = torch.zeros_like(W)
    C = torch.zeros_like(W)
    Losses = torch.zeros_like(W)
    damp = percdamp * torch.mean(torch.diag(H))
    H[range(cols), range(cols)] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    scale = zero = None
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        C1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if (i1 + i) % groupsize == 0:
                scale, zero = find_params(W[:, (i1 + i) : (i1 + i + groupsize)])
            q = torch.clamp(torch.round(w.unsqueeze(1) / scale) + zero, 0, maxq)
            C1[:, i] = q.flatten()
            q = (scale * (q - zero)).flatten()
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        C[:, i1:i2] = C1
        Losses[:, i1:i2] = Err1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return Q, C


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=128, help="calibration texts")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--write", type=Path, help="replace the results section of this markdown file")
    args = ap.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    from _common import write_section
    from quantlib.model import float_linear, forward, load_model, tokenize
    from quantlib.model.evalset import EVAL_TEXTS
    from quantlib.model.ptq import calibration_batch, run_method
    from quantlib.model.recipes import reference
    from quantlib.ptq.gptq import gptq, hessian, output_error

    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            print("torch not installed: the reference column is skipped (pip install -r requirements-bench.txt)")

    def best(fn):
        fn()
        ts = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t0)
        return min(ts), out

    model = load_model()
    batch = calibration_batch(args.n)
    hs: dict[str, np.ndarray] = {}

    def capture(lin, x):
        hs[lin.name] = hessian(x, dtype=np.float32)
        return float_linear(lin, x)

    forward(model, batch, capture)
    by_shape: dict[tuple, str] = {}
    for name, lin in model.linears.items():
        by_shape.setdefault(lin.weight.shape, name)

    lines = [
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads; numpy {np.__version__}"
        + (f", torch {torch.__version__}" if torch else "")
        + f"; {args.n} calibration texts ({batch.n_tokens} tokens).",
        "",
        "GPTQ of one matrix, uint4 in groups of 64 columns (the reference's asymmetric min-max grid),",
        "lazy blocks of 128, damping 1 %, best of " + str(args.repeat) + ":",
        "",
        "| Linear | shape | quantlib ms | torch reference ms | ratio | output error quantlib / reference | codes equal |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for shape, name in by_shape.items():
        w, h = model.linears[name].weight, hs[name]
        t_ql, res = best(lambda w=w, h=h: gptq(w, h, "uint4:block=64"))
        e_ql = output_error(w, res.weight, h)
        cell_t = cell_r = cell_e = cell_c = "–"
        if torch:
            W, H = torch.from_numpy(np.ascontiguousarray(w)), torch.from_numpy(h.astype(np.float32))
            t_ref, (Qt, Ct) = best(lambda W=W, H=H: torch_gptq(W, H))
            e_ref = output_error(w, Qt.numpy(), h)
            codes = res.quantized.codes.reshape(w.shape) if res.quantized.codes.size == w.size else None
            cell_t, cell_r = f"{t_ref * 1e3:.0f}", f"{t_ref / t_ql:.2f}× faster" if t_ref > t_ql else f"{t_ql / t_ref:.2f}× slower"
            cell_e = f"{e_ql:.4g} / {e_ref:.4g}"
            cell_c = f"{np.mean(codes == Ct.numpy()):.1%}" if codes is not None else "–"
        lines.append(f"| {name} | {shape[0]}×{shape[1]} | {t_ql * 1e3:.0f} | {cell_t} | {cell_r} | {cell_e} | {cell_c} |")
        print(lines[-1], flush=True)

    lines += [
        "",
        f"The whole model (36 Linears), {args.n} calibration texts, once each (RTN needs none):",
        "",
        "| recipe | method | seconds | mean cosine to float32 |",
        "|---|---|---:|---:|",
    ]
    eval_batch = tokenize(list(EVAL_TEXTS))
    ref = reference(model, eval_batch)
    for grid in ("int4:block=64", "int3:block=64"):
        for method in ("rtn", "gptq", "awq"):
            t0 = time.perf_counter()
            r, _rep = run_method(model, grid, method, eval_batch, ref, calib_batch=batch)
            dt = time.perf_counter() - t0
            lines.append(f"| {grid} | {method.upper()} | {dt:.2f} | {r.metrics.mean_cosine:.5f} |")
            print(lines[-1], flush=True)
    lines += ["", "Numpy emulation on this CPU: the lab's response times, not hardware speed."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "ptq", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
