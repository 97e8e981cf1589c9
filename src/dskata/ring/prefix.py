"""Direct-mapped prefix tables: the lookup side of a hash ring (private).

Theory of operation
-------------------
A ring is a sorted array of ``P`` points and, per point, its owner. A key hashing to ``h``
belongs to the first point ``>= h``, wrapping past the end to point 0 (Karger et al., 1997).
``np.searchsorted`` and ``bisect`` find that point with ``log2(P)`` dependent probes, most of
them cache misses. A *direct-mapped prefix table* splits the circle into ``T = 2**bits`` equal
buckets by the top ``bits`` bits of the hash:

* a bucket that holds no point maps every hash in it to one answer, the first point after the
  bucket (wrapping): one table read;
* a bucket that holds points keeps the range of point indexes it spans; a hash in it steps
  forward through those points (batch) or bisects that short range (scalar).

With ``T`` about ``8 P``, seven buckets in eight are empty. The same idea serves replica sets:
:func:`successor_table` lists, for every point, the first ``n`` distinct owners met clockwise
from it (Dynamo's preference list, DeCandia et al. 2007, section 4.3), and a scalar index keeps
that row per empty bucket too, so ``nodes_for`` is as cheap as ``node_for``.

Everything here is derived data, rebuilt lazily after a ring changes; nothing here mutates a
ring. Thread safety: instances are immutable after construction.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, Final, Generic, TypeVar

import numpy as np

from dskata.ring._common import IndexArray, U64Array

__all__ = ["BLOCK", "BatchTable", "ScalarIndex", "successor_table"]

#: Keys per block in batch lookups: temporaries stay in L2.
BLOCK: Final = 65536

# Batch table: about 2**_TABLE_SLACK buckets per point, capped at 2**_TABLE_MAX_BITS (16 MiB).
_TABLE_SLACK: Final = 3
_TABLE_MAX_BITS: Final = 21
# Scalar index: at most 2**_SCALAR_MAX_BITS buckets (Python lists).
_SCALAR_MAX_BITS: Final = 16

N = TypeVar("N")
#: What a one-key replica lookup reads: (rows per bucket or None, rows per point + the wrap row,
#: sorted points, bucket bounds, shift).
Replicas = tuple[list[tuple[N, ...] | None], list[tuple[N, ...]], list[int], list[int], int]


def _small_int(bound: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer dtype that holds every value in ``[-1, bound)``."""
    if bound <= 1 << 15:
        return np.int16
    if bound <= 1 << 31:
        return np.int32
    return np.int64


