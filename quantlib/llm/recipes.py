"""What to quantize in the language model, and the quantized model it gives.

A :class:`LlmRecipe` names a quantlib scheme for the blocks' Linears (``"q4_k"``,
``"nf4:block=64,dq"``, ``"int8:axis=0"`` ...), optionally one for the token embedding (which is
also the output head: the two are tied), blocks to keep as shipped, a scheme for the input
activations of every Linear (dynamic, per token: W8A8) and one for the KV cache.

:func:`quantize_model` applies the weight part once (the matrices quantized and dequantized to
float32, the others shared with the reference) and counts the exact storage: a quantized matrix
by its scheme's bits (codes + scales), a matrix left alone by its bytes in the shipped file
(the reference's values are exactly its Q4_1 / Q8_0 values), the norms as float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.forward import LinearQuant, QuantHook
from ..schemes import parse_scheme, quantize
from .model import Llama
from .ptq import METHODS, run_awq, run_gptq

__all__ = ["K_FALLBACK", "LLM_PRESETS", "LlmRecipe", "QuantizedLlama", "activation_hook", "matrix_scheme", "quantize_model"]

K_FALLBACK = {"q2_k": "iq4_nl", "q3_k": "iq4_nl", "q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0"}
"""llama.cpp's fallback for a k-quant on rows that are not a multiple of 256 (``llama-quant.cpp``,
``convert_incompatible_tensor``): SmolLM2's 576-wide rows get Q5_0 under Q4_K."""


def matrix_scheme(scheme: str, shape, *, fallback: bool = True) -> str:
    """The scheme a matrix of ``shape`` gets: ``scheme`` itself, or with ``fallback`` llama.cpp's
    replacement of a k-quant when the rows (the last axis) are not a multiple of 256:
    ``matrix_scheme("q4_k", (576, 576))`` -> ``"q5_0"``, ``(576, 1536)`` -> ``"q4_k"``."""
    if fallback and scheme in K_FALLBACK and shape[-1] % 256:
        return K_FALLBACK[scheme]
    return scheme


@dataclass(frozen=True, kw_only=True)
class LlmRecipe:
    """``weights``: the blocks' Linears (None: as shipped); ``embeddings``: ``token_embd`` and
    so the tied output head (None: as shipped); ``keep``: block numbers left as shipped;
    ``act``: each Linear's input, quantized per token on the fly; ``kv``: the KV cache, per token
    and head; ``fallback``: a k-quant on rows that are not a multiple of 256 gets llama.cpp's
    replacement type (:data:`K_FALLBACK`), else its rows are zero padded to 256 (stored, counted).

    ``method``: how the blocks' Linears are rounded: ``"rtn"`` (the scheme's own rule),
    ``"gptq"`` or ``"awq"`` (:mod:`quantlib.llm.ptq`) on ``calibration`` windows of 128
    tokens; ``act_order`` (GPTQ) and ``clip`` (AWQ's clip search) are their options."""

    weights: str | None = None
    embeddings: str | None = None
    keep: tuple[int, ...] = ()
    act: str | None = None
    kv: str | None = None
    fallback: bool = True
    method: str = "rtn"
    calibration: int = 64
    act_order: bool = False
    clip: bool = False

    def __post_init__(self) -> None:
        for name in ("weights", "embeddings", "act", "kv"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, str(parse_scheme(v)))
        object.__setattr__(self, "keep", tuple(sorted({int(b) for b in self.keep})))
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose {', '.join(METHODS)}")
        if not 1 <= int(self.calibration) <= 256:
            raise ValueError(f"calibration must be 1 to 256 windows of 128 tokens, got {self.calibration!r}")
        object.__setattr__(self, "calibration", int(self.calibration))
        if self.method == "gptq" and self.weights is not None:
            from ..ptq.grid import gptq_grid_problem

            problem = gptq_grid_problem(self.weights)
            if problem:
                raise ValueError(problem)

    @property
    def uses_calibration(self) -> bool:
        return self.method != "rtn" and self.weights is not None

    @property
    def is_reference(self) -> bool:
        return self.weights is None and self.embeddings is None and self.act is None and self.kv is None

    def label(self) -> str:
        """Short text: ``q4_k``, ``int8:axis=0 + act int8:axis=0``, ``as shipped``."""
        parts = [self.weights] if self.weights else []
        if self.uses_calibration:
            opt = ", act order" if self.act_order and self.method == "gptq" else ", clip" if self.clip and self.method == "awq" else ""
            parts[0] = f"{self.weights} {self.method.upper()} ({self.calibration} x 128 tokens{opt})"
        if self.embeddings:
            parts.append(f"embeddings {self.embeddings}")
        if self.keep and self.weights:
            parts.append(f"blocks {','.join(map(str, self.keep))} kept")
        if self.act:
            parts.append(f"act {self.act}")
        if self.kv:
            parts.append(f"KV {self.kv}")
        return " + ".join(parts) if parts else "as shipped"


