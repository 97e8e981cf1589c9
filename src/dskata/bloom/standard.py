"""The standard Bloom filter (Bloom 1970), sized by the optimal formulas.

Theory of operation
-------------------
A Bloom filter is an array of ``m`` bits and ``k`` hash functions. Adding a key sets the ``k``
bits its hashes point to; a lookup answers "maybe present" when all ``k`` bits are set and
"definitely absent" otherwise. Bits are never cleared, so there are no false negatives; a
false positive happens when other keys have set all ``k`` bits of an absent key. After ``n``
distinct insertions that probability is about ``(1 - e^(-kn/m))^k``, smallest at
``k = (m/n) ln 2``, where ``m = -n ln p / (ln 2)^2`` bits reach a target rate ``p``.

The ``k`` positions come from two 64-bit hashes by double hashing (Kirsch and Mitzenmacher
2006, see :mod:`dskata.hashing`). The bits live in a little-endian ``bitarray``: the scalar
path (``add``, ``in``) indexes it from Python with no numpy call, and the batch path views the
same memory as a numpy ``uint8`` array, so both paths read and write the very same bits.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any, Final

import mmh3
import numpy as np
from bitarray import bitarray

from dskata import serial
from dskata.bloom import _core
from dskata.hashing import MASK64, hash_pair, validate_seed

__all__ = ["BloomFilter"]

# m, k, capacity (0 for the raw form), error_rate (0.0 for the raw form)
_PARAMS: Final = struct.Struct("<QIQd")
# Above this many probe positions per bit, setting bits through a one-byte-per-bit scratch
# array and packbits beats numpy's unbuffered ``bitwise_or.at`` (measured, see docs/bloom.md).
_SCRATCH_DENSITY: Final = 0.125
_SCRATCH_MAX_BITS: Final = 1 << 27


class BloomFilter(_core.SizedFilter):
    """A Bloom filter: set membership with false positives at a chosen rate, never false negatives.

    Args:
        capacity: how many distinct keys the filter is sized for (``n``), an int >= 1.
        error_rate: target false-positive rate ``p`` at capacity, in ``(0, 1)``.
        seed: hash seed in ``[0, 2**32)``; use a secret random one if keys may be adversarial.

    Keys are ``str`` (hashed as UTF-8), bytes-like, or ``int`` (numpy integers too); anything
    else raises :class:`TypeError`. Not thread-safe: guard concurrent writers with a lock.

    Complexity: O(k) per key, ``m/8`` bytes of memory.

    >>> bf = BloomFilter(1000, 0.01)
    >>> bf.add("apple")
    >>> "apple" in bf, "pear" in bf
    (True, False)
    >>> bf.bit_size, bf.num_hashes
    (9600, 7)
    """

    __slots__ = ("_bits", "_capacity", "_count", "_error_rate", "_k", "_m", "_seed")
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, capacity: int, error_rate: float = 0.01, *, seed: int = 0) -> None:
        n, p, m, k = _core.sized(capacity, error_rate)
        self._init(m, k, validate_seed(seed), n, p)

    def _init(
        self, m: int, k: int, seed: int, capacity: int | None, error_rate: float | None
    ) -> None:
        self._m = m
        self._k = k
        self._seed = seed
        self._capacity = capacity
        self._error_rate = error_rate
        self._count = 0
        self._bits = bitarray(m, endian="little")
        self._bits.setall(0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the bit array."""
        return self._bits.nbytes

    @property
    def fill_ratio(self) -> float:
        """Fraction of bits set, in ``[0, 1]``.

        Complexity: O(m), vectorised popcount.
        """
        return self._bits.count() / self._m

    def __len__(self) -> int:
        """Number of insertions (``add`` calls and keys given to ``add_many``), repeats included."""
        return self._count

    def approx_len(self) -> float:
        """Estimate of the distinct keys inserted, from the number of set bits.

        ``-(m/k) ln(1 - X/m)`` (Swamidass and Baldi 2007); ``inf`` once every bit is set.

        Complexity: O(m), vectorised popcount.

        >>> bf = BloomFilter(1000, 0.01)
        >>> bf.add_many(range(500))
        >>> abs(bf.approx_len() - 500) < 25
        True
        """
        return _core.estimate_items(self._m, self._k, self._bits.count())

    def expected_error_rate(self) -> float:
        """The theoretical false-positive rate for the current fill: ``fill_ratio ** k``.

        Complexity: O(m), vectorised popcount.
        """
        return float(self.fill_ratio**self._k)

    # ------------------------------------------------------------ scalar path

    def add(self, key: Any) -> None:
        """Insert ``key``.

        Complexity: O(k).
        """
        if type(key) is bytes or (type(key) is str and key.isascii()):
            # Inlined hash_pair fast path: h1, h2 are the two halves of one MurmurHash3 digest.
            # (Non-ASCII str goes through hash_pair: mmh3 crashes on a lone surrogate.)
            h1, h2 = mmh3.hash64(key, self._seed)
            h1 &= MASK64
            h2 = (h2 & MASK64) | 1
        else:
            h1, h2 = hash_pair(key, self._seed)
        bits = self._bits
        m = self._m
        bits[h1 % m] = 1
        for _ in range(self._k - 1):
            h1 = (h1 + h2) & MASK64
            bits[h1 % m] = 1
        self._count += 1

    def __contains__(self, key: Any) -> bool:
        """True if ``key`` may have been added; False means it certainly was not.

        Complexity: O(k), stops at the first clear bit.
        """
        if type(key) is bytes or (type(key) is str and key.isascii()):
            h1, h2 = mmh3.hash64(key, self._seed)
            h1 &= MASK64
            h2 = (h2 & MASK64) | 1
        else:
            h1, h2 = hash_pair(key, self._seed)
        bits = self._bits
        m = self._m
        if not bits[h1 % m]:
            return False
        for _ in range(self._k - 1):
            h1 = (h1 + h2) & MASK64
            if not bits[h1 % m]:
                return False
        return True

    # ------------------------------------------------------------ batch path

    def add_many(self, keys: Any) -> None:
        """Insert every key of ``keys``: a numpy integer/str/bytes array or an iterable of keys.

        All keys are validated before any bit changes. Bit for bit the same as ``add`` per key.

        Complexity: O(n k), vectorised (integer arrays hash without a Python loop).

        >>> import numpy as np
        >>> bf = BloomFilter(1000, 0.01)
        >>> bf.add_many(np.arange(100))
        >>> 99 in bf, len(bf)
        (True, 100)
        """
        self._add_hashes(_core.hash_keys(keys, self._seed))

    def _add_hashes(self, h1: _core.U64Array) -> None:
        n = h1.shape[0]
        if n == 0:
            return
        buf = _core.as_uint8(self._bits)
        if n * self._k >= self._m * _SCRATCH_DENSITY and self._m <= _SCRATCH_MAX_BITS:
            # Dense batch: one byte per bit absorbs duplicate positions with a plain store.
            scratch = np.zeros(self._m, dtype=np.bool_)
            for _, pos in _core.probe_chunks(h1, self._k, self._m):
                scratch[pos.ravel()] = True
            buf |= np.packbits(scratch, bitorder="little")
        else:
            one = np.uint8(1)
            for _, pos in _core.probe_chunks(h1, self._k, self._m):
                flat = pos.ravel()
                np.bitwise_or.at(buf, flat >> 3, one << (flat & 7).astype(np.uint8))
        self._count += n

    def contains_many(self, keys: Any) -> _core.BoolArray:
        """Membership of every key of ``keys`` as a numpy bool array (same answers as ``in``).

        Complexity: O(n k), vectorised.

        >>> bf = BloomFilter(1000, 0.01)
        >>> bf.add("a")
        >>> bf.contains_many(["a", "b"]).tolist()
        [True, False]
        """
        return self._contains_hashes(_core.hash_keys(keys, self._seed))

    def _contains_hashes(self, hashes: _core.U64Array) -> _core.BoolArray:
        n, k, m = hashes.shape[0], self._k, self._m
        out = np.empty(n, dtype=np.bool_)
        buf = _core.as_uint8(self._bits)
        first = min(k, _core.EARLY_ROWS)
        for start in range(0, n, _core.CHUNK):
            block = hashes[start : start + _core.CHUNK]
            x, step = block[:, 0].copy(), block[:, 1].copy()
            hit = _core.all_bits_set(buf, _core.block_positions(x, step, first, m))
            if k > first:
                # Most absent keys already failed (at half fill, 3 in 4 after two probes): probe
                # the other k - 2 positions of the survivors only (about 10% faster at 50% hits).
                live = np.flatnonzero(hit)
                x, step = x[live], step[live]
                with np.errstate(over="ignore"):
                    x += step
                hit[live] = _core.all_bits_set(buf, _core.block_positions(x, step, k - first, m))
            out[start : start + hit.shape[0]] = hit
        return out

    # ------------------------------------------------------------ set algebra

    def _check_compatible(self, other: object, op: str) -> BloomFilter:
        if not isinstance(other, BloomFilter):
            raise TypeError(f"{op} needs another BloomFilter, got {type(other).__name__}")
        mine = (self._m, self._k, self._seed)
        theirs = (other._m, other._k, other._seed)
        if mine != theirs:
            raise ValueError(
                f"{op} needs filters with equal (bit_size, num_hashes, seed): {mine} != {theirs}"
            )
        return other

    def update(self, *others: BloomFilter) -> None:
        """Union in place: afterwards this filter contains every key any of ``others`` contains.

        All ``others`` are checked before any bit changes. ``len`` becomes the sum of insertions.

        Complexity: O(m) per other filter.
        """
        checked = [self._check_compatible(o, "update") for o in others]
        for o in checked:
            self._bits |= o._bits
            self._count += o._count

    def __ior__(self, other: BloomFilter) -> BloomFilter:
        self.update(other)
        return self

    def __or__(self, other: BloomFilter) -> BloomFilter:
        """Union: a new filter containing the keys of both.

        >>> a, b = BloomFilter(100), BloomFilter(100)
        >>> a.add("x"); b.add("y")
        >>> "x" in (a | b) and "y" in (a | b)
        True
        """
        self._check_compatible(other, "|")
        out = self.copy()
        out.update(other)
        return out

    def __iand__(self, other: BloomFilter) -> BloomFilter:
        self._check_compatible(other, "&=")
        self._intersect(other)
        return self

    def __and__(self, other: BloomFilter) -> BloomFilter:
        """Intersection of bit arrays: contains every key both contain (and more false positives).

        ``len`` of the result is ``approx_len()`` rounded, capped by both operands' ``len``.
        """
        self._check_compatible(other, "&")
        out = self.copy()
        out._intersect(other)
        return out

    def _intersect(self, other: BloomFilter) -> None:
        self._bits &= other._bits
        estimate = self.approx_len()
        cap = min(self._count, other._count)
        self._count = cap if math.isinf(estimate) else min(cap, round(estimate))

    def copy(self) -> BloomFilter:
        """An independent copy.

        Complexity: O(m).
        """
        out = type(self).__new__(type(self))
        out._m, out._k, out._seed = self._m, self._k, self._seed
        out._capacity, out._error_rate = self._capacity, self._error_rate
        out._count = self._count
        out._bits = self._bits.copy()
        return out

    def clear(self) -> None:
        """Remove every key (all bits cleared, ``len`` 0)."""
        self._bits.setall(0)
        self._count = 0

    def __eq__(self, other: object) -> bool:
        """Equal parameters (m, k, seed) and equal bits; insertion counts are not compared."""
        if not isinstance(other, BloomFilter):
            return NotImplemented
        return (self._m, self._k, self._seed) == (other._m, other._k, other._seed) and bool(
            self._bits == other._bits
        )

    def __repr__(self) -> str:
        sizing = (
            f"capacity={self._capacity}, error_rate={self._error_rate}"
            if self._capacity is not None
            else "raw"
        )
        return (
            f"BloomFilter({sizing}, bit_size={self._m}, num_hashes={self._k}, "
            f"seed={self._seed}, len={self._count})"
        )

    # ------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """Serialise to the dskata envelope (little-endian header, bits, CRC-32).

        Complexity: O(m).

        >>> bf = BloomFilter(100); bf.add(1)
        >>> BloomFilter.from_bytes(bf.to_bytes()) == bf
        True
        """
        params = _PARAMS.pack(self._m, self._k, self._capacity or 0, self._error_rate or 0.0)
        return serial.pack(
            serial.KIND_BLOOM,
            seed=self._seed,
            count=self._count,
            params=params,
            payload=self._bits.tobytes(),
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> BloomFilter:
        """Load a filter written by :meth:`to_bytes`.

        Raises :class:`ValueError` for truncated, corrupted, oversized, inconsistent or
        wrong-kind input, before allocating anything in proportion to it.

        Complexity: O(m).
        """
        frame = serial.unpack(data, serial.KIND_BLOOM, params_size=_PARAMS.size)
        m, k, capacity, error_rate = _PARAMS.unpack(frame.params)
        _check_loaded_params(m, k, capacity, error_rate)
        _check_payload(frame.payload, m)
        out = cls.__new__(cls)
        out._m, out._k, out._seed = m, k, frame.seed
        out._capacity = capacity or None
        out._error_rate = error_rate if capacity else None
        out._count = _core.check_loaded_count(frame.count)
        out._bits = bits_from_payload(frame.payload, m)
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically."""
        serial.write_file(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> BloomFilter:
        """Read a filter saved by :meth:`save`."""
        return cls.from_bytes(serial.read_file(path))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    # ------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert the structure's invariants (used by tests after every mutation)."""
        assert 1 <= self._m <= _core.MAX_BITS
        assert 1 <= self._k <= _core.MAX_HASHES
        assert len(self._bits) == self._m
        assert self._bits.endian == "little"
        assert self._count >= 0
        assert 0 <= self._seed < 1 << 32
        if self._capacity is not None:
            assert self._error_rate is not None
            assert self._m == _core.optimal_bits(self._capacity, self._error_rate)
            assert self._k == min(_core.optimal_hashes(self._m, self._capacity), _core.MAX_HASHES)


def _check_loaded_params(m: int, k: int, capacity: int, error_rate: float) -> None:
    if not 1 <= m <= _core.MAX_BITS:
        raise ValueError(f"corrupt parameters: bit_size {m} outside [1, 2**48]")
    if not 1 <= k <= _core.MAX_HASHES:
        raise ValueError(f"corrupt parameters: num_hashes {k} outside [1, {_core.MAX_HASHES}]")
    if capacity:
        if math.isnan(error_rate) or not 0.0 < error_rate < 1.0:
            raise ValueError(f"corrupt parameters: error_rate {error_rate!r} outside (0, 1)")
        if (
            _core.optimal_bits(capacity, error_rate) != m
            or min(_core.optimal_hashes(m, capacity), _core.MAX_HASHES) != k
        ):
            raise ValueError(
                f"corrupt parameters: (m={m}, k={k}) do not match "
                f"capacity={capacity}, error_rate={error_rate}"
            )


def _check_payload(payload: memoryview, m: int) -> None:
    expected = (m + 7) // 8
    if len(payload) != expected:
        raise ValueError(
            f"corrupt payload: {len(payload)} bytes for {m} bits (expected {expected})"
        )
    if m % 8 and payload[-1] >> (m % 8):
        raise ValueError("corrupt payload: padding bits past bit_size are set")


def bits_from_payload(payload: memoryview, m: int) -> bitarray:
    """A little-endian bitarray of exactly ``m`` bits from a checked payload."""
    bits = bitarray(endian="little")
    bits.frombytes(bytes(payload))
    del bits[m:]
    return bits
