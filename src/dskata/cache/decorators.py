"""Memoising decorators: ``lru_cache`` (a drop-in for ``functools.lru_cache``), ``cached`` and
``cachedmethod`` (cachetools' style, for any dskata cache or mapping), and their key functions.

Theory of operation
-------------------
``lru_cache`` follows ``functools.lru_cache``'s documented contract to the letter, so that
swapping the import changes nothing observable: the same cache keys (positional arguments, then
keyword arguments in call order, then argument types when ``typed``; a single ``int`` or ``str``
argument is its own key), the same statistics for the same call sequence, ``maxsize=None``
(unbounded), ``maxsize=0`` (no caching, misses counted), the bare ``@lru_cache`` form,
``cache_info``, ``cache_clear``, ``cache_parameters``, ``__wrapped__``, pickling by qualified name
and copying as itself.

The wrapper is a closure, not an object with ``__call__``: calling a Python function is cheaper
than calling an instance, and a function already binds as a method, pickles by name and copies
as itself. Entries live in a C ``OrderedDict`` (``move_to_end`` on a hit); a key made of several
arguments is a tuple subclass that computes its hash once (:class:`_HashedTuple`), so each
argument's ``__hash__`` runs once per call however many dict operations follow.

No lock is taken on a call. Each step is one C operation the GIL makes atomic (``get``,
``move_to_end``, ``setdefault``, ``popitem``, and ``next`` on an ``itertools.count`` for the
statistics), and the steps are ordered so that any interleaving leaves a sound cache: a hit
whose entry was evicted meanwhile still returns its value; threads inserting at once each check
the size after their own insertion. The statistics are exact, recursion cannot deadlock (not even
through a key's ``__eq__`` calling the cached function), and a slow call never blocks other
callers. (This relies on the GIL; a free-threaded build would need a lock.) When two threads
miss on the same key at once both compute (as in the stdlib) unless ``single_flight=True``,
which makes the later callers wait for the first one's result (or exception), counted as hits.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, MutableMapping
from functools import update_wrapper
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar, cast, overload

from dskata.cache._common import MISSING

__all__ = [
    "CachedFunction",
    "FunctionCacheInfo",
    "cached",
    "cachedmethod",
    "hashkey",
    "lru_cache",
    "methodkey",
    "typedkey",
    "typedmethodkey",
]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class _KeywordMark:
    """The separator between positional and keyword arguments in a key: f(1, "a", 2) != f(1, a=2).

    A singleton that pickles by reference (by its module-level name), so a key with keyword
    arguments still equals itself after a pickle round trip: a pickled cache keeps its hits.
    A bare ``object()`` would come back as a different object, and no key would match again.
    """

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_KEYWORD_MARK"

    def __repr__(self) -> str:
        return "<keywords>"


_KEYWORD_MARK: Final = _KeywordMark()
_KWD_MARK: Final = (_KEYWORD_MARK,)
_FAST_TYPES: Final = frozenset({int, str})


class FunctionCacheInfo(NamedTuple):
    """``cache_info()`` of a decorated function; equal to ``functools``' ``CacheInfo`` tuple."""

    hits: int
    misses: int
    maxsize: int | None
    currsize: int


class CachedFunction(Protocol, Generic[R_co]):
    """What ``lru_cache`` returns: the function plus its cache controls."""

    @property
    def __wrapped__(self) -> Callable[..., R_co]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> R_co: ...
    def cache_info(self) -> FunctionCacheInfo: ...
    def cache_clear(self) -> None: ...
    def cache_parameters(self) -> dict[str, Any]: ...


class _HashedTuple(tuple):  # type: ignore[type-arg]
    """A tuple key whose hash is computed once and remembered.

    It compares equal to a plain tuple with the same items (and hashes alike), so a key may be
    built either way.
    """

    _hashvalue: int | None = None

    def __hash__(self) -> int:
        value = self._hashvalue
        if value is None:
            value = self._hashvalue = tuple.__hash__(self)
        return value

    # Concatenating keys gives a key (cachetools' documented idiom for extending a key function:
    # ``hashkey(*args) + ("extra",)``), which keeps the hash memo on the result.
    def __add__(self, other: tuple[Any, ...]) -> _HashedTuple:
        return _HashedTuple(tuple.__add__(self, other))

    def __radd__(self, other: tuple[Any, ...]) -> _HashedTuple:
        return _HashedTuple(tuple.__add__(other, self))

    def __reduce__(self) -> tuple[Any, ...]:
        # The remembered hash of str items is salted per process: never pickle it.
        return (_HashedTuple, (tuple(self),))


