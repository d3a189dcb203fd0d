"""The UCI handwritten digits (8×8, 1,797 images) as a deterministic stratified split.

The file ``quantlib/data/digits.csv.gz`` is scikit-learn's bundled copy, byte for byte (CC BY 4.0,
see ``quantlib/data/LICENSE-digits``): one row per image, 64 pixels 0..16 then the label.
Pixels are scaled by 1/16 into [0, 1] (every value k/16 is exact in float16, bfloat16 and E4M3).

>>> d = load_digits()
>>> d.x_train.shape, d.x_test.shape          # 20 % of each class held out
((1438, 64), (359, 64))
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["DIGITS_FILE", "Digits", "load_digits", "read_digits"]

DIGITS_FILE = Path(__file__).resolve().parent.parent / "data" / "digits.csv.gz"
N_IMAGES = 1797
N_PIXELS = 64
N_CLASSES = 10
SOURCE = (
    "UCI ML Repository, Optical Recognition of Handwritten Digits "
    "(E. Alpaydin & C. Kaynak, 1998), CC BY 4.0; scikit-learn's bundled copy"
)


@dataclass(frozen=True)
class Digits:
    """A train/test split: x in [0, 1] as float32 (N, 64), y the digit as int64 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = SOURCE

    @property
    def n_classes(self) -> int:
        return N_CLASSES


@lru_cache(maxsize=1)
def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images as (pixels 0..16 float32 (1797, 64), labels int64), read-only, file order."""
    with gzip.open(DIGITS_FILE, "rt", encoding="ascii") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if table.shape != (N_IMAGES, N_PIXELS + 1):
        raise ValueError(f"{DIGITS_FILE.name}: expected {N_IMAGES} rows of {N_PIXELS + 1} integers, got {table.shape}")
    pixels = table[:, :N_PIXELS].astype(np.float32)
    labels = table[:, N_PIXELS].copy()
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() >= N_CLASSES:
        raise ValueError(f"{DIGITS_FILE.name}: pixels must be 0..16 and labels 0..9")
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Digits:
    """Stratified split: from each class, round(test_fraction × its count) images go to the test set.

    Class 0 has 178 images, so with test_fraction=0.2 it gives 36 to the test set and keeps 142.
    The same (test_fraction, seed) always gives the same split; the arrays are read-only.
    """
    test_fraction = float(test_fraction)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    return _split(test_fraction, int(seed))


@lru_cache(maxsize=16)
def _split(test_fraction: float, seed: int) -> Digits:
    pixels, labels = read_digits()
    rng = np.random.default_rng(seed)
    test_idx, train_idx = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(test_fraction * idx.size))
        if n_test == 0 or n_test == idx.size:
            raise ValueError(f"test_fraction={test_fraction} leaves class {c} without train or test images")
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    # interleave classes deterministically (the loop shuffles batches itself)
    train = np.sort(np.concatenate(train_idx))
    test = np.sort(np.concatenate(test_idx))
    x = pixels / np.float32(16.0)

    def ro(a):
        a = np.ascontiguousarray(a)
        a.flags.writeable = False
        return a

    return Digits(x_train=ro(x[train]), y_train=ro(labels[train]), x_test=ro(x[test]), y_test=ro(labels[test]))
