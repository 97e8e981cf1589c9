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

The batch table has ``T`` about ``32 P`` buckets (31 in 32 are empty; entries of one or two
bytes keep the gathered table in cache), the scalar index about ``16 P`` (Python lists, at most
``2**18``). Integer keys are hashed inside the batch lookup, block by block, and only the keys
that land in a bucket holding a point need their full hash (:mod:`dskata.ring._fast`). The same
idea serves replica sets: :func:`successor_table` lists, for every point, the first ``n``
distinct owners met clockwise from it (Dynamo's preference list, DeCandia et al. 2007, section
4.3), and a scalar index keeps that row per empty bucket too, so ``nodes_for`` is as cheap as
``node_for``.

Everything here is derived data, rebuilt lazily after a ring changes; nothing here mutates a
ring. Thread safety: instances are immutable after construction, except for the batch point
table built on first use (concurrent builders build equal tables); lookups use per-call scratch.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from dskata.ring._common import CodeArray, IndexArray, U64Array, code_dtype
from dskata.ring._fast import (
    TAIL_SAFE_BITS,
    fmix64_head_into,
    fmix64_tail,
    int_key_block,
    seed_xor_key,
)

__all__ = ["BLOCK", "BatchTable", "ScalarIndex", "successor_table"]

#: Keys per block in batch lookups: large enough to amortise numpy's per-call cost (about 20 calls
#: per block), small enough that a block's scratch stays in cache. Measured: 16Ki and 32Ki blocks
#: are slower, 128Ki no faster.
BLOCK: Final = 65536

# Batch table: about 2**_TABLE_SLACK buckets per point, at most 2**_TABLE_MAX_BITS (BatchTable
# documents the memory bound). Measured on 100 x 160 points: slack 5 (3% of keys need a step)
# beats slack 3 (11%) by about 10%; slack 6 gains about 5% more for twice the memory and build.
_TABLE_SLACK: Final = 5
_TABLE_MAX_BITS: Final = 21
# Scalar index: 2**_SCALAR_SLACK to twice that many buckets per point, at most
# 2**_SCALAR_MAX_BITS (Python lists). Measured on 100 x 160 points, interleaved: slack 4 (6% of
# lookups bisect) makes node_for and nodes_for 5-11% faster than slack 2 (22%); a bisect costs
# several cache misses on scattered Python ints.
_SCALAR_SLACK: Final = 4
_SCALAR_MAX_BITS: Final = 18

N = TypeVar("N")
#: What a one-key replica lookup reads: (rows per bucket or None, rows per point + the wrap row,
#: sorted points, bucket bounds, shift).
Replicas = tuple[list[tuple[N, ...] | None], list[tuple[N, ...]], list[int], "array[int]", int]


