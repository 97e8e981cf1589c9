"""Heavy hitters the classic way: a count-min sketch plus the ``k`` best-estimated keys.

Every key updates a :class:`~dskata.sketch.CountMinSketch` of the whole stream; a key joins the
candidates when its estimate beats the smallest candidate's. Estimates are upper bounds (within
``epsilon * total`` with probability ``1 - delta``), but there is no lower bound, and a key whose
early occurrences came before it could beat the candidates is only ranked by its sketch estimate.
:class:`dskata.sketch.TopK` (SpaceSaving) does better in less memory; this one is kept to compare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from dskata.sketch.count_min import CountMinSketch
from dskata.sketch.topk import HeavyHitter, TopKKey, _aggregate, _norm_key

__all__ = ["CountMinTopK"]


class CountMinTopK:
    """The classic heavy-hitters scheme: a count-min sketch plus the ``k`` best-estimated keys.

    Every key updates the sketch; a key joins the candidates when its estimate beats the smallest
    candidate's. Estimates are upper bounds (with probability ``1 - delta`` within
    ``epsilon * total``); there is no lower bound. Kept for comparison with :class:`TopK`.

    Args:
        k: number of candidate keys (>= 1).
        width, depth, seed, conservative: the underlying :class:`CountMinSketch`.

    Thread safety: not thread-safe.

    Complexity: O(k + width * depth) memory.

    >>> cmk = CountMinTopK(2, width=200, depth=4)
    >>> cmk.add_many(["a", "a", "b", "c", "a"])
    >>> [h.key for h in cmk.top()]
    ['a', 'b']
    """

    __slots__ = ("_cand", "_k", "_sketch")

    def __init__(
        self, k: int, width: int, depth: int, *, seed: int = 0, conservative: bool = False
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int >= 1, got {type(k).__name__}")
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self._sketch = CountMinSketch(
            width, depth, seed=seed, conservative=conservative, dtype=np.uint64
        )
        self._k = int(k)
        self._cand: dict[TopKKey, int] = {}

    @property
    def sketch(self) -> CountMinSketch:
        """The underlying count-min sketch."""
        return self._sketch

    @property
    def total(self) -> int:
        """N, the sum of every count added."""
        return self._sketch.total

    def add(self, key: TopKKey, count: int = 1) -> None:
        """Count ``count`` occurrences of ``key``.

        Complexity: O(depth + k) (the candidate minimum is found by a scan).
        """
        key = _norm_key(key)
        self._sketch.add(key, count)
        est = self._sketch.estimate(key)
        cand = self._cand
        if key in cand or len(cand) < self._k:
            cand[key] = est
            return
        victim = min(cand, key=cand.__getitem__)
        if est > cand[victim]:
            del cand[victim]
            cand[key] = est

    def add_many(
        self, keys: npt.ArrayLike | Iterable[TopKKey], counts: npt.ArrayLike | None = None
    ) -> None:
        """Count a batch: the sketch in numpy, then re-rank candidates and the batch's keys.

        Complexity: O(n * depth + (k + distinct) log(k + distinct)).
        """
        uniq, cnt = _aggregate(keys, counts)
        if not uniq:
            return
        self._sketch.add_many(uniq, cnt)
        pool = list(dict.fromkeys([*self._cand, *uniq]))
        est = self._sketch.estimate_many(pool)
        order = np.argsort(-est.astype(np.int64), kind="stable")[: self._k]
        self._cand = {pool[i]: int(est[i]) for i in order.tolist()}

    def top(self, n: int | None = None) -> list[HeavyHitter]:
        """The best-estimated keys, largest first. ``count`` (the upper bound) is guaranteed;
        ``error`` is ``ceil(epsilon * total)`` (capped at the count), a bound that holds only
        with probability ``1 - delta``.

        Complexity: O(k * depth + k log k).
        """
        if self._cand:
            # Candidates' estimates only grow after they were recorded: refresh them first.
            keys = list(self._cand)
            fresh = self._sketch.estimate_many(keys).tolist()
            self._cand = dict(zip(keys, fresh, strict=True))
        slack = math.ceil(self._sketch.epsilon * self._sketch.total)
        ranked = sorted(self._cand.items(), key=lambda kv: -kv[1])
        if n is not None:
            ranked = ranked[: int(n)]
        return [HeavyHitter(key, c, min(c, slack)) for key, c in ranked]

    def estimate(self, key: TopKKey) -> int:
        """The sketch's estimate for ``key`` (an upper bound).

        Complexity: O(depth).
        """
        return self._sketch.estimate(_norm_key(key))

    def _check(self) -> None:
        """Assert the invariants: at most k candidates, each no larger than the sketch says."""
        assert len(self._cand) <= self._k
        self._sketch._check()
        for key, c in self._cand.items():
            assert c <= self._sketch.estimate(key)
