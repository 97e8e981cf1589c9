"""Straightforward reference implementations of the eviction policies, for tests.

Each model is written for obviousness, not speed: plain lists scanned linearly, the paper's
pseudocode transcribed step by step. ``access(key) -> bool`` is a read that inserts on a miss;
``set``/``get``/``delete``/``popitem`` mirror the mapping API with unit sizes.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from dskata.sketch import CountMinSketch


class Model:
    """Common mapping behaviour over ``self.values``; subclasses define the order."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.values: dict[Hashable, Any] = {}

    # policy hooks
    def hit(self, key: Hashable) -> None:
        pass

    def miss(self, key: Hashable) -> None:
        pass

    def update(self, key: Hashable) -> None:
        self.hit(key)

    def admit(self, key: Hashable) -> None:
        pass

    def insert(self, key: Hashable) -> None:
        raise NotImplementedError

    def remove(self, key: Hashable) -> None:
        raise NotImplementedError

    def victim(self) -> Hashable:
        raise NotImplementedError

    # mapping API
    def get(self, key: Hashable) -> Any:
        if key in self.values:
            self.hit(key)
            return self.values[key]
        self.miss(key)
        return None

    def set(self, key: Hashable, value: Any) -> None:
        if key in self.values:
            self.values[key] = value
            self.update(key)
            return
        if self.maxsize == 0:
            raise ValueError("too large")
        self.admit(key)
        while len(self.values) >= self.maxsize:
            del self.values[self.victim()]
        self.values[key] = value
        self.insert(key)

    def delete(self, key: Hashable) -> None:
        self.remove(key)
        del self.values[key]

    def popitem(self) -> tuple[Hashable, Any]:
        key = self.victim()
        return key, self.values.pop(key)

    def access(self, key: Hashable) -> bool:
        if key in self.values:
            self.hit(key)
            return True
        self.miss(key)
        self.set(key, None)
        return False


class LRUModel(Model):
    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.order: list[Hashable] = []  # least recent first

    def hit(self, key: Hashable) -> None:
        self.order.remove(key)
        self.order.append(key)

    def insert(self, key: Hashable) -> None:
        self.order.append(key)

    def remove(self, key: Hashable) -> None:
        self.order.remove(key)

    def victim(self) -> Hashable:
        return self.order.pop(0)


class FIFOModel(LRUModel):
    """Insertion order; an overwrite is a re-insertion (cachetools' FIFOCache)."""

    def hit(self, key: Hashable) -> None:
        pass

    def update(self, key: Hashable) -> None:
        LRUModel.hit(self, key)


class LFUModel(Model):
    """Evict the smallest use count; among ties the one used longest ago."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.count: dict[Hashable, int] = {}
        self.last: dict[Hashable, int] = {}
        self.clock = 0

    def _touch(self, key: Hashable) -> None:
        self.clock += 1
        self.last[key] = self.clock

    def hit(self, key: Hashable) -> None:
        self.count[key] += 1
        self._touch(key)

    def insert(self, key: Hashable) -> None:
        self.count[key] = 1
        self._touch(key)

    def remove(self, key: Hashable) -> None:
        del self.count[key], self.last[key]

    def victim(self) -> Hashable:
        key = min(self.count, key=lambda k: (self.count[k], self.last[k]))
        self.remove(key)
        return key


class SIEVEModel(Model):
    """SIEVE as in the NSDI'24 paper's Figure: a list from tail (index 0) to head, and a hand."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.queue: list[Hashable] = []  # index 0 is the tail (oldest)
        self.visited: dict[Hashable, bool] = {}
        self.hand: Hashable | None = None  # None means "start from the tail"

    def hit(self, key: Hashable) -> None:
        self.visited[key] = True

    def insert(self, key: Hashable) -> None:
        self.queue.append(key)
        self.visited[key] = False

    def _next_toward_head(self, key: Hashable) -> Hashable | None:
        i = self.queue.index(key)
        return self.queue[i + 1] if i + 1 < len(self.queue) else None

    def remove(self, key: Hashable) -> None:
        if self.hand == key:
            self.hand = self._next_toward_head(key)
        self.queue.remove(key)
        del self.visited[key]

    def victim(self) -> Hashable:
        obj = self.hand if self.hand is not None else self.queue[0]
        while self.visited[obj]:
            self.visited[obj] = False
            nxt = self._next_toward_head(obj)
            obj = nxt if nxt is not None else self.queue[0]
        self.hand = self._next_toward_head(obj)
        self.queue.remove(obj)
        del self.visited[obj]
        return obj


