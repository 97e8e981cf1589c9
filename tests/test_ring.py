"""HashRing: placement, lookups, replicas, movement, errors, batch paths (Karger et al. 1997)."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dskata.hashing import FMIX64_C1, FMIX64_C2, MASK64, fmix64, hash64
from dskata.ring.hashring import HashRing

GOLDEN = 0x9E3779B97F4A7C15

node_names = st.lists(
    st.text(alphabet="abcdefgh", min_size=1, max_size=4), min_size=1, max_size=6, unique=True
)
keys_st = st.lists(st.one_of(st.integers(-(2**63), 2**64 - 1), st.text(max_size=6)), max_size=40)


def model_points(nodes: dict[str, int], seed: int) -> list[tuple[int, int, int, str]]:
    """The documented placement, recomputed independently: (point, base, index, node) sorted."""
    out = []
    for name, count in nodes.items():
        base = hash64(name, seed)
        for i in range(count):
            out.append((hash64((base + i * GOLDEN) & MASK64, seed), base, i, name))
    return sorted(out)


def naive_owner(points: Sequence[tuple[int, int, int, object]], h: int) -> object:
    """Scan the sorted points for the first one >= h; wrap to the first."""
    for p in points:
        if p[0] >= h:
            return p[3]
    return points[0][3]


# ---------------------------------------------------------------- construction and lookup


def test_a_ring_with_one_node_sends_every_key_to_it() -> None:
    ring = HashRing(["only"], vnodes=3)
    assert {ring.node_for(k) for k in range(100)} == {"only"}
    ring._check()


def test_points_follow_the_documented_placement_formula() -> None:
    ring = HashRing(["a", "b", "c"], vnodes=7, seed=11)
    expected = [(p, n) for p, _, _, n in model_points({"a": 7, "b": 7, "c": 7}, 11)]
    assert ring.points() == expected


@settings(max_examples=60, deadline=None)
@given(names=node_names, vnodes=st.integers(1, 8), seed=st.integers(0, 3), keys=keys_st)
def test_lookup_equals_a_naive_scan_of_the_sorted_points(
    names: list[str], vnodes: int, seed: int, keys: list[object]
) -> None:
    ring = HashRing(names, vnodes=vnodes, seed=seed)
    model = model_points(dict.fromkeys(names, vnodes), seed)
    for key in keys:
        assert ring.node_for(key) == naive_owner(model, hash64(key, seed))  # type: ignore[arg-type]


def test_a_key_hash_equal_to_a_point_belongs_to_that_point() -> None:
    """The int key base + i * golden hashes exactly to point i of its node (the placement rule)."""
    ring = HashRing(["a", "b", "c"], vnodes=5)
    for name in ring.nodes:
        base = hash64(name)
        for i in range(5):
            key = (base + i * GOLDEN) & MASK64
            point = hash64(key)
            owner_of_point = dict((p, n) for p, n in ring.points())[point]
            assert ring.node_for(key) == owner_of_point == name
            assert ring.nodes[ring.node_for_many(np.array([key], dtype=np.uint64))[0]] == name


def key_with_hash(target: int, seed: int = 0) -> int:
    """The int key whose hash64 is ``target``: invert fmix64, then undo the seed's xor."""
    x = target
    x ^= x >> 33
    x = (x * pow(0xC4CEB9FE1A85EC53, -1, 2**64)) % 2**64
    x ^= x >> 33
    x = (x * pow(0xFF51AFD7ED558CCD, -1, 2**64)) % 2**64
    x ^= x >> 33
    return x ^ fmix64(seed + GOLDEN)


def test_scalar_lookups_at_and_around_every_point_match_the_naive_scan() -> None:
    for vnodes in (1, 7, 300):
        ring = HashRing(["a", "b", "c", "d"], vnodes=vnodes, seed=9)
        points = ring.points()
        probes = {0, MASK64} | {p + d for p, _ in points for d in (-1, 0, 1)}
        for h in sorted(x for x in probes if 0 <= x <= MASK64):
            key = key_with_hash(h, 9)
            assert hash64(key, 9) == h
            walk = [naive_owner([(p, 0, 0, n) for p, n in points], h)]
            assert ring.node_for(key) == walk[0]
            assert ring.nodes_for(key, 1) == walk
        ring._check()


