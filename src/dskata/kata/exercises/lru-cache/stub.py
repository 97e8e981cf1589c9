"""LRU cache kata: build an O(1) least-recently-used mapping, then a memoising decorator.

Run `dskata kata check lru-cache` after each step. Read instructions.md first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class LRUCache:
    """A mapping of at most ``maxsize`` entries that evicts the least recently used one."""

    def __init__(self, maxsize: int) -> None:
        """Create an empty cache; ``maxsize`` must be an int >= 0 (TypeError / ValueError)."""
        raise NotImplementedError("step 1: store maxsize and create the storage")

    def __setitem__(self, key: Hashable, value: Any) -> None:
        """Store ``value``; the key becomes the most recently used; evict if over maxsize."""
        raise NotImplementedError("step 1: store the value (step 2: evict the LRU key)")

    def __getitem__(self, key: Hashable) -> Any:
        """Return the value (the key becomes the most recently used) or raise KeyError."""
        raise NotImplementedError("step 1: return the stored value or raise KeyError")

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Like ``cache[key]`` but return ``default`` on a miss."""
        raise NotImplementedError("step 1: return the value or the default")

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is cached; does NOT change the recency order."""
        raise NotImplementedError("step 1: membership without refreshing")

    def __len__(self) -> int:
        """The number of cached entries."""
        raise NotImplementedError("step 1: count the entries")


def lru_cache(maxsize: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: memoise a function in an LRUCache of ``maxsize`` entries.

    The wrapper has ``cache_info()`` returning ``(hits, misses, maxsize, currsize)``.
    """
    raise NotImplementedError("step 5: build the decorator on top of your LRUCache")
