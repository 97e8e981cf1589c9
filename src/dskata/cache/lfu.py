"""LFU eviction: the least frequently used entry goes first (ties: the least recently used).

Theory of operation
-------------------
The O(1) scheme of Shah, Mitra and Matani (2010): one ``OrderedDict`` of keys per use count,
in recency order, and the smallest count present. A use moves a key from bucket ``f`` to bucket
``f + 1``; the victim is the oldest key of the smallest bucket. Insertion and assignment count as
uses, as in cachetools. Counts are never aged: a formerly hot key stays until colder keys are
gone, which is LFU's known weakness on shifting workloads (W-TinyLFU ages its sketch instead).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["LFUCache"]

K = TypeVar("K")
V = TypeVar("V")


class LFUCache(PolicyCache[K, V]):
    """A cache that evicts the least frequently used entry, the least recent among ties.

    Args:
        maxsize: capacity, an int >= 0.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) per operation.

    Thread safety: none.

    >>> c = LFUCache(2)
    >>> c["a"] = 1; c["b"] = 2; c["a"], c["a"]
    (1, 1)
    >>> c["c"] = 3              # "b" was used once, "a" three times
    >>> sorted(c)
    ['a', 'c']
    """

    _name = "lfu"

    def __init__(
        self, maxsize: int, getsizeof: Callable[[V], float] | None = None, **kwargs: object
    ) -> None:
        super().__init__(maxsize, getsizeof, **kwargs)  # type: ignore[arg-type]
        self._count: dict[K, int] = {}
        self._buckets: dict[int, OrderedDict[K, None]] = {}
        self._min = 0

    def _on_hit(self, key: K) -> None:
        f = self._count[key]
        bucket = self._buckets[f]
        del bucket[key]
        if not bucket:
            del self._buckets[f]
            if self._min == f:
                self._min = f + 1
        self._count[key] = f + 1
        nxt = self._buckets.get(f + 1)
        if nxt is None:
            nxt = self._buckets[f + 1] = OrderedDict()
        nxt[key] = None

    def _on_insert(self, key: K) -> None:
        self._count[key] = 1
        bucket = self._buckets.get(1)
        if bucket is None:
            bucket = self._buckets[1] = OrderedDict()
        bucket[key] = None
        self._min = 1

    def _on_remove(self, key: K) -> None:
        f = self._count.pop(key)
        bucket = self._buckets[f]
        del bucket[key]
        if not bucket:
            del self._buckets[f]
            if self._min == f:
                self._min = min(self._buckets, default=0)

    def _victim(self) -> K:
        bucket = self._buckets[self._min]
        key = next(iter(bucket))
        self._on_remove(key)
        return key

    def _on_clear(self) -> None:
        self._count.clear()
        self._buckets.clear()
        self._min = 0

    def frequency(self, key: K) -> int:
        """How many times ``key`` was used while cached (0 if absent).

        >>> c = LFUCache(2); c["a"] = 1; c.frequency("a")
        1
        """
        return self._count.get(key, 0)

    def _policy_check(self) -> None:
        assert self._count.keys() == self._data.keys(), "counts and entries disagree"
        seen = 0
        for f, bucket in self._buckets.items():
            assert bucket, f"empty bucket {f} kept"
            for key in bucket:
                assert self._count[key] == f, f"{key!r} in bucket {f} has count {self._count[key]}"
            seen += len(bucket)
        assert seen == len(self._count)
        assert self._min == min(self._buckets, default=self._min), "min count is stale"
