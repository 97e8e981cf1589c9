"""A least-recently-used cache: a fast ``MutableMapping`` compatible with cachetools' API.

Theory of operation
-------------------
An LRU cache keeps the entries in recency order and, when full, evicts the one used longest ago.
The order lives in an :class:`collections.OrderedDict`, whose C implementation pairs a hash table
with a doubly linked list: a hit is one lookup plus ``move_to_end`` (O(1) pointer surgery), an
eviction is ``popitem(last=False)``. Everything else in this module exists to keep the Python
layer above it thin, because at ~100 ns per operation every attribute load shows:

* the hot methods (``get``, ``__getitem__``, ``__setitem__``) use bound C methods stored once in
  slots (``self._dget``, ``self._move``) and a module-level sentinel instead of ``try/except``,
  since raising ``KeyError`` on every miss costs more than the whole hit path;
* a cache built with ``getsizeof`` takes a separate, slower path, so the common unit-size cache
  pays nothing for the feature;
* ``lock=True`` returns an instance of a subclass whose every public method holds an ``RLock``, so
  the unlocked class has no lock checks at all. The lock is re-entrant because ``on_evict``
  callbacks, ``__missing__`` and keys' ``__eq__`` may call back into the cache.

A new key is inserted at the most-recent end *before* the least-recent one is evicted, so a
callback that raises still finds the cache consistent (the new entry present, the victim gone).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, Generic, TypeVar, overload

from dskata.cache._common import MISSING, CacheInfo, check_callable, check_maxsize, check_size

__all__ = ["CacheInfo", "LRUCache"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class LRUCache(MutableMapping[K, V], Generic[K, V]):
    """A mapping of at most ``maxsize`` entries that evicts the least recently used one.

    Compatible with ``cachetools.LRUCache`` (``maxsize``, ``currsize``, ``getsizeof``,
    ``popitem`` evicting the least recently used entry, a value larger than ``maxsize`` refused
    with :class:`ValueError`, ``__missing__`` in subclasses, overriding ``popitem`` to observe
    evictions), plus ``peek``, ``resize``, ``info`` and an eviction callback.

    Reads that promote an entry to most recently used: ``cache[key]``, ``get``, ``setdefault``
    and assignment. ``in``, ``peek``, ``len`` and iteration do not. Iteration runs from the least
    to the most recently used key.

    Args:
        maxsize: capacity, an int >= 0 (in entries, or in ``getsizeof`` units).
        getsizeof: ``getsizeof(value) -> number``; each entry weighs 1 when None.
        on_evict: ``on_evict(key, value)``, called after an entry is evicted to make room (not
            on ``del``, ``pop``, ``popitem`` or ``clear``).
        lock: when True, every operation holds a re-entrant lock: thread-safe, with exact
            statistics. Iteration then walks a snapshot of the keys.

    Complexity: O(1) per operation (amortised; O(k) to evict k entries at once).

    Thread safety: with ``lock=False`` (default), none; share it between threads only with
    ``lock=True``.

    >>> cache = LRUCache(2)
    >>> cache["a"] = 1
    >>> cache["b"] = 2
    >>> cache["a"]
    1
    >>> cache["c"] = 3          # evicts "b", the least recently used
    >>> list(cache)
    ['a', 'c']
    >>> cache.info()
    CacheInfo(hits=1, misses=0, evictions=1, maxsize=2, currsize=2)
    """

    __slots__ = (
        "__weakref__",
        "_currsize",
        "_custom_popitem",
        "_data",
        "_dget",
        "_evictions",
        "_getsizeof",
        "_hits",
        "_maxsize",
        "_misses",
        "_move",
        "_on_evict",
        "_popfirst",
        "_sizes",
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> LRUCache[K, V]:
        # lock=True selects the synchronised subclass, so the plain class never tests for a lock.
        if kwargs.get("lock") is True and not issubclass(cls, _LockedLRUCache):
            cls = _LockedLRUCache if cls is LRUCache else _locked_variant(cls)
        return object.__new__(cls)

    def __init__(
        self,
        maxsize: int,
        getsizeof: Callable[[V], float] | None = None,
        *,
        on_evict: Callable[[K, V], object] | None = None,
        lock: bool = False,
    ) -> None:
        check_maxsize(maxsize)
        check_callable(getsizeof, "getsizeof")
        check_callable(on_evict, "on_evict")
        if not isinstance(lock, bool):
            raise TypeError(f"lock must be a bool, got {type(lock).__name__} {lock!r}")
        if lock and not isinstance(self, _LockedLRUCache):
            raise TypeError(
                f"lock=True needs the locked variant of {type(self).__name__}, which "
                f"LRUCache.__new__ selects; a __new__ override must call it"
            )
        self._maxsize = maxsize
        self._getsizeof = getsizeof
        self._on_evict = on_evict
        self._data: OrderedDict[K, V] = OrderedDict()
        self._dget = self._data.get
        self._move = self._data.move_to_end
        self._popfirst = self._data.popitem
        # Sized mode when a getsizeof is given or a subclass overrides the getsizeof method
        # (both cachetools idioms); otherwise every entry weighs 1 and the fast path applies.
        sized = getsizeof is not None or type(self).getsizeof is not LRUCache.getsizeof
        self._sizes: dict[K, float] | None = {} if sized else None
        self._currsize: float = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        # A subclass that overrides popitem (cachetools' idiom to observe evictions) gets it
        # called for every eviction; the base class evicts through the C method directly.
        user_class = getattr(type(self), "_user_class", type(self))
        self._custom_popitem = user_class.popitem not in (LRUCache.popitem, _LockedLRUCache.popitem)

    # -- the hot path -------------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        value = self._dget(key, MISSING)
        if value is MISSING:
            self._misses += 1
            return self.__missing__(key)
        self._move(key)
        self._hits += 1
        return value  # type: ignore[no-any-return]

    @overload
    def get(self, key: K, default: None = None) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T) -> V | T: ...

    def get(self, key: K, default: object = None) -> object:
        """Return the value of ``key`` and mark it most recently used, or ``default``.

        Counts a hit or a miss.

        Complexity: O(1).

        >>> c = LRUCache(2); c["a"] = 1
        >>> c.get("a"), c.get("zz", 0)
        (1, 0)
        """
        value = self._dget(key, MISSING)
        if value is MISSING:
            self._misses += 1
            return default
        self._move(key)
        self._hits += 1
        return value

    def __setitem__(self, key: K, value: V) -> None:
        if self._sizes is not None:
            self._set_sized(key, value)
            return
        data = self._data
        if key in data:
            data[key] = value
            self._move(key)
            return
        if len(data) < self._maxsize:
            data[key] = value
            return
        if not self._maxsize:
            raise ValueError("value too large: this cache has maxsize 0 and stores nothing")
        data[key] = value
        if self._custom_popitem:
            old_key, old_value = self.popitem()
        else:
            old_key, old_value = self._popfirst(False)
        self._evictions += 1
        if self._on_evict is not None:
            self._on_evict(old_key, old_value)

    # -- the rest of the mapping API ----------------------------------------------------------

    def __missing__(self, key: K) -> V:
        """Called by ``cache[key]`` on a miss; raises :class:`KeyError`. Subclasses may override.

        >>> LRUCache(1)["nope"]
        Traceback (most recent call last):
        ...
        KeyError: 'nope'
        """
        raise KeyError(key)

    def _set_sized(self, key: K, value: V) -> None:
        assert self._sizes is not None
        size = check_size(self.getsizeof(value), value)
        if size > self._maxsize:
            raise ValueError(
                f"value too large: getsizeof(value) = {size} > maxsize {self._maxsize}"
            )
        data, sizes = self._data, self._sizes
        if key in data:
            self._currsize += size - sizes[key]
            data[key] = value
            sizes[key] = size
            self._move(key)
        else:
            data[key] = value
            sizes[key] = size
            self._currsize += size
        self._evict_to(self._maxsize)

    def _evict_to(self, target: float) -> None:
        """Evict least recently used entries until ``currsize <= target``."""
        evicted: list[tuple[K, V]] = []
        data = self._data
        while (self._currsize if self._sizes is not None else len(data)) > target:
            if self._custom_popitem:
                evicted.append(self.popitem())
            else:
                key, value = self._popfirst(False)
                if self._sizes is not None:
                    self._currsize -= self._sizes.pop(key)
                evicted.append((key, value))
            self._evictions += 1
        if self._on_evict is not None:
            for key, value in evicted:
                self._on_evict(key, value)

    def __delitem__(self, key: K) -> None:
        del self._data[key]
        if self._sizes is not None:
            self._currsize -= self._sizes.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __reversed__(self) -> Iterator[K]:
        return reversed(self._data)

    def keys(self) -> KeysView[K]:
        """The keys, least recently used first (no promotion)."""
        return self._data.keys()

    def values(self) -> ValuesView[V]:
        """The values, least recently used first (no promotion)."""
        return self._data.values()

    def items(self) -> ItemsView[K, V]:
        """The ``(key, value)`` pairs, least recently used first (no promotion)."""
        return self._data.items()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({dict(self._data)!r}, maxsize={self._maxsize!r}, "
            f"currsize={self.currsize!r})"
        )

    @overload
    def pop(self, key: K) -> V: ...
    @overload
    def pop(self, key: K, default: V | T) -> V | T: ...

    def pop(self, key: K, default: object = MISSING) -> object:
        """Remove ``key`` and return its value, or ``default`` (KeyError without one).

        Not a lookup: no promotion, no statistics. Complexity: O(1).

        >>> c = LRUCache(2); c["a"] = 1
        >>> c.pop("a"), c.pop("a", None)
        (1, None)
        """
        if key in self._data:
            value = self._data.pop(key)
            if self._sizes is not None:
                self._currsize -= self._sizes.pop(key)
            return value
        if default is MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Remove and return the least recently used ``(key, value)``; KeyError when empty.

        Complexity: O(1).

        >>> c = LRUCache(2); c["a"] = 1; c["b"] = 2
        >>> c.popitem()
        ('a', 1)
        """
        try:
            key, value = self._popfirst(False)
        except KeyError:
            raise KeyError(f"{type(self).__name__} is empty") from None
        if self._sizes is not None:
            self._currsize -= self._sizes.pop(key)
        return key, value

    def setdefault(self, key: K, default: V = None) -> V:  # type: ignore[assignment]
        """Return ``cache[key]`` if present (a hit), else store ``default`` (a miss) and return it.

        Complexity: O(1).

        >>> c = LRUCache(2)
        >>> c.setdefault("a", 1), c.setdefault("a", 2)
        (1, 1)
        """
        value = self._dget(key, MISSING)
        if value is not MISSING:
            self._move(key)
            self._hits += 1
            return value  # type: ignore[no-any-return]
        self[key] = default
        self._misses += 1
        return default

    def clear(self) -> None:
        """Remove every entry (not counted as evictions); statistics are kept."""
        self._data.clear()
        if self._sizes is not None:
            self._sizes.clear()
        self._currsize = 0

    def peek(self, key: K, default: V | None = None) -> V | None:
        """Return the value of ``key`` without promoting it or counting a hit, else ``default``.

        Complexity: O(1).

        >>> c = LRUCache(2); c["a"] = 1; c["b"] = 2
        >>> c.peek("a"); list(c)
        1
        ['a', 'b']
        """
        return self._dget(key, default)

    # -- cachetools' Cache attributes and dskata extras ---------------------------------------

    @property
    def maxsize(self) -> int:
        """The capacity (entries, or ``getsizeof`` units)."""
        return self._maxsize

    @property
    def currsize(self) -> float:
        """The current total size: ``len(cache)`` unless ``getsizeof`` is set."""
        return len(self._data) if self._sizes is None else self._currsize

    def getsizeof(self, value: V) -> float:
        """The size of ``value``: ``getsizeof(value)`` if given, else 1."""
        return 1 if self._getsizeof is None else self._getsizeof(value)

    def resize(self, maxsize: int) -> None:
        """Change the capacity; evicts least recently used entries if it shrinks.

        Complexity: O(number evicted).

        >>> c = LRUCache(3); c.update(a=1, b=2, c=3)
        >>> c.resize(1); list(c)
        ['c']
        """
        check_maxsize(maxsize)
        self._maxsize = maxsize
        self._evict_to(maxsize)

    def info(self) -> CacheInfo:
        """``CacheInfo(hits, misses, evictions, maxsize, currsize)``. Complexity: O(1)."""
        return CacheInfo(self._hits, self._misses, self._evictions, self._maxsize, self.currsize)

    def copy(self) -> LRUCache[K, V]:
        """A shallow copy: same parameters, entries in the same order, same statistics."""
        new = object.__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    __copy__ = copy

    def __getstate__(self) -> dict[str, Any]:
        return {
            "maxsize": self._maxsize,
            "getsizeof": self._getsizeof,
            "on_evict": self._on_evict,
            "items": list(self._data.items()),
            "sizes": None if self._sizes is None else dict(self._sizes),
            "stats": (self._hits, self._misses, self._evictions),
            # A subclass without __slots__ keeps its own attributes in __dict__.
            "dict": dict(getattr(self, "__dict__", {})),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        LRUCache.__init__(
            self,
            state["maxsize"],
            getsizeof=state["getsizeof"],
            on_evict=state["on_evict"],
            lock=isinstance(self, _LockedLRUCache),
        )
        self._data.update(state["items"])
        if state["sizes"] is not None:
            self._sizes = dict(state["sizes"])
            self._currsize = sum(self._sizes.values())
        self._hits, self._misses, self._evictions = state["stats"]
        if state.get("dict"):
            self.__dict__.update(state["dict"])

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        user_class = getattr(type(self), "_user_class", None)
        if user_class is not None:  # the locked variant of a subclass: rebuilt from the subclass
            return (_restore_locked, (user_class,), self.__getstate__())
        return (_restore, (type(self),), self.__getstate__())

    def _access(self, key: K) -> bool:
        """Simulation fast path: a read that inserts ``key`` (value None) on a miss."""
        data = self._data
        if key in data:
            self._move(key)
            return True
        data[key] = None  # type: ignore[assignment]
        if len(data) > self._maxsize:
            self._popfirst(False)
        return False

    def _check(self) -> None:
        """Assert the invariants: size within capacity, sizes consistent, a sound order list."""
        data = self._data
        keys = list(data)
        assert keys == list(reversed(list(reversed(data)))), "recency list is inconsistent"
        assert len(keys) == len(set(keys)) == len(data)
        if self._sizes is None:
            assert len(data) <= self._maxsize, f"{len(data)} entries > maxsize {self._maxsize}"
        else:
            assert self._sizes.keys() == data.keys(), "sizes and entries disagree"
            total = sum(self._sizes.values())
            assert abs(total - self._currsize) <= 1e-9 * max(1.0, total), "currsize drifted"
            assert self._currsize <= self._maxsize + 1e-9 * max(1.0, total)
        assert min(self._hits, self._misses, self._evictions) >= 0


def _restore(cls: type[LRUCache[Any, Any]]) -> LRUCache[Any, Any]:
    return object.__new__(cls)


def _restore_locked(cls: type[LRUCache[Any, Any]]) -> LRUCache[Any, Any]:
    return object.__new__(_locked_variant(cls))


_LOCKED_VARIANTS: dict[type[Any], type[Any]] = {}
_VARIANTS_LOCK = threading.Lock()


def _locked_variant(cls: type[LRUCache[Any, Any]]) -> type[LRUCache[Any, Any]]:
    """``cls(..., lock=True)``'s class: the lock wrappers in front of ``cls``'s own methods.

    A subclass of both :class:`_LockedLRUCache` and ``cls``, named like ``cls`` (so ``repr``
    shows the user's class name), made once per class; instances pickle as ``cls``'s.
    """
    with _VARIANTS_LOCK:
        variant = _LOCKED_VARIANTS.get(cls)
        if variant is None:
            namespace = {
                "__slots__": (),
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "_user_class": cls,
            }
            try:
                variant = type(cls.__name__, (_LockedLRUCache, cls), namespace)
            except TypeError as exc:  # e.g. cls adds its own __slots__: layouts conflict
                raise TypeError(
                    f"lock=True is not supported by {cls.__name__}: {exc}; guard it with a lock "
                    f"of your own instead"
                ) from None
            _LOCKED_VARIANTS[cls] = variant
        return variant


class _LockedLRUCache(LRUCache[K, V]):
    """``LRUCache(..., lock=True)``: every public method holds one re-entrant lock."""

    __slots__ = ("_lock",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Arguments pass through untouched: for a subclass's locked variant, the next __init__
        # is the subclass's own, with whatever signature it has.
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def __getitem__(self, key: K) -> V:
        with self._lock:
            return super().__getitem__(key)

    def get(self, key: K, default: object = None) -> object:  # type: ignore[override]
        with self._lock:
            return super().get(key, default)

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            super().__setitem__(key, value)

    def __delitem__(self, key: K) -> None:
        with self._lock:
            super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._data))

    def __reversed__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(reversed(self._data)))

    def keys(self) -> KeysView[K]:
        with self._lock:
            return dict.fromkeys(self._data).keys()  # a snapshot, safe to iterate

    def values(self) -> ValuesView[V]:
        with self._lock:
            return dict(self._data).values()

    def items(self) -> ItemsView[K, V]:
        with self._lock:
            return dict(self._data).items()

    def __repr__(self) -> str:
        with self._lock:
            return super().__repr__().replace("_LockedLRUCache(", "LRUCache(", 1)

    def pop(self, key: K, default: object = MISSING) -> object:  # type: ignore[override]
        with self._lock:
            return super().pop(key, default)

    def popitem(self) -> tuple[K, V]:
        with self._lock:
            return super().popitem()

    def setdefault(self, key: K, default: V = None) -> V:  # type: ignore[assignment]
        with self._lock:
            return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            super().update(*args, **kwargs)

    def clear(self) -> None:
        with self._lock:
            super().clear()

    def peek(self, key: K, default: V | None = None) -> V | None:
        with self._lock:
            return super().peek(key, default)

    def resize(self, maxsize: int) -> None:
        with self._lock:
            super().resize(maxsize)

    def info(self) -> CacheInfo:
        with self._lock:
            return super().info()

    def copy(self) -> LRUCache[K, V]:
        with self._lock:
            return super().copy()

    __copy__ = copy

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return super().__getstate__()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.RLock()
        super().__setstate__(state)

    def _check(self) -> None:
        with self._lock:
            super()._check()
