"""URL state of the quantization-aware training page (``/qat``).

The settings live under fixed session-state keys (:class:`QAT`); the study shown is that of
the *applied* settings (the last "Train"), which are also what the URL holds:
``bits=8,4,3,2&cal=mse&n=128&epochs=3&lr=0.001&lsq=1&gran=tensor&seed=0&seeds=3`` (defaults left out).
A study is run once per seed (``seed``, ``seed + 1``, … ``seeds`` of them): the page shows the
mean and the min–max over them.
"""

from __future__ import annotations

import streamlit as st

from dataclasses import replace

from quantlib.calibration import CALIBRATION_METHODS
from quantlib.train.qat import BITS_CHOICES, QATSettings

from lab.core.i18n import _
from lab.core.state import Param, params_to_query, query_dict, read_params, url_is_new, url_value, write_url

__all__ = [
    "DEFAULTS", "DEFAULT_SEEDS", "LR_CHOICES", "N_CALIB_CHOICES", "QAT", "SEEDS_MAX", "applied", "applied_seeds", "apply_widgets",
    "qat_load_url", "qat_url", "seed_settings",
]

LR_CHOICES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
N_CALIB_CHOICES = (16, 32, 64, 128, 256, 512)
EPOCHS_MAX = 20
DEFAULTS = QATSettings(bits=(8, 4, 3, 2), calibration="mse", n_calib=128, epochs=3, lr=1e-3, learnable=False, per_channel=True, seed=0)
DEFAULT_SEEDS = 3
SEEDS_MAX = 5


class QAT:
    """Session-state keys of the page."""

    page = "qat"
    bits = "qat_bits"
    cal = "qat_cal"
    n_calib = "qat_n_calib"
    epochs = "qat_epochs"
    lr = "qat_lr"
    lsq = "qat_lsq"
    gran = "qat_gran"
    seed = "qat_seed"
    seeds = "qat_seeds"
    applied = "qat_applied"   # the QATSettings of the study shown (its seed: the first one)
    applied_seeds = "qat_applied_seeds"  # how many seeds, from it on
    notes = "qat_url_notes"
    show_bits = "qat_show_bits"
    show_layer = "qat_show_layer"


def _defaults() -> None:
    ss = st.session_state
    ss.setdefault(QAT.bits, list(DEFAULTS.bits))
    for p in PARAMS:  # each widget starts at its parameter's default
        ss.setdefault(p.key, p.default)


def widget_settings() -> QATSettings:
    """The settings the widgets hold now (ValueError, translated, when they make no study)."""
    ss = st.session_state
    bits = tuple(int(b) for b in ss.get(QAT.bits) or ())
    if not bits:
        raise ValueError(_("Choose at least one bit width."))
    return QATSettings(
        bits=bits, calibration=ss[QAT.cal], n_calib=int(ss[QAT.n_calib]), epochs=int(ss[QAT.epochs]), lr=float(ss[QAT.lr]),
        learnable=bool(ss[QAT.lsq]), per_channel=ss[QAT.gran] == "channel", seed=int(ss[QAT.seed]),
    )


def apply_widgets() -> None:
    """The "Train" button: the widgets' settings become the applied ones."""
    try:
        st.session_state[QAT.applied] = widget_settings()
        st.session_state[QAT.applied_seeds] = int(st.session_state[QAT.seeds])
        st.session_state.pop(QAT.notes, None)
    except ValueError as exc:
        st.session_state[QAT.notes] = [str(exc)]


def applied() -> QATSettings:
    return st.session_state.get(QAT.applied) or DEFAULTS


def applied_seeds() -> int:
    return int(st.session_state.get(QAT.applied_seeds) or DEFAULT_SEEDS)


def seed_settings(settings: QATSettings, seeds: int) -> list[QATSettings]:
    """The settings of each seed's study: seed s, s + 1, … (each one a cache key)."""
    return [replace(settings, seed=settings.seed + i) for i in range(int(seeds))]


PARAMS = (
    Param("cal", QAT.cal, "choice", default=DEFAULTS.calibration, options=tuple(CALIBRATION_METHODS)),
    Param("n", QAT.n_calib, "int", default=DEFAULTS.n_calib, lo=1, hi=100_000, snap=N_CALIB_CHOICES),
    Param("epochs", QAT.epochs, "int", default=DEFAULTS.epochs, lo=1, hi=EPOCHS_MAX),
    Param("lr", QAT.lr, "float", default=DEFAULTS.lr, lo=LR_CHOICES[0], hi=LR_CHOICES[-1], snap=LR_CHOICES),
    Param("lsq", QAT.lsq, "bool", default=DEFAULTS.learnable),
    Param("gran", QAT.gran, "choice", default="channel" if DEFAULTS.per_channel else "tensor", options=("channel", "tensor")),
    Param("seed", QAT.seed, "int", default=DEFAULTS.seed, lo=0, hi=9999),
    Param("seeds", QAT.seeds, "int", default=DEFAULT_SEEDS, lo=1, hi=SEEDS_MAX),
)
"""The settings' URL parameters (``bits`` is a list, read and written by hand)."""


def qat_load_url() -> None:
    """Apply the URL when it came from outside (a link, a reload): widgets and applied settings."""
    _defaults()
    ss = st.session_state
    if not url_is_new(QAT.page):
        ss.setdefault(QAT.applied, widget_settings() if ss.get(QAT.bits) else DEFAULTS)
        ss.setdefault(QAT.applied_seeds, int(ss[QAT.seeds]))
        return
    qp = query_dict()
    notes: list[str] = []
    if "bits" in qp:
        chosen = []
        for item in qp["bits"].split(","):
            item = item.strip()
            if not item:
                continue
            if item.isdigit() and int(item) in BITS_CHOICES:
                chosen.append(int(item))
            else:
                notes.append(_("URL parameter bits: {value!r} ignored (choose from {options}).").format(value=url_value(item), options=", ".join(map(str, BITS_CHOICES))))
        if chosen:
            ss[QAT.bits] = sorted(set(chosen), reverse=True)
    notes += read_params(qp, PARAMS)
    ss[QAT.applied] = widget_settings()
    ss[QAT.applied_seeds] = int(ss[QAT.seeds])
    ss[QAT.notes] = notes


def qat_url() -> dict[str, str]:
    """The canonical query parameters of the applied settings (defaults left out)."""
    s, d = applied(), DEFAULTS
    params: dict[str, str] = {}
    if s.bits != d.bits:
        params["bits"] = ",".join(map(str, s.bits))
    values = {
        QAT.cal: s.calibration, QAT.n_calib: s.n_calib, QAT.epochs: s.epochs, QAT.lr: s.lr,
        QAT.lsq: s.learnable, QAT.gran: "channel" if s.per_channel else "tensor", QAT.seed: s.seed, QAT.seeds: applied_seeds(),
    }
    params.update(params_to_query(PARAMS, values))
    return params


def write_qat_url() -> None:
    write_url(QAT.page, qat_url())
