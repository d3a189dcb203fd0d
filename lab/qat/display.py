"""Words of the quantization-aware training page: the labels of :mod:`figures.qat`
(translated: their English values are the msgids), the calibration method names, and the
finding sentences computed from the studies of several seeds, worded by what their spread
allows (:func:`figures.training.compare`: a difference no larger than the seeds' min–max
spread is "no clear difference")."""

from __future__ import annotations

from figures import qat as qat_figs
from figures.training import Spread, compare, spread, spread_text
from lab.core.i18n import N_, _, translated

__all__ = ["CAL_NAMES", "family_findings", "findings", "qat_labels", "seed_spread_finding", "timing_note"]

CAL_NAMES = {
    "minmax": N_("min-max"),
    "percentile": N_("percentile (99.99 %)"),
    "mse": N_("MSE"),
    "kl": N_("KL (entropy, TensorRT)"),
}


def qat_labels() -> dict[str, str]:
    return translated(qat_figs.LABELS)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _width(a: Spread, b: Spread) -> str:
    return f"{100 * max(a.width, b.width):.1f}"


def timing_note() -> str:
    return _("These times are numpy emulation on this server, not hardware speed: the quantizers are simulated in float32 (fake quantization), so fewer bits do not run faster here.")


def qat_finding(bits: int, qat: Spread, ptq: Spread, *, which: str, epochs: int) -> str:
    """QAT against the better PTQ at ``bits``, worded by significance (planted numbers test it)."""
    nums = dict(bits=bits, qat=spread_text(qat), ptq=spread_text(ptq), which=which, gain=_pts(qat.mean - ptq.mean), spread=_width(qat, ptq), epochs=epochs, n=min(qat.n, ptq.n))
    verdict = compare(qat, ptq)
    if verdict == "higher":
        return _("At {bits} bits QAT reaches {qat}, against {ptq} for the better PTQ ({which}): {gain} points after {epochs} epochs of fine-tuning, more than the spread over the {n} seeds ({spread} points).").format(**nums)
    if verdict == "lower":
        return _("At {bits} bits QAT gives {qat} and the better PTQ ({which}) {ptq}: QAT is clearly lower, {gain} points, more than the spread over the {n} seeds ({spread} points).").format(**nums)
    if verdict == "no_clear":
        return _("At {bits} bits QAT gives {qat} and the better PTQ ({which}) {ptq}: no clear difference, {gain} points, within the spread over the {n} seeds ({spread} points).").format(**nums)
    return _("At {bits} bits QAT gives {qat} against {ptq} for the better PTQ ({which}): {gain} points on one seed, with no spread to judge it by; train more seeds.").format(**nums)


def seed_spread_finding(rows) -> str | None:
    """The widest min–max over the seeds among the merged method rows: how much one seed can mislead."""
    rows = [r for r in rows if r["spread"].n > 1]
    if not rows:
        return None
    r = max(rows, key=lambda r: r["spread"].width)
    labels = qat_labels()
    per_seed = ", ".join(_pct(v) for v in r["spread"].values)
    return _("The seeds matter: {method} at {bits} bits gives {values} with the {n} seeds (spread {spread} points), so one seed alone cannot show a difference smaller than that.").format(
        method=labels[f"method_{r['method']}"], bits=r["bits"], values=per_seed, n=r["spread"].n, spread=f"{100 * r['spread'].width:.1f}")


