"""Benchmark: the numpy SmolLM2-135M (quantlib.llm) beside transformers on torch CPU, same threads.

    python bench/bench_llm.py [--threads 2] [--repeat 3] [--write bench/README_llm.md]

Measured in one run, each library with ``threads`` threads (OPENBLAS_NUM_THREADS for numpy,
``torch.set_num_threads`` for torch; set before either is imported):

* loading the GGUF file (ours: read + dequantize every tensor; transformers: ``from_pretrained``
  with ``gguf_file=``);
* prefill of 128 tokens (logits of every position) and greedy decoding of 32 tokens with a KV
  cache (per-token time = decoding time / 32), best of ``--repeat``;
* quantizing the whole model with each preset of :data:`quantlib.llm.recipes.LLM_PRESETS`, and
  the whole preset comparison (quantize + 512 evaluation positions + KL) as the page runs it;
* the process's peak resident memory (reference + one quantized model + logits).

Numpy emulation on a CPU: these are the lab's response times, not what the formats cost on
hardware with kernels for them.  A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true", help="skip transformers")
    ap.add_argument("--write", type=Path, help="replace the results section of this markdown file")
    args = ap.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np

    from _common import write_section
    from quantlib.llm import LlamaTokenizer, forward, generate, load_llama, model_path
    from quantlib.llm.evaluate import eval_ids, kl_stats
    from quantlib.llm.recipes import LLM_PRESETS, quantize_model

    def best(fn, repeat=args.repeat):
        fn()
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    rows = []
    t0 = time.perf_counter()
    m = load_llama()
    load_ours = time.perf_counter() - t0
    tok = LlamaTokenizer.from_metadata(m.metadata)
    ids = eval_ids(tok)[:1]  # 128 tokens
    prompt = ids[0, :16]
    pre_ours = best(lambda: forward(m, ids))
    gen_ours = best(lambda: generate(m, prompt, max_new_tokens=32, stop_ids=()))

    ev = eval_ids(tok)
    ref = forward(m, ev)
    qrows = []
    t_all = time.perf_counter()
    for name, r in LLM_PRESETS.items():
        t0 = time.perf_counter()
        qm = quantize_model(m, r)
        tq = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = kl_stats(ref, forward(qm.model, ev, hook=qm.hook()))
        te = time.perf_counter() - t0
        qrows.append(f"| {name} | {qm.bits_per_weight:.3f} | {tq:.2f} s | {te:.2f} s | {s.mean:.4f} |")
        del qm
    t_all = time.perf_counter() - t_all
    peak_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hf = None
    if not args.no_torch:
        try:
            import torch
            import transformers

            torch.set_num_threads(args.threads)
            p = model_path()
            t0 = time.perf_counter()
            hf = transformers.AutoModelForCausalLM.from_pretrained(str(p.parent), gguf_file=p.name, dtype=torch.float32).eval()
            load_hf = time.perf_counter() - t0
            x = torch.from_numpy(ids)
            xp = torch.from_numpy(prompt)[None]

            def hf_prefill():
                with torch.no_grad():
                    hf(x)

            def hf_gen():
                with torch.no_grad():
                    hf.generate(xp, max_new_tokens=32, min_new_tokens=32, do_sample=False)

            pre_hf, gen_hf = best(hf_prefill), best(hf_gen)
        except ImportError as exc:
            print(f"transformers skipped: {exc}")
            hf = None

    def line(what, ours, theirs=None):
        r = f"| {what} | {ours:.3f} s |"
        r += f" {theirs:.3f} s | {theirs / ours:.2f} |" if theirs is not None else " — | — |"
        rows.append(r)

    line("load the GGUF file", load_ours, load_hf if hf is not None else None)
    line("prefill, 128 tokens", pre_ours, pre_hf if hf is not None else None)
    line("greedy decoding, 32 tokens (KV cache)", gen_ours, gen_hf if hf is not None else None)
    line("… per token", gen_ours / 32, gen_hf / 32 if hf is not None else None)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    text = "\n".join(
        [
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}; {args.threads} threads each; best of {args.repeat}.",
            "",
            "| step | quantlib.llm (numpy) | transformers (torch CPU) | ratio (torch / ours) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Every preset, quantize the whole model (RTN) then run the {ev.size} evaluation positions and the KL statistics; all {len(LLM_PRESETS)} in {t_all:.1f} s:",
            "",
            "| preset | bits per weight | quantize | evaluate | mean KL |",
            "|---|---|---|---|---|",
            *qrows,
            "",
            f"Peak resident memory before transformers was loaded (the reference, one quantized model at a time, the evaluation logits): {peak_ours:.0f} MB; with transformers' copy too: {peak:.0f} MB.",
            "The presets run before transformers is loaded: torch's OpenMP threads keep spinning after a call and slowed numpy's threads 4x when interleaved.",
        ]
    )
    print(text)
    if args.write:
        write_section(args.write, "results", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
