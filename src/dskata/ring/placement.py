"""Where a hash ring's points go, and in what order they sit (private).

Theory of operation
-------------------
Node ``x`` has base hash ``b = hash64(x, seed)`` and its ``i``-th point is
``hash64((b + i * 0x9E3779B97F4A7C15) mod 2**64, seed)``: a Weyl sequence through the integer
path of :mod:`dskata.hashing` (a MurmurHash3 ``fmix64`` bijection), so all points of a node derive
from its name alone and rings built in any order agree. Statistically the points behave as
independent uniform draws (``docs/ring.md``, "Is the placement sound?").

Equal points. Two points with the same hash are ordered by their node's base hash, then by their
index; a key takes the first of them. Nodes whose base hashes collide are refused by the ring
(their points would coincide everywhere). libketama rings keep generation order instead.

Sorting. A ring of ``P`` points is sorted by a plain ``np.sort`` of each point with its low
``log2 P`` bits replaced by its position: several times faster than a merge sort carrying
indexes, and stable. If two points agree on every other bit the merge sort decides.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from dskata.hashing import hash64_many
from dskata.ring._common import IndexArray, U64Array

__all__ = [
    "GOLDEN",
    "arc_shares",
    "hash64_points",
    "insert_points",
    "order_points",
    "stable_argsort",
]

#: The Weyl step between a node's points: ``2**64`` divided by the golden ratio.
GOLDEN: Final = 0x9E3779B97F4A7C15


def hash64_points(bases: list[int], counts: list[int], seed: int) -> U64Array:
    """Every node's points in one vectorised pass, node after node, in index order.

    Complexity: O(P).

    >>> from dskata.hashing import hash64
    >>> hash64_points([5], [2], 0).tolist() == [hash64(5), hash64(5 + GOLDEN)]
    True
    """
    sizes = np.array(counts, dtype=np.intp)
    total = int(sizes.sum())
    starts = np.zeros(sizes.shape[0], dtype=np.intp)
    np.cumsum(sizes[:-1], out=starts[1:])
    steps = (np.arange(total, dtype=np.intp) - np.repeat(starts, sizes)).astype(np.uint64)
    with np.errstate(over="ignore"):
        steps *= np.uint64(GOLDEN)
        steps += np.repeat(np.array(bases, dtype=np.uint64), sizes)
    return hash64_many(steps, seed)


def stable_argsort(points: U64Array) -> IndexArray:
    """``np.argsort(points, kind="stable")``, several times faster for distinct-ish hashes.

    Complexity: O(P log P).

    >>> stable_argsort(np.array([7, 3, 7, 1], dtype=np.uint64)).tolist()
    [3, 1, 0, 2]
    """
    size = points.shape[0]
    bits = max(1, (size - 1).bit_length())
    if size < 2 or bits > 32:
        return np.argsort(points, kind="stable").astype(np.intp)
    low = np.uint64((1 << bits) - 1)
    packed: U64Array = points & ~low
    packed |= np.arange(size, dtype=np.uint64)
    packed.sort()
    order: IndexArray = (packed & low).astype(np.intp)
    ranked = points[order]
    if bool(np.all(ranked[1:] >= ranked[:-1])):
        return order
    return np.argsort(points, kind="stable").astype(np.intp)


def order_points(
    points: U64Array, owners: IndexArray, bases: list[int] | None
) -> tuple[U64Array, IndexArray]:
    """Sort ``points`` (and their ``owners``) into lookup order.

    Equal points keep generation order (libketama, ``bases`` None) or go by their owner's base
    hash, then index (dskata's rule, ``bases`` given). Points are generated node by node in index
    order, so generation order breaks ties between points of one node.

    Complexity: O(P log P).

    >>> pts = np.array([9, 4, 9], dtype=np.uint64); own = np.array([0, 0, 1], dtype=np.intp)
    >>> [o.tolist() for o in order_points(pts, own, [20, 10])]
    [[4, 9, 9], [0, 1, 0]]
    """
    order = stable_argsort(points)
    points, owners = points[order], owners[order]
    if bases is not None and points.shape[0] > 1 and bool(np.any(points[1:] == points[:-1])):
        rank = np.arange(points.shape[0], dtype=np.intp)  # generation order, after the sort
        owner_bases = np.array(bases, dtype=np.uint64)[owners]
        order = np.lexsort((rank, owner_bases, points)).astype(np.intp)
        points, owners = points[order], owners[order]
    return points, owners


def arc_shares(points: U64Array, owners: IndexArray, n: int, hash_bits: int) -> list[float]:
    """Each owner's fraction of the ``2**hash_bits`` circle: the arcs ending at its points.

    Complexity: O(P).

    >>> arc_shares(np.array([10, 60], dtype=np.uint64), np.array([0, 1], dtype=np.intp), 2, 8)
    [0.8046875, 0.1953125]
    """
    size = points.shape[0]
    if size == 0:
        return [0.0] * n
    arcs = np.empty(size, dtype=np.float64)
    arcs[1:] = (points[1:] - points[:-1]).astype(np.float64)
    # Point 0 owns the wrap-around arc (last point, end of space) plus [0, point 0].
    arcs[0] = float(int(points[0]) + (1 << hash_bits) - int(points[-1]))
    totals: list[float] = (np.bincount(owners, weights=arcs, minlength=n) / 2.0**hash_bits).tolist()
    return totals


def insert_points(
    points: U64Array, owners: IndexArray, new: U64Array, owner: int, bases: list[int]
) -> tuple[U64Array, IndexArray]:
    """Merge the points ``new`` of node ``owner`` into the sorted ``points`` (no full re-sort).

    An exact tie with an existing point falls back to :func:`order_points` and its rule.

    Complexity: O(P + p log p) for p new points.

    >>> pts, own = insert_points(np.array([2, 8], dtype=np.uint64), np.array([0, 0]),
    ...                          np.array([9, 1], dtype=np.uint64), 1, [5, 6])
    >>> pts.tolist(), own.tolist()
    ([1, 2, 8, 9], [1, 0, 0, 1])
    """
    new = np.sort(new)
    pos = np.searchsorted(points, new, side="left")
    size = points.shape[0]
    if size and bool(np.any(points[np.minimum(pos, size - 1)] == new)):
        extra = np.full(new.shape[0], owner, dtype=np.intp)
        return order_points(np.concatenate([points, new]), np.concatenate([owners, extra]), bases)
    return np.insert(points, pos, new), np.insert(owners, pos, owner)
