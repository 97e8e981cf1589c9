"""Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, SODA 2018).

Theory of operation
-------------------
A plain ring lets a node's load drift well above the mean (about ``1 + 2.5 / sqrt(v)`` for the
busiest of 100 nodes with ``v`` virtual nodes). The bounded-loads rule caps every node at
``c = ceil((1 + epsilon) * m / n)`` for ``m`` keys over ``n`` nodes: a key walks clockwise from its
hash, over distinct nodes, and lands on the first one whose load is below ``c`` (paper, section
2). The cap holds for the whole life of the assigner:

* **arrival**: the new key's walk ends at a node with room (``n * c >= (1 + eps) * m > m - 1``);
* **departure**: ``m`` shrinks, so ``c`` may drop by one; every node now above it hands its most
  recently placed key onward along that key's own walk;
* **join**: keys whose walk now meets the new node before their current node move to it while it
  has room (this includes every key whose home is the new node); then nodes above the lower
  cap shed keys as on a departure;
* **leave**: the leaving node's keys continue along their walks.

So a key is always on the first node of its walk that had room when it was placed, and the
expected number of keys moved on a join or leave stays close to the plain ring's ``m / n``
(paper, theorem 1 bounds it by O(m / (eps^2 n)) for small eps; measure it with
``dskata ring stats --scheme bounded``).

Thread safety: none; an assigner is a mutable table, lock it externally if shared.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator
from fractions import Fraction

from dskata.hashing import Key, hash64
from dskata.ring._common import NodeName, check_node_name, parse_nodes
from dskata.ring.hashring import HashRing

__all__ = ["BoundedLoadAssigner"]


def _capacity(epsilon: float, eps_exact: Fraction, m: int, n: int) -> int:
    """``ceil((1 + eps) * m / n)``, never above the float formula nor below ``ceil(m / n)``."""
    if n == 0:
        return 0
    x = (1.0 + epsilon) * m / n
    as_float = math.ceil(x)
    if abs(x - round(x)) > 1e-9 * max(1.0, x):
        return max(-(-m // n), as_float)  # far from an integer: float and exact ceilings agree
    exact = math.ceil((1 + eps_exact) * m / n)
    return max(-(-m // n), min(as_float, exact))


class BoundedLoadAssigner:
    """Assign keys to nodes on a ring, never loading a node above ``ceil((1 + eps) * mean)``.

    Args:
        nodes: node names.
        epsilon: allowed overload over the mean, a finite number > 0 (0.25 by default).
        vnodes: points per node of the underlying :class:`~dskata.ring.HashRing`.
        seed: hash seed in ``[0, 2**32)``.

    Complexity: O(log P) per assignment when the key's home has room; O(walk) otherwise.

    >>> b = BoundedLoadAssigner(["a", "b", "c"], epsilon=0.5)
    >>> node = b.assign("user:1")
    >>> b.loads()[node]
    1
    """

    def __init__(
        self,
        nodes: Iterable[NodeName] = (),
        *,
        epsilon: float = 0.25,
        vnodes: int = 100,
        seed: int = 0,
    ) -> None:
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
            raise TypeError(f"epsilon must be a number > 0, got {type(epsilon).__name__}")
        if not math.isfinite(epsilon) or epsilon <= 0:
            raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
        if isinstance(nodes, dict):
            raise TypeError("BoundedLoadAssigner nodes must be a list of names (no weights)")
        names = [n for n, _ in parse_nodes(nodes)]
        self._ring = HashRing(names, vnodes=vnodes, seed=seed)
        self._epsilon = float(epsilon)
        self._eps_exact = Fraction(repr(float(epsilon)))
        self._where: dict[Hashable, NodeName] = {}
        self._members: dict[NodeName, dict[Hashable, None]] = {n: {} for n in names}

    # -------------------------------------------------------------- introspection

    @property
    def nodes(self) -> tuple[NodeName, ...]:
        """Node names in insertion order."""
        return self._ring.nodes

    @property
    def epsilon(self) -> float:
        """The allowed overload."""
        return self._epsilon

    @property
    def ring(self) -> HashRing:
        """A copy of the underlying ring (the walk order of every key)."""
        return self._ring.copy()

    def capacity(self, keys: int | None = None) -> int:
        """``ceil((1 + eps) * m / n)`` for ``m = keys`` (default: the keys assigned now).

        Complexity: O(1).

        >>> BoundedLoadAssigner(["a", "b"], epsilon=0.5).capacity(10)
        8
        """
        m = len(self._where) if keys is None else keys
        return _capacity(self._epsilon, self._eps_exact, m, len(self._ring))

    def loads(self) -> dict[NodeName, int]:
        """Keys assigned to each node.

        Complexity: O(n).

        >>> BoundedLoadAssigner(["a", "b"]).loads()
        {'a': 0, 'b': 0}
        """
        return {n: len(ks) for n, ks in self._members.items()}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._where
        except TypeError:
            return False

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._where))

    def get(self, key: Key) -> NodeName | None:
        """The node ``key`` is assigned to, or None.

        Complexity: O(1).

        >>> b = BoundedLoadAssigner(["a"]); b.get("k") is None
        True
        """
        return self._where.get(key)  # type: ignore[arg-type]

    def copy(self) -> BoundedLoadAssigner:
        """An independent copy (same ring, same assignment).

        Complexity: O(m + P) for m keys and P ring points.

        >>> b = BoundedLoadAssigner(["a", "b"]); _ = b.assign(1); c = b.copy(); _ = c.release(1)
        >>> len(b), len(c)
        (1, 0)
        """
        out = BoundedLoadAssigner.__new__(BoundedLoadAssigner)
        out._ring = self._ring.copy()
        out._epsilon, out._eps_exact = self._epsilon, self._eps_exact
        out._where = dict(self._where)
        out._members = {n: dict(m) for n, m in self._members.items()}
        return out

    def __repr__(self) -> str:
        return (
            f"BoundedLoadAssigner(nodes={len(self._ring)}, keys={len(self._where)}, "
            f"epsilon={self._epsilon})"
        )

    # -------------------------------------------------------------- placement

    def _place(self, key: Hashable, cap: int, h: int | None = None) -> NodeName:
        """Put ``key`` on the first node of its walk with fewer than ``cap`` keys."""
        ring = self._ring
        if h is None:
            h = hash64(key, ring.seed)  # type: ignore[arg-type]
        names = ring.nodes
        home = names[ring._owner_of_hash(h)]
        members = self._members[home]
        if len(members) < cap:  # the common case: no walk needed
            members[key] = None
            self._where[key] = home
            return home
        for i in ring._walk(h):
            node = names[i]
            members = self._members[node]
            if len(members) < cap:
                members[key] = None
                self._where[key] = node
                return node
        raise AssertionError("no node below capacity: the capacity formula is broken")

    def _shed(self, cap: int) -> None:
        """Move keys off every node above ``cap``, newest first, along their own walks."""
        for members in self._members.values():
            while len(members) > cap:
                key = next(reversed(members))
                del members[key]
                self._place(key, cap)

    def assign(self, key: Key) -> NodeName:
        """Place ``key`` (or return where it already is).

        Raises:
            TypeError: ``key`` is not a str, bytes or int.
            ValueError: there are no nodes.

        Complexity: O(log P) plus the walk past full nodes.

        >>> b = BoundedLoadAssigner(["a", "b"])
        >>> b.assign("k") == b.assign("k")
        True
        """
        if isinstance(key, (bytearray, memoryview)):
            raise TypeError(f"keys must be hashable (str, bytes, int), got {type(key).__name__}")
        h = hash64(key, self._ring.seed)  # validates the key type before any change
        where = self._where.get(key)
        if where is not None:
            return where
        if not self._members:
            raise ValueError("no nodes: add a node before assigning keys")
        cap = _capacity(self._epsilon, self._eps_exact, len(self._where) + 1, len(self._members))
        return self._place(key, cap, h)

    def release(self, key: Key) -> NodeName:
        """Remove ``key``; returns the node it was on. Other keys move only to keep the cap.

        Raises:
            KeyError: ``key`` is not assigned.

        Complexity: O(1) unless the cap drops, then O(n + keys shed * walk).

        >>> b = BoundedLoadAssigner(["a", "b"]); n = b.assign("k"); b.release("k") == n
        True
        """
        try:
            node = self._where.pop(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            raise KeyError(f"key {key!r} is not assigned") from None
        del self._members[node][key]  # type: ignore[arg-type]
        self._shed(self.capacity())
        return node

    def add_node(self, node: NodeName) -> list[tuple[Hashable, NodeName, NodeName]]:
        """Add ``node``; returns the moves ``(key, from, to)`` it caused.

        Raises:
            ValueError: ``node`` is already present.

        Complexity: O(m) for m assigned keys.


        >>> b = BoundedLoadAssigner(["a"]); _ = b.assign(1); moves = b.add_node("b"); len(b)
        1
        """
        name = check_node_name(node)
        if name in self._members:
            raise ValueError(f"node {name!r} is already present")
        before = dict(self._where)
        self._ring.add_node(name)
        self._members[name] = {}
        cap = self.capacity()
        names = self._ring.nodes
        new_members = self._members[name]
        for key, current in before.items():
            if len(new_members) >= cap:
                break
            for i in self._ring._walk(hash64(key, self._ring.seed)):  # type: ignore[arg-type]
                if names[i] == current:
                    break
                if names[i] == name:
                    del self._members[current][key]
                    new_members[key] = None
                    self._where[key] = name
                    break
        self._shed(cap)
        return [(k, n, self._where[k]) for k, n in before.items() if self._where[k] != n]

    def remove_node(self, node: NodeName) -> list[tuple[Hashable, NodeName, NodeName]]:
        """Remove ``node``; its keys continue along their walks. Returns the moves.

        Raises:
            KeyError: ``node`` is not present.
            ValueError: it is the last node and keys are still assigned.

        Complexity: O(keys of the node * walk + P).

        >>> b = BoundedLoadAssigner(["a", "b"]); _ = b.assign(1); _ = b.remove_node("a"); b.nodes
        ('b',)
        """
        try:
            members = self._members[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not present") from None
        if len(self._ring) == 1 and members:
            raise ValueError(f"cannot remove the last node {node!r} while keys are assigned")
        self._ring.remove_node(node)
        del self._members[node]
        cap = self.capacity()
        moves = []
        for key in members:
            del self._where[key]
        for key in members:
            moves.append((key, node, self._place(key, cap)))
        return moves

    def _check(self) -> None:
        """Assert the invariants (used by tests after every mutation)."""
        self._ring._check()
        assert set(self._members) == set(self._ring.nodes)
        total = 0
        for node, members in self._members.items():
            total += len(members)
            for key in members:
                assert self._where[key] == node
        assert total == len(self._where)
        cap = self.capacity()
        assert all(len(m) <= cap for m in self._members.values()), "a node is above the cap"
