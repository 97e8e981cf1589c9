"""Rendezvous, Maglev and multi-probe hashing: balance, movement, batch agreement, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dskata.hashing import MASK64, hash64, row_hashes
from dskata.ring.maglev import MaglevHash
from dskata.ring.multiprobe import MultiProbeHash
from dskata.ring.rendezvous import RendezvousHash

names_st = st.lists(
    st.text(alphabet="abcdef", min_size=1, max_size=3), min_size=1, max_size=6, unique=True
)
KEYS = np.arange(20_000, dtype=np.uint64)


def owners(scheme: RendezvousHash | MaglevHash | MultiProbeHash, keys: np.ndarray) -> list[object]:
    return [scheme.nodes[i] for i in scheme.node_for_many(keys)]


# ---------------------------------------------------------------- rendezvous


def test_rendezvous_picks_the_highest_weighted_score() -> None:
    """Score = w / -ln(u), u from hash64(hash64(key) ^ hash64(node)) (the documented formula)."""
    import math

    hrw = RendezvousHash({"a": 1.0, "b": 2.5, "c": 0.5})
    for key in range(300):
        scores = {}
        for node, w in hrw.weights().items():
            s = hash64(hash64(key) ^ hash64(node))
            u = ((s >> 11) + 0.5) * 2.0**-53
            scores[node] = w / -math.log(u)
        ranked = sorted(scores, key=lambda n: -scores[n])
        assert hrw.nodes_for(key, 3) == ranked
        assert hrw.node_for(key) == ranked[0]


def test_equal_weights_order_nodes_exactly_as_the_log_formula() -> None:
    import math

    hrw = RendezvousHash(["a", "b", "c", "d"])
    for key in range(300):
        scores = {}
        for node in hrw.nodes:
            s = hash64(hash64(key) ^ hash64(node))
            scores[node] = 1.0 / -math.log(((s >> 11) + 0.5) * 2.0**-53)
        assert hrw.nodes_for(key, 4) == sorted(scores, key=lambda n: -scores[n])


def test_rendezvous_shares_follow_weights() -> None:
    hrw = RendezvousHash({"a": 1, "b": 2, "c": 3, "d": 4})
    counts = np.bincount(hrw.node_for_many(np.arange(200_000)), minlength=4) / 200_000
    for i, share in enumerate(hrw.shares().values()):
        assert abs(counts[i] - share) < 0.01


@settings(max_examples=30, deadline=None)
@given(names=names_st, new=st.text(alphabet="xyz", min_size=1, max_size=2), w=st.floats(0.1, 10))
def test_rendezvous_join_moves_keys_only_to_the_new_node(
    names: list[str], new: str, w: float
) -> None:
    hrw = RendezvousHash(names)
    before = owners(hrw, KEYS[:3000])
    hrw.add_node(new, w)
    hrw._check()
    after = owners(hrw, KEYS[:3000])
    assert all(b == a or a == new for b, a in zip(before, after, strict=True))


@settings(max_examples=30, deadline=None)
@given(names=names_st.filter(lambda n: len(n) > 1), data=st.data())
def test_rendezvous_leave_moves_only_the_leavers_keys(
    names: list[str], data: st.DataObject
) -> None:
    victim = data.draw(st.sampled_from(names))
    hrw = RendezvousHash(names)
    before = owners(hrw, KEYS[:3000])
    hrw.remove_node(victim)
    hrw._check()
    after = owners(hrw, KEYS[:3000])
    assert all(b == a for b, a in zip(before, after, strict=True) if b != victim)


@settings(max_examples=30, deadline=None)
@given(
    names=names_st,
    keys=st.lists(st.one_of(st.integers(0, 2**64 - 1), st.text(max_size=5)), max_size=50),
)
def test_rendezvous_scalar_equals_batch_and_replicas_are_prefix_stable(
    names: list[str], keys: list[object]
) -> None:
    hrw = RendezvousHash({n: 1 + i for i, n in enumerate(names)})
    assert [hrw.nodes[i] for i in hrw.node_for_many(keys)] == [hrw.node_for(k) for k in keys]  # type: ignore[arg-type]
    rows = hrw.nodes_for_many(keys, len(names))  # type: ignore[arg-type]
    for key, row in zip(keys, rows, strict=True):
        full = hrw.nodes_for(key, len(names))  # type: ignore[arg-type]
        assert [hrw.nodes[i] for i in row] == full
        assert sorted(full) == sorted(names)
        assert hrw.nodes_for(key, 1) == full[:1]  # type: ignore[arg-type]


def test_rendezvous_bad_input_raises_and_changes_nothing() -> None:
    hrw = RendezvousHash(["a", "b"])
    calls: list[tuple[Callable[[], object], type[Exception]]] = [
        (lambda: hrw.add_node("a"), ValueError),
        (lambda: hrw.add_node("c", float("nan")), ValueError),
        (lambda: hrw.add_node("c", 0), ValueError),
        (lambda: hrw.remove_node("zz"), KeyError),
        (lambda: hrw.nodes_for("k", 3), ValueError),
        (lambda: hrw.nodes_for_many(["k"], 0), ValueError),
        (lambda: hrw.node_for(None), TypeError),  # type: ignore[arg-type]
    ]
    for call, error in calls:
        with pytest.raises(error):
            call()
        assert hrw.nodes == ("a", "b") and hrw.weights() == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError, match="no nodes"):
        RendezvousHash().node_for("k")
    with pytest.raises(ValueError, match="duplicate"):
        RendezvousHash(["a", "a"])


def test_rendezvous_protocols() -> None:
    hrw = RendezvousHash(["a"])
    assert len(hrw) == 1 and "a" in hrw and [] not in hrw and list(hrw) == ["a"]
    assert "RendezvousHash" in repr(hrw)


# ---------------------------------------------------------------- maglev


def test_maglev_fills_the_table_by_the_papers_permutations() -> None:
    """Eisenbud et al. 2016, section 3.4: offset = h1 mod M, skip = h2 mod (M - 1) + 1."""
    m = 13
    names = ["a", "b", "c"]
    mag = MaglevHash(names, table_size=m, seed=5)
    h1 = {n: hash64(n, 5) for n in names}
    perm = {
        n: [(h1[n] % m + j * (hash64(h1[n], 5) % (m - 1) + 1)) % m for j in range(m)] for n in names
    }
    table: list[str | None] = [None] * m
    nxt = dict.fromkeys(names, 0)
    filled = 0
    order = sorted(names, key=lambda n: h1[n])
    while filled < m:
        for n in order:
            while table[perm[n][nxt[n]]] is not None:
                nxt[n] += 1
            table[perm[n][nxt[n]]] = n
            nxt[n] += 1
            filled += 1
            if filled == m:
                break
    assert [mag.nodes[i] for i in mag._table] == table
    assert all(sorted(p) == list(range(m)) for p in perm.values())


def test_maglev_slots_differ_by_at_most_one() -> None:
    mag = MaglevHash([f"n{i}" for i in range(7)], table_size=1009)
    counts = mag.slot_counts().values()
    assert max(counts) - min(counts) <= 1
    mag._check()


def test_maglev_lookup_is_the_table_at_hash_mod_m() -> None:
    mag = MaglevHash(["a", "b", "c"], table_size=251)
    for key in range(500):
        assert mag.node_for(key) == mag.nodes[mag._table[hash64(key) % 251]]
    assert owners(mag, KEYS[:500]) == [mag.node_for(int(k)) for k in KEYS[:500]]


def test_maglev_disruption_on_removal_is_small() -> None:
    """Paper, section 5.3: removing one of n nodes changes little beyond its own slots."""
    names = [f"n{i}" for i in range(20)]
    before = MaglevHash(names, table_size=5003)
    after = MaglevHash(names[1:], table_size=5003)
    own = before.slot_counts()["n0"] / 5003
    assert own <= before.disruption(after) < own + 0.05


def test_maglev_depends_only_on_the_node_set() -> None:
    a = MaglevHash(["x", "y", "z"], table_size=101)
    b = MaglevHash(["z"], table_size=101)
    b.add_node("x")
    b.add_node("y")
    assert a.disruption(b) == 0.0
    b.remove_node("z")
    b._check()
    assert b.nodes == ("x", "y")


def test_maglev_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="prime"):
        MaglevHash(["a"], table_size=100)
    with pytest.raises(ValueError, match="at least the number of nodes"):
        MaglevHash(["a", "b", "c"], table_size=2)
    with pytest.raises(TypeError, match="no weights"):
        MaglevHash({"a": 1.0}, table_size=7)
    mag = MaglevHash(["a"], table_size=7)
    with pytest.raises(ValueError):
        mag.add_node("a")
    with pytest.raises(KeyError):
        mag.remove_node("b")
    with pytest.raises(ValueError):
        mag.disruption(MaglevHash(["a"], table_size=11))
    with pytest.raises(TypeError):
        mag.disruption("x")  # type: ignore[arg-type]
    assert mag.nodes == ("a",)
    with pytest.raises(ValueError, match="no nodes"):
        MaglevHash(table_size=7).node_for("k")
    assert "MaglevHash" in repr(mag) and len(mag) == 1 and "a" in mag and list(mag) == ["a"]
    assert mag.table_size == 7 and mag.shares() == {"a": 1.0}


# ---------------------------------------------------------------- multi-probe


def test_multiprobe_takes_the_closest_point_over_all_probes() -> None:
    """Appleton & O'Reilly 2015: min over probes of the clockwise distance to the next node."""
    mp = MultiProbeHash(["a", "b", "c", "d"], probes=5)
    points = sorted((hash64(n), n) for n in mp.nodes)
    for key in range(300):
        best = None
        for h in row_hashes(key, 5):
            nxt = next(((p, n) for p, n in points if p >= h), points[0])
            d = (nxt[0] - h) & MASK64
            if best is None or d < best[0]:
                best = (d, nxt[1])
        assert best is not None
        assert mp.node_for(key) == best[1]