class BatchTable:
    """Direct-mapped lookup over sorted points, for numpy arrays of keys or hashes.

    Bucket ``j`` holds the hashes whose top ``bits`` bits are ``j``. ``owner[j]`` is the owner of
    every hash in bucket ``j`` when the bucket holds no point, else -1 (likewise ``point[j]``,
    the point index, built on first use). A hash in a bucket with points starts at ``first[j]``,
    the bucket's first point (``P`` past the last: the wrap), steps forward once, and falls back
    to a binary search in the rare bucket of several points.

    Memory: ``2**bits`` buckets with ``bits = min(21, bit_length(P) + 5)``, so about 1 bucket
    in 32 holds a point. Each table uses the narrowest signed dtype for its values: ``owner`` 1
    byte up to 128 nodes, ``first`` 2 bytes up to 32,767 points, ``point`` (built only for batch
    replica lookups) likewise. 100 x 160 points: ``2**19`` buckets, 1.5 MiB (2.5 MiB with
    ``point``). Rings under 32,768 points stay under ``2**20 * 6`` bytes (6 MiB); the bound is
    ``2**21 * 12`` bytes (24 MiB). A lookup also allocates scratch for about two blocks per
    call (~2 MiB, whatever the batch size), so concurrent readers share nothing mutable.

    Complexity: O(P + T) to build; O(1) per key in an empty bucket, O(1) expected otherwise.

    >>> pts = np.array([10, 200], dtype=np.uint64)
    >>> t = BatchTable(pts, np.array([0, 1], dtype=np.intp), hash_bits=8)
    >>> t.lookup(np.array([5, 11, 250], dtype=np.uint64), want_owner=True).tolist()
    [0, 1, 0]
    """

    __slots__ = (
        "_point",
        "bits",
        "first",
        "hash_bits",
        "index_ext",
        "owner",
        "owner_ext",
        "padded",
        "shift",
        "size",
        "steps",
    )

    def __init__(
        self, points: U64Array, owners: IndexArray, hash_bits: int, nodes: int | None = None
    ) -> None:
        n = points.shape[0]
        bits = min(_TABLE_MAX_BITS, max(4, int(n).bit_length() + _TABLE_SLACK), hash_bits)
        self.bits = bits
        self.hash_bits = hash_bits
        self.size = n
        self.shift = np.uint64(hash_bits - bits)
        # Answers per point index, with index n wrapping to point 0: no branch for the wrap.
        self.owner_ext: IndexArray = np.append(owners, owners[:1]) if n else np.zeros(1, np.intp)
        self.index_ext: IndexArray = np.append(np.arange(n, dtype=np.intp), np.intp(0))
        prefix, runs = self._runs(points)
        # Filled by np.repeat over the points, in the narrowest dtypes, rather than by bincount and
        # cumsum over 2**bits int64 buckets: five times faster to build at 2**19 buckets.
        self.first = np.repeat(np.arange(n + 1, dtype=code_dtype(n + 1)), runs)
        # The gather from this table is most of a lookup: the narrowest dtype keeps it in L2, and
        # it is the answer's dtype (code_dtype of the node count).
        if nodes is None:
            nodes = int(owners.max()) + 1 if n else 1
        self.owner = np.repeat(self.owner_ext.astype(code_dtype(nodes)), runs)
        self.owner[prefix] = -1
        self._point: npt.NDArray[np.signedinteger[Any]] | None = None
        starts = np.flatnonzero(np.diff(prefix, prepend=-1))
        self.steps = int(np.diff(starts, append=n).max()) if n else 0
        # A sentinel past the last point: no hash is above it, so a step stops there (the wrap).
        self.padded = np.append(
            points, np.uint64((1 << hash_bits) - 1 if hash_bits == 64 else 1 << 32)
        )

    def _runs(self, points: U64Array) -> tuple[IndexArray, IndexArray]:
        """Each point's bucket, and how many buckets resolve to each point index (0..P).

        Buckets ``prefix[i - 1] + 1 .. prefix[i]`` resolve to point ``i``, the first point at or
        after them; those past the last point's bucket resolve to ``P`` (the wrap).
        """
        prefix: IndexArray = (points >> self.shift).astype(np.intp)
        runs: IndexArray = np.diff(prefix, prepend=-1, append=(1 << self.bits) - 1)
        return prefix, runs

    @property
    def point(self) -> npt.NDArray[np.signedinteger[Any]]:
        """Per bucket, the point index every hash in it resolves to, else -1 (built on demand)."""
        if self._point is None:
            # Built on first use only: node_for_many never needs it. Racing readers build equal
            # tables, so an unlocked assignment is harmless.
            prefix, runs = self._runs(self.padded[:-1])
            point = np.repeat(self.index_ext.astype(code_dtype(self.size)), runs)
            point[prefix] = -1
            self._point = point
        return self._point

    def _check(self, points: U64Array, owners: IndexArray, nodes: int | None = None) -> None:
        """Assert that this table is the one ``points`` and ``owners`` (of ``nodes``) build."""
        fresh = BatchTable(points, owners, self.hash_bits, nodes)
        assert fresh.owner.dtype == self.owner.dtype
        assert fresh.bits == self.bits and fresh.steps == self.steps
        assert np.array_equal(fresh.owner, self.owner) and np.array_equal(fresh.first, self.first)
        assert np.array_equal(fresh.padded, self.padded)
        if self._point is not None:
            assert np.array_equal(fresh.point, self._point)
        # The definitions, by brute force: bucket counts and the first point at or after each.
        counts = np.bincount((points >> self.shift).astype(np.intp), minlength=1 << self.bits)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        assert np.array_equal(self.first, first) and self.steps == int(counts.max(initial=0))
        assert np.array_equal(self.owner < 0, counts > 0)
        empty = counts == 0
        assert np.array_equal(self.owner[empty], self.owner_ext[first[empty]])
        point = fresh.point  # not self.point: a check builds no cache
        assert np.array_equal(point[empty], self.index_ext[first[empty]])
        assert bool(np.all(point[~empty] == -1))

    def lookup(
        self,
        source: npt.NDArray[Any],
        *,
        want_owner: bool,
        int_keys_seed: int | None = None,
    ) -> CodeArray:
        """The owner (``want_owner``) or point index of every hash in ``source``.

        The answer has the dtype of the table read: :func:`code_dtype` of the node count for
        owners, of the point count for point indexes.

        With ``int_keys_seed``, ``source`` holds integer keys instead, hashed here as
        ``hash64_many(source, int_keys_seed)`` would, stopping before ``fmix64``'s last step
        wherever the prefix alone decides (:mod:`dskata.ring._fast`).

        Complexity: O(k) for k keys, in blocks of :data:`BLOCK` so that a block's hashes, buckets
        and answers stay in cache.
        """
        total = source.shape[0]
        lut = self.owner if want_owner else self.point
        answer = self.owner_ext if want_owner else self.index_ext
        # The table's own narrow dtype: gathered straight into the answer, no widening pass, and
        # a fresh answer costs the kernel a page fault per 4096 keys rather than per 512.
        out = np.empty(total, dtype=lut.dtype)
        # Per-call scratch: concurrent lookups share only the read-only tables.
        size = min(BLOCK, total)
        tmp = np.empty(size, dtype=np.uint64)
        hashed = None
        if int_keys_seed is not None:
            assert self.hash_bits == 64 and self.bits <= TAIL_SAFE_BITS
            hashed = np.empty(size, dtype=np.uint64)
            xor_key = np.uint64(seed_xor_key(int_keys_seed))
        shift = self.shift
        tail = hashed is not None
        # Keys in buckets that hold a point (about 3% on rings under 2**16 points) are resolved
        # in batches of at least a block: a dozen numpy calls on a few thousand keys cost mostly
        # call overhead. Flushing once a block's worth is pending bounds the extra memory.
        pending_at: list[IndexArray] = []
        pending_h: list[U64Array] = []
        pending = 0
        for start in range(0, total, BLOCK):
            stop = min(start + BLOCK, total)
            m = stop - start
            tb = tmp[:m]
            if hashed is None:
                h = source[start:stop]
            else:
                h = hashed[:m]
                fmix64_head_into(int_key_block(source[start:stop]), xor_key, h, tb)
            np.right_shift(h, shift, out=tb)
            ans = out[start:stop]
            # "clip" writes straight into ``ans`` ("raise" buffers); indexes are < 2**bits anyway.
            np.take(lut, tb.view(np.intp), out=ans, mode="clip")
            todo = np.flatnonzero(ans < 0)
            if todo.size:
                pending_h.append(h[todo])
                todo += start
                pending_at.append(todo)
                pending += todo.size
                if pending >= BLOCK:
                    self._resolve(out, pending_at, pending_h, answer, tail)
                    pending_at, pending_h, pending = [], [], 0
        if pending_at:
            self._resolve(out, pending_at, pending_h, answer, tail)
        return out

    def _resolve(
        self,
        out: CodeArray,
        at_parts: list[IndexArray],
        h_parts: list[U64Array],
        answer: IndexArray,
        tail: bool,
    ) -> None:
        """Answer the keys at ``at_parts`` (hashes ``h_parts``) whose bucket holds a point."""
        shift, points = self.shift, self.padded
        at = np.concatenate(at_parts)
        hh = np.concatenate(h_parts)
        if tail:
            fmix64_tail(hh)
        j = self.first[(hh >> shift).view(np.intp)].astype(np.intp)
        j += points[j] < hh  # enough unless the bucket holds several points
        more = np.flatnonzero(points[j] < hh)
        if more.size:
            j[more] = np.searchsorted(points, hh[more])
        out[at] = answer[j]