# Module-level aliases of builtins, immune to a rebinding of builtins.len (see _make_wrapper).
_len, _type = len, type


def _make_key(args: tuple[Any, ...], kwds: dict[str, Any], typed: bool) -> Hashable:
    """The ``functools.lru_cache`` key of a call (same equality, so the same hits and misses)."""
    key = args
    if kwds:
        key += _KWD_MARK
        for item in kwds.items():
            key += item
    if typed:
        key += tuple(_type(v) for v in args)
        if kwds:
            key += tuple(_type(v) for v in kwds.values())
    elif _len(key) == 1 and _type(key[0]) in _FAST_TYPES:
        return key[0]  # type: ignore[no-any-return]
    return _HashedTuple(key)


class _Flight:
    """One in-flight computation that other callers of the same key wait for."""

    __slots__ = ("error", "event", "owner", "result")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


def _count_value(counter: itertools.count[int]) -> int:
    # itertools.count exposes its next value only through repr: "count(42)".
    return int(repr(counter)[6:-1])


def _make_wrapper(
    user_function: Callable[..., Any], maxsize: int | None, typed: bool, single_flight: bool
) -> Any:
    cache: OrderedDict[Any, Any] = OrderedDict()
    cache_get = cache.get
    move = cache.move_to_end
    popfirst = cache.popitem
    cache_setdefault = cache.setdefault
    lock = threading.RLock()
    # Statistics are itertools.count objects: next() on one is a single C call that the GIL never
    # interrupts, so a hit needs no lock and the counts stay exact under any thread switching.
    # (Called as next(counter): the builtin is much cheaper than the bound counter.__next__.)
    hits_counter, misses_counter = itertools.count(), itertools.count()
    # Builtins bound once: the wrapper must keep working even if someone caches ``len`` itself
    # by rebinding builtins.len (CPython's test_lru_reentrancy_with_len), and locals are faster.
    len_, type_, next_, int_, str_ = len, type, next, int, str
    # Module globals bound as closure cells too: a cell load is cheaper than a global lookup.
    missing, make_key, hashed_tuple = MISSING, _make_key, _HashedTuple

    if single_flight:
        wrapper = _single_flight_wrapper(user_function, maxsize, typed, cache, lock)
    elif maxsize == 0:

        def wrapper(*args: Any, **kwds: Any) -> Any:
            next_(misses_counter)
            return user_function(*args, **kwds)

    elif typed:
        # typed=True: every key is built by _make_key (no single-argument shortcut, as in
        # functools). The rarer case, so one closure serves both bounded and unbounded caches.
        bound = sys.maxsize if maxsize is None else maxsize

        def wrapper(*args: Any, **kwds: Any) -> Any:
            key = make_key(args, kwds, True)
            result = cache_get(key, missing)
            if result is not missing:
                try:  # noqa: SIM105 - contextlib.suppress costs a call on the hot path
                    move(key)
                except KeyError:
                    pass
                next_(hits_counter)
                return result
            next_(misses_counter)
            result = user_function(*args, **kwds)
            cache_setdefault(key, result)
            if len_(cache) > bound:
                try:  # noqa: SIM105
                    popfirst(False)
                except KeyError:
                    pass
            return result

    elif maxsize is None:

        def wrapper(*args: Any, **kwds: Any) -> Any:
            # The key test is specialised at decoration time (untyped here), so a call without
            # keywords tests only `if kwds`, then whether its one argument is exactly an int or
            # a str (functools' fast types, by identity: no set lookup), else wraps the tuple.
            if kwds:
                key = make_key(args, kwds, False)
            elif len_(args) != 1 or ((t := type_(key := args[0])) is not int_ and t is not str_):
                key = hashed_tuple(args)
            result = cache_get(key, missing)
            if result is not missing:
                next_(hits_counter)
                return result
            next_(misses_counter)
            # A direct call when there are no keywords: cheaper than unpacking an empty dict.
            result = user_function(*args, **kwds) if kwds else user_function(*args)
            # setdefault keeps a value stored meanwhile by a recursive call or another thread.
            cache_setdefault(key, result)
            return result

    else:
        bound = maxsize

        def wrapper(*args: Any, **kwds: Any) -> Any:
            if kwds:
                key = make_key(args, kwds, False)
            elif len_(args) != 1 or ((t := type_(key := args[0])) is not int_ and t is not str_):
                key = hashed_tuple(args)
            # get and move_to_end are each atomic under the GIL; a concurrent eviction between
            # them only means the entry is gone by the time we promote it.
            result = cache_get(key, missing)
            if result is not missing:
                try:  # noqa: SIM105 - contextlib.suppress costs a call on the hot path
                    move(key)
                except KeyError:
                    pass
                next_(hits_counter)
                return result
            next_(misses_counter)
            # A direct call when there are no keywords: cheaper than unpacking an empty dict.
            result = user_function(*args, **kwds) if kwds else user_function(*args)
            # setdefault keeps a value stored meanwhile by a recursive call or another thread.
            # Each insertion adds at most one entry and is followed by its own check, so the
            # excess never exceeds the insertions still to check: at rest the size is within
            # maxsize, without a lock.
            cache_setdefault(key, result)
            if len_(cache) > bound:
                try:  # noqa: SIM105 - contextlib.suppress costs a call here too
                    popfirst(False)
                except KeyError:  # emptied by a concurrent cache_clear
                    pass
            return result

    def cache_info() -> FunctionCacheInfo:
        """Report cache statistics: ``(hits, misses, maxsize, currsize)``."""
        with lock:
            if single_flight:
                counts = wrapper._counts
                return FunctionCacheInfo(counts[0], counts[1], maxsize, len(cache))
            return FunctionCacheInfo(
                _count_value(hits_counter), _count_value(misses_counter), maxsize, len(cache)
            )

    def cache_clear() -> None:
        """Clear the cache and its statistics."""
        nonlocal hits_counter, misses_counter
        with lock:
            cache.clear()
            hits_counter, misses_counter = itertools.count(), itertools.count()
            if single_flight:
                wrapper._counts[:] = [0, 0]

    wrapper.cache_info = cache_info
    wrapper.cache_clear = cache_clear
    return wrapper


