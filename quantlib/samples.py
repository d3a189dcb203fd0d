"""Built-in sample tensors: what the Tensor Lab shows before anything is uploaded.

Synthetic samples are generated from a seed (same seed, same tensor), shaped after what
quantization meets in practice; real samples are weight matrices of the small open sentence
transformer all-MiniLM-L6-v2 (Apache-2.0), stored as float16 .npy files in
``quantlib/data/`` by ``tools/make_samples.py`` with their provenance in
``quantlib/data/minilm.json`` and ``NOTICE``. Nothing here needs more than numpy at run time.

>>> x = load_sample("llm_activations", seed=0)
>>> x.shape, x.dtype
((256, 1024), dtype('float32'))
>>> SAMPLES["minilm_l0_attn_query"].is_real
True
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_SAMPLE",
    "MAX_SAMPLE_ELEMENTS",
    "SAMPLES",
    "Sample",
    "load_sample",
    "outlier_channels",
    "sample_names",
]

DATA_DIR = Path(__file__).with_name("data")
MAX_SAMPLE_ELEMENTS = 1 << 24
"""Largest synthetic sample (16 Mi values, 64 MB as float32)."""

OUTLIER_FACTOR_RANGE = (25.0, 90.0)
"""Outlier channels' RMS over the median channel's: drawn in here, inside the 20-100x observed in LLMs."""


@dataclass(frozen=True)
class Sample:
    """One built-in tensor: what it is, how big by default, and where it comes from."""

    name: str
    title: str
    description: str  # one English sentence
    kind: str  # "synthetic" or "real"
    default_shape: tuple[int, ...]
    generate: Callable[[np.random.Generator, tuple[int, ...], int], np.ndarray] | None = field(default=None, repr=False)
    provenance: dict | None = None  # real samples: model, tensor, package, version, sha256, licence

    @property
    def is_real(self) -> bool:
        return self.kind == "real"

    @property
    def source_note(self) -> str:
        """One line for display: where a real sample comes from, or how a synthetic one is made."""
        if self.provenance is None:
            return f"synthetic, seeded; default shape {self.default_shape}"
        p = self.provenance
        return (
            f"{p['tensor']} of {p['model']} ({p['license']}), from PyPI package "
            f"{p['source_package']} {p['source_package_version']}, stored as {p['stored_dtype']}"
        )


# --------------------------------------------------------------------------- generators
def _fan_in_std(shape: tuple[int, ...]) -> float:
    return 1.0 / math.sqrt(shape[-1]) if len(shape) > 1 else 0.02


def _gaussian(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return rng.standard_normal(shape) * _fan_in_std(shape)


def _laplace(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return rng.laplace(0.0, _fan_in_std(shape) / math.sqrt(2.0), shape)  # same std as the Gaussian


def _student_t(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    df = 3.0  # variance df/(df-2) = 3, infinite kurtosis
    return rng.standard_t(df, shape) * (_fan_in_std(shape) / math.sqrt(df / (df - 2.0)))


def outlier_channels(channels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The outlier channels of ``llm_activations`` with ``channels`` channels: (indices, factors)."""
    rng = np.random.default_rng([seed, zlib.crc32(b"llm_activations/outliers"), channels])
    n = max(1, round(channels * 6 / 1024))
    idx = np.sort(rng.choice(channels, size=min(n, channels), replace=False))
    lo, hi = OUTLIER_FACTOR_RANGE
    return idx, rng.uniform(lo, hi, size=idx.size)


def _llm_activations(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    channels = shape[-1]
    tokens = math.prod(shape[:-1]) if len(shape) > 1 else 1
    scale = rng.lognormal(0.0, 0.3, channels)  # channels differ a little in scale ...
    x = rng.standard_normal((tokens, channels)) * scale
    idx, factor = outlier_channels(channels, seed)
    base = float(np.median(scale))
    sign = np.where(rng.random(idx.size) < 0.5, -1.0, 1.0)
    # ... and a few are 20-100x larger in every token, with a fixed sign (LLM.int8(), SmoothQuant)
    x[:, idx] = (factor * base) * (sign + 0.25 * rng.standard_normal((tokens, idx.size)))
    return x.reshape(shape)


def _post_gelu(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    channels = shape[-1]
    pre = rng.standard_normal(shape) * rng.lognormal(0.0, 0.25, channels) - 0.2
    return 0.5 * pre * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (pre + 0.044715 * pre**3)))


