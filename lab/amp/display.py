"""The words of the Mixed precision training page (/amp), translated for the session: the
``labels`` its figure builders (figures/amp.py) take."""

from __future__ import annotations

from lab.core.i18n import _

__all__ = ["amp_labels"]


def amp_labels() -> dict[str, str]:
    """Axis titles, legend entries and table columns of the /amp charts and tables."""
    return {
        "step": _("training step"),
        "loss": _("training loss (moving average)"),
        "epoch": _("epoch"),
        "lost": _("updates lost (% of those float32 keeps)"),
        "scale": _("loss scale (log2)"),
        "skipped": _("skipped step (inf/NaN)"),
        "log2g": _("log2 |gradient|"),
        "count": _("gradient values"),
        "underflow_zone": _("flushes to 0 in {fmt}"),
        "subnormal": _("{fmt} smallest subnormal 2^{e}"),
        "normal": _("{fmt} smallest normal 2^{e}"),
        "max": _("{fmt} max {v}"),
        "col_run": _("Run"),
        "col_acc": _("test accuracy"),
        "col_loss": _("test loss"),
        "col_time": _("training time (s)"),
        "col_under": _("gradients flushed to 0"),
        "col_lost": _("weight updates lost"),
        "col_skipped": _("skipped steps"),
        "col_format": _("Format"),
        "col_nexp": _("exponent bits"),
        "col_nmant": _("mantissa bits"),
        "col_max": _("largest"),
        "col_normal": _("smallest normal"),
        "col_sub": _("smallest subnormal"),
        "col_binades": _("binades (log2 max/min)"),
    }
