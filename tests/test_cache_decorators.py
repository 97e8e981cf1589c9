"""lru_cache against functools.lru_cache's documented contract, side by side; cached and co."""

from __future__ import annotations

import copy
import functools
import pickle
import sys
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata.cache import (
    FIFOCache,
    LRUCache,
    cached,
    cachedmethod,
    hashkey,
    lru_cache,
    methodkey,
    typedkey,
)


@lru_cache(maxsize=8)
def module_level_square(x: int) -> int:
    """Square x."""
    return x * x


class Holder:
    @lru_cache
    def method(self, x: int) -> tuple[Any, int]:
        return (self, x)

    @staticmethod
    @lru_cache(maxsize=4)
    def static(x: int) -> int:
        return x + 1

    @classmethod
    @lru_cache(maxsize=4)
    def klass(cls, x: int) -> tuple[type, int]:
        return (cls, x)


_ARGS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([1.0, 2.0, -0.0, 0.0, True, False, "a", "b", b"a", None, (1, 2)]),
)
_CALL = st.tuples(
    st.lists(_ARGS, max_size=2),
    st.dictionaries(st.sampled_from(["x", "y"]), _ARGS, max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(_CALL, max_size=40),
    maxsize=st.sampled_from([None, 0, 1, 2, 5, -1]),
    typed=st.booleans(),
)
def test_cache_info_equals_the_stdlibs_on_the_same_calls(
    calls: list[tuple[list[Any], dict[str, Any]]], maxsize: int | None, typed: bool
) -> None:
    """Same call sequence, same hits, misses, maxsize and currsize as functools.lru_cache."""

    def f(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        return (args, tuple(kwargs.items()))

    ours = lru_cache(maxsize, typed)(f)
    theirs = functools.lru_cache(maxsize, typed)(f)
    for args, kwargs in calls:
        assert ours(*args, **kwargs) == theirs(*args, **kwargs)
        assert ours.cache_info() == theirs.cache_info()
    assert ours.cache_parameters() == theirs.cache_parameters()


def test_keyword_order_makes_distinct_entries_like_the_stdlib() -> None:
    """f(a=1, b=2) and f(b=2, a=1) are two cache entries (documented by functools)."""
    f = lru_cache()(lambda **kw: sorted(kw.items()))
    f(a=1, b=2)
    f(b=2, a=1)
    assert f.cache_info().misses == 2


def test_typed_separates_int_and_float() -> None:
    """typed=True caches f(3) and f(3.0) separately; typed=False shares them."""
    shared = lru_cache()(lambda x: x)
    split = lru_cache(typed=True)(lambda x: x)
    for f in (shared, split):
        f(3)
        f(3.0)
    assert shared.cache_info().hits == 0  # 3 is its own key, (3.0,) a tuple: as in CPython
    assert split.cache_info().misses == 2
    g = lru_cache()(lambda x, y: x)
    g(1, 2)
    g(1.0, 2)
    assert g.cache_info().hits == 1


def test_the_bare_decorator_form_uses_maxsize_128() -> None:
    """@lru_cache without parentheses caches with the defaults."""

    @lru_cache
    def f(x: int) -> int:
        return x

    assert f.cache_parameters() == {"maxsize": 128, "typed": False}
    f(1)
    f(1)
    assert f.cache_info() == (1, 1, 128, 1)


def test_maxsize_none_is_unbounded_and_maxsize_zero_caches_nothing() -> None:
    """None: every distinct call stays; 0 (or negative): every call is a miss."""
    unbounded = lru_cache(None)(lambda x: x)
    nothing = lru_cache(-5)(lambda x: x)
    for i in range(300):
        unbounded(i)
        nothing(1)
    assert unbounded.cache_info() == (0, 300, None, 300)
    assert nothing.cache_info() == (0, 300, 0, 0)


def test_bad_maxsize_is_a_type_error_naming_it() -> None:
    """maxsize must be an int, None or the function."""
    with pytest.raises(TypeError, match="maxsize"):
        lru_cache("big")  # type: ignore[call-overload]


def test_wrapper_metadata_and_wrapped_are_set() -> None:
    """__wrapped__, __name__, __doc__, __qualname__, __module__ come from the function."""
    assert module_level_square.__wrapped__(3) == 9
    assert module_level_square.__name__ == "module_level_square"
    assert module_level_square.__doc__ == "Square x."
    assert module_level_square.__module__ == __name__


def test_cache_clear_empties_and_resets_the_statistics() -> None:
    """cache_clear() forgets entries and counts."""
    f = lru_cache(4)(lambda x: x)
    f(1)
    f(1)
    f.cache_clear()
    assert f.cache_info() == (0, 0, 4, 0)
    f(1)
    assert f.cache_info() == (0, 1, 4, 1)


def test_methods_staticmethods_and_classmethods_are_cached() -> None:
    """Decorated methods bind as methods; static and class methods work stacked either way."""
    h = Holder()
    assert h.method(1) == (h, 1) and h.method(1) == (h, 1)
    assert Holder.method.cache_info().hits == 1
    assert Holder.static(1) == 2 and h.static(1) == 2
    assert Holder.klass(1) == (Holder, 1)


def test_recursive_calls_do_not_deadlock_and_count_like_the_stdlib() -> None:
    """A recursive cached function (fib) works and matches functools' statistics."""

    def make(dec: Any) -> Any:
        @dec(maxsize=None)
        def fib(n: int) -> int:
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        return fib

    ours, theirs = make(lru_cache), make(functools.lru_cache)
    assert ours(60) == theirs(60) == 1548008755920
    assert ours.cache_info() == theirs.cache_info()


def test_a_reentrant_call_from_a_keys_eq_does_not_deadlock() -> None:
    """A key whose __eq__ calls the cached function (CPython's test_need_for_rlock) works."""

    @lru_cache(maxsize=10)
    def f(x: Any) -> Any:
        return x

    class DoubleEq:
        def __init__(self, x: int) -> None:
            self.x = x

        def __hash__(self) -> int:
            return self.x

        def __eq__(self, other: object) -> bool:
            if self.x == 2:
                f(DoubleEq(1))
            return isinstance(other, DoubleEq) and self.x == other.x

    f(DoubleEq(1))
    f(DoubleEq(2))
    assert f(DoubleEq(2)).x == 2


def test_each_argument_is_hashed_once_per_call() -> None:
    """However many dict operations a call needs, each argument's __hash__ runs once."""
    calls = []

    class Key(int):
        def __hash__(self) -> int:
            calls.append(int(self))
            return int.__hash__(self)

    f = lru_cache(maxsize=1)(lambda a, b: a + b)
    f(Key(1), Key(2))  # miss: lookup + store
    assert sorted(calls) == [1, 2]
    calls.clear()
    f(Key(1), Key(2))  # hit
    assert sorted(calls) == [1, 2]
    calls.clear()
    f(Key(3), Key(4))  # miss with eviction
    assert sorted(calls) == [3, 4]


def test_unhashable_arguments_raise_type_error_without_counting() -> None:
    """TypeError for a list argument, and no miss recorded (as in functools)."""
    f = lru_cache()(lambda x: x)
    with pytest.raises(TypeError):
        f([1])
    assert f.cache_info() == (0, 0, 128, 0)


def test_exceptions_are_not_cached() -> None:
    """A call that raises is counted as a miss and retried next time."""
    n = [0]

    @lru_cache()
    def f(x: int) -> int:
        n[0] += 1
        if n[0] == 1:
            raise ValueError("first")
        return x

    with pytest.raises(ValueError):
        f(1)
    assert f(1) == 1 and f.cache_info() == (0, 2, 128, 1)


def test_the_decorated_function_pickles_and_copies_as_itself() -> None:
    """pickle, copy and deepcopy return the very same module-level function (as functools)."""
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(module_level_square, proto)) is module_level_square
    assert copy.copy(module_level_square) is module_level_square
    assert copy.deepcopy(module_level_square) is module_level_square


def test_bounded_cache_evicts_the_least_recently_used_call() -> None:
    """maxsize=2: the third distinct call evicts the least recently used one."""
    f = lru_cache(2)(lambda x: x)
    f(1)
    f(2)
    f(1)
    f(3)  # evicts 2
    f(1)
    f(2)
    assert f.cache_info() == (2, 4, 2, 2)


@pytest.mark.parametrize("maxsize", [None, 16])
def test_exact_stats_and_intact_cache_under_eight_threads(maxsize: int | None) -> None:
    """8 threads, sys.setswitchinterval(1e-6): hits + misses == calls, size within maxsize."""
    f = lru_cache(maxsize)(lambda x: x)
    per_thread = 3000
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:

        def work(seed: int) -> None:
            for i in range(per_thread):
                assert f((i * 7 + seed) % 40) == (i * 7 + seed) % 40

        threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    info = f.cache_info()
    assert info.hits + info.misses == 8 * per_thread
    assert info.currsize <= (maxsize or 40)


def test_single_flight_computes_a_key_once_for_concurrent_callers() -> None:
    """With single_flight=True, 8 threads missing on one key run the function once."""
    runs = []
    gate = threading.Event()

    @lru_cache(maxsize=4, single_flight=True)
    def slow(x: int) -> int:
        runs.append(x)
        gate.wait(5)
        return x * 2

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow(21))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert runs == [21] and results == [42] * 8
    assert slow.cache_info() == (7, 1, 4, 1)