class ScalarIndex(Generic[N]):
    """Python lists for one-key lookups: points, owners, and a small direct-mapped prefix index.

    ``names[i]`` is the owner's name of point ``i``, with point 0's owner repeated at the end so
    that a hash past the last point (``bisect`` returns ``P``) wraps around without a branch.
    ``direct[b]`` is the answer for every hash in bucket ``b`` when the bucket holds no point,
    else None; ``bounds[b]:bounds[b + 1]`` is the range of points in bucket ``b``.

    Memory: ``T = 2**bits`` buckets, ``bits = min(18, bit_length(P) + 4)`` (16 to 32 buckets a
    point up to 16,384 points, fewer above): 17 bytes a bucket (the ``direct`` list, the ``bounds``
    array and an occupancy mask), 4.3 MiB at most, plus 8 bytes a bucket for each replica count's
    ``direct`` list. 100 x 160 points: ``2**18`` buckets, 4.3 MiB (+2 MiB per ``n``), built in
    about 15 ms; a ring rebuilds it on the first single lookup after a change.

    Complexity: O(P + T) to build, O(1) per lookup in an empty bucket.

    >>> idx = ScalarIndex(np.array([10, 200], dtype=np.uint64), [0, 1], ["a", "b"], 8)
    >>> [idx.owner(h) for h in (5, 10, 11, 200, 201)]
    ['a', 'a', 'b', 'b', 'a']
    """

    __slots__ = ("_occupied", "bounds", "direct", "names", "olist", "plist", "shift")

    def __init__(self, points: U64Array, olist: list[int], node_names: list[N], hash_bits: int):
        plist: list[int] = points.tolist()
        names = [node_names[o] for o in olist]
        names.append(names[0])
        size = len(plist)
        bits = min(_SCALAR_MAX_BITS, max(1, size.bit_length() + _SCALAR_SLACK), hash_bits)
        shift = hash_bits - bits
        prefix = (points >> np.uint64(shift)).astype(np.intp)
        counts = np.bincount(prefix, minlength=1 << bits)
        bounds = np.zeros((1 << bits) + 1, dtype=np.int64)  # int64: array("q") on any platform
        np.cumsum(counts, out=bounds[1:])
        self.plist = plist
        self.olist = olist
        self.names = names
        self.shift = shift
        # An array, not a list: read only for the few buckets that hold points, and a list of
        # 2**18 ints would hold as many int objects.
        self.bounds = array("q", bounds.tobytes())
        self._occupied = counts > 0
        self.direct: list[N | None] = self._direct(names)

    def _direct(self, answers: list[Any]) -> list[Any]:
        """Per bucket, ``answers[i]`` for the first point ``i`` at or after it, or None where the
        bucket holds a point; gathered by numpy (a Python loop over 2**18 buckets costs ~30 ms).
        """
        table = np.fromiter(answers, dtype=object, count=len(answers))
        direct = table[np.frombuffer(self.bounds, dtype=np.int64)[:-1]]
        direct[self._occupied] = None
        out: list[Any] = direct.tolist()
        return out

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

    def replicas(self, table: CodeArray, node_names: list[N]) -> Replicas[N]:
        """What a one-key replica lookup reads, for a :func:`successor_table` ``table``.

        Complexity: O(P * n + T).
        """
        # Names gathered by numpy, then one tuple per row: ~3x faster than a nested Python loop.
        names = np.fromiter(node_names, dtype=object, count=len(node_names))
        rows: list[tuple[N, ...]] = list(map(tuple, names[table].tolist()))
        rows.append(rows[0])
        return (self._direct(rows), rows, self.plist, self.bounds, self.shift)

    def _check(self, points: U64Array, owners: IndexArray) -> None:
        """Assert that this index describes ``points`` and ``owners``."""
        assert self.plist == points.tolist() and self.olist == owners.tolist()
        assert len(self.names) == len(self.plist) + 1
        sb = self.bounds
        assert sb[0] == 0 and sb[-1] == len(self.plist)
        for j, node in enumerate(self.direct):
            assert (node is None) == (sb[j] != sb[j + 1])
            assert node is None or node is self.names[sb[j]]

    def _check_replicas(self, rep: Replicas[N], table: CodeArray, node_names: list[N]) -> None:
        """Assert that ``rep`` tabulates the successor ``table`` over this index."""
        direct, rows, plist, bounds, shift = rep
        assert plist is self.plist and bounds is self.bounds and shift == self.shift
        assert [list(r) for r in rows[:-1]] == [[node_names[o] for o in t] for t in table.tolist()]
        assert rows[-1] == rows[0]
        assert all(d is None or d == rows[bounds[j]] for j, d in enumerate(direct))


