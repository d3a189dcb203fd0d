"""The numpy forward pass of all-MiniLM-L6-v2, with one hook point for every Linear.

``embed(model, batch)`` reproduces sentence-transformers (BertModel -> mean pooling over the
attention mask -> L2 normalisation) in float32:

* embeddings: word + position + token type (0), LayerNorm (eps 1e-12);
* 6 layers: Q, K, V projections, 12 heads x 32, softmax(Q K^T / sqrt(32)) V (padding keys
  masked), output projection, residual, LayerNorm; FFN up (1536), exact GELU
  ``0.5 x (1 + erf(x / sqrt 2))``, FFN down, residual, LayerNorm;
* mean over the real tokens, divided by ``max(||e||, 1e-12)``.

Every Linear is computed by the hook: ``hook(lin, x) -> y`` with ``x`` of shape (tokens, in)
and ``lin.weight`` (out, in).  The default :func:`float_linear` is ``x @ W.T + b``;
:class:`QuantHook` quantizes the weight and/or the input activation with any quantlib scheme
string (``"int8:axis=0"`` per output channel for a weight, ``"int8"`` per tensor and
``"int8:axis=0"`` per token for an activation, ``"mxfp4"`` blocks of 32 along the reduction
axis for both) and can collect activation statistics (:class:`ActStats`).

Packed mode (the default) runs the Linears on the real tokens only (no padding rows), so
per-tensor activation statistics and dynamic scales never see padding, and the cost does not
grow with the longest text; attention runs per text.  ``packed=False`` runs the padded
(B, L) batch with an additive mask, as torch does; both give the same embeddings.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..schemes import parse_scheme, quantize
from .minilm import Batch, Linear, MiniLM

__all__ = [
    "ActStats",
    "LinearQuant",
    "QuantHook",
    "apply_linear",
    "collect_stats",
    "embed",
    "erf",
    "float_linear",
    "forward",
    "gelu",
    "layer_norm",
    "pool",
    "quantize_act",
    "quantized_weight",
]

_SQRT1_2 = np.float32(1.0 / math.sqrt(2.0))

# Eigen's float32 erf (TensorFlow / XLA): x P(x^2) / Q(x^2) on [-4, 4]
_ERF_A = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
_ERF_B = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)


def erf(x: np.ndarray) -> np.ndarray:
    """erf, vectorised: the rational approximation of Eigen / TensorFlow (``x P(x^2) / Q(x^2)``
    on [-4, 4]), evaluated in float32 like theirs: absolute error below 5e-7 (7e-8 in float64;
    torch's float32 erf: 6e-8).  Float input keeps its dtype (float64 is evaluated in float64)."""
    x = np.asarray(x)
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    xc = np.clip(x.astype(dt, copy=False), dt.type(-4.0), dt.type(4.0))
    x2 = xc * xc
    p = x2 * dt.type(_ERF_A[0])
    p += dt.type(_ERF_A[1])
    for c in _ERF_A[2:]:
        p *= x2
        p += dt.type(c)
    q = x2 * dt.type(_ERF_B[0])
    q += dt.type(_ERF_B[1])
    for c in _ERF_B[2:]:
        q *= x2
        q += dt.type(c)
    p *= xc
    p /= q
    return p


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``0.5 x (1 + erf(x / sqrt 2))`` (torch ``nn.GELU()``), float32."""
    e = erf(x * _SQRT1_2)
    e += np.float32(1)
    e *= x
    e *= np.float32(0.5)
    return e


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (biased variance), float32."""
    mu = x.mean(axis=-1, keepdims=True)
    d = x - mu
    var = np.mean(d * d, axis=-1, keepdims=True)
    d *= np.float32(1) / np.sqrt(var + np.float32(eps))
    d *= gamma
    d += beta
    return d


def float_linear(lin: Linear, x: np.ndarray) -> np.ndarray:
    """The float path: ``x @ W.T + b`` in float32 (no ``+ b`` when ``lin.bias`` is None)."""
    return _linear_with(x, lin.weight, lin.bias)


def _linear_with(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    y = x @ w.T
    if b is not None:
        y += b
    return y


# ----------------------------------------------------------------------------- weight cache
_WEIGHT_CACHE: OrderedDict = OrderedDict()
_WEIGHT_CACHE_SCHEMES = 6  # dequantized copies of all 36 matrices per scheme: ~43 MB each


def quantized_weight(lin: Linear, scheme: str) -> np.ndarray:
    """``lin.weight`` quantized with ``scheme`` and dequantized (float32), cached per scheme
    (the last few schemes are kept)."""
    key = str(parse_scheme(scheme))
    per = _WEIGHT_CACHE.get(key)
    if per is None:
        per = {}
        _WEIGHT_CACHE[key] = per
        while len(_WEIGHT_CACHE) > _WEIGHT_CACHE_SCHEMES:
            _WEIGHT_CACHE.popitem(last=False)
    else:
        _WEIGHT_CACHE.move_to_end(key)
    ent = per.get(lin.name)
    if ent is None or ent[0] is not lin.weight:
        w = quantize(lin.weight, key).dequantize().astype(np.float32, copy=False)
        ent = (lin.weight, w)
        per[lin.name] = ent
    return ent[1]


def quantize_act(x: np.ndarray, scheme: str) -> np.ndarray:
    """Quantize-dequantize an activation (tokens, channels) with a quantlib scheme (dynamic)."""
    return quantize(x, scheme).dequantize().astype(np.float32, copy=False)


# ----------------------------------------------------------------------------- statistics
@dataclass
class ActStats:
    """Statistics of one Linear's input (and output) over the tokens of a calibration set.

    ``absmax``: per input channel max |x|; ``argmax_pos``: the position in its text (0 =
    [CLS]) of the token that gave it, and ``argmax_token`` the token string; ``lo`` / ``hi``:
    tensor min / max of the input; ``out_lo`` / ``out_hi``: of the output; ``values``: the
    inputs themselves (tokens, channels) when kept.
    """

    name: str
    n_tokens: int = 0
    absmax: np.ndarray | None = None
    argmax_pos: np.ndarray | None = None
    argmax_token: list | None = None
    lo: float = math.inf
    hi: float = -math.inf
    out_lo: float = math.inf
    out_hi: float = -math.inf
    values: list = field(default_factory=list)

    def update(
        self,
        x: np.ndarray,
        y: np.ndarray,
        positions: np.ndarray | None,
        tokens: list | None,
        keep: bool,
    ) -> None:
        a = np.abs(x)
        am = a.max(axis=0)
        arg = a.argmax(axis=0)
        if self.absmax is None:
            self.absmax = am.astype(np.float32)
            self.argmax_pos = positions[arg] if positions is not None else arg
            self.argmax_token = [tokens[i] for i in arg] if tokens is not None else None
        else:
            better = am > self.absmax
            self.absmax = np.where(better, am, self.absmax).astype(np.float32)
            if positions is not None:
                self.argmax_pos = np.where(better, positions[arg], self.argmax_pos)
            if tokens is not None and self.argmax_token is not None:
                self.argmax_token = [tokens[arg[j]] if better[j] else t for j, t in enumerate(self.argmax_token)]
        self.n_tokens += x.shape[0]
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))
        self.out_lo = min(self.out_lo, float(y.min()))
        self.out_hi = max(self.out_hi, float(y.max()))
        if keep:
            self.values.append(np.array(x, copy=True))

    def inputs(self) -> np.ndarray:
        """The kept inputs, concatenated (tokens, channels)."""
        if not self.values:
            raise ValueError(f"{self.name}: inputs were not kept (collect with keep_inputs=True)")
        return np.concatenate(self.values, axis=0)

    def summary(self) -> dict:
        """A picklable, cache-friendly copy without the kept values."""
        return {
            "name": self.name,
            "n_tokens": self.n_tokens,
            "absmax": self.absmax,
            "argmax_pos": self.argmax_pos,
            "argmax_token": self.argmax_token,
            "lo": self.lo,
            "hi": self.hi,
            "out_lo": self.out_lo,
            "out_hi": self.out_hi,
        }


