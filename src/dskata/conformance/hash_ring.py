"""Contract of the ``hash-ring`` kata: what :class:`dskata.ring.HashRing` promises.

Surface under test (``impl.HashRing``): ``HashRing(nodes, *, vnodes=160, seed=0)`` with ``nodes``
a list of names or a mapping name -> weight; ``add_node(node, weight=1.0)``,
``remove_node(node)``, ``node_for(key)``, ``nodes_for(key, n)``, ``points()`` (the sorted
``(point, node)`` pairs), ``key_hash(key)`` (the key's position on the ring), ``nodes``.

The tests never assume WHERE points are placed: any hash from :mod:`dskata.hashing` passes. They
check the ring through its own ``points()``: the lookup rule, the number of points, and what
changes when nodes come and go (Karger et al. 1997).
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

KATA = "hash-ring"

fast = settings(max_examples=30, deadline=None)
keys_st = st.one_of(st.text(max_size=8), st.integers(min_value=0, max_value=2**64 - 1))
NAMES = ["alpha", "beta", "gamma", "delta", "epsilon"]


def naive_owner(points: list[tuple[int, Any]], h: int) -> Any:
    """The first point at or after ``h``, wrapping to the first point."""
    for p, node in points:
        if p >= h:
            return node
    return points[0][1]


def walk(points: list[tuple[int, Any]], h: int) -> list[Any]:
    """Distinct nodes met clockwise from ``h``."""
    start = bisect.bisect_left([p for p, _ in points], h)
    out: list[Any] = []
    for j in range(len(points)):
        node = points[(start + j) % len(points)][1]
        if node not in out:
            out.append(node)
    return out


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_a_single_node_owns_every_key(impl: Any) -> None:
    """With one node on the ring, every key belongs to it."""
    ring = impl.HashRing(["only"], vnodes=1)
    got = {ring.node_for(k) for k in ["a", "b", 1, 2, 3]}
    assert got == {"only"}, f"owners were {got}, expected {{'only'}}"


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_points_are_sorted_pairs_of_position_and_node(impl: Any) -> None:
    """points() lists (position, node) pairs in ascending position order."""
    ring = impl.HashRing(NAMES[:3], vnodes=4)
    points = ring.points()
    assert [p for p, _ in points] == sorted(p for p, _ in points), "points() is not sorted"
    assert {n for _, n in points} == set(NAMES[:3]), "points() does not cover every node"
    assert all(isinstance(p, int) and 0 <= p < 2**64 for p, _ in points), "positions must be ints"


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_a_key_belongs_to_the_first_point_at_or_after_its_hash(impl: Any) -> None:
    """node_for(key) is the node of the first point >= key_hash(key), wrapping to the first."""
    ring = impl.HashRing(NAMES, vnodes=3)
    points = ring.points()

    @fast
    @given(key=keys_st)
    def check(key: Any) -> None:
        expected = naive_owner(points, ring.key_hash(key))
        got = ring.node_for(key)
        assert got == expected, f"node_for({key!r}) = {got!r}, expected {expected!r}"

    check()


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_keys_past_the_last_point_wrap_to_the_first_point(impl: Any) -> None:
    """A key hashing above every point belongs to the node of the lowest point."""
    ring = impl.HashRing(NAMES, vnodes=2)
    points = ring.points()
    last = points[-1][0]
    beyond = list(itertools.islice((k for k in range(200_000) if ring.key_hash(k) > last), 3))
    assert beyond, "could not find keys hashing past the last point (are positions 64-bit?)"
    for k in beyond:
        got = ring.node_for(k)
        assert got == points[0][1], (
            f"key {k} hashes past the last point: got {got!r}, expected {points[0][1]!r}"
        )


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_lookups_are_deterministic_across_rings(impl: Any) -> None:
    """Two rings built from the same nodes agree on every key (no per-process salt)."""
    a = impl.HashRing(NAMES, vnodes=5)
    b = impl.HashRing(list(reversed(NAMES)), vnodes=5)
    for k in range(200):
        assert a.node_for(k) == b.node_for(k), f"key {k}: {a.node_for(k)!r} vs {b.node_for(k)!r}"


@pytest.mark.kata_step(1, "lookup with wrap-around")
def test_a_lookup_on_an_empty_ring_raises_value_error(impl: Any) -> None:
    """An empty ring cannot place a key: ValueError, not IndexError."""
    ring = impl.HashRing([], vnodes=3)
    with pytest.raises(ValueError):
        ring.node_for("k")


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "virtual nodes")
def test_each_node_gets_vnodes_points(impl: Any) -> None:
    """With vnodes=v, each of n equal nodes has exactly v points on the ring."""
    ring = impl.HashRing(NAMES, vnodes=7)
    points = ring.points()
    for name in NAMES:
        count = sum(1 for _, n in points if n == name)
        assert count == 7, f"node {name!r} has {count} points, expected 7"


@pytest.mark.kata_step(2, "virtual nodes")
def test_virtual_nodes_balance_the_keys(impl: Any) -> None:
    """With 200 virtual nodes, no node of five gets more than 1.3x its fair share of keys."""
    ring = impl.HashRing(NAMES, vnodes=200)
    counts = dict.fromkeys(NAMES, 0)
    for k in range(20_000):
        counts[ring.node_for(k)] += 1
    worst = max(counts.values()) / 4000
    assert worst < 1.3, f"busiest node has {worst:.2f}x the mean load, expected < 1.3 ({counts})"


@pytest.mark.kata_step(2, "virtual nodes")
def test_vnodes_below_one_is_rejected(impl: Any) -> None:
    """vnodes must be at least 1."""
    with pytest.raises(ValueError):
        impl.HashRing(NAMES, vnodes=0)


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "weights")
def test_a_heavier_node_gets_proportionally_more_points(impl: Any) -> None:
    """Weight 3 against weight 1 gives three times the points (within rounding)."""
    ring = impl.HashRing({"light": 1.0, "heavy": 3.0}, vnodes=100)
    points = ring.points()
    light = sum(1 for _, n in points if n == "light")
    heavy = sum(1 for _, n in points if n == "heavy")
    assert light > 0 and abs(heavy / light - 3.0) < 0.1, f"points: light={light}, heavy={heavy}"


@pytest.mark.kata_step(3, "weights")
def test_a_heavier_node_owns_proportionally_more_keys(impl: Any) -> None:
    """Weight 3 against weight 1 owns about three times the keys."""
    ring = impl.HashRing({"light": 1.0, "heavy": 3.0}, vnodes=200)
    heavy = sum(1 for k in range(20_000) if ring.node_for(k) == "heavy")
    ratio = heavy / (20_000 - heavy)
    assert 2.4 < ratio < 3.6, f"heavy/light keys = {ratio:.2f}, expected about 3"


@pytest.mark.kata_step(3, "weights")
@pytest.mark.parametrize("weight", [0, -1.0, float("nan"), float("inf")])
def test_weights_must_be_finite_and_positive(impl: Any, weight: float) -> None:
    """A weight <= 0, NaN or infinite raises ValueError, in the constructor and in add_node."""
    with pytest.raises(ValueError):
        impl.HashRing({"a": weight}, vnodes=3)
    ring = impl.HashRing(["a"], vnodes=3)
    before = ring.points()
    with pytest.raises(ValueError):
        ring.add_node("b", weight)
    assert ring.points() == before, "a rejected add_node changed the ring"


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "distinct replicas")
def test_nodes_for_returns_n_distinct_nodes(impl: Any) -> None:
    """nodes_for(key, n) names n different nodes, the first being node_for(key)."""
    ring = impl.HashRing(NAMES, vnodes=2)
    for k in range(300):
        got = ring.nodes_for(k, 3)
        assert len(set(got)) == 3 == len(got), f"nodes_for({k}, 3) = {got}: replicas repeat"
        assert got[0] == ring.node_for(k), f"nodes_for({k}, 3)[0] = {got[0]!r} != node_for"


@pytest.mark.kata_step(4, "distinct replicas")
def test_nodes_for_walks_clockwise_and_is_prefix_stable(impl: Any) -> None:
    """The replicas are the distinct nodes met clockwise; n replicas prefix n + 1 replicas."""
    ring = impl.HashRing(NAMES, vnodes=3)
    points = ring.points()
    for k in range(200):
        expected = walk(points, ring.key_hash(k))
        for n in range(1, len(NAMES) + 1):
            got = ring.nodes_for(k, n)
            assert got == expected[:n], f"nodes_for({k}, {n}) = {got}, expected {expected[:n]}"


@pytest.mark.kata_step(4, "distinct replicas")
@pytest.mark.parametrize("n", [0, 6])
def test_asking_for_more_replicas_than_nodes_raises(impl: Any, n: int) -> None:
    """n must be in [1, number of nodes]."""
    ring = impl.HashRing(NAMES, vnodes=2)
    with pytest.raises(ValueError):
        ring.nodes_for("k", n)


# ------------------------------------------------------------------ step 5


@pytest.mark.kata_step(5, "minimal movement")
def test_adding_a_node_moves_keys_only_to_it(impl: Any) -> None:
    """After add_node(x), every key either stays or now belongs to x; x gets some keys."""
    ring = impl.HashRing(NAMES[:4], vnodes=20)
    before = {k: ring.node_for(k) for k in range(3000)}
    ring.add_node("epsilon")
    moved = {k: ring.node_for(k) for k in before if ring.node_for(k) != before[k]}
    wrong = {k: n for k, n in moved.items() if n != "epsilon"}
    assert not wrong, f"keys moved between old nodes: {dict(list(wrong.items())[:3])}"
    assert moved, "no key moved to the new node"


@pytest.mark.kata_step(5, "minimal movement")
def test_removing_a_node_moves_only_its_keys(impl: Any) -> None:
    """After remove_node(x), only x's keys change owner."""
    ring = impl.HashRing(NAMES, vnodes=20)
    before = {k: ring.node_for(k) for k in range(3000)}
    ring.remove_node("gamma")
    changed = [k for k in before if before[k] != "gamma" and ring.node_for(k) != before[k]]
    assert not changed, f"keys of other nodes moved: {changed[:5]}"


