"""Tests of dskata.sketch.CountMinSketch (Cormode and Muthukrishnan 2005)."""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.hashing import hash64, row_hashes, row_hashes_many
from dskata.sketch import CountMinSketch
from dskata.sketch.experiments import cms_accuracy

KEYS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(max_size=8),
    st.binary(max_size=8),
)
SMALL_KEYS = st.one_of(st.integers(0, 40), st.sampled_from(["a", "b", "c", "d", "é"]))


def _column(h: int, width: int) -> int:
    return ((h >> 32) * width) >> 32


# ---------------------------------------------------------------- hashing and layout


@settings(max_examples=200, deadline=None)
@given(
    key=KEYS, width=st.integers(1, 5000), depth=st.integers(1, 9), seed=st.integers(0, 2**32 - 1)
)
def test_each_row_uses_its_own_independent_hash_from_row_hashes(
    key: object, width: int, depth: int, seed: int
) -> None:
    cms = CountMinSketch(width, depth, seed=seed)
    expected = [r * width + _column(h, width) for r, h in enumerate(row_hashes(key, depth, seed))]  # type: ignore[arg-type]
    assert list(cms._indexer(hash64(key, seed))) == expected  # type: ignore[arg-type]
    assert cms._cells_many([key])[:, 0].tolist() == expected  # type: ignore[arg-type]
    bases = np.array([hash64(key, seed)], dtype=np.uint64)  # type: ignore[arg-type]
    assert cms._cells_from_hashes(bases)[:, 0].tolist() == expected


def test_the_array_path_matches_row_hashes_many_on_integer_arrays() -> None:
    keys = np.arange(-50, 50, dtype=np.int64)
    cms = CountMinSketch(1000, 4, seed=9)
    rows = row_hashes_many(keys, 4, 9)
    expected = np.array([[r * 1000 + _column(int(h), 1000) for h in rows[:, r]] for r in range(4)])
    assert np.array_equal(cms._cells_many(keys), expected)


def test_rows_do_not_collide_together_as_double_hashing_rows_would() -> None:
    """Cormode and Muthukrishnan §3: rows must be independent; h1 + r*h2 makes pairs collide in
    every row at once whenever they collide in two."""
    width, depth = 64, 4
    cms = CountMinSketch(width, depth)
    cells = cms._cells_many(np.arange(20000, dtype=np.uint64)) % width
    first_two = (cells[0][:, None] == cells[0][None, :200]) & (
        cells[1][:, None] == cells[1][None, :200]
    )
    all_rows = first_two & (cells[2][:, None] == cells[2][None, :200])
    pairs_two = int(first_two.sum()) - 200
    pairs_three = int(all_rows.sum()) - 200
    # Independent rows: colliding in row 2 as well is a 1/width event, not a certainty.
    assert pairs_two > 0
    assert pairs_three <= pairs_two / 8


# ---------------------------------------------------------------- construction and errors


def test_from_error_sizes_width_as_ceil_e_over_epsilon_and_depth_as_ceil_ln_one_over_delta() -> (
    None
):
    cms = CountMinSketch.from_error(0.001, 0.01)
    assert (cms.width, cms.depth) == (math.ceil(math.e / 0.001), math.ceil(math.log(100)))
    assert (cms.width, cms.depth) == (2719, 5)
    assert CountMinSketch.from_error(0.3, 0.9).width == 10  # not rounded to a power of two


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan")])
def test_from_error_refuses_epsilon_or_delta_outside_the_open_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError, match="epsilon"):
        CountMinSketch.from_error(bad, 0.01)
    with pytest.raises(ValueError, match="delta"):
        CountMinSketch.from_error(0.01, bad)


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"width": 0, "depth": 3}, ValueError, "width"),
        ({"width": 10, "depth": 0}, ValueError, "depth"),
        ({"width": 2.0, "depth": 3}, TypeError, "width"),
        ({"width": True, "depth": 3}, TypeError, "width"),
        ({"width": 10, "depth": 3, "seed": -1}, ValueError, "seed"),
        ({"width": 10, "depth": 3, "dtype": np.int32}, ValueError, "dtype"),
        ({"width": 10, "depth": 3, "dtype": "float64"}, ValueError, "dtype"),
        ({"width": 10, "depth": 3, "conservative": 1}, TypeError, "conservative"),
    ],
)
def test_the_constructor_names_the_bad_parameter(
    kwargs: dict[str, Any], exc: type, word: str
) -> None:
    with pytest.raises(exc, match=word):
        CountMinSketch(**kwargs)