def test_keys_past_the_last_point_wrap_to_the_first_point() -> None:
    ring = HashRing(["a", "b", "c"], vnodes=5)
    first_owner = ring.points()[0][1]
    last = ring.points()[-1][0]
    first = ring.points()[0][0]
    beyond = list(itertools.islice((k for k in range(20_000) if hash64(k) > last), 5))
    before = list(itertools.islice((k for k in range(20_000) if hash64(k) <= first), 5))
    assert beyond and before
    for k in beyond + before:
        assert ring.node_for(k) == first_owner
    idx = ring.node_for_many(np.array(beyond + before, dtype=np.uint64))
    assert {ring.nodes[i] for i in idx} == {first_owner}


# ---------------------------------------------------------------- weights and vnodes


def test_weights_scale_point_counts_relative_to_the_mean_weight() -> None:
    ring = HashRing({"a": 1, "b": 2, "c": 3}, vnodes=100)
    assert ring.point_counts() == {"a": 50, "b": 100, "c": 150}
    ring._check()


def test_weight_magnitude_does_not_change_the_ring() -> None:
    small = HashRing({"a": 1, "b": 3}, vnodes=40)
    huge = HashRing({"a": 1e12, "b": 3e12}, vnodes=40)
    assert small == huge
    assert len(huge.points()) == 80


def test_a_tiny_weight_still_gets_one_point() -> None:
    ring = HashRing({"a": 1e-9, "b": 1.0, "c": 1.0}, vnodes=10)
    assert ring.point_counts()["a"] == 1


def test_shares_are_proportional_to_weights_within_vnode_noise() -> None:
    ring = HashRing({"a": 1, "b": 3}, vnodes=2000)
    shares = ring.shares()
    assert math.isclose(sum(shares.values()), 1.0)
    assert abs(shares["b"] / shares["a"] - 3.0) < 0.3


def test_shares_of_a_single_point_ring_is_the_whole_space() -> None:
    assert HashRing(["a"], vnodes=1).shares() == {"a": 1.0}


def test_shares_match_the_fraction_of_keys_each_node_owns() -> None:
    ring = HashRing(["a", "b", "c", "d"], vnodes=20)
    idx = ring.node_for_many(np.arange(200_000))
    counts = np.bincount(idx, minlength=4) / 200_000
    for i, node in enumerate(ring.nodes):
        assert abs(counts[i] - ring.shares()[node]) < 0.01


def test_more_vnodes_give_better_balance() -> None:
    names = [f"n{i}" for i in range(20)]
    spread = [max(HashRing(names, vnodes=v).shares().values()) * 20 for v in (4, 64, 1024)]
    assert spread[0] > spread[1] > spread[2]


def test_1000_vnodes_keep_the_typical_max_share_near_the_mean() -> None:
    """Median over seeds of max/mean share, 1000 vnodes: <= 1.06 (10 nodes), <= 1.09 (100)."""
    for n, bound in ((10, 1.06), (100, 1.09)):
        names = [f"node-{i}" for i in range(n)]
        peaks = [max(HashRing(names, vnodes=1000, seed=s).shares().values()) * n for s in range(9)]
        assert float(np.median(peaks)) <= bound, (n, peaks)


def test_shares_vary_as_for_independent_uniform_points() -> None:
    """N = n * v uniform points make a share Beta(v, N - v): std/mean = sqrt((n - 1) / (N + 1)).

    Placement derives every point from the node's name (base hash + i * golden ratio, hashed
    again); correlated or clustered points would show here as a spread far from the theory.
    """
    n, v = 10, 1000
    names = [f"node-{i}" for i in range(n)]
    rel = np.array(
        [x * n for s in range(20) for x in HashRing(names, vnodes=v, seed=s).shares().values()]
    )
    expected = math.sqrt((n - 1) / (n * v + 1))
    # 200 shares: the sample std is within about 5% of the truth; allow 4 standard errors.
    assert abs(float(rel.std()) / expected - 1) < 0.2, (float(rel.std()), expected)
    assert abs(float(rel.mean()) - 1) < 1e-9


# ---------------------------------------------------------------- replicas


@settings(max_examples=60, deadline=None)
@given(names=node_names, vnodes=st.integers(1, 6), keys=keys_st)
def test_nodes_for_returns_distinct_nodes_and_is_prefix_stable(
    names: list[str], vnodes: int, keys: list[object]
) -> None:
    ring = HashRing(names, vnodes=vnodes)
    for key in keys:
        full = ring.nodes_for(key, len(names))  # type: ignore[arg-type]
        assert sorted(full) == sorted(names)
        assert full[0] == ring.node_for(key)  # type: ignore[arg-type]
        for n in range(1, len(names)):
            assert ring.nodes_for(key, n) == full[:n]  # type: ignore[arg-type]


