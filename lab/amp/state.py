"""Mixed precision page (``/amp``): its settings (URL <-> session state) and the runs it can
compare.

URL parameters (all optional)::

    preset=underflow                                       the preset the settings start from (PRESETS)
    opt=sgd  lr=0.05  epochs=8  batch=32  seed=0  seeds=3  the training (seeds: seed, seed+1, …)
    weight=-20                                             log2 of the loss weight (gradients × 2^weight)
    runs=float32|float16|float16_master|float16_scaled|bfloat16   what is compared
    scaling=dynamic  scale=16  interval=50                 loss scaling: mode, log2 of the (initial) scale, growth interval

A parameter is written only where it differs from its preset: ``?preset=lost&epochs=5``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import streamlit as st

from lab.core.i18n import N_, _
from lab.core.state import Param, params_to_query, query_dict, read_params, shown_value, url_is_new, write_url

__all__ = [
    "AMP",
    "RUNS",
    "DEFAULT_RUNS",
    "Settings",
    "DEFAULTS",
    "LIMITS",
    "OPTIMIZERS",
    "PARAMS",
    "DEFAULT_PRESET",
    "FP8_RUNS",
    "PRESETS",
    "Preset",
    "amp_query",
    "apply_preset",
    "seed_settings",
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
FP8_RUNS = frozenset(k for k, r in RUNS.items() if r.policy == "fp8")
OPTIMIZERS = {"sgd": N_("SGD with momentum 0.9"), "adam": N_("Adam")}
SCALINGS = {"dynamic": N_("dynamic (GradScaler)"), "static": N_("static")}


@dataclass(frozen=True)
class Settings:
    """Everything a run depends on (the cache key)."""

    opt: str = "sgd"
    lr: float = 0.05
    epochs: int = 8
    batch: int = 32
    seed: int = 0
    scaling: str = "dynamic"
    scale: int = 16  # log2 of the (initial) loss scale
    interval: int = 50
    weight: int = -20  # log2 of the loss weight: every gradient × 2^weight (SGD's lr × 2^-weight)
    seeds: int = 3  # runs with seed, seed + 1, … (the table shows mean and min–max)

    @property
    def loss_weight(self) -> float:
        return 2.0**self.weight

    @property
    def train_lr(self) -> float:
        """The learning rate given to the optimizer: SGD's × 2^-weight, so that float32 trains bit
        for bit as with weight 0 (Adam divides the gradient's size out by itself): 0.05 × 2^20 = 52428.8."""
        return self.lr * 2.0**-self.weight if self.opt == "sgd" else self.lr


@dataclass(frozen=True)
class Preset:
    label: str  # N_() text
    note: str  # N_() text: what to look at
    settings: Settings
    runs: tuple[str, ...]


PRESETS: dict[str, Preset] = {
    "underflow": Preset(
        N_("Tiny gradients: float16 flushes them to 0"),
        N_("Every gradient is 2^20 times smaller than in the easy case (the loss is weighted by 2^-20, SGD's learning rate × 2^20, so float32 trains exactly as there): most of them fall below float16's smallest subnormal. Pure float16 and float16 with only a master copy stall; loss scaling by 2^16 brings the gradients back into float16's range and tracks float32. bfloat16 has float32's exponent range and does not need it."),
        Settings(),
        DEFAULT_RUNS,
    ),
    "lost": Preset(
        N_("Small learning rate: updates lost without a master copy"),
        N_("With a learning rate of 0.0003 most weight updates are smaller than half the spacing of the weights' format, so without a master copy they round away: pure bfloat16 (8 significant bits) barely learns, pure float16 (11 bits) loses some; the float32 master copy keeps every update."),
        Settings(lr=3e-4, epochs=15, weight=0),
        ("float32", "float16", "float16_master", "bfloat16", "bfloat16_master"),
    ),
    "fp8": Preset(
        N_("FP8: E4M3 forward, E5M2 gradients"),
        N_("FP8 with a float32 master copy: float8_e5m2 reaches down to 2^-16 only, so without loss scaling a part of the gradients flushes to 0 (compare the column “gradients flushed to 0”); on this small network that costs no clear accuracy. The gradient chart shows E5M2's and E4M3's range."),
        Settings(weight=0),
        ("float32", "float16_scaled", "fp8", "fp8_scaled"),
    ),
    "overflow": Preset(
        N_("Static loss scale too large: every step overflows"),
        N_("A static loss scale of 2^24 pushes the gradients past float16's max 65504: every step has inf and is skipped, so the run never learns. Switch the loss scaling to dynamic to see GradScaler halve the scale until the steps fit."),
        Settings(weight=0, scaling="static", scale=24),
        ("float32", "float16_scaled", "bfloat16"),
    ),
    "easy": Preset(
        N_("Easy case: nothing fails"),
        N_("The plain settings: this small network's gradients and updates fit float16 well, so every run ends within the seeds' spread of float32. Low precision fails only in the cases above."),
        Settings(epochs=15, weight=0),
        DEFAULT_RUNS,
    ),
}
"""What the preset selector offers; the first is the page's default."""
DEFAULT_PRESET = "underflow"

DEFAULTS = PRESETS[DEFAULT_PRESET].settings
LIMITS = {
    "epochs": (1, 60), "batch": (8, 256), "seed": (0, 10_000), "scale": (0, 24), "interval": (1, 5000), "weight": (-30, 0), "seeds": (1, 5),
}


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
    weight = "amp_weight"
    seeds = "amp_seeds"
    preset = "amp_preset"
    notes = "amp_notes"
    applied = "amp_applied"  # the Settings + runs last submitted with Train


LR_RANGE = (1e-5, 10.0)  # the widget's range
PRESET_PARAM = Param("preset", AMP.preset, "choice", default=DEFAULT_PRESET, options=tuple(PRESETS))
PARAMS = (
    Param("opt", AMP.opt, "choice", default=DEFAULTS.opt, options=tuple(OPTIMIZERS)),
    Param("lr", AMP.lr, "float", default=DEFAULTS.lr, lo=LR_RANGE[0], hi=LR_RANGE[1]),
    *(Param(name, getattr(AMP, name), "int", default=getattr(DEFAULTS, name), lo=lo, hi=hi) for name, (lo, hi) in LIMITS.items()),
    Param("scaling", AMP.scaling, "choice", default=DEFAULTS.scaling, options=tuple(SCALINGS)),
)
"""The settings' URL parameters (``runs`` is a list, read and written by hand); their defaults
are the default preset's, and :func:`amp_write_url` leaves out what equals the chosen preset."""


def _defaults() -> None:
    ss = st.session_state
    for field, value in asdict(DEFAULTS).items():
        ss.setdefault(getattr(AMP, field), value)
    ss.setdefault(AMP.runs, list(DEFAULT_RUNS))
    ss.setdefault(AMP.preset, DEFAULT_PRESET)


def _set_preset(key: str) -> None:
    ss = st.session_state
    p = PRESETS[key]
    for field, value in asdict(p.settings).items():
        ss[getattr(AMP, field)] = value
    ss[AMP.runs] = list(p.runs)


def apply_preset() -> None:
    """The preset selector's callback: its settings and runs into the widgets, applied at once."""
    ss = st.session_state
    _set_preset(ss[AMP.preset])
    ss[AMP.applied] = (current_settings(), tuple(ss[AMP.runs]))


def seed_settings(settings: Settings) -> list[Settings]:
    """One Settings per seed (``seeds`` 1, ``seed`` s, s + 1, …): the cache keys of the runs."""
    return [replace(settings, seed=settings.seed + i, seeds=1) for i in range(settings.seeds)]


def amp_load_url() -> None:
    """Apply the URL to the widgets when it came from outside; keep warnings for display."""
    _defaults()
    ss = st.session_state
    if not url_is_new(AMP.page):
        ss.setdefault(AMP.applied, (current_settings(), tuple(ss[AMP.runs])))
        return
    qp = query_dict()
    notes: list[str] = read_params(qp, (PRESET_PARAM,))
    _set_preset(ss[AMP.preset])
    notes += read_params(qp, PARAMS)
    if "runs" in qp:
        keys = [k.strip() for k in qp["runs"].split("|") if k.strip()]
        bad = [k for k in keys if k not in RUNS]
        good = [k for k in keys if k in RUNS]
        if bad:
            notes.append(_("URL parameter runs: {bad} not known; choose from {options}.").format(bad=", ".join(shown_value(k) for k in bad), options=", ".join(RUNS)))
        if good:
            ss[AMP.runs] = good
    ss[AMP.notes] = notes
    ss[AMP.applied] = (current_settings(), tuple(ss[AMP.runs]))


def current_settings() -> Settings:
    ss = st.session_state
    return Settings(
        opt=ss[AMP.opt], lr=float(ss[AMP.lr]), epochs=int(ss[AMP.epochs]), batch=int(ss[AMP.batch]), seed=int(ss[AMP.seed]),
        scaling=ss[AMP.scaling], scale=int(ss[AMP.scale]), interval=int(ss[AMP.interval]),
        weight=int(ss[AMP.weight]), seeds=int(ss[AMP.seeds]),
    )


def amp_query(settings: Settings, runs: tuple[str, ...], preset: str) -> dict[str, str]:
    """The URL of these settings, relative to ``preset`` (what equals it is left out)."""
    p = PRESETS[preset]
    base = {getattr(AMP, f): v for f, v in asdict(p.settings).items()}
    relative = [replace(q, default=base[q.key]) for q in PARAMS]
    params = params_to_query((PRESET_PARAM,), {AMP.preset: preset})
    params.update(params_to_query(relative, {getattr(AMP, f): v for f, v in asdict(settings).items()}))
    if tuple(runs) != tuple(p.runs):
        params["runs"] = "|".join(runs)
    return params


def amp_write_url(settings: Settings, runs: tuple[str, ...]) -> None:
    write_url(AMP.page, amp_query(settings, runs, st.session_state.get(AMP.preset, DEFAULT_PRESET)))
