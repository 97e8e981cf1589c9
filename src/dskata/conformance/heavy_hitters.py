"""Contract of the ``heavy-hitters`` kata: what :class:`dskata.sketch.TopK` promises.

Surface under test (``impl.TopK``), SpaceSaving (Metwally, Agrawal and El Abbadi 2005)::

    TopK(k)
    .k, .total, .min_count, len(tk), key in tk
    .add(key, count=1)
    .top(n=None)        # [(key, count, error), ...], largest count first
    .bounds(key)        # (lower, upper)
    .merge(other)       # in place, same k (Agarwal et al. 2012)

Entries of ``top()`` are read by position, so a plain tuple ``(key, count, error)`` works as well
as a named tuple; ``count`` is the upper bound and ``count - error`` the lower bound.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

KATA = "heavy-hitters"

keys = st.one_of(st.integers(0, 25), st.sampled_from(["a", "b", "c", "d", "e"]))


def _zipf(items: int, n_keys: int, s: float, seed: int) -> list[int]:
    weights = np.arange(1, n_keys + 1, dtype=np.float64) ** -s
    cdf = np.cumsum(weights) / weights.sum()
    ranks = np.searchsorted(cdf, np.random.default_rng(seed).random(items), side="right")
    return np.minimum(ranks, n_keys - 1).tolist()  # type: ignore[no-any-return]


def _entries(tk: Any) -> dict[Any, tuple[int, int]]:
    return {e[0]: (e[1] - e[2], e[1]) for e in tk.top()}


def _check_bounds(tk: Any, truth: Counter[Any]) -> None:
    for key, (lower, upper) in _entries(tk).items():
        true = truth[key]
        assert lower <= true <= upper, (
            f"{key!r}: true count {true} is outside its reported bounds [{lower}, {upper}]"
        )
    floor = tk.min_count
    for key, true in truth.items():
        if key not in tk:
            assert true <= floor, (
                f"{key!r} is not monitored yet occurred {true} times, more than min_count {floor}"
            )


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "SpaceSaving replaces the minimum")
def test_keys_are_counted_exactly_while_there_is_room(impl: Any) -> None:
    """Until k keys are monitored, every count is exact and top() lists them largest first."""
    tk = impl.TopK(3)
    for key in ["a", "b", "a", "c", "a", "b"]:
        tk.add(key)
    got = [(e[0], e[1], e[2]) for e in tk.top()]
    assert got == [("a", 3, 0), ("b", 2, 0), ("c", 1, 0)], f"top() gave {got}"
    assert len(tk) == 3 and tk.total == 6


@pytest.mark.kata_step(1, "SpaceSaving replaces the minimum")
def test_a_new_key_takes_the_slot_of_the_minimum_count(impl: Any) -> None:
    """When full, a new key replaces the key with the smallest count, even if that one is old."""
    tk = impl.TopK(2)
    tk.add("old")
    tk.add("newest", 3)
    tk.add("x")
    assert "old" not in tk, "the minimum ('old', count 1) should have been replaced"
    assert "newest" in tk, "'newest' has the larger count and must stay"


@pytest.mark.kata_step(1, "SpaceSaving replaces the minimum")
def test_the_new_key_inherits_the_minimum_as_its_error(impl: Any) -> None:
    """Metwally et al. §3.1: the newcomer starts at min + count with error min."""
    tk = impl.TopK(2)
    tk.add("a", 5)
    tk.add("b", 2)
    tk.add("c", 1)
    got = tk.bounds("c")
    assert tuple(got) == (1, 3), f"bounds('c') = {got}, expected (lower 1, upper 2 + 1 = 3)"


@pytest.mark.kata_step(1, "SpaceSaving replaces the minimum")
def test_bad_k_and_negative_counts_are_refused(impl: Any) -> None:
    """k must be >= 1 and counts >= 0: ValueError, and nothing changes."""
    with pytest.raises(ValueError):
        impl.TopK(0)
    tk = impl.TopK(2)
    tk.add("a")
    with pytest.raises(ValueError):
        tk.add("a", -2)
    assert tk.bounds("a") == (1, 1) and tk.total == 1


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "per-key bounds hold")
@settings(max_examples=80, deadline=None)
@given(stream=st.lists(st.tuples(keys, st.integers(1, 4)), max_size=120), k=st.integers(1, 6))
def test_bounds_hold_for_every_key_after_any_stream(
    impl: Any, stream: list[tuple[Any, int]], k: int
) -> None:
    """Lemma 3: lower <= true <= upper for monitored keys; unmonitored keys <= min_count."""
    tk = impl.TopK(k)
    truth: Counter[Any] = Counter()
    for key, count in stream:
        tk.add(key, count)
        truth[key] += count
    _check_bounds(tk, truth)


@pytest.mark.kata_step(2, "per-key bounds hold")
def test_a_stateful_run_against_a_counter_keeps_every_bound(impl: Any) -> None:
    """Adds and reads interleaved, every bound checked against a Counter after each step."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.tk = impl.TopK(3)
            self.model: Counter[Any] = Counter()

        @rule(key=keys, count=st.integers(1, 3))
        def add(self, key: Any, count: int) -> None:
            self.tk.add(key, count)
            self.model[key] += count

        @invariant()
        def bounds(self) -> None:
            _check_bounds(self.tk, self.model)
            assert self.tk.total == sum(self.model.values())

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=30, stateful_step_count=40, deadline=None)
    )


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "recall on a Zipf stream")
def test_the_true_top_keys_of_a_zipf_stream_are_found(impl: Any) -> None:
    """With k = 512 counters, at least 48 of the true top 50 of a Zipf(1.1) stream are found."""
    stream = _zipf(100_000, 20_000, 1.1, seed=0)
    tk = impl.TopK(512)
    for key in stream:
        tk.add(key)
    truth = {key for key, _ in Counter(stream).most_common(50)}
    found = {e[0] for e in tk.top(50)}
    assert len(truth & found) >= 48, f"found {len(truth & found)} of the true top 50"


