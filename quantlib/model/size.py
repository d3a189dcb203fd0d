"""What a MiniLM recipe stores, part by part, and the token embedding table quantized too.

:func:`model_size` counts the bytes of every tensor the recipe leaves behind, from the
scheme quantlib quantizes it with (``Scheme.total_bits(shape)``: the codes of the real
elements plus every scale and zero point, the same count as ``QuantizedTensor.total_bits``):

* ``embeddings`` -- the codes (or float values) of the word, position and token-type tables;
* ``linear_codes`` -- the 36 Linear matrices' codes (float32 values where a Linear is kept);
* ``scales`` -- every scale and zero point, of the Linears and of a quantized embedding table
  (AWQ's runtime input scales land here too, :func:`quantlib.model.ptq.run_method`);
* ``norms_biases`` -- LayerNorm parameters and biases (float32; float16 in TFLite float16; the
  biases int64 in TFLite 16x8).

Worked number: NF4 with blocks of 64 stores 4 bits per weight plus one float32 absmax per 64,
4.5 bits; the 30522 x 384 word table is 46.9 MB in float32 and 6.59 MB in NF4 (5.86 MB of
codes, 0.73 MB of absmaxes).  With the table in float32, NF4 MiniLM is 53.8 MB, more than
float16's 45.1 MB; with it quantized, 13.5 MB.

:func:`quantized_embeddings` is the model with its word table quantized with the recipe's
weight scheme and dequantized for the lookup (``Recipe.quant_embeddings``): the positions and
token types stay float32 (512 + 2 rows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..schemes import parse_scheme, quantize
from .minilm import MiniLM

if TYPE_CHECKING:  # pragma: no cover
    from .recipes import Recipe

__all__ = ["SIZE_PARTS", "SizeBreakdown", "embedding_scheme", "kept_float", "model_size", "quantized_embeddings", "tensor_bytes"]

SIZE_PARTS = ("embeddings", "linear_codes", "scales", "norms_biases")
"""The parts of :meth:`SizeBreakdown.parts`, in the order a stacked bar draws them."""

TFLITE_INT8 = "int8 per row (TFLite)"
"""What :func:`embedding_scheme` names TFLite's per-row int8 (``tflite_weight_int8``)."""

_TFLITE_KINDS = ("tflite_dynamic", "tflite_int8", "tflite_16x8")


def kept_float(recipe: Recipe, name: str) -> bool:
    """True when Linear ``name`` stays float32 in ``recipe`` (named, or its layer or kind)."""
    if not recipe.keep_float:
        return False
    layer, kind = name.split(".")
    return name in recipe.keep_float or layer in recipe.keep_float or kind in recipe.keep_float


