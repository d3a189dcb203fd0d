"""Mixed precision page (``/amp``): the training runs, cached by their settings.

A run is trained at most once per settings and seed, for every session and every restart: the
results go through the shared result cache (:func:`lab.core.results.compute`: memory, disk, one
job per key on the worker pool) keyed by (one seed's settings, run), so a second visit shows them
at once while a first one shows the training live (the job's steps are replayed to the page).  The page trains each run on ``settings.seeds``
seeds (:func:`lab.amp.state.seed_settings`), each cached on its own: adding a seed trains one
more.  The settings and the URL are in :mod:`lab.amp.state`.
"""

from __future__ import annotations

from collections.abc import Callable

from quantlib.train import PRECISIONS, SGD, Adam, init_mlp, load_digits
from quantlib.train.amp import LossScaler
from quantlib.train.loop import History, StepRecord, train

from lab.amp.state import RUNS, SIZES, Settings
from lab.core.results import compute, lookup

__all__ = ["cached_run", "train_run"]


# --------------------------------------------------------------------------- runs
STORE_SIZE = 192  # 3 seeds × 8 runs × 8 settings; a History is ~0.1 MB


def cached_run(settings: Settings, run: str) -> History | None:
    return lookup("amp_run", (settings, run))


def train_run(settings: Settings, run: str, on_step: Callable[[StepRecord], None] | None = None) -> History:
    """Train one run on ``settings.seed`` (or return the cached one); ``on_step`` gets every
    step's record while it trains. Same settings, same result: seeded."""
    return compute("amp_run", (settings, run), lambda report: _train(settings, run, report), on_event=on_step, memory=STORE_SIZE)


def _train(settings: Settings, run: str, on_step: Callable[[StepRecord], None]) -> History:
    """The loss weight and SGD's compensated learning rate come from the settings."""
    spec = RUNS[run]
    data = load_digits()
    opt = SGD(lr=settings.train_lr) if settings.opt == "sgd" else Adam(lr=settings.train_lr)
    scaler = None
    if spec.scaled:
        scaler = LossScaler(mode=settings.scaling, init_scale=2.0**settings.scale, growth_interval=settings.interval)
    h = train(
        init_mlp(SIZES, seed=settings.seed), data, policy=PRECISIONS[spec.policy], optimizer=opt,
        epochs=settings.epochs, batch_size=settings.batch, seed=settings.seed, scaler=scaler, on_step=on_step,
        loss_weight=settings.loss_weight,
    )
    return h
