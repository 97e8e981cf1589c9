"""Contract of the ``count-min-sketch`` kata: what :class:`dskata.sketch.CountMinSketch` promises.

Surface under test (``impl.CountMinSketch``)::

    CountMinSketch(width, depth, *, seed=0, conservative=False)
    CountMinSketch.from_error(epsilon, delta)      # classmethod
    .width, .depth, .total
    .add(key, count=1), .estimate(key)
    .merge(other)                                  # in place

Steps follow Cormode and Muthukrishnan (2005), "An improved data stream summary: the count-min
sketch and its applications", and Estan and Varghese (2002) for conservative update.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

KATA = "count-min-sketch"

small_keys = st.one_of(st.integers(0, 50), st.sampled_from(["a", "b", "c", "d", "e"]))


def _zipf(items: int, keys: int, s: float, seed: int) -> list[int]:
    weights = np.arange(1, keys + 1, dtype=np.float64) ** -s
    cdf = np.cumsum(weights) / weights.sum()
    ranks = np.searchsorted(cdf, np.random.default_rng(seed).random(items), side="right")
    return np.minimum(ranks, keys - 1).tolist()  # type: ignore[no-any-return]


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "add and estimate")
def test_a_single_key_is_counted_exactly(impl: Any) -> None:
    """With one key in the sketch, its estimate is exactly how often it was added."""
    cms = impl.CountMinSketch(100, 4)
    for _ in range(3):
        cms.add("apple")
    cms.add("apple", 4)
    got = cms.estimate("apple")
    assert got == 7, f"estimate('apple') after adding it 3 times and then 4 more gave {got}, not 7"


@pytest.mark.kata_step(1, "add and estimate")
def test_an_empty_sketch_estimates_zero(impl: Any) -> None:
    """A key never added to an empty sketch is estimated at 0."""
    cms = impl.CountMinSketch(100, 4)
    got = cms.estimate("never")
    assert got == 0, f"estimate on an empty sketch gave {got}, expected 0"


@pytest.mark.kata_step(1, "add and estimate")
def test_total_is_the_sum_of_all_counts(impl: Any) -> None:
    """`total` (N in the paper) is the sum of every count added."""
    cms = impl.CountMinSketch(50, 3)
    cms.add("a")
    cms.add("b", 5)
    cms.add(7, 2)
    assert cms.total == 8, f"total after adding 1 + 5 + 2 is {cms.total}, expected 8"


@pytest.mark.kata_step(1, "add and estimate")
def test_width_and_depth_are_kept(impl: Any) -> None:
    """The sketch reports the width and depth it was built with."""
    cms = impl.CountMinSketch(37, 5)
    assert (cms.width, cms.depth) == (37, 5), f"got width={cms.width}, depth={cms.depth}"


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "size from (epsilon, delta)")
@pytest.mark.parametrize(
    ("eps", "delta", "width", "depth"),
    [(0.001, 0.01, 2719, 5), (0.01, 0.001, 272, 7), (0.3, 0.5, 10, 1)],
)
def test_from_error_uses_ceil_e_over_eps_and_ceil_ln_one_over_delta(
    impl: Any, eps: float, delta: float, width: int, depth: int
) -> None:
    """from_error(eps, delta) has width ceil(e / eps) and depth ceil(ln(1 / delta)) (§3)."""
    cms = impl.CountMinSketch.from_error(eps, delta)
    got = (cms.width, cms.depth)
    assert got == (width, depth), (
        f"from_error({eps}, {delta}) gave (width, depth) = {got}, expected {(width, depth)}"
    )


@pytest.mark.kata_step(2, "size from (epsilon, delta)")
@pytest.mark.parametrize("bad", [0, 1, -0.5, 2.0])
def test_epsilon_and_delta_outside_zero_one_are_refused(impl: Any, bad: float) -> None:
    """epsilon and delta must lie strictly between 0 and 1: ValueError naming which is wrong."""
    with pytest.raises(ValueError, match="epsilon"):
        impl.CountMinSketch.from_error(bad, 0.01)
    with pytest.raises(ValueError, match="delta"):
        impl.CountMinSketch.from_error(0.01, bad)


@pytest.mark.kata_step(2, "size from (epsilon, delta)")
def test_width_or_depth_below_one_is_refused(impl: Any) -> None:
    """width < 1 or depth < 1 raises ValueError naming the parameter."""
    with pytest.raises(ValueError, match="width"):
        impl.CountMinSketch(0, 3)
    with pytest.raises(ValueError, match="depth"):
        impl.CountMinSketch(10, 0)


@pytest.mark.kata_step(2, "size from (epsilon, delta)")
def test_a_negative_count_is_refused_and_changes_nothing(impl: Any) -> None:
    """Counts are non-negative: add(key, -1) raises ValueError and leaves the sketch as it was."""
    cms = impl.CountMinSketch(20, 3)
    cms.add("a", 2)
    with pytest.raises(ValueError):
        cms.add("a", -1)
    assert cms.estimate("a") == 2 and cms.total == 2, "a refused add must not change the sketch"


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "never underestimates")
@settings(max_examples=60, deadline=None)
@given(stream=st.lists(st.tuples(small_keys, st.integers(0, 5)), max_size=100))
def test_no_estimate_is_below_the_true_count(impl: Any, stream: list[tuple[Any, int]]) -> None:
    """For any stream, every key's estimate is at least its true count (§4.1), even in a tiny,
    collision-heavy sketch."""
    cms = impl.CountMinSketch(5, 2)
    truth: Counter[Any] = Counter()
    for key, count in stream:
        cms.add(key, count)
        truth[key] += count
    for key, count in truth.items():
        got = cms.estimate(key)
        assert got >= count, f"estimate({key!r}) = {got} is below the true count {count}"


@pytest.mark.kata_step(3, "never underestimates")
def test_a_stateful_run_against_a_counter_never_underestimates(impl: Any) -> None:
    """Interleaved adds and reads, checked against a Counter after every step."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.cms = impl.CountMinSketch(4, 2)
            self.model: Counter[Any] = Counter()

        @rule(key=small_keys, count=st.integers(0, 3))
        def add(self, key: Any, count: int) -> None:
            self.cms.add(key, count)
            self.model[key] += count

        @invariant()
        def upper_bounds(self) -> None:
            for key, count in self.model.items():
                got = self.cms.estimate(key)
                assert got >= count, f"estimate({key!r}) = {got} < true count {count}"
            assert self.cms.total == sum(self.model.values()), "total drifted from the stream"

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=30, stateful_step_count=30, deadline=None)
    )


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "error within eps * N")
def test_on_a_zipf_stream_few_keys_exceed_eps_n(impl: Any) -> None:
    """Theorem 1: each key's error exceeds eps * N with probability at most delta."""
    eps, delta = 0.01, 0.01
    stream = _zipf(30_000, 3_000, 1.1, seed=4)
    cms = impl.CountMinSketch.from_error(eps, delta)
    for key in stream:
        cms.add(key)
    truth = Counter(stream)
    errors = [cms.estimate(k) - c for k, c in truth.items()]
    over = sum(e > eps * len(stream) for e in errors)
    assert over <= delta * len(truth), (
        f"{over} of {len(truth)} keys have error above eps*N = {eps * len(stream):.0f}; "
        f"the bound allows at most {delta * len(truth):.0f}"
    )
    mean = sum(errors) / len(errors)
    assert mean <= 0.2 * eps * len(stream), f"mean error {mean:.1f} is far above what rows give"