def test_bad_keys_and_counts_raise_and_change_nothing() -> None:
    cms = CountMinSketch(50, 3)
    cms.add_many(["a", "b", "a"])
    before = cms.to_bytes()
    with pytest.raises(TypeError, match="float"):
        cms.add(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cms.add(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        cms.add("a", -1)
    with pytest.raises(TypeError, match="count"):
        cms.add("a", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cms.add_many(["a", "b", 2.5])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="counts"):
        cms.add_many(["a", "b"], counts=[1, -2])
    with pytest.raises(ValueError, match="counts"):
        cms.add_many(["a", "b"], counts=[1])
    with pytest.raises(TypeError, match="counts"):
        cms.add_many(["a", "b"], counts=[1.0, 2.0])
    with pytest.raises(TypeError, match="keys"):
        cms.add_many("ab")
    with pytest.raises(TypeError):
        cms.add_many(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="estimator"):
        cms.estimate("a", estimator="mean")  # type: ignore[arg-type]
    assert cms.to_bytes() == before
    assert cms.total == 3
    cms._check()


# ---------------------------------------------------------------- the guarantee


@pytest.mark.parametrize("conservative", [False, True])
@settings(max_examples=60, deadline=None)
@given(stream=st.lists(st.tuples(SMALL_KEYS, st.integers(0, 5)), max_size=120))
def test_estimates_never_underestimate_for_any_stream(
    conservative: bool, stream: list[tuple[object, int]]
) -> None:
    """Cormode and Muthukrishnan §4.1 (and Estan and Varghese §3.3 for conservative update)."""
    cms = CountMinSketch(7, 3, conservative=conservative)
    truth: Counter[object] = Counter()
    for key, count in stream:
        cms.add(key, count)  # type: ignore[arg-type]
        truth[key] += count
    cms._check()
    for key, count in truth.items():
        assert cms.estimate(key) >= count  # type: ignore[arg-type]
    assert cms.total == sum(truth.values())


@pytest.mark.parametrize("conservative", [False, True])
@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(SMALL_KEYS, max_size=200),
    weighted=st.booleans(),
    data=st.data(),
)
def test_add_many_equals_adding_each_key_in_turn(
    conservative: bool, keys: list[object], weighted: bool, data: st.DataObject
) -> None:
    counts = data.draw(st.lists(st.integers(0, 9), min_size=len(keys), max_size=len(keys)))
    one = CountMinSketch(11, 3, conservative=conservative)
    many = CountMinSketch(11, 3, conservative=conservative)
    for i, key in enumerate(keys):
        one.add(key, counts[i] if weighted else 1)  # type: ignore[arg-type]
    many.add_many(keys, counts if weighted else None)  # type: ignore[arg-type]
    one._check()
    many._check()
    assert one == many
    assert np.array_equal(one.table, many.table)
    assert one.estimate_many(keys).tolist() == [one.estimate(k) for k in keys]  # type: ignore[arg-type]


@pytest.mark.parametrize("conservative", [False, True])
def test_batches_longer_than_one_chunk_equal_key_by_key_adds(conservative: bool) -> None:
    """add_many and estimate_many work in chunks of 64Ki keys; chunk edges must not show."""
    keys = np.random.default_rng(11).integers(0, 3000, 70_000).astype(np.uint64)
    one, many = (
        CountMinSketch(97, 3, conservative=conservative),
        CountMinSketch(97, 3, conservative=conservative),
    )
    for key in keys.tolist():
        one.add(key)
    many.add_many(keys)
    assert one == many
    strs = [str(k) for k in keys[:20_000].tolist()]  # skewed str batch: the distinct-key path
    one.add_many(np.array(strs))
    for key in strs:
        many.add(key)
    assert one == many
    assert many.estimate_many(keys)[::50].tolist() == [many.estimate(int(k)) for k in keys[::50]]


def test_a_bad_key_in_a_late_chunk_changes_nothing() -> None:
    cms = CountMinSketch(50, 3)
    cms.add_many(["warm", "up"])
    before = cms.to_bytes()
    keys: list[object] = [*range(100_000), 1.5]
    with pytest.raises(TypeError, match="float"):
        cms.add_many(keys)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cms.add_many(["s"] * 20_000 + [None])  # type: ignore[arg-type]
    assert cms.to_bytes() == before and cms.total == 2


def test_conservative_batches_with_interleaved_duplicates_follow_stream_order() -> None:
    """Conservative update does not commute: a batch must replay the stream's order exactly."""
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 60, 5000)
    seq = CountMinSketch(16, 3, conservative=True)
    for key in keys.tolist():
        seq.add(key)
    batch = CountMinSketch(16, 3, conservative=True)
    batch.add_many(keys)
    assert seq == batch
    # Aggregating duplicates first (a tempting shortcut) gives a different, looser sketch.
    agg = CountMinSketch(16, 3, conservative=True)
    uniq, cnt = np.unique(keys, return_counts=True)
    agg.add_many(uniq, cnt)
    assert agg != batch


