"""The Tensor Lab's PNG downloads, drawn by matplotlib (imported only when one is asked for)."""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np

from quantlib.analysis import Hists, pareto_mask

from ..style import merge_labels
from .charts import _plot_sqnr
from .labels import (
    CLIP_COLOR,
    CURRENT_COLOR,
    DEQUANT_COLOR,
    ERROR_COLOR,
    FRONT_COLOR,
    LABELS,
    LEVEL_COLOR,
    LEVEL_LINES_MAX,
    LEVEL_TICKS_MAX,
    ORIGINAL_COLOR,
)

__all__ = ["CJK_FAMILIES", "font_families", "value_histogram_png", "error_histogram_png", "rate_distortion_png"]


CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei")
"""Fonts with Simplified Chinese glyphs, the first one installed is used (Debian: fonts-wqy-microhei)."""


@functools.cache
def font_families() -> tuple[str, ...]:
    """matplotlib's font list for the PNGs: DejaVu Sans (matplotlib's own), then the first
    installed :data:`CJK_FAMILIES` font.  matplotlib falls back glyph by glyph, so a zh_CN label
    such as 误差 is drawn instead of empty boxes ("Glyph 35823 missing from font(s) DejaVu Sans");
    set once in this process (only the PNG downloads and the formula SVGs use matplotlib)."""
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    families = ("DejaVu Sans", *[n for n in CJK_FAMILIES if n in installed][:1])
    matplotlib.rcParams["font.family"] = list(families)
    return families


def _mpl_figure(width: float = 8.0, height: float = 4.2):
    from matplotlib.figure import Figure

    font_families()
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def value_histogram_png(h: Hists, *, levels: np.ndarray | None = None, clip: tuple[float, float] | None = None, log_y: bool = False,
                        title: str = "", level_group: int | str = 0, labels: Mapping[str, str] | None = None) -> bytes:
    """The value histogram (:func:`value_histogram_figure`) as a PNG, drawn by matplotlib."""
    lab = merge_labels(LABELS, labels)
    fig = _mpl_figure()
    ax = fig.add_subplot()
    w = np.diff(h.edges)
    ax.bar(h.edges[:-1], h.original, width=w, align="edge", color=ORIGINAL_COLOR, alpha=0.55, label=lab["legend_original"])
    ax.bar(h.edges[:-1], h.dequantized, width=w, align="edge", color=DEQUANT_COLOR, alpha=0.55, label=lab["legend_dequantized"])
    lo, hi = float(h.edges[0]), float(h.edges[-1])
    if levels is not None:
        lv = np.asarray(levels, dtype=np.float64)
        lv = lv[(lv >= lo) & (lv <= hi)]
        if 0 < lv.size <= LEVEL_TICKS_MAX:
            if lv.size <= LEVEL_LINES_MAX:
                for v in lv:
                    ax.axvline(v, color=LEVEL_COLOR, lw=0.8, ls=":")
            else:
                ax.plot(lv, np.zeros(lv.size), "|", color=LEVEL_COLOR, ms=10, transform=ax.get_xaxis_transform())
            ax.plot([], [], color=LEVEL_COLOR, ls=":", label=lab["legend_levels"].format(group=level_group))
    if clip is not None and all(math.isfinite(v) for v in clip) and clip[1] - clip[0] < 50 * (hi - lo):
        for v in clip:
            ax.axvline(v, color=CLIP_COLOR, lw=1.5, ls="--")
        ax.plot([], [], color=CLIP_COLOR, ls="--", label=lab["legend_clip"])
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(lab["axis_value"])
    ax.set_ylabel(lab["axis_count_log"] if log_y else lab["axis_count"])
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)


def error_histogram_png(h: Hists, *, log_y: bool = False, title: str = "", labels: Mapping[str, str] | None = None) -> bytes:
    """The error histogram as a PNG."""
    lab = merge_labels(LABELS, labels)
    fig = _mpl_figure(8.0, 3.6)
    ax = fig.add_subplot()
    ax.bar(h.error_edges[:-1], h.error, width=np.diff(h.error_edges), align="edge", color=ERROR_COLOR, alpha=0.85)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(lab["axis_error"])
    ax.set_ylabel(lab["axis_count_log"] if log_y else lab["axis_count"])
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)


def rate_distortion_png(schemes: Sequence[str], bits: Sequence[float], sqnr: Sequence[float], *, current: str | None = None, title: str = "",
                        labels: Mapping[str, str] | None = None) -> bytes:
    """The rate-distortion chart as a PNG (every scheme named, the Pareto front in red)."""
    lab = merge_labels(LABELS, labels)
    b = np.asarray(bits, dtype=np.float64)
    s, _top = _plot_sqnr(np.asarray(sqnr, dtype=np.float64))
    front = pareto_mask(b, np.asarray(sqnr, dtype=np.float64))
    fig = _mpl_figure(8.0, 5.0)
    ax = fig.add_subplot()
    ax.set_xscale("log", base=2)
    fo = [i for i in np.argsort(b) if front[i] and not np.isnan(s[i])]
    if fo:
        ax.step(b[fo], s[fo], where="post", color=FRONT_COLOR, lw=1.5, label=lab["legend_front"])
    ok = ~np.isnan(s)
    ax.scatter(b[ok & ~front], s[ok & ~front], color="#9a9a9a", edgecolor="#555", s=30, label=lab["legend_dominated"], zorder=3)
    ax.scatter(b[ok & front], s[ok & front], color=FRONT_COLOR, s=40, zorder=4)
    for i in np.flatnonzero(ok):
        ax.annotate(schemes[i], (b[i], s[i]), xytext=(5, 3), textcoords="offset points", fontsize=7, color="#222" if front[i] else "#666")
    if current is not None and current in schemes:
        i = list(schemes).index(current)
        if ok[i]:
            ax.scatter([b[i]], [s[i]], s=160, facecolor="none", edgecolor=CURRENT_COLOR, lw=1.5, label=f"{lab['legend_current']}: {current}", zorder=5)
    ticks = [t for t in (1, 2, 3, 4, 6, 8, 12, 16, 32) if b[ok].size and b[ok].min() / 1.3 <= t <= b[ok].max() * 1.3]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(lab["axis_bits"])
    ax.set_ylabel(lab["axis_sqnr"])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig)