def test_nodes_for_walks_clockwise_skipping_repeated_nodes() -> None:
    ring = HashRing(["a", "b", "c", "d"], vnodes=6)
    points = ring.points()
    for key in range(200):
        h = hash64(key)
        start = bisect.bisect_left([p for p, _ in points], h)
        walk: list[object] = []
        for j in range(len(points)):
            node = points[(start + j) % len(points)][1]
            if node not in walk:
                walk.append(node)
        assert ring.nodes_for(key, 3) == walk[:3]


# ---------------------------------------------------------------- movement


@settings(max_examples=40, deadline=None)
@given(names=node_names, new=st.text(alphabet="xyz", min_size=1, max_size=3))
def test_adding_a_node_moves_only_keys_that_now_belong_to_it(names: list[str], new: str) -> None:
    keys = np.arange(3000)
    ring = HashRing(names, vnodes=8)
    before = [ring.nodes[i] for i in ring.node_for_many(keys)]
    ring.add_node(new)
    ring._check()
    after = [ring.nodes[i] for i in ring.node_for_many(keys)]
    assert all(b == a or a == new for b, a in zip(before, after, strict=True))
    assert any(a == new for a in after)


@settings(max_examples=40, deadline=None)
@given(names=node_names.filter(lambda n: len(n) > 1), data=st.data())
def test_removing_a_node_moves_only_its_keys(names: list[str], data: st.DataObject) -> None:
    victim = data.draw(st.sampled_from(names))
    keys = np.arange(3000)
    ring = HashRing(names, vnodes=8)
    before = [ring.nodes[i] for i in ring.node_for_many(keys)]
    ring.remove_node(victim)
    ring._check()
    after = [ring.nodes[i] for i in ring.node_for_many(keys)]
    assert all(b == a for b, a in zip(before, after, strict=True) if b != victim)
    assert victim not in after


def test_rings_built_in_any_order_are_equal() -> None:
    a = HashRing(["x", "y", "z"])
    b = HashRing(["z"])
    b.add_node("x")
    b.add_node("y")
    assert a == b


def test_moved_lists_exactly_the_keys_whose_owner_changes() -> None:
    old = HashRing(["a", "b", "c"], vnodes=20)
    new = old.copy()
    new.add_node("d")
    keys = list(range(5000))
    plan = old.moved(new, keys)
    expected = [k for k in keys if old.node_for(k) != new.node_for(k)]
    assert [m.key for m in plan] == expected
    assert all(m.target == "d" and m.source == old.node_for(m.key) for m in plan)
    np_plan = old.moved(new, np.arange(5000))
    assert [m.key for m in np_plan] == expected


def test_copy_is_independent_of_the_original() -> None:
    ring = HashRing(["a", "b"])
    clone = ring.copy()
    clone.remove_node("a")
    assert ring.nodes == ("a", "b") and clone.nodes == ("b",)
    ring._check()
    clone._check()


# ---------------------------------------------------------------- batch paths


@settings(max_examples=40, deadline=None)
@given(
    names=node_names,
    vnodes=st.integers(1, 50),
    keys=st.lists(st.integers(0, 2**64 - 1), max_size=300),
)
def test_scalar_and_batch_lookups_agree(names: list[str], vnodes: int, keys: list[int]) -> None:
    ring = HashRing(names, vnodes=vnodes)
    arr = np.array(keys, dtype=np.uint64)
    assert [ring.nodes[i] for i in ring.node_for_many(arr)] == [ring.node_for(k) for k in keys]
    n = min(3, len(names))
    rows = ring.nodes_for_many(arr, n)
    assert rows.shape == (len(keys), n)
    assert [[ring.nodes[i] for i in row] for row in rows] == [ring.nodes_for(k, n) for k in keys]


def test_batch_lookup_accepts_signed_arrays_lists_and_str_keys() -> None:
    ring = HashRing(["a", "b", "c"], vnodes=30)
    signed = np.array([-1, -5, 7], dtype=np.int64)
    assert [ring.nodes[i] for i in ring.node_for_many(signed)] == [
        ring.node_for(int(k)) for k in signed
    ]
    words: list[str | bytes | int] = ["apple", "pear", b"fig", 12]
    assert [ring.nodes[i] for i in ring.node_for_many(words)] == [ring.node_for(k) for k in words]
    assert [ring.nodes[i] for i in ring.node_for_many(np.array(["x", "y"]))] == [
        ring.node_for("x"),
        ring.node_for("y"),
    ]