def test_conservative_counters_never_exceed_plain_counters_on_the_same_stream() -> None:
    keys = np.random.default_rng(5).integers(0, 500, 20000)
    plain, cons = CountMinSketch(64, 4), CountMinSketch(64, 4, conservative=True)
    plain.add_many(keys)
    cons.add_many(keys)
    assert bool((cons.table <= plain.table).all())
    assert bool((cons.table < plain.table).any())


def test_the_scalar_write_buffer_is_invisible_to_every_reader() -> None:
    cms = CountMinSketch(100, 3)
    for i in range(5000):  # crosses the buffer limit once, leaves a tail pending
        cms.add(i % 37)
    copy = pickle.loads(pickle.dumps(cms))
    direct = CountMinSketch(100, 3)
    direct.add_many(np.arange(5000) % 37)
    readers: list[Callable[[CountMinSketch], object]] = [
        lambda s: s.table.tolist(),
        lambda s: s.to_bytes(),
        lambda s: s[3],
    ]
    for reader in readers:
        assert reader(cms) == reader(direct) == reader(copy)
    assert cms == direct


# ---------------------------------------------------------------- accuracy (paper, Theorem 1)


def test_on_a_zipf_stream_no_key_exceeds_eps_n_and_conservative_halves_the_mean_error() -> None:
    """Theorem 1 on a smaller version of the issue's acceptance stream (the full 1M-item run is
    ``dskata cms accuracy``): Zipf(1.1), eps = 0.001, delta = 0.01."""
    plain, cons = cms_accuracy(
        epsilon=0.001, delta=0.01, zipf=1.1, items=200_000, keys=20_000, seed=1
    )
    eps_n = 0.001 * 200_000
    assert plain.over_bound == 0 and cons.over_bound == 0
    assert plain.mean_error <= 0.1 * eps_n, (plain.mean_error, 0.1 * eps_n)
    assert cons.mean_error <= 0.6 * plain.mean_error, (cons.mean_error, plain.mean_error)
    assert min(plain.errors) >= 0 and min(cons.errors) >= 0


def test_error_bound_reports_eps_n_and_its_probability() -> None:
    cms = CountMinSketch.from_error(0.01, 0.05)
    cms.add_many(range(1000))
    b = cms.error_bound()
    assert b.epsilon == pytest.approx(math.e / cms.width)
    assert b.delta == pytest.approx(math.exp(-cms.depth)) and b.delta <= 0.05
    assert b.bound == pytest.approx(b.epsilon * 1000)
    assert b.probability == pytest.approx(1 - b.delta)
    bound, probability = b  # the pair: eps * N and the probability
    assert (bound, probability) == (b.bound, b.probability)
    again = pickle.loads(pickle.dumps(b))
    assert (again, again.epsilon, again.delta) == (b, b.epsilon, b.delta)


def test_from_error_names_delta_when_it_needs_more_than_64_rows() -> None:
    with pytest.raises(ValueError, match="delta"):
        CountMinSketch.from_error(0.1, 1e-40)
    assert CountMinSketch.from_error(0.1, math.exp(-64) * 1.0001).depth == 64


def test_merge_takes_the_weight_by_position_or_keyword() -> None:
    a, b = CountMinSketch(64, 3), CountMinSketch(64, 3)
    b.add("x", 2)
    a.merge(b, 3)
    a.merge(b, weight=2, self_weight=2)
    assert (a["x"], a.total) == (16, 16)


def test_count_mean_min_stays_between_zero_and_the_min_estimate_and_debiases_flat_streams() -> None:
    """Deng and Rafiei 2007: subtract each row's expected noise, take the median."""
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 5000, 50000)
    cms = CountMinSketch(200, 5)
    cms.add_many(keys)
    uniq, true = np.unique(keys, return_counts=True)
    est_min = cms.estimate_many(uniq)
    est_cmm = cms.estimate_many(uniq, estimator="count-mean-min")
    assert bool((est_cmm <= est_min).all()) and bool((est_cmm >= 0).all())
    assert np.abs(est_cmm - true).mean() < 0.5 * np.abs(est_min - true).mean()
    assert cms.estimate(int(uniq[0]), estimator="count-mean-min") == int(est_cmm[0])