def _single_flight_wrapper(
    user_function: Callable[..., Any],
    maxsize: int | None,
    typed: bool,
    cache: OrderedDict[Any, Any],
    lock: threading.RLock,
) -> Any:
    inflight: dict[Any, _Flight] = {}
    counts = [0, 0]  # hits, misses
    get_ident = threading.get_ident

    def wrapper(*args: Any, **kwds: Any) -> Any:
        key = _make_key(args, kwds, typed)
        with lock:
            result = cache.get(key, MISSING)
            if result is not MISSING:
                cache.move_to_end(key)
                counts[0] += 1
                return result
            flight = inflight.get(key)
            # The owner thread calling itself with the same key must compute, not wait on itself.
            waiting = flight is not None and flight.owner != get_ident()
            owner = flight is None
            if waiting:
                counts[0] += 1
            else:
                counts[1] += 1
                if owner:
                    flight = inflight[key] = _Flight(get_ident())
        assert flight is not None or not waiting
        if waiting:
            assert flight is not None
            flight.event.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            # A direct call when there are no keywords: cheaper than unpacking an empty dict.
            result = user_function(*args, **kwds) if kwds else user_function(*args)
        except BaseException as exc:
            if owner:
                assert flight is not None
                flight.error = exc
                with lock:
                    inflight.pop(key, None)
                flight.event.set()
            raise
        with lock:
            if maxsize != 0 and key not in cache:
                cache[key] = result
                if maxsize is not None and len(cache) > maxsize:
                    cache.popitem(last=False)
            if owner:
                inflight.pop(key, None)
        if owner:
            assert flight is not None
            flight.result = result
            flight.event.set()
        return result

    wrapper._counts = counts  # type: ignore[attr-defined]
    return wrapper


