"""ScalableBloomFilter (Almeida et al. 2007): growth, compounded error bound, memory."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.bloom import BloomFilter, ScalableBloomFilter


def test_filter_i_has_capacity_n0_s_to_the_i_and_error_p_1_minus_r_r_to_the_i() -> None:
    # Almeida et al. 2007, §4: P0 = P (1 - r), Pi = P0 r^i, capacities grow geometrically.
    sbf = ScalableBloomFilter(100, 0.01, growth=4, ratio=0.8)
    sbf.add_many(np.arange(5000))
    for i, f in enumerate(sbf.filters):
        assert f.capacity == 100 * 4**i
        assert f.error_rate == pytest.approx(0.01 * 0.2 * 0.8**i)
    sbf._check()


def test_it_grows_only_when_the_newest_filter_is_full() -> None:
    sbf = ScalableBloomFilter(10, 0.01)
    sbf.add_many(range(10))
    assert sbf.num_filters == 1
    sbf.add(10)
    assert sbf.num_filters == 2 and sbf.capacity == 30
    sbf._check()


def test_repeated_keys_take_no_room() -> None:
    sbf = ScalableBloomFilter(10, 0.01)
    for _ in range(50):
        sbf.add("same")
    sbf.add_many(["same"] * 50)
    assert sbf.num_filters == 1 and len(sbf) == 100
    assert sum(len(f) for f in sbf.filters) == 1


def test_after_100x_growth_the_error_rate_stays_under_target_in_bounded_memory() -> None:
    # §5: with s = 2 and r = 0.9 the compounded rate is <= P and memory ~2x a sized filter.
    n0, p = 1000, 0.01
    sbf = ScalableBloomFilter(n0, p, growth=2, ratio=0.9)
    sbf.add_many(np.arange(100 * n0, dtype=np.uint64))
    probes = np.arange(10**7, 10**7 + 200_000, dtype=np.uint64)
    fpr = float(sbf.contains_many(probes).mean())
    assert fpr <= p, f"measured {fpr:.5f} > target {p}"
    assert sbf.expected_error_rate() <= p
    ratio = sbf.nbytes / BloomFilter(100 * n0, p).nbytes
    assert ratio <= 2.1, f"memory {ratio:.3f}x a right-sized filter"
    assert sbf.contains_many(np.arange(100 * n0)).all()
    sbf._check()


def test_scalar_and_batch_insertions_give_the_same_membership() -> None:
    keys = [f"k{i}" for i in range(700)]
    one, many = ScalableBloomFilter(50), ScalableBloomFilter(50)
    for k in keys:
        one.add(k)
    many.add_many(keys)
    assert all(k in many for k in keys) and one.contains_many(keys).all()
    assert abs(one.num_filters - many.num_filters) <= 1
    probes = [f"p{i}" for i in range(3000)]
    assert np.array_equal(many.contains_many(probes), [p in many for p in probes])


def test_serialisation_copy_and_pickle_round_trip() -> None:
    sbf = ScalableBloomFilter(20, 0.02, growth=4, seed=8)
    sbf.add_many(range(500))
    for other in (
        ScalableBloomFilter.from_bytes(sbf.to_bytes()),
        pickle.loads(pickle.dumps(sbf)),
        sbf.copy(),
    ):
        assert other == sbf and len(other) == 500 and other.num_filters == sbf.num_filters
        other._check()
        assert other.contains_many(range(500)).all()
    c = sbf.copy()
    c.add_many(range(500, 2000))
    assert c != sbf and sbf.num_filters < c.num_filters


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"initial_capacity": 0}, ValueError, "initial_capacity"),
        ({"error_rate": 1.0}, ValueError, "error_rate"),
        ({"error_rate": float("nan")}, ValueError, "error_rate"),
        ({"growth": 3}, ValueError, "growth"),
        ({"growth": 2.0}, TypeError, "growth"),
        ({"ratio": 1.0}, ValueError, "ratio"),
        ({"ratio": 0}, ValueError, "ratio"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_parameters_raise_a_clear_error(
    kwargs: dict[str, object], exc: type, word: str
) -> None:
    with pytest.raises(exc, match=word):
        ScalableBloomFilter(**kwargs)  # type: ignore[arg-type]


def test_unsupported_keys_change_nothing() -> None:
    sbf = ScalableBloomFilter(5)
    sbf.add_many(range(5))
    before = sbf.to_bytes()
    with pytest.raises(TypeError):
        sbf.add(1.5)
    with pytest.raises(TypeError):
        sbf.add_many([6, 7, 8, None])
    with pytest.raises(TypeError):
        sbf.add_many("abc")
    assert sbf.to_bytes() == before


class ScalableMachine(RuleBasedStateMachine):
    """Against a set: no false negatives as the structure grows, by either path."""

    def __init__(self) -> None:
        super().__init__()
        self.sbf = ScalableBloomFilter(4, 0.05, seed=2)
        self.model: set[object] = set()

    @rule(key=st.integers(0, 200) | st.text(max_size=3))
    def add(self, key: object) -> None:
        self.sbf.add(key)
        self.model.add(key)

    @rule(keys=st.lists(st.integers(0, 200), max_size=12))
    def add_many(self, keys: list[object]) -> None:
        self.sbf.add_many(keys)
        self.model.update(keys)

    @rule()
    def round_trip(self) -> None:
        self.sbf = ScalableBloomFilter.from_bytes(self.sbf.to_bytes())

    @invariant()
    def no_false_negatives(self) -> None:
        self.sbf._check()
        assert all(k in self.sbf for k in self.model)
        assert self.sbf.contains_many(list(self.model)).all()


TestScalableMachine = ScalableMachine.TestCase
TestScalableMachine.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