def test_batch_lookup_agrees_with_searchsorted_on_a_large_ring() -> None:
    ring = HashRing([f"n{i}" for i in range(100)], vnodes=160)
    keys = np.arange(300_000, dtype=np.uint64)
    from dskata.hashing import hash64_many

    h = hash64_many(keys)
    pos = np.searchsorted(ring._points, h)
    pos[pos == ring._points.shape[0]] = 0
    assert np.array_equal(ring.node_for_many(keys), ring._owners[pos])
    ring._check()


def test_batch_lookup_on_hashes_at_and_around_every_point() -> None:
    ring = HashRing(["a", "b", "c", "d", "e"], vnodes=40)
    pts = ring._points
    edges = np.array([0, MASK64], dtype=np.uint64)
    probes = np.concatenate([pts, pts - np.uint64(1), pts + np.uint64(1), edges])
    got = ring._lookup_hashes(probes)
    plist = pts.tolist()
    expected = []
    for h in probes.tolist():
        i = bisect.bisect_left(plist, h)
        expected.append(int(ring._owners[0 if i == len(plist) else i]))
    assert got.tolist() == expected


def test_batch_lookup_steps_through_crowded_buckets() -> None:
    ring = HashRing([f"n{i}" for i in range(40)], vnodes=100)
    ring.node_for_many(np.arange(3))
    table = ring._table
    assert table is not None
    prefix = (ring._points >> table.shift).astype(np.intp)
    crowded = np.bincount(prefix)[prefix] > 1  # points that share their bucket with another
    assert table.steps >= 2 and bool(crowded.any())
    # Probe every point of every crowded bucket, one below and one above it.
    pts = ring._points[crowded]
    probes = np.concatenate([pts, pts - np.uint64(1), pts + np.uint64(1)])
    plist = ring._points.tolist()
    expected = [bisect.bisect_left(plist, h) % len(plist) for h in probes.tolist()]
    assert ring._lookup_hashes(probes, owners=False).tolist() == expected
    assert ring._lookup_hashes(probes).tolist() == [int(ring._owners[i]) for i in expected]


def key_hashing_to(h: int, seed: int) -> int:
    """The int key whose hash64 is ``h``: fmix64 inverted (it is a bijection)."""
    from dskata.ring._fast import seed_xor_key

    h ^= h >> 33  # x ^= x >> 33 is its own inverse
    h = (h * pow(FMIX64_C2, -1, 1 << 64)) & MASK64
    h ^= h >> 33
    h = (h * pow(FMIX64_C1, -1, 1 << 64)) & MASK64
    h ^= h >> 33
    return h ^ seed_xor_key(seed)


@pytest.mark.parametrize("seed", [0, 12345])
def test_integer_keys_hashing_at_and_around_every_point_match_a_scan(seed: int) -> None:
    """The batch path hashes int keys itself; probe it where a step or a search decides."""
    ring = HashRing([f"n{i}" for i in range(40)], vnodes=100, seed=seed)
    plist = ring._points.tolist()
    targets = sorted({(p + d) & MASK64 for p in plist for d in (-1, 0, 1)} | {0, MASK64})
    keys = np.array([key_hashing_to(h, seed) for h in targets], dtype=np.uint64)
    assert [hash64(int(k), seed) for k in keys[:50]] == targets[:50]
    where = [bisect.bisect_left(plist, h) % len(plist) for h in targets]
    expected = [int(ring._owners[i]) for i in where]
    assert ring.node_for_many(keys).tolist() == expected
    assert ring.node_for_many(keys.view(np.int64)).tolist() == expected
    assert np.array_equal(ring.nodes_for_many(keys, 3), ring._succ_table(3)[where])
    ring._check()


@pytest.mark.parametrize(("nodes", "vnodes"), [(1, 1), (3, 2), (200, 5), (250, 160)])
def test_batch_tables_of_every_width_agree_with_searchsorted(nodes: int, vnodes: int) -> None:
    """Owner tables of 1 and 2 bytes, point tables of 2 and 4 bytes, tiny and capped tables."""
    ring = HashRing([f"n{i}" for i in range(nodes)], vnodes=vnodes)
    keys = np.random.default_rng(nodes).integers(0, 2**64 - 1, 150_000, dtype=np.uint64)
    from dskata.hashing import hash64_many

    pos = np.searchsorted(ring._points, hash64_many(keys))
    pos[pos == ring._points.shape[0]] = 0
    assert np.array_equal(ring.node_for_many(keys), ring._owners[pos])
    assert np.array_equal(ring.nodes_for_many(keys, 1)[:, 0], ring._owners[pos])
    pts = ring._points
    probes = np.concatenate([pts, pts - np.uint64(1), pts + np.uint64(1)])
    where = np.searchsorted(pts, probes) % pts.shape[0]
    assert np.array_equal(ring._lookup_hashes(probes, owners=False), where)
    ring._check()


