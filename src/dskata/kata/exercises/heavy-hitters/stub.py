"""Kata `heavy-hitters`: the most frequent keys of a stream in k counters (SpaceSaving).

Fill in each method; run `dskata kata check heavy-hitters` after each step.
Read the instructions (`dskata kata start heavy-hitters` printed where) first.
"""

from __future__ import annotations

import heapq  # noqa: F401  (one way to find the minimum count quickly)


class TopK:
    """At most k monitored keys, each with a count (upper bound) and an error."""

    def __init__(self, k: int) -> None:
        """Step 1. k >= 1 (ValueError otherwise); start with nothing monitored."""
        raise NotImplementedError("step 1: set up the k counters")

    @property
    def k(self) -> int:
        """Step 1. The number of counters."""
        raise NotImplementedError("step 1: k")

    @property
    def total(self) -> int:
        """Step 1. N: the sum of every count added."""
        raise NotImplementedError("step 1: total")

    @property
    def min_count(self) -> int:
        """Step 2. The most an unmonitored key can have occurred: the smallest count once all k
        counters are in use, 0 before."""
        raise NotImplementedError("step 2: min_count")

    def __len__(self) -> int:
        """Step 1. The number of monitored keys."""
        raise NotImplementedError("step 1: len")

    def __contains__(self, key: object) -> bool:
        """Step 1. True if key is monitored."""
        raise NotImplementedError("step 1: membership")

    def add(self, key: object, count: int = 1) -> None:
        """Step 1. A monitored key's count grows by count. Otherwise take a free counter, or
        replace the key with the minimum count m: the newcomer gets count m + count and
        error m. A negative count raises ValueError and changes nothing."""
        raise NotImplementedError("step 1: SpaceSaving's update")

    def top(self, n: int | None = None) -> list[tuple[object, int, int]]:
        """Step 1. (key, count, error) for the n (default all) largest counts, largest first.
        count is the upper bound of the key's true count, count - error the lower bound."""
        raise NotImplementedError("step 1: the top keys")

    def bounds(self, key: object) -> tuple[int, int]:
        """Step 1. (lower, upper) for key: from its counter if monitored, else (0, min_count)."""
        raise NotImplementedError("step 1: bounds of one key")

    def merge(self, other: TopK) -> None:
        """Step 4. Merge other (same k, else ValueError) into this summary: for every key of
        either, add its counts, using the other summary's min_count where it is absent (the same
        for errors); then keep the k largest."""
        raise NotImplementedError("step 4: merge two summaries")
