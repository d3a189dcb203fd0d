"""Smaller is not necessarily faster: memory, KV cache and roofline arithmetic, and a live matmul
measurement in numpy.

Memory is exact arithmetic on quantlib's own bits per element (scale overhead included)::

    >>> weight_bytes(134_515_008, "nf4:block=64")      # 4 + 32/64 = 4.5 bits
    75664692.0
    >>> kv_cache_bytes(MODELS["smollm2-135m"], context=2048, batch=1, bits=16.0)
    47185920.0                                         # 2 * 30 * 3 * 64 * 2048 * 2 bytes

Speed is a roofline *bound*, not a prediction: a step can go no faster than its bytes over the
memory bandwidth and no faster than its operations over the peak rate of the unit it runs on.
A format without a matrix unit of its own on a profile (FP8 on an A100, FP4 before Blackwell,
NF4 and the ggml types everywhere) is dequantized first and computed at the profile's 16-bit
(or float32) peak; a materialized dequantized copy also costs its write and its read.

The measurement (:func:`measure`) times numpy on the machine it runs on: float32 through BLAS,
the same product through int8 codes (widened to int32: numpy has no int8 kernel) and through
dequantize-then-matmul.  It is numpy emulation, not what an accelerator's integer units do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from .llm.model import LlamaConfig
from .schemes import GGML_PRESETS, MX, NVFP4, PRESETS, AbsmaxInt, FloatCast, parse_scheme

__all__ = [
    "COMPUTE_KINDS",
    "HARDWARE",
    "KV_FORMATS",
    "MODELS",
    "ROUTES",
    "WEIGHT_SCHEMES",
    "Hardware",
    "Measurement",
    "ModelShape",
    "Roofline",
    "compute_kind",
    "kv_bits",
    "kv_cache_bytes",
    "measure",
    "roofline",
    "route_error",
    "weight_bits",
    "weight_bytes",
]


# ============================================================== models and memory
@dataclass(frozen=True)
class ModelShape:
    """A llama-style decoder's shape: enough for its parameter count and its KV cache.

    ``MODELS["llama2-7b"].params == 6_738_415_616`` (32 blocks of 4 attention and 3 FFN
    matrices and 2 norms, untied input and output embeddings, the final norm)."""

    n_layers: int
    dim: int
    ffn_dim: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    tied_embeddings: bool = False
    head_dim: int | None = None  # None: dim // n_heads

    @property
    def kv_head_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.dim // self.n_heads

    @property
    def params(self) -> int:
        d, hd = self.dim, self.kv_head_dim
        attn = d * self.n_heads * hd * 2 + d * self.n_kv_heads * hd * 2  # q, o; k, v
        block = attn + 3 * d * self.ffn_dim + 2 * d
        embed = self.vocab_size * d * (1 if self.tied_embeddings else 2)
        return self.n_layers * block + embed + d

    @classmethod
    def from_llama_config(cls, cfg: LlamaConfig) -> ModelShape:
        """The shape of quantlib.llm's model (SmolLM2-135M: tied embeddings, 134,515,008 parameters)."""
        return cls(cfg.n_layers, cfg.dim, cfg.ffn_dim, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size, tied_embeddings=True)


MODELS: dict[str, ModelShape] = {
    "smollm2-135m": ModelShape.from_llama_config(LlamaConfig()),
    "llama2-7b": ModelShape(32, 4096, 11008, 32, 32, 32000),
    "llama2-70b": ModelShape(80, 8192, 28672, 64, 8, 32000),
}
"""SmolLM2-135M (quantlib.llm's GGUF config: 30 layers, 3 KV heads of 64), Llama-2-7B (32 layers,
32 KV heads of 128) and Llama-2-70B (80 layers, 8 KV heads of 128: grouped-query attention)."""

WEIGHT_SCHEMES: tuple[str, ...] = tuple(sorted(("float32", *reversed(PRESETS), *GGML_PRESETS), key=lambda s: -parse_scheme(s).bits_per_element()))
"""Every weight scheme the page sizes, most bits first: float32, the Tensor Lab's presets and
llama.cpp's types."""

KV_FORMATS: tuple[str, ...] = ("float32", "bfloat16", "float16", "float8_e4m3fn", "int8:axis=0", "int4:axis=0")
"""How the KV cache can be stored (``int8:axis=0``: one float32 scale per token and head)."""


