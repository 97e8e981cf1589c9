"""CountingBloomFilter: packed 4-bit saturating counters, removal, batch paths, invariants."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dskata.bloom import BloomFilter, CountingBloomFilter, NotInFilterError

small_keys = st.one_of(st.integers(0, 40), st.sampled_from(["a", "b", "c", "é", ""]))


def test_counters_are_packed_two_per_byte() -> None:
    cbf = CountingBloomFilter(1000, 0.01)
    assert cbf.bit_size == BloomFilter(1000, 0.01).bit_size
    assert cbf.nbytes == cbf.bit_size // 2
    assert CountingBloomFilter.from_size(7, 2).nbytes == 4


def test_nonzero_counters_are_exactly_the_bits_a_bloom_filter_would_set() -> None:
    cbf, bf = CountingBloomFilter(300, 0.01, seed=5), BloomFilter(300, 0.01, seed=5)
    keys = [f"k{i}" for i in range(300)]
    cbf.add_many(keys)
    bf.add_many(keys)
    assert cbf.fill_ratio == bf.fill_ratio
    probes = [f"p{i}" for i in range(2000)]
    assert np.array_equal(cbf.contains_many(probes), bf.contains_many(probes))


def test_a_removed_key_is_absent_again() -> None:
    cbf = CountingBloomFilter(100)
    cbf.add("x")
    cbf.remove("x")
    assert "x" not in cbf and len(cbf) == 0 and cbf.fill_ratio == 0
    cbf._check()


def test_removing_one_of_two_insertions_keeps_the_key() -> None:
    cbf = CountingBloomFilter(100)
    cbf.add("x")
    cbf.add("x")
    assert cbf.count("x") == 2
    cbf.remove("x")
    assert "x" in cbf and cbf.count("x") == 1


def test_removing_a_never_added_key_is_refused_when_a_counter_is_zero() -> None:
    cbf = CountingBloomFilter(100)
    cbf.add("x")
    before = cbf.to_bytes()
    with pytest.raises(NotInFilterError, match="never added"):
        cbf.remove("y")
    assert cbf.to_bytes() == before
    # The error is both a KeyError (like set.remove) and a ValueError.
    with pytest.raises(KeyError):
        cbf.remove("y")
    with pytest.raises(ValueError):
        cbf.remove("y")
    assert cbf.discard("y") is False and cbf.discard("x") is True


def test_counters_saturate_at_15_and_then_never_move() -> None:
    # Fan et al. 2000, §V.C: 4 bits suffice; a saturated counter must stay put so that no
    # decrement can reach zero while keys still rely on it.
    cbf = CountingBloomFilter(100)
    for _ in range(20):
        cbf.add("x")
    assert cbf.count("x") == 15
    for _ in range(20):
        cbf.remove("x")
    assert cbf.count("x") == 15 and "x" in cbf
    cbf.add_many(["x"] * 5)
    assert cbf.count("x") == 15


def test_a_filter_holding_no_insertions_refuses_every_removal() -> None:
    # Saturated counters survive removals, so without this check a 21st removal of "x"
    # would pass the zero-counter test and drive len() negative (len() then raises).
    cbf = CountingBloomFilter(100)
    for _ in range(20):
        cbf.add("x")
    for _ in range(20):
        cbf.remove("x")
    before = cbf.to_bytes()
    with pytest.raises(NotInFilterError, match="no insertions"):
        cbf.remove("x")
    with pytest.raises(NotInFilterError, match="holds 0 insertions"):
        cbf.remove_many(["x"])
    assert cbf.to_bytes() == before and len(cbf) == 0
    cbf._check()


def test_remove_many_refuses_more_keys_than_insertions() -> None:
    cbf = CountingBloomFilter(100)
    for _ in range(16):
        cbf.add("x")  # saturated: removals never meet a zero counter
    before = cbf.to_bytes()
    with pytest.raises(NotInFilterError, match="17 keys"):
        cbf.remove_many(["x"] * 17)
    assert cbf.to_bytes() == before
    cbf.remove_many(["x"] * 16)
    assert len(cbf) == 0


def test_batch_add_and_remove_match_the_scalar_path() -> None:
    keys = [i % 37 for i in range(300)] + ["a", "a", "b"]
    one, many = CountingBloomFilter(50, 0.05), CountingBloomFilter(50, 0.05)
    for k in keys:
        one.add(k)
    many.add_many(keys)
    assert one == many
    for k in keys[:100]:
        one.remove(k)
    many.remove_many(keys[:100])
    assert one == many and len(one) == len(many) == len(keys) - 100
    many._check()


def test_remove_many_is_all_or_nothing() -> None:
    cbf = CountingBloomFilter(100)
    cbf.add_many(["a", "b"])
    before = cbf.to_bytes()
    with pytest.raises(NotInFilterError):
        cbf.remove_many(["a", "never"])
    with pytest.raises(NotInFilterError):
        cbf.remove_many(["a", "a"])  # the second removal would meet a zero counter
    assert cbf.to_bytes() == before


def test_union_adds_counters_and_refuses_mismatched_filters() -> None:
    a, b = CountingBloomFilter(100), CountingBloomFilter(100)
    a.add("x")
    b.add("x")
    b.add("y")
    u = a | b
    assert u.count("x") == 2 and "y" in u and len(u) == 3
    u.remove("y")
    assert "y" not in u
    with pytest.raises(ValueError, match="equal"):
        a |= CountingBloomFilter(101)
    with pytest.raises(TypeError):
        a.update(BloomFilter(100))  # type: ignore[arg-type]
    assert a.count("x") == 1


def test_copy_pickle_and_bytes_round_trip() -> None:
    cbf = CountingBloomFilter(100, seed=9)
    cbf.add_many(range(50))
    for other in (cbf.copy(), pickle.loads(pickle.dumps(cbf)), cbf.from_bytes(cbf.to_bytes())):
        assert other == cbf and len(other) == 50 and other.seed == 9
        other._check()
    c = cbf.copy()
    c.add("new")
    assert c != cbf


def test_approx_len_counts_distinct_present_keys() -> None:
    cbf = CountingBloomFilter(20_000, 0.01)
    cbf.add_many(np.arange(20_000))
    assert abs(cbf.approx_len() - 20_000) < 400
    assert 0.005 < cbf.expected_error_rate() < 0.015


@pytest.mark.parametrize(("args", "word"), [((0,), "capacity"), ((10, 1.0), "error_rate")])
def test_bad_parameters_raise_a_clear_error(args: tuple[object, ...], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        CountingBloomFilter(*args)  # type: ignore[arg-type]


def test_unsupported_keys_change_nothing() -> None:
    cbf = CountingBloomFilter(100)
    cbf.add("a")
    before = cbf.to_bytes()
    with pytest.raises(TypeError):
        cbf.add(1.5)
    with pytest.raises(TypeError):
        cbf.remove(None)
    with pytest.raises(TypeError):
        cbf.add_many([1, 2.5])
    assert cbf.to_bytes() == before


@settings(max_examples=40, deadline=None)
@given(st.lists(small_keys, max_size=40))
def test_there_is_never_a_false_negative_while_counts_are_positive(keys: list[object]) -> None:
    cbf = CountingBloomFilter(30, 0.05)
    cbf.add_many(keys)
    assert all(k in cbf for k in keys)


class CountingMachine(RuleBasedStateMachine):
    """Against a Counter: present keys are always found; removal only of added keys."""

    def __init__(self) -> None:
        super().__init__()
        self.cbf = CountingBloomFilter(20, 0.05, seed=3)
        self.model: Counter[object] = Counter()

    @rule(key=small_keys)
    def add(self, key: object) -> None:
        self.cbf.add(key)
        self.model[key] += 1

    @rule(keys=st.lists(small_keys, max_size=6))
    def add_many(self, keys: list[object]) -> None:
        self.cbf.add_many(keys)
        self.model.update(keys)

    @precondition(lambda self: bool(+self.model))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(+self.model, key=repr)))
        self.cbf.remove(key)
        self.model[key] -= 1

    @precondition(lambda self: bool(+self.model))
    @rule(data=st.data())
    def remove_many(self, data: st.DataObject) -> None:
        present = sorted(+self.model, key=repr)
        keys = data.draw(st.lists(st.sampled_from(present), max_size=3, unique_by=repr))
        self.cbf.remove_many(keys)
        self.model.subtract(keys)

    @rule()
    def round_trip(self) -> None:
        self.cbf = CountingBloomFilter.from_bytes(self.cbf.to_bytes())

    @invariant()
    def agrees_with_the_model(self) -> None:
        self.cbf._check()
        present = list(+self.model)
        assert all(k in self.cbf for k in present)
        assert self.cbf.contains_many(present).all()
        assert len(self.cbf) == sum(self.model.values())
        for k in present:
            assert self.cbf.count(k) >= min(self.model[k], 15)


TestCountingMachine = CountingMachine.TestCase
TestCountingMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
