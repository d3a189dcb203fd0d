"""The numpy forward pass of a llama model (SmolLM2-135M), with a KV cache and one hook per Linear.

``forward(model, ids)`` reproduces ``transformers``' ``LlamaForCausalLM`` in float32:

* ``h = token_embd[ids]``;
* 30 blocks: ``x = RMSNorm(h)`` (``x / sqrt(mean x^2 + eps) * w``); q, k, v projections;
  rotary embedding on q and k (``q cos + rotate_half(q) sin``, frequencies
  ``base^(-2i/64)``, base 100000); grouped-query attention (9 query heads share 3 key/value
  heads, 3 each), causal, ``softmax(q k^T / 8) v``; output projection; ``h += ...``;
  ``x = RMSNorm(h)``; SwiGLU ``down(silu(gate x) * up x)``; ``h += ...``;
* ``RMSNorm`` and the tied head: ``logits = h @ token_embd^T``.

Every Linear is computed by ``hook(lin, x) -> y`` (x: (tokens, in)), the same hook interface as
:mod:`quantlib.model.forward`: :class:`~quantlib.model.forward.QuantHook` quantizes input
activations (W8A8) and collects their statistics.  Weights are quantized by replacing them
(:func:`quantlib.llm.recipes.quantize_model`), once, not on every call.

The :class:`KVCache` stores every past key and value; with ``scheme`` each new key/value vector
(one per token and head, 64 values) is quantized and dequantized as it is written, e.g.
``"int8:axis=0"``: one absmax scale per token and head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.forward import float_linear
from ..schemes import parse_scheme, quantize
from .model import Llama, LlamaConfig

__all__ = ["Generation", "KVCache", "forward", "generate", "rms_norm", "rope_tables", "silu"]


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """``x / sqrt(mean(x^2) + eps) * w`` over the last axis (float32, as LlamaRMSNorm)."""
    var = np.mean(x * x, axis=-1, keepdims=True)
    y = x * (np.float32(1) / np.sqrt(var + np.float32(eps)))
    y *= w
    return y


def silu(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(x)`` = ``x / (1 + e^-x)``, float32."""
    e = np.exp(-np.clip(x, -80, 80))
    e += np.float32(1)
    return x / e