def _gradients(rng: np.random.Generator, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rows = shape[0] if len(shape) > 1 else 1
    row_scale = 2e-6 * rng.lognormal(0.0, 0.5, rows)
    g = rng.standard_t(4.0, (rows, math.prod(shape) // rows)) / math.sqrt(2.0)  # unit variance
    return (g * row_scale[:, None]).reshape(shape)


_SYNTHETIC = [
    Sample(
        "gaussian_weights", "Gaussian weights",
        "A weight matrix drawn from a normal distribution with standard deviation 1/sqrt(fan_in), like a freshly initialised linear layer.",
        "synthetic", (512, 512), _gaussian,
    ),
    Sample(
        "laplacian_weights", "Laplacian weights",
        "A weight matrix with Laplace-distributed values (same standard deviation as the Gaussian), sharper at zero and with longer tails, as trained weights often are.",
        "synthetic", (512, 512), _laplace,
    ),
    Sample(
        "student_t_weights", "Heavy-tailed weights (Student-t)",
        "A weight matrix from a Student-t distribution with 3 degrees of freedom: most values are small but a few are many standard deviations out, which stretches an absmax scale.",
        "synthetic", (512, 512), _student_t,
    ),
    Sample(
        "llm_activations", "LLM activations with outlier channels",
        "Activations of 256 tokens x 1024 channels in which 6 channels are 20-100x larger than the rest in every token, the outlier features reported by LLM.int8() and SmoothQuant.",
        "synthetic", (256, 1024), _llm_activations,
    ),
    Sample(
        "post_gelu_activations", "Post-GELU activations",
        "Activations after a GELU (tanh form): one-sided, never below -0.17, with a long positive tail, as in a transformer's feed-forward block.",
        "synthetic", (256, 1024), _post_gelu,
    ),
    Sample(
        "gradients", "Tiny gradients",
        "Weight gradients of magnitude about 1e-6: almost all fall below float16's smallest normal (6.1e-5) and some below its smallest subnormal, which is why mixed-precision training scales the loss.",
        "synthetic", (512, 512), _gradients,
    ),
]

_REAL_TEXT = {
    "minilm_l0_attn_query": (
        "MiniLM layer 0 attention query",
        "The query projection of the first attention layer of all-MiniLM-L6-v2, a real trained 384x384 weight matrix.",
    ),
    "minilm_l0_ffn_up": (
        "MiniLM layer 0 feed-forward up",
        "The first feed-forward (up-projection, 1536x384) weight matrix of all-MiniLM-L6-v2's first layer, real trained weights.",
    ),
    "minilm_l5_ffn_down": (
        "MiniLM layer 5 feed-forward down",
        "The feed-forward down-projection (384x1536) of the last layer of all-MiniLM-L6-v2, real trained weights.",
    ),
}


def _real_samples() -> list[Sample]:
    manifest_path = DATA_DIR / "minilm.json"
    if not manifest_path.exists():  # pragma: no cover - a broken checkout
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    out = []
    for name, e in manifest["samples"].items():
        title, desc = _REAL_TEXT.get(name, (name, f"{e['tensor']} of {manifest['model']}."))
        prov = {k: v for k, v in manifest.items() if k != "samples"} | dict(e)
        out.append(Sample(name, title, desc, "real", tuple(e["shape"]), None, prov))
    return out


SAMPLES: dict[str, Sample] = {s.name: s for s in [*_SYNTHETIC, *_real_samples()]}
"""Every built-in sample by name, synthetic ones first."""

DEFAULT_SAMPLE = "gaussian_weights"


def sample_names(kind: str | None = None) -> list[str]:
    """Names of the samples, optionally only the ``"synthetic"`` or the ``"real"`` ones."""
    return [n for n, s in SAMPLES.items() if kind is None or s.kind == kind]


@lru_cache(maxsize=8)
def _real_array(name: str) -> np.ndarray:
    prov = SAMPLES[name].provenance
    assert prov is not None
    arr = np.load(DATA_DIR / prov["file"], allow_pickle=False)
    arr.setflags(write=False)
    return arr


def _check_shape(shape, name: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in (shape if np.iterable(shape) else (shape,)))
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a tuple of positive integers, got {shape!r}") from None
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"shape must be a non-empty tuple of positive integers, got {shape}")
    if math.prod(shape) > MAX_SAMPLE_ELEMENTS:
        raise ValueError(f"sample {name!r} with shape {shape} would have {math.prod(shape):,} values; at most {MAX_SAMPLE_ELEMENTS:,} are generated")
    return shape


def load_sample(name: str, *, seed: int = 0, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The sample ``name`` as a new float32 array.

    Synthetic samples: generated from ``seed`` (the same seed gives the same tensor; each sample
    has its own stream) in ``shape`` (default :attr:`Sample.default_shape`; activations read the
    last axis as channels). Real samples ignore ``seed``; a ``shape`` no larger than the matrix
    takes its leading block (``w[:rows, :cols]``), values exact (float16 widened to float32).
    """
    if name not in SAMPLES:
        raise KeyError(f"no sample named {name!r}; choose one of: {', '.join(SAMPLES)}")
    s = SAMPLES[name]
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if s.is_real:
        w = _real_array(name)
        if shape is None:
            return w.astype(np.float32)
        shape = _check_shape(shape, name)
        if len(shape) != w.ndim or any(a > b for a, b in zip(shape, w.shape, strict=True)):
            raise ValueError(f"sample {name!r} is a {w.shape} matrix; a shape of at most that size (rows, cols) takes its leading block")
        return w[tuple(slice(0, n) for n in shape)].astype(np.float32)
    shape = _check_shape(s.default_shape if shape is None else shape, name)
    rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
    assert s.generate is not None
    x = s.generate(rng, shape, int(seed))
    return np.ascontiguousarray(x, dtype=np.float32)