int_dtypes = st.sampled_from(
    [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64]
)


@settings(max_examples=60, deadline=None)
@given(
    names=node_names,
    vnodes=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
    keys=int_dtypes.flatmap(lambda dt: hnp.arrays(dt, st.integers(0, 300))),
)
def test_integer_arrays_of_any_dtype_look_up_as_a_naive_scan_does(
    names: list[str], vnodes: int, seed: int, keys: npt.NDArray[np.integer[Any]]
) -> None:
    ring = HashRing(names, vnodes=vnodes, seed=seed)
    model = model_points(dict.fromkeys(names, vnodes), seed)
    expected = [naive_owner(model, hash64(k, seed)) for k in keys.tolist()]
    assert [ring.nodes[i] for i in ring.node_for_many(keys)] == expected
    assert [ring.nodes[i] for i in ring.node_for_many(keys[::-1])] == expected[::-1]
    n = min(2, len(names))
    rows = ring.nodes_for_many(keys, n)
    assert [[ring.nodes[i] for i in r] for r in rows] == [
        ring.nodes_for(k, n) for k in keys.tolist()
    ]


@settings(max_examples=200, deadline=None)
@given(
    key=st.text(),
    lone=st.text(st.characters(categories=["Cs"]), min_size=1),
    seed=st.integers(0, 2**32 - 1),
)
def test_single_lookups_hash_any_str_like_hash64(key: str, lone: str, seed: int) -> None:
    """node_for's inlined str hash equals hash64, lone surrogates included (mmh3 would crash)."""
    ring = HashRing(["a", "b", "c"], vnodes=8, seed=seed)
    model = model_points(dict.fromkeys(["a", "b", "c"], 8), seed)
    for k in (key, key + lone, lone + key):
        assert ring.node_for(k) == naive_owner(model, hash64(k, seed))
        assert ring.nodes_for(k, 2)[0] == ring.node_for(k)


@settings(max_examples=60, deadline=None)
@given(
    names=node_names,
    seed=st.integers(0, 2**32 - 1),
    keys=st.lists(st.one_of(st.text(), st.binary(), st.integers(-(2**63), 2**64 - 1))),
)
def test_single_lookups_of_any_key_match_a_naive_scan(
    names: list[str], seed: int, keys: list[str | bytes | int]
) -> None:
    ring = HashRing(names, vnodes=5, seed=seed)
    model = model_points(dict.fromkeys(names, 5), seed)
    n = min(2, len(names))
    for key in keys:
        owner = naive_owner(model, hash64(key, seed))
        assert ring.node_for(key) == owner
        assert ring.nodes_for(key, n)[0] == owner


@settings(max_examples=60, deadline=None)
@given(
    values=int_dtypes.flatmap(lambda dt: hnp.arrays(dt, st.integers(0, 100))),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_split_fmix64_is_hash64_many(values: npt.NDArray[np.integer[Any]], seed: int) -> None:
    from dskata.hashing import hash64_many
    from dskata.ring._fast import fmix64_head_into, fmix64_tail, int_key_block, seed_xor_key

    pattern = int_key_block(values)
    out, tmp = np.empty_like(pattern), np.empty_like(pattern)
    fmix64_head_into(pattern, np.uint64(seed_xor_key(seed)), out, tmp)
    full = hash64_many(values, seed)
    # The prefix table reads only the top bits, which the last step leaves unchanged.
    assert np.array_equal(out >> np.uint64(64 - 33), full >> np.uint64(64 - 33))
    assert np.array_equal(fmix64_tail(out), full)


def test_scalar_lookups_and_replicas_agree_with_a_scan_around_every_point() -> None:
    ring = HashRing([f"n{i}" for i in range(12)], vnodes=30)
    plist = [p for p, _ in ring.points()]
    owners = [n for _, n in ring.points()]
    for h in [0, MASK64] + [p + d for p in plist for d in (-1, 0, 1) if 0 <= p + d <= MASK64]:
        start = bisect.bisect_left(plist, h)
        walk: list[str] = []
        for step in range(len(plist)):
            o = owners[(start + step) % len(plist)]
            if o not in walk:
                walk.append(o)  # type: ignore[arg-type]
        assert ring._owner_of_hash(h) == ring._index[walk[0]]
        s = ring._scalar
        assert s is not None
        assert s.owner(h) == walk[0]
        direct, rows, pl, bounds, shift = ring._replicas_ready(3)
        b = h >> shift
        row = direct[b]
        if row is None:
            row = rows[bisect.bisect_left(pl, h, bounds[b], bounds[b + 1])]
        assert list(row) == walk[:3]
    ring._check()


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), max_size=300),
    high=st.sampled_from([0, 1 << 20, MASK64 - 63]),
)
def test_the_packed_sort_is_a_stable_argsort(values: list[int], high: int) -> None:
    # Small values force ties and points that differ only in the low bits the sort reuses.
    from dskata.ring.placement import stable_argsort

    points = np.array([high + v for v in values], dtype=np.uint64)
    assert stable_argsort(points).tolist() == np.argsort(points, kind="stable").tolist()


