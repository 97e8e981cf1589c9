"""A consistent hash ring with virtual nodes, weights, replicas and fast batch lookups.

Theory of operation
-------------------
Karger et al. (1997) place every node at several pseudo-random points ("virtual nodes") on a
circle of 64-bit hashes. A key belongs to the first point at or after its own hash, wrapping past
``2**64 - 1`` to the first point: the node that owns the arc ``(previous point, point]``. Adding a
node only splits arcs (keys move *to* the new node and nowhere else); removing one only merges
its arcs into their successors (only its keys move). With ``v`` points per node, a node's share of
the circle is a sum of ``v`` exponential gaps, so its relative spread is about ``1/sqrt(v)``.

Placement (:mod:`dskata.ring.placement`). Node ``x``'s ``i``-th point is
``hash64((hash64(x, seed) + i * 0x9E3779B97F4A7C15) mod 2**64, seed)``. Weighted nodes get
``max(1, round(vnodes * weight / w_ref))`` points, where ``w_ref`` is the mean weight of the
nodes the ring was built with (the first weight added, for a ring built empty). Only the ratios
of weights matter, so ``{"a": 1e9}`` builds as fast as ``{"a": 1}``, and ``w_ref`` never changes
afterwards, so adding or removing a node never re-cuts the points of the others. Equal points go
by their node's base hash, then index; nodes whose base hashes collide are refused.
:meth:`HashRing.ketama` rings follow libketama instead (:mod:`dskata.ring.ketama`).

Lookups (:mod:`dskata.ring.prefix`). Direct-mapped prefix tables over the sorted points answer
most keys with one table read, scalar and batch alike; replica sets (``nodes_for``, a Dynamo
preference list: the first ``n`` distinct nodes clockwise, a prefix of the first ``n + 1``) are
tabulated once per ``n`` and read the same way.

Thread safety: lookups do not mutate the ring except to build caches, which is idempotent;
mutating a ring while other threads read it needs external locking.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from dskata.hashing import MASK64, Key, _mmh3_hash128, hash64, hash64_many, validate_seed
from dskata.ring._common import (
    CodeArray,
    IndexArray,
    NodeName,
    U64Array,
    check_count,
    check_node_name,
    check_weight,
    code_dtype,
    parse_nodes,
)
from dskata.ring.ketama import ketama_continuum, ketama_hash, ketama_hash_many, ketama_points
from dskata.ring.placement import arc_shares, hash64_points, insert_points, order_points
from dskata.ring.prefix import BatchTable, Replicas, ScalarIndex, successor_table

__all__ = ["HashRing", "Move"]

_SCHEME_HASH: Final = "hash64"
_SCHEME_KETAMA: Final = "ketama"
_MAX_VNODES: Final = 1 << 20
#: Attributes holding derived lookup caches (rebuilt lazily; never pickled).
_CACHES: Final = ("_scalar", "_table", "_succ", "_reps")


class Move(NamedTuple):
    """One key that changes owner between two rings (an entry of a migration plan)."""

    key: Any
    source: NodeName
    target: NodeName


class HashRing:
    """A consistent hash ring of named, optionally weighted, nodes with virtual nodes.

    Args:
        nodes: node names (str, bytes or int), or a mapping name -> weight (a finite number > 0).
            May be empty; lookups then raise until a node is added.
        vnodes: points per node of average weight (``>= 1``).
        seed: hash seed in ``[0, 2**32)``; use a secret one if keys may be adversarial.

    Raises:
        TypeError: a node name, weight, ``vnodes`` or ``seed`` of the wrong type.
        ValueError: a duplicate node, a weight that is not finite and > 0, ``vnodes < 1``.

    Complexity: O(P log P) to build, P = total points.

    >>> ring = HashRing(["cache-a", "cache-b", "cache-c"], vnodes=100)
    >>> ring.node_for("user:42") in ring.nodes
    True
    >>> len(set(ring.nodes_for("user:42", 3)))
    3
    """

    def __init__(
        self,
        nodes: Iterable[NodeName] | Mapping[NodeName, float] = (),
        *,
        vnodes: int = 160,
        seed: int = 0,
    ) -> None:
        self._vnodes = check_count(vnodes, "vnodes", 1, _MAX_VNODES)
        self._seed = validate_seed(seed)
        pairs = parse_nodes(nodes)
        self._ketama = False
        self._hash_bits = 64
        self._w_ref = (sum(w for _, w in pairs) / len(pairs)) if pairs else 0.0
        self._names: list[NodeName] = []
        self._bases: list[int] = []
        bases = [hash64(name, self._seed) for name, _ in pairs]
        self._check_base_collisions(pairs, bases)
        # Everything is validated: fill the node lists in bulk (no per-node method calls).
        self._names = [name for name, _ in pairs]
        self._index: dict[NodeName, int] = {name: i for i, name in enumerate(self._names)}
        self._weights: list[float] = [w for _, w in pairs]
        self._bases = bases
        self._counts: list[int]
        if all(w == self._w_ref for w in self._weights):
            self._counts = [self._vnodes] * len(pairs)
        else:
            self._counts = [self._count_for(w) for w in self._weights]
        self._points: U64Array = np.empty(0, dtype=np.uint64)
        self._owners: IndexArray = np.empty(0, dtype=np.intp)
        self._rebuild()

    # ------------------------------------------------------------ construction helpers

    @classmethod
    def ketama(cls, servers: Iterable[str] | Mapping[str, float]) -> HashRing:
        """A ring that places keys exactly as libketama does (md5, 4 points per digest).

        ``servers`` lists server labels as libketama reads them (e.g. ``"10.0.0.1:11211"``), or
        maps them to weights (libketama's "memory"). Keys must be ``str`` or ``bytes``. Adding or
        removing a server recomputes every server's point count from the new total weight, as
        libketama does when its server file changes. See :mod:`dskata.ring.ketama` for the rules
        and the dialects of other clients.

        Complexity: O(P log P), P = about 160 points per server.

        >>> ring = HashRing.ketama(["10.0.0.1:11211", "10.0.0.2:11211"])
        >>> len(ring.points())
        320
        >>> ring.node_for("foo")
        '10.0.0.2:11211'
        """
        pairs = parse_nodes(servers)
        for name, _ in pairs:
            if not isinstance(name, (str, bytes)):
                raise TypeError(
                    f"ketama server names must be str or bytes, got {type(name).__name__}"
                )
        ring = cls.__new__(cls)
        ring._vnodes = 160
        ring._seed = 0
        ring._ketama = True
        ring._hash_bits = 32
        ring._w_ref = 0.0
        ring._names, ring._index, ring._weights, ring._bases, ring._counts = [], {}, [], [], []
        for name, weight in pairs:
            ring._register(name, weight, 0, 0)
        ring._points = np.empty(0, dtype=np.uint64)
        ring._owners = np.empty(0, dtype=np.intp)
        ring._rebuild()
        return ring

    def _count_for(self, weight: float) -> int:
        if self._w_ref == 0.0:
            return self._vnodes
        return max(1, min(_MAX_VNODES, round(self._vnodes * weight / self._w_ref)))

    def _check_base_collisions(self, pairs: list[tuple[NodeName, float]], bases: list[int]) -> None:
        seen = {b: n for n, b in zip(self._names, self._bases, strict=True)}
        for (name, _), base in zip(pairs, bases, strict=True):
            if base in seen:
                raise ValueError(
                    f"node {name!r} hashes like node {seen[base]!r} (same 64-bit hash with seed "
                    f"{self._seed}); rename one of them or change the seed"
                )
            seen[base] = name

    def _register(self, name: NodeName, weight: float, base: int, count: int) -> None:
        self._index[name] = len(self._names)
        self._names.append(name)
        self._weights.append(weight)
        self._bases.append(base)
        self._counts.append(count)

    def _node_points(self, i: int) -> U64Array:
        return hash64_points([self._bases[i]], [self._counts[i]], self._seed)

    def _rebuild(self) -> None:
        """Recompute every point from the node list (construction, ketama changes)."""
        if self._ketama:
            servers: Any = self._names  # str or bytes: checked when each server joined
            points, self._counts = ketama_continuum(servers, self._weights)
        else:
            points = hash64_points(self._bases, self._counts, self._seed)
        owners = np.repeat(np.arange(len(self._names), dtype=np.intp), self._counts)
        self._set_points(points, owners)

    def _set_points(self, points: U64Array, owners: IndexArray) -> None:
        bases = None if self._ketama else self._bases
        self._points, self._owners = order_points(points, owners, bases)
        self._invalidate()

    def _invalidate(self) -> None:
        # Keep in step with _CACHES.
        self._scalar: ScalarIndex[NodeName] | None = None
        self._table: BatchTable | None = None
        self._succ: dict[int, CodeArray] = {}
        self._reps: dict[int, Replicas[NodeName]] = {}

    # ------------------------------------------------------------------ introspection

    @property
    def nodes(self) -> tuple[NodeName, ...]:
        """Node names in insertion order; batch lookups return indexes into this tuple."""
        return tuple(self._names)

    @property
    def vnodes(self) -> int:
        """Points per node of reference weight."""
        return self._vnodes

    @property
    def seed(self) -> int:
        """The hash seed."""
        return self._seed

    @property
    def scheme(self) -> str:
        """``"hash64"`` (dskata's placement) or ``"ketama"`` (libketama's)."""
        return _SCHEME_KETAMA if self._ketama else _SCHEME_HASH

    def weights(self) -> dict[NodeName, float]:
        """Each node's weight as given.

        Complexity: O(n).

        >>> HashRing({"a": 2, "b": 1}).weights()
        {'a': 2.0, 'b': 1.0}
        """
        return dict(zip(self._names, self._weights, strict=True))

    def point_counts(self) -> dict[NodeName, int]:
        """Each node's number of points on the ring.

        Complexity: O(n).

        >>> HashRing({"a": 2, "b": 1}, vnodes=30).point_counts()
        {'a': 40, 'b': 20}
        """
        return dict(zip(self._names, self._counts, strict=True))

    def points(self) -> list[tuple[int, NodeName]]:
        """The ring's ``(point, node)`` pairs in lookup order.

        Complexity: O(P).

        >>> HashRing(["a"], vnodes=2).points()[0][1]
        'a'
        """
        return [
            (int(p), self._names[o])
            for p, o in zip(self._points.tolist(), self._owners, strict=True)
        ]

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, node: object) -> bool:
        try:
            return node in self._index
        except TypeError:
            return False

    def __iter__(self) -> Iterator[NodeName]:
        return iter(tuple(self._names))

    def __repr__(self) -> str:
        return (
            f"HashRing(nodes={len(self._names)}, points={self._points.shape[0]}, "
            f"vnodes={self._vnodes}, scheme={self.scheme!r}, seed={self._seed})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HashRing):
            return NotImplemented
        return (
            self._ketama == other._ketama
            and self._seed == other._seed
            and np.array_equal(self._points, other._points)
            and [self._names[o] for o in self._owners.tolist()]
            == [other._names[o] for o in other._owners.tolist()]
        )

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        # Lookup caches are derived data: pickles carry the ring alone, so they stay small and
        # load into a version of dskata whose caches are laid out differently.
        state = dict(self.__dict__)
        for name in _CACHES:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._invalidate()  # also drops caches pickled by earlier versions

    def copy(self) -> HashRing:
        """An independent copy (points and owners are immutable arrays, so this is cheap).

        Complexity: O(n + P) (caches are rebuilt lazily).

        >>> r = HashRing(["a", "b"]); c = r.copy(); c.add_node("c"); len(r), len(c)
        (2, 3)
        """
        out = HashRing.__new__(HashRing)
        out.__dict__.update(self.__dict__)
        out._names, out._weights = list(self._names), list(self._weights)
        out._bases, out._counts = list(self._bases), list(self._counts)
        out._index = dict(self._index)
        out._invalidate()
        return out

    # ------------------------------------------------------------------ mutation

    def add_node(self, node: NodeName, weight: float = 1.0) -> None:
        """Add ``node`` with ``weight``; only keys that now belong to it move.

        Raises:
            TypeError: a bad name or weight type.
            ValueError: ``node`` is already on the ring, or the weight is not finite and > 0.

        Complexity: O(P) array work (a merge of the new points).

        >>> r = HashRing(["a", "b"]); r.add_node("c", weight=2); r.point_counts()["c"]
        320
        """
        name = check_node_name(node)
        w = check_weight(weight, name)
        if name in self._index:
            raise ValueError(f"node {name!r} is already on the ring")
        if self._ketama:
            if not isinstance(name, (str, bytes)):
                raise TypeError(
                    f"ketama server names must be str or bytes, got {type(name).__name__}"
                )
            ketama_points(name, 0)  # validates the label (no NUL byte)
            self._register(name, w, 0, 0)
            self._rebuild()
            return
        base = hash64(name, self._seed)
        self._check_base_collisions([(name, w)], [base])
        if self._w_ref == 0.0:
            self._w_ref = w
        self._register(name, w, base, self._count_for(w))
        i = len(self._names) - 1
        self._points, self._owners = insert_points(
            self._points, self._owners, self._node_points(i), i, self._bases
        )
        self._invalidate()

    def remove_node(self, node: NodeName) -> None:
        """Remove ``node``; only its keys move (to the next point's node).

        Raises:
            KeyError: ``node`` is not on the ring.

        Complexity: O(P).

        >>> r = HashRing(["a", "b"]); r.remove_node("a"); r.nodes
        ('b',)
        """
        try:
            i = self._index[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not on the ring") from None
        del self._names[i], self._weights[i], self._bases[i], self._counts[i]
        self._index = {name: j for j, name in enumerate(self._names)}
        if self._ketama:
            self._rebuild()
            return
        keep = self._owners != i
        owners = self._owners[keep]
        owners[owners > i] -= 1
        self._points, self._owners = self._points[keep], owners
        if not self._names:
            self._w_ref = 0.0
        self._invalidate()

    # ------------------------------------------------------------------ lookups

    def _require_nodes(self) -> None:
        if not self._names:
            raise ValueError("the ring has no nodes: add a node before looking keys up")

    def _hash(self, key: Key) -> int:
        if self._ketama:
            return ketama_hash(key)  # type: ignore[arg-type]
        return hash64(key, self._seed)

    def _hash_many(self, keys: npt.ArrayLike | Iterable[Key]) -> U64Array:
        if self._ketama:
            return ketama_hash_many(keys)  # type: ignore[arg-type]
        return hash64_many(keys, self._seed)

    def _scalar_ready(self) -> ScalarIndex[NodeName]:
        """The Python lists and small prefix index behind scalar lookups (built on demand)."""
        self._require_nodes()
        self._scalar = ScalarIndex(
            self._points, self._owners.tolist(), self._names, self._hash_bits
        )
        return self._scalar

    def key_hash(self, key: Key) -> int:
        """The position of ``key`` on the ring (64-bit, or 32-bit for ketama rings).

        Complexity: O(len(key)).

        >>> HashRing.ketama(["s1"]).key_hash("foo")
        3675831724
        """
        return self._hash(key)

    def node_for(self, key: Key) -> NodeName:
        """The node that owns ``key``: the first point at or after its hash, wrapping around.

        Raises:
            ValueError: the ring has no nodes.
            TypeError: ``key`` is not a str, bytes-like or int.

        Complexity: O(log P).

        >>> HashRing(["a", "b", "c"]).node_for("k") in ("a", "b", "c")
        True
        """
        if type(key) is str and key.isascii() and not self._ketama:
            h = _mmh3_hash128(key, self._seed) & MASK64  # hash64(key, seed) without its dispatch
        else:
            h = self._hash(key)
        s = self._scalar
        if s is None:
            s = self._scalar_ready()
        b = h >> s.shift
        node = s.direct[b]
        if node is not None:
            return node
        bounds = s.bounds
        return s.names[bisect_left(s.plist, h, bounds[b], bounds[b + 1])]

    def _walk(self, h: int) -> Iterator[int]:
        """Indexes of the distinct nodes met clockwise from ring position ``h`` (lazily)."""
        s = self._scalar if self._scalar is not None else self._scalar_ready()
        return s.walk(h, len(self._names))

    def _owner_of_hash(self, h: int) -> int:
        """Index (into :attr:`nodes`) of the owner of ring position ``h``."""
        s = self._scalar if self._scalar is not None else self._scalar_ready()
        return s.owner_index(h)

    def _succ_table(self, n: int) -> CodeArray:
        """Row ``i``: the first ``n`` distinct nodes met walking clockwise from point ``i``.

        In the answer dtype of batch lookups, :func:`code_dtype` of the node count.
        """
        table = self._succ.get(n)
        if table is None:
            wide = successor_table(self._owners, n)
            table = self._succ[n] = wide.astype(code_dtype(len(self._names)))
        return table

    def _replicas_ready(self, n: object) -> Replicas[NodeName]:
        """Validate ``n`` and tabulate the scalar replica rows for it (on demand)."""
        self._require_nodes()
        count = check_count(n, "n", 1, len(self._names))
        rep = self._reps.get(count)
        if rep is None:
            s = self._scalar if self._scalar is not None else self._scalar_ready()
            rep = self._reps[count] = s.replicas(self._succ_table(count), self._names)
        return rep

    def nodes_for(self, key: Key, n: int) -> list[NodeName]:
        """The ``n`` distinct nodes met walking clockwise from ``key``: its replica set.

        The first is :meth:`node_for`; ``nodes_for(key, n)`` is a prefix of
        ``nodes_for(key, n + 1)``.

        Raises:
            ValueError: ``n`` is not in ``[1, len(ring)]`` or the ring has no nodes.

        Complexity: O(log P) after a one-off O(P * n) table per ``n``.

        >>> r = HashRing(["a", "b", "c"])
        >>> r.nodes_for("k", 2) == r.nodes_for("k", 3)[:2]
        True
        """
        if type(key) is str and key.isascii() and not self._ketama:
            h = _mmh3_hash128(key, self._seed) & MASK64  # hash64(key, seed) without its dispatch
        else:
            h = self._hash(key)
        # Only exact ints take the fast path: 1.0 or True must still fail validation.
        rep = self._reps.get(n) if type(n) is int else None
        if rep is None:
            rep = self._replicas_ready(n)
        direct, rows, plist, bounds, shift = rep
        b = h >> shift
        row = direct[b]
        if row is None:
            row = rows[bisect_left(plist, h, bounds[b], bounds[b + 1])]
        # [*row] is one bytecode; list(row) calls the type (measured: ~90 ns more per lookup).
        return [*row]

    def _table_ready(self) -> BatchTable:
        if self._table is None:
            self._table = BatchTable(
                self._points, self._owners, self._hash_bits, nodes=len(self._names)
            )
        return self._table

    def _lookup_many(self, keys: npt.ArrayLike | Iterable[Key], owners: bool) -> CodeArray:
        """Hash ``keys`` and return each one's owner (``owners``) or point index, via the table.

        Integer arrays are hashed inside the lookup, block by block, so that a block's hashes,
        buckets and answers stay in cache.
        """
        seed = None
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" and not self._ketama:
            if keys.ndim != 1:
                raise ValueError(f"keys must be a 1-D array, got shape {keys.shape}")
            source: Any = keys
            seed = self._seed
        else:
            source = self._hash_many(keys)
        self._require_nodes()
        return self._table_ready().lookup(source, want_owner=owners, int_keys_seed=seed)

    def _lookup_hashes(self, hashes: U64Array, owners: bool = True) -> CodeArray:
        """Owners (or point indexes) of raw ring positions; for tests and derived schemes."""
        self._require_nodes()
        return self._table_ready().lookup(hashes, want_owner=owners)

    def node_for_many(self, keys: npt.ArrayLike | Iterable[Key]) -> CodeArray:
        """Owners of many keys, as indexes into :attr:`nodes`.

        Integer numpy arrays are hashed and looked up without a Python loop. The answer's dtype is
        the narrowest signed integer that holds every node index, like pandas' categorical codes:
        ``int8`` up to 128 nodes, ``int16`` up to 32,768, then ``int32``. Widen it
        (``.astype(np.intp)``) before arithmetic that could leave that range.

        Raises:
            ValueError: the ring has no nodes.

        Complexity: O(k) for k keys (one table read each; a few steps for keys near points).

        >>> import numpy as np
        >>> r = HashRing(["a", "b", "c"])
        >>> idx = r.node_for_many(np.arange(5))
        >>> [r.nodes[i] for i in idx] == [r.node_for(k) for k in range(5)]
        True
        """
        return self._lookup_many(keys, owners=True)

    def nodes_for_many(self, keys: npt.ArrayLike | Iterable[Key], n: int) -> CodeArray:
        """Replica sets of many keys: a ``(k, n)`` array of indexes into :attr:`nodes`.

        Row ``j`` equals ``nodes_for(keys[j], n)`` (as indexes), in :meth:`node_for_many`'s dtype.

        Complexity: O(k * n) after a one-off O(P * n) table per ``n``.

        >>> import numpy as np
        >>> r = HashRing(["a", "b", "c"])
        >>> rows = r.nodes_for_many(["x", "y"], 2)
        >>> [r.nodes[i] for i in rows[0]] == r.nodes_for("x", 2)
        True
        """
        self._require_nodes()
        count = check_count(n, "n", 1, len(self._names))
        idx = self._lookup_many(keys, owners=False)
        # np.take along axis 0 gathers whole rows several times faster than fancy indexing, and
        # (measured) faster over the whole batch than block by block inside the lookup.
        return np.take(self._succ_table(count), idx, axis=0)

    # ------------------------------------------------------------------ analysis

    def shares(self) -> dict[NodeName, float]:
        """Each node's fraction of the hash space (the keys it owns, in expectation).

        Complexity: O(P).

        >>> shares = HashRing(["a", "b"]).shares()
        >>> round(sum(shares.values()), 9)
        1.0
        """
        totals = arc_shares(self._points, self._owners, len(self._names), self._hash_bits)
        return dict(zip(self._names, totals, strict=True))

    def moved(self, other: HashRing, keys: npt.ArrayLike | Iterable[Key]) -> list[Move]:
        """The keys whose owner differs between this ring and ``other``: a migration plan.

        Complexity: O(k) batch lookups on both rings, plus O(moved) to list the moves.

        >>> old = HashRing(["a", "b"]); new = old.copy(); new.add_node("c")
        >>> all(m.target == "c" for m in old.moved(new, range(1000)))
        True
        """
        if not isinstance(other, HashRing):
            raise TypeError(f"other must be a HashRing, got {type(other).__name__}")
        key_list: Any = keys if isinstance(keys, np.ndarray) else list(keys)  # type: ignore[arg-type]
        mine = self.node_for_many(key_list)
        theirs = other.node_for_many(key_list)
        # Compare by name: the two rings may number their nodes differently.
        names = self._names
        their_names = other._names
        translate = np.array(
            [self._index.get(n, -1) for n in their_names],
            dtype=np.intp,
        )
        differs = np.flatnonzero(translate[theirs] != mine)
        sample = key_list[differs] if isinstance(key_list, np.ndarray) else None
        out = []
        for pos, j in enumerate(differs.tolist()):
            key = sample[pos].item() if sample is not None else key_list[j]
            out.append(Move(key, names[mine[j]], their_names[theirs[j]]))
        return out

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert the ring's invariants (used by tests after every mutation)."""
        n = len(self._names)
        assert len(self._weights) == len(self._bases) == len(self._counts) == n
        assert self._index == {name: i for i, name in enumerate(self._names)}
        assert self._points.dtype == np.uint64 and self._owners.dtype == np.intp
        assert self._points.shape == self._owners.shape
        assert self._points.shape[0] == sum(self._counts)
        if self._points.shape[0]:
            assert bool(np.all(self._points[1:] >= self._points[:-1])), "points not sorted"
            assert int(self._points[-1]) < (1 << self._hash_bits)
        assert bool(np.all(np.bincount(self._owners, minlength=n) == np.array(self._counts)))
        assert all(w > 0 and math.isfinite(w) for w in self._weights)
        if not self._ketama:
            assert len(set(self._bases)) == n, "two nodes share a base hash"
            for i in range(n):
                assert self._bases[i] == hash64(self._names[i], self._seed)
            ties = np.flatnonzero(self._points[1:] == self._points[:-1])
            for t in ties.tolist():
                a, b = self._owners[t], self._owners[t + 1]
                assert self._bases[a] <= self._bases[b], "equal points out of base-hash order"
        if self._scalar is not None:
            self._scalar._check(self._points, self._owners)
            for n, rep in self._reps.items():
                self._scalar._check_replicas(rep, self._succ_table(n), self._names)
        if self._table is not None:
            self._table._check(self._points, self._owners, len(self._names))
