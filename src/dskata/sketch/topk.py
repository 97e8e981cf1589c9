"""Heavy hitters: the most frequent keys of a stream in ``k`` counters.

Theory of operation
-------------------
**SpaceSaving** (Metwally, Agrawal and El Abbadi 2005) monitors at most ``k`` keys, each with a
count and an error. A monitored key's count grows with it. An unmonitored key takes over the
slot of the key with the *minimum* count ``m``: it starts at ``m + c`` with error ``m``, because
it may have occurred up to ``m`` times while unmonitored (paper, Lemma 3). So for every
monitored key ``count - error <= true <= count``, and any unmonitored key occurred at most
``min_count`` times. The counts sum to at most ``N``, so ``min_count <= N / k``: every key more
frequent than ``N / k`` is monitored (Theorem 1).

**Merging** (Agarwal et al. 2012, "Mergeable summaries", §3) of two summaries with the same ``k``:
SpaceSaving with ``k`` counters is
isomorphic to Misra-Gries with ``k - 1`` counters (subtract the minimum from every count). Their
Misra-Gries merge, translated back, is: for every key in either summary, add its counts, using the
other summary's minimum count where it is absent (and the same for errors); then keep the ``k``
keys with the largest sums. The bounds above still hold, with ``N`` the combined total.

**Batches.** :meth:`TopK.add_many` aggregates a batch in numpy (``np.unique``) into exact counts
and merges that exact summary in, by the rule above: one vectorised step instead of one Python
step per item. The result is a valid SpaceSaving summary of the stream with the same guarantees,
but not, key for key, the summary that item-by-item :meth:`TopK.add` would build.

The classic alternative, :class:`dskata.sketch.CountMinTopK`, keeps a count-min sketch of the
whole stream beside the ``k`` keys with the largest estimates: upper bounds only.
"""

from __future__ import annotations

import heapq
import struct
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any, Final, NamedTuple, Union

import numpy as np
import numpy.typing as npt

from dskata import serial

__all__ = ["HeavyHitter", "TopK", "TopKKey"]

#: A key TopK can monitor (kept as given, so ``"a"`` and ``b"a"`` are different keys).
TopKKey = Union[str, bytes, int]  # noqa: UP007 (a runtime alias; py3.10 needs Union here)

_U63: Final = (1 << 63) - 1
_PARAMS: Final = struct.Struct("<Q")
_ENTRY: Final = struct.Struct("<BIQQ")  # key tag, key length, count, error
_TAG_STR, _TAG_BYTES, _TAG_INT = 1, 2, 3
_PLAIN_KEY_TYPES: Final = frozenset({str, bytes, int})


class HeavyHitter(NamedTuple):
    """One monitored key: its ``count`` and ``error``, so ``count - error <= true <= count``.

    The field ``count`` shadows ``tuple.count`` on purpose: it is SpaceSaving's name for it.
    """

    key: TopKKey
    count: int  # type: ignore[assignment]
    error: int

    @property
    def lower(self) -> int:
        """Guaranteed lower bound on the true count: ``count - error``."""
        return self.count - self.error

    @property
    def upper(self) -> int:
        """Guaranteed upper bound on the true count: ``count`` (the estimate)."""
        return self.count


def _norm_key(key: object) -> TopKKey:
    t = type(key)
    if t is str or t is bytes or t is int:
        return key  # type: ignore[return-value]
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"unsupported key type {t.__name__}: keys must be str, bytes or int")
    if isinstance(key, (str, bytes)):
        return key
    if isinstance(key, (int, np.integer)):
        return int(key)
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"unsupported key type {t.__name__}: keys must be str, bytes or int")


def _check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise TypeError(f"count must be a non-negative int, got {type(count).__name__}")
    c = int(count)
    if not 0 <= c <= _U63:
        raise ValueError(f"count must be in [0, 2**63), got {c}")
    return c


