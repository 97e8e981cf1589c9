"""S3-FIFO kata: three FIFO queues that beat LRU on scan-polluted workloads.

Run `dskata kata check s3fifo-cache` after each step. Read instructions.md first.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any


class S3FIFOCache:
    """S3-FIFO (Yang et al., SOSP 2023): small queue S, main queue M, ghost queue G."""

    def __init__(self, maxsize: int) -> None:
        """An empty cache of ``maxsize`` entries; S's share is ``0.1 * maxsize``."""
        raise NotImplementedError("step 1: create the small and main queues and the counters")

    def __setitem__(self, key: Hashable, value: Any) -> None:
        """Store ``value``: new keys enter S (or M if G remembers them); evict if full."""
        raise NotImplementedError("step 1: insert into S, evicting as the rules say")

    def __getitem__(self, key: Hashable) -> Any:
        """Return the value and count a hit (counter + 1, at most 3), or raise KeyError."""
        raise NotImplementedError("step 1: a hit increments the key's counter, nothing moves")

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Like ``cache[key]`` but return ``default`` on a miss."""
        raise NotImplementedError("step 1: like __getitem__ with a default")

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is cached (G's keys are not cached)."""
        raise NotImplementedError("step 1: membership")

    def __len__(self) -> int:
        """The number of cached entries (in S and M)."""
        raise NotImplementedError("step 1: count S and M")

    def small_keys(self) -> list[Hashable]:
        """Keys in S, oldest first."""
        raise NotImplementedError("step 1: expose S for the tests")

    def main_keys(self) -> list[Hashable]:
        """Keys in M, oldest first."""
        raise NotImplementedError("step 1: expose M for the tests")

    def ghost_keys(self) -> list[Hashable]:
        """Keys remembered by G, oldest first."""
        raise NotImplementedError("step 2: the ghost queue")