def test_single_flight_shares_the_exception_and_allows_recursion() -> None:
    """Waiters get the first caller's exception; the owner may recurse on other keys."""

    @lru_cache(maxsize=None, single_flight=True)
    def fact(n: int) -> int:
        if n < 0:
            raise ValueError(n)
        return 1 if n == 0 else n * fact(n - 1)

    assert fact(10) == 3628800
    with pytest.raises(ValueError):
        fact(-1)
    assert fact.cache_info().misses == 12


# -- cached / cachedmethod --------------------------------------------------------------------


def test_cached_memoises_in_any_dskata_cache() -> None:
    """cached(cache) stores results in the given mapping and returns them on later calls."""
    calls = []

    @cached(FIFOCache(2), info=True)
    def f(x: int, *, scale: int = 1) -> int:
        calls.append(x)
        return x * scale

    assert f(2, scale=3) == 6 and f(2, scale=3) == 6
    assert calls == [2]
    assert f.cache_info().hits == 1  # type: ignore[attr-defined]
    assert hashkey(2, scale=3) in f.cache  # type: ignore[attr-defined]
    f.cache_clear()  # type: ignore[attr-defined]
    assert len(f.cache) == 0  # type: ignore[attr-defined]


def test_cached_returns_values_too_large_for_the_cache_uncached() -> None:
    """A ValueError from the cache (value too large) is swallowed and the value returned."""
    c: LRUCache[Any, str] = LRUCache(3, getsizeof=len)

    @cached(c, lock=threading.Lock())
    def f(n: int) -> str:
        return "x" * n

    assert f(10) == "x" * 10 and len(c) == 0
    assert f(2) == "xx" and len(c) == 1


