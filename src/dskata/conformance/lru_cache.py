"""Contract of the ``lru-cache`` kata: an O(1) LRU mapping, then a memoising decorator.

The learner builds ``LRUCache(maxsize)`` (``cache[key] = value``, ``cache[key]`` raising
``KeyError`` on a miss, ``get(key, default=None)``, ``in``, ``len``) and
``lru_cache(maxsize)``, a decorator whose wrapper has ``cache_info()`` returning
``(hits, misses, maxsize, currsize)``. dskata's own :class:`dskata.cache.LRUCache` and
:func:`dskata.cache.lru_cache` pass the same tests.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

KATA = "lru-cache"


# -- step 1 -------------------------------------------------------------------------------------


@pytest.mark.kata_step(1, "get and put")
def test_a_stored_value_can_be_read_back(impl: Any) -> None:
    """A value stored under a key is returned by cache[key] and by get(key)."""
    c = impl.LRUCache(2)
    c["a"] = 1
    assert c["a"] == 1, f"cache['a'] returned {c['a']!r}, expected 1"
    assert c.get("a") == 1
    assert "a" in c and len(c) == 1, f"len is {len(c)}, expected 1"


@pytest.mark.kata_step(1, "get and put")
def test_a_missing_key_raises_key_error_and_get_returns_the_default(impl: Any) -> None:
    """cache[key] on a missing key raises KeyError; get returns None or the given default."""
    c = impl.LRUCache(2)
    with pytest.raises(KeyError):
        c["nope"]
    assert c.get("nope") is None
    assert c.get("nope", 7) == 7
    assert "nope" not in c


@pytest.mark.kata_step(1, "get and put")
def test_storing_an_existing_key_replaces_its_value(impl: Any) -> None:
    """Assigning again replaces the value without growing the cache."""
    c = impl.LRUCache(2)
    c["a"] = 1
    c["a"] = 2
    assert c["a"] == 2 and len(c) == 1, f"got value {c['a']!r}, len {len(c)}; expected 2 and 1"


# -- step 2 -------------------------------------------------------------------------------------


@pytest.mark.kata_step(2, "eviction order")
def test_the_cache_never_holds_more_than_maxsize_entries(impl: Any) -> None:
    """After many insertions the cache holds exactly maxsize entries."""
    c = impl.LRUCache(3)
    for i in range(10):
        c[i] = i
    assert len(c) == 3, f"len is {len(c)} after 10 insertions into a cache of 3"


@pytest.mark.kata_step(2, "eviction order")
def test_the_least_recently_inserted_key_is_evicted_first(impl: Any) -> None:
    """With no reads, the oldest key is evicted: a, b, then c evicts a."""
    c = impl.LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["c"] = 3
    assert "a" not in c, "'a' is the least recently used key and should have been evicted"
    assert "b" in c and "c" in c


@pytest.mark.kata_step(2, "eviction order")
def test_a_read_makes_a_key_most_recently_used(impl: Any) -> None:
    """Reading 'a' protects it: the next insertion evicts 'b' instead."""
    c = impl.LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["a"]
    c["c"] = 3
    assert "a" in c, "'a' was read just before, so it is the most recently used"
    assert "b" not in c, "'b' is the least recently used and should have been evicted"
    c.get("a")
    c["d"] = 4
    assert "a" in c and "c" not in c, "get() must refresh recency too"


@pytest.mark.kata_step(2, "eviction order")
def test_updating_a_key_refreshes_it(impl: Any) -> None:
    """Assigning to an existing key makes it most recently used (a classic slip)."""
    c = impl.LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["a"] = 10
    c["c"] = 3
    assert "a" in c and "b" not in c, "updating 'a' should have refreshed it; 'b' is the LRU key"


@pytest.mark.kata_step(2, "eviction order")
def test_membership_tests_do_not_refresh(impl: Any) -> None:
    """`key in cache` only looks: it does not change the eviction order."""
    c = impl.LRUCache(2)
    c["a"] = 1
    c["b"] = 2
    assert "a" in c
    c["c"] = 3
    assert "a" not in c, "'in' refreshed 'a'; it should not change recency"


@pytest.mark.kata_step(2, "eviction order")
def test_a_bad_maxsize_raises(impl: Any) -> None:
    """maxsize must be an int >= 0: a negative one is a ValueError, a str a TypeError."""
    with pytest.raises(ValueError):
        impl.LRUCache(-1)
    with pytest.raises(TypeError):
        impl.LRUCache("10")


# -- step 3 -------------------------------------------------------------------------------------


class _CountingKey:
    """A key that counts how often Python hashes or compares it."""

    calls = 0

    def __init__(self, n: int) -> None:
        self.n = n

    def __hash__(self) -> int:
        _CountingKey.calls += 1
        return hash(self.n)

    def __eq__(self, other: object) -> bool:
        _CountingKey.calls += 1
        return isinstance(other, _CountingKey) and self.n == other.n


@pytest.mark.kata_step(3, "O(1) operations")
def test_operations_cost_the_same_in_a_big_cache_as_in_a_small_one(impl: Any) -> None:
    """Hash and equality calls per operation do not grow with the cache size (no list scans)."""

    def cost(size: int) -> float:
        c = impl.LRUCache(size)
        keys = [_CountingKey(i) for i in range(size)]
        for k in keys:
            c[k] = k.n
        _CountingKey.calls = 0
        ops = 0
        for i in range(0, size, max(1, size // 50)):
            c.get(keys[i])  # a lookup of an old key (a hit refreshes it)
            c[_CountingKey(size + i)] = 0  # an insertion that evicts
            ops += 2
        return _CountingKey.calls / ops

    small, big = cost(50), cost(2000)
    assert big <= 8, f"{big:.1f} hash/eq calls per operation in a cache of 2000: a list scan?"
    assert big <= 2 * small + 2, (
        f"{big:.1f} calls per operation at 2000 entries vs {small:.1f} at 50: the cost grows"
    )


# -- step 4 -------------------------------------------------------------------------------------


@pytest.mark.kata_step(4, "stateful test against an OrderedDict")
def test_random_programs_agree_with_an_ordered_dict_model(impl: Any) -> None:
    """Random get/set/in programs give the same answers as a 10-line OrderedDict LRU."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.cache = impl.LRUCache(3)
            self.model: OrderedDict[int, int] = OrderedDict()

        @rule(key=st.integers(0, 6), value=st.integers(0, 100))
        def put(self, key: int, value: int) -> None:
            self.cache[key] = value
            self.model[key] = value
            self.model.move_to_end(key)
            if len(self.model) > 3:
                self.model.popitem(last=False)

        @rule(key=st.integers(0, 6))
        def get(self, key: int) -> None:
            expected = self.model.get(key)
            if key in self.model:
                self.model.move_to_end(key)
            got = self.cache.get(key)
            assert got == expected, f"get({key}) returned {got!r}, the model says {expected!r}"

        @invariant()
        def same_keys(self) -> None:
            got = sorted(k for k in range(7) if k in self.cache)
            assert got == sorted(self.model), f"cache holds {got}, model {sorted(self.model)}"
            assert len(self.cache) == len(self.model)

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=40, stateful_step_count=30, deadline=None)
    )


