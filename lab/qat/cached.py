"""Cached work of the quantization-aware training page (``/qat``).

The float32 network every method starts from is a *resource* (``st.cache_resource``: trained
once per seed and shared by every session, read only).  A whole study (PTQ at every bit width,
the QAT fine-tunes, the weight families) is memoized in a small resource-held store keyed by
its :class:`~quantlib.train.qat.QATSettings` (a frozen dataclass) instead of ``st.cache_data``,
so that the run can drive the page's live progress bar and loss chart through a callback; a
rerun with the same settings returns the stored study at once.  :data:`MISSES` counts the
computations really done (tests use it).
"""

from __future__ import annotations

import collections

import numpy as np
import streamlit as st

from lab.core.cached import LRUStore, shared_store

from quantlib.train import load_digits
from quantlib.train.qat import QATSettings, Study, run_study, train_float

__all__ = ["BASE", "MISSES", "cached_study", "data", "float_network", "study"]

BASE = {"sizes": (64, 128, 10), "epochs": 20, "lr": 1e-2, "batch_size": 64}
"""The float32 network: 64-128-10 MLP, Adam lr 0.01, 20 epochs of batch 64 (amp's ``train``)."""

MISSES: collections.Counter = collections.Counter()
_MAX_STUDIES = 24


@st.cache_resource(show_spinner=False)
def data():
    return load_digits()


@st.cache_resource(show_spinner=False)
def float_network(seed: int = 0):
    """The float32-trained network (read only) of ``seed``: the start of every method."""
    MISSES["float_network"] += 1
    params = train_float(data(), seed=int(seed), **BASE)
    for p in params:
        for v in p.values():
            v.flags.writeable = False
    return params


def _store() -> LRUStore:
    return shared_store("qat_studies", _MAX_STUDIES)


def cached_study(settings: QATSettings) -> Study | None:
    """The stored study of these settings, or None."""
    return _store().get(settings)


def study(settings: QATSettings, on_progress=None) -> Study:
    """The study of ``settings`` (stored: a second call is instant).  ``on_progress`` gets the
    records of :func:`quantlib.train.qat.run_study` while it trains."""
    s = cached_study(settings)
    if s is not None:
        return s
    MISSES["study"] += 1
    result = run_study(float_network(settings.seed), data(), settings, on_progress=on_progress)
    return _store().put(settings, result)


def float_accuracy(seed: int) -> float:
    from quantlib.train import nn

    d = data()
    return nn.evaluate(float_network(seed), d.x_test, d.y_test)[0]


def weights(seed: int) -> list[np.ndarray]:
    return [p["W"] for p in float_network(seed)]