@pytest.mark.kata_step(4, "error within eps * N")
def test_rows_collide_independently(impl: Any) -> None:
    """Rows need independent hashes (§3). With h1 + r*h2, two keys that collide in two rows
    collide in all of them, so light keys inherit a heavy key's whole count far too often."""
    cms = impl.CountMinSketch(16, 4)
    cms.add("heavy", 1_000_000)
    inherit = sum(cms.estimate(f"light-{i}") >= 1_000_000 for i in range(20_000))
    # Independent rows: about 20000 / 16**4 = 0.3 such keys; double hashing: about 78.
    assert inherit <= 6, (
        f"{inherit} of 20000 unseen keys collide with the heavy key in every row; independent "
        "rows would give about 0.3"
    )


# ------------------------------------------------------------------ step 5


def _same_stream(impl: Any, stream: list[Any], width: int, depth: int) -> tuple[Any, Any]:
    plain = impl.CountMinSketch(width, depth)
    cons = impl.CountMinSketch(width, depth, conservative=True)
    for key in stream:
        plain.add(key)
        cons.add(key)
    return plain, cons


@pytest.mark.kata_step(5, "conservative update")
@settings(max_examples=50, deadline=None)
@given(stream=st.lists(st.tuples(small_keys, st.integers(1, 6)), max_size=80))
def test_conservative_update_never_underestimates_with_any_counts(
    impl: Any, stream: list[tuple[Any, int]]
) -> None:
    """Conservative update raises each counter to max(counter, min + count): still an upper
    bound, for counts above 1 too."""
    cms = impl.CountMinSketch(5, 3, conservative=True)
    truth: Counter[Any] = Counter()
    for key, count in stream:
        cms.add(key, count)
        truth[key] += count
    for key, count in truth.items():
        got = cms.estimate(key)
        assert got >= count, f"conservative estimate({key!r}) = {got} < true count {count}"


