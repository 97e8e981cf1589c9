"""Every eviction policy against its straightforward reference model (tests/test_cache_models.py).

Two kinds of checks: hit counts on seeded traces (the fast path ``_access`` and the public
mapping API must both agree with the model), and Hypothesis stateful machines driving random
``get``/``set``/``del``/``popitem`` programs through the cache and the model side by side.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from test_cache_models import (
    ARCModel,
    FIFOModel,
    LFUModel,
    LRUModel,
    Model,
    S3FIFOModel,
    SIEVEModel,
    TTLModel,
    WTinyLFUModel,
)

from dskata.cache import (
    ARCCache,
    FIFOCache,
    LFUCache,
    LRUCache,
    S3FIFOCache,
    SIEVECache,
    TTLCache,
    WTinyLFUCache,
    zipf_trace,
)

PAIRS: dict[str, tuple[Callable[[int], Any], Callable[[int], Model]]] = {
    "lru": (LRUCache, LRUModel),
    "fifo": (FIFOCache, FIFOModel),
    "lfu": (LFUCache, LFUModel),
    "sieve": (SIEVECache, SIEVEModel),
    "s3fifo": (S3FIFOCache, S3FIFOModel),
    "arc": (ARCCache, ARCModel),
    "wtinylfu": (WTinyLFUCache, WTinyLFUModel),
}


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "sieve", "s3fifo", "arc", "wtinylfu"])
@pytest.mark.parametrize("size", [1, 7, 50])
def test_hits_on_a_seeded_zipf_trace_equal_the_reference(name: str, size: int) -> None:
    """The cache's hit count on a seeded Zipf trace equals the straightforward reference's."""
    cls, model_cls = PAIRS[name]
    trace = zipf_trace(3000, 300, 0.9, seed=size).tolist()
    cache, model = cls(size), model_cls(size)
    got = sum(map(cache._access, trace))
    expected = sum(map(model.access, trace))
    assert got == expected, f"{name} at size {size}: {got} hits, reference {expected}"
    assert set(cache) == set(model.values)
    cache._check()


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "sieve"])
def test_the_mapping_api_gives_the_same_hits_as_the_fast_path(name: str) -> None:
    """get-then-set through the public API counts the same hits as the simulator's fast path."""
    cls, model_cls = PAIRS[name]
    trace = zipf_trace(2000, 200, 1.0, seed=3).tolist()
    cache, model = cls(20), model_cls(20)
    for key in trace:
        if cache.get(key) is None:
            cache[key] = key
    assert cache.info().hits == sum(map(model.access, trace))
    cache._check()


class _PolicyMachine(RuleBasedStateMachine):
    """Random programs on a cache and its model; contents must agree after every step."""

    make: Callable[[int], Any]
    make_model: Callable[[int], Model]
    keys = st.integers(0, 9)

    def __init__(self) -> None:
        super().__init__()
        self.size = 4
        self.cache = self.make(self.size)
        self.model = self.make_model(self.size)
        self.hits = 0
        self.misses = 0

    @rule(key=keys)
    def get(self, key: int) -> None:
        expected = self.model.get(key)
        if key in self.model.values:
            self.hits += 1
        else:
            self.misses += 1
        assert self.cache.get(key) == expected

    @rule(key=keys, value=st.integers())
    def set(self, key: int, value: int) -> None:
        self.model.set(key, value)
        self.cache[key] = value

    @rule(key=keys)
    def delete(self, key: int) -> None:
        if key in self.model.values:
            self.model.delete(key)
            del self.cache[key]
        else:
            with pytest.raises(KeyError):
                del self.cache[key]

    @precondition(lambda self: bool(self.model.values))
    @rule()
    def popitem(self) -> None:
        assert self.cache.popitem() == self.model.popitem()

    @invariant()
    def agrees_with_the_model(self) -> None:
        self.cache._check()
        assert dict(self.cache.items()) == self.model.values
        info = self.cache.info()
        assert (info.hits, info.misses) == (self.hits, self.misses)


def _machine(name: str) -> type[_PolicyMachine]:
    cls, model_cls = PAIRS[name]
    return type(
        f"{name}Machine", (_PolicyMachine,), {"make": staticmethod(cls), "make_model": model_cls}
    )


LRUMachine = _machine("lru")
FIFOMachine = _machine("fifo")
LFUMachine = _machine("lfu")
SIEVEMachine = _machine("sieve")
S3FIFOMachine = _machine("s3fifo")
ARCMachine = _machine("arc")
WTinyLFUMachine = _machine("wtinylfu")

