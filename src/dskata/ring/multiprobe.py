"""Multi-probe consistent hashing (Appleton & O'Reilly, 2015).

Theory of operation
-------------------
Instead of many virtual points per node, each node has ONE point on the 64-bit circle, and each
key is hashed ``k`` times. For every probe the distance to the next node point clockwise is
measured; the key belongs to the node at the smallest distance over all probes. With ``k = 21``
the peak-to-mean load is about 1.05 (paper, section 4) using O(n) memory instead of O(n * v),
at the price of ``k`` binary searches per lookup.

Adding a node can only shorten some probes' distances, to the new node's point, so keys move only
to the new node; removing a node only moves its keys. Probes are
:func:`dskata.hashing.row_hashes` (``k`` independent 64-bit hashes). A key whose smallest
distance is shared by two probes takes the earlier probe.

Thread safety: lookups are read-only; mutating while other threads read needs external locking.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import MASK64, Key, hash64, row_hashes, row_hashes_many, validate_seed
from dskata.ring._common import (
    CodeArray,
    NodeName,
    check_count,
    check_node_name,
    code_dtype,
    parse_nodes,
)

__all__ = ["MultiProbeHash"]

# Keys per block in batch lookups, so a block's (keys x probes) arrays stay a few MiB.
_BLOCK: Final = 16384


class MultiProbeHash:
    """Multi-probe consistent hashing: one point per node, ``probes`` hashes per key.

    Args:
        nodes: node names.
        probes: hashes per key (the paper's ``k``; 21 gives peak-to-mean about 1.05).
        seed: hash seed in ``[0, 2**32)``.

    Complexity: O(probes * log n) per lookup.

    >>> mp = MultiProbeHash(["a", "b", "c"])
    >>> mp.node_for("user:42") in mp.nodes
    True
    """

    def __init__(self, nodes: Iterable[NodeName] = (), *, probes: int = 21, seed: int = 0) -> None:
        self._seed = validate_seed(seed)
        self._probes = check_count(probes, "probes", 1, 1024)
        if isinstance(nodes, dict):
            raise TypeError("MultiProbeHash nodes must be a list of names (no weights)")
        pairs = parse_nodes(nodes)
        self._names: list[NodeName] = []
        self._index: dict[NodeName, int] = {}
        self._hashes: list[int] = []
        for name, _ in pairs:
            self._insert(name)
        self._sort()

    def _insert(self, name: NodeName) -> None:
        h = hash64(name, self._seed)
        if h in self._hashes:
            other = self._names[self._hashes.index(h)]
            raise ValueError(f"node {name!r} hashes like node {other!r}; rename one of them")
        self._index[name] = len(self._names)
        self._names.append(name)
        self._hashes.append(h)

    def _sort(self) -> None:
        order = sorted(range(len(self._names)), key=self._hashes.__getitem__)
        self._plist = [self._hashes[i] for i in order]
        self._olist = order
        self._points = np.array(self._plist, dtype=np.uint64)
        self._owners = np.array(order, dtype=np.intp)

    @property
    def nodes(self) -> tuple[NodeName, ...]:
        """Node names in insertion order; batch lookups return indexes into this tuple."""
        return tuple(self._names)

    @property
    def probes(self) -> int:
        """Hashes per key."""
        return self._probes

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
        return f"MultiProbeHash(nodes={len(self._names)}, probes={self._probes}, seed={self._seed})"

    def add_node(self, node: NodeName) -> None:
        """Add ``node`` (one point); only keys that now belong to it move.

        Raises:
            ValueError: ``node`` is already present.

        Complexity: O(n log n).

        >>> mp = MultiProbeHash(["a"]); mp.add_node("b"); mp.nodes
        ('a', 'b')
        """
        name = check_node_name(node)
        if name in self._index:
            raise ValueError(f"node {name!r} is already present")
        self._insert(name)
        self._sort()

    def remove_node(self, node: NodeName) -> None:
        """Remove ``node``; only its keys move.

        Raises:
            KeyError: ``node`` is not present.

        Complexity: O(n log n).

        >>> mp = MultiProbeHash(["a", "b"]); mp.remove_node("a"); mp.nodes
        ('b',)
        """
        try:
            i = self._index[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not present") from None
        del self._names[i], self._hashes[i]
        self._index = {n: j for j, n in enumerate(self._names)}
        self._sort()

    def _require_nodes(self) -> None:
        if not self._names:
            raise ValueError("no nodes: add a node before looking keys up")

    def node_for(self, key: Key) -> NodeName:
        """The node at the smallest clockwise distance from any of the key's probes.

        Complexity: O(probes * log n).

        >>> MultiProbeHash(["a", "b"]).node_for("k") in ("a", "b")
        True
        """
        probes = row_hashes(key, self._probes, self._seed)
        self._require_nodes()
        plist, size = self._plist, len(self._plist)
        best_d, best_i = MASK64 + 1, 0
        for h in probes:
            i = bisect.bisect_left(plist, h)
            if i == size:
                i = 0
            d = (plist[i] - h) & MASK64
            if d < best_d:
                best_d, best_i = d, i
        return self._names[self._olist[best_i]]

    def node_for_many(self, keys: npt.ArrayLike | Iterable[Key]) -> CodeArray:
        """Owners of many keys as indexes into :attr:`nodes`.

        In the narrowest signed dtype that holds every node index (``int8`` up to 128 nodes), as
        :meth:`HashRing.node_for_many <dskata.ring.HashRing.node_for_many>` returns them.

        Complexity: O(k * probes * log n), vectorised.

        >>> mp = MultiProbeHash(["a", "b", "c"])
        >>> [mp.nodes[i] for i in mp.node_for_many(["x", "y"])] == [mp.node_for(k) for k in "xy"]
        True
        """
        probes = row_hashes_many(keys, self._probes, self._seed)
        self._require_nodes()
        size = self._points.shape[0]
        out = np.empty(probes.shape[0], dtype=code_dtype(len(self._names)))
        for start in range(0, probes.shape[0], _BLOCK):
            h = np.ascontiguousarray(probes[start : start + _BLOCK])
            idx = np.searchsorted(self._points, h, side="left")
            idx[idx == size] = 0
            with np.errstate(over="ignore"):
                dist = self._points[idx] - h  # uint64 arithmetic wraps: clockwise distance
            best = np.argmin(dist, axis=1)
            out[start : start + _BLOCK] = self._owners[idx[np.arange(idx.shape[0]), best]]
        return out

    def _check(self) -> None:
        """Assert the invariants (used by tests after every mutation)."""
        n = len(self._names)
        assert self._index == {name: i for i, name in enumerate(self._names)}
        assert len(self._hashes) == n == len(set(self._hashes))
        assert self._plist == sorted(self._hashes)
        assert [self._hashes[o] for o in self._olist] == self._plist