def findings(studies) -> list[str]:
    """Sentences stating what these studies' numbers show (one study per seed; nothing typed in)."""
    s = studies[0].settings
    out: list[str] = []
    rows = qat_figs.seed_rows(studies)
    acc = {(r["method"], r["bits"]): r["spread"] for r in rows}
    f = spread(st.float_accuracy for st in studies)
    labels = qat_labels()
    for b in sorted(s.bits):
        if b > 4 and len(s.bits) > 1 and b != min(s.bits):
            continue
        ptq_best = max(("ptq_dynamic", "ptq_calibrated"), key=lambda m: acc[(m, b)].mean)
        out.append(qat_finding(b, acc[("qat", b)], acc[(ptq_best, b)], which=labels[f"method_{ptq_best}"], epochs=s.epochs))
    close = [b for b in s.bits if all(compare(acc[(m, b)], f) in ("no_clear", "higher") for m in ("ptq_dynamic", "ptq_calibrated", "qat"))]
    if close:
        out.append(_("Down to {bits} bits no method is clearly below float32 ({f}): the differences lie within the seeds' spread, so the network needs far less precision than float32 gives it.").format(
            bits=min(close), f=spread_text(f)))
    better = [b for b in s.bits if compare(acc[("ptq_calibrated", b)], acc[("ptq_dynamic", b)]) == "higher"]
    worse = [b for b in s.bits if compare(acc[("ptq_calibrated", b)], acc[("ptq_dynamic", b)]) == "lower"]
    cal = _(CAL_NAMES[s.calibration])
    if better or worse:
        out.append(_("Static ranges calibrated with {method} on {n} images are clearly better than the per-example dynamic ranges at {better} bits and clearly worse at {worse} bits (beyond the seeds' spread); elsewhere there is no clear difference. A static range is cheaper at run time, not always more accurate.").format(
            method=cal, n=s.n_calib, better=", ".join(map(str, better)) or "–", worse=", ".join(map(str, worse)) or "–"))
    else:
        out.append(_("Static ranges calibrated with {method} on {n} images show no clear difference from the per-example dynamic ranges at any bit width here (the differences lie within the seeds' spread).").format(method=cal, n=s.n_calib))
    spread_note = seed_spread_finding(rows)
    if spread_note:
        out.append(spread_note)
    for b in s.bits:
        _lo, hi = studies[0].act_ranges[b][0]
        if hi < 0.5:
            out.append(_("At {bits} bits, {method} calibration clips the input pixels at {hi}: every pixel above it is saturated, which costs accuracy.").format(
                bits=b, method=cal, hi=f"{hi:.3g}"))
            break
    return out


def family_findings(studies) -> list[str]:
    rows = {r["family"]: r for r in qat_figs.seed_families(studies)}
    out: list[str] = []
    if not rows:
        return out
    f, fb = spread(st.float_accuracy for st in studies), studies[0].float_bytes
    smallest = min(rows.values(), key=lambda r: r["nbytes"])
    out.append(_("The smallest, {family} ({bpw} bits per weight with its scales), takes {bytes} bytes, {ratio}× less than float32, and reaches {qat} after QAT ({ptq} right after quantization).").format(
        family=smallest["family"], bpw=f"{smallest['bits_per_weight']:.2f}", bytes=f"{smallest['nbytes']:,}", ratio=f"{fb / smallest['nbytes']:.1f}",
        qat=spread_text(smallest["qat_spread"]), ptq=spread_text(smallest["ptq_spread"])))
    words = {"higher": N_("clearly better"), "lower": N_("clearly worse"), "no_clear": N_("no clear difference"), "one_seed": N_("one seed: no spread to judge by")}
    for b in (2, 3, 4):
        lin, log = rows.get(f"int{b}"), rows.get(f"log{b}")
        if lin and log:
            out.append(_("At {bits} bits, logarithmic weights (levels ±A, ±A/2, ±A/4…) give {log_ptq} after PTQ and {log_qat} after QAT; linear ones {lin_ptq} and {lin_qat} (log against linear after QAT: {verdict}); log stores {log_bytes} bytes against {lin_bytes} (a 1-byte power-of-two scale per channel instead of a float32 one).").format(
                bits=b, log_ptq=spread_text(log["ptq_spread"]), log_qat=spread_text(log["qat_spread"]), lin_ptq=spread_text(lin["ptq_spread"]), lin_qat=spread_text(lin["qat_spread"]),
                verdict=_(words[compare(log["qat_spread"], lin["qat_spread"])]), log_bytes=f"{log['nbytes']:,}", lin_bytes=f"{lin['nbytes']:,}"))
    tern, int2 = rows.get("ternary"), rows.get("int2")
    if tern and int2:
        out.append(_("Ternary and int2 both use the levels {{−a, 0, a}} and 2 bits: ternary sets a = the mean of the kept weights and drops those below 0.7 × mean|w| ({t_ptq} after PTQ), int2 sets a = max|w| and rounds below a/2 to 0 ({i_ptq}). After QAT: {t_qat} and {i_qat}.").format(
            t_ptq=spread_text(tern["ptq_spread"]), i_ptq=spread_text(int2["ptq_spread"]), t_qat=spread_text(tern["qat_spread"]), i_qat=spread_text(int2["qat_spread"])))
    within = [r for r in rows.values() if compare(r["qat_spread"], f) in ("no_clear", "higher")]
    if within:
        best = min(within, key=lambda r: r["nbytes"])
        out.append(_("The smallest family not clearly below float32 ({f}) after QAT is {family}: {bytes} bytes.").format(f=spread_text(f), family=best["family"], bytes=f"{best['nbytes']:,}"))
    return out