_SETTINGS = settings(max_examples=20, stateful_step_count=30, deadline=None)
for _m in (
    LRUMachine,
    FIFOMachine,
    LFUMachine,
    SIEVEMachine,
    S3FIFOMachine,
    ARCMachine,
    WTinyLFUMachine,
):
    _m.TestCase.settings = _SETTINGS

TestLRUAgainstModel = LRUMachine.TestCase
TestFIFOAgainstModel = FIFOMachine.TestCase
TestLFUAgainstModel = LFUMachine.TestCase
TestSIEVEAgainstModel = SIEVEMachine.TestCase
TestS3FIFOAgainstModel = S3FIFOMachine.TestCase
TestARCAgainstModel = ARCMachine.TestCase
TestWTinyLFUAgainstModel = WTinyLFUMachine.TestCase


class TTLMachine(RuleBasedStateMachine):
    """TTLCache with a fake clock against an LRU model with expiry times."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = [0.0]
        self.cache: TTLCache[int, int] = TTLCache(4, ttl=3, timer=lambda: self.clock[0])
        self.model = TTLModel(4, 3, self.clock)

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5]))
    def tick(self, dt: float) -> None:
        self.clock[0] += dt

    @rule(key=st.integers(0, 7))
    def get(self, key: int) -> None:
        self.model.expire()
        assert self.cache.get(key) == self.model.get(key)

    @rule(key=st.integers(0, 7), value=st.integers())
    def set(self, key: int, value: int) -> None:
        self.model.expire()
        self.model.set(key, value)
        self.cache[key] = value

    @rule(key=st.integers(0, 7))
    def delete(self, key: int) -> None:
        self.model.expire()
        if key in self.model.values:
            self.model.delete(key)
            del self.cache[key]

    @invariant()
    def agrees_with_the_model(self) -> None:
        self.model.expire()
        assert dict(self.cache.items()) == self.model.values
        self.cache._check()


TTLMachine.TestCase.settings = _SETTINGS
TestTTLAgainstModel = TTLMachine.TestCase


class _SizedMachine(RuleBasedStateMachine):
    """Weighted values overwritten in place (growing and shrinking), deleted, popped, resized:
    ``_check()`` (every segment's size total included) holds after every step."""

    make: Callable[[int, list[float]], Any]
    keys = st.integers(0, 7)

    def __init__(self) -> None:
        super().__init__()
        self.clock = [0.0]
        self.cache = self.make(10, self.clock)
        self.written: dict[int, int] = {}

    @rule(key=keys, value=st.integers(0, 6))
    def set(self, key: int, value: int) -> None:
        if value > self.cache.maxsize and self.cache.getsizeof(value) != 1:
            with pytest.raises(ValueError, match="too large"):
                self.cache[key] = value
            return
        self.cache[key] = value
        self.written[key] = value

    @rule(key=keys)
    def get(self, key: int) -> None:
        self.cache.get(key)

    @rule(key=keys)
    def pop(self, key: int) -> None:
        self.cache.pop(key, None)

    @rule()
    def popitem(self) -> None:
        if len(self.cache):
            self.cache.popitem()

    @rule(maxsize=st.sampled_from([3, 6, 10, 20]))
    def resize(self, maxsize: int) -> None:
        self.cache.resize(maxsize)

    @rule(dt=st.sampled_from([0.0, 1.0, 3.0]))
    def tick(self, dt: float) -> None:
        self.clock[0] += dt

    @invariant()
    def segments_add_up(self) -> None:
        self.cache._check()
        assert all(self.cache.peek(k) == self.written[k] for k in self.cache)
        expected = sum(self.cache.getsizeof(v) for v in self.cache.values())
        assert self.cache.currsize == expected <= self.cache.maxsize


def _weight(v: int) -> float:
    return v


_SIZED: dict[str, Callable[[int, list[float]], Any]] = {
    "lru": lambda n, clock: LRUCache(n, getsizeof=_weight),
    "fifo": lambda n, clock: FIFOCache(n, getsizeof=_weight),
    "lfu": lambda n, clock: LFUCache(n, getsizeof=_weight),
    "sieve": lambda n, clock: SIEVECache(n, getsizeof=_weight),
    "s3fifo": lambda n, clock: S3FIFOCache(n, small_ratio=0.3, getsizeof=_weight),
    "arc": lambda n, clock: ARCCache(n),  # unit sizes only: in-place updates all the same
    "wtinylfu": lambda n, clock: WTinyLFUCache(n, window_ratio=0.3, getsizeof=_weight),
    "wtinylfu_aging": lambda n, clock: WTinyLFUCache(n, sample_size=7, getsizeof=_weight),
    "ttl": lambda n, clock: TTLCache(n, 4, timer=lambda: clock[0], getsizeof=_weight),
}

_SIZED_SETTINGS = settings(max_examples=60, stateful_step_count=40, deadline=None)


@pytest.mark.parametrize("name", sorted(_SIZED))
def test_sized_in_place_updates_keep_every_segment_total_exact(name: str) -> None:
    """S3-FIFO's S size, W-TinyLFU's window and protected sizes etc. never drift."""
    machine = type(f"{name}SizedMachine", (_SizedMachine,), {"make": staticmethod(_SIZED[name])})
    run_state_machine_as_test(machine, settings=_SIZED_SETTINGS)


def test_s3fifo_small_queue_size_follows_an_in_place_update() -> None:
    """The reviewer's case: a value grown in place, then popped, leaves S empty at size 0."""
    c: S3FIFOCache[str, int] = S3FIFOCache(10, getsizeof=_weight)
    c["a"] = 1
    c["a"] = 5
    c._check()
    c.pop("a")
    assert c._small_size == 0 and c.currsize == 0
    c._check()


def test_wtinylfu_segments_follow_in_place_updates() -> None:
    """Protected and window totals track a value resized in place, and keep to their shares."""
    c: WTinyLFUCache[str, int] = WTinyLFUCache(20, window_ratio=0.2, getsizeof=_weight)
    for k in "abcdef":
        c[k] = 1  # the window holds 4 units: "a" and "b" move on to probation
    c.get("a")  # "a" leaves probation for protected
    assert "a" in c._protected
    c["a"] = 6
    c._check()
    c.pop("a")
    assert c._protected_size == 0
    c["w"] = 1
    c["w"] = 4  # the window (cap 4) grows in place: its oldest entries move to probation
    c._check()
    assert list(c._window) == ["w"] and c._window_size == 4


# -- policy-specific claims ---------------------------------------------------------------------


def test_fifo_reads_do_not_reorder_but_overwrites_reinsert() -> None:
    """FIFO ignores reads; an overwrite moves the key to the back (cachetools' semantics)."""
    c: FIFOCache[str, int] = FIFOCache(2)
    c["a"] = 1
    c["b"] = 2
    c.get("a")
    c["c"] = 3
    assert sorted(c) == ["b", "c"]
    c["b"] = 20
    c["d"] = 4
    assert sorted(c) == ["b", "d"]


def test_lfu_evicts_the_least_recent_among_the_least_frequent() -> None:
    """With equal counts, LFU breaks the tie by recency."""
    c: LFUCache[str, int] = LFUCache(2)
    c["a"] = 1
    c["b"] = 2
    c["c"] = 3
    assert sorted(c) == ["b", "c"]
    assert c.frequency("b") == 1 and c.frequency("a") == 0


def test_sieve_keeps_a_visited_entry_in_place() -> None:
    """SIEVE §3: a hit sets a bit, it does not move the entry; the hand clears it on its way."""
    c: SIEVECache[str, int] = SIEVECache(3)
    for k in "abc":
        c[k] = 0
    c.get("a")
    c["d"] = 0  # hand: a (visited, cleared) -> b evicted
    c["e"] = 0  # hand continues at c (unvisited) -> c evicted
    assert sorted(c) == ["a", "d", "e"]


def test_s3fifo_sends_a_ghost_hit_straight_to_main() -> None:
    """S3-FIFO §4.1: a key evicted from S is remembered; re-inserting it goes to M."""
    c: S3FIFOCache[int, int] = S3FIFOCache(10)
    for k in range(11):
        c[k] = k  # 0 leaves S for the ghost queue
    assert 0 not in c and 0 in c._ghost
    c[0] = 0
    assert 0 in c._main and 0 not in c._ghost
    c._check()


def test_s3fifo_does_not_promote_on_a_hit() -> None:
    """S3-FIFO promotes lazily: a hit only bumps the counter, the key stays in S."""
    c: S3FIFOCache[int, int] = S3FIFOCache(10)
    c[1] = 1
    c.get(1)
    assert 1 in c._small and c._freq[1] == 1


def test_s3fifo_ghost_queue_stays_bounded() -> None:
    """The ghost queue never holds more keys than the main queue can (no unbounded growth)."""
    c: S3FIFOCache[int, int] = S3FIFOCache(20)
    for k in range(10_000):
        c[k] = k
    assert len(c._ghost) <= 18
    c._check()


def test_arc_adapts_p_on_a_ghost_hit() -> None:
    """ARC case II: a hit in ghost list B1 increases the target size p of T1."""
    c: ARCCache[int, int] = ARCCache(4)
    for k in range(4):
        c[k] = k
    c.get(0)  # 0 moves to T2, so T1 no longer fills the cache
    c[4] = 4  # REPLACE: T1's LRU key 1 goes to ghost B1
    assert c.p == 0 and 1 in c._b1
    c[1] = 1
    assert c.p == 1 and 1 in c._t2


def test_arc_refuses_getsizeof() -> None:
    """ARC is defined for unit sizes; asking for weights is a TypeError naming the class."""
    with pytest.raises(TypeError, match="ARCCache"):
        ARCCache(4, getsizeof=len)  # type: ignore[call-arg]


def test_wtinylfu_rejects_a_rare_candidate_in_favour_of_a_frequent_victim() -> None:
    """TinyLFU §3: a newcomer enters the main cache only if more frequent than the victim."""
    c: WTinyLFUCache[int, int] = WTinyLFUCache(10)
    for _ in range(5):
        for k in range(10):
            c.setdefault(k, k)
    for k in range(100, 120):
        c[k] = k
    # The window always holds the newest (scan) key, so at most 9 of the 10 popular keys fit.
    assert sum(k in c for k in range(10)) >= 8
    lru: LRUCache[int, int] = LRUCache(10)
    for k in [*range(10), *range(100, 120)]:
        lru[k] = k
    assert not any(k in lru for k in range(10))
    c._check()


def test_ttl_entries_expire_exactly_at_their_deadline() -> None:
    """An entry stored at t with ttl d is alive while now < t + d, gone at t + d."""
    now = [10.0]
    c: TTLCache[str, int] = TTLCache(4, ttl=2, timer=lambda: now[0])
    c["a"] = 1
    now[0] = 11.999
    assert "a" in c
    now[0] = 12.0
    assert "a" not in c and len(c) == 0
    assert c.info().evictions == 1


def test_ttl_per_item_ttl_and_expire_report_the_dead() -> None:
    """set(..., ttl=) overrides the default; expire() returns what it removed, in order."""
    now = [0.0]
    seen: list[tuple[str, int]] = []
    c: TTLCache[str, int] = TTLCache(
        4, ttl=10, timer=lambda: now[0], on_evict=lambda k, v: seen.append((k, v))
    )
    c.set("short", 1, ttl=1)
    c["long"] = 2
    assert c.expire(5.0) == [("short", 1)]
    assert seen == [("short", 1)] and list(c) == ["long"]


def test_ttl_rejects_bad_ttls_before_any_change() -> None:
    """ttl must be a positive number; the message names it and the value."""
    with pytest.raises(ValueError, match="ttl must be > 0"):
        TTLCache(4, ttl=0)
    c: TTLCache[str, int] = TTLCache(4, ttl=1)
    with pytest.raises(TypeError, match="ttl"):
        c.set("a", 1, ttl="soon")  # type: ignore[arg-type]
    assert len(c) == 0


@pytest.mark.parametrize("cls", [FIFOCache, LFUCache, SIEVECache, S3FIFOCache, WTinyLFUCache])
def test_weighted_policies_respect_getsizeof(cls: Callable[..., Any]) -> None:
    """With getsizeof, the total weight never exceeds maxsize and too-large values are refused."""
    c = cls(10, getsizeof=len)
    for i in range(50):
        c[i] = "x" * (i % 4 + 1)
        c._check()
        assert c.currsize <= 10
    with pytest.raises(ValueError, match="too large"):
        c["big"] = "x" * 11
    c._check()


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_policies_pickle_and_copy_with_their_state(name: str) -> None:
    """A pickled or copied cache evicts exactly as the original would."""
    cls, _ = PAIRS[name]
    c = cls(8)
    trace = zipf_trace(300, 40, 1.0, seed=5).tolist()
    for k in trace[:150]:
        c._access(k)
    clones = [pickle.loads(pickle.dumps(c)), copy.deepcopy(c), c.copy()]
    rest = trace[150:]
    expected = [c._access(k) for k in rest]
    for clone in clones:
        assert [clone._access(k) for k in rest] == expected


@pytest.mark.parametrize(
    "cls", [FIFOCache, LFUCache, SIEVECache, S3FIFOCache, ARCCache, WTinyLFUCache]
)
def test_bad_arguments_raise_naming_the_parameter(cls: Callable[..., Any]) -> None:
    """maxsize must be an int >= 0; on_evict must be callable."""
    with pytest.raises(ValueError, match="maxsize"):
        cls(-1)
    with pytest.raises(TypeError, match="maxsize"):
        cls(2.5)
    with pytest.raises(TypeError, match="on_evict"):
        cls(2, on_evict=3)


@pytest.mark.parametrize(
    "cls", [FIFOCache, LFUCache, SIEVECache, S3FIFOCache, ARCCache, WTinyLFUCache]
)
def test_on_evict_sees_every_policy_eviction_but_not_deletes(cls: Callable[..., Any]) -> None:
    """on_evict is called once per eviction with the evicted pair, never for del or pop."""
    seen: list[tuple[int, int]] = []
    c = cls(3, on_evict=lambda k, v: seen.append((k, v)))
    for k in range(10):
        c[k] = k * 10
    del c[9]
    c.pop(8)
    assert len(seen) == c.info().evictions == 7
    assert all(v == k * 10 for k, v in seen)
    assert not {k for k, _ in seen} & set(c)


def test_resize_shrinks_by_the_policys_own_choice() -> None:
    """resize() evicts as the policy would, down to the new capacity."""
    c: FIFOCache[int, int] = FIFOCache(5)
    for k in range(5):
        c[k] = k
    c.resize(2)
    assert sorted(c) == [3, 4]
    c._check()


def test_ttl_cache_takes_timer_and_getsizeof_positionally_as_cachetools_does() -> None:
    """TTLCache(maxsize, ttl, timer, getsizeof) is cachetools' positional signature."""
    now = [0.0]
    c: TTLCache[str, str] = TTLCache(10, 5, lambda: now[0], len)
    c["a"] = "abc"
    assert c.currsize == 3 and c.timer() == 0.0
    now[0] = 5.0
    assert "a" not in c and len(c) == 0


@pytest.mark.parametrize("cls", [LRUCache, FIFOCache, LFUCache], ids=lambda c: c.__name__)
def test_getsizeof_may_be_given_positionally_as_in_cachetools(cls: Any) -> None:
    """LRUCache(maxsize, getsizeof) and co. accept getsizeof as the second positional argument."""
    c = cls(5, len)
    c["a"] = "abcd"
    assert c.currsize == 4 and c.getsizeof("xy") == 2
    with pytest.raises(ValueError, match="too large"):
        c["b"] = "abcdef"


class _EstimateBoth(WTinyLFUCache[Any, Any]):
    """Reference duel: estimates the candidate and the victim every time (no lower bounds)."""

    calls = 0

    def frequency(self, key: Any) -> int:
        type(self).calls += 1
        return super().frequency(key)

    def _victim(self) -> Any:
        probation = self._probation
        if len(probation) < 2:
            return super()._victim()
        candidate, victim = next(reversed(probation)), next(iter(probation))
        loser = candidate if self.frequency(candidate) <= self.frequency(victim) else victim
        del probation[loser]
        return loser


class _Counting(WTinyLFUCache[Any, Any]):
    calls = 0

    def frequency(self, key: Any) -> int:
        type(self).calls += 1
        return super().frequency(key)


def test_wtinylfu_duels_decide_as_with_two_estimates_but_query_the_sketch_less() -> None:
    """The victim's earlier estimate (a lower bound until the next halving) decides most duels:
    every hit and eviction equals the two-estimate duel's on a scan-polluted trace that spans
    many halvings, with at least a quarter fewer sketch queries (TinyLFU §3.3: counters only
    grow between resets)."""
    from dskata.cache import scan_zipf_trace

    trace = scan_zipf_trace(30_000, 5_000, 0.9, scan_fraction=0.3, seed=3).tolist()
    fast, slow = _Counting(100), _EstimateBoth(100)
    assert [fast._access(k) for k in trace] == [slow._access(k) for k in trace]
    assert list(fast) == list(slow) and fast._evictions == slow._evictions
    fast._check()
    assert _Counting.calls <= 0.75 * _EstimateBoth.calls, (
        f"got {_Counting.calls} sketch queries, expected at most 3/4 of {_EstimateBoth.calls}"
    )
