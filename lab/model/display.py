"""The words of the PTQ studio figures and tables (:data:`figures.model.LABELS`, whose English
values are the msgids), translated into the session's language."""

from __future__ import annotations

from figures import model as model_figs
from lab.core.i18n import translated

__all__ = ["model_labels"]


def model_labels() -> dict[str, str]:
    return translated(model_figs.LABELS)