# ----------------------------------------------------------------------------- hooks
@dataclass(frozen=True)
class LinearQuant:
    """How one Linear is quantized.

    ``weight``: a quantlib scheme for the (out, in) weight, or None (float32).
    ``act``: a quantlib scheme applied to the input activation (tokens, in) on the fly, or None.
    ``smooth``: SmoothQuant factors ``s`` (one per input channel): ``x / s`` and ``W * s``
        before quantizing (exactly the same product in real arithmetic).
    ``kernel``: a callable ``(lin, x) -> y`` that replaces all of the above (e.g. the integer
        kernels of :mod:`quantlib.model.recipes`).
    """

    weight: str | None = None
    act: str | None = None
    smooth: np.ndarray | None = field(default=None, compare=False)
    kernel: Callable | None = field(default=None, compare=False)

    @property
    def is_identity(self) -> bool:
        return self.weight is None and self.act is None and self.smooth is None and self.kernel is None


class QuantHook:
    """The hook every Linear goes through: quantizes per ``plan`` and optionally collects stats.

    ``plan``: None (float), one :class:`LinearQuant` for every Linear, a mapping name ->
    LinearQuant (missing names stay float), or a callable name -> LinearQuant | None.
    ``collect``: gather :class:`ActStats` of every Linear's (unquantized) input in ``self.stats``;
    ``keep_inputs``: also keep the inputs (for histograms and calibration searches).
    """

    def __init__(self, plan=None, *, collect: bool = False, keep_inputs: bool = False, names=None):
        self.plan = plan
        self.collect = collect or keep_inputs
        self.keep_inputs = keep_inputs
        self.names = None if names is None else set(names)
        self.stats: dict[str, ActStats] = {}
        self._positions = None
        self._tokens = None

    def begin(self, batch: Batch, positions: np.ndarray | None, tokens: list | None) -> None:
        self._positions = positions
        self._tokens = tokens

    def spec(self, name: str) -> LinearQuant | None:
        p = self.plan
        if p is None:
            return None
        if isinstance(p, LinearQuant):
            return p
        if isinstance(p, Mapping):
            return p.get(name)
        return p(name)

    def __call__(self, lin: Linear, x: np.ndarray) -> np.ndarray:
        spec = self.spec(lin.name)
        y = float_linear(lin, x) if spec is None or spec.is_identity else apply_linear(lin, x, spec)
        if self.collect and (self.names is None or lin.name in self.names):
            st = self.stats.get(lin.name)
            if st is None:
                st = self.stats[lin.name] = ActStats(lin.name)
            st.update(x, y, self._positions, self._tokens, self.keep_inputs)
        return y


