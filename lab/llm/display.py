"""The words of the language model page's figures and tables (:data:`figures.llm.LABELS`, whose
English values are the msgids), translated into the session's language."""

from __future__ import annotations

from figures import llm as llm_figs
from lab.core.i18n import translated

__all__ = ["llm_labels"]


def llm_labels() -> dict[str, str]:
    return translated(llm_figs.LABELS)