def test_multiprobe_with_21_probes_is_balanced() -> None:
    mp = MultiProbeHash([f"n{i}" for i in range(10)])
    counts = np.bincount(mp.node_for_many(np.arange(100_000)), minlength=10)
    assert counts.max() / counts.mean() < 1.12


@settings(max_examples=25, deadline=None)
@given(names=names_st, new=st.text(alphabet="xyz", min_size=1, max_size=2))
def test_multiprobe_join_moves_keys_only_to_the_new_node(names: list[str], new: str) -> None:
    mp = MultiProbeHash(names, probes=7)
    before = owners(mp, KEYS[:2000])
    mp.add_node(new)
    mp._check()
    after = owners(mp, KEYS[:2000])
    assert all(b == a or a == new for b, a in zip(before, after, strict=True))
    assert [mp.node_for(int(k)) for k in KEYS[:200]] == after[:200]


def test_multiprobe_leave_moves_only_the_leavers_keys() -> None:
    mp = MultiProbeHash(["a", "b", "c", "d"])
    before = owners(mp, KEYS[:5000])
    mp.remove_node("b")
    mp._check()
    after = owners(mp, KEYS[:5000])
    assert all(b == a for b, a in zip(before, after, strict=True) if b != "b")


def test_multiprobe_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="probes"):
        MultiProbeHash(["a"], probes=0)
    with pytest.raises(TypeError, match="no weights"):
        MultiProbeHash({"a": 1.0})
    with pytest.raises(ValueError, match="hashes like"):
        MultiProbeHash(["a", b"a"])
    mp = MultiProbeHash(["a"])
    with pytest.raises(ValueError):
        mp.add_node("a")
    with pytest.raises(KeyError):
        mp.remove_node("q")
    with pytest.raises(ValueError, match="no nodes"):
        MultiProbeHash().node_for_many([1])
    assert mp.nodes == ("a",) and mp.probes == 21 and "a" in mp and len(mp) == 1
    assert list(mp) == ["a"] and "MultiProbeHash" in repr(mp)


