"""LRUCache: the mapping contract, cachetools compatibility, statistics, threads, pickling."""

from __future__ import annotations

import copy
import pickle
import random
import sys
import threading
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.cache import CacheInfo, LRUCache


def test_a_read_refreshes_recency_so_the_other_key_is_evicted() -> None:
    """get and [] make a key most recently used; the least recent one is evicted."""
    c: LRUCache[str, int] = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    assert c["a"] == 1
    c["c"] = 3
    assert list(c) == ["a", "c"]
    c.get("a")
    c["d"] = 4
    assert list(c) == ["a", "d"]
    c._check()


def test_an_overwrite_refreshes_recency() -> None:
    """Assigning an existing key makes it most recently used (the catch: updating in place)."""
    c: LRUCache[str, int] = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["a"] = 10
    c["c"] = 3
    assert dict(c) == {"a": 10, "c": 3}


def test_peek_contains_len_and_iteration_do_not_promote_or_count() -> None:
    """peek, in, len and iteration leave the order and the statistics alone."""
    c: LRUCache[str, int] = LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    assert c.peek("a") == 1 and "a" in c and len(c) == 2 and list(c.items()) == [("a", 1), ("b", 2)]
    assert c.peek("zz", 7) == 7
    c["c"] = 3
    assert "a" not in c
    assert c.info() == CacheInfo(0, 0, 1, 2, 2)


def test_info_counts_hits_misses_and_evictions() -> None:
    """info() is (hits, misses, evictions, maxsize, currsize)."""
    c: LRUCache[int, int] = LRUCache(2)
    for k in [1, 2, 3]:
        if c.get(k) is None:
            c[k] = k
    c.get(3)
    with pytest.raises(KeyError):
        c[1]
    assert c.info() == CacheInfo(hits=1, misses=4, evictions=1, maxsize=2, currsize=2)


def test_popitem_pop_setdefault_and_clear_follow_cachetools() -> None:
    """popitem evicts the LRU entry, pop takes a default, setdefault is a lookup-or-store."""
    c: LRUCache[str, int] = LRUCache(3)
    c.update(a=1, b=2)
    assert c.setdefault("a", 9) == 1 and c.setdefault("c", 3) == 3
    assert c.popitem() == ("b", 2)
    assert c.pop("a") == 1 and c.pop("a", None) is None
    with pytest.raises(KeyError):
        c.pop("a")
    c.clear()
    assert len(c) == 0 and c.currsize == 0
    with pytest.raises(KeyError, match="empty"):
        c.popitem()
    c._check()


def test_getsizeof_bounds_the_total_and_refuses_too_large_values() -> None:
    """With getsizeof, currsize is the total weight; a value over maxsize is a ValueError."""
    c: LRUCache[str, str] = LRUCache(10, getsizeof=len)
    c["a"] = "xxxx"
    c["b"] = "xxxx"
    c["c"] = "xxx"  # 11 > 10: "a" goes
    assert list(c) == ["b", "c"] and c.currsize == 7
    c["b"] = "x"  # shrinking in place
    assert c.currsize == 4 and c.getsizeof("abc") == 3
    with pytest.raises(ValueError, match="too large"):
        c["big"] = "x" * 11
    assert list(c) == ["c", "b"]
    c._check()


def test_maxsize_zero_stores_nothing_and_says_so() -> None:
    """maxsize=0 is allowed (cachetools) but every store is refused with ValueError."""
    c: LRUCache[str, int] = LRUCache(0)
    with pytest.raises(ValueError, match="maxsize 0"):
        c["a"] = 1
    assert len(c) == 0


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        ({"maxsize": -1}, ValueError, "maxsize must be an int >= 0, got -1"),
        ({"maxsize": 2.0}, TypeError, "maxsize must be an int >= 0, got float"),
        ({"maxsize": True}, TypeError, "maxsize"),
        ({"maxsize": 2, "getsizeof": 3}, TypeError, "getsizeof must be callable"),
        ({"maxsize": 2, "on_evict": "x"}, TypeError, "on_evict must be callable"),
        ({"maxsize": 2, "lock": 1}, TypeError, "lock must be a bool"),
    ],
)
def test_bad_constructor_arguments_name_the_parameter(
    kwargs: dict[str, Any], exc: type[Exception], words: str
) -> None:
    """Bad arguments raise TypeError/ValueError naming the parameter, the value and the rule."""
    with pytest.raises(exc, match=words):
        LRUCache(**kwargs)