class S3FIFOModel(Model):
    """S3-FIFO (SOSP'23 Algorithm 1) with lists; S is 10% of the capacity."""

    def __init__(self, maxsize: int, small_ratio: float = 0.1, threshold: int = 1) -> None:
        super().__init__(maxsize)
        self.small: list[Hashable] = []  # oldest first
        self.main: list[Hashable] = []
        self.ghost: list[Hashable] = []
        self.freq: dict[Hashable, int] = {}
        self.small_target = small_ratio * maxsize
        self.ghost_max = max(1, maxsize - int(self.small_target))
        self.threshold = threshold
        self.to_main = False

    def hit(self, key: Hashable) -> None:
        self.freq[key] = min(self.freq[key] + 1, 3)

    def admit(self, key: Hashable) -> None:
        self.to_main = key in self.ghost
        if self.to_main:
            self.ghost.remove(key)

    def insert(self, key: Hashable) -> None:
        self.freq[key] = 0
        (self.main if self.to_main else self.small).append(key)

    def remove(self, key: Hashable) -> None:
        del self.freq[key]
        (self.small if key in self.small else self.main).remove(key)

    def victim(self) -> Hashable:
        while True:
            if self.small and (len(self.small) >= self.small_target or not self.main):
                key = self.small.pop(0)
                if self.freq[key] >= self.threshold:
                    self.freq[key] = 0
                    self.main.append(key)
                    continue
                del self.freq[key]
                self.ghost.append(key)
                if len(self.ghost) > self.ghost_max:
                    self.ghost.pop(0)
                return key
            key = self.main.pop(0)
            if self.freq[key] > 0:
                self.freq[key] -= 1
                self.main.append(key)
                continue
            del self.freq[key]
            return key


