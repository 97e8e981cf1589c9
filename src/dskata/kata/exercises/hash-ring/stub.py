"""Kata `hash-ring`: a consistent hash ring with virtual nodes, weights, distinct replicas and
minimal movement when nodes join or leave.

Fill in each method; run `dskata kata check hash-ring` after each step.
Read the instructions first. Hash with dskata.hashing (your hashing kata): `hash64(key, seed)`
gives a 64-bit position for any str, bytes or int.
"""

from __future__ import annotations

import bisect  # noqa: F401  (bisect.bisect_left finds the first point >= a hash in O(log P))
import math  # noqa: F401  (math.isfinite, for weights)
from collections.abc import Iterable, Mapping
from typing import Any

from dskata.hashing import hash64  # noqa: F401


class HashRing:
    """Nodes placed at many points ("virtual nodes") on a circle of 64-bit hashes; a key belongs
    to the node of the first point at or after its own hash, wrapping around past the top."""

    def __init__(
        self,
        nodes: Iterable[Any] | Mapping[Any, float] = (),
        *,
        vnodes: int = 160,
        seed: int = 0,
    ) -> None:
        """Step 1: keep the nodes and put their points on the ring (one point per node is enough
        for step 1). Step 2: `vnodes` points per node; ValueError for vnodes < 1. Step 3: `nodes`
        may map names to weights (ValueError for weights <= 0, NaN or infinite). Step 5:
        ValueError for a duplicate node."""
        raise NotImplementedError("step 1: store the nodes and place their points on the ring")

    @property
    def nodes(self) -> tuple[Any, ...]:
        """Step 1. The node names, in the order they were added."""
        raise NotImplementedError("step 1: the node names")

    def key_hash(self, key: Any) -> int:
        """Step 1. The key's position on the ring, an int in [0, 2**64)."""
        raise NotImplementedError("step 1: hash the key to a 64-bit position")

    def points(self) -> list[tuple[int, Any]]:
        """Step 1. Every (position, node) pair on the ring, sorted by position."""
        raise NotImplementedError("step 1: the sorted (position, node) pairs")

    def node_for(self, key: Any) -> Any:
        """Step 1. The node of the first point whose position is >= key_hash(key), wrapping to
        the first point past the end; ValueError on an empty ring."""
        raise NotImplementedError("step 1: find the first point at or after the key's hash")

    def nodes_for(self, key: Any, n: int) -> list[Any]:
        """Step 4. The first n DISTINCT nodes met walking clockwise from the key's point;
        ValueError unless 1 <= n <= number of nodes."""
        raise NotImplementedError("step 4: walk clockwise collecting distinct nodes")

    def add_node(self, node: Any, weight: float = 1.0) -> None:
        """Step 5. Add a node's points without moving anyone else's; ValueError if present or
        if the weight is not finite and > 0 (step 3)."""
        raise NotImplementedError("step 5: add the node's points only")

    def remove_node(self, node: Any) -> None:
        """Step 5. Remove the node's points only; KeyError if it is not on the ring."""
        raise NotImplementedError("step 5: remove the node's points only")
