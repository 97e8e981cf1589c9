"""Time-to-live caches: LRU eviction among entries that have not expired.

Theory of operation
-------------------
Each entry gets an expiry time ``now + ttl`` when it is stored (per cache, or per item with
:meth:`TTLCache.set`); it is dead from that instant on (alive while ``timer() < expiry``, as in
cachetools). Expiries sit in a min-heap; every operation first pops the entries whose time has
come, so a dead entry is never seen, counted in ``len`` or returned by iteration. Re-assigning a
key pushes a new heap record and leaves the old one to be skipped when it surfaces (lazy
deletion); the heap is rebuilt when stale records outnumber live ones, which keeps it O(n).
When the cache is full of live entries, the least recently used one goes.

Time is read from the injectable ``timer`` (``time.monotonic`` by default): tests and
simulations pass a fake clock, and the core never reads the wall clock on its own.
"""

from __future__ import annotations

import datetime
import heapq
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["TTLCache"]

K = TypeVar("K")
V = TypeVar("V")


def _check_ttl(ttl: object, name: str = "ttl") -> Any:
    if isinstance(ttl, datetime.timedelta):
        if ttl <= datetime.timedelta(0):
            raise ValueError(f"{name} must be positive, got {ttl!r}")
        return ttl
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(
            f"{name} must be a number > 0 or a timedelta, got {type(ttl).__name__} {ttl!r}"
        )
    if not ttl > 0:  # also rejects NaN
        raise ValueError(f"{name} must be > 0 (math.inf for never), got {ttl!r}")
    return ttl


class _Timer:
    """The cache's clock: callable, ``with cache.timer as now:`` freezes one instant for a block
    of operations (as in cachetools), and other attributes reach the wrapped clock."""

    __slots__ = ("_depth", "_frozen", "_timer")

    def __init__(self, timer: Callable[[], Any]) -> None:
        self._timer = timer
        self._depth = 0
        self._frozen: Any = None

    def __call__(self) -> Any:
        return self._frozen if self._depth else self._timer()

    def __enter__(self) -> Any:
        if self._depth == 0:
            self._frozen = self._timer()
        self._depth += 1
        return self._frozen

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._timer, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Timer, (self._timer,))


class TTLCache(PolicyCache[K, V]):
    """An LRU cache whose entries expire ``ttl`` time units after they are stored.

    Args:
        maxsize: capacity, an int >= 0.
        ttl: default time to live, > 0 (``math.inf`` for never), or a ``timedelta`` with a
            ``datetime`` clock.
        timer: zero-argument clock; ``time.monotonic`` by default. ``cache.timer`` wraps it:
            ``with cache.timer as now:`` runs several operations at one instant.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``, also called for expired entries.

    Complexity: O(log n) per insertion, O(1) per hit, O(log n) per expired entry.

    Thread safety: none.

    >>> now = [0.0]
    >>> c = TTLCache(10, ttl=5, timer=lambda: now[0])
    >>> c["a"] = 1
    >>> c.set("b", 2, ttl=1)
    >>> now[0] = 1.0
    >>> sorted(c)               # "b" lived for [0, 1)
    ['a']
    >>> now[0] = 5.0
    >>> len(c)
    0
    """

    _name = "ttl"

    def __init__(
        self,
        maxsize: int,
        ttl: Any,
        timer: Callable[[], Any] = time.monotonic,
        getsizeof: Callable[[V], float] | None = None,
        *,
        on_evict: Callable[[K, V], object] | None = None,
    ) -> None:
        self._ttl = _check_ttl(ttl)
        if not callable(timer):
            raise TypeError(f"timer must be callable, got {type(timer).__name__} {timer!r}")
        self._timer = _Timer(timer)
        super().__init__(maxsize, getsizeof=getsizeof, on_evict=on_evict)
        self._now: Any = self._timer()
        self._order: OrderedDict[K, None] = OrderedDict()
        self._expiry: dict[K, Any] = {}
        self._heap: list[tuple[Any, int, K]] = []
        self._seq = 0
        self._next_ttl: Any = None

    @property
    def ttl(self) -> Any:
        """The default time to live."""
        return self._ttl

    @property
    def timer(self) -> Any:
        """The clock: call it for the time, or ``with cache.timer as now:`` to freeze it."""
        return self._timer

    def set(self, key: K, value: V, *, ttl: Any = None) -> None:
        """Store ``value`` under ``key`` to live ``ttl`` time units (the cache's ttl if None).

        Complexity: O(log n).

        >>> c = TTLCache(2, ttl=60, timer=lambda: 0.0)
        >>> c.set("a", 1, ttl=3); c.expires_at("a")
        3.0
        """
        item_ttl = None if ttl is None else _check_ttl(ttl)
        self._next_ttl = item_ttl
        try:
            self[key] = value
        finally:
            self._next_ttl = None

    def expires_at(self, key: K) -> Any:
        """The time at which ``key`` expires; KeyError if absent."""
        self._before()
        return self._expiry[key]

    def expire(self, time: Any = None) -> list[tuple[K, V]]:
        """Remove the entries dead at ``time`` (now by default); return them, oldest first.

        Complexity: O(k log n) for k expired entries.
        """
        if time is None:
            time = self._now = self._timer()
        out: list[tuple[K, V]] = []
        heap, expiry = self._heap, self._expiry
        while heap and heap[0][0] <= time:
            when, _, key = heapq.heappop(heap)
            if key in expiry and expiry[key] == when:  # not a stale record
                del expiry[key]
                del self._order[key]
                out.append((key, self._drop(key)))
        self._evictions += len(out)
        self._notify(out)
        return out

    def _before(self) -> None:
        now = self._now = self._timer()
        heap = self._heap
        if heap and heap[0][0] <= now:
            self.expire(now)

    def _stamp(self, key: K) -> None:
        ttl = self._ttl if self._next_ttl is None else self._next_ttl
        when = self._now + ttl
        self._expiry[key] = when
        if isinstance(when, float) and math.isinf(when):
            return  # never expires: no heap record
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, key))
        if len(self._heap) > 2 * len(self._expiry) + 16:
            self._heap = [r for r in self._heap if self._expiry.get(r[2], r) == r[0]]
            heapq.heapify(self._heap)

    def _on_hit(self, key: K) -> None:
        self._order.move_to_end(key)

    def _on_update(self, key: K) -> None:
        self._order.move_to_end(key)
        self._stamp(key)

    def _on_insert(self, key: K) -> None:
        self._order[key] = None
        self._stamp(key)

    def _on_remove(self, key: K) -> None:
        del self._order[key]
        del self._expiry[key]

    def _victim(self) -> K:
        key, _ = self._order.popitem(last=False)
        del self._expiry[key]
        return key

    def _on_clear(self) -> None:
        self._order.clear()
        self._expiry.clear()
        self._heap.clear()

    def _shared(self) -> list[object]:
        # A copy reads the same clock (cachetools' _Timer.__copy__ does the same).
        return [*super()._shared(), self._timer._timer]

    def _remembered(self) -> list[object]:
        # Stale heap records name keys that may no longer be cached.
        return [record[2] for record in self._heap]

    def _policy_check(self) -> None:
        assert self._order.keys() == self._data.keys() == self._expiry.keys()
        recorded = {k for w, _, k in self._heap if k in self._expiry and self._expiry[k] == w}
        for key, when in self._expiry.items():
            assert when > self._now, f"{key!r} expired at {when} but is still cached"
            never = isinstance(when, float) and math.isinf(when)
            assert never or key in recorded, f"{key!r} has no heap record"
