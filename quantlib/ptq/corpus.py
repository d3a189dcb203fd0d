"""Calibration text for GPTQ and AWQ: English prose that ships with Python.

The reference implementations calibrate on C4 or WikiText-2, which are not here.  Python's
own documentation (``pydoc_data.topics``, the text behind ``help()``, PSF licence) is English
prose about a technical subject and is on every machine that runs the lab.  The paragraphs
are taken as they are, minus headings and indented code; the evaluation texts are not among
them.  (It is technical prose: calibrating on it and measuring on novels is itself a
realistic mismatch.)
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["calibration_sentences", "prose_paragraphs"]


@lru_cache(maxsize=1)
def prose_paragraphs() -> tuple[str, ...]:
    """Every prose paragraph of ``pydoc_data.topics`` in a fixed order (topics sorted by name),
    each joined into one line: about 850 paragraphs (250,000 characters)."""
    from pydoc_data.topics import topics

    out = []
    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            lines = para.split("\n")
            if not lines or lines[0].startswith((" ", "\t")):
                continue  # indented: code, grammar, tables
            if len(lines) > 1 and re.fullmatch(r"[*=\-~^\"']+", lines[-1].strip()):
                continue  # a heading
            text = " ".join(ln.strip() for ln in lines).strip()
            if len(text) >= 80 and text.count(" ") >= 12:
                out.append(text)
    return tuple(out)


@lru_cache(maxsize=4)
def calibration_sentences(n: int) -> tuple[str, ...]:
    """The first ``n`` sentences of 6 to 40 words from :func:`prose_paragraphs`."""
    out: list[str] = []
    for para in prose_paragraphs():
        for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z])", para):
            words = sent.split()
            if 6 <= len(words) <= 40 and not any(ch in sent for ch in "*`|"):
                out.append(sent)
                if len(out) == n:
                    return tuple(out)
    raise ValueError(f"only {len(out)} calibration sentences are available, {n} asked")
