"""Kata `count-min-sketch`: count a stream's keys in width * depth counters.

Fill in each method; run `dskata kata check count-min-sketch` after each step.
Read the instructions (`dskata kata start count-min-sketch` printed where) first.
"""

from __future__ import annotations

import math  # noqa: F401  (from_error needs math.e, math.ceil, math.log)

from dskata.hashing import row_hashes  # noqa: F401  (row_hashes(key, d, seed): d independent hashes)


class CountMinSketch:
    """depth rows of width counters; row r hashes a key with its own independent hash."""

    def __init__(self, width: int, depth: int, *, seed: int = 0, conservative: bool = False) -> None:
        """Step 1. Keep width, depth, seed and conservative; allocate depth rows of width zeros.
        Step 2: refuse width < 1 or depth < 1 with ValueError naming the parameter."""
        raise NotImplementedError("step 1: allocate the rows of counters")

    @classmethod
    def from_error(cls, epsilon: float, delta: float) -> CountMinSketch:
        """Step 2. width = ceil(e / epsilon), depth = ceil(ln(1 / delta)); both epsilon and delta
        must lie strictly between 0 and 1 (ValueError naming the one that does not)."""
        raise NotImplementedError("step 2: size the sketch from (epsilon, delta)")

    @property
    def width(self) -> int:
        """Step 1. Counters per row."""
        raise NotImplementedError("step 1: width")

    @property
    def depth(self) -> int:
        """Step 1. Number of rows."""
        raise NotImplementedError("step 1: depth")

    @property
    def total(self) -> int:
        """Step 1. N: the sum of every count added."""
        raise NotImplementedError("step 1: total")

    def add(self, key: object, count: int = 1) -> None:
        """Step 1. Add count to the key's counter in every row (column = row hash % width).
        Step 2: a negative count raises ValueError and changes nothing.
        Step 5: with conservative=True, raise each of the key's counters only to
        max(counter, min over the key's counters + count)."""
        raise NotImplementedError("step 1: add a key")

    def estimate(self, key: object) -> int:
        """Step 1. The minimum over rows of the key's counters."""
        raise NotImplementedError("step 1: estimate a key")

    def merge(self, other: CountMinSketch) -> None:
        """Step 6. Add other's counters and total into this sketch; ValueError (and no change)
        if width, depth or seed differ."""
        raise NotImplementedError("step 6: merge two sketches")