class ARCModel(Model):
    """ARC (FAST'03, Fig. 4) with lists; LRU end at index 0."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.t1: list[Hashable] = []
        self.t2: list[Hashable] = []
        self.b1: list[Hashable] = []
        self.b2: list[Hashable] = []
        self.p = 0.0
        self.in_b2 = False
        self.to_t2 = False
        self.no_ghost = False

    def hit(self, key: Hashable) -> None:
        (self.t1 if key in self.t1 else self.t2).remove(key)
        self.t2.append(key)

    def admit(self, key: Hashable) -> None:
        c = self.maxsize
        self.in_b2 = self.to_t2 = self.no_ghost = False
        if key in self.b1:
            self.p = min(float(c), self.p + max(len(self.b2) / len(self.b1), 1.0))
            self.b1.remove(key)
            self.to_t2 = True
        elif key in self.b2:
            self.p = max(0.0, self.p - max(len(self.b1) / len(self.b2), 1.0))
            self.b2.remove(key)
            self.to_t2 = self.in_b2 = True
        elif len(self.t1) + len(self.b1) >= c:
            if len(self.t1) < c:
                if self.b1:
                    self.b1.pop(0)
            else:
                self.no_ghost = True
        elif len(self.t1) + len(self.t2) + len(self.b1) + len(self.b2) >= 2 * c and self.b2:
            self.b2.pop(0)

    def insert(self, key: Hashable) -> None:
        (self.t2 if self.to_t2 else self.t1).append(key)
        self.in_b2 = self.to_t2 = self.no_ghost = False

    def remove(self, key: Hashable) -> None:
        (self.t1 if key in self.t1 else self.t2).remove(key)

    def victim(self) -> Hashable:
        t1 = self.t1
        if t1 and (len(t1) > self.p or (self.in_b2 and len(t1) == self.p) or not self.t2):
            key, ghost = t1.pop(0), self.b1
        else:
            key, ghost = self.t2.pop(0), self.b2
        if self.no_ghost:
            self.no_ghost = False
            return key
        ghost.append(key)
        c = self.maxsize
        while len(self.t1) + len(self.b1) > c and self.b1:
            self.b1.pop(0)
        while len(self.t1) + len(self.t2) + len(self.b1) + len(self.b2) > 2 * c and self.b2:
            self.b2.pop(0)
        return key


class WTinyLFUModel(Model):
    """W-TinyLFU with lists and the same sketch type (so frequencies agree exactly)."""

    def __init__(self, maxsize: int, window_ratio: float = 0.01, protected: float = 0.8) -> None:
        super().__init__(maxsize)
        import numpy as np

        self.sketch = CountMinSketch(max(64, 4 * maxsize), 4, seed=0, dtype=np.uint8)
        self.samples = 0
        self.sample_size = max(10 * maxsize, 16)
        self.window_cap = max(1.0, window_ratio * maxsize) if maxsize else 0.0
        self.protected_cap = protected * (maxsize - self.window_cap)
        self.window: list[Hashable] = []
        self.probation: list[Hashable] = []
        self.protected: list[Hashable] = []
        self.last_miss: object = None

    def record(self, key: Hashable) -> None:
        self.sketch.add(key if type(key) in (str, bytes, int) else hash(key))
        self.samples += 1
        if self.samples >= self.sample_size:
            self.sketch.halve()
            self.samples //= 2

    def freq(self, key: Hashable) -> int:
        return self.sketch.estimate(key if type(key) in (str, bytes, int) else hash(key))

    def hit(self, key: Hashable) -> None:
        self.record(key)
        if key in self.window:
            self.window.remove(key)
            self.window.append(key)
        elif key in self.probation:
            self.probation.remove(key)
            self.protected.append(key)
            while len(self.protected) > self.protected_cap and len(self.protected) > 1:
                self.probation.append(self.protected.pop(0))
        else:
            self.protected.remove(key)
            self.protected.append(key)

    def miss(self, key: Hashable) -> None:
        self.record(key)
        self.last_miss = key

    def insert(self, key: Hashable) -> None:
        if self.last_miss is not key:
            self.record(key)
        self.last_miss = None
        self.window.append(key)
        while len(self.window) > self.window_cap and len(self.window) > 1:
            self.probation.append(self.window.pop(0))

    def remove(self, key: Hashable) -> None:
        for seg in (self.window, self.probation, self.protected):
            if key in seg:
                seg.remove(key)
                return

    def victim(self) -> Hashable:
        if len(self.probation) >= 2:
            cand, vic = self.probation[-1], self.probation[0]
            loser = cand if self.freq(cand) <= self.freq(vic) else vic
            self.probation.remove(loser)
            return loser
        for seg in (self.probation, self.protected, self.window):
            if seg:
                return seg.pop(0)
        raise KeyError("empty")


class TTLModel(LRUModel):
    """LRU among entries whose expiry (``now + ttl`` at their last store) is still ahead."""

    def __init__(self, maxsize: int, ttl: float, clock: list[float]) -> None:
        super().__init__(maxsize)
        self.ttl = ttl
        self.clock = clock
        self.expiry: dict[Hashable, float] = {}

    def expire(self) -> None:
        now = self.clock[0]
        for key in [k for k, when in self.expiry.items() if when <= now]:
            self.delete(key)

    def update(self, key: Hashable) -> None:
        self.hit(key)
        self.expiry[key] = self.clock[0] + self.ttl

    def insert(self, key: Hashable) -> None:
        super().insert(key)
        self.expiry[key] = self.clock[0] + self.ttl

    def remove(self, key: Hashable) -> None:
        super().remove(key)
        del self.expiry[key]

    def victim(self) -> Hashable:
        key = super().victim()
        del self.expiry[key]
        return key


def test_the_lru_model_evicts_the_least_recently_used_key() -> None:
    """The reference LRU itself behaves as LRU on a hand-checked sequence."""
    m = LRUModel(2)
    assert [m.access(k) for k in "abacb"] == [False, False, True, False, False]
    assert sorted(m.values) == ["b", "c"]


def test_the_sieve_model_follows_the_papers_worked_example() -> None:
    """SIEVE (NSDI'24 §3): the hand skips and clears visited entries, then evicts in place."""
    m = SIEVEModel(3)
    for k in "abc":
        m.access(k)
    m.access("a")  # visited
    m.access("d")  # hand from tail: a visited (cleared), evicts b
    assert sorted(m.values) == ["a", "c", "d"]
    assert m.hand == "c"