@pytest.mark.kata_step(5, "minimal movement")
def test_duplicate_or_missing_nodes_are_errors(impl: Any) -> None:
    """Adding a node twice is a ValueError; removing an unknown node is a KeyError."""
    ring = impl.HashRing(["a", "b"], vnodes=2)
    with pytest.raises(ValueError):
        ring.add_node("a")
    with pytest.raises(KeyError):
        ring.remove_node("zz")
    with pytest.raises(ValueError):
        impl.HashRing(["a", "a"], vnodes=2)


@pytest.mark.kata_step(5, "minimal movement")
def test_the_ring_matches_a_sorted_list_model_under_joins_and_leaves(impl: Any) -> None:
    """Stateful: points of existing nodes never change; lookups equal a scan of the model."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.ring = impl.HashRing([], vnodes=4)
            self.model: dict[Any, list[int]] = {}  # node -> its points, fixed once added

        def sorted_model(self) -> list[tuple[int, Any]]:
            return sorted((p, n) for n, ps in self.model.items() for p in ps)

        @rule(name=st.sampled_from(["a", "b", "c", "d", "e", "f"]))
        def add(self, name: str) -> None:
            if name in self.model:
                return
            self.ring.add_node(name)
            self.model[name] = sorted(p for p, n in self.ring.points() if n == name)
            assert len(self.model[name]) == 4, f"{name!r} got {len(self.model[name])} points"

        @precondition(lambda self: len(self.model) > 0)
        @rule(data=st.data())
        def remove(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(sorted(self.model)))
            self.ring.remove_node(name)
            del self.model[name]

        @precondition(lambda self: len(self.model) > 0)
        @rule(key=keys_st)
        def lookup(self, key: Any) -> None:
            expected = naive_owner(self.sorted_model(), self.ring.key_hash(key))
            got = self.ring.node_for(key)
            assert got == expected, f"node_for({key!r}) = {got!r}, model says {expected!r}"

        @invariant()
        def points_unchanged(self) -> None:
            got = sorted(self.ring.points())
            assert got == self.sorted_model(), "existing nodes' points changed on a join or leave"

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=25, stateful_step_count=20, deadline=None)
    )
