"""The words of the Mixed precision training page (/amp), translated for the session: the
``labels`` its figure builders (figures/amp.py) take, and the findings worded by what the seeds'
spread allows (:func:`figures.training.compare`)."""

from __future__ import annotations

from figures import amp as amp_figs
from figures.training import Spread, compare, spread_text
from lab.core.i18n import _, translated

__all__ = ["accuracy_finding", "amp_labels", "timing_note"]


def amp_labels() -> dict[str, str]:
    """Axis titles, legend entries and table columns of the /amp charts and tables."""
    return translated(amp_figs.LABELS)


def accuracy_finding(run: str, acc: Spread, ref: Spread, *, ref_name: str) -> str:
    """One finding: ``run``'s test accuracy against the reference's, worded by significance.
    A difference of the means no larger than the wider of the two min–max spreads over the seeds
    is "no clear difference"; one seed gives no spread, and the sentence says so."""
    delta = f"{100 * (acc.mean - ref.mean):+.1f}"
    width = f"{100 * max(acc.width, ref.width):.1f}"
    nums = dict(run=run, acc=spread_text(acc), ref=ref_name, ref_acc=spread_text(ref), delta=delta, spread=width, n=min(acc.n, ref.n))
    verdict = compare(acc, ref)
    if verdict == "higher":
        return _("{run}: test accuracy {acc} against {ref_acc} for {ref}, {delta} points: clearly higher — the difference is larger than the spread over the {n} seeds ({spread} points).").format(**nums)
    if verdict == "lower":
        return _("{run}: test accuracy {acc} against {ref_acc} for {ref}, {delta} points: clearly lower — the difference is larger than the spread over the {n} seeds ({spread} points).").format(**nums)
    if verdict == "no_clear":
        return _("{run}: test accuracy {acc} against {ref_acc} for {ref}, {delta} points: no clear difference — the {n} seeds spread over {spread} points, at least as much as the difference.").format(**nums)
    return _("{run}: test accuracy {acc} against {ref_acc} for {ref}, {delta} points, on one seed: no spread to judge the difference by; train more seeds.").format(**nums)


def timing_note() -> str:
    """The sentence every training time on the page carries."""
    return _("Training times are numpy emulation on this server, not hardware speed: numpy has no float16, bfloat16 or FP8 matrix units, so every rounding to a format is extra work here and the low-precision runs take longer than float32. On a GPU with tensor cores they are faster.")