def apply_linear(lin: Linear, x: np.ndarray, spec: LinearQuant) -> np.ndarray:
    """One Linear under ``spec`` (see :class:`LinearQuant`)."""
    if spec.kernel is not None:
        return spec.kernel(lin, x)
    if spec.smooth is not None:
        s = np.asarray(spec.smooth, np.float32)
        x = x / s
        w = lin.weight * s
        w = quantize(w, spec.weight).dequantize().astype(np.float32, copy=False) if spec.weight else w
    else:
        w = quantized_weight(lin, spec.weight) if spec.weight else lin.weight
    if spec.act:
        x = quantize_act(x, spec.act)
    return _linear_with(x, w, lin.bias)


# ----------------------------------------------------------------------------- forward
def _softmax_(s: np.ndarray) -> np.ndarray:
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def forward(model: MiniLM, batch: Batch, hook=None, *, packed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's last hidden states and the token count per text.

    Packed: returns (tokens, 384) for the real tokens, text after text, and the lengths.
    Padded: returns (B, L, 384) (padding rows included, as torch computes them) and the lengths.
    """
    cfg = model.config
    hook = hook or float_linear
    H, D = cfg.num_heads, cfg.head_dim
    scale = np.float32(1.0 / math.sqrt(D))
    eps = cfg.layer_norm_eps
    ids, mask, types = batch.input_ids, batch.attention_mask, batch.token_type_ids
    B, L = ids.shape
    lengths = mask.sum(axis=1).astype(np.int64)
    if L > cfg.max_position_embeddings:
        raise ValueError(f"{L} tokens exceed the {cfg.max_position_embeddings} positions")
    pos_grid = np.broadcast_to(np.arange(L), (B, L))
    if packed:
        sel = mask.astype(bool)
        if not np.array_equal(sel, np.arange(L)[None, :] < lengths[:, None]):
            raise ValueError("packed mode needs right padding")
        tok_ids, tok_types, positions = ids[sel], types[sel], pos_grid[sel]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    else:
        tok_ids, tok_types, positions = (
            ids.reshape(-1),
            types.reshape(-1),
            pos_grid.reshape(-1),
        )
    begin = getattr(hook, "begin", None)
    if begin is not None:
        flat_tokens = [t for toks in batch.tokens for t in toks] if packed else None
        begin(batch, positions if packed else None, flat_tokens)

    h = model.word_embeddings[tok_ids] + model.token_type_embeddings[tok_types]
    h += model.position_embeddings[positions]
    h = layer_norm(h, *model.emb_ln, eps)
    if not packed:
        bias = np.where(mask.astype(bool), np.float32(0), np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]

    for layer in model.layers:
        q = hook(layer.q, h)
        k = hook(layer.k, h)
        v = hook(layer.v, h)
        if packed:
            ctx = np.empty_like(q)
            for s0, n in zip(starts.tolist(), lengths.tolist()):
                qh = q[s0 : s0 + n].reshape(n, H, D).transpose(1, 0, 2)
                kh = k[s0 : s0 + n].reshape(n, H, D).transpose(1, 2, 0)
                vh = v[s0 : s0 + n].reshape(n, H, D).transpose(1, 0, 2)
                p = _softmax_((qh @ kh) * scale)
                ctx[s0 : s0 + n] = (p @ vh).transpose(1, 0, 2).reshape(n, H * D)
        else:
            qh = q.reshape(B, L, H, D).transpose(0, 2, 1, 3)
            kh = k.reshape(B, L, H, D).transpose(0, 2, 3, 1)
            vh = v.reshape(B, L, H, D).transpose(0, 2, 1, 3)
            p = _softmax_((qh @ kh) * scale + bias)
            ctx = np.ascontiguousarray((p @ vh).transpose(0, 2, 1, 3)).reshape(B * L, H * D)
        a = hook(layer.attn_out, ctx)
        a += h
        h = layer_norm(a, *layer.ln1, eps)
        u = gelu(hook(layer.ffn_up, h))
        d = hook(layer.ffn_down, u)
        d += h
        h = layer_norm(d, *layer.ln2, eps)
    if packed:
        return h, lengths
    return h.reshape(B, L, -1), lengths


def pool(hidden: np.ndarray, lengths: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean over the real tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize)."""
    if hidden.ndim == 3:
        m = mask.astype(np.float32)[:, :, None]
        s = (hidden * m).sum(axis=1)
        e = s / np.maximum(m.sum(axis=1), np.float32(1e-9))
    else:
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        s = np.add.reduceat(hidden, starts, axis=0)
        e = s / np.maximum(lengths.astype(np.float32), np.float32(1e-9))[:, None]
    n = np.sqrt((e * e).sum(axis=1, keepdims=True))
    return (e / np.maximum(n, np.float32(1e-12))).astype(np.float32)


def embed(model: MiniLM, batch: Batch, hook=None, *, packed: bool = True) -> np.ndarray:
    """Sentence embeddings (B, 384), L2-normalised float32."""
    h, lengths = forward(model, batch, hook, packed=packed)
    return pool(h, lengths, None if packed else batch.attention_mask)


def collect_stats(model: MiniLM, batch: Batch, *, plan=None, keep_inputs: bool = False, names=None) -> dict[str, ActStats]:
    """Run ``batch`` (float, or under ``plan``) and return the :class:`ActStats` of every Linear's input."""
    hook = QuantHook(plan, collect=True, keep_inputs=keep_inputs, names=names)
    forward(model, batch, hook)
    return hook.stats