def successor_table(owners: IndexArray, n: int) -> IndexArray:
    """Row ``i``: the first ``n`` distinct owners met walking clockwise from point ``i``.

    ``n`` must not exceed the number of distinct owners.

    Column ``k`` is found for all rows at once: each row steps forward from where it found
    column ``k - 1`` until it meets an owner not yet in its row, skipping a whole run of points
    of one owner per step, and only the rows still stepping take part in the next step.

    Complexity: O(P * n * r) array work, ``r`` the mean number of owner runs stepped over per new
    owner (about 1 when no node holds most of the ring), in O(max runs) rounds.

    >>> successor_table(np.array([0, 0, 1, 2, 1], dtype=np.intp), 2).tolist()
    [[0, 1], [0, 1], [1, 2], [2, 1], [1, 0]]
    """
    size = owners.shape[0]
    out = np.empty((size, n), dtype=np.intp)
    if size == 0:
        return out
    out[:, 0] = owners
    # Two laps: the next new owner of row i is at most one lap (size - 1 steps) ahead of i.
    laps = np.concatenate((owners, owners))
    # skip[j]: the first position after j whose owner differs from laps[j] (the next run).
    runs = np.flatnonzero(laps[1:] != laps[:-1]) + 1
    last = laps.shape[0] - 1
    skip = np.append(runs, last)[np.searchsorted(runs, np.arange(last + 1), side="right")]
    at = np.arange(size, dtype=np.intp)
    for k in range(1, n):
        at += 1
        seen = out[:, :k]
        stepping = np.flatnonzero((seen == laps[at][:, None]).any(axis=1))
        for _ in range(size):  # a row crosses fewer than `size` runs in one lap
            if not stepping.size:
                break
            # Every point of the run at[...] has an owner already in the row: skip the run.
            at[stepping] = skip[at[stepping]]
            same = (seen[stepping] == laps[at[stepping]][:, None]).any(axis=1)
            stepping = stepping[same]
        else:
            raise ValueError(f"n must not exceed the number of distinct owners, got {n}")
        out[:, k] = laps[at]
    return out