def tensor_bytes(scheme: str, shape) -> tuple[int, int]:
    """(bytes of the codes, bytes of the scales and zero points) of a tensor of ``shape``
    quantized with ``scheme``; together ``ceil(total_bits / 8)``.  ``nf4:block=64`` on
    (384, 384): 73,728 bytes of codes, 9,216 of absmaxes (2304 float32)."""
    s = parse_scheme(scheme)
    total = -(-s.total_bits(shape) // 8)
    codes = -(-s.code_bits * s.layout(shape).size // 8)
    return codes, total - codes


def embedding_scheme(recipe: Recipe) -> str | None:
    """How ``recipe`` quantizes the word table when asked to: its weight scheme, TFLite's
    per-row int8 for the TFLite integer recipes (:data:`TFLITE_INT8`), None when it has no
    weight scheme to use (float32, TFLite float16: already float16)."""
    if recipe.kind in _TFLITE_KINDS:
        return TFLITE_INT8
    if recipe.kind == "schemes" and recipe.weight:
        return recipe.weight
    return None


@dataclass(frozen=True)
class SizeBreakdown:
    """Bytes of the model under a recipe.  ``linear``: the 36 matrices with their scales;
    ``other``: embeddings, biases, LayerNorms; ``linear_codes`` of ``linear`` and
    ``embedding_codes`` / ``embedding_scales`` of ``other``; ``float32_total`` for the ratio.
    :meth:`parts` splits :attr:`total` into the four :data:`SIZE_PARTS`."""

    linear: int
    other: int
    float32_total: int
    linear_codes: int
    embedding_codes: int
    embedding_scales: int = 0

    @property
    def total(self) -> int:
        return self.linear + self.other

    @property
    def ratio(self) -> float:
        return self.total / self.float32_total

    @property
    def scales(self) -> int:
        """Scales and zero points of the Linears (whatever ``linear`` holds beyond the codes)
        and of the embedding table."""
        return self.linear - self.linear_codes + self.embedding_scales

    @property
    def norms_biases(self) -> int:
        return self.other - self.embedding_codes - self.embedding_scales

    def parts(self) -> dict[str, int]:
        """:data:`SIZE_PARTS` -> bytes; they sum to :attr:`total`."""
        return {"embeddings": self.embedding_codes, "linear_codes": self.linear_codes, "scales": self.scales, "norms_biases": self.norms_biases}


def _linear_bytes(recipe: Recipe, name: str, shape: tuple[int, int]) -> tuple[int, int]:
    o, i = shape
    if kept_float(recipe, name):
        return 4 * o * i, 0
    if recipe.kind in _TFLITE_KINDS:
        return o * i, 4 * o  # int8 codes + a float32 scale per channel (zero points are 0)
    if recipe.kind == "tflite_float16":
        return 2 * o * i, 0
    if recipe.weight is None:
        return 4 * o * i, 0
    return tensor_bytes(recipe.weight, shape)


def model_size(model: MiniLM, recipe: Recipe) -> SizeBreakdown:
    """Storage in bytes (payload + scales / zero points; no file-format overhead), part by part."""
    f16 = recipe.kind == "tflite_float16"
    fbytes = 2 if f16 else 4
    codes = scales = 0
    for name, lin in model.linears.items():
        c, s = _linear_bytes(recipe, name, lin.shape)
        codes, scales = codes + c, scales + s
    words = model.word_embeddings
    scheme = embedding_scheme(recipe) if recipe.quant_embeddings else None
    if scheme == TFLITE_INT8:
        e_codes, e_scales = words.size, 4 * words.shape[0]
    elif scheme is not None:
        e_codes, e_scales = tensor_bytes(scheme, words.shape)
    else:
        e_codes, e_scales = fbytes * words.size, 0
    e_codes += fbytes * (model.position_embeddings.size + model.token_type_embeddings.size)
    counts = model.n_params()
    n_emb = words.size + model.position_embeddings.size + model.token_type_embeddings.size
    norms = fbytes * (counts["other"] - n_emb)
    if recipe.kind == "tflite_16x8":
        norms += 4 * sum(lin.bias.size for name, lin in model.linears.items() if not kept_float(recipe, name))  # int64 biases
    return SizeBreakdown(
        linear=codes + scales,
        other=e_codes + e_scales + norms,
        float32_total=4 * counts["total"],
        linear_codes=codes,
        embedding_codes=e_codes,
        embedding_scales=e_scales,
    )


@lru_cache(maxsize=4)
def _dequantized_words(model: MiniLM, scheme: str) -> np.ndarray:
    w = model.word_embeddings
    if scheme == TFLITE_INT8:
        from .recipes import tflite_weight_int8

        q, s = tflite_weight_int8(w)
        return (q.astype(np.float32) * s[:, None]).astype(np.float32)
    return quantize(w, scheme).dequantize().astype(np.float32, copy=False)


def quantized_embeddings(model: MiniLM, recipe: Recipe) -> MiniLM:
    """``model`` with its word table quantized as :func:`embedding_scheme` says and
    dequantized for the lookup (the model itself when the recipe has no scheme for it)."""
    scheme = embedding_scheme(recipe)
    if scheme is None:
        return model
    return replace(model, word_embeddings=_dequantized_words(model, scheme))
