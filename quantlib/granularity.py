"""Granularity as a value, as torchao's ``PerTensor`` / ``PerAxis`` / ``PerBlock``.

A scheme's :attr:`~quantlib.schemes.Scheme.granularity` says which elements share one scale;
``g.layout(shape)`` is the :class:`~quantlib.blocks.Layout` of a tensor of that shape::

    >>> parse_scheme("nf4:block=64").granularity
    PerBlock(size=64, axis=-1)
    >>> PerBlock(32).layout((4, 100)).n_groups      # 4 rows x ceil(100 / 32) blocks
    16

In a scheme's string form they are the options ``block=B`` and ``axis=k`` (neither: per
tensor); ``str(g)`` prints that option (``"block=64"``, ``"axis=1"``, ``"tensor"``) and
:func:`parse_granularity` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blocks import Layout, layout_for

__all__ = ["Granularity", "PerAxis", "PerBlock", "PerTensor", "granularity_of", "parse_granularity"]


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


@dataclass(frozen=True)
class PerTensor:
    """One scale for the whole tensor: (4, 100) -> 1 group of 400."""

    def layout(self, shape) -> Layout:
        return layout_for(shape)

    def __str__(self) -> str:
        return "tensor"


@dataclass(frozen=True)
class PerAxis:
    """One scale per index along ``axis``: axis 0 of (4, 100) -> 4 groups of 100."""

    axis: int

    def __post_init__(self) -> None:
        if not _is_int(self.axis):
            raise ValueError(f"axis must be an integer, got {self.axis!r}")

    def layout(self, shape) -> Layout:
        return layout_for(shape, axis=int(self.axis))

    def __str__(self) -> str:
        return f"axis={self.axis}"


@dataclass(frozen=True)
class PerBlock:
    """One scale per ``size`` consecutive elements along the last axis (the only ``axis``
    supported, -1); a short last block is zero padded: (4, 100), size 32 -> 16 groups."""

    size: int
    axis: int = -1

    def __post_init__(self) -> None:
        if not _is_int(self.size) or self.size < 1:
            raise ValueError(f"block_size must be a positive integer (or None for no blocks), got {self.size!r}")
        if self.axis != -1:
            raise ValueError(f"blocks run along the last axis (axis=-1), got axis={self.axis!r}")

    def layout(self, shape) -> Layout:
        return layout_for(shape, block_size=int(self.size))

    def __str__(self) -> str:
        return f"block={self.size}"


Granularity = PerTensor | PerAxis | PerBlock


def granularity_of(axis: int | None = None, block_size: int | None = None) -> Granularity:
    """The granularity of the options ``axis`` / ``block_size``: (None, 64) -> PerBlock(64)."""
    if axis is not None and block_size is not None:
        raise ValueError("choose per-channel (axis) or per-block (block_size), not both")
    if block_size is not None:
        return PerBlock(block_size)
    if axis is not None:
        return PerAxis(axis)
    return PerTensor()


def parse_granularity(text: str) -> Granularity:
    """``"block=64"`` -> PerBlock(64), ``"axis=1"`` -> PerAxis(1), ``"tensor"`` (or "") -> PerTensor()."""
    t = text.strip().lower()
    if t in ("", "tensor"):
        return PerTensor()
    key, eq, val = t.partition("=")
    if eq and key.strip() in ("block", "axis"):
        try:
            n = int(val)
        except ValueError:
            raise ValueError(f"granularity {text!r}: expected an integer after '='") from None
        return PerBlock(n) if key.strip() == "block" else PerAxis(n)
    raise ValueError(f"unknown granularity {text!r}; expected 'tensor', 'axis=k' or 'block=B'")
