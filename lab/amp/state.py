"""Mixed precision page (``/amp``): its settings (URL <-> session state) and the runs it can
compare.

URL parameters (all optional)::

    opt=sgd  lr=0.05  epochs=15  batch=32  seed=0          the training
    runs=float32|float16|float16_master|float16_scaled|bfloat16   what is compared
    scaling=dynamic  scale=16  interval=50                 loss scaling: mode, log2 of the (initial) scale, growth interval
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import streamlit as st

from lab.core.i18n import N_, _
from lab.core.state import Param, params_to_query, query_dict, read_params, url_is_new, write_url

__all__ = [
    "AMP",
    "RUNS",
    "DEFAULT_RUNS",
    "Settings",
    "DEFAULTS",
    "LIMITS",
    "OPTIMIZERS",
    "PARAMS",
    "SCALINGS",
    "SIZES",
    "amp_load_url",
    "amp_write_url",
    "current_settings",
]

SIZES = (64, 256, 10)
"""The network: 64 pixels → 256 ReLU units → 10 digits (19,210 parameters)."""


@dataclass(frozen=True)
class Run:
    policy: str
    scaled: bool
    label: str  # N_() text


RUNS: dict[str, Run] = {
    "float32": Run("float32", False, N_("float32 (reference)")),
    "float16": Run("float16", False, N_("pure float16")),
    "float16_master": Run("float16_master", False, N_("float16 + fp32 master")),
    "float16_scaled": Run("float16_master", True, N_("float16 + fp32 master + loss scaling")),
    "bfloat16": Run("bfloat16", False, N_("pure bfloat16")),
    "bfloat16_master": Run("bfloat16_master", False, N_("bfloat16 + fp32 master")),
    "fp8": Run("fp8", False, N_("FP8 (E4M3 forward, E5M2 backward) + fp32 master")),
    "fp8_scaled": Run("fp8", True, N_("FP8 + fp32 master + loss scaling")),
}
DEFAULT_RUNS = ("float32", "float16", "float16_master", "float16_scaled", "bfloat16")
OPTIMIZERS = {"sgd": N_("SGD with momentum 0.9"), "adam": N_("Adam")}
SCALINGS = {"dynamic": N_("dynamic (GradScaler)"), "static": N_("static")}


@dataclass(frozen=True)
class Settings:
    """Everything a run depends on (the cache key)."""

    opt: str = "sgd"
    lr: float = 0.05
    epochs: int = 15
    batch: int = 32
    seed: int = 0
    scaling: str = "dynamic"
    scale: int = 16  # log2 of the (initial) loss scale
    interval: int = 50


DEFAULTS = Settings()
LIMITS = {"epochs": (1, 60), "batch": (8, 256), "seed": (0, 10_000), "scale": (0, 24), "interval": (1, 5000)}


class AMP:
    """Session-state keys of the page."""

    page = "amp"
    opt = "amp_opt"
    lr = "amp_lr"
    epochs = "amp_epochs"
    batch = "amp_batch"
    seed = "amp_seed"
    runs = "amp_runs"
    scaling = "amp_scaling"
    scale = "amp_scale"
    interval = "amp_interval"
    notes = "amp_notes"
    applied = "amp_applied"  # the Settings + runs last submitted with Train


LR_RANGE = (1e-5, 10.0)  # the widget's range
PARAMS = (
    Param("opt", AMP.opt, "choice", default=DEFAULTS.opt, options=tuple(OPTIMIZERS)),
    Param("lr", AMP.lr, "float", default=DEFAULTS.lr, lo=LR_RANGE[0], hi=LR_RANGE[1]),
    *(Param(name, getattr(AMP, name), "int", default=getattr(DEFAULTS, name), lo=lo, hi=hi) for name, (lo, hi) in LIMITS.items()),
    Param("scaling", AMP.scaling, "choice", default=DEFAULTS.scaling, options=tuple(SCALINGS)),
)
"""The settings' URL parameters (``runs`` is a list, read and written by hand)."""


def _defaults() -> None:
    ss = st.session_state
    for field, value in asdict(DEFAULTS).items():
        ss.setdefault(getattr(AMP, field), value)
    ss.setdefault(AMP.runs, list(DEFAULT_RUNS))


def amp_load_url() -> None:
    """Apply the URL to the widgets when it came from outside; keep warnings for display."""
    _defaults()
    ss = st.session_state
    if not url_is_new(AMP.page):
        ss.setdefault(AMP.applied, (current_settings(), tuple(ss[AMP.runs])))
        return
    qp = query_dict()
    notes: list[str] = read_params(qp, PARAMS)
    if "runs" in qp:
        keys = [k.strip() for k in qp["runs"].split("|") if k.strip()]
        bad = [k for k in keys if k not in RUNS]
        good = [k for k in keys if k in RUNS]
        if bad:
            notes.append(_("URL parameter runs: {bad} not known; choose from {options}.").format(bad=", ".join(bad), options=", ".join(RUNS)))
        if good:
            ss[AMP.runs] = good
    ss[AMP.notes] = notes
    ss[AMP.applied] = (current_settings(), tuple(ss[AMP.runs]))


def current_settings() -> Settings:
    ss = st.session_state
    return Settings(
        opt=ss[AMP.opt], lr=float(ss[AMP.lr]), epochs=int(ss[AMP.epochs]), batch=int(ss[AMP.batch]), seed=int(ss[AMP.seed]),
        scaling=ss[AMP.scaling], scale=int(ss[AMP.scale]), interval=int(ss[AMP.interval]),
    )


def amp_write_url(settings: Settings, runs: tuple[str, ...]) -> None:
    params = params_to_query(PARAMS, {getattr(AMP, f): v for f, v in asdict(settings).items()})
    if tuple(runs) != DEFAULT_RUNS:
        params["runs"] = "|".join(runs)
    write_url(AMP.page, params)
