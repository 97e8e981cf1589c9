"""Belady's optimal replacement (OPT / MIN), offline: the upper bound for every policy.

Theory of operation
-------------------
Knowing the future, the best entry to evict is the one whose next request is furthest away
(Belady 1966; Mattson et al. 1970 proved optimality for unit sizes). A pass from the end of the
trace gives each request the index of the next request of the same key; the cache is then
replayed with a max-heap on those next-use indexes (stale heap records are skipped). The version
here may also *bypass*: a missed key whose next use is further than every cached key's is not
admitted, which is optimal for caches that may decline to store a key (as W-TinyLFU does), so it
bounds admission policies too.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence

__all__ = ["belady_hits", "next_uses"]


def next_uses(trace: Sequence[Hashable]) -> list[int]:
    """For each request, the index of the next request of the same key (``len(trace)`` if none).

    Complexity: O(n).

    >>> next_uses(["a", "b", "a", "c", "b"])
    [2, 4, 5, 5, 5]
    """
    n = len(trace)
    out = [n] * n
    last: dict[Hashable, int] = {}
    for i in range(n - 1, -1, -1):
        key = trace[i]
        out[i] = last.get(key, n)
        last[key] = i
    return out


def belady_hits(trace: Sequence[Hashable], size: int) -> int:
    """The number of hits of the optimal (clairvoyant, bypassing) cache of ``size`` entries.

    Complexity: O(n log size).

    >>> belady_hits(["a", "b", "c", "a", "b", "c"], 2)
    2
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be an int >= 0, got {size!r}")
    nxt = next_uses(trace)
    n = len(trace)
    cached: dict[Hashable, int] = {}  # key -> its next use
    heap: list[tuple[int, int]] = []  # (-next use, request index of the record)
    hits = 0
    for i, key in enumerate(trace):
        nu = nxt[i]
        if key in cached:
            hits += 1
        elif size == 0:
            continue
        elif len(cached) >= size:
            while True:  # drop stale records: a key's live record carries its current next use
                neg, j = heap[0]
                k = trace[j]
                if cached.get(k) == -neg:
                    break
                heapq.heappop(heap)
            if -heap[0][0] <= nu:
                continue  # bypass: every cached key is needed sooner than this one
            heapq.heappop(heap)
            del cached[trace[j]]
        if nu == n:
            cached.pop(key, None)  # never requested again: holding it is useless
            continue
        cached[key] = nu
        heapq.heappush(heap, (-nu, i))
    return hits
