"""Rounding modes and code classes shared by the vectorized codec and the scalar exact module."""

from __future__ import annotations

from typing import Literal

__all__ = ["Rounding", "ROUNDING_MODES", "Kind", "KINDS", "check_rounding"]

Rounding = Literal["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "stochastic"]
ROUNDING_MODES: tuple[str, ...] = (
    "nearest_even",  # IEEE 754 roundTiesToEven: 2.5 → 2, 3.5 → 4 (on the significand)
    "nearest_away",  # roundTiesToAway: 2.5 → 3
    "toward_zero",  # truncate: 2.9 → 2, -2.9 → -2
    "toward_positive",  # ceiling: 2.1 → 3, -2.9 → -2
    "toward_negative",  # floor: 2.9 → 2, -2.1 → -3
    "stochastic",  # 2.3 → 3 with probability 0.3, else 2
)

Kind = Literal["zero", "subnormal", "normal", "inf", "nan"]
KINDS: tuple[str, ...] = ("zero", "subnormal", "normal", "inf", "nan")


def check_rounding(rounding: str) -> None:
    """ValueError naming the valid modes when ``rounding`` is not one of them."""
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; choose one of {', '.join(ROUNDING_MODES)}")