# ---------------------------------------------------------------- stateful: rendezvous vs model


class RendezvousMachine(RuleBasedStateMachine):
    """RendezvousHash against a dict model: the owner is the argmax of the documented score."""

    def __init__(self) -> None:
        super().__init__()
        self.hrw = RendezvousHash()
        self.model: dict[str, float] = {}

    @rule(name=st.sampled_from("abcde"), w=st.sampled_from([0.5, 1.0, 4.0]))
    def add(self, name: str, w: float) -> None:
        if name in self.model:
            with pytest.raises(ValueError):
                self.hrw.add_node(name, w)
        else:
            self.hrw.add_node(name, w)
            self.model[name] = w

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.model)))
        self.hrw.remove_node(name)
        del self.model[name]

    @precondition(lambda self: bool(self.model))
    @rule(key=st.integers(0, 2**64 - 1))
    def lookup(self, key: int) -> None:
        import math

        def score(n: str) -> float:
            s = hash64(hash64(key) ^ hash64(n))
            return self.model[n] / -math.log(((s >> 11) + 0.5) * 2.0**-53)

        assert self.hrw.node_for(key) == max(self.model, key=score)

    @invariant()
    def consistent(self) -> None:
        self.hrw._check()
        assert self.hrw.weights() == self.model


TestRendezvousMachine = RendezvousMachine.TestCase
TestRendezvousMachine.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)


# ---------------------------------------------------------------- answer dtype


@pytest.mark.parametrize(
    ("count", "dtype"), [(1, np.int8), (128, np.int8), (129, np.int16), (300, np.int16)]
)
@pytest.mark.parametrize("scheme", ["ring", "ketama", "rendezvous", "maglev", "multiprobe"])
def test_batch_answers_are_the_narrowest_signed_dtype_of_the_node_count(
    scheme: str, count: int, dtype: type
) -> None:
    from dskata.ring.hashring import HashRing

    names = [f"n{i}" for i in range(count)]
    build: dict[str, Callable[[], object]] = {
        "ring": lambda: HashRing(names, vnodes=4),
        "ketama": lambda: HashRing.ketama(names),
        "rendezvous": lambda: RendezvousHash(names),
        "maglev": lambda: MaglevHash(names),
        "multiprobe": lambda: MultiProbeHash(names),
    }
    s: Any = build[scheme]()
    keys = [f"key-{i}" for i in range(3000)]
    got = s.node_for_many(keys)
    assert got.dtype == dtype
    # Every node index fits: answers match single lookups and nothing wrapped negative.
    assert [s.nodes[i] for i in got[:300].tolist()] == [s.node_for(k) for k in keys[:300]]
    assert int(got.min()) >= 0 and int(got.max()) < count
    if hasattr(s, "nodes_for_many"):
        n = min(3, count)
        rows = s.nodes_for_many(keys[:50], n)
        assert rows.dtype == dtype
        assert [[s.nodes[i] for i in r] for r in rows.tolist()] == [
            s.nodes_for(k, n) for k in keys[:50]
        ]
