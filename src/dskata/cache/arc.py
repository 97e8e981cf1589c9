"""ARC, the Adaptive Replacement Cache (Megiddo and Modha, FAST 2003).

Theory of operation
-------------------
ARC splits the cache between recency and frequency and learns the split online. ``T1`` holds keys
seen once recently, ``T2`` keys seen at least twice; both are LRU lists. Two *ghost* lists
``B1``/``B2`` remember keys recently evicted from ``T1``/``T2`` (keys only). A miss that finds its
key in ``B1`` means "``T1`` was too small": the target size ``p`` of ``T1`` grows; a ``B2`` ghost
hit shrinks it. Eviction (``REPLACE``) takes ``T1``'s LRU key when ``T1`` exceeds ``p``, otherwise
``T2``'s, and files it in the matching ghost list. ``|T1| + |B1| <= c`` and the four lists hold at
most ``2c`` keys (paper, Fig. 4, cases I-IV). A scan only touches ``T1``, so ARC resists scans
that flush LRU. Entries have unit size (ARC's adaptation is defined for pages).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from dskata.cache._base import PolicyCache

__all__ = ["ARCCache"]

K = TypeVar("K")
V = TypeVar("V")


class ARCCache(PolicyCache[K, V]):
    """A cache evicting by ARC: recency and frequency lists with ghost-driven adaptation.

    Args:
        maxsize: capacity in entries, an int >= 0 (``getsizeof`` is not supported).
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) per operation.

    Thread safety: none.

    >>> c = ARCCache(2)
    >>> c["a"] = 1; c["b"] = 2; c["a"]      # "a" moves to the frequency list T2
    1
    >>> c["c"] = 3                            # T1's LRU key "b" is evicted (to ghost B1)
    >>> sorted(c)
    ['a', 'c']
    """

    _name = "arc"
    _sized_ok = False

    def __init__(self, maxsize: int, *, on_evict: Callable[[K, V], object] | None = None) -> None:
        super().__init__(maxsize, on_evict=on_evict)
        self._t1: OrderedDict[K, None] = OrderedDict()
        self._t2: OrderedDict[K, None] = OrderedDict()
        self._b1: OrderedDict[K, None] = OrderedDict()
        self._b2: OrderedDict[K, None] = OrderedDict()
        self._p = 0.0
        self._incoming_in_b2 = False
        self._to_t2 = False
        self._no_ghost = False

    @property
    def p(self) -> float:
        """The current target size of the recency list ``T1``."""
        return self._p

    def _on_hit(self, key: K) -> None:
        # Case I: a hit in T1 or T2 moves the key to T2's MRU end.
        if key in self._t1:
            del self._t1[key]
            self._t2[key] = None
        else:
            self._t2.move_to_end(key)

    def _on_admit(self, key: K) -> None:
        c = self._maxsize
        b1, b2 = self._b1, self._b2
        self._incoming_in_b2 = False
        self._to_t2 = False
        self._no_ghost = False
        if key in b1:  # Case II: T1 was too small
            self._p = min(float(c), self._p + max(len(b2) / len(b1), 1.0))
            del b1[key]
            self._to_t2 = True
        elif key in b2:  # Case III: T2 was too small
            self._p = max(0.0, self._p - max(len(b1) / len(b2), 1.0))
            del b2[key]
            self._to_t2 = True
            self._incoming_in_b2 = True
        else:  # Case IV: a brand-new key
            t1, t2 = self._t1, self._t2
            if len(t1) + len(b1) >= c:
                if len(t1) < c:
                    if b1:
                        b1.popitem(last=False)
                else:  # T1 fills the cache and B1 is empty: evict T1's LRU, no ghost
                    self._no_ghost = True
            elif len(t1) + len(t2) + len(b1) + len(b2) >= 2 * c and b2:
                b2.popitem(last=False)

    def _on_insert(self, key: K) -> None:
        (self._t2 if self._to_t2 else self._t1)[key] = None
        self._to_t2 = False
        self._incoming_in_b2 = False
        self._no_ghost = False

    def _on_remove(self, key: K) -> None:
        if key in self._t1:
            del self._t1[key]
        else:
            del self._t2[key]

    def _remembered(self) -> list[object]:
        return [*self._b1, *self._b2]

    def _victim(self) -> K:
        # REPLACE(x, p)
        t1 = self._t1
        if t1 and (
            len(t1) > self._p or (self._incoming_in_b2 and len(t1) == self._p) or not self._t2
        ):
            key, _ = t1.popitem(last=False)
            ghost = self._b1
        else:
            key, _ = self._t2.popitem(last=False)
            ghost = self._b2
        if self._no_ghost:
            self._no_ghost = False
            return key
        ghost[key] = None
        self._trim_ghosts()
        return key

    def _trim_ghosts(self) -> None:
        c = self._maxsize
        while len(self._t1) + len(self._b1) > c and self._b1:
            self._b1.popitem(last=False)
        while len(self._t1) + len(self._t2) + len(self._b1) + len(self._b2) > 2 * c and self._b2:
            self._b2.popitem(last=False)

    def _resized(self) -> None:
        self._p = min(self._p, float(self._maxsize))
        self._trim_ghosts()

    def _on_clear(self) -> None:
        for lst in (self._t1, self._t2, self._b1, self._b2):
            lst.clear()
        self._p = 0.0

    def _policy_check(self) -> None:
        t1, t2, b1, b2 = (x.keys() for x in (self._t1, self._t2, self._b1, self._b2))
        assert not (t1 & t2), "a key is in both T1 and T2"
        assert (t1 | t2) == self._data.keys(), "T1 + T2 differ from the entries"
        assert not ((b1 | b2) & self._data.keys()), "a cached key is also a ghost"
        assert not (b1 & b2), "a key is in both ghost lists"
        c = self._maxsize
        assert 0 <= self._p <= max(c, 0), f"p = {self._p} outside [0, {c}]"
        assert len(t1) + len(b1) <= max(c, 1), "|T1| + |B1| > c"
        assert len(t1) + len(t2) + len(b1) + len(b2) <= 2 * max(c, 1), "directory > 2c"