class BatchTable:
    """Direct-mapped lookup over sorted points, for numpy arrays of hashes.

    ``owner[j]`` is the owner of every hash in bucket ``j`` when the bucket holds no point, else
    -1; ``point[j]`` likewise gives the point index. ``first[j]`` is the first point at or after
    the bucket's start, from which a flagged hash steps forward once, or at most ``steps`` times
    in a ``crowded`` bucket (more than one point).

    Complexity: O(P + T) to build; O(1) per hash in an empty bucket, O(steps) otherwise.

    >>> pts = np.array([10, 200], dtype=np.uint64)
    >>> t = BatchTable(pts, np.array([0, 1], dtype=np.intp), hash_bits=8)
    >>> out = np.empty(3, dtype=np.intp)
    >>> t.resolve(np.array([5, 11, 250], dtype=np.uint64), np.array([0, 1]), out, want_owner=True)
    >>> out.tolist()
    [0, 1, 0]
    """

    __slots__ = ("bits", "crowded", "first", "owner", "padded", "point", "shift", "size", "steps")

    def __init__(self, points: U64Array, owners: IndexArray, hash_bits: int) -> None:
        n = points.shape[0]
        bits = min(_TABLE_MAX_BITS, max(4, int(n).bit_length() + _TABLE_SLACK), hash_bits)
        self.bits = bits
        self.size = n
        self.shift = np.uint64(hash_bits - bits)
        prefix = (points >> self.shift).astype(np.intp)
        counts = np.bincount(prefix, minlength=1 << bits)
        # first[j]: index of the first point whose prefix is >= j (n when none: the wrap).
        first = np.zeros((1 << bits) + 1, dtype=np.intp)
        np.cumsum(counts, out=first[1:])
        first = first[:-1]
        wrapped = np.where(first == n, 0, first)
        empty = counts == 0
        # The smallest signed dtype that holds the answers: a table of 2**17 int16 fits in L2,
        # and gathering from it is most of the lookup's cost.
        self.point = np.where(empty, wrapped, -1).astype(_small_int(n))
        self.owner = np.where(empty, owners[wrapped] if n else 0, -1).astype(
            _small_int(int(owners.max()) + 1 if n else 1)
        )
        self.first = first
        self.steps = int(counts.max()) if n else 0
        self.crowded = counts > 1  # buckets that need more than one step
        # A sentinel past the last point: no hash is above it, so steps stop there (the wrap).
        self.padded = np.append(
            points, np.uint64((1 << hash_bits) - 1 if hash_bits == 64 else 1 << 32)
        )

    def _check(self, points: U64Array, owners: IndexArray) -> None:
        """Assert that this table is the one ``points`` and ``owners`` build."""
        fresh = BatchTable(points, owners, int(self.shift) + self.bits)
        assert fresh.bits == self.bits and fresh.steps == self.steps
        assert np.array_equal(fresh.owner, self.owner) and np.array_equal(fresh.point, self.point)

    def lookup(
        self,
        source: U64Array,
        owners: IndexArray,
        *,
        want_owner: bool,
        hash_block: Callable[[Any], U64Array] | None = None,
    ) -> IndexArray:
        """Answers for every hash in ``source`` (or every key, hashed by ``hash_block``).

        Works in blocks of :data:`BLOCK` so a block's hashes, buckets and answers stay in cache.

        Complexity: O(k) for k keys.
        """
        total = source.shape[0]
        out = np.empty(total, dtype=np.intp)
        for start in range(0, total, BLOCK):
            stop = min(start + BLOCK, total)
            block = source[start:stop]
            h = block if hash_block is None else hash_block(block)
            self.resolve(h, owners, out[start:stop], want_owner=want_owner)
        return out

    def resolve(
        self, h: U64Array, owners: IndexArray, out: IndexArray, *, want_owner: bool
    ) -> None:
        """Write into ``out`` the owner (``want_owner``) or the point index of each hash in ``h``.

        ``owners`` is the ring's owner array (point index -> node index).
        """
        lut = self.owner if want_owner else self.point
        b = h >> self.shift
        bi = b.view(np.intp)  # bucket numbers are < 2**21: same bits as intp
        answers = np.take(lut, bi)
        todo = np.flatnonzero(answers < 0)
        np.copyto(out, answers)
        if todo.size:
            hh = h[todo]
            bt = bi[todo]
            j = self.first[bt]
            points = self.padded
            j += points[j] < hh  # enough for a bucket of one point, most of them
            more = np.flatnonzero(self.crowded[bt])
            if more.size:
                jm, hm = j[more], hh[more]
                for _ in range(self.steps - 1):
                    jm += points[jm] < hm
                j[more] = jm
            j[j == self.size] = 0
            out[todo] = owners[j] if want_owner else j


