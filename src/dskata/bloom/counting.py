"""The counting Bloom filter (Fan et al. 2000): a Bloom filter that supports removal.

Theory of operation
-------------------
Each of the ``m`` bits becomes a small counter: adding a key increments its ``k`` counters,
removing decrements them, and a key is "maybe present" when all its counters are non-zero.
Fan et al. (2000, §V.C) show 4 bits per counter make overflow vanishingly rare (probability
below ``1.37e-15 * m`` at the optimal ``k``), so counters here are 4-bit, packed two per byte
(counter ``i`` is the low nibble of byte ``i // 2`` when ``i`` is even, the high nibble when odd).

A counter that reaches 15 *saturates*: it is never incremented nor decremented again, because
its true value is unknown; decrementing it could reach zero while keys still need it and create
a false negative. Removing a key that was never added would do exactly that to other keys, so
:meth:`CountingBloomFilter.remove` refuses a key when any of its counters is zero (such a key
was certainly never added). Removing a *false positive* cannot be detected and corrupts the
filter, as in every counting Bloom filter: remove only keys you added.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dskata import serial
from dskata.bloom import _core
from dskata.hashing import validate_seed

__all__ = ["CountingBloomFilter", "NotInFilterError"]

_PARAMS: Final = struct.Struct("<QIQd")
#: Largest value of a 4-bit counter; a counter at this value is saturated (sticky).
MAX_COUNT: Final = 15


class NotInFilterError(KeyError, ValueError):
    """Raised by ``remove`` for a key that was certainly never added (one of its counters is 0)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CountingBloomFilter(_core.SizedFilter):
    """A Bloom filter with 4-bit saturating counters, so keys can be removed.

    Args:
        capacity: how many distinct keys the filter is sized for (``n``), an int >= 1.
        error_rate: target false-positive rate ``p`` at capacity, in ``(0, 1)``.
        seed: hash seed in ``[0, 2**32)``.

    Sizing, hashing and key types are those of :class:`~dskata.bloom.BloomFilter`: counter
    ``i`` of a key is non-zero exactly when bit ``i`` of a ``BloomFilter`` with the same
    parameters would be set. Not thread-safe: guard concurrent writers with a lock.

    Complexity: O(k) per key; ``m/2`` bytes of memory (4x a ``BloomFilter``).

    >>> cbf = CountingBloomFilter(1000, 0.01)
    >>> cbf.add("apple")
    >>> "apple" in cbf
    True
    >>> cbf.remove("apple")
    >>> "apple" in cbf, len(cbf)
    (False, 0)
    """

    __slots__ = ("_capacity", "_count", "_counters", "_error_rate", "_k", "_m", "_seed")
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, capacity: int, error_rate: float = 0.01, *, seed: int = 0) -> None:
        n, p, m, k = _core.sized(capacity, error_rate)
        self._init(m, k, validate_seed(seed), n, p)

    def _init(
        self, m: int, k: int, seed: int, capacity: int | None, error_rate: float | None
    ) -> None:
        self._m, self._k, self._seed = m, k, seed
        self._capacity, self._error_rate = capacity, error_rate
        self._count = 0
        self._counters = bytearray((m + 1) // 2)

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed counters."""
        return len(self._counters)

    def _unpacked(self) -> npt.NDArray[np.uint8]:
        buf = _core.as_uint8(self._counters)
        out = np.empty(2 * buf.shape[0], dtype=np.uint8)
        out[0::2] = buf & 15
        out[1::2] = buf >> 4
        return out[: self._m]

    def _nonzero(self) -> int:
        return int(np.count_nonzero(self._unpacked()))

    @property
    def fill_ratio(self) -> float:
        """Fraction of counters that are non-zero.

        Complexity: O(m).
        """
        return self._nonzero() / self._m

    def __len__(self) -> int:
        """Insertions minus removals."""
        return self._count

    def approx_len(self) -> float:
        """Estimate of the distinct keys present, from the number of non-zero counters.

        Complexity: O(m).
        """
        return _core.estimate_items(self._m, self._k, self._nonzero())

    def expected_error_rate(self) -> float:
        """The theoretical false-positive rate for the current fill: ``fill_ratio ** k``."""
        return float(self.fill_ratio**self._k)

    # ------------------------------------------------------------ scalar path

    def add(self, key: Any) -> None:
        """Insert ``key`` (its counters go up by one, saturating at 15).

        Complexity: O(k).
        """
        c = self._counters
        for pos in _core.positions(key, self._k, self._m, self._seed):
            b = pos >> 1
            shift = (pos & 1) << 2
            if (c[b] >> shift) & 15 != MAX_COUNT:
                c[b] += 1 << shift
        self._count += 1

    def remove(self, key: Any) -> None:
        """Remove one insertion of ``key``.

        Raises:
            NotInFilterError: a counter of ``key`` is zero, so it was never added, or the
                filter holds no insertions (nothing changes). Removing a false positive is
                not detectable: remove only added keys.

        Complexity: O(k).
        """
        c = self._counters
        pos = _core.positions(key, self._k, self._m, self._seed)
        need: dict[int, int] = {}
        for p in pos:
            need[p] = need.get(p, 0) + 1
        for p, times in need.items():
            value = (c[p >> 1] >> ((p & 1) << 2)) & 15
            if value != MAX_COUNT and value < times:
                raise NotInFilterError(
                    f"cannot remove {key!r}: it was never added (counter {p} is {value})"
                )
        if self._count == 0:
            raise NotInFilterError(f"cannot remove {key!r}: the filter holds no insertions")
        for p in pos:
            b = p >> 1
            shift = (p & 1) << 2
            if (c[b] >> shift) & 15 != MAX_COUNT:
                c[b] -= 1 << shift
        self._count -= 1

    def discard(self, key: Any) -> bool:
        """Remove ``key`` if it may be present; return whether it was removed."""
        try:
            self.remove(key)
        except NotInFilterError:
            return False
        return True

    def __contains__(self, key: object) -> bool:
        """True if ``key`` may be present; False means it certainly is not.

        Complexity: O(k).
        """
        c = self._counters
        for pos in _core.positions(key, self._k, self._m, self._seed):
            if not (c[pos >> 1] >> ((pos & 1) << 2)) & 15:
                return False
        return True

    def count(self, key: Any) -> int:
        """An upper bound on how many times ``key`` is present: its smallest counter (<= 15).

        >>> cbf = CountingBloomFilter(100); cbf.add("x"); cbf.add("x")
        >>> cbf.count("x")
        2
        """
        c = self._counters
        return min(
            (c[p >> 1] >> ((p & 1) << 2)) & 15
            for p in _core.positions(key, self._k, self._m, self._seed)
        )

    # ------------------------------------------------------------ batch path

    def _deltas(self, h1: _core.U64Array) -> tuple[_core.I64Array, _core.I64Array]:
        flats = [pos.ravel() for _, pos in _core.probe_chunks(h1, self._k, self._m)]
        allpos = np.concatenate(flats) if flats else np.empty(0, np.int64)
        uniq, times = np.unique(allpos, return_counts=True)
        return uniq, times.astype(np.int64)

    def _apply(self, uniq: _core.I64Array, delta: _core.I64Array) -> None:
        buf = _core.as_uint8(self._counters)
        for parity in (0, 1):
            sel = (uniq & 1) == parity
            b = uniq[sel] >> 1
            shift = np.uint8(4 * parity)
            cur = ((buf[b] >> shift) & 15).astype(np.int64)
            sticky = cur == MAX_COUNT
            new = np.where(sticky, MAX_COUNT, np.clip(cur + delta[sel], 0, MAX_COUNT))
            keep = buf[b] & np.uint8(0xF0 >> (4 * parity))
            buf[b] = keep | (new.astype(np.uint8) << shift)

    def _values(self, uniq: _core.I64Array) -> npt.NDArray[np.uint8]:
        buf = _core.as_uint8(self._counters)
        values: npt.NDArray[np.uint8] = (buf[uniq >> 1] >> ((uniq & 1) << 2).astype(np.uint8)) & 15
        return values

    def add_many(self, keys: Any) -> None:
        """Insert every key of ``keys`` (numpy array or iterable); same result as ``add`` per key.

        Complexity: O(n k log(n k)).
        """
        h1 = _core.hash_keys(keys, self._seed)
        if h1.shape[0] == 0:
            return
        uniq, times = self._deltas(h1)
        self._apply(uniq, times)
        self._count += h1.shape[0]

    def remove_many(self, keys: Any) -> None:
        """Remove every key of ``keys``, all or nothing.

        Raises:
            NotInFilterError: removing the keys one by one would meet a zero counter, or
                there are more keys than insertions; nothing changes.

        Complexity: O(n k log(n k)).
        """
        h1 = _core.hash_keys(keys, self._seed)
        if h1.shape[0] == 0:
            return
        if h1.shape[0] > self._count:
            raise NotInFilterError(
                f"cannot remove {h1.shape[0]} keys: the filter holds {self._count} insertions "
                "(nothing was removed)"
            )
        uniq, times = self._deltas(h1)
        cur = self._values(uniq).astype(np.int64)
        short = (cur != MAX_COUNT) & (cur < times)
        if short.any():
            raise NotInFilterError(
                f"cannot remove these keys: {int(short.sum())} counter(s) would go below zero, "
                "so some keys were never added (nothing was removed)"
            )
        self._apply(uniq, -times)
        self._count -= h1.shape[0]

    def contains_many(self, keys: Any) -> _core.BoolArray:
        """Membership of every key as a numpy bool array (same answers as ``in``).

        Complexity: O(n k), vectorised.
        """
        h1 = _core.hash_keys(keys, self._seed)
        out = np.empty(h1.shape[0], dtype=np.bool_)
        for start, pos in _core.probe_chunks(h1, self._k, self._m):
            vals = self._values(pos)
            out[start : start + pos.shape[1]] = (vals != 0).all(axis=0)
        return out

    # ------------------------------------------------------------ algebra

    def _check_compatible(self, other: object, op: str) -> CountingBloomFilter:
        if not isinstance(other, CountingBloomFilter):
            raise TypeError(f"{op} needs another CountingBloomFilter, got {type(other).__name__}")
        mine = (self._m, self._k, self._seed)
        theirs = (other._m, other._k, other._seed)
        if mine != theirs:
            raise ValueError(
                f"{op} needs filters with equal (bit_size, num_hashes, seed): {mine} != {theirs}"
            )
        return other

    def update(self, *others: CountingBloomFilter) -> None:
        """Add the counters of ``others`` into this filter (saturating at 15).

        Complexity: O(m) per other filter.
        """
        checked = [self._check_compatible(o, "update") for o in others]
        for o in checked:
            a = self._unpacked().astype(np.int64)
            b = o._unpacked()
            total = np.where((a == MAX_COUNT) | (b == MAX_COUNT), MAX_COUNT, a + b)
            self._store(np.minimum(total, MAX_COUNT).astype(np.uint8))
            self._count += o._count

    def _store(self, values: npt.NDArray[np.uint8]) -> None:
        padded = np.zeros(2 * len(self._counters), dtype=np.uint8)
        padded[: self._m] = values
        _core.as_uint8(self._counters)[:] = padded[0::2] | (padded[1::2] << 4)

    def __ior__(self, other: CountingBloomFilter) -> CountingBloomFilter:
        self.update(other)
        return self

    def __or__(self, other: CountingBloomFilter) -> CountingBloomFilter:
        """A new filter holding the insertions of both (counters added, saturating)."""
        self._check_compatible(other, "|")
        out = self.copy()
        out.update(other)
        return out

    def copy(self) -> CountingBloomFilter:
        """An independent copy."""
        out = type(self).__new__(type(self))
        out._m, out._k, out._seed = self._m, self._k, self._seed
        out._capacity, out._error_rate = self._capacity, self._error_rate
        out._count = self._count
        out._counters = bytearray(self._counters)
        return out

    def __eq__(self, other: object) -> bool:
        """Equal parameters (m, k, seed) and equal counters."""
        if not isinstance(other, CountingBloomFilter):
            return NotImplemented
        return (self._m, self._k, self._seed) == (
            other._m,
            other._k,
            other._seed,
        ) and self._counters == other._counters

    def __repr__(self) -> str:
        return (
            f"CountingBloomFilter(capacity={self._capacity}, error_rate={self._error_rate}, "
            f"bit_size={self._m}, num_hashes={self._k}, seed={self._seed}, len={self._count})"
        )

    # ------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """Serialise to the dskata envelope (header, packed counters, CRC-32).

        >>> cbf = CountingBloomFilter(100); cbf.add("x")
        >>> CountingBloomFilter.from_bytes(cbf.to_bytes()) == cbf
        True
        """
        params = _PARAMS.pack(self._m, self._k, self._capacity or 0, self._error_rate or 0.0)
        return serial.pack(
            serial.KIND_COUNTING_BLOOM,
            seed=self._seed,
            count=self._count,
            params=params,
            payload=bytes(self._counters),
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CountingBloomFilter:
        """Load a filter written by :meth:`to_bytes`; :class:`ValueError` for malformed input."""
        frame = serial.unpack(data, serial.KIND_COUNTING_BLOOM, params_size=_PARAMS.size)
        m, k, capacity, error_rate = _PARAMS.unpack(frame.params)
        from dskata.bloom.standard import _check_loaded_params

        _check_loaded_params(m, k, capacity, error_rate)
        expected = (m + 1) // 2
        if len(frame.payload) != expected:
            raise ValueError(
                f"corrupt payload: {len(frame.payload)} bytes for {m} counters "
                f"(expected {expected})"
            )
        if m % 2 and frame.payload[-1] >> 4:
            raise ValueError("corrupt payload: the padding counter past bit_size is non-zero")
        out = cls.__new__(cls)
        out._m, out._k, out._seed = m, k, frame.seed
        out._capacity = capacity or None
        out._error_rate = error_rate if capacity else None
        out._count = _core.check_loaded_count(frame.count)
        out._counters = bytearray(frame.payload)
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically."""
        serial.write_file(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> CountingBloomFilter:
        """Read a filter saved by :meth:`save`."""
        return cls.from_bytes(serial.read_file(path))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def _check(self) -> None:
        """Assert the structure's invariants (used by tests after every mutation)."""
        assert 1 <= self._m <= _core.MAX_BITS
        assert 1 <= self._k <= _core.MAX_HASHES
        assert len(self._counters) == (self._m + 1) // 2
        if self._m % 2:
            assert self._counters[-1] >> 4 == 0, "padding counter must stay zero"
        # Without false-positive removals, the exact (unsaturated) counters add up to at most
        # k per present insertion.
        values = self._unpacked().astype(np.int64)
        assert self._count >= 0
        assert int(values[values != MAX_COUNT].sum()) <= self._k * self._count
