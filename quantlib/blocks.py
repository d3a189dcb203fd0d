"""Granularity: how a tensor is cut into the groups that share one scale.

Three granularities, named as torchao and bitsandbytes name them:

==============  ========================  ============================  ======================
granularity     options                   x.shape -> scale shape        groups matrix
==============  ========================  ============================  ======================
per-tensor      axis=None, block_size=None  (4, 100) -> ()              (1, 400)
per-channel     axis=0                    (4, 100) -> (4,)              (4, 100)
per-block       block_size=32             (4, 100) -> (4, 4)            (16, 32), 28 pad/row
==============  ========================  ============================  ======================

Blocks run along the last axis; a row whose length is not a multiple of ``block_size`` ends
in a short block, padded with zeros to a full one (as microxcaling's ``_reshape_to_blocks``
does).  Zeros change neither an absmax nor a range that is extended to include 0, and
:attr:`Layout.counts` gives the real element count of every group for means, so the
padding is never counted as data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._parallel import CHUNK, run_parallel, shares, thread_count

__all__ = ["CHUNK", "Layout", "default_threads", "layout_for", "matrix_shape", "run_tiles"]


def _check_block_size(block_size) -> None:
    if block_size is None:
        return
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer (or None for no blocks), got {block_size!r}")


@dataclass(frozen=True)
class Layout:
    """The groups of a tensor of ``shape``: per-tensor, per-channel (``axis``) or per-block.

    ``groups(x)`` gives an ``(n_groups, group_len)`` matrix (a view when no copy is needed),
    ``ungroup(g)`` undoes it, ``expand(per_group)`` broadcasts one value per group to x's shape.
    """

    shape: tuple[int, ...]
    axis: int | None = None
    block_size: int | None = None

    def __post_init__(self) -> None:
        _check_block_size(self.block_size)
        if self.axis is not None and self.block_size is not None:
            raise ValueError("choose per-channel (axis) or per-block (block_size), not both")
        if self.axis is not None:
            if not self.shape:
                raise ValueError("a 0-d tensor has no channel axis")
            if not -len(self.shape) <= self.axis < len(self.shape):
                raise ValueError(f"axis {self.axis} is out of range for a tensor of shape {self.shape}")
            object.__setattr__(self, "axis", self.axis % len(self.shape))

    # ------------------------------------------------------------------ sizes
    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def kind(self) -> str:
        """``"tensor"``, ``"channel"`` or ``"block"``."""
        if self.block_size is not None:
            return "block"
        return "channel" if self.axis is not None else "tensor"

    @property
    def _rows(self) -> int:
        return matrix_shape(self.shape)[0]

    @property
    def _row_len(self) -> int:
        return matrix_shape(self.shape)[1]

    @property
    def blocks_per_row(self) -> int:
        """Blocks along the last axis (per-block only): ceil(L / block_size)."""
        if self.block_size is None:
            return 1
        return -(-self._row_len // self.block_size)

    @property
    def pad(self) -> int:
        """Zeros appended to every row to fill its last block (0 unless per-block)."""
        if self.block_size is None:
            return 0
        return self.blocks_per_row * self.block_size - self._row_len

    @property
    def n_groups(self) -> int:
        if self.kind == "block":
            return self._rows * self.blocks_per_row
        if self.kind == "channel":
            return self.shape[self.axis]
        return 1

    @property
    def group_len(self) -> int:
        """Columns of the groups matrix (block_size for blocks, padding included)."""
        if self.kind == "block":
            return self.block_size
        if self.kind == "channel":
            return self.size // max(1, self.shape[self.axis]) if self.shape[self.axis] else 0
        return self.size

    @property
    def scale_shape(self) -> tuple[int, ...]:
        """Shape of one-value-per-group arrays: () per tensor, (C,) per channel, x.shape[:-1] + (nb,) per block."""
        if self.kind == "block":
            return tuple(self.shape[:-1]) + (self.blocks_per_row,) if self.shape else (1,)
        if self.kind == "channel":
            return (self.shape[self.axis],)
        return ()

    @cached_property
    def counts(self) -> np.ndarray:
        """Real (unpadded) elements in each group, shape (n_groups,)."""
        c = np.full(self.n_groups, self.group_len, dtype=np.int64)
        if self.kind == "block" and self.pad:
            c.reshape(self._rows, self.blocks_per_row)[:, -1] -= self.pad
        return c

    # --------------------------------------------------------------- reshapes
    def groups(self, x: np.ndarray) -> np.ndarray:
        """The ``(n_groups, group_len)`` matrix of x (zero padded); a view when possible."""
        x = np.asarray(x)
        if x.shape != self.shape:
            raise ValueError(f"array of shape {x.shape} does not match the layout's shape {self.shape}")
        if self.kind == "tensor":
            return np.ascontiguousarray(x).reshape(1, -1)
        if self.kind == "channel":
            return np.ascontiguousarray(np.moveaxis(x, self.axis, 0)).reshape(self.n_groups, -1)
        rows = np.ascontiguousarray(x).reshape(self._rows, self._row_len)
        if self.pad:
            padded = np.zeros((self._rows, self.blocks_per_row * self.block_size), dtype=x.dtype)
            padded[:, : self._row_len] = rows
            rows = padded
        return rows.reshape(self.n_groups, self.block_size)

    def ungroup(self, g: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`groups`: drop the padding, restore x's shape (C-contiguous)."""
        g = np.asarray(g)
        if self.kind == "tensor":
            return g.reshape(self.shape)
        if self.kind == "channel":
            moved = (self.shape[self.axis],) + tuple(s for i, s in enumerate(self.shape) if i != self.axis)
            return np.ascontiguousarray(np.moveaxis(g.reshape(moved), 0, self.axis))
        rows = g.reshape(self._rows, self.blocks_per_row * self.block_size)
        if self.pad:
            rows = rows[:, : self._row_len]
        return np.ascontiguousarray(rows).reshape(self.shape)

    def expand(self, per_group) -> np.ndarray:
        """One value per group -> one per element of x (e.g. the scale of every element)."""
        v = np.asarray(per_group).reshape(self.n_groups, 1)
        return self.ungroup(np.broadcast_to(v, (self.n_groups, self.group_len)))

    def group_of(self, index) -> int:
        """Flat group number of the element at ``index`` (a tuple into x)."""
        index = tuple(index) if isinstance(index, (tuple, list)) else (index,)
        if len(index) != len(self.shape):
            raise ValueError(f"index {index!r} does not address an element of shape {self.shape}")
        idx = tuple(int(i) % s for i, s in zip(index, self.shape))
        if self.kind == "tensor":
            return 0
        if self.kind == "channel":
            return idx[self.axis]
        row = int(np.ravel_multi_index(idx[:-1], self.shape[:-1])) if len(self.shape) > 1 else 0
        return row * self.blocks_per_row + idx[-1] // self.block_size

    def group_size(self, group: int) -> int:
        """Real (unpadded) elements of group ``group``: (4, 100) in blocks of 32 -> 32, 32, 32, 4."""
        return int(self.counts[self._check_group(group)])

    def group_index(self, group: int) -> tuple:
        """Where group ``group`` lies, as a tagged tuple in the 2-D view of :func:`matrix_shape`:
        ``("block", row, c0, c1)`` (columns c0..c1-1 of that row), ``("channel", axis, index)``
        or ``("tensor",)``.  (4, 100) in blocks of 32: group 7 -> ("block", 1, 96, 100)."""
        g = self._check_group(group)
        if self.kind == "block":
            r, b = divmod(g, self.blocks_per_row)
            return ("block", r, b * self.block_size, min(self._row_len, (b + 1) * self.block_size))
        if self.kind == "channel":
            return ("channel", self.axis, g)
        return ("tensor",)

    def group_elements(self, x: np.ndarray, group: int, limit: int | None = None) -> np.ndarray:
        """The real elements of group ``group`` of ``x`` (any array of this shape), in group
        order (row of :meth:`groups` without padding), at most the first ``limit``; a view when
        possible.  Per channel (axis 1) of a (2, 3): group 1 -> ``x[:, 1]``."""
        x = np.asarray(x)
        if x.shape != self.shape:
            raise ValueError(f"array of shape {x.shape} does not match the layout's shape {self.shape}")
        where = self.group_index(group)
        n = self.group_size(group) if limit is None else min(int(limit), self.group_size(group))
        if where[0] == "block":
            _kind, r, c0, _c1 = where
            return x.reshape(matrix_shape(self.shape))[r, c0 : c0 + n]
        if where[0] == "channel":
            return np.take(x, where[2], axis=where[1]).reshape(-1)[:n]
        return x.reshape(-1)[:n]

    def _check_group(self, group: int) -> int:
        g = int(group)
        if not 0 <= g < self.n_groups:
            raise ValueError(f"group {group} out of range: this layout has {self.n_groups} groups")
        return g

    # ---------------------------------------------------------------- tiling
    def tiles(self, chunk: int = CHUNK) -> list[tuple[int, int, int, int]]:
        """Rectangles (g0, g1, c0, c1) of about ``chunk`` elements covering the groups matrix."""
        G, L = self.n_groups, self.group_len
        if G == 0 or L == 0:
            return []
        if L >= chunk:
            return [(g, g + 1, c, min(L, c + chunk)) for g in range(G) for c in range(0, L, chunk)]
        rows = max(1, chunk // L)
        return [(g, min(G, g + rows), 0, L) for g in range(0, G, rows)]


def matrix_shape(shape) -> tuple[int, int]:
    """The 2-D view blocks are cut from: (rows, last axis); a vector is one row, a scalar (1, 1).
    ``matrix_shape((3, 5, 40)) == (15, 40)``."""
    shape = tuple(int(s) for s in shape)
    if not shape:
        return (1, 1)
    return (math.prod(shape[:-1]), shape[-1])


def layout_for(shape, *, axis: int | None = None, block_size: int | None = None) -> Layout:
    """The :class:`Layout` of a tensor of ``shape`` for the given granularity."""
    return Layout(tuple(int(s) for s in shape), axis, block_size)


def default_threads(threads: int | None, n: int) -> int:
    """Worker threads for n elements (:func:`quantlib._parallel.thread_count`)."""
    return thread_count(n, threads)


def run_tiles(tiles: list, work, threads: int) -> None:
    """Call ``work(list_of_tiles)`` on contiguous shares of ``tiles``, one share per thread.

    Each call gets its own share so it can allocate its scratch buffers once.
    Floating-point warnings are silenced: padded or special lanes may overflow on the way.
    """
    run_parallel(shares(tiles, threads), work, quiet=True)
