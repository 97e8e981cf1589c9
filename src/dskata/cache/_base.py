"""The mapping machinery shared by every eviction policy except LRU (which is hand-tuned).

Theory of operation
-------------------
A policy decides two things only: what happens to its bookkeeping when a key is read, written,
inserted or removed, and which key to evict next. :class:`PolicyCache` owns everything else: the
``dict`` of values, sizes (``getsizeof``), statistics, the ``on_evict`` callback, validation and
the ``MutableMapping`` API, so each policy module is a handful of hooks:

* ``_on_hit(key)`` / ``_on_miss(key)``: a lookup found ``key`` / did not;
* ``_on_update(key)``: an existing key was assigned (defaults to a hit);
* ``_on_resize(key, delta)``: an existing key was assigned a value whose size differs by
  ``delta``, just before ``_on_update`` (``key``'s new size is already recorded): a policy that
  keeps per-segment size totals adjusts them here;
* ``_on_admit(key)``: a new key is about to be inserted, before any eviction (ARC adapts its
  target here; S3-FIFO checks its ghost queue);
* ``_on_insert(key)``: the new key is now stored;
* ``_on_remove(key)``: ``del``/``pop`` removed ``key`` (not an eviction);
* ``_victim()``: choose the key to evict and drop it from the policy's bookkeeping;
* ``_remembered()``: keys the policy holds besides the cached ones (ghosts, stale records), so
  that :meth:`PolicyCache.copy` shares them instead of deep-copying them;
* ``_policy_check()``: assert the policy's invariants.

Values are stored before the evictions they cause and ``on_evict`` runs last, so a callback
sees (and may raise on) a consistent cache. A value larger than ``maxsize`` is refused with
:class:`ValueError` before anything changes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, ClassVar, Generic, TypeVar, overload

from dskata.cache._common import MISSING, CacheInfo, check_callable, check_maxsize, check_size

__all__ = ["PolicyCache"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class PolicyCache(MutableMapping[K, V], Generic[K, V]):
    """Base class of the eviction policies: a size-bounded ``MutableMapping``.

    Args:
        maxsize: capacity, an int >= 0 (entries, or ``getsizeof`` units).
        getsizeof: ``getsizeof(value) -> number``; every entry weighs 1 when None.
        on_evict: ``on_evict(key, value)`` after a policy eviction.

    Complexity: O(1) per operation plus the policy's work.

    Thread safety: none; guard a shared cache with a lock (or use ``cached(..., lock=...)``).
    """

    _name: ClassVar[str] = "policy"
    _sized_ok: ClassVar[bool] = True

    def __init__(
        self,
        maxsize: int,
        getsizeof: Callable[[V], float] | None = None,
        *,
        on_evict: Callable[[K, V], object] | None = None,
    ) -> None:
        check_maxsize(maxsize)
        check_callable(getsizeof, "getsizeof")
        check_callable(on_evict, "on_evict")
        if getsizeof is not None and not self._sized_ok:
            raise TypeError(f"{type(self).__name__} does not support getsizeof (unit sizes only)")
        self._maxsize = maxsize
        self._getsizeof = getsizeof
        self._on_evict = on_evict
        self._data: dict[K, V] = {}
        # Sized mode when a getsizeof is given or a subclass overrides the getsizeof method.
        sized = getsizeof is not None or type(self).getsizeof is not PolicyCache.getsizeof
        if sized and not self._sized_ok:
            raise TypeError(f"{type(self).__name__} does not support getsizeof (unit sizes only)")
        self._sizes: dict[K, float] | None = {} if sized else None
        self._currsize: float = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._custom_popitem = type(self).popitem is not PolicyCache.popitem

    # -- policy hooks ---------------------------------------------------------------------------

    def _on_hit(self, key: K) -> None:
        pass

    def _on_miss(self, key: K) -> None:
        pass

    def _on_update(self, key: K) -> None:
        self._on_hit(key)

    def _on_resize(self, key: K, delta: float) -> None:
        pass

    def _on_admit(self, key: K) -> None:
        pass

    @abstractmethod
    def _on_insert(self, key: K) -> None:
        """Policy hook: every policy implements it."""

    @abstractmethod
    def _on_remove(self, key: K) -> None:
        """Policy hook: every policy implements it."""

    @abstractmethod
    def _victim(self) -> K:
        """Policy hook: every policy implements it."""

    @abstractmethod
    def _on_clear(self) -> None:
        """Policy hook: every policy implements it."""

    def _policy_check(self) -> None:
        pass

    def _remembered(self) -> list[object]:
        return []

    def _before(self) -> None:
        """Called first by every public operation (``TTLCache`` expires entries here)."""

    # -- helpers --------------------------------------------------------------------------------

    def _size(self, key: K) -> float:
        return 1 if self._sizes is None else self._sizes[key]

    def _store(self, key: K, value: V, size: float) -> None:
        self._data[key] = value
        if self._sizes is not None:
            self._sizes[key] = size
        self._currsize += size

    def _drop(self, key: K) -> V:
        value = self._data.pop(key)
        self._currsize -= 1 if self._sizes is None else self._sizes.pop(key)
        return value

    def _evict_until(self, fits: Callable[[], bool]) -> list[tuple[K, V]]:
        evicted: list[tuple[K, V]] = []
        while not fits() and self._data:
            if self._custom_popitem:
                evicted.append(self.popitem())
            else:
                key = self._victim()
                evicted.append((key, self._drop(key)))
            self._evictions += 1
        return evicted

    def _notify(self, evicted: list[tuple[K, V]]) -> None:
        if self._on_evict is not None:
            for key, value in evicted:
                self._on_evict(key, value)

    def _access(self, key: K) -> bool:
        """Simulation fast path: a read that inserts ``key`` (value None) on a miss."""
        if key in self._data:
            self._on_hit(key)
            return True
        self._on_miss(key)
        self._insert_new(key, None, 1)  # type: ignore[arg-type]
        return False

    def _insert_new(self, key: K, value: V, size: float) -> list[tuple[K, V]]:
        self._on_admit(key)
        maxsize = self._maxsize
        evicted = self._evict_until(lambda: self._currsize + size <= maxsize)
        self._store(key, value, size)
        self._on_insert(key)
        return evicted

    # -- the mapping API ------------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        self._before()
        value = self._data.get(key, MISSING)
        if value is MISSING:
            self._misses += 1
            self._on_miss(key)
            return self.__missing__(key)
        self._on_hit(key)
        self._hits += 1
        return value  # type: ignore[no-any-return]

    def __missing__(self, key: K) -> V:
        raise KeyError(key)

    @overload
    def get(self, key: K, default: None = None) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T) -> V | T: ...

    def get(self, key: K, default: object = None) -> object:
        """The value of ``key`` (a hit, with the policy's bookkeeping), else ``default``.

        Complexity: O(1) plus the policy's hit work.

        >>> from dskata.cache import FIFOCache
        >>> c = FIFOCache(2); c["a"] = 1
        >>> c.get("a"), c.get("b", 0), c.info().hits
        (1, 0, 1)
        """
        self._before()
        value = self._data.get(key, MISSING)
        if value is MISSING:
            self._misses += 1
            self._on_miss(key)
            return default
        self._on_hit(key)
        self._hits += 1
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._before()
        size: float = 1
        if self._sizes is not None:
            size = check_size(self.getsizeof(value), value)
        if size > self._maxsize:
            raise ValueError(f"value too large: size {size} > maxsize {self._maxsize}")
        evicted: list[tuple[K, V]] = []
        if key in self._data:
            maxsize = self._maxsize
            # A value that grew past the free space makes room as cachetools does: the policy
            # evicts until it fits, and may pick this very key (then it returns as a new entry).
            # If the key survives, it keeps its history (an LFU count, a FIFO position...).
            evicted = self._evict_until(
                lambda: (
                    self._currsize - (self._size(key) if key in self._data else 0) + size <= maxsize
                )
            )
            if key in self._data:
                old = self._size(key)
                self._data[key] = value
                if self._sizes is not None:
                    self._sizes[key] = size
                self._currsize += size - old
                if size != old:
                    self._on_resize(key, size - old)
                self._on_update(key)
                self._notify(evicted)
                return
        self._notify(evicted + self._insert_new(key, value, size))

    def __delitem__(self, key: K) -> None:
        self._before()
        if key not in self._data:
            raise KeyError(key)
        self._on_remove(key)
        self._drop(key)

    def __contains__(self, key: object) -> bool:
        self._before()
        return key in self._data

    def __len__(self) -> int:
        self._before()
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        self._before()
        return iter(self._data)

    def keys(self) -> KeysView[K]:
        """The keys, in insertion order (no bookkeeping)."""
        self._before()
        return self._data.keys()

    def values(self) -> ValuesView[V]:
        """The values, in insertion order (no bookkeeping)."""
        self._before()
        return self._data.values()

    def items(self) -> ItemsView[K, V]:
        """The ``(key, value)`` pairs, in insertion order (no bookkeeping)."""
        self._before()
        return self._data.items()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._data!r}, maxsize={self._maxsize!r}, "
            f"currsize={self.currsize!r})"
        )

    @overload
    def pop(self, key: K) -> V: ...
    @overload
    def pop(self, key: K, default: V | T) -> V | T: ...

    def pop(self, key: K, default: object = MISSING) -> object:
        """Remove ``key`` and return its value (not a lookup), else ``default`` or KeyError.

        Complexity: O(1).
        """
        self._before()
        if key in self._data:
            self._on_remove(key)
            return self._drop(key)
        if default is MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Remove and return the entry the policy would evict next; KeyError when empty.

        Complexity: amortised O(1) (the policy's eviction work).

        >>> from dskata.cache import FIFOCache
        >>> c = FIFOCache(2); c["a"] = 1; c["b"] = 2
        >>> c.popitem()
        ('a', 1)
        """
        self._before()
        if not self._data:
            # "from None", as MutableMapping.popitem and cachetools: no exception context.
            raise KeyError(f"{type(self).__name__} is empty") from None
        key = self._victim()
        return key, self._drop(key)

    def setdefault(self, key: K, default: V = None) -> V:  # type: ignore[assignment]
        """``cache[key]`` if present (a hit), else store ``default`` (a miss) and return it.

        Complexity: O(1) plus the policy's work.
        """
        self._before()
        value = self._data.get(key, MISSING)
        if value is not MISSING:
            self._on_hit(key)
            self._hits += 1
            return value  # type: ignore[no-any-return]
        self._on_miss(key)
        self[key] = default
        self._misses += 1
        return default

    def clear(self) -> None:
        """Remove every entry and the policy's history (not evictions); statistics are kept.

        Complexity: O(n).
        """
        self._data.clear()
        if self._sizes is not None:
            self._sizes.clear()
        self._currsize = 0
        self._on_clear()

    def peek(self, key: K, default: V | None = None) -> V | None:
        """The value of ``key`` without bookkeeping or statistics, else ``default``.

        Complexity: O(1).
        """
        self._before()
        return self._data.get(key, default)

    @property
    def maxsize(self) -> int:
        """The capacity."""
        return self._maxsize

    @property
    def currsize(self) -> float:
        """The current total size."""
        self._before()
        return self._currsize

    def getsizeof(self, value: V) -> float:
        """The size of ``value``: ``getsizeof(value)`` if given, else 1."""
        return 1 if self._getsizeof is None else self._getsizeof(value)

    def resize(self, maxsize: int) -> None:
        """Change the capacity, evicting as the policy chooses if it shrinks.

        Complexity: O(number evicted).

        >>> from dskata.cache import FIFOCache
        >>> c = FIFOCache(3); c.update(a=1, b=2, c=3); c.resize(1); list(c)
        ['c']
        """
        check_maxsize(maxsize)
        self._before()
        self._maxsize = maxsize
        self._resized()
        self._notify(self._evict_until(lambda: self._currsize <= self._maxsize))

    def _resized(self) -> None:
        """Recompute capacity-derived targets after ``resize``."""

    def info(self) -> CacheInfo:
        """``CacheInfo(hits, misses, evictions, maxsize, currsize)``. Complexity: O(1)."""
        return CacheInfo(self._hits, self._misses, self._evictions, self._maxsize, self.currsize)

    def copy(self) -> PolicyCache[K, V]:
        """A copy with its own structure and history; keys, values and callables are shared.

        ``copy.copy(cache)`` is the same: changing the copy never changes the original (a plain
        shallow copy would share the policy's queues between the two). Keys the policy remembers
        without caching them (ghosts, stale expiry records) are shared too: the copy's queues are
        new containers holding the same key objects.

        Complexity: O(n).
        """
        import copy as _copy

        # Deep-copy the structure only: everything the user handed in is pre-seeded in the memo,
        # so deepcopy returns it as is (as dict.copy shares keys and values).
        memo: dict[int, Any] = {id(o): o for o in self._shared()}
        return _copy.deepcopy(self, memo)

    __copy__ = copy

    def _shared(self) -> list[object]:
        """The objects a copy shares with the original instead of duplicating."""
        return [
            *self._data.keys(),
            *self._data.values(),
            *self._remembered(),
            self._getsizeof,
            self._on_evict,
        ]

    def _check(self) -> None:
        """Assert the shared invariants, then the policy's."""
        data = self._data
        if self._sizes is None:
            assert self._currsize == len(data), f"currsize {self._currsize} != {len(data)}"
        else:
            assert self._sizes.keys() == data.keys(), "sizes and entries disagree"
            total = sum(self._sizes.values())
            assert abs(total - self._currsize) <= 1e-9 * max(1.0, total), "currsize drifted"
        assert self._currsize <= self._maxsize + 1e-9 * max(1.0, self._maxsize), "over capacity"
        assert min(self._hits, self._misses, self._evictions) >= 0
        self._policy_check()
