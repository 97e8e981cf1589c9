"""BloomFilter: sizing, membership, batch paths, set algebra, errors, invariants."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.bloom import BloomFilter, _core

keys_st = st.one_of(
    st.text(max_size=12),
    st.binary(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**80),
)


def _bits(bf: BloomFilter) -> bytes:
    return bf.to_bytes()


# ---------------------------------------------------------------- sizing


@pytest.mark.parametrize(
    ("n", "p"), [(1, 0.5), (1000, 0.01), (10_000, 0.001), (200_000, 0.01), (12345, 0.0001)]
)
def test_size_follows_the_optimal_formulas_rounded_up_to_a_64_bit_word(n: int, p: float) -> None:
    bf = BloomFilter(n, p)
    raw = math.ceil(-n * math.log(p) / math.log(2) ** 2)
    assert bf.bit_size % 64 == 0
    assert raw <= bf.bit_size < raw + 64
    assert bf.num_hashes == max(1, round(bf.bit_size / n * math.log(2)))
    assert bf.nbytes == bf.bit_size // 8
    assert (bf.capacity, bf.error_rate) == (n, p)
    bf._check()


def test_the_number_of_hashes_is_rounded_not_truncated() -> None:
    # (m/n) ln 2 = 6.65 for p = 1%: truncation would give 6 and a higher error rate.
    assert BloomFilter(1000, 0.01).num_hashes == 7


def test_the_raw_form_takes_bit_size_and_num_hashes_as_given() -> None:
    bf = BloomFilter.from_size(1001, 5, seed=3)
    assert (bf.bit_size, bf.num_hashes, bf.seed, bf.capacity, bf.error_rate) == (
        1001,
        5,
        3,
        None,
        None,
    )
    bf.add("x")
    assert "x" in bf
    bf._check()


# ---------------------------------------------------------------- membership


def test_an_added_key_is_present_and_an_empty_filter_holds_nothing() -> None:
    bf = BloomFilter(100)
    assert "a" not in bf
    bf.add("a")
    assert "a" in bf
    bf._check()


@settings(max_examples=60, deadline=None)
@given(st.lists(keys_st, max_size=60))
def test_there_is_never_a_false_negative_on_the_scalar_path(keys: list[object]) -> None:
    bf = BloomFilter(50, 0.05)
    for k in keys:
        bf.add(k)
    assert all(k in bf for k in keys)
    assert len(bf) == len(keys)
    bf._check()


@settings(max_examples=60, deadline=None)
@given(st.lists(keys_st, max_size=60))
def test_there_is_never_a_false_negative_on_the_batch_path(keys: list[object]) -> None:
    bf = BloomFilter(50, 0.05)
    bf.add_many(keys)
    assert bf.contains_many(keys).all()
    assert len(bf) == len(keys)
    bf._check()


@settings(max_examples=40, deadline=None)
@given(st.lists(keys_st, max_size=80), st.integers(0, 2**32 - 1))
def test_scalar_and_batch_paths_set_the_same_bits_and_agree(keys: list[object], seed: int) -> None:
    one, many = BloomFilter(40, 0.02, seed=seed), BloomFilter(40, 0.02, seed=seed)
    for k in keys:
        one.add(k)
    many.add_many(keys)
    assert one == many
    probes = [*keys, "absent", b"zz", 12345]
    assert many.contains_many(probes).tolist() == [p in one for p in probes]


def test_scalar_in_agrees_with_contains_many_on_a_half_full_filter() -> None:
    bf = BloomFilter(2000, 0.01, seed=99)
    bf.add_many([f"key-{i}" for i in range(2000)])
    probes: list[object] = [f"key-{i}" for i in range(0, 6000)] + list(range(3000))
    got = [p in bf for p in probes]
    assert bf.contains_many(probes).tolist() == got
    assert 0 < sum(got[2000:6000]) < 200  # some false positives, as a 1% filter should have


def test_the_dense_and_sparse_batch_paths_set_identical_bits() -> None:
    keys = np.arange(5000, dtype=np.uint64) * 7
    dense = BloomFilter(5000, 0.01)
    dense.add_many(keys)  # n*k >> m/8: scratch path
    sparse = BloomFilter(5000, 0.01)
    for start in range(0, 5000, 50):  # 50*7 << m/8: bitwise_or.at path
        sparse.add_many(keys[start : start + 50])
    scalar = BloomFilter(5000, 0.01)
    for k in keys.tolist():
        scalar.add(k)
    assert dense == sparse == scalar


@settings(max_examples=40, deadline=None)
@given(st.lists(keys_st, min_size=1, max_size=40), st.integers(1, 5000), st.integers(1, 12))
def test_probe_positions_equal_dskata_hashing_indexes(keys: list[object], m: int, k: int) -> None:
    from dskata.hashing import indexes, indexes_many

    h1 = _core.hash_keys(keys, 7)
    blocks = [pos for _, pos in _core.probe_chunks(h1, k, m)]
    batch = np.concatenate(blocks, axis=1).T.astype(np.uint64)
    assert np.array_equal(batch, indexes_many(keys, k, m, 7))  # type: ignore[arg-type]
    for key, row in zip(keys, batch.tolist(), strict=True):
        assert _core.positions(key, k, m, 7) == indexes(key, k, m, 7) == row  # type: ignore[arg-type]


def test_int_and_numpy_integer_keys_hash_alike_on_both_paths() -> None:
    bf = BloomFilter(100)
    bf.add(np.uint64(5))
    assert 5 in bf
    assert bf.contains_many(np.array([5], dtype=np.int64)).tolist() == [True]
    bf.add_many(np.array([-1], dtype=np.int64))
    assert 2**64 - 1 in bf  # the two's-complement pattern, as dskata.hashing documents


def test_str_keys_hash_as_their_utf8_bytes() -> None:
    bf = BloomFilter(100)
    bf.add("é")
    assert "é".encode() in bf
    assert bf.contains_many(np.array(["é"])).tolist() == [True]


def test_the_seed_changes_the_positions() -> None:
    a, b = BloomFilter(100, seed=1), BloomFilter(100, seed=2)
    a.add("x")
    b.add("x")
    assert a.to_bytes()[36:] != b.to_bytes()[36:]


# ---------------------------------------------------------------- statistics


@pytest.mark.parametrize("pattern", ["sequential", "strided", "key-N", "random-bytes"])
def test_false_positive_rate_at_capacity_is_near_the_target(pattern: str) -> None:
    n, probes = 10_000, 200_000
    rng = np.random.default_rng(42)
    if pattern == "sequential":
        ins: object = np.arange(n, dtype=np.uint64)
        out: object = np.arange(n, n + probes, dtype=np.uint64)
    elif pattern == "strided":
        ins = np.arange(n, dtype=np.uint64) << np.uint64(20)
        out = np.arange(n, n + probes, dtype=np.uint64) << np.uint64(20)
    elif pattern == "key-N":
        ins = [f"key-{i}" for i in range(n)]
        out = [f"key-{i}" for i in range(n, n + probes)]
    else:
        raw = [bytes(r) for r in rng.integers(0, 256, size=(n + probes, 12), dtype=np.uint8)]
        ins, out = raw[:n], raw[n:]
    bf = BloomFilter(n, 0.01)
    bf.add_many(ins)
    fpr = float(bf.contains_many(out).mean())
    # 200k probes: one standard deviation is 2.2% of the rate, so +-10% is 4.5 sigma.
    assert 0.009 <= fpr <= 0.011, f"measured FPR {fpr:.5f}, expected 0.01 +- 10%"


def test_approx_len_is_within_one_percent_at_capacity() -> None:
    n = 100_000
    bf = BloomFilter(n, 0.01)
    bf.add_many(np.arange(n, dtype=np.uint64) * 3)
    assert abs(bf.approx_len() - n) <= 0.01 * n, bf.approx_len()


def test_approx_len_ignores_repeated_insertions_that_len_counts() -> None:
    bf = BloomFilter(1000)
    for _ in range(3):
        bf.add_many(range(100))
    assert len(bf) == 300
    assert abs(bf.approx_len() - 100) < 5


def test_a_full_filter_estimates_infinitely_many_items() -> None:
    bf = BloomFilter.from_size(8, 1)
    bf.add_many(range(200))
    assert bf.fill_ratio == 1.0 and math.isinf(bf.approx_len())
    assert bf.expected_error_rate() == 1.0


def test_expected_error_rate_tracks_theory_at_capacity() -> None:
    bf = BloomFilter(20_000, 0.01)
    bf.add_many(np.arange(20_000))
    theory = _core.theory_fpr(bf.bit_size, bf.num_hashes, 20_000)
    assert abs(bf.expected_error_rate() - theory) / theory < 0.05
    assert 0.45 < bf.fill_ratio < 0.55  # optimal k leaves about half the bits set


# ---------------------------------------------------------------- set algebra


def _pair() -> tuple[BloomFilter, BloomFilter]:
    a, b = BloomFilter(500, 0.01), BloomFilter(500, 0.01)
    a.add_many(range(0, 200))
    b.add_many(range(100, 300))
    return a, b


def test_union_contains_the_keys_of_both_and_sums_insertions() -> None:
    a, b = _pair()
    u = a | b
    assert u.contains_many(range(300)).all()
    assert len(u) == 400
    a2 = a.copy()
    a2 |= b
    assert a2 == u
    a3 = a.copy()
    a3.update(b)
    assert a3 == u
    u._check()


def test_union_of_bit_arrays_equals_inserting_everything_into_one_filter() -> None:
    a, b = _pair()
    both = BloomFilter(500, 0.01)
    both.add_many(range(300))
    assert (a | b) == both


def test_intersection_keeps_the_common_keys() -> None:
    a, b = _pair()
    i = a & b
    assert i.contains_many(range(100, 200)).all()
    assert len(i) <= min(len(a), len(b))
    a &= b
    assert a == i
    i._check()


@pytest.mark.parametrize(
    "other",
    [BloomFilter(501, 0.01), BloomFilter(500, 0.02), BloomFilter(500, 0.01, seed=1)],
    ids=["capacity", "error_rate", "seed"],
)
def test_combining_filters_with_different_parameters_is_refused_and_changes_nothing(
    other: BloomFilter,
) -> None:
    a, b = _pair()
    before = a.to_bytes()
    for op in (lambda: a | other, lambda: a & other, lambda: a.update(b, other)):
        with pytest.raises(ValueError, match="equal"):
            op()
    with pytest.raises(ValueError):
        a |= other
    with pytest.raises(ValueError):
        a &= other
    assert a.to_bytes() == before


def test_combining_with_something_that_is_not_a_filter_is_a_type_error() -> None:
    a, _ = _pair()
    with pytest.raises(TypeError, match="BloomFilter"):
        a.update({1, 2})  # type: ignore[arg-type]


def test_copy_is_independent_and_equal() -> None:
    a, _ = _pair()
    c = a.copy()
    assert c == a and c is not a and len(c) == len(a)
    c.add("new")
    assert "new" not in a


def test_equality_compares_parameters_and_bits() -> None:
    a, b = BloomFilter(100), BloomFilter(100)
    assert a == b
    a.add(1)
    assert a != b
    assert a != "not a filter"
    assert BloomFilter(100) != BloomFilter(100, seed=1)


def test_clear_empties_the_filter() -> None:
    a, _ = _pair()
    a.clear()
    assert len(a) == 0 and a.fill_ratio == 0.0 and a == BloomFilter(500, 0.01)


def test_pickling_round_trips() -> None:
    a, _ = _pair()
    b = pickle.loads(pickle.dumps(a))
    assert b == a and len(b) == len(a) and b.capacity == a.capacity
    b._check()


def test_repr_names_the_parameters() -> None:
    assert "capacity=100" in repr(BloomFilter(100))
    assert "raw" in repr(BloomFilter.from_size(64, 2))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "exc", "words"),
    [
        ((0,), ValueError, "capacity"),
        ((-5,), ValueError, "capacity"),
        ((10.0,), TypeError, "capacity"),
        ((True,), TypeError, "capacity"),
        (("10",), TypeError, "capacity"),
        ((10, 0.0), ValueError, "error_rate"),
        ((10, 1.0), ValueError, "error_rate"),
        ((10, -0.1), ValueError, "error_rate"),
        ((10, 1.5), ValueError, "error_rate"),
        ((10, float("nan")), ValueError, "error_rate"),
        ((10, float("inf")), ValueError, "error_rate"),
        ((10, "0.01"), TypeError, "error_rate"),
        ((10, None), TypeError, "error_rate"),
        ((10**16, 1e-9), ValueError, "capacity"),
    ],
)
def test_bad_parameters_raise_a_clear_error(
    args: tuple[object, ...], exc: type, words: str
) -> None:
    with pytest.raises(exc, match=words):
        BloomFilter(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0, "0"])
def test_a_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises((TypeError, ValueError), match="seed"):
        BloomFilter(10, seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize(("m", "k"), [(0, 1), (10, 0), (2**49, 1), (10, 10**6), (1.5, 2)])
def test_bad_raw_parameters_are_refused(m: object, k: object) -> None:
    with pytest.raises((TypeError, ValueError), match=r"bit_size|num_hashes"):
        BloomFilter.from_size(m, k)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [1.5, None, True, (1,), [1], np.float64(1.0)])
def test_unsupported_key_types_are_refused_and_change_nothing(key: object) -> None:
    bf = BloomFilter(100)
    bf.add("kept")
    before = bf.to_bytes()
    with pytest.raises(TypeError, match="key"):
        bf.add(key)
    with pytest.raises(TypeError):
        _ = key in bf
    with pytest.raises(TypeError):
        bf.add_many(["a", "b", key])
    assert bf.to_bytes() == before and len(bf) == 1


@pytest.mark.parametrize(
    ("keys", "exc"),
    [
        ("abc", TypeError),
        (b"abc", TypeError),
        (42, TypeError),
        (np.array([1.5, 2.5]), TypeError),
        (np.array([True]), TypeError),
        (np.zeros((2, 2), dtype=np.uint64), ValueError),
    ],
)
def test_bad_batches_are_refused_and_change_nothing(keys: object, exc: type) -> None:
    bf = BloomFilter(100)
    with pytest.raises(exc, match="key"):
        bf.add_many(keys)
    with pytest.raises(exc):
        bf.contains_many(keys)
    assert len(bf) == 0 and bf.fill_ratio == 0


def test_batches_accept_generators_tuples_and_empty_input() -> None:
    bf = BloomFilter(100)
    bf.add_many(f"k{i}" for i in range(5))
    bf.add_many(())
    bf.add_many(np.array([], dtype=np.uint64))
    assert len(bf) == 5
    assert bf.contains_many(f"k{i}" for i in range(5)).all()
    assert bf.contains_many([]).shape == (0,)


def test_filters_are_unhashable_because_they_are_mutable() -> None:
    with pytest.raises(TypeError):
        hash(BloomFilter(10))


# ---------------------------------------------------------------- stateful


class BloomMachine(RuleBasedStateMachine):
    """Against a set: every added key stays present, through scalar, batch and union paths."""

    def __init__(self) -> None:
        super().__init__()
        self.bf = BloomFilter(30, 0.05, seed=11)
        self.model: set[object] = set()
        self.inserted = 0

    @rule(key=keys_st)
    def add(self, key: object) -> None:
        self.bf.add(key)
        self.model.add(key)
        self.inserted += 1

    @rule(keys=st.lists(keys_st, max_size=10))
    def add_many(self, keys: list[object]) -> None:
        self.bf.add_many(keys)
        self.model.update(keys)
        self.inserted += len(keys)

    @rule(keys=st.lists(keys_st, max_size=5))
    def union(self, keys: list[object]) -> None:
        other = BloomFilter(30, 0.05, seed=11)
        other.add_many(keys)
        self.bf |= other
        self.model.update(keys)
        self.inserted += len(keys)

    @rule()
    def round_trip(self) -> None:
        self.bf = BloomFilter.from_bytes(self.bf.to_bytes())

    @invariant()
    def no_false_negatives(self) -> None:
        self.bf._check()
        keys = list(self.model)
        assert all(k in self.bf for k in keys)
        assert self.bf.contains_many(keys).all()
        assert len(self.bf) == self.inserted


TestBloomMachine = BloomMachine.TestCase
TestBloomMachine.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 13])
def test_contains_many_agrees_with_in_for_every_number_of_hashes(k: int) -> None:
    # Lookups probe two positions for every key and the rest for survivors only.
    bf = BloomFilter.from_size(4096, k, seed=5)
    bf.add_many(range(0, 600, 2))
    probes = np.arange(40_000, dtype=np.int64)
    got = bf.contains_many(probes)
    assert got.tolist() == [int(p) in bf for p in probes]
    assert got[0:600:2].all() and 0 < got.sum() < 40_000