@pytest.mark.kata_step(3, "recall on a Zipf stream")
def test_every_key_more_frequent_than_n_over_k_is_monitored(impl: Any) -> None:
    """Theorem 1: min_count <= N / k, so every key above N / k is monitored."""
    stream = _zipf(30_000, 5_000, 0.9, seed=7)
    tk = impl.TopK(40)
    for key in stream:
        tk.add(key)
    assert tk.min_count * 40 <= tk.total, f"min_count {tk.min_count} > N/k = {tk.total / 40}"
    missing = [k for k, c in Counter(stream).items() if c > len(stream) / 40 and k not in tk]
    assert not missing, f"keys above N/k are not monitored: {missing[:5]}"


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "merge")
@settings(max_examples=50, deadline=None)
@given(a=st.lists(keys, max_size=60), b=st.lists(keys, max_size=60), k=st.integers(1, 5))
def test_a_merged_summary_bounds_the_combined_stream(
    impl: Any, a: list[Any], b: list[Any], k: int
) -> None:
    """Agarwal et al. 2012, §3: after merge, bounds hold for the two streams together."""
    ta, tb = impl.TopK(k), impl.TopK(k)
    for key in a:
        ta.add(key)
    for key in b:
        tb.add(key)
    ta.merge(tb)
    assert ta.total == len(a) + len(b), f"merged total {ta.total}, expected {len(a) + len(b)}"
    assert len(ta) <= k, f"merged summary monitors {len(ta)} keys, more than k = {k}"
    _check_bounds(ta, Counter(a + b))


@pytest.mark.kata_step(4, "merge")
def test_keys_absent_from_one_side_carry_its_minimum_into_their_bounds(impl: Any) -> None:
    """A key the other summary does not monitor may have occurred up to its min_count there."""
    ta, tb = impl.TopK(2), impl.TopK(2)
    for key in ["x"] * 5 + ["y"] * 4:
        ta.add(key)
    for key in ["y"] * 3 + ["z"] * 2 + ["w"]:
        tb.add(key)  # tb ends full: y=3, and w replaced z (2 + 1 = 3, error 2)
    ta.merge(tb)
    lower, upper = ta.bounds("x")
    assert upper >= 5 + tb.min_count, (
        f"bounds('x') = {(lower, upper)}: x may have occurred up to the other summary's "
        f"min_count ({tb.min_count}) times there, so its upper bound must be at least "
        f"{5 + tb.min_count}"
    )
    assert lower <= 5 <= upper


@pytest.mark.kata_step(4, "merge")
def test_merging_summaries_of_different_k_is_refused(impl: Any) -> None:
    """Merging needs the same k: ValueError, and nothing changes."""
    ta, tb = impl.TopK(3), impl.TopK(4)
    ta.add("a")
    tb.add("b")
    with pytest.raises(ValueError):
        ta.merge(tb)
    assert ta.total == 1 and "b" not in ta
