"""A consistent hash ring with virtual nodes, weights, replicas and fast batch lookups.

Theory of operation
-------------------
Karger et al. (1997) place every node at several pseudo-random points ("virtual nodes") on a
circle of 64-bit hashes. A key belongs to the first point at or after its own hash, wrapping past
``2**64 - 1`` to the first point: the node that owns the arc ``(previous point, point]``. Adding a
node only splits arcs (keys move *to* the new node and nowhere else); removing one only merges
its arcs into their successors (only its keys move). With ``v`` points per node, a node's share of
the circle is a sum of ``v`` exponential gaps, so its relative spread is about ``1/sqrt(v)``.

Placement. Node ``x`` has base hash ``b = hash64(x, seed)`` and its ``i``-th point is
``hash64((b + i * 0x9E3779B97F4A7C15) mod 2**64, seed)``: all points of a node derive from its name
alone, through :mod:`dskata.hashing`, so rings built in any order agree. Weighted nodes get
``max(1, round(vnodes * weight / w_ref))`` points, where ``w_ref`` is the mean weight of the
nodes the ring was built with (the first weight added, for a ring built empty). Only the ratios
of weights matter, so ``{"a": 1e9}`` builds as fast as ``{"a": 1}``, and ``w_ref`` never changes
afterwards, so adding or removing a node never re-cuts the points of the others.

Equal points. Two points with the same hash are ordered by their node's base hash, then by their
index; a key takes the first of them. Nodes whose base hashes collide are refused (their points
would coincide everywhere). :meth:`HashRing.ketama` rings follow libketama instead (see
:mod:`dskata.ring.ketama`).

Batch lookups. ``np.searchsorted`` costs ``log2(P)`` dependent, cache-missing probes per key. A
direct-mapped prefix table (built lazily, after the last change) splits the circle into ``T``
equal buckets by the top bits of the hash. A bucket that holds no point resolves a key in a
single table read; only keys in the few buckets that hold points (at most ``P / T`` of them) step
forward through those points, at most the fullest bucket's count of steps.

Replicas. ``nodes_for(key, n)`` walks clockwise from the key's point collecting distinct nodes:
a preference list whose first ``n`` entries are a prefix of the first ``n + 1``. The walks from
every point are tabulated once per ``n`` (lazily), so single and batch calls are table reads.

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

from dskata.hashing import Key, hash64, hash64_many, validate_seed
from dskata.ring._common import (
    IndexArray,
    NodeName,
    U64Array,
    check_count,
    check_node_name,
    check_weight,
    parse_nodes,
)
from dskata.ring.ketama import (
    ketama_digest_counts,
    ketama_hash,
    ketama_hash_many,
    ketama_points,
)

__all__ = ["HashRing", "Move"]

_GOLDEN: Final = 0x9E3779B97F4A7C15
_SCHEME_HASH: Final = "hash64"
_SCHEME_KETAMA: Final = "ketama"
# Prefix table: about 2**_TABLE_SLACK buckets per point, capped at 2**_TABLE_MAX_BITS (16 MiB).
_TABLE_SLACK: Final = 3
_TABLE_MAX_BITS: Final = 21
# Keys per block in the batch lookup: temporaries stay in L2.
_BLOCK: Final = 65536
_MAX_VNODES: Final = 1 << 20
# Scalar lookups' prefix tables: at most 2**16 buckets (Python lists).
_SCALAR_MAX_BITS: Final = 16


class Move(NamedTuple):
    """One key that changes owner between two rings (an entry of a migration plan)."""

    key: Any
    source: NodeName
    target: NodeName


class _PrefixTable:
    """Direct-mapped lookup over sorted points: top ``bits`` bits of a hash -> answer.

    ``owner[j]`` is the owner of every hash in bucket ``j`` when the bucket holds no point, else
    -1; ``point[j]`` likewise gives the point index. ``first[j]`` is the first point at or after
    the bucket's start, from which a flagged key steps forward at most ``steps`` times.
    """

    __slots__ = ("bits", "first", "owner", "padded", "point", "shift", "steps")

    def __init__(self, points: U64Array, owners: IndexArray, hash_bits: int) -> None:
        n = points.shape[0]
        bits = min(_TABLE_MAX_BITS, max(4, int(n).bit_length() + _TABLE_SLACK), hash_bits)
        self.bits = bits
        self.shift = np.uint64(hash_bits - bits)
        prefix = (points >> self.shift).astype(np.intp)
        counts = np.bincount(prefix, minlength=1 << bits)
        # first[j]: index of the first point whose prefix is >= j (n when none: the wrap).
        first = np.zeros((1 << bits) + 1, dtype=np.intp)
        np.cumsum(counts, out=first[1:])
        first = first[:-1]
        wrapped = np.where(first == n, 0, first)
        empty = counts == 0
        self.point = np.where(empty, wrapped, -1).astype(np.intp)
        self.owner = np.where(empty, owners[wrapped] if n else 0, -1).astype(np.intp)
        self.first = first
        self.steps = int(counts.max()) if n else 0
        # A sentinel past the last point: no hash is above it, so steps stop there (the wrap).
        self.padded = np.append(
            points, np.uint64((1 << hash_bits) - 1 if hash_bits == 64 else 1 << 32)
        )


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
        self._index: dict[NodeName, int] = {}
        self._weights: list[float] = []
        self._bases: list[int] = []
        self._counts: list[int] = []
        bases = [hash64(name, self._seed) for name, _ in pairs]
        self._check_base_collisions(pairs, bases)
        for (name, weight), base in zip(pairs, bases, strict=True):
            self._register(name, weight, base, self._count_for(weight))
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
        count = self._counts[i]
        with np.errstate(over="ignore"):
            steps = np.arange(count, dtype=np.uint64) * np.uint64(_GOLDEN)
            steps += np.uint64(self._bases[i])
        return hash64_many(steps, self._seed)

    def _rebuild(self) -> None:
        """Recompute every point from the node list (construction, ketama changes)."""
        if self._ketama:
            self._counts = (
                [4 * d for d in ketama_digest_counts(self._weights)] if self._names else []
            )
            pts = [
                np.array(ketama_points(name, c // 4), dtype=np.uint64)  # type: ignore[arg-type]
                for name, c in zip(self._names, self._counts, strict=True)
            ]
            points = np.concatenate(pts) if pts else np.empty(0, dtype=np.uint64)
        else:
            # Every node's points in one vectorised pass: base + i * golden, then hash64.
            counts = np.array(self._counts, dtype=np.intp)
            total = int(counts.sum())
            starts = np.zeros(counts.shape[0], dtype=np.intp)
            np.cumsum(counts[:-1], out=starts[1:])
            steps = (np.arange(total, dtype=np.intp) - np.repeat(starts, counts)).astype(np.uint64)
            with np.errstate(over="ignore"):
                steps *= np.uint64(_GOLDEN)
                steps += np.repeat(np.array(self._bases, dtype=np.uint64), counts)
            points = hash64_many(steps, self._seed)
        owners = np.repeat(np.arange(len(self._names), dtype=np.intp), self._counts)
        self._set_points(points, owners)

    def _set_points(self, points: U64Array, owners: IndexArray) -> None:
        # A stable sort keeps generation order among equal points: node order then index. For
        # the hash64 scheme, the documented rule is base-hash order, applied when ties exist.
        order = np.argsort(points, kind="stable")
        points, owners = points[order], owners[order]
        if not self._ketama and points.shape[0] > 1:
            ties = points[1:] == points[:-1]
            if ties.any():
                order = self._tie_order(points, owners)
                points, owners = points[order], owners[order]
        self._points, self._owners = points, owners
        self._invalidate()

    def _tie_order(self, points: U64Array, owners: IndexArray) -> IndexArray:
        bases = np.array(self._bases, dtype=np.uint64)[owners]
        # Among equal points of one node the stable sort already kept index order.
        rank = np.arange(points.shape[0], dtype=np.intp)
        return np.lexsort((rank, bases, points)).astype(np.intp)

    def _invalidate(self) -> None:
        self._plist: list[int] | None = None
        self._pnames: list[NodeName] = []
        self._sbounds: list[int] = []
        self._sdirect: list[NodeName | None] = []
        self._sshift = 0
        self._olist: list[int] = []
        self._table: _PrefixTable | None = None
        self._succ: dict[int, IndexArray] = {}
        self._succ_names: dict[int, list[tuple[NodeName, ...]]] = {}

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
        new = np.sort(self._node_points(i))
        pos = np.searchsorted(self._points, new, side="left")
        size = self._points.shape[0]
        if size and np.any(self._points[np.minimum(pos, size - 1)] == new):
            # An exact tie with an existing point: fall back to the full, documented ordering.
            points = np.concatenate([self._points, new])
            owners = np.concatenate([self._owners, np.full(new.shape[0], i, dtype=np.intp)])
            self._set_points(points, owners)
            return
        self._points = np.insert(self._points, pos, new)
        self._owners = np.insert(self._owners, pos, i)
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

    def _scalar_ready(self) -> list[int]:
        """Python lists for scalar lookups: sorted points, and each point's owner name.

        ``_pnames`` has one extra entry, the first point's owner, so that a key past the last
        point (``bisect`` returns P) wraps around without a branch.
        """
        self._require_nodes()
        plist: list[int] = self._points.tolist()
        names = self._names
        olist: list[int] = self._owners.tolist()
        pnames = [names[o] for o in olist]
        pnames.append(pnames[0])
        # A small prefix table narrows each bisect to the few points of one bucket: a dozen
        # cache-missing comparisons over the whole list become one or two.
        size = len(plist)
        bits = min(_SCALAR_MAX_BITS, max(1, size.bit_length() + 2), self._hash_bits)
        shift = self._hash_bits - bits
        prefix = (self._points >> np.uint64(shift)).astype(np.intp)
        bounds = np.zeros((1 << bits) + 1, dtype=np.intp)
        np.cumsum(np.bincount(prefix, minlength=1 << bits), out=bounds[1:])
        self._sbounds = bounds.tolist()
        self._sshift = shift
        # Most buckets hold no point: every key in one belongs to the next point's node.
        sb = self._sbounds
        self._sdirect = [pnames[sb[j]] if sb[j] == sb[j + 1] else None for j in range(1 << bits)]
        self._olist = olist
        self._pnames = pnames
        self._plist = plist
        return plist

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
        h = hash64(key, self._seed) if not self._ketama else self._hash(key)
        plist = self._plist
        if plist is None:
            plist = self._scalar_ready()
        b = h >> self._sshift
        node = self._sdirect[b]
        if node is not None:
            return node
        bounds = self._sbounds
        return self._pnames[bisect_left(plist, h, bounds[b], bounds[b + 1])]

    def _walk(self, h: int) -> Iterator[int]:
        """Yield the indexes of the distinct nodes met clockwise from ring position ``h``.

        Lazy, for schemes built on the ring (bounded loads) that stop at the first node that fits.
        """
        plist = self._plist
        if plist is None:
            plist = self._scalar_ready()
        olist = self._olist
        size = len(plist)
        start = bisect_left(plist, h)
        seen: set[int] = set()
        total = len(self._names)
        for step in range(start, start + size):
            o = olist[step % size]
            if o not in seen:
                seen.add(o)
                yield o
                if len(seen) == total:
                    return

    def _owner_of_hash(self, h: int) -> int:
        """Index (into :attr:`nodes`) of the owner of ring position ``h``."""
        plist = self._plist
        if plist is None:
            plist = self._scalar_ready()
        i = bisect_left(plist, h)
        return self._olist[i if i < len(plist) else 0]

    def _succ_table(self, n: int) -> IndexArray:
        """Row ``i``: the first ``n`` distinct nodes met walking clockwise from point ``i``."""
        table = self._succ.get(n)
        if table is not None:
            return table
        owners = self._owners.tolist()
        size = len(owners)
        out = np.empty((size, n), dtype=np.intp)
        # Walk backwards around the ring twice, keeping the distinct owners seen next in order;
        # the first lap warms the window so wrap-around rows are complete on the second.
        window: list[int] = []
        for step in range(2 * size - 1, -1, -1):
            o = owners[step % size]
            if o in window:
                window.remove(o)
            window.insert(0, o)
            del window[n:]
            if step < size:
                out[step] = window
        self._succ[n] = out
        return out

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
        h = hash64(key, self._seed) if not self._ketama else self._hash(key)
        # Only exact ints hit the cache: 1.0 or True must still fail validation below.
        rows = self._succ_names.get(n) if type(n) is int else None
        if rows is None:
            self._require_nodes()
            n = check_count(n, "n", 1, len(self._names))
            names = self._names
            rows = [tuple(names[o] for o in row) for row in self._succ_table(n).tolist()]
            rows.append(rows[0])
            self._succ_names[n] = rows
        plist = self._plist
        if plist is None:
            plist = self._scalar_ready()
        bounds, b = self._sbounds, h >> self._sshift
        lo, hi = bounds[b], bounds[b + 1]
        return list(rows[lo if lo == hi else bisect_left(plist, h, lo, hi)])

    def _table_ready(self) -> _PrefixTable:
        if self._table is None:
            self._table = _PrefixTable(self._points, self._owners, self._hash_bits)
        return self._table

    def _lookup_many(self, keys: npt.ArrayLike | Iterable[Key], owners: bool) -> IndexArray:
        """Hash ``keys`` and return each one's owner (``owners``) or point index, via the table.

        Works block by block so the hashes, buckets and answers of a block stay in cache.
        """
        is_int_array = isinstance(keys, np.ndarray) and keys.dtype.kind in "iu"
        if is_int_array and not self._ketama:
            arr: Any = keys
            total = arr.shape[0]
            if arr.ndim != 1:
                raise ValueError(f"keys must be a 1-D array, got shape {arr.shape}")
        else:
            arr = self._hash_many(keys)
            total = arr.shape[0]
        self._require_nodes()
        out = np.empty(total, dtype=np.intp)
        for start in range(0, total, _BLOCK):
            stop = min(start + _BLOCK, total)
            h = hash64_many(arr[start:stop], self._seed) if is_int_array else arr[start:stop]
            self._resolve(h, out[start:stop], owners)
        return out

    def _resolve(self, h: U64Array, out: IndexArray, owners: bool) -> None:
        """Write into ``out`` the owner (or point index) of each hash in ``h``."""
        table = self._table_ready()
        lut = table.owner if owners else table.point
        size = self._points.shape[0]
        b = h >> table.shift
        bi = b.view(np.intp)  # bucket numbers are < 2**21: same bits as intp
        np.take(lut, bi, out=out)
        todo = np.flatnonzero(out < 0)
        if todo.size:
            hh = h[todo]
            j = table.first[bi[todo]]
            points = table.padded
            for _ in range(table.steps):
                j += points[j] < hh
            j[j == size] = 0
            out[todo] = self._owners[j] if owners else j

    def _lookup_hashes(self, hashes: U64Array, owners: bool = True) -> IndexArray:
        """Owners (or point indexes) of raw ring positions; for tests and derived schemes."""
        self._require_nodes()
        out = np.empty(hashes.shape[0], dtype=np.intp)
        for start in range(0, hashes.shape[0], _BLOCK):
            self._resolve(hashes[start : start + _BLOCK], out[start : start + _BLOCK], owners)
        return out

    def node_for_many(self, keys: npt.ArrayLike | Iterable[Key]) -> IndexArray:
        """Owners of many keys, as indexes into :attr:`nodes` (an ``intp`` array).

        Integer numpy arrays are hashed and looked up without a Python loop.

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

    def nodes_for_many(self, keys: npt.ArrayLike | Iterable[Key], n: int) -> IndexArray:
        """Replica sets of many keys: a ``(k, n)`` array of indexes into :attr:`nodes`.

        Row ``j`` equals ``nodes_for(keys[j], n)`` (as indexes).

        Complexity: O(k * n) after a one-off O(P * n) table per ``n``.

        >>> import numpy as np
        >>> r = HashRing(["a", "b", "c"])
        >>> rows = r.nodes_for_many(["x", "y"], 2)
        >>> [r.nodes[i] for i in rows[0]] == r.nodes_for("x", 2)
        True
        """
        idx = self._lookup_many(keys, owners=False)
        n = check_count(n, "n", 1, len(self._names))
        return self._succ_table(n)[idx]

    # ------------------------------------------------------------------ analysis

    def shares(self) -> dict[NodeName, float]:
        """Each node's fraction of the hash space (the keys it owns, in expectation).

        Complexity: O(P).

        >>> shares = HashRing(["a", "b"]).shares()
        >>> round(sum(shares.values()), 9)
        1.0
        """
        size = self._points.shape[0]
        if size == 0:
            return {}
        if size == 1:
            return {self._names[0]: 1.0}
        space = float(1 << self._hash_bits)
        pts = self._points
        arcs = np.empty(size, dtype=np.float64)
        arcs[1:] = (pts[1:] - pts[:-1]).astype(np.float64)
        # Point 0 owns the wrap-around arc (last point, end of space) plus [0, point 0].
        arcs[0] = float(int(pts[0]) + (1 << self._hash_bits) - int(pts[-1]))
        totals = np.bincount(self._owners, weights=arcs, minlength=len(self._names)) / space
        return dict(zip(self._names, totals.tolist(), strict=True))

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
        if self._plist is not None:
            assert self._plist == self._points.tolist()
            assert len(self._pnames) == len(self._plist) + 1
            sb = self._sbounds
            assert sb[0] == 0 and sb[-1] == len(self._plist)
            for j, node in enumerate(self._sdirect):
                assert (node is None) == (sb[j] != sb[j + 1])
        if self._table is not None:
            fresh = _PrefixTable(self._points, self._owners, self._hash_bits)
            assert np.array_equal(fresh.owner, self._table.owner)
            assert np.array_equal(fresh.point, self._table.point)
