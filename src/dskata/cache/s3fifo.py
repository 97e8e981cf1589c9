"""S3-FIFO eviction (Yang, Zhang, Qiu, Yue, Vinayak, "FIFO queues are all you need for cache
eviction", SOSP 2023).

Theory of operation
-------------------
Most objects in skewed workloads are requested once in a short window ("one-hit wonders"), so
S3-FIFO demotes new objects quickly instead of letting them age through the whole cache:

* a *small* FIFO ``S`` (10% of the capacity) receives new keys;
* a *main* FIFO ``M`` (the rest) holds keys that proved themselves;
* a *ghost* FIFO ``G`` remembers keys (no values) recently evicted from ``S``, as many as ``M``
  can hold; a miss on a ghost key inserts it straight into ``M``.

Each entry has a small frequency counter (0..3), incremented by hits and never reordering
anything (lazy promotion). To make room, S3-FIFO evicts from ``S`` while ``S`` is at or over its
share, else from ``M`` (§4.1, Algorithm 1):

* the tail of ``S`` moves to ``M`` if it was hit at least ``move_threshold`` times while in
  ``S`` (counter reset), otherwise it leaves the cache and its key enters ``G``;
* the tail of ``M`` is re-inserted at ``M``'s head with its counter decremented if the counter is
  positive, otherwise it leaves the cache.

Sizes are in ``getsizeof`` units for ``S`` and ``M``; the ghost queue counts keys.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["S3FIFOCache"]

K = TypeVar("K")
V = TypeVar("V")

_MAX_FREQ = 3


class S3FIFOCache(PolicyCache[K, V]):
    """A cache evicting by S3-FIFO: small, main and ghost FIFO queues.

    Args:
        maxsize: capacity, an int >= 0.
        small_ratio: the small queue's share of the capacity, in (0, 1) (paper: 0.1).
        move_threshold: hits in the small queue needed to move to the main one, in 1..3.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) amortised per operation (each re-insertion spends a counter unit that a hit
    paid for).

    Thread safety: none.

    >>> c = S3FIFOCache(10)
    >>> for k in range(10): c[k] = k
    >>> c[0]
    0
    >>> c[10] = 10              # 0 was hit in the small queue: it moves to main, 1 is evicted
    >>> 0 in c, 1 in c
    (True, False)
    """

    _name = "s3fifo"

    def __init__(
        self,
        maxsize: int,
        *,
        small_ratio: float = 0.1,
        move_threshold: int = 1,
        getsizeof: Callable[[V], float] | None = None,
        on_evict: Callable[[K, V], object] | None = None,
    ) -> None:
        if isinstance(small_ratio, bool) or not isinstance(small_ratio, (int, float)):
            raise TypeError(f"small_ratio must be a float in (0, 1), got {small_ratio!r}")
        if not 0 < small_ratio < 1:
            raise ValueError(f"small_ratio must be in (0, 1), got {small_ratio!r}")
        if isinstance(move_threshold, bool) or not isinstance(move_threshold, int):
            raise TypeError(f"move_threshold must be an int in 1..3, got {move_threshold!r}")
        if not 1 <= move_threshold <= _MAX_FREQ:
            raise ValueError(f"move_threshold must be in 1..3, got {move_threshold}")
        super().__init__(maxsize, getsizeof=getsizeof, on_evict=on_evict)
        self._small_ratio = float(small_ratio)
        self._threshold = move_threshold
        self._small: OrderedDict[K, None] = OrderedDict()
        self._main: OrderedDict[K, None] = OrderedDict()
        self._ghost: OrderedDict[K, None] = OrderedDict()
        self._freq: dict[K, int] = {}
        self._small_size: float = 0
        self._to_main = False
        self._resized()

    def _resized(self) -> None:
        self._small_target = self._small_ratio * self._maxsize
        # The ghost remembers as many keys as the main queue holds entries (§4.1).
        self._ghost_max = max(1, self._maxsize - int(self._small_target))
        while len(self._ghost) > self._ghost_max:
            self._ghost.popitem(last=False)

    def small_keys(self) -> list[K]:
        """Keys in the small queue, oldest first (for teaching and debugging).

        >>> c = S3FIFOCache(10); c["a"] = 1; c.small_keys(), c.main_keys(), c.ghost_keys()
        (['a'], [], [])
        """
        return list(self._small)

    def main_keys(self) -> list[K]:
        """Keys in the main queue, oldest first."""
        return list(self._main)

    def ghost_keys(self) -> list[K]:
        """Keys remembered by the ghost queue (no values), oldest first."""
        return list(self._ghost)

    def frequency(self, key: K) -> int:
        """The 2-bit access counter of a cached ``key`` (0..3); KeyError if absent."""
        return self._freq[key]

    def _on_hit(self, key: K) -> None:
        f = self._freq[key]
        if f < _MAX_FREQ:
            self._freq[key] = f + 1

    def _on_admit(self, key: K) -> None:
        self._to_main = key in self._ghost
        if self._to_main:
            del self._ghost[key]

    def _on_insert(self, key: K) -> None:
        self._freq[key] = 0
        if self._to_main:
            self._main[key] = None
        else:
            self._small[key] = None
            self._small_size += self._size(key)

    def _on_remove(self, key: K) -> None:
        del self._freq[key]
        if key in self._small:
            del self._small[key]
            self._small_size -= self._size(key)
        else:
            del self._main[key]

    def _on_resize(self, key: K, delta: float) -> None:
        if key in self._small:
            self._small_size += delta

    def _remembered(self) -> list[object]:
        return list(self._ghost)

    def _victim(self) -> K:
        while True:
            if self._small and (self._small_size >= self._small_target or not self._main):
                key = self._evict_small()
            else:
                key = self._evict_main()
            if key is not None:
                return key

    def _evict_small(self) -> K | None:
        key, _ = self._small.popitem(last=False)
        self._small_size -= self._size(key)
        if self._freq[key] >= self._threshold:
            self._freq[key] = 0
            self._main[key] = None
            return None  # moved, not evicted; the caller evicts from M if needed next round
        del self._freq[key]
        ghost = self._ghost
        ghost[key] = None
        if len(ghost) > self._ghost_max:
            ghost.popitem(last=False)
        return key

    def _evict_main(self) -> K | None:
        main, freq = self._main, self._freq
        while True:
            key, _ = main.popitem(last=False)
            f = freq[key]
            if f > 0:
                freq[key] = f - 1
                main[key] = None
            else:
                del freq[key]
                return key

    def _on_clear(self) -> None:
        self._small.clear()
        self._main.clear()
        self._ghost.clear()
        self._freq.clear()
        self._small_size = 0

    def _access(self, key: K) -> bool:
        freq = self._freq
        f = freq.get(key)
        if f is not None:
            if f < _MAX_FREQ:
                freq[key] = f + 1
            return True
        return super()._access(key)

    def _policy_check(self) -> None:
        small, main = self._small.keys(), self._main.keys()
        assert not (small & main), "a key is in both S and M"
        assert (small | main) == self._data.keys() == self._freq.keys()
        assert not (self._ghost.keys() & self._data.keys()), "a cached key is also a ghost"
        assert len(self._ghost) <= self._ghost_max, "the ghost queue is unbounded"
        assert all(0 <= f <= _MAX_FREQ for f in self._freq.values())
        expect = sum(self._size(k) for k in self._small)
        assert abs(expect - self._small_size) <= 1e-9 * max(1.0, expect), "S size drifted"
