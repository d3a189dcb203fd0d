"""Mixed precision page (``/amp``): its settings (URL <-> session state), the runs it can
compare, and the training runs cached by their settings.

URL parameters (all optional)::

    opt=sgd  lr=0.05  epochs=15  batch=32  seed=0          the training
    runs=float32|float16|float16_master|float16_scaled|bfloat16   what is compared
    scaling=dynamic  scale=16  interval=50                 loss scaling: mode, log2 of the (initial) scale, growth interval

A run is trained at most once per settings: the results live in an LRU store
(``st.cache_resource``) keyed by (settings, run), so a second visit shows them at once while a
first one shows the training live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import streamlit as st

from quantlib.train import PRECISIONS, SGD, Adam, init_mlp, load_digits
from quantlib.train.amp import LossScaler
from quantlib.train.loop import History, StepRecord, train

from lab.core.cached import LRUStore, shared_store
from lab.core.i18n import N_, _
from lab.core.state import _choice_param, _int_param, query_dict, url_is_new, write_url

__all__ = [
    "AMP",
    "RUNS",
    "DEFAULT_RUNS",
    "Settings",
    "DEFAULTS",
    "SIZES",
    "amp_load_url",
    "amp_write_url",
    "current_settings",
    "cached_run",
    "train_run",
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
    notes: list[str] = []
    for name, options in (("opt", OPTIMIZERS), ("scaling", SCALINGS)):
        if name in qp:
            try:
                ss[getattr(AMP, name)] = _choice_param(qp, name, options, lower=True)
            except ValueError as exc:
                notes.append(str(exc))
    for name, (lo, hi) in LIMITS.items():
        if name in qp:
            try:
                v = _int_param(qp, name)
            except ValueError as exc:
                notes.append(str(exc))
                continue
            if not lo <= v <= hi:
                notes.append(_("URL parameter {name}={value} is outside {lo}…{hi}: {used} is used.").format(name=name, value=v, lo=lo, hi=hi, used=min(hi, max(lo, v))))
            ss[getattr(AMP, name)] = min(hi, max(lo, v))
    if "lr" in qp:
        try:
            lr = float(qp["lr"])
            if not 0 < lr <= 10:
                raise ValueError
            ss[AMP.lr] = lr
        except ValueError:
            notes.append(_("URL parameter lr={value!r} should be a number between 0 and 10.").format(value=qp["lr"]))
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
    params = {}
    for field, value in asdict(settings).items():
        if value != getattr(DEFAULTS, field):
            params[field] = f"{value:g}" if isinstance(value, float) else str(value)
    if tuple(runs) != DEFAULT_RUNS:
        params["runs"] = "|".join(runs)
    write_url(AMP.page, params)


# --------------------------------------------------------------------------- runs
STORE_SIZE = 64


def _store() -> LRUStore:
    return shared_store("amp_runs", STORE_SIZE)


def cached_run(settings: Settings, run: str) -> History | None:
    return _store().get((settings, run))


def train_run(settings: Settings, run: str, on_step: Callable[[StepRecord], None] | None = None) -> History:
    """Train one run (or return the cached one). Same settings, same result: seeded."""
    h = cached_run(settings, run)
    if h is not None:
        return h
    spec = RUNS[run]
    data = load_digits()
    opt = SGD(lr=settings.lr) if settings.opt == "sgd" else Adam(lr=settings.lr)
    scaler = None
    if spec.scaled:
        scaler = LossScaler(mode=settings.scaling, init_scale=2.0**settings.scale, growth_interval=settings.interval)
    h = train(
        init_mlp(SIZES, seed=settings.seed), data, policy=PRECISIONS[spec.policy], optimizer=opt,
        epochs=settings.epochs, batch_size=settings.batch, seed=settings.seed, scaler=scaler, on_step=on_step,
    )
    return _store().put((settings, run), h)