def _aggregate(
    keys: npt.ArrayLike | Iterable[Any], counts: npt.ArrayLike | None
) -> tuple[list[TopKKey], npt.NDArray[np.int64]]:
    """Distinct keys of a batch and their summed counts; validates everything first."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"keys must be an iterable of keys, not a single {type(keys).__name__}")
    arr: npt.NDArray[Any] | None = None
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValueError(f"keys must be a 1-D array, got shape {keys.shape}")
        if keys.dtype.kind in "iuUS":
            arr = keys
        elif keys.dtype.kind in "bfc":
            raise TypeError(f"unsupported key array dtype {keys.dtype}: use integers, str or bytes")
        else:
            keys = keys.tolist()
    cnt: npt.NDArray[np.int64] | None = None
    if counts is not None:
        c = np.asarray(counts)
        if c.size == 0 and c.dtype.kind == "f":
            c = c.astype(np.int64)  # np.asarray([]) is float64
        if c.dtype == object:
            c = np.array([_check_count(x) for x in c.ravel()], dtype=np.int64)
        if c.dtype.kind not in "iu":
            raise TypeError(f"counts must hold integers, got dtype {c.dtype}")
        if c.ndim != 1:
            raise ValueError(f"counts must be 1-D, got shape {c.shape}")
        if c.size and (int(c.min()) < 0 or int(c.max()) > _U63):
            raise ValueError(f"counts must be in [0, 2**63), got min {c.min()}, max {c.max()}")
        cnt = c.astype(np.int64)
    if arr is not None:
        if cnt is not None and cnt.shape[0] != arr.shape[0]:
            raise ValueError(f"counts has {cnt.shape[0]} entries for {arr.shape[0]} keys")
        if cnt is None:
            uniq, summed = np.unique(arr, return_counts=True)
        else:
            uniq, inverse = np.unique(arr, return_inverse=True)
            summed = np.zeros(uniq.shape[0], dtype=np.int64)
            np.add.at(summed, inverse.ravel(), cnt)
        return uniq.tolist(), summed.astype(np.int64)
    items = keys if isinstance(keys, (list, tuple)) else list(keys)  # type: ignore[arg-type]
    if cnt is not None and cnt.shape[0] != len(items):
        raise ValueError(f"counts has {cnt.shape[0]} entries for {len(items)} keys")
    agg: dict[Any, int]
    if cnt is None:
        try:
            agg = Counter(items)  # C-accelerated; distinct keys are validated below
        except TypeError:
            # An unhashable key: bytearray is allowed (as bytes), anything else is refused.
            agg = Counter(_norm_key(x) for x in items)
    else:
        agg = {}
        for key, weight in zip(items, cnt.tolist(), strict=True):
            agg[key] = agg.get(key, 0) + weight
    kinds = set(map(type, agg))
    if kinds <= _PLAIN_KEY_TYPES and (
        not kinds & {int} or set(map(type, items)) <= _PLAIN_KEY_TYPES
    ):
        # Only str, bytes and int items: nothing to normalise, and nothing the dict folded
        # (True and 1.0 would have been folded into the key 1 and must be refused instead).
        return list(agg), np.fromiter(agg.values(), dtype=np.int64, count=len(agg))
    if kinds & {int}:
        # Validate every item, not only the distinct keys that the dict kept.
        for x in items:
            _norm_key(x)
    # Validate distinct keys, and fold aliases (np.int64(1) and 1, bytearray and bytes).
    out: dict[TopKKey, int] = {}
    for raw_key, total in agg.items():
        nk = _norm_key(raw_key)
        out[nk] = out.get(nk, 0) + total
    return list(out), np.fromiter(out.values(), dtype=np.int64, count=len(out))


class TopK:
    """SpaceSaving heavy hitters over at most ``k`` monitored keys, with guaranteed bounds.

    Args:
        k: number of counters (>= 1). Every key more frequent than ``total / k`` is monitored;
            to find the top ``n`` reliably on skewed streams use ``k`` several times ``n``.

    Keys are ``str``, ``bytes`` or ``int`` (numpy integers become ``int``, ``bytearray`` becomes
    ``bytes``) and are reported as given: unlike the count-min sketch, ``"a"`` and ``b"a"`` are
    different keys here. Counts are non-negative ints below ``2**63``.

    Thread safety: not thread-safe; guard concurrent use with a lock.

    Complexity: O(k) memory; :meth:`add` O(log k) amortised; :meth:`add_many` O(n + k log k).

    >>> tk = TopK(2)
    >>> for key in "aababcab":
    ...     tk.add(key)
    >>> [(h.key, h.lower, h.upper) for h in tk.top()]
    [('a', 4, 4), ('b', 1, 4)]
    """

    __slots__ = ("_counts", "_errors", "_heap", "_k", "_keys", "_slot", "_total")

    def __init__(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int >= 1, got {type(k).__name__}")
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self._k = int(k)
        self._keys: list[TopKKey] = []
        self._counts: list[int] = []
        self._errors: list[int] = []
        self._slot: dict[TopKKey, int] = {}
        # One (count, slot) entry per slot; an entry may lag its slot's count (counts only grow),
        # and is refreshed when it reaches the top: a lazy min-heap with no decrease-key.
        self._heap: list[tuple[int, int]] = []
        self._total = 0

    @property
    def k(self) -> int:
        """The number of counters."""
        return self._k

    @property
    def total(self) -> int:
        """N, the sum of every count added."""
        return self._total

    @property
    def min_count(self) -> int:
        """The most an unmonitored key can have occurred: the minimum count once full, else 0."""
        if len(self._keys) < self._k:
            return 0
        return min(self._counts)

    def __len__(self) -> int:
        """The number of monitored keys (at most ``k``)."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is monitored."""
        try:
            return _norm_key(key) in self._slot
        except TypeError:
            return False

    def __iter__(self) -> Iterator[TopKKey]:
        """Monitored keys, most frequent first."""
        return (h.key for h in self.top())

    # ------------------------------------------------------------------ updates

    def add(self, key: TopKKey, count: int = 1) -> None:
        """Count ``count`` occurrences of ``key`` (SpaceSaving's update rule).

        A monitored key's count grows; otherwise a free counter is taken or, when all ``k`` are
        in use, the key with the minimum count ``m`` is replaced and the new key starts at
        ``m + count`` with error ``m``.

        Raises:
            TypeError, ValueError: unsupported key or bad count (nothing changes).

        Complexity: O(log k) amortised.

        >>> tk = TopK(1); tk.add("a", 3); tk.add("b")
        >>> tk.top()
        [HeavyHitter(key='b', count=4, error=3)]
        """
        if type(count) is not int or not 0 <= count <= _U63:
            count = _check_count(count)
        if type(key) is not str:
            key = _norm_key(key)
        if self._total + count > _U63:
            raise ValueError(f"total would exceed 2**63 - 1 (total {self._total} + {count})")
        if count == 0:
            return
        self._total += count
        slot = self._slot.get(key)
        counts = self._counts
        if slot is not None:
            counts[slot] += count
            return
        if len(self._keys) < self._k:
            slot = len(self._keys)
            self._keys.append(key)
            counts.append(count)
            self._errors.append(0)
            self._slot[key] = slot
            heapq.heappush(self._heap, (count, slot))
            return
        heap = self._heap
        while True:
            lagging, slot = heap[0]
            current = counts[slot]
            if lagging == current:
                break
            heapq.heapreplace(heap, (current, slot))
        del self._slot[self._keys[slot]]
        self._keys[slot] = key
        self._errors[slot] = current
        counts[slot] = current + count
        self._slot[key] = slot
        heapq.heapreplace(heap, (current + count, slot))

    def add_many(
        self, keys: npt.ArrayLike | Iterable[TopKKey], counts: npt.ArrayLike | None = None
    ) -> None:
        """Count a batch of keys: aggregate it exactly in numpy, then merge it in.

        The merge is Agarwal et al.'s (see the module doc): monitored keys add their batch counts;
        new keys start at ``min_count + c`` with error ``min_count``; the ``k`` largest stay. The
        guarantees are those of :meth:`add`; the summary may differ from per-item adds.

        Args:
            keys: a 1-D numpy array of integers, str or bytes, or an iterable of keys.
            counts: optional non-negative ints, one per key.

        Raises:
            TypeError, ValueError: unsupported key, bad counts or shapes (nothing changes).

        Complexity: O(n log n + k log k) for n keys (the sort in ``np.unique``).

        >>> tk = TopK(2)
        >>> tk.add_many(["a", "b", "a", "c", "a"])
        >>> tk.top(1)
        [HeavyHitter(key='a', count=3, error=0)]
        """
        uniq, cnt = _aggregate(keys, counts)
        if not uniq:
            return
        batch_total = int(cnt.sum())
        if self._total + batch_total > _U63:
            raise ValueError(f"total would exceed 2**63 - 1 (total {self._total} + {batch_total})")
        floor = self.min_count
        self._merge_exact(uniq, cnt, np.zeros(len(uniq), dtype=np.int64), floor, 0)
        self._total += batch_total

    def _merge_exact(
        self,
        keys: list[TopKKey],
        counts: npt.NDArray[np.int64],
        errors: npt.NDArray[np.int64],
        floor_self: int,
        floor_other: int,
    ) -> None:
        """Merge another summary (keys, counts, errors, its min count) into this one."""
        slot_of = self._slot
        slots = np.fromiter(map(slot_of.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        known = slots >= 0
        mine_c = np.array(self._counts, dtype=np.int64)
        mine_e = np.array(self._errors, dtype=np.int64)
        # Monitored keys absent from the other summary may have occurred up to its min count.
        mine_c += floor_other
        mine_e += floor_other
        mine_c[slots[known]] += counts[known] - floor_other
        mine_e[slots[known]] += errors[known] - floor_other
        new_idx = np.flatnonzero(~known)
        new_c = counts[new_idx] + floor_self
        new_e = errors[new_idx] + floor_self
        n_mine = mine_c.shape[0]
        all_c = np.concatenate((mine_c, new_c))
        all_e = np.concatenate((mine_e, new_e))
        if all_c.shape[0] <= self._k:
            keep = np.arange(all_c.shape[0])
        else:
            # Largest counts first; the stable sort keeps monitored keys (listed first) on ties.
            keep = np.sort(np.argsort(-all_c, kind="stable")[: self._k])
        old_keys = self._keys
        new_keys = [
            old_keys[i] if i < n_mine else keys[int(new_idx[i - n_mine])] for i in keep.tolist()
        ]
        self._keys = new_keys
        self._counts = all_c[keep].tolist()
        self._errors = all_e[keep].tolist()
        self._slot = {key: s for s, key in enumerate(new_keys)}
        self._heap = [(c, s) for s, c in enumerate(self._counts)]
        heapq.heapify(self._heap)

    def merge(self, other: TopK) -> None:
        """Merge ``other`` into this summary, in place (Agarwal et al. 2012, §3).

        The bounds of every key hold for the combined stream. Both summaries must have the same
        ``k`` (the merge's error analysis, and ``min_count <= total / k``, rely on it).

        Complexity: O((k + k') log(k + k')).

        >>> a, b = TopK(2), TopK(2)
        >>> a.add_many(["x", "x", "y"]); b.add_many(["x", "z", "z"])
        >>> a.merge(b)
        >>> [(h.key, h.lower, h.upper) for h in a.top()]
        [('x', 3, 3), ('z', 2, 3)]
        """
        if not isinstance(other, TopK):
            raise TypeError(f"merge needs a TopK, got {type(other).__name__}")
        if other._k != self._k:
            raise ValueError(f"cannot merge summaries with different k: {self._k} != {other._k}")
        if self._total + other._total > _U63:
            raise ValueError("total would exceed 2**63 - 1")
        if not other._keys:
            return
        keys = list(other._keys)
        counts = np.array(other._counts, dtype=np.int64)
        errors = np.array(other._errors, dtype=np.int64)
        self._merge_exact(keys, counts, errors, self.min_count, other.min_count)
        self._total += other._total

    def __add__(self, other: object) -> TopK:
        """``a + b``: a new summary, ``a`` merged with ``b``."""
        if not isinstance(other, TopK):
            return NotImplemented
        out = self.copy()
        out.merge(other)
        return out

    # ------------------------------------------------------------------ queries

    def top(self, n: int | None = None) -> list[HeavyHitter]:
        """The ``n`` (default all) monitored keys with the largest counts, largest first.

        Ties are broken by the larger lower bound. For the true top ``n`` on a skewed stream,
        check ``top(n)[-1].lower >= top(n + 1)[-1].upper``: then the set is guaranteed exact.

        Complexity: O(k log k).

        >>> tk = TopK(3); tk.add_many(["a", "b", "b"]); tk.top(1)
        [HeavyHitter(key='b', count=2, error=0)]
        """
        if n is not None:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"n must be an int >= 0 or None, got {type(n).__name__}")
            if n < 0:
                raise ValueError(f"n must be >= 0, got {n}")
        order = sorted(
            range(len(self._keys)),
            key=lambda s: (-self._counts[s], self._errors[s], s),
        )
        if n is not None:
            order = order[: int(n)]
        return [HeavyHitter(self._keys[s], self._counts[s], self._errors[s]) for s in order]

    def estimate(self, key: TopKKey) -> int:
        """Upper bound on ``key``'s count: its count if monitored, else :attr:`min_count`.

        Complexity: O(1) (O(k) for an unmonitored key once full).

        >>> tk = TopK(2); tk.add("a", 5); tk.estimate("a"), tk.estimate("zzz")
        (5, 0)
        """
        return self.bounds(key)[1]

    def __getitem__(self, key: TopKKey) -> int:
        """``tk[key]`` is :meth:`estimate`."""
        return self.estimate(key)

    def bounds(self, key: TopKKey) -> tuple[int, int]:
        """Guaranteed ``(lower, upper)`` bounds on ``key``'s true count.

        Complexity: O(1) (O(k) for an unmonitored key once full).

        >>> tk = TopK(2); tk.add("a", 5); tk.bounds("a")
        (5, 5)
        """
        slot = self._slot.get(_norm_key(key))
        if slot is None:
            return (0, self.min_count)
        return (self._counts[slot] - self._errors[slot], self._counts[slot])

    def heavy_hitters(self, fraction: float, *, guaranteed: bool = False) -> list[HeavyHitter]:
        """Keys that may occur more than ``fraction * total`` times (all of them, if ``fraction``
        is at least ``1 / k``); with ``guaranteed=True``, only those whose lower bound is above.

        Complexity: O(k log k).

        >>> tk = TopK(10); tk.add_many(["a"] * 6 + ["b"] * 3 + ["c"])
        >>> [h.key for h in tk.heavy_hitters(0.25)]
        ['a', 'b']
        """
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise TypeError(f"fraction must be a float in (0, 1], got {type(fraction).__name__}")
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        threshold = fraction * self._total
        return [h for h in self.top() if (h.lower if guaranteed else h.upper) > threshold]

    # ------------------------------------------------------------------ copy, equality, bytes

    def copy(self) -> TopK:
        """An independent copy.

        Complexity: O(k).
        """
        out = TopK(self._k)
        out._keys = list(self._keys)
        out._counts = list(self._counts)
        out._errors = list(self._errors)
        out._slot = dict(self._slot)
        out._heap = list(self._heap)
        out._total = self._total
        return out

    def _entries(self) -> set[tuple[str, Any, int, int]]:
        return {
            (type(key).__name__, key, c, e)
            for key, c, e in zip(self._keys, self._counts, self._errors, strict=True)
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TopK):
            return NotImplemented
        return (
            self._k == other._k
            and self._total == other._total
            and self._entries() == other._entries()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TopK(k={self._k}, monitored={len(self._keys)}, total={self._total})"

    def to_bytes(self) -> bytes:
        """Serialise to the shared dskata envelope (:mod:`dskata.serial`).

        Complexity: O(k).

        >>> tk = TopK(4); tk.add_many(["a", b"b", 3])
        >>> TopK.from_bytes(tk.to_bytes()) == tk
        True
        """
        parts = []
        for key, c, e in zip(self._keys, self._counts, self._errors, strict=True):
            if type(key) is str:
                tag, raw = _TAG_STR, key.encode("utf-8", "surrogatepass")
            elif type(key) is bytes:
                tag, raw = _TAG_BYTES, key
            else:
                assert type(key) is int
                tag, raw = (
                    _TAG_INT,
                    key.to_bytes((key.bit_length() + 8) // 8, "little", signed=True),
                )
            parts.append(_ENTRY.pack(tag, len(raw), c, e) + raw)
        return serial.pack(
            serial.KIND_TOPK,
            seed=0,
            count=self._total,
            params=_PARAMS.pack(self._k),
            payload=b"".join(parts),
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> TopK:
        """Rebuild a summary from :meth:`to_bytes`; :class:`ValueError` on anything malformed.

        Complexity: O(k).
        """
        frame = serial.unpack(data, serial.KIND_TOPK, params_size=_PARAMS.size)
        (k,) = _PARAMS.unpack(frame.params)
        if not 1 <= k <= _U63:
            raise ValueError(f"corrupt parameters: k={k}")
        payload = bytes(frame.payload)
        if frame.count > _U63:
            raise ValueError(f"corrupt header: total {frame.count} >= 2**63")
        keys: list[TopKKey] = []
        counts: list[int] = []
        errors: list[int] = []
        pos = 0
        while pos < len(payload):
            if pos + _ENTRY.size > len(payload):
                raise ValueError("corrupt payload: truncated entry")
            tag, length, c, e = _ENTRY.unpack_from(payload, pos)
            pos += _ENTRY.size
            raw = payload[pos : pos + length]
            if len(raw) != length:
                raise ValueError("corrupt payload: truncated key")
            pos += length
            key: TopKKey
            if tag == _TAG_STR:
                try:
                    key = raw.decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    raise ValueError("corrupt payload: key is not UTF-8") from None
            elif tag == _TAG_BYTES:
                key = raw
            elif tag == _TAG_INT:
                key = int.from_bytes(raw, "little", signed=True)
            else:
                raise ValueError(f"corrupt payload: unknown key tag {tag}")
            if not 0 <= e <= c <= _U63:
                raise ValueError(f"corrupt payload: count {c}, error {e}")
            keys.append(key)
            counts.append(c)
            errors.append(e)
        if len(keys) > k or len(set(keys)) != len(keys):
            raise ValueError(f"corrupt payload: {len(keys)} entries for k={k} (or duplicates)")
        if sum(counts) > frame.count:
            raise ValueError("corrupt payload: counts sum above the total")
        out = cls(k)
        out._keys, out._counts, out._errors = keys, counts, errors
        out._slot = {key: s for s, key in enumerate(keys)}
        out._heap = [(c, s) for s, c in enumerate(counts)]
        heapq.heapify(out._heap)
        out._total = frame.count
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically.

        Complexity: O(k).
        """
        serial.write_file(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> TopK:
        """Read a summary written by :meth:`save`.

        Complexity: O(k).
        """
        return cls.from_bytes(serial.read_file(path))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def _check(self) -> None:
        """Assert the SpaceSaving invariants (tests call this after mutations)."""
        n = len(self._keys)
        assert n <= self._k
        assert len(self._counts) == n == len(self._errors) == len(self._slot) == len(self._heap)
        assert all(self._slot[key] == s for s, key in enumerate(self._keys))
        assert all(0 <= e <= c for c, e in zip(self._counts, self._errors, strict=True))
        # Counts only ever sum to at most the total, hence min_count <= total / k.
        assert sum(self._counts) <= self._total
        if n < self._k:
            # Never full means nothing was ever evicted: counts are exact.
            assert all(e == 0 for e in self._errors)
        else:
            assert self.min_count * self._k <= self._total
        # Lazy heap: exactly one entry per slot, never above that slot's count.
        seen = sorted(s for _, s in self._heap)
        assert seen == list(range(n))
        assert all(c <= self._counts[s] for c, s in self._heap)
        assert all(isinstance(key, Hashable) for key in self._keys)