@overload
def lru_cache(maxsize: Callable[..., R], typed: bool = False) -> CachedFunction[R]: ...
@overload
def lru_cache(
    maxsize: int | None = 128, typed: bool = False, *, single_flight: bool = False
) -> Callable[[Callable[..., R]], CachedFunction[R]]: ...


def lru_cache(
    maxsize: int | Callable[..., R] | None = 128,
    typed: bool = False,
    *,
    single_flight: bool = False,
) -> Any:
    """Memoise a function, keeping its ``maxsize`` most recently used results.

    A drop-in replacement for :func:`functools.lru_cache` (same keys, same statistics, same
    attributes), several times faster than its pure-Python version and thread-safe with exact
    statistics. ``maxsize=None`` caches without bound; ``maxsize=0`` caches nothing. With
    ``typed=True`` arguments of different types (``1`` and ``1.0``) are cached separately.
    Arguments must be hashable. With ``single_flight=True``, concurrent calls with the same
    arguments wait for the first one instead of computing again (stampede protection).

    Args:
        maxsize: capacity (an int; negative means 0), None for unbounded, or the function
            itself when used as a bare ``@lru_cache``.
        typed: cache arguments of different types separately.
        single_flight: make concurrent misses on one key compute once.

    Returns:
        The wrapped function, with ``cache_info()``, ``cache_clear()``, ``cache_parameters()``
        and ``__wrapped__``.

    Complexity: O(1) per call plus hashing the arguments once.

    Thread safety: safe, lock-free under the GIL, exact statistics; recursion never deadlocks.

    >>> @lru_cache(maxsize=2)
    ... def square(x):
    ...     return x * x
    >>> square(3), square(3), square(4)
    (9, 9, 16)
    >>> square.cache_info()
    FunctionCacheInfo(hits=1, misses=2, maxsize=2, currsize=2)
    """
    if isinstance(maxsize, int):
        # Negative sizes mean 0, as in the stdlib; bool is an int there too.
        maxsize = max(maxsize, 0)
    elif callable(maxsize) and isinstance(typed, bool):
        user_function, size = maxsize, 128
        wrapper = _make_wrapper(user_function, size, typed, single_flight)
        wrapper.cache_parameters = lambda: {"maxsize": size, "typed": typed}
        return update_wrapper(wrapper, user_function)
    elif maxsize is not None:
        raise TypeError(
            f"maxsize must be an int, None, or the function to decorate, got "
            f"{type(maxsize).__name__} {maxsize!r}"
        )
    if not isinstance(single_flight, bool):
        raise TypeError(f"single_flight must be a bool, got {type(single_flight).__name__}")
    size_: int | None = maxsize

    def decorating_function(user_function: Callable[..., R]) -> CachedFunction[R]:
        if not callable(user_function):
            raise TypeError(f"lru_cache needs a callable, got {type(user_function).__name__}")
        wrapper = _make_wrapper(user_function, size_, typed, single_flight)
        wrapper.cache_parameters = lambda: {"maxsize": size_, "typed": typed}
        return cast("CachedFunction[R]", update_wrapper(wrapper, user_function))

    return decorating_function


# -- cachetools-style decorators ------------------------------------------------------------


def hashkey(*args: Hashable, **kwargs: Hashable) -> Hashable:
    """The default key of :func:`cached`: the arguments, keyword arguments sorted by name.

    >>> hashkey(1, b=2, a=3) == hashkey(1, a=3, b=2)
    True
    """
    if kwargs:
        return _HashedTuple(args + sum(sorted(kwargs.items()), _KWD_MARK))
    return _HashedTuple(args)


def typedkey(*args: Hashable, **kwargs: Hashable) -> Hashable:
    """Like :func:`hashkey`, but ``1`` and ``1.0`` give different keys.

    >>> typedkey(1) == typedkey(1.0)
    False
    """
    key: tuple[Any, ...] = tuple(cast("tuple[Any, ...]", hashkey(*args, **kwargs)))
    key += tuple(type(v) for v in args)
    key += tuple(type(v) for _, v in sorted(kwargs.items()))
    return _HashedTuple(key)


def methodkey(self: object, /, *args: Hashable, **kwargs: Hashable) -> Hashable:
    """The default key of :func:`cachedmethod`: :func:`hashkey` without ``self``.

    >>> methodkey("any instance", 1, x=2) == hashkey(1, x=2)
    True
    """
    return hashkey(*args, **kwargs)


