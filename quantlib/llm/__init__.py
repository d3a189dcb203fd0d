"""A causal language model in numpy: SmolLM2-135M-Instruct from its GGUF file, quantized by any
quantlib scheme (llama.cpp's quant types included), and measured against the model as shipped.

``model`` reads the file (llama.cpp's ``gguf`` package, lazily) and dequantizes it to float32,
``tokenizer`` builds its BPE tokenizer (``tokenizers``, lazily), ``forward`` runs it (KV cache,
one hook per Linear), ``recipes`` quantizes it, ``evaluate`` measures what changed (KL
divergence, top-1 agreement, perplexity, text).
"""

from .forward import Generation, KVCache, forward, generate, rms_norm, rope_tables, silu
from .model import Block, Llama, LlamaConfig, load_llama, model_path, unpermute_rope
from .tokenizer import LlamaTokenizer, chat_prompt

__all__ = [
    "Block",
    "Generation",
    "KVCache",
    "Llama",
    "LlamaConfig",
    "LlamaTokenizer",
    "chat_prompt",
    "forward",
    "generate",
    "load_llama",
    "model_path",
    "rms_norm",
    "rope_tables",
    "silu",
    "unpermute_rope",
]
