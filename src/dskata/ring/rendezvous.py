"""Rendezvous (highest random weight) hashing, weighted (Thaler & Ravishankar 1998).

Theory of operation
-------------------
Every (key, node) pair gets a pseudo-random score; a key belongs to the node with the highest
score, and its replica list is the nodes in decreasing score order. Adding a node only takes the
keys for which the new node scores highest; removing one only moves the keys it owned (each to
its second choice). No ring, no virtual nodes: balance is that of a uniform hash, at O(n) cost
per lookup, which is the right trade for tens of nodes, not thousands.

Scores. ``s = hash64(hash64(key, seed) ^ hash64(node, seed), seed)`` through the integer path of
:mod:`dskata.hashing`; ``u = (s >> 11 + 0.5) / 2**53`` lies strictly inside ``(0, 1)``, and the
score is ``weight / -ln(u)`` (Schindelhauer and Schomaker's logarithmic method), which makes a
node's expected share exactly ``weight / sum(weights)``. When all weights are equal that order is
the order of ``s >> 11`` itself, so the logarithm is skipped. Scalar and batch lookups compute the
scores with the same numpy kernels, so they agree bit for bit. Equal scores (probability about
``2**-53`` per pair) go to the node added first.

Thread safety: lookups are read-only; mutating while other threads read needs external locking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import Key, hash64, hash64_many, validate_seed
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

__all__ = ["RendezvousHash"]

_SCALE: Final = 2.0**-53
# Keys per block in batch lookups: a block's (keys x nodes) score matrix stays near 4 MiB.
_CELLS_PER_BLOCK: Final = 1 << 19


class RendezvousHash:
    """Highest-random-weight hashing over named, optionally weighted, nodes.

    Args:
        nodes: node names, or a mapping name -> weight (finite, > 0).
        seed: hash seed in ``[0, 2**32)``.

    Complexity: O(n) per lookup for n nodes.

    >>> hrw = RendezvousHash(["a", "b", "c"])
    >>> hrw.node_for("user:42") == hrw.nodes_for("user:42", 3)[0]
    True
    """

    def __init__(
        self, nodes: Iterable[NodeName] | Mapping[NodeName, float] = (), *, seed: int = 0
    ) -> None:
        self._seed = validate_seed(seed)
        pairs = parse_nodes(nodes)
        self._names: list[NodeName] = [n for n, _ in pairs]
        self._index = {n: i for i, n in enumerate(self._names)}
        self._weights = np.array([w for _, w in pairs], dtype=np.float64)
        self._bases = np.array([hash64(n, self._seed) for n in self._names], dtype=np.uint64)
        self._uniform = True
        self._refresh()

    def _refresh(self) -> None:
        # Equal weights allow the integer fast path (see _scores).
        w = self._weights
        self._uniform = bool(w.size == 0 or np.all(w == w[0]))

    @property
    def nodes(self) -> tuple[NodeName, ...]:
        """Node names in insertion order; batch lookups return indexes into this tuple."""
        return tuple(self._names)

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
        return f"RendezvousHash(nodes={len(self._names)}, seed={self._seed})"

    def weights(self) -> dict[NodeName, float]:
        """Each node's weight.

        Complexity: O(n).

        >>> RendezvousHash({"a": 2}).weights()
        {'a': 2.0}
        """
        return dict(zip(self._names, self._weights.tolist(), strict=True))

    def shares(self) -> dict[NodeName, float]:
        """Each node's expected fraction of the keys: its weight over the total.

        Complexity: O(n).

        >>> RendezvousHash({"a": 3, "b": 1}).shares()
        {'a': 0.75, 'b': 0.25}
        """
        total = float(self._weights.sum())
        return {n: float(w) / total for n, w in zip(self._names, self._weights, strict=True)}

    def add_node(self, node: NodeName, weight: float = 1.0) -> None:
        """Add ``node``; only keys for which it now scores highest move (to it).

        Raises:
            ValueError: ``node`` is already present, or ``weight`` is not finite and > 0.

        Complexity: O(n).

        >>> h = RendezvousHash(["a"]); h.add_node("b", 2.0); h.weights()
        {'a': 1.0, 'b': 2.0}
        """
        name = check_node_name(node)
        w = check_weight(weight, name)
        if name in self._index:
            raise ValueError(f"node {name!r} is already present")
        self._index[name] = len(self._names)
        self._names.append(name)
        self._weights = np.append(self._weights, w)
        self._bases = np.append(self._bases, np.uint64(hash64(name, self._seed)))
        self._refresh()

    def remove_node(self, node: NodeName) -> None:
        """Remove ``node``; only its keys move (each to its next choice).

        Raises:
            KeyError: ``node`` is not present.

        Complexity: O(n).

        >>> h = RendezvousHash(["a", "b"]); h.remove_node("a"); h.nodes
        ('b',)
        """
        try:
            i = self._index[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not present") from None
        del self._names[i]
        self._index = {n: j for j, n in enumerate(self._names)}
        self._weights = np.delete(self._weights, i)
        self._bases = np.delete(self._bases, i)
        self._refresh()

    def _require_nodes(self) -> None:
        if not self._names:
            raise ValueError("no nodes: add a node before looking keys up")

    def _scores(self, key_hashes: U64Array) -> npt.NDArray[Any]:
        """``(k, n)`` scores of every (key, node) pair; higher wins.

        With equal weights ``w / -ln(u)`` orders nodes exactly as ``u`` does, that is as
        ``s >> 11``: the integer is returned and the logarithm skipped.
        """
        mixed = (key_hashes[:, None] ^ self._bases[None, :]).ravel()
        s = hash64_many(mixed, self._seed)
        s >>= np.uint64(11)
        if self._uniform:
            return s.reshape(key_hashes.shape[0], -1)
        u = s.astype(np.float64)
        u += 0.5
        u *= _SCALE
        np.log(u, out=u)
        np.negative(u, out=u)
        scores = u.reshape(key_hashes.shape[0], -1)
        out: npt.NDArray[np.float64] = self._weights[None, :] / scores
        return out

    @staticmethod
    def _descending(scores: npt.NDArray[Any]) -> IndexArray:
        """Column order by decreasing score, ties to the lower index (stable)."""
        key = ~scores if scores.dtype == np.uint64 else -scores
        out: IndexArray = np.argsort(key, axis=-1, kind="stable")
        return out

    def node_for(self, key: Key) -> NodeName:
        """The node with the highest score for ``key``.

        Raises:
            ValueError: there are no nodes.

        Complexity: O(n) for n nodes.

        >>> RendezvousHash(["a", "b"]).node_for("k") in ("a", "b")
        True
        """
        h = hash64(key, self._seed)
        self._require_nodes()
        scores = self._scores(np.array([h], dtype=np.uint64))
        return self._names[int(np.argmax(scores[0]))]

    def nodes_for(self, key: Key, n: int) -> list[NodeName]:
        """The ``n`` nodes with the highest scores for ``key``, best first (distinct replicas).

        Raises:
            ValueError: ``n`` not in ``[1, len(nodes)]``, or no nodes.

        Complexity: O(n_nodes log n_nodes).

        >>> h = RendezvousHash(["a", "b", "c"])
        >>> h.nodes_for("k", 2) == h.nodes_for("k", 3)[:2]
        True
        """
        h = hash64(key, self._seed)
        self._require_nodes()
        n = check_count(n, "n", 1, len(self._names))
        scores = self._scores(np.array([h], dtype=np.uint64))[0]
        order = self._descending(scores)[:n]
        return [self._names[i] for i in order.tolist()]

    def _blocks(self, keys: npt.ArrayLike | Iterable[Key]) -> tuple[U64Array, int]:
        hashes = hash64_many(keys, self._seed)
        self._require_nodes()
        return hashes, max(1, _CELLS_PER_BLOCK // len(self._names))

    def node_for_many(self, keys: npt.ArrayLike | Iterable[Key]) -> CodeArray:
        """Owners of many keys as indexes into :attr:`nodes`.

        In the narrowest signed dtype that holds every node index (``int8`` up to 128 nodes), as
        :meth:`HashRing.node_for_many <dskata.ring.HashRing.node_for_many>` returns them.

        Complexity: O(k * n), vectorised.

        >>> h = RendezvousHash(["a", "b", "c"])
        >>> [h.nodes[i] for i in h.node_for_many(["x", "y"])] == [h.node_for("x"), h.node_for("y")]
        True
        """
        hashes, block = self._blocks(keys)
        out = np.empty(hashes.shape[0], dtype=code_dtype(len(self._names)))
        for start in range(0, hashes.shape[0], block):
            out[start : start + block] = np.argmax(
                self._scores(hashes[start : start + block]), axis=1
            )
        return out

    def nodes_for_many(self, keys: npt.ArrayLike | Iterable[Key], n: int) -> CodeArray:
        """Replica sets of many keys: a ``(k, n)`` array of indexes into :attr:`nodes`.

        Complexity: O(k * n_nodes log n_nodes), vectorised.

        >>> h = RendezvousHash(["a", "b", "c"])
        >>> [h.nodes[i] for i in h.nodes_for_many(["x"], 2)[0]] == h.nodes_for("x", 2)
        True
        """
        hashes, block = self._blocks(keys)
        n = check_count(n, "n", 1, len(self._names))
        out = np.empty((hashes.shape[0], n), dtype=code_dtype(len(self._names)))
        for start in range(0, hashes.shape[0], block):
            scores = self._scores(hashes[start : start + block])
            out[start : start + block] = self._descending(scores)[:, :n]
        return out

    def _check(self) -> None:
        """Assert the invariants (used by tests after every mutation)."""
        k = len(self._names)
        assert self._index == {n: i for i, n in enumerate(self._names)}
        assert self._weights.shape == (k,) and self._bases.shape == (k,)
        assert all(w > 0 and math.isfinite(w) for w in self._weights.tolist())
        assert self._bases.tolist() == [hash64(n, self._seed) for n in self._names]
        assert self._uniform == bool(k == 0 or np.all(self._weights == self._weights[0]))