def test_empty_key_batches_return_empty_arrays() -> None:
    ring = HashRing(["a"])
    assert ring.node_for_many(np.array([], dtype=np.uint64)).shape == (0,)
    assert ring.nodes_for_many([], 1).shape == (0, 1)


# ---------------------------------------------------------------- equal points


def test_equal_points_are_ordered_by_node_base_hash() -> None:
    ring = HashRing(["a", "b"], vnodes=4)
    # Force a tie by giving node b's first point exactly node a's first point.
    a_first = int(ring._node_points(0)[0])
    points = np.concatenate([ring._node_points(0), ring._node_points(1)])
    points[4] = np.uint64(a_first)
    owners = np.repeat(np.arange(2, dtype=np.intp), 4)
    ring._set_points(points, owners)
    pairs = zip(ring._points.tolist(), ring._owners.tolist(), strict=True)
    tied_owners = [o for p, o in pairs if p == a_first]
    winner = 0 if ring._bases[0] < ring._bases[1] else 1
    assert sorted(tied_owners) == [0, 1]
    assert tied_owners[0] == winner
    ring._check()
    assert ring._lookup_hashes(np.array([a_first], dtype=np.uint64))[0] == winner


# ---------------------------------------------------------------- errors


def test_a_lookup_on_an_empty_ring_raises_a_clear_error() -> None:
    ring = HashRing()
    with pytest.raises(ValueError, match="no nodes"):
        ring.node_for("k")
    with pytest.raises(ValueError, match="no nodes"):
        ring.node_for_many(np.arange(3))
    with pytest.raises(ValueError, match="no nodes"):
        ring.nodes_for("k", 1)


@pytest.mark.parametrize(
    ("nodes", "error", "match"),
    [
        ({"a": 0}, ValueError, "weight of node 'a'"),
        ({"a": -1.0}, ValueError, "weight of node 'a'"),
        ({"a": float("nan")}, ValueError, "nan"),
        ({"a": float("inf")}, ValueError, "inf"),
        ({"a": True}, TypeError, "bool"),
        ({"a": "3"}, TypeError, "str"),
        (["a", "a"], ValueError, "duplicate node 'a'"),
        ([1.5], TypeError, "float"),
        ([None], TypeError, "NoneType"),
        ("abc", TypeError, "single str"),
        (42, TypeError, "int"),
    ],
)
def test_bad_nodes_are_rejected_at_construction(nodes: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        HashRing(nodes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"vnodes": 0}, ValueError), ({"vnodes": 2.5}, TypeError), ({"seed": -1}, ValueError)],
)
def test_bad_parameters_are_rejected(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        HashRing(["a"], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda r: r.add_node("a"), ValueError),
        (lambda r: r.add_node("z", 0), ValueError),
        (lambda r: r.add_node("z", float("nan")), ValueError),
        (lambda r: r.add_node("z", -2), ValueError),
        (lambda r: r.add_node(2.5), TypeError),
        (lambda r: r.add_node(bytearray(b"z")), TypeError),
        (lambda r: r.remove_node("missing"), KeyError),
        (lambda r: r.remove_node([1]), KeyError),
        (lambda r: r.nodes_for("k", 4), ValueError),
        (lambda r: r.nodes_for("k", 0), ValueError),
        (lambda r: r.nodes_for("k", 1.0), TypeError),
        (lambda r: r.nodes_for_many(["k"], 4), ValueError),
        (lambda r: r.node_for(1.5), TypeError),
        (lambda r: r.node_for_many(np.array([1.5])), TypeError),
        (lambda r: r.moved("not a ring", [1]), TypeError),
    ],
)
def test_bad_calls_raise_and_leave_the_ring_unchanged(call: object, error: type) -> None:
    ring = HashRing(["a", "b", "c"], vnodes=10)
    before = ring.copy()
    with pytest.raises(error):
        call(ring)  # type: ignore[operator]
    assert ring == before
    assert ring.nodes == before.nodes and ring.point_counts() == before.point_counts()
    ring._check()


