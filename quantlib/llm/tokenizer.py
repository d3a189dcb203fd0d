"""The model's BPE tokenizer, built from the GGUF metadata with the ``tokenizers`` library.

``tokenizer.ggml.model = gpt2`` (byte-level BPE: ``tokens`` and ``merges``) and
``tokenizer.ggml.pre = smollm``: llama.cpp splits digits one by one (``\\p{N}``) and then applies
the GPT-2 pattern, which is ``Digits(individual_digits=True)`` followed by ``ByteLevel`` here
(the same pre-tokenizer as SmolLM2's ``tokenizer.json``).  The 17 control tokens
(``<|im_start|>``, ``<|im_end|>``, ...) are special: written in a text they are one token.

No BOS token is added to a text (as Hugging Face's tokenizer for SmolLM2); the chat template
(:func:`chat_prompt`) starts with ``<|im_start|>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["IM_END", "IM_START", "SYSTEM_PROMPT", "LlamaTokenizer", "chat_prompt"]

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
_CONTROL = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL


def chat_prompt(user: str, *, system: str = SYSTEM_PROMPT) -> str:
    """The file's ChatML template with the generation prompt:
    ``<|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{user}<|im_end|>\\n<|im_start|>assistant\\n``."""
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n"


@dataclass(frozen=True, eq=False)
class LlamaTokenizer:
    """Encode and decode with the vocabulary of a :class:`~quantlib.llm.model.Llama`'s metadata."""

    tokens: tuple[str, ...]
    merges: tuple[str, ...]
    token_type: tuple[int, ...]
    pre: str = "smollm"

    @classmethod
    def from_metadata(cls, meta: dict) -> LlamaTokenizer:
        if meta.get("model") not in (None, "gpt2"):
            raise ValueError(f"tokenizer model {meta.get('model')!r}: only byte-level BPE (gpt2) is supported")
        return cls(tuple(meta["tokens"]), tuple(meta["merges"]), tuple(meta["token_type"]), meta.get("pre") or "default")

    @cached_property
    def backend(self):
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers  # lazy

        vocab = {t: i for i, t in enumerate(self.tokens)}
        merges = [tuple(m.split(" ", 1)) for m in self.merges]
        tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
        steps = [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
        if self.pre in ("smollm", "starcoder", "refact", "codeshell"):
            steps.insert(0, pre_tokenizers.Digits(individual_digits=True))
        tk.pre_tokenizer = pre_tokenizers.Sequence(steps)
        tk.decoder = decoders.ByteLevel()
        specials = [t for t, k in zip(self.tokens, self.token_type) if k == _CONTROL]
        tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
        return tk

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def token_id(self, token: str) -> int:
        return self.tokens.index(token)

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64) of ``text``; special tokens written in it are recognised."""
        return np.asarray(self.backend.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    def decode(self, ids, *, skip_special: bool = False) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def pieces(self, ids) -> list[str]:
        """Each id's text on its own (bytes of a partial UTF-8 character shown as U+FFFD)."""
        return [self.backend.decode([int(i)], skip_special_tokens=False) for i in ids]