def test_cachedmethod_uses_a_per_instance_cache_and_methodkey() -> None:
    """cachedmethod(lambda self: self.cache) keys by the arguments without self."""

    class Squarer:
        def __init__(self) -> None:
            self.cache: LRUCache[Any, int] = LRUCache(8)
            self.calls = 0

        @cachedmethod(lambda self: self.cache)
        def square(self, x: int) -> int:
            self.calls += 1
            return x * x

    a, b = Squarer(), Squarer()
    assert a.square(3) == 9 and a.square(3) == 9 and b.square(3) == 9
    assert (a.calls, b.calls) == (1, 1)
    assert methodkey(a, 3) == hashkey(3)


def test_key_functions_hash_once_and_distinguish_types_when_typed() -> None:
    """hashkey ignores keyword order; typedkey separates 1 and 1.0; keys pickle cleanly."""
    assert hashkey(1, a=1, b=2) == hashkey(1, b=2, a=1)
    assert typedkey(1) != typedkey(1.0) and hashkey(1) == hashkey(1.0)
    k = hashkey("s", 2)
    assert pickle.loads(pickle.dumps(k)) == k and hash(pickle.loads(pickle.dumps(k))) == hash(k)


def test_cached_rejects_bad_arguments() -> None:
    """cache must be a mapping or None, key must be callable."""
    with pytest.raises(TypeError, match="cache must be"):
        cached([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be callable"):
        cached({}, key=3)  # type: ignore[arg-type]


def test_caching_len_itself_does_not_confuse_the_wrapper() -> None:
    """builtins.len rebound to a cached len still works (CPython's reentrancy-with-len test)."""
    import builtins

    old = builtins.len
    try:
        builtins.len = lru_cache(4)(old)  # type: ignore[assignment]
        for i in [0, 0, 1, 2, 3, 3, 4, 5, 6, 1, 7, 2, 1]:
            assert len("abcdefghijklmn"[:i]) == i
    finally:
        builtins.len = old


@pytest.mark.parametrize("lock", [None, threading.Lock()], ids=["unlocked", "locked"])
def test_cached_makes_one_lookup_per_call_in_the_caches_statistics(lock: Any) -> None:
    """A miss then a hit through cached(LRUCache) count one miss and one hit, not two misses."""
    c: LRUCache[Any, int] = LRUCache(4)

    @cached(c, lock=lock)
    def f(x: int) -> int:
        return x + 1

    assert f(1) == 2 and f(1) == 2
    assert c.info()[:2] == (1, 1), f"got (hits, misses) {c.info()[:2]}, expected (1, 1)"


def test_cached_cache_info_reports_the_caches_currsize_and_plain_mappings_as_unbounded() -> None:
    """cache_info() takes maxsize and currsize from a sized cache, (None, len) from a dict."""
    sized: LRUCache[Any, str] = LRUCache(10, getsizeof=len)
    f = cached(sized, info=True)(lambda n: "x" * n)
    g = cached({}, info=True)(lambda n: n)
    f(3), f(3), g(1)
    assert f.cache_info() == (1, 1, 10, 3)  # type: ignore[attr-defined]
    assert g.cache_info() == (0, 1, None, 1)  # type: ignore[attr-defined]


def test_cached_with_a_condition_computes_each_key_once_under_concurrent_callers() -> None:
    """cached(cache, condition=Condition()) makes concurrent callers of a key wait for one."""
    calls = []
    gate = threading.Event()

    @cached(LRUCache(8), condition=threading.Condition(), info=True)
    def slow(x: int) -> int:
        calls.append(x)
        gate.wait(5)
        return x * 2

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow(21))) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == [42] * 6 and calls == [21], f"got {calls} calls, expected one"
    assert slow.cache_info()[:2] == (5, 1)  # type: ignore[attr-defined]
    assert slow.cache_condition is not None  # type: ignore[attr-defined]


