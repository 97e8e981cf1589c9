"""Maglev hashing (Eisenbud et al., NSDI 2016, section 3.4).

Theory of operation
-------------------
Maglev trades a little stability for perfect balance and O(1) lookups. Each node ``i`` has a
permutation of the ``M`` slots of a lookup table (``M`` prime): ``offset = h1(i) mod M``,
``skip = h2(i) mod (M - 1) + 1`` and ``permutation[j] = (offset + j * skip) mod M``, which visits
every slot because ``M`` is prime. Nodes take turns claiming their next preferred slot that is
still free until the table is full (the paper's pseudocode 1), so every node owns ``M / n`` slots
within one. A key belongs to ``table[hash(key) mod M]``.

When a node joins or leaves, the table is refilled; most slots keep their owner but not all
(the paper's "disruption", measured by :meth:`MaglevHash.disruption`), so Maglev does NOT
guarantee minimal movement, unlike a ring, jump or rendezvous hashing. The paper recommends
``M > 100 n`` for balance within 1%.

Here ``h1 = hash64(node, seed)``, ``h2 = hash64(h1, seed)`` (:mod:`dskata.hashing`), and nodes take
turns in the order of ``h1`` rather than insertion, so the table depends only on the node set.

Thread safety: lookups are read-only; mutating while other threads read needs external locking.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import Key, hash64, hash64_many, validate_seed
from dskata.ring._common import (
    CodeArray,
    NodeName,
    check_count,
    check_node_name,
    code_dtype,
    parse_nodes,
)

__all__ = ["MaglevHash"]

#: The paper's table size in its evaluation (a prime).
DEFAULT_TABLE_SIZE: Final = 65537


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    f = 3
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


class MaglevHash:
    """Maglev consistent hashing: a prime-sized lookup table filled by per-node permutations.

    Args:
        nodes: node names (no weights: Maglev balances nodes equally).
        table_size: a prime ``M``; use ``M > 100 * len(nodes)`` for balance within 1%.
        seed: hash seed in ``[0, 2**32)``.

    Raises:
        ValueError: ``table_size`` not prime, or smaller than the number of nodes.

    Complexity: O(M log M) to fill the table, O(1) per lookup.

    >>> m = MaglevHash(["a", "b", "c"], table_size=101)
    >>> sorted(m.slot_counts().values())
    [33, 34, 34]
    """

    def __init__(
        self, nodes: Iterable[NodeName] = (), *, table_size: int = DEFAULT_TABLE_SIZE, seed: int = 0
    ) -> None:
        self._seed = validate_seed(seed)
        size = check_count(table_size, "table_size", 2)
        if not _is_prime(size):
            raise ValueError(f"table_size must be a prime number, got {size}")
        if isinstance(nodes, dict):
            raise TypeError("MaglevHash nodes must be a list of names (Maglev has no weights)")
        pairs = parse_nodes(nodes)
        if len(pairs) > size:
            raise ValueError(
                f"table_size ({size}) must be at least the number of nodes ({len(pairs)})"
            )
        self._size = size
        self._names: list[NodeName] = [n for n, _ in pairs]
        self._index = {n: i for i, n in enumerate(self._names)}
        self._table: CodeArray = np.empty(0, dtype=np.int8)
        self._fill()

    @property
    def nodes(self) -> tuple[NodeName, ...]:
        """Node names in insertion order; batch lookups return indexes into this tuple."""
        return tuple(self._names)

    @property
    def table_size(self) -> int:
        """The prime ``M``."""
        return self._size

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
        return f"MaglevHash(nodes={len(self._names)}, table_size={self._size}, seed={self._seed})"

    def _fill(self) -> None:
        """The paper's population loop: round-robin, each node takes its next free slot."""
        m = self._size
        n = len(self._names)
        table = [-1] * m
        if n:
            h1 = [hash64(name, self._seed) for name in self._names]
            offsets = [h % m for h in h1]
            skips = [hash64(h, self._seed) % (m - 1) + 1 for h in h1]
            order = sorted(range(n), key=lambda i: h1[i])
            nxt = [0] * n
            filled = 0
            while True:
                for i in order:
                    off, skip, j = offsets[i], skips[i], nxt[i]
                    c = (off + j * skip) % m
                    while table[c] >= 0:
                        j += 1
                        c = (off + j * skip) % m
                    table[c] = i
                    nxt[i] = j + 1
                    filled += 1
                    if filled == m:
                        break
                if filled == m:
                    break
        self._table = np.array(table, dtype=code_dtype(len(self._names)))

    def add_node(self, node: NodeName) -> None:
        """Add ``node`` and refill the table (a few slots of other nodes may change hands).

        Raises:
            ValueError: ``node`` is already present, or the table is full of nodes.

        Complexity: O(M log M): the table is refilled.

        >>> m = MaglevHash(["a"], table_size=7); m.add_node("b"); m.nodes
        ('a', 'b')
        """
        name = check_node_name(node)
        if name in self._index:
            raise ValueError(f"node {name!r} is already present")
        if len(self._names) >= self._size:
            raise ValueError(f"table_size ({self._size}) must exceed the number of nodes")
        self._index[name] = len(self._names)
        self._names.append(name)
        self._fill()

    def remove_node(self, node: NodeName) -> None:
        """Remove ``node`` and refill the table.

        Raises:
            KeyError: ``node`` is not present.

        Complexity: O(M log M): the table is refilled.

        >>> m = MaglevHash(["a", "b"], table_size=7); m.remove_node("a"); m.nodes
        ('b',)
        """
        try:
            i = self._index[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not present") from None
        del self._names[i]
        self._index = {n: j for j, n in enumerate(self._names)}
        self._fill()

    def _require_nodes(self) -> None:
        if not self._names:
            raise ValueError("no nodes: add a node before looking keys up")

    def node_for(self, key: Key) -> NodeName:
        """The node of ``key``: ``table[hash64(key) mod M]``.

        Complexity: O(1).

        >>> MaglevHash(["a", "b"], table_size=13).node_for("k") in ("a", "b")
        True
        """
        h = hash64(key, self._seed)
        self._require_nodes()
        return self._names[int(self._table[h % self._size])]

    def node_for_many(self, keys: npt.ArrayLike | Iterable[Key]) -> CodeArray:
        """Owners of many keys as indexes into :attr:`nodes`.

        In the narrowest signed dtype that holds every node index (``int8`` up to 128 nodes), as
        :meth:`HashRing.node_for_many <dskata.ring.HashRing.node_for_many>` returns them.

        Complexity: O(k), vectorised.

        >>> m = MaglevHash(["a", "b"], table_size=13)
        >>> m.nodes[m.node_for_many(["k"])[0]] == m.node_for("k")
        True
        """
        hashes = hash64_many(keys, self._seed)
        self._require_nodes()
        out: CodeArray = self._table[(hashes % np.uint64(self._size)).astype(np.intp)]
        return out

    def slot_counts(self) -> dict[NodeName, int]:
        """Slots of the lookup table owned by each node (they differ by at most one).

        Complexity: O(M).

        >>> MaglevHash(["a", "b"], table_size=7).slot_counts()
        {'a': 3, 'b': 4}
        """
        counts: list[int] = np.bincount(self._table, minlength=len(self._names)).tolist()
        return dict(zip(self._names, counts[: len(self._names)], strict=True))

    def shares(self) -> dict[NodeName, float]:
        """Each node's fraction of the hash space (its slots over ``M``).

        Complexity: O(M).

        >>> sum(MaglevHash(["a", "b"], table_size=7).shares().values())
        1.0
        """
        return {n: c / self._size for n, c in self.slot_counts().items()}

    def disruption(self, other: MaglevHash) -> float:
        """Fraction of table slots whose node (by name) differs in ``other`` (paper, 5.3).

        ``other`` must have the same table size.

        Complexity: O(M).

        >>> a = MaglevHash(["a", "b", "c"], table_size=101)
        >>> b = MaglevHash(["a", "b"], table_size=101)
        >>> round(a.disruption(b), 3)  # exactly the removed node's 33 slots of 101
        0.327
        """
        if not isinstance(other, MaglevHash):
            raise TypeError(f"other must be a MaglevHash, got {type(other).__name__}")
        if other._size != self._size:
            raise ValueError(f"table sizes differ: {self._size} and {other._size}")
        mine = [self._names[i] for i in self._table.tolist()]
        theirs = [other._names[i] for i in other._table.tolist()]
        changed = sum(1 for a, b in zip(mine, theirs, strict=True) if a != b)
        return changed / self._size

    def _check(self) -> None:
        """Assert the invariants (used by tests after every mutation)."""
        n = len(self._names)
        assert self._index == {name: i for i, name in enumerate(self._names)}
        assert self._table.shape == (self._size,)
        if n:
            assert int(self._table.min()) >= 0 and int(self._table.max()) < n
            counts = np.bincount(self._table, minlength=n)
            assert int(counts.max()) - int(counts.min()) <= 1, "Maglev slots unbalanced"