def test_an_unhashable_key_changes_nothing() -> None:
    """A TypeError from hashing leaves the cache and its statistics untouched."""
    c: LRUCache[Any, int] = LRUCache(2)
    c["a"] = 1
    for op in (lambda: c.get([]), lambda: c.__setitem__([], 1), lambda: c[[]]):
        with pytest.raises(TypeError):
            op()
    assert c.info() == CacheInfo(0, 0, 0, 2, 1) and list(c) == ["a"]


def test_resize_evicts_the_least_recent_and_reports_them() -> None:
    """Shrinking evicts LRU-first, counts evictions and calls on_evict for each."""
    seen: list[tuple[str, int]] = []
    c: LRUCache[str, int] = LRUCache(3, on_evict=lambda k, v: seen.append((k, v)))
    c.update(a=1, b=2, c=3)
    c.resize(1)
    assert list(c) == ["c"] and seen == [("a", 1), ("b", 2)] and c.info().evictions == 2
    with pytest.raises(ValueError, match="maxsize"):
        c.resize(-2)
    assert c.maxsize == 1


def test_on_evict_runs_after_the_cache_is_consistent() -> None:
    """A raising callback leaves the new entry stored and the victim gone."""

    def boom(k: str, v: int) -> None:
        raise RuntimeError(k)

    c: LRUCache[str, int] = LRUCache(1, on_evict=boom)
    c["a"] = 1
    with pytest.raises(RuntimeError, match="a"):
        c["b"] = 2
    assert dict(c) == {"b": 2}
    c._check()


def test_subclass_missing_and_popitem_hooks_work_as_in_cachetools() -> None:
    """__missing__ supplies values for []; an overridden popitem observes every eviction."""
    evicted: list[int] = []

    class Squares(LRUCache[int, int]):
        def __missing__(self, key: int) -> int:
            self[key] = key * key
            return key * key

        def popitem(self) -> tuple[int, int]:
            item = super().popitem()
            evicted.append(item[0])
            return item

    c = Squares(2)
    assert [c[3], c[4], c[5]] == [9, 16, 25]
    assert evicted == [3] and list(c) == [4, 5]
    assert c.info().misses == 3


def test_lru_cache_is_generic_and_a_mutable_mapping() -> None:
    """LRUCache[K, V] subscripts at runtime and is a MutableMapping; repr shows the entries."""
    from collections.abc import MutableMapping

    alias = LRUCache[str, int]
    c = alias(2)
    assert isinstance(c, MutableMapping)
    c["a"] = 1
    assert repr(c) == "LRUCache({'a': 1}, maxsize=2, currsize=1)"
    assert c == {"a": 1}


@pytest.mark.parametrize("lock", [False, True])
def test_pickle_and_copy_keep_order_stats_and_independence(lock: bool) -> None:
    """Round trips preserve entries in order, sizes and statistics; copies are independent."""
    c: LRUCache[str, str] = LRUCache(5, getsizeof=len, lock=lock)
    c.update(a="x", b="yy", c="z")
    c.get("a")
    c.get("nope")
    for clone in (pickle.loads(pickle.dumps(c)), copy.copy(c), copy.deepcopy(c), c.copy()):
        assert list(clone.items()) == list(c.items()) and clone.info() == c.info()
        assert type(clone) is type(c)
        clone["d"] = "www"
        clone._check()
        assert "d" not in c
    c._check()


def test_lock_true_gives_a_locked_lru_cache() -> None:
    """lock=True returns an LRUCache whose repr and behaviour match the plain one."""
    c: LRUCache[str, int] = LRUCache(2, lock=True)
    assert isinstance(c, LRUCache)
    c["a"] = 1
    assert repr(c) == "LRUCache({'a': 1}, maxsize=2, currsize=1)"
    assert list(c) == ["a"] and list(c.keys()) == ["a"] and list(c.values()) == [1]