def weight_bits(scheme: str) -> float:
    """Bits per weight of a large tensor, scales included: 4.5 for ``"nf4:block=64"``,
    4 + 8/64 + 32/(64*256) = 4.127 for ``"nf4:block=64,dq"``, 2.625 for ``"q2_k"``."""
    return float(parse_scheme(scheme).bits_per_element())


def weight_bytes(params: float, scheme: str) -> float:
    """``params * bits / 8``: 7e9 weights in ``int4:block=64`` (4.5 bits) = 3.9375e9 bytes."""
    return float(params) * weight_bits(scheme) / 8


def kv_bits(fmt: str, head_dim: int) -> float:
    """Bits per cached key or value element: 16 for float16; 8 + 32/64 = 8.5 for
    ``"int8:axis=0"`` with a head of 64 (a float32 scale per token and head)."""
    return float(parse_scheme(fmt).bits_per_element((1, int(head_dim))))


def kv_cache_bytes(shape: ModelShape, *, context: int, batch: int, bits: float) -> float:
    """``2 * layers * kv_heads * head_dim * context * batch * bits / 8`` (keys and values):
    SmolLM2-135M, 2048 tokens, float16: 2*30*3*64*2048*1*2 = 47,185,920 bytes."""
    return 2.0 * shape.n_layers * shape.n_kv_heads * shape.kv_head_dim * int(context) * int(batch) * float(bits) / 8


# ============================================================== hardware and roofline
COMPUTE_KINDS: tuple[str, ...] = ("float32", "bfloat16", "float8", "int8", "float4")
"""The peak rates a profile lists (float4: with block scales, Blackwell's MXFP4 / NVFP4)."""


@dataclass(frozen=True)
class Hardware:
    """Memory bandwidth (GB/s = 1e9 bytes/s) and dense peak rates (TFLOPS / TOPS = 1e12
    operations/s, an FMA counting 2) by compute kind; 0 means no hardware path.
    ``block_scaled``: the matrix units apply MX / NVFP4 block scales themselves."""

    bandwidth: float
    float32: float
    bfloat16: float
    float8: float = 0.0
    int8: float = 0.0
    float4: float = 0.0
    block_scaled: bool = False
    approximate: bool = False

    def peak(self, kind: str) -> float:
        return float(getattr(self, kind))

    def edited(self, **values) -> Hardware:
        return replace(self, **values)


HARDWARE: dict[str, Hardware] = {
    "a100": Hardware(2039, 19.5, 312, 0, 624),
    "h100": Hardware(3350, 67, 989, 1979, 1979),
    "b200": Hardware(8000, 80, 2250, 4500, 4500, 9000, block_scaled=True, approximate=True),
    "rtx4090": Hardware(1008, 82.6, 165.2, 330.3, 660.6),
    "m2max": Hardware(400, 13.6, 13.6, approximate=True),
    "laptop": Hardware(80, 0.77, 0, 0, 3.1, approximate=True),
}
"""Public figures, dense (sparsity not counted).  A100 80GB SXM and H100 SXM: NVIDIA's datasheets
(their sparse figures halved); B200: the HGX B200 datasheet halved, approximate; RTX 4090: the Ada
whitepaper (bfloat16 with float32 accumulate; FP8 likewise); Apple M2 Max: Apple's 400 GB/s and
the 38-core GPU's ~13.6 TFLOPS (float16 runs at the float32 rate), approximate; a laptop CPU with
two DDR5-5600 channels (89.6 GB/s peak, ~80 reached), 8 cores x 2 AVX2 FMA x 3 GHz = 0.77 TFLOPS
float32, AVX-VNNI int8 ~4x, approximate."""


