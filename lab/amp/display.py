"""The words of the Mixed precision training page (/amp), translated for the session: the
``labels`` its figure builders (figures/amp.py) take."""

from __future__ import annotations

from figures import amp as amp_figs
from lab.core.i18n import translated

__all__ = ["amp_labels"]


def amp_labels() -> dict[str, str]:
    """Axis titles, legend entries and table columns of the /amp charts and tables."""
    return translated(amp_figs.LABELS)
