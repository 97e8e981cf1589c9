"""The scalable Bloom filter (Almeida, Baquero, Preguiça and Hutchison 2007).

Theory of operation
-------------------
A Bloom filter must be sized for its final number of keys. A scalable Bloom filter grows
instead: it is a list of plain filters, and when the newest one reaches its capacity a new one
is added with ``s`` times the capacity (growth factor, 2 or 4) and ``r`` times the
false-positive rate (tightening ratio, ``0 < r < 1``). A key is present when any filter holds
it, so the false-positive rates add up, at most to the geometric series
``p0 * (1 + r + r^2 + ...) = p0 / (1 - r)``. Starting at ``p0 = p * (1 - r)`` therefore keeps the
compounded rate at or below the target ``p`` however far the filter grows (paper, §4, eq. 3).
Memory stays within a constant factor of a filter sized in advance: about 2x for ``s = 2``,
``r = 0.9`` after 100x growth (the extra bits pay for the tighter rates, §5).

Only new keys fill a filter: ``add`` first asks whether the key may already be present, so
repeated insertions never trigger growth.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any, Final

import numpy as np

from dskata import serial
from dskata.bloom import _core
from dskata.bloom.standard import BloomFilter, _check_payload, bits_from_payload
from dskata.hashing import validate_seed

__all__ = ["ScalableBloomFilter"]

# initial_capacity, error_rate, growth, ratio, number of filters
_PARAMS: Final = struct.Struct("<QdIdI")
_SUB: Final = struct.Struct("<Q")  # per-filter insertion count, before its bits
#: 64 doublings is 2**64 times the first capacity: far beyond any loadable filter.
MAX_FILTERS: Final = 64
GROWTH_FACTORS: Final = (2, 4)


def _filter_params(n0: int, p: float, growth: int, ratio: float, i: int) -> tuple[int, float]:
    """Capacity and error rate of filter ``i``: ``n0 * s**i`` and ``p * (1 - r) * r**i``."""
    return n0 * growth**i, p * (1.0 - ratio) * ratio**i


class ScalableBloomFilter:
    """A Bloom filter that grows as keys arrive, keeping the compounded error rate <= target.

    Args:
        initial_capacity: capacity of the first filter, an int >= 1.
        error_rate: target false-positive rate of the whole structure, in ``(0, 1)``.
        growth: capacity multiplier per new filter, 2 or 4.
        ratio: tightening ratio ``r`` of the error rate per new filter, in ``(0, 1)``.
        seed: hash seed in ``[0, 2**32)``.

    Not thread-safe: guard concurrent writers with a lock.

    Complexity: O(k * filters) per key; about 2x the memory of a right-sized filter.

    >>> sbf = ScalableBloomFilter(100, 0.01)
    >>> sbf.add_many(range(1000))
    >>> sbf.num_filters, 999 in sbf
    (4, True)
    """

    __slots__ = ("_count", "_error_rate", "_filters", "_growth", "_n0", "_ratio", "_seed")
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(
        self,
        initial_capacity: int = 1000,
        error_rate: float = 0.01,
        *,
        growth: int = 2,
        ratio: float = 0.9,
        seed: int = 0,
    ) -> None:
        n0 = _core.check_int(initial_capacity, "initial_capacity", 1)
        p = _core.check_fraction(error_rate, "error_rate")
        if isinstance(growth, bool) or not isinstance(growth, (int, np.integer)):
            raise TypeError(f"growth must be 2 or 4, got {type(growth).__name__} {growth!r}")
        if int(growth) not in GROWTH_FACTORS:
            raise ValueError(f"growth must be 2 or 4, got {growth}")
        r = _core.check_fraction(ratio, "ratio")
        s = validate_seed(seed)
        # Check the first filter can be built before keeping anything.
        _core.sized(*_filter_params(n0, p, int(growth), r, 0))
        self._n0, self._error_rate, self._growth, self._ratio = n0, p, int(growth), r
        self._seed = s
        self._count = 0
        self._filters: list[BloomFilter] = []
        self._grow()

    def _grow(self) -> BloomFilter:
        i = len(self._filters)
        if i >= MAX_FILTERS:
            raise ValueError(f"cannot grow past {MAX_FILTERS} filters")
        capacity, rate = _filter_params(self._n0, self._error_rate, self._growth, self._ratio, i)
        bf = BloomFilter(capacity, rate, seed=self._seed)
        self._filters.append(bf)
        return bf

    # ------------------------------------------------------------ properties

    @property
    def initial_capacity(self) -> int:
        """Capacity of the first filter."""
        return self._n0

    @property
    def error_rate(self) -> float:
        """The target compounded false-positive rate."""
        return self._error_rate

    @property
    def growth(self) -> int:
        """Capacity multiplier per new filter."""
        return self._growth

    @property
    def ratio(self) -> float:
        """Error-rate tightening ratio per new filter."""
        return self._ratio

    @property
    def seed(self) -> int:
        """The hash seed."""
        return self._seed

    @property
    def num_filters(self) -> int:
        """How many filters the structure holds."""
        return len(self._filters)

    @property
    def filters(self) -> tuple[BloomFilter, ...]:
        """Copies of the underlying filters, oldest first (read-only view of the structure)."""
        return tuple(f.copy() for f in self._filters)

    @property
    def capacity(self) -> int:
        """Total capacity of the filters built so far."""
        return sum(f.capacity or 0 for f in self._filters)

    @property
    def bit_size(self) -> int:
        """Total bits over all filters."""
        return sum(f.bit_size for f in self._filters)

    @property
    def nbytes(self) -> int:
        """Bytes held by all bit arrays."""
        return sum(f.nbytes for f in self._filters)

    def __len__(self) -> int:
        """Number of insertions (``add`` calls and keys given to ``add_many``), repeats included."""
        return self._count

    def approx_len(self) -> float:
        """Estimate of distinct keys: the sum of each filter's estimate.

        Complexity: O(total bits).
        """
        return float(sum(f.approx_len() for f in self._filters))

    def expected_error_rate(self) -> float:
        """Theoretical false-positive rate now: ``1 - prod(1 - fpr_i)`` over the filters."""
        keep = 1.0
        for f in self._filters:
            keep *= 1.0 - f.expected_error_rate()
        return 1.0 - keep

    # ------------------------------------------------------------ operations

    def add(self, key: Any) -> None:
        """Insert ``key``; a key that may already be present takes no room.

        Complexity: O(k * filters).
        """
        if key in self:  # also validates the key type before any change
            self._count += 1
            return
        current = self._filters[-1]
        if len(current) >= (current.capacity or 0):
            current = self._grow()
        current.add(key)
        self._count += 1

    def __contains__(self, key: object) -> bool:
        """True if ``key`` may have been added. Newest filters are asked first (they hold most).

        Complexity: O(k * filters).
        """
        return any(key in f for f in reversed(self._filters))

    def contains_many(self, keys: Any) -> _core.BoolArray:
        """Membership of every key as a numpy bool array (same answers as ``in``).

        Complexity: O(n k * filters), vectorised; keys are hashed once.
        """
        return self._contains_hashes(_core.hash_keys(keys, self._seed))

    def _contains_hashes(self, h1: _core.U64Array) -> _core.BoolArray:
        out = self._filters[-1]._contains_hashes(h1)
        for f in self._filters[:-1]:
            out |= f._contains_hashes(h1)
        return out

    def add_many(self, keys: Any) -> None:
        """Insert every key of ``keys``; same final membership as ``add`` per key.

        Keys are validated before anything changes. Keys that may already be present take no
        room; duplicates *within* one batch each count against capacity (the structure grows
        a little early, never late, so the error bound holds).

        Complexity: O(n k * filters), vectorised; keys are hashed once.
        """
        h1 = _core.hash_keys(keys, self._seed)
        n = h1.shape[0]
        if n == 0:
            return
        fresh = h1[~self._contains_hashes(h1)]
        while fresh.shape[0]:
            current = self._filters[-1]
            room = (current.capacity or 0) - len(current)
            if room <= 0:
                current = self._grow()
                continue
            take = fresh[:room]
            current._add_hashes(take)
            fresh = fresh[room:]
        self._count += n

    # ------------------------------------------------------------ misc

    def copy(self) -> ScalableBloomFilter:
        """An independent copy."""
        out = type(self).__new__(type(self))
        out._n0, out._error_rate, out._growth = self._n0, self._error_rate, self._growth
        out._ratio, out._seed, out._count = self._ratio, self._seed, self._count
        out._filters = [f.copy() for f in self._filters]
        return out

    def __eq__(self, other: object) -> bool:
        """Equal parameters and equal filters."""
        if not isinstance(other, ScalableBloomFilter):
            return NotImplemented
        return self._params() == other._params() and self._filters == other._filters

    def _params(self) -> tuple[int, float, int, float, int]:
        return (self._n0, self._error_rate, self._growth, self._ratio, self._seed)

    def __repr__(self) -> str:
        return (
            f"ScalableBloomFilter(initial_capacity={self._n0}, error_rate={self._error_rate}, "
            f"growth={self._growth}, ratio={self._ratio}, seed={self._seed}, "
            f"filters={len(self._filters)}, len={self._count})"
        )

    # ------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """Serialise: parameters, then per filter its insertion count and bits; CRC-32.

        >>> sbf = ScalableBloomFilter(10); sbf.add_many(range(50))
        >>> ScalableBloomFilter.from_bytes(sbf.to_bytes()) == sbf
        True
        """
        params = _PARAMS.pack(
            self._n0, self._error_rate, self._growth, self._ratio, len(self._filters)
        )
        payload = b"".join(_SUB.pack(len(f)) + f._bits.tobytes() for f in self._filters)
        return serial.pack(
            serial.KIND_SCALABLE_BLOOM,
            seed=self._seed,
            count=self._count,
            params=params,
            payload=payload,
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> ScalableBloomFilter:
        """Load a filter written by :meth:`to_bytes`; :class:`ValueError` for malformed input.

        Every filter's size is derived from the parameters and the total checked against the
        payload before any bit array is allocated.
        """
        frame = serial.unpack(data, serial.KIND_SCALABLE_BLOOM, params_size=_PARAMS.size)
        n0, p, growth, ratio, nfilters = _PARAMS.unpack(frame.params)
        if n0 < 1 or growth not in GROWTH_FACTORS or not 1 <= nfilters <= MAX_FILTERS:
            raise ValueError(
                f"corrupt parameters: initial_capacity={n0}, growth={growth}, filters={nfilters}"
            )
        for name, value in (("error_rate", p), ("ratio", ratio)):
            if math.isnan(value) or not 0.0 < value < 1.0:
                raise ValueError(f"corrupt parameters: {name} {value!r} outside (0, 1)")
        sizes = []
        for i in range(nfilters):
            capacity, rate = _filter_params(n0, p, growth, ratio, i)
            try:
                _, _, m, k = _core.sized(capacity, rate)
            except ValueError as exc:
                raise ValueError(f"corrupt parameters: filter {i}: {exc}") from None
            sizes.append((capacity, rate, m, k))
        expected = sum(_SUB.size + (m + 7) // 8 for _, _, m, _ in sizes)
        if len(frame.payload) != expected:
            raise ValueError(
                f"corrupt payload: {len(frame.payload)} bytes, the parameters need {expected}"
            )
        total = _core.check_loaded_count(frame.count)
        counts = []
        offset = 0
        for i, (capacity, _, m, _) in enumerate(sizes):
            (count,) = _SUB.unpack_from(frame.payload, offset)
            offset += _SUB.size + (m + 7) // 8
            # Older filters are full (growth happens only then), the newest holds at most its
            # capacity, and every key a filter holds was counted by the whole structure.
            full = i < nfilters - 1
            if count > capacity or (full and count != capacity):
                raise ValueError(
                    f"corrupt payload: filter {i} claims {count} keys, capacity {capacity}"
                    + (" (an older filter must be full)" if full else "")
                )
            counts.append(count)
        if sum(counts) > total:
            raise ValueError(
                f"corrupt header: item count {total} is below the filters' {sum(counts)} keys"
            )
        out = cls.__new__(cls)
        out._n0, out._error_rate, out._growth, out._ratio = n0, p, growth, ratio
        out._seed, out._count = frame.seed, total
        out._filters = []
        offset = 0
        for (capacity, rate, m, k), count in zip(sizes, counts, strict=True):
            offset += _SUB.size
            chunk = frame.payload[offset : offset + (m + 7) // 8]
            offset += len(chunk)
            _check_payload(chunk, m)
            bf = BloomFilter.__new__(BloomFilter)
            bf._m, bf._k, bf._seed = m, k, frame.seed
            bf._capacity, bf._error_rate, bf._count = capacity, rate, count
            bf._bits = bits_from_payload(chunk, m)
            out._filters.append(bf)
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically."""
        serial.write_file(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> ScalableBloomFilter:
        """Read a filter saved by :meth:`save`."""
        return cls.from_bytes(serial.read_file(path))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def _check(self) -> None:
        """Assert the structure's invariants (used by tests after every mutation)."""
        assert 1 <= len(self._filters) <= MAX_FILTERS
        for i, f in enumerate(self._filters):
            f._check()
            capacity, rate = _filter_params(
                self._n0, self._error_rate, self._growth, self._ratio, i
            )
            assert (f.capacity, f.error_rate, f.seed) == (capacity, rate, self._seed)
            # Only the newest filter may still take keys; older ones are full.
            if i < len(self._filters) - 1:
                assert len(f) >= capacity
            assert len(f) <= capacity
        assert self._count >= sum(len(f) for f in self._filters)
        # The compounded theoretical bound never exceeds the target.
        bound = sum(f.error_rate or 0.0 for f in self._filters)
        assert bound <= self._error_rate * (1 + 1e-9)
