"""classify and all_values: every code of a format and its kind."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formats import FloatFormat, get_format
from ._decode import decode


# --------------------------------------------------------------------- tables
def classify(codes, fmt: FloatFormat | str) -> np.ndarray:
    """Index into :data:`KINDS` for each code: 0 zero, 1 subnormal, 2 normal, 3 inf, 4 nan."""
    fmt = get_format(fmt)
    c = np.asarray(codes).astype(np.uint64)
    mag = c & np.uint64(fmt.mag_mask)
    ef = mag >> np.uint64(fmt.nmant)
    m = mag & np.uint64((1 << fmt.nmant) - 1)
    kind = np.full(c.shape, 2, np.int8)
    if fmt.has_zero:
        kind[(ef == 0) & (m != 0)] = 1
        kind[mag == 0] = 0
    if fmt.nonfinite == "ieee":
        top = ef == np.uint64((1 << fmt.nexp) - 1)
        kind[top & (m == 0)] = 3
        kind[top & (m != 0)] = 4
    elif fmt.nonfinite == "fn":
        kind[mag == np.uint64(fmt.mag_mask)] = 4
    elif fmt.nonfinite == "fnuz":
        kind[c == np.uint64(fmt.sign_mask)] = 4
    return kind


@dataclass(frozen=True)
class AllValues:
    """Every code of a format with its exact value and class, in code order."""

    codes: np.ndarray
    values: np.ndarray
    kinds: np.ndarray  # index into KINDS

    def finite_sorted(self) -> np.ndarray:
        """The distinct finite values in increasing order (±0 once)."""
        v = self.values[np.isfinite(self.values)]
        return np.unique(v)


def all_values(fmt: FloatFormat | str) -> AllValues:
    """Every code of a format of at most 16 bits with its value: ``all_values("float4_e2m1fn")``
    has 16 codes, values 0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, ... -6."""
    fmt = get_format(fmt)
    if fmt.bits > 16:
        raise ValueError(f"{fmt.name} has {fmt.bits} bits: all_values lists formats of at most 16 bits ({1 << fmt.bits:,} codes would be too many)")
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    return AllValues(codes=codes, values=decode(codes, fmt), kinds=classify(codes, fmt))