def test_node_names_whose_hashes_collide_are_refused() -> None:
    # "a" and b"a" hash alike (str is hashed as its UTF-8 bytes).
    with pytest.raises(ValueError, match="hashes like"):
        HashRing(["a", b"a"])
    ring = HashRing(["a"])
    with pytest.raises(ValueError, match="hashes like"):
        ring.add_node(b"a")
    assert ring.nodes == ("a",)


def test_a_non_int_replica_count_is_refused_even_after_a_cached_lookup() -> None:
    ring = HashRing(["a", "b"])
    assert len(ring.nodes_for("k", 1)) == 1
    for bad in (1.0, True):
        with pytest.raises(TypeError, match="n must be"):
            ring.nodes_for("k", bad)  # type: ignore[arg-type]


def test_error_messages_name_the_parameter_and_value() -> None:
    with pytest.raises(ValueError, match=r"n must be an int in \[1, 2\], got 3"):
        HashRing(["a", "b"]).nodes_for("k", 3)
    with pytest.raises(ValueError, match=r"vnodes must be an int in \[1, \d+\], got 0"):
        HashRing(["a"], vnodes=0)


# ---------------------------------------------------------------- protocols


def test_ring_protocols() -> None:
    ring = HashRing(["a", "b"])
    assert len(ring) == 2 and "a" in ring and "z" not in ring and [1] not in ring
    assert list(ring) == ["a", "b"]
    assert "HashRing(nodes=2" in repr(ring)
    assert ring != HashRing(["a", "b"], seed=1)
    assert ring.__eq__(3) is NotImplemented
    assert ring.weights() == {"a": 1.0, "b": 1.0} and ring.vnodes == 160 and ring.seed == 0
    assert ring.scheme == "hash64"
    assert ring.key_hash("k") == hash64("k")


def test_integer_and_bytes_node_names_work() -> None:
    ring = HashRing([1, 2, b"three"], vnodes=10)
    assert ring.node_for("k") in (1, 2, b"three")
    ring.remove_node(2)
    ring._check()


def test_removing_every_node_then_adding_one_works() -> None:
    ring = HashRing({"a": 5.0})
    ring.remove_node("a")
    ring._check()
    ring.add_node("b", weight=3.0)
    assert ring.point_counts() == {"b": 160}
    ring._check()


# ---------------------------------------------------------------- stateful


class RingMachine(RuleBasedStateMachine):
    """HashRing against a sorted list of (point, base, index, node) recomputed from the docs."""

    def __init__(self) -> None:
        super().__init__()
        self.ring = HashRing(vnodes=4, seed=3)
        self.counts: dict[str, int] = {}
        self.w_ref = 0.0

    @rule(name=st.sampled_from("abcdefg"), weight=st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    def add(self, name: str, weight: float) -> None:
        if name in self.counts:
            with pytest.raises(ValueError):
                self.ring.add_node(name, weight)
            return
        self.ring.add_node(name, weight)
        if self.w_ref == 0.0:
            self.w_ref = weight
        self.counts[name] = max(1, round(4 * weight / self.w_ref))

    @precondition(lambda self: bool(self.counts))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.counts)))
        self.ring.remove_node(name)
        del self.counts[name]
        if not self.counts:
            self.w_ref = 0.0

    @rule(keys=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=20))
    def lookup(self, keys: list[int]) -> None:
        if not self.counts:
            with pytest.raises(ValueError):
                self.ring.node_for(keys[0])
            return
        model = model_points(self.counts, 3)
        expected = [naive_owner(model, hash64(k, 3)) for k in keys]
        assert [self.ring.node_for(k) for k in keys] == expected
        got = self.ring.node_for_many(np.array(keys, dtype=np.uint64))
        assert [self.ring.nodes[i] for i in got] == expected

    @invariant()
    def consistent(self) -> None:
        self.ring._check()
        assert self.ring.point_counts() == {n: self.counts[str(n)] for n in self.ring.nodes}


