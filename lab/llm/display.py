"""The words of the language model page's figures and tables (:data:`figures.llm.LABELS`, whose
English values are the msgids), translated into the session's language."""

from __future__ import annotations

from figures import llm as llm_figs
from figures import ptq as ptq_figs
from lab.core.i18n import translated

__all__ = ["llm_labels", "ptq_labels"]


def llm_labels() -> dict[str, str]:
    return translated(llm_figs.LABELS)


def ptq_labels() -> dict[str, str]:
    """:data:`figures.ptq.LABELS` translated (the GPTQ / AWQ views, shared with /model)."""
    return translated(ptq_figs.LABELS)
