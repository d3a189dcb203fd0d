"""The Tensor Lab's tables (pandas): how each element of a block was rounded, the metrics of
one scheme, the comparison of many."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from quantlib.analysis import front_order

from ..style import merge_labels
from ..text import db, nbytes_text, num, pct
from .labels import LABELS

__all__ = ["COMPARE_FIELDS", "rounding_table", "metrics_rows", "compare_table"]


def _how(x: float, xq: float, below: float, above: float, clipped: bool, lab: Mapping[str, str]) -> str:
    if not (math.isfinite(x) and math.isfinite(xq)):
        return lab["how_nonfinite"]
    if xq == x:
        return lab["how_exact"]
    if clipped:
        return lab["how_clip_top"] if x > 0 else lab["how_clip_bottom"]
    if xq == 0:
        return lab["how_zero"]
    d_lo = x - below if below <= x else math.inf  # beyond the last level there is none on that side
    d_hi = above - x if above >= x else math.inf
    if xq == below:
        if d_lo == d_hi:
            return lab["how_tie_down"]
        return lab["how_down"] if d_lo < d_hi else lab["how_far"]
    if xq == above:
        if d_lo == d_hi:
            return lab["how_tie_up"]
        return lab["how_up"] if d_hi < d_lo else lab["how_far"]
    return lab["how_far"]


def rounding_table(
    x: np.ndarray,
    xq: np.ndarray,
    codes: Sequence[str] | None,
    levels: np.ndarray,
    *,
    scaled: np.ndarray | None = None,
    q: Sequence | None = None,
    clipped: np.ndarray | None = None,
    start: int = 0,
    rule: str = "",
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per element of a block, in the notes' notation: its value x, ``x·c`` (``scaled``,
    the value before rounding), ``q`` (what it rounds to before the scale: the integer code, a
    codebook index, an element value), the stored code (``codes``; None leaves the column out),
    the value it is stored as and in words how it was rounded, the error, and the levels around
    it.  ``levels``: every value the group can decode to (sorted); ``start``: the index of the
    first element; ``rule``: a word for schemes that do not round to the nearest level.
    Worked row (int8, c = 50): x = 1.013 -> x·c = 50.65, q = 51, stored as 1.02."""
    lab = merge_labels(LABELS, labels)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xq = np.asarray(xq, dtype=np.float64).reshape(-1)
    lv = np.unique(np.asarray(levels, dtype=np.float64))
    lv = lv[np.isfinite(lv)]
    clip = np.zeros(x.size, bool) if clipped is None else np.asarray(clipped, bool).reshape(-1)
    i_hi = np.clip(np.searchsorted(lv, x, side="left"), 0, lv.size - 1)  # first level >= x
    i_lo = np.clip(np.searchsorted(lv, x, side="right") - 1, 0, lv.size - 1)  # last level <= x
    below, above = lv[i_lo], lv[i_hi]
    rows = []
    far = lab["how_far"].format(rule=rule or "?")
    words = {**lab, "how_far": far}
    for i in range(x.size):
        row = {lab["col_index"]: start + i, lab["col_x"]: num(x[i], 6)}
        if scaled is not None:
            row[lab["col_xc"]] = num(float(scaled[i]), 6)
        if q is not None:
            row[lab["col_q"]] = str(int(q[i])) if isinstance(q[i], (int, np.integer)) or float(q[i]).is_integer() else num(float(q[i]), 6)
        if codes is not None:
            row[lab["col_code"]] = codes[i]
        row[lab["col_xq"]] = num(xq[i], 6)
        row[lab["col_error"]] = num(xq[i] - x[i], 3)
        row[lab["col_how"]] = _how(x[i], xq[i], below[i], above[i], bool(clip[i]), words)
        row[lab["col_below"]] = num(below[i], 6) if below[i] <= x[i] else "—"
        row[lab["col_above"]] = num(above[i], 6) if above[i] >= x[i] else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# ============================================================== tables
def metrics_rows(m: Mapping[str, float], *, bits_per_element: float, nbytes: int, orig_nbytes: int, orig_dtype: str,
                 labels: Mapping[str, str] | None = None) -> list[list[str]]:
    """The metrics table of one scheme as rows ``[metric, value, meaning]``.  ``m`` is
    :meth:`quantlib.metrics.Metrics.as_dict`."""
    lab = merge_labels(LABELS, labels)
    ratio = nbytes / orig_nbytes if orig_nbytes else math.nan
    size = lab["size_cell"].format(q=nbytes_text(nbytes), orig=nbytes_text(orig_nbytes), dtype=orig_dtype, ratio=f"{ratio:.1%}")
    rows = [
        ("m_sqnr", db(m["sqnr_db"])),
        ("m_mse", num(m["mse"])),
        ("m_rmse", num(m["rmse"])),
        ("m_max", num(m["max_abs_error"])),
        ("m_mean_abs", num(m["mean_abs_error"])),
        ("m_rel", pct(m["rel_error"]) if math.isfinite(m["rel_error"]) else num(m["rel_error"])),
        ("m_cos", lab["cos_cell"].format(cos=f"{m['cosine']:.6f}", omc=num(m["one_minus_cosine"], 3)) if math.isfinite(m["cosine"]) else "—"),
        ("m_clipped", pct(m["frac_clipped"])),
        ("m_flushed", pct(m["frac_flushed"])),
        ("m_bits", f"{bits_per_element:.4g}"),
        ("m_size", size),
    ]
    return [[lab[k], v, lab[k + "_help"]] for k, v in rows]


COMPARE_FIELDS = ("scheme", "family", "bits", "nbytes", "ratio", "sqnr_db", "mse", "max_abs_error", "one_minus_cosine", "frac_clipped", "frac_flushed")


def compare_table(rows: Sequence[Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The comparison as a DataFrame with translated headers, numbers kept numeric (sortable),
    sorted by bits per element, with a Pareto column (the front's numbers of the chart).  ``rows``: dicts with
    :data:`COMPARE_FIELDS`."""
    lab = merge_labels(LABELS, labels)
    if not rows:
        return pd.DataFrame(columns=[lab[c] for c in ("col_scheme", "col_bits", "col_sqnr")])
    df = pd.DataFrame(list(rows))
    numbers = np.full(len(df), "", dtype=object)
    for k, i in enumerate(front_order(df["bits"], df["sqnr_db"])):
        numbers[i] = str(k + 1)
    out = pd.DataFrame(
        {
            lab["col_scheme"]: df["scheme"],
            lab["col_bits"]: df["bits"].astype(float),
            lab["col_sqnr"]: df["sqnr_db"].astype(float),
            lab["col_front"]: numbers,
            lab["col_mse"]: df["mse"].astype(float),
            lab["col_max"]: df["max_abs_error"].astype(float),
            lab["col_omc"]: df["one_minus_cosine"].astype(float),
            lab["col_clipped"]: (100 * df["frac_clipped"].astype(float)),
            lab["col_flushed"]: (100 * df["frac_flushed"].astype(float)),
            lab["col_bytes"]: df["nbytes"].astype(np.int64),
            lab["col_ratio"]: (100 * df["ratio"].astype(float)),
        }
    )
    return out.sort_values([lab["col_bits"], lab["col_sqnr"]], ascending=[True, False], kind="stable").reset_index(drop=True)
