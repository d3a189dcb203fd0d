"""Mixed precision page (``/amp``): the training runs, cached by their settings.

A run is trained at most once per settings and seed: the results live in an LRU store
(``st.cache_resource``) keyed by (one seed's settings, run), so a second visit shows them at
once while a first one shows the training live.  The page trains each run on ``settings.seeds``
seeds (:func:`lab.amp.state.seed_settings`), each cached on its own: adding a seed trains one
more.  The settings and the URL are in :mod:`lab.amp.state`.
"""

from __future__ import annotations

from collections.abc import Callable

from quantlib.train import PRECISIONS, SGD, Adam, init_mlp, load_digits
from quantlib.train.amp import LossScaler
from quantlib.train.loop import History, StepRecord, train

from lab.amp.state import RUNS, SIZES, Settings
from lab.core.cached import LRUStore, shared_store

__all__ = ["cached_run", "train_run"]


# --------------------------------------------------------------------------- runs
STORE_SIZE = 192  # 3 seeds × 8 runs × 8 settings; a History is ~0.1 MB


def _store() -> LRUStore:
    return shared_store("amp_runs", STORE_SIZE)


def cached_run(settings: Settings, run: str) -> History | None:
    return _store().get((settings, run))


def train_run(settings: Settings, run: str, on_step: Callable[[StepRecord], None] | None = None) -> History:
    """Train one run on ``settings.seed`` (or return the cached one). Same settings, same result:
    seeded. The loss weight and SGD's compensated learning rate come from the settings."""
    h = cached_run(settings, run)
    if h is not None:
        return h
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
    return _store().put((settings, run), h)
