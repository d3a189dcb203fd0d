"""Cached wrappers around quantlib for the pages.

Pure functions of hashable arguments (format *keys*, text, ints), so ``st.cache_data``
can memoize them across reruns and sessions.  A format key is a registry name
(``"float32"``) or a custom layout ``("custom", nexp, nmant, bias, nonfinite, signed)``;
:func:`resolve_format` turns either into a :class:`quantlib.FloatFormat`.

Nothing here formats text for display (that is the page's and :mod:`lab.core.display`'s job),
so cached results do not depend on the language; the exceptions are the Format Comparison
builders, whose figures and tables carry their words: they take ``lang`` (hashed) and the
translated ``_labels`` (not hashed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any

import functools
from typing import Union


import streamlit as st

from quantlib import FloatFormat, get_format


FormatKey = Union[str, tuple]

__all__ = ["FormatKey", "resolve_format", "LRUStore", "shared_store", "shared_figure"]


@functools.lru_cache(maxsize=512)
def resolve_format(key: FormatKey) -> FloatFormat:
    """The FloatFormat of a key; ValueError (FloatFormat's message) for an invalid layout.

    A custom key may carry a 7th element, the name the user gave it (the Format
    Comparison page): ``("custom", 4, 3, 7, "fn", True, "my8")``."""
    if isinstance(key, str):
        return get_format(key)
    tag, nexp, nmant, bias, nonfinite, signed, *name = key
    if tag != "custom" or len(name) > 1:
        raise ValueError(f"unknown format key {key!r}")
    return FloatFormat(nexp=nexp, nmant=nmant, bias=bias, nonfinite=nonfinite, signed=signed, name=name[0] if name else "")


class LRUStore:
    """A bounded, thread-safe store of results shared by every session: the most recently
    used ``size`` entries are kept (``put`` of the 65th evicts the least recently used of 64).

    For results that are too big or too slow for ``st.cache_data`` to pickle (a training
    history, a sensitivity sweep) and that pages fill as they compute them (live progress)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._items: OrderedDict = OrderedDict()
        self._lock = Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored under ``key`` (now the most recently used), else ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> Any:
        """Store ``value`` under ``key``, evicting the least recently used beyond ``size``; returns ``value``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items


@st.cache_resource(show_spinner=False)
def shared_store(name: str, size: int) -> LRUStore:
    """The process-wide :class:`LRUStore` called ``name`` (one per server, shared by sessions)."""
    return LRUStore(size)


@st.cache_resource(max_entries=96, show_spinner=False)
def shared_figure(name: str, key: Hashable, lang: str, _build) -> Any:
    """The chart ``name`` of ``key`` (the settings that fix it, e.g. a study's seeds) in ``lang``,
    built by ``_build()`` once for every session: st.cache_resource hands the same object to every
    rerun (st.plotly_chart only reads it; it is never modified).  A class opening /qat built its
    four charts once per student (about 70 ms of the server a visit); now once."""
    return _build()