def rope_tables(cfg: LlamaConfig, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin (positions, head_dim) of the rotary embedding, float32 as transformers:
    ``inv_freq_i = 1 / base^(2i/64)``; position 1, i = 0: angle 1 rad."""
    d = cfg.head_dim
    inv = np.float32(1) / (np.float32(cfg.rope_base) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))
    ang = positions.astype(np.float32)[:, None] * inv[None, :]
    ang = np.concatenate([ang, ang], axis=-1)
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """``x cos + rotate_half(x) sin`` with ``rotate_half(x) = [-x2, x1]``; x (..., T, D)."""
    h = x.shape[-1] // 2
    r = np.empty_like(x)
    np.negative(x[..., h:], out=r[..., :h])
    r[..., h:] = x[..., :h]
    r *= sin
    y = x * cos
    y += r
    return y


class KVCache:
    """Past keys and values of every layer, (layers, batch, kv_heads, capacity, head_dim) float32.

    ``scheme``: None (float32), or a quantlib scheme applied to each new (token, head) vector of
    ``head_dim`` values as it is stored: ``"int8:axis=0"`` (absmax per token and head),
    ``"int4:axis=0"``, ``"float8_e4m3fn"`` (a plain cast).  ``bits_per_value`` counts its scales.
    """

    def __init__(self, cfg: LlamaConfig, batch: int, capacity: int, *, scheme: str | None = None):
        shape = (cfg.n_layers, batch, cfg.n_kv_heads, capacity, cfg.head_dim)
        self.k = np.zeros(shape, np.float32)
        self.v = np.zeros(shape, np.float32)
        self.length = 0
        self.capacity = capacity
        self.scheme = None if scheme is None else str(parse_scheme(scheme))
        self._cfg = cfg

    @property
    def bits_per_value(self) -> float:
        if self.scheme is None:
            return 32.0
        return parse_scheme(self.scheme).bits_per_element((1, self._cfg.head_dim))

    @property
    def nbytes(self) -> int:
        """Storage of the filled part in the cache's format (codes + scales)."""
        n = 2 * self.k.shape[0] * self.k.shape[1] * self.k.shape[2] * self.length * self.k.shape[4]
        return int(np.ceil(n * self.bits_per_value / 8))

    def _q(self, x: np.ndarray) -> np.ndarray:
        if self.scheme is None:
            return x
        flat = x.reshape(-1, x.shape[-1])
        return quantize(flat, self.scheme).dequantize().astype(np.float32, copy=False).reshape(x.shape)

    def write(self, layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Store k, v (batch, kv_heads, T, head_dim) after the filled part; return all keys and
        values up to them (views)."""
        t0, t1 = self.length, self.length + k.shape[2]
        if t1 > self.capacity:
            raise ValueError(f"the KV cache holds {self.capacity} tokens; {t1} needed")
        self.k[layer, :, :, t0:t1] = self._q(k)
        self.v[layer, :, :, t0:t1] = self._q(v)
        return self.k[layer, :, :, :t1], self.v[layer, :, :, :t1]


def forward(
    model: Llama,
    ids,
    *,
    hook=None,
    cache: KVCache | None = None,
    last_only: bool = False,
    head: bool = True,
) -> np.ndarray:
    """Logits (batch, T, vocab) float32 for token ids (batch, T) or (T,) (then (T, vocab)).

    With ``cache`` the tokens continue the cached ones (positions ``cache.length`` on), and
    the cache is extended; ``last_only``: logits of the last position only (batch, vocab);
    ``head=False``: the last block's hidden states (batch * T, dim) instead of logits (a
    calibration pass over many tokens needs no 49,152-wide output).
    """
    cfg = model.config
    hook = hook or float_linear
    ids = np.asarray(ids, dtype=np.int64)
    squeeze = ids.ndim == 1
    if squeeze:
        ids = ids[None, :]
    B, T = ids.shape
    if T == 0:
        raise ValueError("no tokens")
    if ids.min() < 0 or ids.max() >= cfg.vocab_size:
        raise ValueError(f"token ids must be in 0..{cfg.vocab_size - 1}")
    past = cache.length if cache is not None else 0
    if past + T > cfg.context_length:
        raise ValueError(f"{past + T} tokens exceed the model's context of {cfg.context_length}")
    H, KV, D = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    G = H // KV
    cos, sin = rope_tables(cfg, np.arange(past, past + T))
    S = past + T
    causal = np.where(np.arange(S)[None, :] <= np.arange(past, S)[:, None], np.float32(0), np.float32(-np.inf)).astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(D))

    h = model.token_embd[ids.reshape(-1)]  # (B*T, dim)
    for li, blk in enumerate(model.blocks):
        x = rms_norm(h, blk.attn_norm, cfg.eps)
        q = hook(blk.attn_q, x).reshape(B, T, H, D).transpose(0, 2, 1, 3)
        k = hook(blk.attn_k, x).reshape(B, T, KV, D).transpose(0, 2, 1, 3)
        v = hook(blk.attn_v, x).reshape(B, T, KV, D).transpose(0, 2, 1, 3)
        q = _rotate(q, cos, sin)
        k = _rotate(k, cos, sin)
        if cache is not None:
            k, v = cache.write(li, k, v)
        # grouped-query attention: query head h uses key/value head h // G
        qg = q.reshape(B, KV, G * T, D)
        s = qg @ k.transpose(0, 1, 3, 2)  # (B, KV, G*T, S)
        s *= scale
        s = s.reshape(B, KV, G, T, S)
        s += causal
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        ctx = s.reshape(B, KV, G * T, S) @ v  # (B, KV, G*T, D)
        ctx = ctx.reshape(B, H, T, D).transpose(0, 2, 1, 3).reshape(B * T, H * D)
        h = h + hook(blk.attn_output, np.ascontiguousarray(ctx))
        x = rms_norm(h, blk.ffn_norm, cfg.eps)
        a = silu(hook(blk.ffn_gate, x))
        a *= hook(blk.ffn_up, x)
        h += hook(blk.ffn_down, a)
    if cache is not None:
        cache.length = S
    if not head:
        return h
    if last_only:
        h = h.reshape(B, T, -1)[:, -1]
    h = rms_norm(h, model.output_norm, cfg.eps)
    logits = h @ model.token_embd.T
    if last_only:
        return logits
    logits = logits.reshape(B, T, -1)
    return logits[0] if squeeze else logits


@dataclass(frozen=True)
class Generation:
    """A greedy continuation: ``ids`` (new tokens), ``logits`` (n, vocab) of the distribution each
    was chosen from, ``stopped`` whether an end token ended it."""

    prompt: np.ndarray
    ids: np.ndarray
    logits: np.ndarray
    stopped: bool


def generate(
    model: Llama,
    prompt_ids,
    *,
    max_new_tokens: int = 32,
    hook=None,
    kv_scheme: str | None = None,
    stop_ids=(0, 2),
) -> Generation:
    """Greedy decoding (argmax at every step) with a KV cache: one prefill of the prompt, then
    one token at a time.  Stops after ``max_new_tokens`` or at a token in ``stop_ids``
    (``<|endoftext|>``, ``<|im_end|>``)."""
    prompt = np.asarray(prompt_ids, dtype=np.int64).reshape(-1)
    if prompt.size == 0:
        raise ValueError("an empty prompt")
    n = int(max_new_tokens)
    cache = KVCache(model.config, 1, prompt.size + n, scheme=kv_scheme)
    logits = forward(model, prompt[None, :], hook=hook, cache=cache, last_only=True)[0]
    out, rows, stopped = [], [], False
    for step in range(n):
        nxt = int(np.argmax(logits))
        out.append(nxt)
        rows.append(logits)
        if nxt in stop_ids:
            stopped = True
            break
        if step + 1 < n:
            logits = forward(model, np.array([[nxt]]), hook=hook, cache=cache, last_only=True)[0]
    return Generation(prompt, np.asarray(out, np.int64), np.asarray(rows, np.float32), stopped)
