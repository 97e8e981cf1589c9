"""FIFO eviction: the oldest insertion goes first, whatever its use.

FIFO ignores hits entirely, which makes it the cheapest policy (no work on a hit, hence
trivially scalable) and the baseline that lazy-promotion policies (SIEVE, S3-FIFO) improve on.
Assigning to an existing key counts as a new insertion: it moves to the back, as in cachetools.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["FIFOCache"]

K = TypeVar("K")
V = TypeVar("V")


class FIFOCache(PolicyCache[K, V]):
    """A cache that evicts in insertion order; reads do not reorder, overwrites re-insert.

    Args:
        maxsize: capacity, an int >= 0.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) per operation.

    Thread safety: none.

    >>> c = FIFOCache(2)
    >>> c["a"] = 1; c["b"] = 2; c["a"]
    1
    >>> c["c"] = 3              # "a" is the oldest insertion, read or not
    >>> sorted(c)
    ['b', 'c']
    """

    _name = "fifo"

    def __init__(
        self, maxsize: int, getsizeof: Callable[[V], float] | None = None, **kwargs: object
    ) -> None:
        super().__init__(maxsize, getsizeof, **kwargs)  # type: ignore[arg-type]
        self._queue: OrderedDict[K, None] = OrderedDict()

    def _on_update(self, key: K) -> None:
        self._queue.move_to_end(key)

    def _on_insert(self, key: K) -> None:
        self._queue[key] = None

    def _on_remove(self, key: K) -> None:
        del self._queue[key]

    def _victim(self) -> K:
        return self._queue.popitem(last=False)[0]

    def _on_clear(self) -> None:
        self._queue.clear()

    def _access(self, key: K) -> bool:
        if key in self._data:
            return True
        return super()._access(key)

    def _policy_check(self) -> None:
        assert self._queue.keys() == self._data.keys(), "queue and entries disagree"