# -- step 5 -------------------------------------------------------------------------------------


@pytest.mark.kata_step(5, "the decorator")
def test_the_decorator_returns_cached_results_and_counts(impl: Any) -> None:
    """lru_cache(maxsize) memoises; cache_info() is (hits, misses, maxsize, currsize)."""
    calls: list[int] = []

    @impl.lru_cache(2)  # type: ignore[untyped-decorator]
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4], f"the function ran for {calls}; 3 should have been cached"
    info = tuple(square.cache_info())
    assert info == (1, 2, 2, 2), f"cache_info() is {info}, expected (1, 2, 2, 2)"


@pytest.mark.kata_step(5, "the decorator")
def test_the_decorator_evicts_the_least_recently_used_call(impl: Any) -> None:
    """With maxsize 2, calling 1, 2, 1, 3 evicts 2, so calling 2 again runs the function."""
    calls: list[int] = []

    @impl.lru_cache(2)  # type: ignore[untyped-decorator]
    def f(x: int) -> int:
        calls.append(x)
        return x

    for x in (1, 2, 1, 3, 1, 2):
        f(x)
    assert calls == [1, 2, 3, 2], f"the function ran for {calls}, expected [1, 2, 3, 2]"


@pytest.mark.kata_step(5, "the decorator")
def test_the_decorator_keys_on_all_arguments_and_keeps_the_name(impl: Any) -> None:
    """Positional and keyword arguments both form the key; the wrapper keeps __name__."""

    @impl.lru_cache(8)  # type: ignore[untyped-decorator]
    def add(a: int, b: int = 0) -> int:
        return a + b

    assert add(1, 2) == 3 and add(1, b=5) == 6 and add(2) == 2
    assert add.__name__ == "add", f"the wrapper is named {add.__name__!r}; use functools.wraps"