# ---------------------------------------------------------------- merge, inner product


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(SMALL_KEYS, max_size=80), b=st.lists(SMALL_KEYS, max_size=80), w=st.integers(0, 3)
)
def test_merging_plain_sketches_equals_the_sketch_of_the_concatenated_stream_bit_for_bit(
    a: list[object], b: list[object], w: int
) -> None:
    sa, sb, whole = CountMinSketch(13, 3), CountMinSketch(13, 3), CountMinSketch(13, 3)
    sa.add_many(a)  # type: ignore[arg-type]
    sb.add_many(b)  # type: ignore[arg-type]
    whole.add_many(a + b * w)  # type: ignore[arg-type]
    once = CountMinSketch(13, 3)
    once.add_many(a + b)  # type: ignore[arg-type]
    assert (sa + sb).to_bytes() == once.to_bytes()
    sa.merge(sb, weight=w)
    sa._check()
    assert sa.to_bytes() == whole.to_bytes()
    twice_a = CountMinSketch(13, 3)
    twice_a.add_many(a + a + b)  # type: ignore[arg-type]
    sa2 = CountMinSketch(13, 3)
    sa2.add_many(a)  # type: ignore[arg-type]
    sa2.merge(sb, self_weight=2)
    assert sa2.to_bytes() == twice_a.to_bytes()


@pytest.mark.parametrize(
    "other",
    [CountMinSketch(10, 4), CountMinSketch(11, 3), CountMinSketch(10, 3, seed=1)],
    ids=["depth", "width", "seed"],
)
def test_merging_mismatched_sketches_is_refused_and_changes_nothing(other: CountMinSketch) -> None:
    cms = CountMinSketch(10, 3)
    cms.add("x")
    other.add("y")
    before = cms.to_bytes()
    with pytest.raises(ValueError, match=r"width|depth|seed"):
        cms.merge(other)
    with pytest.raises(ValueError):
        cms + other
    with pytest.raises(ValueError, match="weight"):
        cms.merge(CountMinSketch(10, 3), weight=-1)
    with pytest.raises(ValueError, match="self_weight"):
        cms.merge(CountMinSketch(10, 3), self_weight=-1)
    with pytest.raises(TypeError):
        cms.merge("not a sketch")  # type: ignore[arg-type]
    assert cms.to_bytes() == before


def test_merged_conservative_sketches_still_never_underestimate() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.integers(0, 300, 3000), rng.integers(0, 300, 3000)
    sa, sb = CountMinSketch(20, 3, conservative=True), CountMinSketch(20, 3, conservative=True)
    sa.add_many(a)
    sb.add_many(b)
    merged = sa + sb
    uniq, true = np.unique(np.concatenate((a, b)), return_counts=True)
    assert bool((merged.estimate_many(uniq) >= true).all())


def test_inner_product_is_at_least_the_true_inner_product() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 400, 5000), rng.integers(0, 400, 5000)
    sa, sb = CountMinSketch(100, 5), CountMinSketch(100, 5)
    sa.add_many(a)
    sb.add_many(b)
    ca, cb = Counter(a.tolist()), Counter(b.tolist())
    true = sum(ca[k] * cb[k] for k in ca)
    est = sa.inner_product(sb)
    assert true <= est <= true + sa.epsilon * 5000 * 5000
    assert sa.inner_product(sa) >= sum(v * v for v in ca.values())


# ---------------------------------------------------------------- counters: saturation, halving


@pytest.mark.parametrize("conservative", [False, True])
def test_counters_saturate_at_their_dtype_maximum_instead_of_wrapping(conservative: bool) -> None:
    cms = CountMinSketch(4, 2, dtype=np.uint8, conservative=conservative)
    cms.add("x", 200)
    cms.add("x", 100)
    assert cms["x"] == 255
    cms.add_many(["x"] * 10)
    cms.add_many(["x", "x"], counts=[250, 250])
    assert cms["x"] == 255
    assert cms.total == 300 + 10 + 500
    cms._check()


def test_uint64_counters_hold_counts_beyond_32_bits() -> None:
    cms = CountMinSketch(8, 2, dtype=np.uint64)
    cms.add("x", 2**40)
    cms.add_many(["x"], counts=np.array([2**40], dtype=np.uint64))
    assert cms["x"] == 2**41
    assert cms.estimate_many(["x"]).dtype == np.uint64
    cms.add_many(["y", "z"], counts=np.array([2**60, 3], dtype=np.uint64))  # beyond float64
    assert (cms["y"], cms["z"]) == (2**60, 3)
    cms.add_many(["y", "y"], counts=np.array([2**63, 2**63], dtype=np.uint64))  # sum wraps
    assert cms["y"] == 2**64 - 1 and cms.total == 2**64 - 1


