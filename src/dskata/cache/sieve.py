"""SIEVE eviction (Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is Simpler than LRU", NSDI 2024).

Theory of operation
-------------------
One FIFO queue of entries, each with a *visited* bit, and a *hand*. A hit only sets the bit
(no reordering: lazy promotion, so hits are cheap and scale). New entries enter at the head. To
evict, the hand walks from where it last stopped toward the head, clearing visited bits, and
evicts the first unvisited entry, staying there; past the head it wraps to the tail. Unlike
CLOCK, survivors keep their position, so new entries that are not revisited are removed quickly
(quick demotion) while popular ones settle behind the hand (SIEVE §3).

The queue is kept as two ``OrderedDict`` runs, ``behind`` (tail up to the hand) and ``ahead``
(the hand up to the head), oldest first, so the whole queue is ``behind + ahead``. The hand is
the first key of ``ahead``: a visited entry there moves to the end of ``behind`` (its place in the
queue does not change, the hand moves past it), an unvisited one is evicted, and as soon as
``ahead`` is empty the hand wraps: ``behind`` becomes ``ahead``. Every step is O(1) in C, with no
Python linked list to walk or to pickle.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["SIEVECache"]

K = TypeVar("K")
V = TypeVar("V")


class SIEVECache(PolicyCache[K, V]):
    """A cache evicting by SIEVE: a FIFO queue, visited bits and a moving hand.

    Args:
        maxsize: capacity, an int >= 0.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) per hit and insertion; eviction amortised O(1) (each step of the hand
    clears a bit that a hit had to set).

    Thread safety: none.

    >>> c = SIEVECache(2)
    >>> c["a"] = 1; c["b"] = 2; c["a"]
    1
    >>> c["c"] = 3              # the hand spares visited "a" and evicts "b"
    >>> sorted(c)
    ['a', 'c']
    """

    _name = "sieve"

    def __init__(self, maxsize: int, **kwargs: object) -> None:
        super().__init__(maxsize, **kwargs)  # type: ignore[arg-type]
        self._behind: OrderedDict[K, None] = OrderedDict()
        self._ahead: OrderedDict[K, None] = OrderedDict()
        self._visited: set[K] = set()

    def _on_hit(self, key: K) -> None:
        self._visited.add(key)

    def _on_insert(self, key: K) -> None:
        self._ahead[key] = None  # the head of the queue is the end of ``ahead``

    def _on_remove(self, key: K) -> None:
        self._visited.discard(key)
        if key in self._ahead:
            del self._ahead[key]
            self._wrap()
        else:
            del self._behind[key]

    def _wrap(self) -> None:
        # The hand moved past the head: it restarts at the tail, even if entries are inserted
        # before the next eviction (SIEVE's "hand = o.prev or tail").
        if not self._ahead:
            self._ahead, self._behind = self._behind, self._ahead

    def _victim(self) -> K:
        visited = self._visited
        while True:
            self._wrap()
            ahead = self._ahead
            key = next(iter(ahead))
            del ahead[key]
            if key in visited:
                visited.discard(key)
                self._behind[key] = None
            else:
                self._wrap()
                return key

    def _on_clear(self) -> None:
        self._behind.clear()
        self._ahead.clear()
        self._visited.clear()

    def _access(self, key: K) -> bool:
        if key in self._data:
            self._visited.add(key)
            return True
        return super()._access(key)

    def _policy_check(self) -> None:
        assert not (self._behind.keys() & self._ahead.keys()), "a key is on both sides of the hand"
        assert (self._behind.keys() | self._ahead.keys()) == self._data.keys()
        assert len(self._behind) + len(self._ahead) == len(self._data)
        assert self._visited <= self._data.keys(), "visited bit of an absent key"