class LRUAgainstOrderedDict(RuleBasedStateMachine):
    """Random programs on LRUCache and a 10-line OrderedDict model (house rule 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: LRUCache[int, int] = LRUCache(3)
        self.model: OrderedDict[int, int] = OrderedDict()
        self.stats = [0, 0, 0]

    def _evict(self) -> None:
        while len(self.model) > 3:
            self.model.popitem(last=False)
            self.stats[2] += 1

    @rule(key=st.integers(0, 6))
    def get(self, key: int) -> None:
        if key in self.model:
            self.model.move_to_end(key)
            self.stats[0] += 1
        else:
            self.stats[1] += 1
        assert self.cache.get(key) == self.model.get(key)

    @rule(key=st.integers(0, 6), value=st.integers())
    def set(self, key: int, value: int) -> None:
        self.model[key] = value
        self.model.move_to_end(key)
        self._evict()
        self.cache[key] = value

    @rule(key=st.integers(0, 6))
    def pop(self, key: int) -> None:
        assert self.cache.pop(key, None) == self.model.pop(key, None)

    @rule(key=st.integers(0, 6))
    def peek(self, key: int) -> None:
        assert self.cache.peek(key) == self.model.get(key)

    @rule(size=st.integers(1, 4))
    def resize(self, size: int) -> None:
        self.cache.resize(size)
        self.cache.resize(3)  # back, so the model's capacity stays 3
        while len(self.model) > size:
            self.model.popitem(last=False)
            self.stats[2] += 1

    @invariant()
    def same_entries_same_order_same_stats(self) -> None:
        self.cache._check()
        assert list(self.cache.items()) == list(self.model.items())
        info = self.cache.info()
        assert [info.hits, info.misses, info.evictions] == self.stats


LRUAgainstOrderedDict.TestCase.settings = settings(
    max_examples=30, stateful_step_count=30, deadline=None
)
TestLRUAgainstOrderedDict = LRUAgainstOrderedDict.TestCase


def test_hits_match_cachetools_lru_on_a_random_trace() -> None:
    """Side by side with cachetools.LRUCache: the same keys survive every step."""
    cachetools = pytest.importorskip("cachetools")
    rng = random.Random(7)
    ours: LRUCache[int, int] = LRUCache(20)
    theirs = cachetools.LRUCache(20)
    for _ in range(3000):
        k = rng.randrange(60)
        for c in (ours, theirs):
            if c.get(k) is None:
                c[k] = k
        assert set(ours) == set(theirs)


def test_locked_cache_keeps_exact_stats_under_forced_thread_switches() -> None:
    """8 threads, a switch every microsecond: hits + misses == lookups, structure intact."""
    c: LRUCache[int, int] = LRUCache(50, lock=True)
    lookups_per_thread = 3000
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:

        def work(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(lookups_per_thread):
                k = rng.randrange(120)
                if c.get(k) is None:
                    c[k] = k
                if rng.random() < 0.05:
                    c.pop(rng.randrange(120), None)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    info = c.info()
    assert info.hits + info.misses == 8 * lookups_per_thread
    assert info.currsize <= 50
    c._check()


class _Tagged(LRUCache[str, int]):
    def __init__(self, maxsize: int, tag: str) -> None:
        super().__init__(maxsize)
        self.tag = tag


def test_a_subclass_keeps_its_own_attributes_through_pickle_and_copy() -> None:
    """Subclass attributes (in __dict__) survive pickling and copying with the entries."""
    c = _Tagged(2, "blue")
    c["a"] = 1
    for clone in (pickle.loads(pickle.dumps(c)), copy.copy(c), c.copy()):
        assert type(clone) is _Tagged and clone.tag == "blue" and dict(clone) == {"a": 1}


def test_a_subclass_with_lock_true_gets_locked_methods_around_its_own_overrides() -> None:
    """MyCache(..., lock=True) works: the subclass's popitem still sees evictions, its __init__
    still runs, repr shows its name, and it pickles and copies as a locked MyCache."""
    c = _ObservingCache(2, "tag", lock=True)
    c.update(a=1, b=2)
    c["c"] = 3
    assert c.evicted == [("a", 1)] and c.tag == "tag" and isinstance(c, _ObservingCache)
    assert repr(c).startswith("_ObservingCache({'b': 2, 'c': 3}")
    for clone in (pickle.loads(pickle.dumps(c)), copy.copy(c)):
        assert type(clone) is type(c) and dict(clone) == {"b": 2, "c": 3}
        assert clone._lock is not c._lock  # type: ignore[attr-defined]
    assert type(_ObservingCache(2, "x")) is _ObservingCache  # lock=False: the class itself


class _ObservingCache(LRUCache[str, int]):
    def __init__(self, maxsize: int, tag: str, **kwargs: Any) -> None:
        super().__init__(maxsize, **kwargs)
        self.tag = tag
        self.evicted: list[tuple[str, int]] = []

    def popitem(self) -> tuple[str, int]:
        item = super().popitem()
        self.evicted.append(item)
        return item


def test_lock_true_on_a_subclass_with_its_own_slots_is_refused_with_a_clear_error() -> None:
    """A subclass adding __slots__ cannot be combined with the lock; the TypeError says so."""

    class Slotted(LRUCache[str, int]):
        __slots__ = ("extra",)

    with pytest.raises(TypeError, match="lock=True is not supported by Slotted"):
        Slotted(2, lock=True)