def typedmethodkey(self: object, /, *args: Hashable, **kwargs: Hashable) -> Hashable:
    """:func:`typedkey` without ``self``: a typed key for :func:`cachedmethod`.

    >>> typedmethodkey("any instance", 1) == typedmethodkey("other", 1.0)
    False
    """
    return typedkey(*args, **kwargs)


class _Lock(Protocol):
    # Positional-only, as threading.Lock's own signature, so a Lock or RLock type-checks.
    def __enter__(self) -> object: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> object: ...


def _store(cache: MutableMapping[Any, Any], k: Hashable, value: Any) -> Any:
    """Store ``value`` under ``k`` unless a value got there first (a race); return the kept one.

    Uses ``in`` and assignment, not ``setdefault``: a dskata cache counts ``setdefault`` as a
    lookup, and the miss that led here is already counted once.
    """
    if k in cache:  # another thread (or a recursive call) stored it meanwhile: keep that one
        peek = getattr(cache, "peek", None)
        if peek is not None:
            kept = peek(k, MISSING)
            if kept is not MISSING:
                return kept
        else:
            return cache[k]
    try:  # noqa: SIM105 - contextlib.suppress costs a call on every miss
        cache[k] = value
    except ValueError:  # too large for the cache: return it uncached
        pass
    return value


def _info_of(cache: MutableMapping[Any, Any] | None, hits: int, misses: int) -> FunctionCacheInfo:
    # As cachetools: a cache with maxsize/currsize reports them, any other mapping (None, len),
    # and no cache at all caches nothing: maxsize 0 (as functools' maxsize=0).
    if cache is None:
        return FunctionCacheInfo(hits, misses, 0, 0)
    maxsize = getattr(cache, "maxsize", None)
    currsize = getattr(cache, "currsize", None) if maxsize is not None else None
    return FunctionCacheInfo(hits, misses, maxsize, len(cache) if currsize is None else currsize)


