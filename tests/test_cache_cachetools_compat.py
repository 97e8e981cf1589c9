"""cachetools compatibility: what its documentation promises, kept by dskata's caches and keys.

Each test here pins down a behaviour that cachetools' own test suite exercises and that dskata
once got wrong (found by running that suite against dskata through a shim, outside this repo).
The deliberate differences are listed in docs/cache.md, "Differences from cachetools".
"""

from __future__ import annotations

import copy
import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata.cache import (
    ARCCache,
    FIFOCache,
    LFUCache,
    LRUCache,
    S3FIFOCache,
    SIEVECache,
    TTLCache,
    WTinyLFUCache,
    cached,
    cachedmethod,
    hashkey,
    methodkey,
    typedkey,
    typedmethodkey,
)

_HASHABLE = st.one_of(
    st.integers(-5, 5), st.text(max_size=3), st.sampled_from([1.0, None, True, b"x", (1, "a")])
)
_ARGS = st.lists(_HASHABLE, max_size=3).map(tuple)
_KWARGS = st.dictionaries(st.sampled_from(["a", "b", "q"]), _HASHABLE, max_size=3)


# -- key functions ------------------------------------------------------------------------------


@given(_ARGS, _KWARGS)
def test_a_key_with_keyword_arguments_equals_itself_after_pickling(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """hashkey/typedkey results survive a pickle round trip: equal, with an equal hash."""
    for key_fn in (hashkey, typedkey):
        key = key_fn(*args, **kwargs)
        back = pickle.loads(pickle.dumps(key))
        assert back == key and hash(back) == hash(key)
        assert copy.deepcopy(key) == key


def test_a_pickled_cache_still_hits_the_keys_of_calls_with_keyword_arguments() -> None:
    """A memo cache pickled and reloaded answers the same calls (keyword arguments included)."""
    cache: LRUCache[Any, int] = LRUCache(4)
    calls: list[int] = []

    def add(x: int, *, y: int) -> int:
        calls.append(x)
        return x + y

    cached(cache)(add)(1, y=2)
    restored = pickle.loads(pickle.dumps(cache))
    assert cached(restored)(add)(1, y=2) == 3 and calls == [1]


@given(_ARGS, _ARGS)
def test_concatenated_keys_are_keys_of_the_concatenated_arguments(
    a: tuple[Any, ...], b: tuple[Any, ...]
) -> None:
    """hashkey(*a) + hashkey(*b) is hashkey(*a, *b), of the same type, with plain tuples too."""
    whole = hashkey(*a, *b)
    key_type = type(hashkey())
    for joined in (hashkey(*a) + hashkey(*b), hashkey(*a) + b, a + hashkey(*b)):  # type: ignore[operator]
        assert type(joined) is key_type
        assert joined == whole and hash(joined) == hash(whole)


def test_typedmethodkey_ignores_self_and_tells_types_apart() -> None:
    """typedmethodkey(self, ...) is typedkey(...): self dropped, 1 and 1.0 different."""
    assert typedmethodkey("one instance", 1, x=2) == typedmethodkey("another", 1, x=2)
    assert typedmethodkey("s", 1, x=2) == typedkey(1, x=2)
    assert typedmethodkey("s", 1) != typedmethodkey("s", 1.0)
    assert methodkey("s", 1) == methodkey("t", 1.0)


# -- cached -------------------------------------------------------------------------------------


def test_cached_without_a_cache_reports_maxsize_zero_and_counts_misses() -> None:
    """cached(None, info=True): every call a miss, cache_info() == (0, n, 0, 0)."""
    f = cached(None, info=True)(lambda x: x)
    assert f.cache_info() == (0, 0, 0, 0)  # type: ignore[attr-defined]
    f(1)
    f(1)
    assert f.cache_info() == (0, 2, 0, 0)  # type: ignore[attr-defined]


# -- the mapping API ----------------------------------------------------------------------------

_POLICIES: list[Callable[[int], Any]] = [
    LRUCache,
    FIFOCache,
    LFUCache,
    lambda n: TTLCache(n, ttl=10, timer=lambda: 0.0),
    ARCCache,
    SIEVECache,
    S3FIFOCache,
    WTinyLFUCache,
]


@pytest.mark.parametrize("make", _POLICIES)
def test_popitem_on_an_empty_cache_raises_keyerror_without_an_exception_context(
    make: Callable[[int], Any],
) -> None:
    """As MutableMapping.popitem: KeyError, no __cause__, context suppressed."""
    with pytest.raises(KeyError) as info:
        make(2).popitem()
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_an_lfu_entry_that_grows_keeps_its_use_count_when_it_survives() -> None:
    """Overwriting a frequently used key with a bigger value evicts a colder key, not its count."""
    c: LFUCache[str, str] = LFUCache(6, getsizeof=len)
    c["hot"] = "x"
    c["a"] = "xx"
    c["b"] = "xx"
    c["hot"], c["hot"], c["a"]
    c["hot"] = "xxx"  # 7 > 6: "b" (used once) goes; "hot" keeps its 3 uses, plus this one
    assert sorted(c) == ["a", "hot"] and c.frequency("hot") == 4
    c["new"] = "xxx"  # 8 > 6: "a" (2 uses) goes before "hot" (4 uses)
    assert sorted(c) == ["hot", "new"]
    c._check()


def test_an_lfu_entry_that_grows_may_be_its_own_victim_and_then_returns_as_new() -> None:
    """When the growing key is the least used, eviction picks it first (as cachetools does)."""
    c: LFUCache[str, str] = LFUCache(4, getsizeof=len)
    c["cold"] = "x"
    c["warm"] = "xx"
    c["warm"]
    c["cold"] = "xxx"  # 5 > 4: "cold" (1 use) is evicted first, then "warm" to make room
    assert list(c) == ["cold"] and c.frequency("cold") == 1
    c._check()


class _SizedModel:
    """cachetools' sized eviction, executable: evict the policy's victim until the value fits.

    ``rank(entry)`` orders the victims (smallest first); an entry is ``[value, uses, stamp]``.
    LFU ranks by (uses, stamp), FIFO by stamp; both re-stamp an overwritten key.
    """

    def __init__(self, maxsize: int, rank: Callable[[list[Any]], Any], counts: bool) -> None:
        self.maxsize, self.rank, self.counts = maxsize, rank, counts
        self.entries: dict[str, list[Any]] = {}
        self.clock = 0

    def size(self) -> int:
        return sum(len(e[0]) for e in self.entries.values())

    def get(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is not None and self.counts:
            self.clock += 1
            entry[1] += 1
            entry[2] = self.clock

    def set(self, key: str, value: str) -> None:
        if len(value) > self.maxsize:
            return
        while (
            self.size() - (len(self.entries[key][0]) if key in self.entries else 0) + len(value)
            > self.maxsize
        ):
            victim = min(self.entries, key=lambda k: self.rank(self.entries[k]))
            del self.entries[victim]
        self.clock += 1
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = [value, 1, self.clock]
        else:
            entry[0], entry[1], entry[2] = value, entry[1] + 1, self.clock


_PROGRAM = st.lists(
    st.tuples(st.sampled_from(["get", "set"]), st.sampled_from("abcd"), st.text("x", max_size=3)),
    max_size=40,
)


@pytest.mark.parametrize(
    ("make", "rank", "counts"),
    [
        (lambda n: LFUCache(n, getsizeof=len), lambda e: (e[1], e[2]), True),
        (lambda n: FIFOCache(n, getsizeof=len), lambda e: e[2], False),
    ],
    ids=["lfu", "fifo"],
)
@settings(max_examples=150, deadline=None)
@given(maxsize=st.integers(2, 7), program=_PROGRAM)
def test_sized_lfu_and_fifo_evict_like_cachetools(
    make: Callable[[int], Any],
    rank: Callable[[list[Any]], Any],
    counts: bool,
    maxsize: int,
    program: list[tuple[str, str, str]],
) -> None:
    """With getsizeof, the entries after any program of reads and writes equal the model's."""
    cache, model = make(maxsize), _SizedModel(maxsize, rank, counts)
    for op, key, value in program:
        if op == "get":
            cache.get(key)
            model.get(key)
        else:
            try:
                cache[key] = value
            except ValueError:
                assert len(value) > maxsize
            model.set(key, value)
        assert dict(cache.items()) == {k: e[0] for k, e in model.entries.items()}
        cache._check()


# -- cachedmethod(info=True) --------------------------------------------------------------------


class _Counter:
    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.calls = 0

    @cachedmethod(lambda self: self.cache, info=True)
    def get(self, value: Any) -> int:
        """Count the computations."""
        self.calls += 1
        return self.calls


def test_cachedmethod_info_counts_hits_and_misses_per_instance() -> None:
    """Two instances sharing one cache each count their own calls; currsize is the cache's."""
    shared: LRUCache[Any, int] = LRUCache(4)
    one, two = _Counter(shared), _Counter(shared)
    one.get(0)
    two.get(0)
    assert one.get.cache_info() == (0, 1, 4, 1)  # type: ignore[attr-defined]
    assert two.get.cache_info() == (1, 0, 4, 1)  # type: ignore[attr-defined]


def test_cachedmethod_cache_clear_resets_that_instances_statistics() -> None:
    """obj.method.cache_clear() empties obj's cache and zeroes obj's counts."""
    obj = _Counter({})
    obj.get(0)
    obj.get(0)
    assert obj.get.cache_info() == (1, 1, None, 1)  # type: ignore[attr-defined]
    obj.get.cache_clear()  # type: ignore[attr-defined]
    assert obj.get.cache_info() == (0, 0, None, 0)  # type: ignore[attr-defined]


def test_cachedmethod_info_statistics_travel_with_a_pickled_instance() -> None:
    """The counts live in the instance's __dict__: pickling keeps them, the method still works."""
    obj = _Counter({})
    obj.get(0)
    back = pickle.loads(pickle.dumps(obj))
    assert back.get.cache_info() == (0, 1, None, 1) and back.get(0) == 1
    assert pickle.loads(pickle.dumps(_Counter.get)) is _Counter.__dict__["get"]


def test_cachedmethod_info_needs_an_instance_dict() -> None:
    """A __slots__ class cannot hold per-instance counts: TypeError; without info it works."""

    class Slots:
        __slots__ = ("cache",)

        def __init__(self) -> None:
            self.cache: dict[Any, Any] = {}

        @cachedmethod(lambda self: self.cache)
        def plain(self, x: int) -> int:
            return x

        @cachedmethod(lambda self: self.cache, info=True)
        def counted(self, x: int) -> int:
            return x

    obj = Slots()
    assert obj.plain(1) == 1
    with pytest.raises(TypeError, match="__dict__"):
        obj.counted(1)


def test_cachedmethod_info_needs_set_name() -> None:
    """Attached after the class body (no __set_name__), an info=True method refuses to run."""

    class Late:
        def method(self) -> int:
            return 1

    Late.method = cachedmethod(lambda self: {}, info=True)(Late.method)  # type: ignore[method-assign]
    with pytest.raises(TypeError, match="__set_name__"):
        Late().method()


def test_one_cachedmethod_cannot_take_two_names() -> None:
    """Binding one descriptor to two attribute names fails at class creation, naming both."""
    with pytest.raises((TypeError, RuntimeError), match="bar"):

        class Twice:
            @cachedmethod(lambda self: {})
            def foo(self) -> None:
                pass

            bar = foo


def test_cachedmethod_info_without_a_cache_raises_typeerror() -> None:
    """cache(obj) None: calls pass through, but there is no cache to report: TypeError."""
    obj = _Counter(None)
    assert obj.get(0) == 1 and obj.get(0) == 2
    with pytest.raises(TypeError):
        obj.get.cache_info()  # type: ignore[attr-defined]


class _Base:
    def __init__(self) -> None:
        self.base_cache: LRUCache[Any, int] = LRUCache(10)
        self.derived_cache: LRUCache[Any, int] = LRUCache(10)

    @cachedmethod(lambda self: self.base_cache, info=True)
    def f(self, x: int) -> int:
        return x


class _Derived(_Base):
    @cachedmethod(lambda self: self.derived_cache, info=True)
    def f(self, x: int) -> int:
        return super().f(x) + 1


def test_an_override_and_the_method_it_reaches_through_super_count_apart() -> None:
    """Each cachedmethod keeps its own per-instance counts, as cachetools 8 does."""
    obj = _Derived()
    assert (obj.f(1), obj.f(1), obj.f(2)) == (2, 2, 3)
    assert obj.f.cache_info() == (1, 2, 10, 2)  # type: ignore[attr-defined]
    assert _Base.f.cache_info(obj) == (0, 2, 10, 2)  # type: ignore[attr-defined]
    assert _Derived.f.cache_info(obj) == obj.f.cache_info()  # type: ignore[attr-defined]
    obj.f.cache_clear()  # type: ignore[attr-defined]
    assert _Base.f.cache_info(obj)[:2] == (0, 2)  # type: ignore[attr-defined]
    back = pickle.loads(pickle.dumps(obj))
    assert _Base.f.cache_info(back)[:2] == (0, 2)  # type: ignore[attr-defined]
    assert back.f.cache_info()[:2] == (0, 0)


def test_calls_through_the_class_count_in_the_instances_statistics() -> None:
    """Class.method(obj, x) is a call on obj: it counts, as in cachetools."""
    obj = _Counter({})
    _Counter.get(obj, 1)
    _Counter.get(obj, 1)
    obj.get(1)
    assert obj.get.cache_info() == (2, 1, None, 1)  # type: ignore[attr-defined]


def test_a_bound_cachedmethod_has_the_methods_name_and_docstring() -> None:
    """obj.method.__doc__ / __name__ are the decorated method's, as for a bound method."""
    obj = _Counter({})
    assert obj.get.__name__ == "get" and obj.get.__doc__ == "Count the computations."


# -- copying ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", _POLICIES)
def test_a_shallow_copy_is_independent_of_the_original(make: Callable[[int], Any]) -> None:
    """copy.copy(cache): same entries and values; changing either never changes the other."""
    original = make(4)
    value = ["shared"]
    original["a"], original["b"] = value, 2
    clone = copy.copy(original)
    assert dict(clone.items()) == dict(original.items()) and clone.peek("a") is value
    clone.pop("b")
    clone["c"] = 3
    assert sorted(original) == ["a", "b"] and sorted(clone) == ["a", "c"]
    original._check()
    clone._check()


def test_a_copied_ttl_cache_reads_the_same_clock() -> None:
    """The copy's entries expire with the original's, on the clock given to the original."""
    now = [0.0]
    original: TTLCache[str, int] = TTLCache(4, ttl=2, timer=lambda: now[0])
    original["a"] = 1
    clone = copy.copy(original)
    now[0] = 2.0
    assert "a" not in original and "a" not in clone


class _Unclonable:
    """A key hashed by identity that deepcopy refuses (it holds a lock)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"K{self.n}"


def _ghosts(cache: Any) -> list[Any]:
    """The keys a policy remembers without caching them."""
    if isinstance(cache, S3FIFOCache):
        return cache.ghost_keys()
    if isinstance(cache, ARCCache):
        return [*cache._b1, *cache._b2]
    if isinstance(cache, TTLCache):
        return [r[2] for r in cache._heap if r[2] not in cache._data]
    assert isinstance(cache, WTinyLFUCache)
    return [cache._last_miss]


@pytest.mark.parametrize(
    "make",
    [
        lambda: S3FIFOCache(10),
        lambda: ARCCache(10),
        lambda: TTLCache(10, ttl=100, timer=lambda: 0.0),
        lambda: WTinyLFUCache(10),
    ],
    ids=["s3fifo", "arc", "ttl", "wtinylfu"],
)
def test_a_copy_shares_remembered_keys_in_new_containers(make: Callable[[], Any]) -> None:
    """Ghosts and stale records are copied shallowly: same key objects, independent queues."""
    keys = [_Unclonable(i) for i in range(14)]
    original = make()
    for k in keys[:12]:
        original[k] = k.n
        if k.n % 2:
            original.get(k)  # ARC: to T2, so that evictions leave ghosts
    for k in keys[:2]:
        original.pop(k, None)  # a stale TTL record
    original.get(keys[13])  # W-TinyLFU's last miss
    ghosts = _ghosts(original)
    assert ghosts, "the setup must leave a remembered key"
    for clone in (original.copy(), copy.copy(original)):  # deepcopy of a key would raise
        assert all(a is b for a, b in zip(_ghosts(clone), ghosts, strict=True))
        clone._check()
    # Identity-hashed ghosts keep their history: both caches treat a returning ghost alike.
    clone = original.copy()
    returning = ghosts[0]
    original[returning] = -1
    clone[returning] = -1
    assert _ghosts(clone) == _ghosts(original)
    if isinstance(original, S3FIFOCache):
        assert returning in original.main_keys() and returning in clone.main_keys()
    if isinstance(original, ARCCache):
        assert clone.p == original.p and returning in clone._t2 and returning in original._t2
    if isinstance(original, WTinyLFUCache):
        assert clone.frequency(returning) == original.frequency(returning)
    # ...and the containers are the copy's own.
    before = _ghosts(original)
    clone.clear()
    clone.get(keys[12])
    assert _ghosts(original) == before
    original._check()
    clone._check()
