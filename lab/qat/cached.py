"""Cached work of the quantization-aware training page (``/qat``).

The float32 network every method starts from (trained once per seed, read only) and a whole
study (PTQ at every bit width, the QAT fine-tunes, the weight families), keyed by its
:class:`~quantlib.train.qat.QATSettings` (a frozen dataclass), go through the shared result
cache (:func:`lab.core.results.compute`: memory, disk, one job per key on the worker pool), so
every session and every restart reuses them; while a study trains, its records are replayed to
the page's ``on_progress`` (the live progress bar and loss chart).  :data:`MISSES` counts the
computations really done (tests use it).
"""

from __future__ import annotations

import collections

import numpy as np
import streamlit as st

from lab.core.results import compute, lookup

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


def float_network(seed: int = 0):
    """The float32-trained network (read only) of ``seed``: the start of every method."""
    params = compute("qat_float", (int(seed), tuple(sorted(BASE.items()))), lambda report: _train_float(int(seed)), memory=8)
    for p in params:
        for v in p.values():
            v.flags.writeable = False
    return params


def _train_float(seed: int):
    MISSES["float_network"] += 1
    return train_float(data(), seed=seed, **BASE)


def cached_study(settings: QATSettings) -> Study | None:
    """The stored study of these settings, or None."""
    return lookup("qat_study", settings)


def study(settings: QATSettings, on_progress=None) -> Study:
    """The study of ``settings`` (stored: a second call is instant).  ``on_progress`` gets the
    records of :func:`quantlib.train.qat.run_study` while it trains."""
    return compute("qat_study", settings, lambda report: _run_study(settings, report), on_event=on_progress, memory=_MAX_STUDIES)


def _run_study(settings: QATSettings, report) -> Study:
    MISSES["study"] += 1
    return run_study(float_network(settings.seed), data(), settings, on_progress=report)


def float_accuracy(seed: int) -> float:
    from quantlib.train import nn

    d = data()
    return nn.evaluate(float_network(seed), d.x_test, d.y_test)[0]


def weights(seed: int) -> list[np.ndarray]:
    return [p["W"] for p in float_network(seed)]
