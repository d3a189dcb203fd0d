"""Words of the quantization-aware training page: the labels of :mod:`figures.qat`
(translated: their English values are the msgids),
the calibration method names, and the finding sentences computed from a study's numbers."""

from __future__ import annotations

from figures import qat as qat_figs
from lab.core.i18n import N_, _, translated

__all__ = ["CAL_NAMES", "family_findings", "findings", "qat_labels"]

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


def findings(study) -> list[str]:
    """Sentences stating what this run's numbers show (nothing typed in: all from ``study``)."""
    s = study.settings
    out: list[str] = []
    f = study.float_accuracy
    acc = {(r.method, r.bits): r.accuracy for r in study.rows}
    labels = qat_labels()
    for b in sorted(s.bits):
        if b > 4 and len(s.bits) > 1 and b != min(s.bits):
            continue
        ptq_best = max(("ptq_dynamic", "ptq_calibrated"), key=lambda m: acc[(m, b)])
        gain = acc[("qat", b)] - acc[(ptq_best, b)]
        if gain > 0.005:
            out.append(_("At {bits} bits QAT reaches {qat}, against {ptq} for the better PTQ ({which}): {gain} points, after {epochs} epochs of fine-tuning.").format(
                bits=b, qat=_pct(acc[("qat", b)]), ptq=_pct(acc[(ptq_best, b)]), which=labels[f"method_{ptq_best}"], gain=_pts(gain), epochs=s.epochs))
        else:
            out.append(_("At {bits} bits QAT ({qat}) is no better than PTQ ({ptq}, {which}): there is little error left for fine-tuning to recover.").format(
                bits=b, qat=_pct(acc[("qat", b)]), ptq=_pct(acc[(ptq_best, b)]), which=labels[f"method_{ptq_best}"]))
    close = [b for b in s.bits if all(acc[(m, b)] >= f - 0.01 for m in ("ptq_dynamic", "ptq_calibrated", "qat"))]
    if close:
        out.append(_("Down to {bits} bits every method stays within 1 point of float32 ({f}): the network needs far less precision than float32 gives it.").format(bits=min(close), f=_pct(f)))
    better = [b for b in s.bits if acc[("ptq_calibrated", b)] > acc[("ptq_dynamic", b)] + 0.002]
    worse = [b for b in s.bits if acc[("ptq_calibrated", b)] < acc[("ptq_dynamic", b)] - 0.002]
    cal = _(CAL_NAMES[s.calibration])
    if better or worse:
        out.append(_("Static ranges calibrated with {method} on {n} images beat the per-example dynamic ranges at {better} bits and lose at {worse} bits: a static range is cheaper at run time, not always more accurate.").format(
            method=cal, n=s.n_calib, better=", ".join(map(str, better)) or "–", worse=", ".join(map(str, worse)) or "–"))
    else:
        out.append(_("Static ranges calibrated with {method} on {n} images are as accurate as the per-example dynamic ranges at every bit width here.").format(method=cal, n=s.n_calib))
    for b in s.bits:
        _lo, hi = study.act_ranges[b][0]
        if hi < 0.5:
            out.append(_("At {bits} bits, {method} calibration clips the input pixels at {hi}: every pixel above it is saturated, which costs accuracy.").format(
                bits=b, method=cal, hi=f"{hi:.3g}"))
            break
    return out


def family_findings(study) -> list[str]:
    rows = {r.family: r for r in study.families}
    out: list[str] = []
    if not rows:
        return out
    f, fb = study.float_accuracy, study.float_bytes
    smallest = min(rows.values(), key=lambda r: r.nbytes)
    out.append(_("The smallest, {family} ({bpw} bits per weight with its scales), takes {bytes} bytes, {ratio}× less than float32, and reaches {qat} after QAT ({ptq} right after quantization).").format(
        family=smallest.family, bpw=f"{smallest.bits_per_weight:.2f}", bytes=f"{smallest.nbytes:,}", ratio=f"{fb / smallest.nbytes:.1f}",
        qat=_pct(smallest.qat_accuracy), ptq=_pct(smallest.ptq_accuracy)))
    for b in (2, 3, 4):
        lin, log = rows.get(f"int{b}"), rows.get(f"log{b}")
        if lin and log:
            out.append(_("At {bits} bits, logarithmic weights (levels ±A, ±A/2, ±A/4…) give {log_ptq} after PTQ and {log_qat} after QAT; linear ones {lin_ptq} and {lin_qat}; log stores {log_bytes} bytes against {lin_bytes} (a 1-byte power-of-two scale per channel instead of a float32 one).").format(
                bits=b, log_ptq=_pct(log.ptq_accuracy), log_qat=_pct(log.qat_accuracy), lin_ptq=_pct(lin.ptq_accuracy), lin_qat=_pct(lin.qat_accuracy),
                log_bytes=f"{log.nbytes:,}", lin_bytes=f"{lin.nbytes:,}"))
    tern, int2 = rows.get("ternary"), rows.get("int2")
    if tern and int2:
        out.append(_("Ternary and int2 both use the levels {{−a, 0, a}} and 2 bits: ternary sets a = the mean of the kept weights and drops those below 0.7 × mean|w| ({t_ptq} after PTQ), int2 sets a = max|w| and rounds below a/2 to 0 ({i_ptq}). After QAT: {t_qat} and {i_qat}.").format(
            t_ptq=_pct(tern.ptq_accuracy), i_ptq=_pct(int2.ptq_accuracy), t_qat=_pct(tern.qat_accuracy), i_qat=_pct(int2.qat_accuracy)))
    within = [r for r in rows.values() if r.qat_accuracy >= f - 0.01]
    if within:
        best = min(within, key=lambda r: r.nbytes)
        out.append(_("The smallest family within 1 point of float32 ({f}) after QAT is {family}: {bytes} bytes.").format(f=_pct(f), family=best.family, bytes=f"{best.nbytes:,}"))
    return out
