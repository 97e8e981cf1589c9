"""W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission
Policy", ACM TOS 2017), the policy behind Caffeine.

Theory of operation
-------------------
LRU admits every new key, so a burst of one-time keys flushes the popular ones. TinyLFU puts an
*admission filter* in front of the main cache: a newcomer only replaces the main cache's victim
if it has been requested more often, recently. Frequencies come from a count-min sketch (here
dskata's own :class:`dskata.sketch.CountMinSketch`, 4 rows of ``4 * maxsize`` 8-bit
counters) that every request increments; after
``sample_size`` (10x the capacity) increments all counters are halved, so the sketch forgets
old popularity (the *reset* of §3.3) and tracks a sliding frequency with a few bytes per key.

W-TinyLFU adds a small LRU *window* (1% of the capacity) in front of the filter so that bursts
of new keys get a chance to accumulate hits (§5), and splits the main cache as a segmented LRU:
*probation* (20%) for newly admitted or demoted keys and *protected* (80%) for keys hit while
on probation. The duel at each eviction is between the newest probation entry (the candidate
that just left the window) and the least recently used one: the less frequent leaves.

Keys reach the sketch as themselves when they are ``str``, ``bytes`` or ``int`` (the types
:mod:`dskata.hashing` hashes) and as their Python ``hash()`` otherwise. ``hash()`` differs
between processes for strings inside tuples and the like, but the sketch only ranks keys within
one process's lifetime and is never persisted, so that is harmless here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from dskata.cache._base import PolicyCache
from dskata.sketch import CountMinSketch

__all__ = ["WTinyLFUCache"]

K = TypeVar("K")
V = TypeVar("V")

_DIRECT_TYPES = frozenset({str, bytes, int})


def _sketch_key(key: Hashable) -> Any:
    return key if type(key) in _DIRECT_TYPES else hash(key)


class WTinyLFUCache(PolicyCache[K, V]):
    """A cache with a window LRU, a TinyLFU admission filter and a segmented-LRU main cache.

    Args:
        maxsize: capacity, an int >= 0.
        window_ratio: the window's share of the capacity, in (0, 1) (paper: 0.01).
        protected_ratio: the protected segment's share of the main cache, in (0, 1) (0.8).
        sample_size: sketch increments between halvings; default ``10 * maxsize``.
        seed: seed of the sketch's hash.
        getsizeof: optional ``getsizeof(value)``.
        on_evict: optional ``on_evict(key, value)``.

    Complexity: O(1) per operation plus one sketch update (O(depth)); O(width) every
    ``sample_size`` requests to age the sketch.

    Thread safety: none.

    >>> from dskata.cache.lru import LRUCache
    >>> w, lru = WTinyLFUCache(100), LRUCache(100)
    >>> for c in (w, lru):
    ...     for _ in range(3):
    ...         for k in range(50): _ = c.setdefault(k, k)
    ...     for k in range(1000, 1200): c[k] = k     # a scan of one-time keys
    >>> sum(k in w for k in range(50)), sum(k in lru for k in range(50))
    (50, 0)
    """

    _name = "wtinylfu"

    def __init__(
        self,
        maxsize: int,
        *,
        window_ratio: float = 0.01,
        protected_ratio: float = 0.8,
        sample_size: int | None = None,
        seed: int = 0,
        getsizeof: Callable[[V], float] | None = None,
        on_evict: Callable[[K, V], object] | None = None,
    ) -> None:
        for name, ratio in (("window_ratio", window_ratio), ("protected_ratio", protected_ratio)):
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
                raise TypeError(f"{name} must be a float in (0, 1), got {ratio!r}")
            if not 0 < ratio < 1:
                raise ValueError(f"{name} must be in (0, 1), got {ratio!r}")
        if sample_size is not None and (
            isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1
        ):
            raise ValueError(f"sample_size must be an int >= 1 or None, got {sample_size!r}")
        super().__init__(maxsize, getsizeof=getsizeof, on_evict=on_evict)
        self._window_ratio = float(window_ratio)
        self._protected_ratio = float(protected_ratio)
        self._fixed_sample = sample_size
        # 4 rows of 4 x capacity 8-bit saturating counters (16 bytes per entry). Caffeine uses
        # capacity-many 4-bit counters; the wider table cuts the collisions that a flood of
        # one-time keys (a scan) causes within one sample period, which sharpens the duels.
        self._sketch = CountMinSketch(max(64, 4 * maxsize), 4, seed=seed, dtype=np.uint8)
        self._window: OrderedDict[K, None] = OrderedDict()
        self._probation: OrderedDict[K, None] = OrderedDict()
        self._protected: OrderedDict[K, None] = OrderedDict()
        self._window_size: float = 0
        self._protected_size: float = 0
        self._samples = 0
        self._last_miss: object = None
        # Lower bounds of frequencies estimated since the last halving (see _victim).
        self._floor: dict[Any, int] = {}
        self._resized()

    def _resized(self) -> None:
        m = self._maxsize
        self._window_cap = max(1.0, self._window_ratio * m) if m else 0.0
        self._protected_cap = self._protected_ratio * (m - self._window_cap)
        self._sample_size = self._fixed_sample or max(10 * m, 16)
        if self._samples >= self._sample_size:  # shrunk below the increments counted so far
            self._age()
            self._samples = min(self._samples, self._sample_size - 1)
        self._shrink_window()  # a smaller capacity means smaller shares
        self._shrink_protected()

    def frequency(self, key: K) -> int:
        """The sketch's estimate of how often ``key`` was requested recently."""
        return self._sketch.estimate(_sketch_key(key))

    def _record(self, key: K) -> None:
        self._sketch.add(_sketch_key(key))
        self._samples += 1
        if self._samples >= self._sample_size:
            self._age()

    def _age(self) -> None:
        self._sketch.halve()
        self._floor.clear()  # estimates may drop now: the bounds no longer hold
        self._samples //= 2

    def _on_hit(self, key: K) -> None:
        self._record(key)
        if key in self._window:
            self._window.move_to_end(key)
        elif key in self._probation:
            del self._probation[key]
            self._protected[key] = None
            self._protected_size += self._size(key)
            self._shrink_protected()
        else:
            self._protected.move_to_end(key)

    def _on_update(self, key: K) -> None:
        self._on_hit(key)
        # A value that grew in place may push its segment past its share (sized caches only).
        self._shrink_window()
        self._shrink_protected()

    def _on_resize(self, key: K, delta: float) -> None:
        if key in self._window:
            self._window_size += delta
        elif key in self._protected:
            self._protected_size += delta

    def _shrink_window(self) -> None:
        while self._window_size > self._window_cap and len(self._window) > 1:
            moved, _ = self._window.popitem(last=False)
            self._window_size -= self._size(moved)
            self._probation[moved] = None  # the newest probation entry: the next candidate

    def _shrink_protected(self) -> None:
        while self._protected_size > self._protected_cap and len(self._protected) > 1:
            demoted, _ = self._protected.popitem(last=False)
            self._protected_size -= self._size(demoted)
            self._probation[demoted] = None

    def _remembered(self) -> list[object]:
        # The last missed key may not be cached; the copy must see the same object (``is``).
        return [] if self._last_miss is None else [self._last_miss]

    def _on_miss(self, key: K) -> None:
        self._record(key)
        self._last_miss = key

    def _on_insert(self, key: K) -> None:
        if self._last_miss is not key:  # a plain put is a request too, counted once
            self._record(key)
        self._last_miss = None
        self._window[key] = None
        self._window_size += self._size(key)
        self._shrink_window()

    def _on_remove(self, key: K) -> None:
        if key in self._window:
            del self._window[key]
            self._window_size -= self._size(key)
        elif key in self._probation:
            del self._probation[key]
        else:
            del self._protected[key]
            self._protected_size -= self._size(key)

    def _victim(self) -> K:
        probation = self._probation
        if len(probation) >= 2:
            candidate = next(reversed(probation))
            victim = next(iter(probation))
            # TinyLFU's admission duel: the more frequent stays (ties favour the incumbent).
            # Between halvings counters only grow, so an estimate of the victim made earlier in
            # this period is a lower bound of its estimate now: a candidate no more frequent
            # than that bound loses without a second sketch query (the same decision, exactly).
            # The victim usually survives many duels, so this halves the sketch queries.
            cand_freq = self.frequency(candidate)
            floor = self._floor
            floor[_sketch_key(candidate)] = cand_freq
            victim_key = _sketch_key(victim)
            bound = floor.get(victim_key)
            if bound is None or cand_freq > bound:
                bound = floor[victim_key] = self.frequency(victim)
            loser = candidate if cand_freq <= bound else victim
            del probation[loser]
            return loser
        if probation:
            return probation.popitem(last=False)[0]
        if self._protected:
            key, _ = self._protected.popitem(last=False)
            self._protected_size -= self._size(key)
            return key
        key, _ = self._window.popitem(last=False)
        self._window_size -= self._size(key)
        return key

    def _on_clear(self) -> None:
        self._window.clear()
        self._probation.clear()
        self._protected.clear()
        self._window_size = self._protected_size = 0
        self._sketch.clear()
        self._floor.clear()
        self._samples = 0

    def _access(self, key: K) -> bool:
        if key in self._data:
            self._on_hit(key)
            return True
        self._record(key)
        self._last_miss = key
        self._insert_new(key, None, 1)  # type: ignore[arg-type]
        return False

    def _policy_check(self) -> None:
        w, pb, pt = self._window.keys(), self._probation.keys(), self._protected.keys()
        assert not (w & pb) and not (w & pt) and not (pb & pt), "a key is in two segments"
        assert (w | pb | pt) == self._data.keys(), "segments and entries disagree"
        ws = sum(self._size(k) for k in w)
        ps = sum(self._size(k) for k in pt)
        assert abs(ws - self._window_size) <= 1e-9 * max(1.0, ws), "window size drifted"
        assert abs(ps - self._protected_size) <= 1e-9 * max(1.0, ps), "protected size drifted"
        assert len(w) <= 1 or ws <= self._window_cap + 1e-9, "window over its share"
        assert 0 <= self._samples < self._sample_size
        for key, bound in self._floor.items():
            assert self._sketch.estimate(key) >= bound, f"frequency of {key!r} fell below {bound}"