LLM_PRESETS: dict[str, LlmRecipe] = {
    "Q8_0": LlmRecipe(weights="q8_0"),
    "Q6_K": LlmRecipe(weights="q6_k"),
    "Q5_K": LlmRecipe(weights="q5_k"),
    "Q4_K": LlmRecipe(weights="q4_k"),
    "Q4_0": LlmRecipe(weights="q4_0"),
    "Q3_K": LlmRecipe(weights="q3_k"),
    "Q2_K": LlmRecipe(weights="q2_k"),
    "NF4 + double quant": LlmRecipe(weights="nf4:block=64,dq"),
    "int4 group 128": LlmRecipe(weights="int4:block=128"),
    "MXFP4": LlmRecipe(weights="mxfp4"),
    "NVFP4": LlmRecipe(weights="nvfp4"),
    "FP8 E4M3 per channel": LlmRecipe(weights="float8_e4m3fn:scaled,axis=0"),
    "W8A8 (int8 per channel, per token)": LlmRecipe(weights="int8:axis=0", act="int8:axis=0"),
}
"""The common recipes, by the names their users know them by (llama.cpp's types in capitals)."""


@dataclass(frozen=True, eq=False)
class QuantizedLlama:
    """A recipe applied: ``model`` (the quantized weights, dequantized to float32), the exact
    ``bits`` of every tensor, and ``schemes`` the scheme each changed matrix got (name -> scheme,
    after llama.cpp's fallback)."""

    recipe: LlmRecipe
    model: Llama
    bits: dict
    schemes: dict
    report: object = None  # quantlib.llm.ptq.PTQReport for GPTQ / AWQ
    quantized_tensors: dict | None = None

    @property
    def quantized(self) -> tuple[str, ...]:
        return tuple(self.schemes)

    def scheme_counts(self) -> dict[str, int]:
        """How many matrices got each scheme: ``{"q5_0": 181, "q4_k": 30}`` for Q4_K on SmolLM2."""
        out: dict[str, int] = {}
        for s in self.schemes.values():
            out[s] = out.get(s, 0) + 1
        return out

    @property
    def total_bits(self) -> int:
        return int(sum(self.bits.values()))

    @property
    def nbytes(self) -> int:
        return -(-self.total_bits // 8)

    @property
    def bits_per_weight(self) -> float:
        """Total bits over every parameter (norms and embeddings included), as llama.cpp's BPW:
        4.5 ... for the Q4_K preset with the embeddings as shipped (Q8_0)."""
        return self.total_bits / self.model.n_params

    def hook(self):
        """The Linear hook the recipe needs (activation quantization), or None."""
        return activation_hook(self.recipe.act)


def activation_hook(act: str | None):
    """A :class:`~quantlib.model.forward.QuantHook` quantizing every Linear's input with ``act``
    (dynamic, e.g. ``"int8:axis=0"`` one scale per token), or None for float activations."""
    return None if act is None else QuantHook(LinearQuant(act=act))


def _matrices(model: Llama, recipe: LlmRecipe) -> list[tuple[str, np.ndarray, str]]:
    out = []
    if recipe.weights is not None:
        for i, b in enumerate(model.blocks):
            if i in recipe.keep:
                continue
            out += [(lin.name, lin.weight, matrix_scheme(recipe.weights, lin.weight.shape, fallback=recipe.fallback)) for lin in b.linears()]
    if recipe.embeddings is not None:
        out.append(("token_embd", model.token_embd, matrix_scheme(recipe.embeddings, model.token_embd.shape, fallback=recipe.fallback)))
    return out


def quantize_model(
    model: Llama,
    recipe: LlmRecipe,
    *,
    progress: Callable[[float], None] | None = None,
    threads: int | None = None,
    calibration: np.ndarray | None = None,
    trace: str | None = None,
) -> QuantizedLlama:
    """Quantize the weights ``recipe`` names and dequantize them to float32 (RTN, the schemes'
    own rule, or GPTQ / AWQ on the token windows ``calibration`` (n, 128), of which the first
    ``recipe.calibration`` are used); every other array is shared with ``model``.
    ``progress(fraction)`` is called (in the calling thread) as matrices finish; ``trace``: a
    Linear whose GPTQ steps are kept in the report."""
    bad = [b for b in recipe.keep if not 0 <= b < len(model.blocks)]
    if bad:
        raise ValueError(f"no block {bad[0]}: the model has blocks 0..{len(model.blocks) - 1}")
    todo = _matrices(model, recipe)
    bits = dict(model.stored_bits)
    if recipe.uses_calibration:
        return _quantize_ptq(model, recipe, todo, bits, calibration, progress, trace)
    total = sum(w.size for _, w, _ in todo) or 1
    done = 0
    weights: dict[str, np.ndarray] = {}
    for name, w, scheme in todo:  # one matrix at a time, each one threaded inside the scheme
        q = quantize(w, scheme, threads=threads)
        weights[name] = q.dequantize(threads=threads).astype(np.float32, copy=False)
        bits[name] = q.total_bits
        done += w.size
        if progress is not None:
            progress(done / total)
    return QuantizedLlama(recipe, model.with_weights(weights), bits, {n: sc for n, _, sc in todo})


def _quantize_ptq(model, recipe, todo, bits, calibration, progress, trace) -> QuantizedLlama:
    if calibration is None:
        raise ValueError(f"{recipe.method.upper()} needs calibration token windows: quantlib.llm.ptq.calibration_ids(tokenizer, n)")
    ids = np.asarray(calibration)[: recipe.calibration]
    if ids.shape[0] < recipe.calibration:
        raise ValueError(f"{recipe.calibration} calibration windows asked, {ids.shape[0]} given")
    blocks = [(n, w, sc) for n, w, sc in todo if n != "token_embd"]
    rest = [(n, w, sc) for n, w, sc in todo if n == "token_embd"]
    tick = None if progress is None else (lambda done, total: progress(0.95 * done / max(total, 1)))
    if recipe.method == "gptq":
        weights, qts, rep = run_gptq(model, blocks, ids, act_order=recipe.act_order, trace=trace, progress=tick)
    else:
        weights, qts, rep = run_awq(model, blocks, ids, clip=recipe.clip, progress=tick)
    for name, w, scheme in rest:  # the embedding / head: RTN
        q = quantize(w, scheme)
        weights[name] = q.dequantize().astype(np.float32, copy=False)
        qts[name] = q
    for name, q in qts.items():
        bits[name] = q.total_bits
    if progress is not None:
        progress(1.0)
    return QuantizedLlama(recipe, model.with_weights(weights), bits, {n: sc for n, _, sc in todo}, report=rep, quantized_tensors=qts)
