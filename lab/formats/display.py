"""The Format Comparison's words: the labels of its figures and tables, translated."""

from __future__ import annotations

from figures import formats as formats_figs
from lab.core.i18n import translated


def formats_labels() -> dict[str, str]:
    """The words of the Format Comparison figures and tables (:data:`figures.formats.LABELS`),
    translated into the session's language (the English there is the msgid)."""
    return translated(formats_figs.LABELS)