def test_cachedmethod_cache_clear_empties_that_instances_cache() -> None:
    """Method.cache_clear(obj) clears obj's cache (cachetools' cachedmethod API)."""

    class Doubler:
        def __init__(self) -> None:
            self.cache: LRUCache[Any, int] = LRUCache(8)

        @cachedmethod(lambda self: self.cache, lock=lambda self: threading.Lock())
        def double(self, x: int) -> int:
            return 2 * x

    d = Doubler()
    assert d.double(2) == 4 and len(d.cache) == 1
    Doubler.double.cache_clear(d)  # type: ignore[attr-defined]
    assert len(d.cache) == 0


def test_cachedmethod_with_a_condition_computes_each_key_once() -> None:
    """cachedmethod(..., condition=lambda self: self.cond) lets one caller compute a key."""
    gate = threading.Event()

    class Slow:
        def __init__(self) -> None:
            self.cache: LRUCache[Any, int] = LRUCache(8)
            self.cond = threading.Condition()
            self.calls = 0

        @cachedmethod(lambda self: self.cache, condition=lambda self: self.cond)
        def get(self, x: int) -> int:
            self.calls += 1
            gate.wait(5)
            return x

    s = Slow()
    threads = [threading.Thread(target=s.get, args=(1,)) for _ in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(5)
    assert s.calls == 1 and s.cache[hashkey(1)] == 1


class _CountedLock:
    """cachetools' test double: counts how often the lock is entered."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> None:
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        pass


class _CountedCondition(_CountedLock):
    """cachetools' test double: a condition with only wait_for and notify_all."""

    def __init__(self) -> None:
        super().__init__()
        self.wait_count = 0
        self.notify_count = 0

    def wait_for(self, predicate: Any) -> None:
        self.wait_count += 1

    def notify_all(self) -> None:
        self.notify_count += 1


def test_cached_uses_a_condition_exactly_as_cachetools_does() -> None:
    """Per call: wait_for once; a miss enters the lock 3 times and notifies, a hit enters once."""
    cond = _CountedCondition()
    f = cached(LRUCache(2), condition=cond)(lambda x: x)
    assert f(0) == 0 and (cond.count, cond.wait_count, cond.notify_count) == (3, 1, 1)
    assert f(1) == 1 and (cond.count, cond.wait_count, cond.notify_count) == (6, 2, 2)
    assert f(1) == 1 and (cond.count, cond.wait_count, cond.notify_count) == (7, 3, 2)
    assert f.cache_lock is cond and f.cache_condition is cond  # type: ignore[attr-defined]


def test_cached_with_a_lock_enters_it_twice_on_a_miss_and_once_on_a_hit() -> None:
    """cachetools' lock protocol: lookup, then store; a hit only looks up."""
    lock = _CountedLock()
    f = cached(LRUCache(2), lock=lock, info=True)(lambda x: x)
    assert f(0) == 0 and lock.count == 2
    assert f(0) == 0 and lock.count == 3
    assert f.cache_info() == (1, 1, 2, 1) and lock.count == 4  # type: ignore[attr-defined]


class _Locked:
    """A class whose instances are their own lock and condition (cachetools' test idiom)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.count = 0
        self.lock_count = self.wait_count = self.notify_count = 0

    def __enter__(self) -> None:
        self.lock_count += 1

    def __exit__(self, *exc: object) -> None:
        pass

    def wait_for(self, predicate: Any) -> None:
        self.wait_count += 1

    def notify_all(self) -> None:
        self.notify_count += 1

    @cachedmethod(lambda self: self.cache, lock=lambda self: self)
    def locked(self, value: int) -> int:
        self.count += 1
        return self.count

    @cachedmethod(lambda self: self.cache, condition=lambda self: self)
    def conditioned(self, value: int) -> int:
        self.count += 1
        return self.count


def test_a_bound_cachedmethod_exposes_the_instances_cache_lock_and_condition() -> None:
    """obj.method.cache / cache_lock / cache_condition are obj's objects, as in cachetools 6+."""
    obj = _Locked({})
    assert obj.locked.cache is obj.cache  # type: ignore[attr-defined]
    assert obj.locked.cache_lock is obj and obj.locked.cache_condition is None  # type: ignore[attr-defined]
    assert obj.conditioned.cache_lock is obj and obj.conditioned.cache_condition is obj
    assert obj.locked.cache_key is methodkey
    assert _Locked.locked.__wrapped__(obj, 0) == 1 and len(obj.cache) == 0  # type: ignore[attr-defined]
    assert obj.locked.__name__ == "locked"


def test_cachedmethod_locks_and_waits_as_cachetools_does() -> None:
    """A miss enters the lock twice (three times with a condition), a hit once."""
    obj = _Locked({})
    assert obj.locked(0) == 1 and obj.lock_count == 2
    assert obj.locked(0) == 1 and obj.lock_count == 3
    other = _Locked({})
    assert other.conditioned(0) == 1
    assert (other.lock_count, other.wait_count, other.notify_count) == (3, 1, 1)
    assert other.conditioned(0) == 1
    assert (other.lock_count, other.wait_count, other.notify_count) == (4, 2, 1)


def test_a_bound_cachedmethods_cache_clear_empties_that_instances_cache_under_its_lock() -> None:
    """obj.method.cache_clear() (no argument) clears obj's cache, holding obj's lock."""
    obj = _Locked({})
    obj.locked(0)
    obj.locked.cache_clear()  # type: ignore[attr-defined]
    assert len(obj.cache) == 0 and obj.lock_count == 3