class ScalarIndex(Generic[N]):
    """Python lists for one-key lookups: points, owners, and a small direct-mapped prefix index.

    ``names[i]`` is the owner's name of point ``i``, with point 0's owner repeated at the end so
    that a hash past the last point (``bisect`` returns ``P``) wraps around without a branch.
    ``direct[b]`` is the answer for every hash in bucket ``b`` when the bucket holds no point,
    else None; ``bounds[b]:bounds[b + 1]`` is the range of points in bucket ``b``.

    Complexity: O(P + T) to build, O(1) per lookup in an empty bucket.

    >>> idx = ScalarIndex(np.array([10, 200], dtype=np.uint64), [0, 1], ["a", "b"], 8)
    >>> [idx.owner(h) for h in (5, 10, 11, 200, 201)]
    ['a', 'a', 'b', 'b', 'a']
    """

    __slots__ = ("bounds", "direct", "names", "olist", "plist", "shift")

    def __init__(self, points: U64Array, olist: list[int], node_names: list[N], hash_bits: int):
        plist: list[int] = points.tolist()
        names = [node_names[o] for o in olist]
        names.append(names[0])
        size = len(plist)
        bits = min(_SCALAR_MAX_BITS, max(1, size.bit_length() + 2), hash_bits)
        shift = hash_bits - bits
        prefix = (points >> np.uint64(shift)).astype(np.intp)
        bounds = np.zeros((1 << bits) + 1, dtype=np.intp)
        np.cumsum(np.bincount(prefix, minlength=1 << bits), out=bounds[1:])
        sb: list[int] = bounds.tolist()
        self.plist = plist
        self.olist = olist
        self.names = names
        self.shift = shift
        self.bounds = sb
        self.direct: list[N | None] = [
            names[sb[j]] if sb[j] == sb[j + 1] else None for j in range(1 << bits)
        ]

    def owner(self, h: int) -> N:
        """The owner's name of ring position ``h``.

        Complexity: O(1) in an empty bucket, else O(log of the bucket's points).
        """
        b = h >> self.shift
        node = self.direct[b]
        if node is not None:
            return node
        return self.names[bisect_left(self.plist, h, self.bounds[b], self.bounds[b + 1])]

    def owner_index(self, h: int) -> int:
        """Index of the owner of ring position ``h`` (plain bisect, for derived schemes)."""
        i = bisect_left(self.plist, h)
        return self.olist[i if i < len(self.plist) else 0]

    def walk(self, h: int, total: int) -> Iterator[int]:
        """Yield the indexes of the distinct owners met clockwise from ``h`` (``total`` of them).

        Lazy, for schemes built on the ring (bounded loads) that stop at the first node that fits.

        >>> idx = ScalarIndex(np.array([10, 20, 30], dtype=np.uint64), [0, 0, 1], ["a", "b"], 8)
        >>> list(idx.walk(15, 2)), list(idx.walk(31, 2))
        ([0, 1], [0, 1])
        """
        plist, olist = self.plist, self.olist
        size = len(plist)
        start = bisect_left(plist, h)
        seen: set[int] = set()
        for step in range(start, start + size):
            o = olist[step % size]
            if o not in seen:
                seen.add(o)
                yield o
                if len(seen) == total:
                    return

    def replicas(self, table: IndexArray, node_names: list[N]) -> Replicas[N]:
        """What a one-key replica lookup reads, for a :func:`successor_table` ``table``.

        Complexity: O(P * n + T).
        """
        rows = [tuple(node_names[o] for o in row) for row in table.tolist()]
        rows.append(rows[0])
        sb = self.bounds
        direct = [rows[sb[j]] if sb[j] == sb[j + 1] else None for j in range(len(sb) - 1)]
        return (direct, rows, self.plist, sb, self.shift)

    def _check(self, points: U64Array, owners: IndexArray) -> None:
        """Assert that this index describes ``points`` and ``owners``."""
        assert self.plist == points.tolist() and self.olist == owners.tolist()
        assert len(self.names) == len(self.plist) + 1
        sb = self.bounds
        assert sb[0] == 0 and sb[-1] == len(self.plist)
        for j, node in enumerate(self.direct):
            assert (node is None) == (sb[j] != sb[j + 1])

    def _check_replicas(self, rep: Replicas[N], table: IndexArray, node_names: list[N]) -> None:
        """Assert that ``rep`` tabulates the successor ``table`` over this index."""
        direct, rows, plist, bounds, shift = rep
        assert plist is self.plist and bounds is self.bounds and shift == self.shift
        assert [list(r) for r in rows[:-1]] == [[node_names[o] for o in t] for t in table.tolist()]
        assert rows[-1] == rows[0]
        assert all(d is None or d == rows[bounds[j]] for j, d in enumerate(direct))


def successor_table(owners: IndexArray, n: int) -> IndexArray:
    """Row ``i``: the first ``n`` distinct owners met walking clockwise from point ``i``.

    ``n`` must not exceed the number of distinct owners.

    Complexity: O(P * n), one backwards sweep around the ring twice.

    >>> successor_table(np.array([0, 0, 1, 2, 1], dtype=np.intp), 2).tolist()
    [[0, 1], [0, 1], [1, 2], [2, 1], [1, 0]]
    """
    olist: list[int] = owners.tolist()
    size = len(olist)
    out = np.empty((size, n), dtype=np.intp)
    # Walk backwards around the ring twice, keeping the distinct owners seen next in order;
    # the first lap warms the window so wrap-around rows are complete on the second.
    window: list[int] = []
    for step in range(2 * size - 1, -1, -1):
        o = olist[step % size]
        if o in window:
            window.remove(o)
        window.insert(0, o)
        del window[n:]
        if step < size:
            out[step] = window
    return out