@pytest.mark.kata_step(5, "conservative update")
def test_conservative_estimates_are_never_above_plain_ones_and_usually_below(impl: Any) -> None:
    """On the same stream, conservative estimates are at most the plain ones, and smaller for
    many keys of a colliding stream (Estan and Varghese 2002, §3.3)."""
    stream = _zipf(20_000, 2_000, 1.0, seed=6)
    plain, cons = _same_stream(impl, stream, 64, 3)
    smaller = 0
    for key in set(stream):
        p, c = plain.estimate(key), cons.estimate(key)
        assert c <= p, f"conservative estimate {c} of {key} is above the plain estimate {p}"
        smaller += c < p
    assert smaller >= len(set(stream)) // 4, (
        f"conservative update beat plain update on only {smaller} keys: is it applied per row?"
    )


# ------------------------------------------------------------------ step 6


@pytest.mark.kata_step(6, "merge")
def test_merging_equals_the_sketch_of_the_concatenated_stream(impl: Any) -> None:
    """Plain count-min is linear: merge(a, b) answers exactly like one sketch of both streams."""
    a = _zipf(3_000, 500, 1.1, seed=1)
    b = _zipf(3_000, 500, 1.1, seed=2)
    sa, sb, whole = (impl.CountMinSketch(40, 3) for _ in range(3))
    for key in a:
        sa.add(key)
    for key in b:
        sb.add(key)
    for key in a + b:
        whole.add(key)
    sa.merge(sb)
    assert sa.total == whole.total == 6_000, f"merged total {sa.total}, expected 6000"
    for key in range(600):
        got, want = sa.estimate(key), whole.estimate(key)
        assert got == want, f"after merge estimate({key}) = {got}, one sketch of both: {want}"


@pytest.mark.kata_step(6, "merge")
@pytest.mark.parametrize(
    "other", [(40, 4, 0), (41, 3, 0), (40, 3, 1)], ids=["depth", "width", "seed"]
)
def test_merging_sketches_of_different_shape_or_seed_is_refused(
    impl: Any, other: tuple[int, int, int]
) -> None:
    """Counters only line up with the same width, depth and seed: ValueError, nothing changes."""
    cms = impl.CountMinSketch(40, 3, seed=0)
    cms.add("x", 3)
    width, depth, seed = other
    mismatched = impl.CountMinSketch(width, depth, seed=seed)
    mismatched.add("x", 5)
    with pytest.raises(ValueError):
        cms.merge(mismatched)
    assert cms.estimate("x") == 3 and cms.total == 3, "a refused merge must change nothing"


@pytest.mark.kata_step(2, "size from (epsilon, delta)")
def test_width_is_any_integer_not_only_a_power_of_two(impl: Any) -> None:
    """Sizing needs any width (ceil(e / eps)); every column of an odd width gets used."""
    cms = impl.CountMinSketch(7, 1)
    for i in range(700):
        cms.add(i)
    # With one row and 700 keys over 7 columns, no estimate can be 0 for a fresh key.
    assert all(cms.estimate(f"fresh-{i}") > 0 for i in range(50)), "some columns are never used"
    assert math.isclose(sum(cms.estimate(i) for i in range(7)) / 7, 100, rel_tol=0.6)