TestRingMachine = RingMachine.TestCase
TestRingMachine.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)


def test_a_ring_with_warm_lookup_caches_pickles_and_copies_faithfully() -> None:
    import pickle

    ring = HashRing(["a", "b", "c"], vnodes=50)
    keys = np.arange(500)
    expected = (ring.node_for_many(keys), ring.nodes_for_many(keys, 2))
    singles = [ring.nodes_for(k, 2) for k in range(50)]
    for twin in (pickle.loads(pickle.dumps(ring)), ring.copy()):
        assert twin == ring
        twin._check()
        assert np.array_equal(twin.node_for_many(keys), expected[0])
        assert np.array_equal(twin.nodes_for_many(keys, 2), expected[1])
        assert [twin.nodes_for(k, 2) for k in range(50)] == singles


def test_pickles_carry_no_lookup_caches_and_drop_stale_ones() -> None:
    import pickle

    ring = HashRing(["a", "b", "c"], vnodes=50)
    cold = len(pickle.dumps(ring))
    ring.node_for("k"), ring.nodes_for("k", 2), ring.node_for_many(np.arange(10))
    assert len(pickle.dumps(ring)) == cold  # warm caches add nothing to a pickle
    # A state pickled by a version whose caches had another layout: the caches are dropped.
    state = dict(ring.__dict__)
    state.update(_scalar=object(), _table=object(), _succ={2: None}, _reps={2: None})
    twin = HashRing.__new__(HashRing)
    twin.__setstate__(state)
    assert [twin.nodes_for(k, 2) for k in range(20)] == [ring.nodes_for(k, 2) for k in range(20)]
    assert twin.node_for_many(np.arange(20)).tolist() == ring.node_for_many(np.arange(20)).tolist()


@settings(max_examples=80, deadline=None)
@given(
    old=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), max_size=20),
    new=st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True),
)
def test_adding_a_node_merges_its_points_as_a_full_sort_would(
    old: list[tuple[int, int]], new: list[int]
) -> None:
    # Small values force exact ties between the newcomer (owner 3) and existing points.
    from dskata.ring.placement import insert_points, order_points

    bases = [40, 10, 30, 20]
    pts = np.array([p for p, _ in old], dtype=np.uint64)
    own = np.array([o for _, o in old], dtype=np.intp)
    points, owners = order_points(pts, own, bases)
    got = insert_points(points, owners, np.array(new, dtype=np.uint64), 3, bases)
    full = order_points(
        np.concatenate([pts, np.array(new, dtype=np.uint64)]),
        np.concatenate([own, np.full(len(new), 3, dtype=np.intp)]),
        bases,
    )
    assert got[0].tolist() == full[0].tolist() and got[1].tolist() == full[1].tolist()


def test_batch_lookups_stay_exact_when_many_keys_need_the_second_look() -> None:
    """A crowded table (most buckets hold a point) resolves pending keys in several flushes."""
    from dskata.ring.prefix import BLOCK, BatchTable

    rng = np.random.default_rng(3)
    points = np.unique(rng.integers(0, 1 << 16, 30_000, dtype=np.uint64))
    owners = rng.integers(0, 5, points.size).astype(np.intp)
    table = BatchTable(points, owners, hash_bits=16)
    hashes = rng.integers(0, 1 << 16, 5 * BLOCK, dtype=np.uint64)
    pos = np.searchsorted(points, hashes) % points.size  # first point >= h, wrapping to 0
    assert np.array_equal(table.lookup(hashes, want_owner=True), owners[pos])
    assert np.array_equal(table.lookup(hashes, want_owner=False), pos)


@settings(max_examples=300, deadline=None)
@given(
    owners=st.lists(st.integers(0, 5), min_size=1, max_size=60),
    data=st.data(),
)
def test_successor_rows_are_the_first_distinct_owners_walking_clockwise(
    owners: list[int], data: st.DataObject
) -> None:
    from dskata.ring.prefix import successor_table

    distinct = len(set(owners))
    n = data.draw(st.integers(1, distinct))
    table = successor_table(np.array(owners, dtype=np.intp), n)
    for i in range(len(owners)):
        row: list[int] = []
        for step in range(len(owners)):  # the naive walk: one lap from point i
            o = owners[(i + step) % len(owners)]
            if o not in row:
                row.append(o)
            if len(row) == n:
                break
        assert table[i].tolist() == row