def cached(
    cache: MutableMapping[Any, Any] | None,
    key: Callable[..., Hashable] = hashkey,
    lock: _Lock | None = None,
    condition: Any = None,
    info: bool = False,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Memoise a function in ``cache`` (any mutable mapping, e.g. a dskata cache).

    Semantics of ``cachetools.cached``: the key is ``key(*args, **kwargs)``; a value the cache
    refuses with :class:`ValueError` (too large) is returned uncached; with ``lock``, cache
    accesses (not the function call) hold it; with ``condition`` (a ``threading.Condition``,
    also used as the lock when ``lock`` is None), concurrent calls with one key wait for the
    first one instead of computing again; ``cache=None`` disables caching. With ``info=True``
    the wrapper gains ``cache_info()`` and counts hits and misses. Each call makes exactly one
    lookup in the cache (one hit or one miss in a dskata cache's ``info()``).

    Complexity: one lookup, plus one insertion on a miss.

    >>> from dskata.cache.lru import LRUCache
    >>> @cached(LRUCache(10))
    ... def double(x):
    ...     return 2 * x
    >>> double(4), double(4), double.cache.info()[:2]
    (8, 8, (1, 1))
    """
    if not callable(key):
        raise TypeError(f"key must be callable, got {type(key).__name__} {key!r}")
    if cache is not None and not isinstance(cache, MutableMapping):
        raise TypeError(f"cache must be a MutableMapping or None, got {type(cache).__name__}")
    if condition is not None and not all(
        hasattr(condition, name) for name in ("wait_for", "notify_all", "__enter__")
    ):
        raise TypeError(
            f"condition must be a threading.Condition or None, got {type(condition).__name__}"
        )
    if lock is None:
        lock = condition

    def decorator(func: Callable[..., R]) -> Callable[..., R]:
        stats = [0, 0]
        pending: set[Hashable] = set()

        def wrapper(*args: Any, **kwargs: Any) -> R:
            if cache is None:
                stats[1] += 1
                return func(*args, **kwargs)
            k = key(*args, **kwargs)
            if lock is None:
                try:
                    value = cache[k]
                except KeyError:
                    stats[1] += 1
                else:
                    stats[0] += 1
                    return value  # type: ignore[no-any-return]
                return _store(cache, k, func(*args, **kwargs))  # type: ignore[no-any-return]
            with lock:
                if condition is not None:
                    condition.wait_for(lambda: k not in pending)
                try:
                    value = cache[k]
                except KeyError:
                    stats[1] += 1
                    if condition is not None:
                        pending.add(k)
                else:
                    stats[0] += 1
                    return value  # type: ignore[no-any-return]
            try:
                value = func(*args, **kwargs)
                with lock:
                    return _store(cache, k, value)  # type: ignore[no-any-return]
            finally:
                if condition is not None:
                    with lock:
                        pending.discard(k)
                        condition.notify_all()

        def cache_clear() -> None:
            if cache is not None:
                if lock is None:
                    cache.clear()
                else:
                    with lock:
                        cache.clear()
            stats[:] = [0, 0]

        def cache_info() -> FunctionCacheInfo:
            if lock is None:
                return _info_of(cache, stats[0], stats[1])
            with lock:
                return _info_of(cache, stats[0], stats[1])

        w: Any = wrapper
        w.cache = cache
        w.cache_key = key
        w.cache_lock = lock
        w.cache_condition = condition
        w.cache_clear = cache_clear
        if info:
            w.cache_info = cache_info
        return update_wrapper(wrapper, func)

    return decorator


# Where a cachedmethod(info=True) keeps an instance's statistics: one dict in the instance's
# __dict__, {cachedmethod descriptor: [hits, misses]}. Keyed by the descriptor, not by the name, so
# an override and the method it reaches through super() count separately (as in cachetools).
# No back-reference to the instance, and a descriptor pickles and deep-copies by reference to its
# class attribute, so the instance still pickles and deep-copies, and the stats travel with it.
_STATS_ATTR: Final = "_dskata_cachedmethod_stats"


class _CachedMethod(Generic[R]):
    """What :func:`cachedmethod` returns: a descriptor whose bound form carries the cache controls.

    ``Class.method`` is this object (callable as ``Class.method(obj, ...)``, with
    ``cache_clear(obj)`` and the callables given to ``cachedmethod``); ``obj.method`` is a
    :class:`_BoundCachedMethod` whose ``cache``, ``cache_lock`` and ``cache_condition`` are
    ``obj``'s own objects and whose ``cache_clear()`` empties ``obj``'s cache (cachetools 6+).
    With ``info=True`` each instance counts its own hits and misses per decorated method (an
    override and the method it reaches through ``super()`` count apart), for calls made as
    ``obj.method(...)`` and as ``Class.method(obj, ...)`` alike (``obj.method.cache_info()``).
    """

    def __init__(
        self,
        method: Callable[..., R],
        cache: Callable[[Any], MutableMapping[Any, Any] | None],
        key: Callable[..., Hashable],
        lock: Callable[[Any], _Lock] | None,
        condition: Callable[[Any], Any] | None,
        info: bool = False,
    ) -> None:
        update_wrapper(self, method)
        self._method = method
        self.cache = cache
        self.cache_key = key
        self.cache_lock = lock
        self.cache_condition = condition
        self._info = info
        self._attrname: str | None = None
        self._owner: type | None = None
        self._pending: dict[int, set[Hashable]] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        # The descriptor pickles by reference to (owner, name), so one descriptor bound to two
        # names is ambiguous; cachetools refuses it the same way.
        if self._attrname is None:
            self._attrname, self._owner = name, owner
        elif name != self._attrname:
            raise TypeError(
                f"cannot assign the same cachedmethod to two different names "
                f"({self._attrname!r} and {name!r})"
            )

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return _BoundCachedMethod(self, obj, self._stats_of(obj) if self._info else None)

    def _stats_of(self, obj: Any) -> list[int]:
        """``obj``'s ``[hits, misses]`` for this method (this descriptor), created on first use."""
        if self._attrname is None:
            raise TypeError(
                f"cachedmethod(info=True) on {self._method.__qualname__} needs __set_name__: "
                f"define it in a class body (or call __set_name__(owner, name) on it)"
            )
        try:
            table = obj.__dict__.setdefault(_STATS_ATTR, {})
        except AttributeError:
            raise TypeError(
                f"cachedmethod(info=True) keeps statistics in the instance's __dict__, and "
                f"{type(obj).__name__!r} instances have none (__slots__?)"
            ) from None
        except TypeError as exc:  # a read-only __dict__ substitute
            raise TypeError(
                f"cachedmethod(info=True) cannot store statistics on {type(obj).__name__!r} "
                f"instances: {exc}"
            ) from None
        stats: list[int] = table.setdefault(self, [0, 0])
        return stats

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> R:
        # Class.method(obj, ...) counts in obj's statistics, as obj.method(...) does.
        return self._call(obj, self._stats_of(obj) if self._info else None, args, kwargs)

    def _call(
        self, obj: Any, stats: list[int] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        method = self._method
        c = self.cache(obj)
        if c is None:
            if stats is not None:
                stats[1] += 1
            return method(obj, *args, **kwargs)
        k = self.cache_key(obj, *args, **kwargs)
        if self.cache_lock is None:
            try:
                value = c[k]
            except KeyError:
                if stats is not None:
                    stats[1] += 1
            else:
                if stats is not None:
                    stats[0] += 1
                return value  # type: ignore[no-any-return]
            return _store(c, k, method(obj, *args, **kwargs))  # type: ignore[no-any-return]
        lk = self.cache_lock(obj)
        cond: Any = None if self.cache_condition is None else self.cache_condition(obj)
        waiting = None if cond is None else self._pending.setdefault(id(c), set())
        with lk:
            if waiting is not None:
                cond.wait_for(lambda: k not in waiting)
            try:
                value = c[k]
            except KeyError:
                if stats is not None:
                    stats[1] += 1
                if waiting is not None:
                    waiting.add(k)
            else:
                if stats is not None:
                    stats[0] += 1
                return value  # type: ignore[no-any-return]
        try:
            value = method(obj, *args, **kwargs)
            with lk:
                return _store(c, k, value)  # type: ignore[no-any-return]
        finally:
            if waiting is not None:
                with lk:
                    waiting.discard(k)
                    if not waiting:
                        self._pending.pop(id(c), None)
                    cond.notify_all()

    def cache_clear(self, obj: Any) -> None:
        """Empty ``obj``'s cache (under ``obj``'s lock, if any) and reset its statistics."""
        c = self.cache(obj)
        if self.cache_lock is None:
            self._clear(obj, c)
        else:
            with self.cache_lock(obj):
                self._clear(obj, c)

    def _clear(self, obj: Any, c: MutableMapping[Any, Any] | None) -> None:
        if c is not None:
            c.clear()
        if self._info:
            self._stats_of(obj)[:] = [0, 0]

    def cache_info(self, obj: Any) -> FunctionCacheInfo:
        """``obj``'s ``(hits, misses, maxsize, currsize)``; needs ``info=True``."""
        if not self._info:
            raise AttributeError(f"{self._method.__qualname__} was not decorated with info=True")
        c = self.cache(obj)
        if c is None:  # as cachetools: there is no cache to report on
            raise TypeError(f"{self._method.__qualname__}: cache(obj) is None, no cache_info")
        stats = self._stats_of(obj)
        if self.cache_lock is None:
            return _info_of(c, stats[0], stats[1])
        with self.cache_lock(obj):
            return _info_of(c, stats[0], stats[1])

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (and copied) by reference to the class attribute, as functions are.
        if self._owner is None or self._attrname is None:
            raise TypeError(f"cannot pickle {self!r}: it is not a class attribute")
        return (_class_attribute, (self._owner, self._attrname))

    def __repr__(self) -> str:
        return f"<cachedmethod {self._method!r}>"


def _class_attribute(owner: type, name: str) -> Any:
    # vars(), not getattr: getattr on the class would give the same object, but this says that
    # the descriptor itself (not whatever a metaclass returns) is what was pickled.
    return vars(owner)[name]


class _BoundCachedMethod:
    # ``obj.method`` for a :func:`cachedmethod`: call it, or reach ``obj``'s cache controls.
    # (No class docstring: ``__doc__`` is the decorated method's, as for a bound method.)

    __slots__ = ("_desc", "_obj", "_stats")

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self._desc._method.__doc__

    def __init__(self, desc: _CachedMethod[Any], obj: Any, stats: list[int] | None) -> None:
        self._desc = desc
        self._obj = obj
        self._stats = stats

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._desc._call(self._obj, self._stats, args, kwargs)

    @property
    def cache(self) -> MutableMapping[Any, Any] | None:
        """``obj``'s cache."""
        return self._desc.cache(self._obj)

    @property
    def cache_key(self) -> Callable[..., Hashable]:
        """The key function, ``key(obj, *args, **kwargs)``."""
        return self._desc.cache_key

    @property
    def cache_lock(self) -> Any:
        """``obj``'s lock, or None."""
        lock = self._desc.cache_lock
        return None if lock is None else lock(self._obj)

    @property
    def cache_condition(self) -> Any:
        """``obj``'s condition, or None."""
        cond = self._desc.cache_condition
        return None if cond is None else cond(self._obj)

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self._desc._method

    def cache_clear(self) -> None:
        """Empty ``obj``'s cache (and, with ``info=True``, reset its statistics)."""
        self._desc.cache_clear(self._obj)

    def cache_info(self) -> FunctionCacheInfo:
        """``obj``'s ``(hits, misses, maxsize, currsize)``; needs ``info=True``."""
        return self._desc.cache_info(self._obj)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._desc, name)  # __name__, __doc__, __qualname__, ...

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _BoundCachedMethod):
            return NotImplemented
        return self._desc is other._desc and self._obj is other._obj

    def __hash__(self) -> int:
        return hash((id(self._desc), id(self._obj)))

    def __repr__(self) -> str:
        return f"<bound cachedmethod {self._desc._method.__qualname__} of {self._obj!r}>"


def cachedmethod(
    cache: Callable[[Any], MutableMapping[Any, Any] | None],
    key: Callable[..., Hashable] = methodkey,
    lock: Callable[[Any], _Lock] | None = None,
    condition: Callable[[Any], Any] | None = None,
    info: bool = False,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Memoise a method in a per-instance cache: ``cache(self)`` returns the mapping.

    Semantics of ``cachetools.cachedmethod``; the key is ``key(self, *args, **kwargs)``
    (:func:`methodkey` drops ``self``), ``lock(self)`` guards cache accesses, ``condition(self)``
    (also the lock when ``lock`` is None) makes concurrent calls with one key wait for the first.
    One lookup per call. ``obj.method.cache`` / ``.cache_lock`` / ``.cache_condition`` are
    ``obj``'s objects and ``obj.method.cache_clear()`` empties ``obj``'s cache (cachetools 6+);
    ``Class.method.cache_clear(obj)`` does the same. With ``info=True``, each instance counts
    its own hits and misses for each decorated method, including calls made as
    ``Class.method(obj, ...)`` or through ``super()``: ``obj.method.cache_info()`` (the statistics
    live in the instance's ``__dict__``, so a class with ``__slots__`` only cannot use it:
    ``TypeError``).

    Complexity: one lookup, plus one insertion on a miss.

    >>> from dskata.cache.lru import LRUCache
    >>> class Doubler:
    ...     def __init__(self):
    ...         self.cache = LRUCache(10)
    ...     @cachedmethod(lambda self: self.cache, info=True)
    ...     def double(self, x):
    ...         return 2 * x
    >>> d = Doubler(); d.double(3), d.double(3), d.double.cache_info()
    (6, 6, FunctionCacheInfo(hits=1, misses=1, maxsize=10, currsize=1))
    >>> d.double.cache is d.cache
    True
    """
    if not callable(cache):
        raise TypeError(f"cache must be a callable self -> mapping, got {type(cache).__name__}")
    if not callable(key):
        raise TypeError(f"key must be callable, got {type(key).__name__} {key!r}")
    for name, value in (("lock", lock), ("condition", condition)):
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be a callable self -> {name}, got {value!r}")
    if not isinstance(info, bool):
        raise TypeError(f"info must be a bool, got {type(info).__name__} {info!r}")
    if lock is None:
        lock = condition

    def decorator(method: Callable[..., R]) -> Callable[..., R]:
        return _CachedMethod(method, cache, key, lock, condition, info)

    return decorator
