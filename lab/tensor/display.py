"""The Tensor Lab's words: the labels of its figures and tables, translated."""

from __future__ import annotations

from figures import tensor as tensor_figs
from lab.core.i18n import translated

__all__ = ["tensor_labels"]


def tensor_labels() -> dict[str, str]:
    """The words of the Tensor Lab figures and tables (:data:`figures.tensor.LABELS`) in the
    session's language (the English there is the msgid)."""
    return translated(tensor_figs.LABELS)