def compute_kind(scheme: str) -> str | None:
    """The matrix unit a scheme's weights can be multiplied in as stored (assuming the
    activations in the same format, W8A8), or None when they must be dequantized first:
    ``"bfloat16"`` -> "bfloat16", ``"float8_e4m3fn:scaled"`` -> "float8", ``"int8"`` -> "int8",
    ``"mxfp4"`` / ``"nvfp4"`` -> "float4" (block-scaled), ``"nf4:block=64"`` / ``"q4_k"`` -> None."""
    s = parse_scheme(scheme)
    if isinstance(s, FloatCast):
        if s.block_size is not None:
            return None
        return {
            "float64": "float32",
            "float32": "float32",
            "tfloat32": "float32",
            "bfloat16": "bfloat16",
            "float16": "bfloat16",
            "float8_e4m3fn": "float8",
            "float8_e5m2": "float8",
        }.get(s.format)
    if isinstance(s, AbsmaxInt):
        return "int8" if s.bits == 8 and s.block_size is None else None
    if isinstance(s, MX):
        return {
            "float8_e4m3fn": "mx:float8",
            "float8_e5m2": "mx:float8",
            "float6_e2m3fn": "mx:float8",
            "float6_e3m2fn": "mx:float8",
            "float4_e2m1fn": "mx:float4",
        }.get(s.element)
    if isinstance(s, NVFP4):
        return "mx:float4"
    return None


@dataclass(frozen=True)
class Roofline:
    """The two bounds of one scheme on one profile, for decode (one token per sequence per step)
    and prefill (the whole context at once); tokens/s of each regime = min of its two bounds."""

    scheme: str
    kind: str  # the compute kind used (its own, or the fallback it is dequantized to)
    native: bool  # False: dequantized to ``kind`` first
    peak: float  # TFLOPS used
    weight_bytes: float
    kv_bytes: float
    extra_bytes: float  # a materialized dequantized copy: written once and read once per pass
    ops_per_token: float  # 2 * params
    decode_memory: float  # tokens/s: batch * bandwidth / (weights + extra + kv)
    decode_compute: float  # tokens/s: peak / ops_per_token
    prefill_memory: float  # tokens/s: context * batch * bandwidth / (weights + extra + kv)
    prefill_compute: float

    @property
    def decode(self) -> float:
        return min(self.decode_memory, self.decode_compute)

    @property
    def prefill(self) -> float:
        return min(self.prefill_memory, self.prefill_compute)

    @property
    def decode_bound(self) -> str:
        return "memory" if self.decode_memory <= self.decode_compute else "compute"

    @property
    def prefill_bound(self) -> str:
        return "memory" if self.prefill_memory <= self.prefill_compute else "compute"


def fallback_kind(hw: Hardware) -> str:
    """What a format without hardware support is dequantized to: bfloat16 if the profile has a
    16-bit path, else float32."""
    return "bfloat16" if hw.bfloat16 > 0 else "float32"


def roofline(scheme: str, hw: Hardware, shape: ModelShape, *, params: float, context: int, batch: int, kv_bits: float, materialize: bool = False) -> Roofline:
    """Decode and prefill bounds.  Llama-2-7B in float16 on an A100 (2039 GB/s, 312 TFLOPS),
    2048 tokens, batch 1, float16 KV cache (1.07 GB): decode <= 2039e9 / (13.48e9 + 1.07e9)
    = 140 tokens/s (memory-bound); prefill <= 312e12 / (2 * 6.74e9) = 23,151 tokens/s (compute-bound).

    ``materialize``: a dequantized copy (2 bytes per weight at bfloat16, 4 at float32) is
    written and read back every pass, adding ``2 * params * bytes`` of traffic."""
    kind = compute_kind(scheme)
    native = kind is not None
    if kind is not None and kind.startswith("mx:"):
        kind = kind[3:] if hw.block_scaled else None
        native = kind is not None
    if kind is not None and hw.peak(kind) <= 0:
        kind, native = None, False
    if kind is None:
        kind = fallback_kind(hw)
    peak = hw.peak(kind)
    w = weight_bytes(params, scheme)
    kv = kv_cache_bytes(shape, context=context, batch=batch, bits=kv_bits)
    extra = 0.0
    if not native and materialize:
        extra = 2.0 * float(params) * (2 if kind == "bfloat16" else 4)
    ops = 2.0 * float(params)
    bw = hw.bandwidth * 1e9
    traffic = w + extra + kv
    rate = peak * 1e12
    return Roofline(
        scheme=scheme,
        kind=kind,
        native=native,
        peak=peak,
        weight_bytes=w,
        kv_bytes=kv,
        extra_bytes=extra,
        ops_per_token=ops,
        decode_memory=batch * bw / traffic,
        decode_compute=rate / ops if rate > 0 else 0.0,
        prefill_memory=context * batch * bw / traffic,
        prefill_compute=rate / ops if rate > 0 else 0.0,
    )