def test_halve_divides_counters_and_total_by_two_rounding_down() -> None:
    cms = CountMinSketch(50, 3)
    cms.add("a", 7)
    cms.add("b", 4)
    cms.halve()
    assert (cms["a"], cms["b"], cms.total) == (3, 2, 5)
    cms._check()


@pytest.mark.parametrize("conservative", [False, True])
@settings(max_examples=40, deadline=None)
@given(before=st.lists(SMALL_KEYS, max_size=80), after=st.lists(SMALL_KEYS, max_size=40))
def test_after_halving_estimates_stay_above_the_floored_halved_counts(
    conservative: bool, before: list[object], after: list[object]
) -> None:
    """The aging step of TinyLFU: never below floor(f / 2) plus what came after."""
    cms = CountMinSketch(6, 2, conservative=conservative)
    for key in before:
        cms.add(key)  # type: ignore[arg-type]
    cms.halve()
    for key in after:
        cms.add(key)  # type: ignore[arg-type]
    cms._check()
    model = Counter({k: c // 2 for k, c in Counter(before).items()})
    model.update(after)
    for key, count in model.items():
        assert cms.estimate(key) >= count  # type: ignore[arg-type]


# ---------------------------------------------------------------- serialisation


def test_bytes_pickle_and_files_round_trip(tmp_path: Path) -> None:
    cms = CountMinSketch(33, 4, seed=7, conservative=True, dtype=np.uint16)
    cms.add_many(["a", "b", "a", 5, b"z"])  # type: ignore[arg-type]
    assert CountMinSketch.from_bytes(cms.to_bytes()) == cms
    assert pickle.loads(pickle.dumps(cms)) == cms
    path = tmp_path / "s.cms"
    cms.save(path)
    loaded = CountMinSketch.load(path)
    assert loaded == cms and loaded.conservative and loaded.dtype == np.uint16
    assert loaded.seed == 7


def test_from_bytes_rejects_corrupted_or_truncated_data() -> None:
    data = bytearray(CountMinSketch(10, 2).to_bytes())
    with pytest.raises(ValueError, match=r"truncated|length"):
        CountMinSketch.from_bytes(bytes(data[:-5]))
    data[-8] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        CountMinSketch.from_bytes(bytes(data))
    with pytest.raises(TypeError):
        CountMinSketch.from_bytes("text")  # type: ignore[arg-type]


def test_nbytes_counts_the_counters() -> None:
    assert CountMinSketch(100, 4, dtype=np.uint32).nbytes == 1600
    assert CountMinSketch(100, 4, dtype=np.uint64).nbytes == 3200


# ---------------------------------------------------------------- stateful, against a Counter


class CountMinMachine(RuleBasedStateMachine):
    """Any interleaving of scalar adds, batches, merges and reads keeps every estimate an upper
    bound of the model Counter (DESIGN.md, house rule 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conservative = False
        self.cms = CountMinSketch(5, 2)
        self.model: Counter[object] = Counter()

    @rule(conservative=st.booleans())
    def reset(self, conservative: bool) -> None:
        self.cms = CountMinSketch(5, 2, conservative=conservative)
        self.model = Counter()

    @rule(key=SMALL_KEYS, count=st.integers(0, 4))
    def add(self, key: object, count: int) -> None:
        self.cms.add(key, count)  # type: ignore[arg-type]
        self.model[key] += count

    @rule(keys=st.lists(SMALL_KEYS, max_size=30))
    def add_many(self, keys: list[object]) -> None:
        self.cms.add_many(keys)  # type: ignore[arg-type]
        self.model.update(keys)

    @rule(keys=st.lists(SMALL_KEYS, max_size=10))
    def merge(self, keys: list[object]) -> None:
        other = CountMinSketch(5, 2)
        other.add_many(keys)  # type: ignore[arg-type]
        self.cms.merge(other)
        self.model.update(keys)

    @rule(key=SMALL_KEYS)
    def estimate(self, key: object) -> None:
        assert self.cms.estimate(key) >= self.model[key]  # type: ignore[arg-type]

    @invariant()
    def upper_bounds(self) -> None:
        self.cms._check()
        assert self.cms.total == sum(self.model.values())
        keys = list(self.model)
        if keys:
            est = self.cms.estimate_many(keys)  # type: ignore[arg-type]
            assert all(int(e) >= self.model[k] for k, e in zip(keys, est, strict=True))


TestCountMinMachine = CountMinMachine.TestCase
TestCountMinMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