# ============================================================== measured here
ROUTES: tuple[str, ...] = ("float32", "int8", "dequantize")
"""float32 x float32 through BLAS; int8 codes widened to int32, multiplied with int32
accumulation (numpy's integer matmul, no BLAS); int8 codes dequantized to float32, then BLAS."""


@dataclass(frozen=True)
class Measurement:
    """Seconds of each route (``times[route]``: every repeat) for one product (m x k) @ (k x n)."""

    m: int
    k: int
    n: int
    times: dict

    @property
    def ops(self) -> float:
        return 2.0 * self.m * self.k * self.n

    def median(self, route: str) -> float:
        return float(np.median(self.times[route]))

    def spread(self, route: str) -> tuple[float, float]:
        t = self.times[route]
        return float(np.min(t)), float(np.max(t))

    def slowdown(self, route: str) -> float:
        """Median of ``route`` over float32's median (6.0: six times slower)."""
        return self.median(route) / self.median("float32")

    def weight_bytes(self, route: str) -> int:
        """Bytes of the stored matrix: 4 per element in float32, 1 as int8 codes."""
        return self.m * self.k * (4 if route == "float32" else 1)


def _operands(m: int, k: int, n: int, seed: int):
    """int8 weight codes with a float32 scale per row, their float32 values, and an input with
    its int8 codes (one scale): drawn as codes, so the float32 weights are exactly what the
    int8 ones stand for (and a 4096 x 4096 matrix takes milliseconds to make)."""
    rng = np.random.default_rng(seed)
    qa = rng.integers(-127, 128, size=(m, k), dtype=np.int8)
    sa = (rng.random(m, dtype=np.float32) * 0.01 + 0.001).astype(np.float32)
    a = qa.astype(np.float32)
    a *= sa[:, None]
    b = rng.standard_normal((k, n), dtype=np.float32)
    sb = np.float32(np.abs(b).max() / 127)
    qb = np.clip(np.rint(b / sb), -127, 127).astype(np.int8)
    return a, b, qa, qb, sa, sb


def measure(*, m: int, k: int, n: int, repeats: int = 5, seed: int = 0) -> Measurement:
    """Time ``(m x k) @ (k x n)`` by each of :data:`ROUTES`, ``repeats`` times each (after one
    warm-up call).  The int8 route computes ``(qa.astype(int32) @ qb.astype(int32)) * sa * sb``, the
    dequantize route ``(qa * sa) @ b``; both time their casts, since numpy has no int8 kernel."""
    a, b, qa, qb, sa, sb = _operands(int(m), int(k), int(n), seed)
    routes = {
        "float32": lambda: a @ b,
        "int8": lambda: (qa.astype(np.int32) @ qb.astype(np.int32)) * (sa[:, None] * sb),
        "dequantize": lambda: (qa.astype(np.float32) * sa[:, None]) @ b,
    }
    times: dict[str, tuple[float, ...]] = {}
    for name, fn in routes.items():
        fn()  # warm-up: BLAS starts its threads, the first large casts fault their pages in
        ts = []
        for _ in range(int(repeats)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        times[name] = tuple(ts)
    return Measurement(int(m), int(k), int(n), times)


def route_error(*, m: int, k: int, n: int, seed: int = 0) -> dict[str, float]:
    """Relative error (Frobenius) of the int8 and dequantize routes against float32, so the
    routes are seen to compute the same product: 0 for the dequantize route (the float32 weights
    are the dequantized codes), under 1e-2 for the int8 route, whose input is rounded to int8 too."""
    a, b, qa, qb, sa, sb = _operands(int(m), int(k), int(n), seed)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    out = {
        "int8": (qa.astype(np.int32) @ qb.astype(np.int32)) * (sa[:, None] * sb).astype(np.float64),
        "dequantize": (qa.astype(np.float32) * sa[:, None]).astype(np.float64) @ b.astype(np.float64),
    }
    return {r: float(np.linalg.norm(v - ref) / np.linalg.norm(ref)) for r, v in out.items()}
