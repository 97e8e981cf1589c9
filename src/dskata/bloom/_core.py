"""Shared machinery of the Bloom filter family: validation, sizing, probe positions.

The positions of a key are exactly :func:`dskata.hashing.indexes` (Kirsch–Mitzenmacher double
hashing, ``g_i = (h1 + i * h2) mod 2**64 mod m``). The filters do not call ``indexes`` per key
because its argument checks cost more than the probes themselves; instead they take ``(h1, h2)``
from :func:`dskata.hashing.hash_pair` / :func:`~dskata.hashing.hash_pair_rows` (the one place
keys become hashes) and step through the positions themselves. ``tests/test_bloom.py`` proves
both paths equal ``indexes`` / ``indexes_many`` bit for bit.

Batch paths carry a key's hashes as one row of an ``(n, 2)`` ``uint64`` array ``[h1, h2]``, so
selecting or slicing keys selects both hashes together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from dskata.hashing import MASK64, hash_pair, hash_pair_rows, validate_seed

U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Lookups probe this many positions for every key, the rest only for keys still possibly present.
EARLY_ROWS: Final = 2
#: Keys per block on the batch paths: ~16K keys x k probes keep the temporaries in L2.
CHUNK: Final = 16384
#: Largest bit (or counter) array a filter may have: 2**48 bits is 32 TiB, beyond any machine.
MAX_BITS: Final = 1 << 48
#: More hash functions than this only happens for error rates below 1e-300.
MAX_HASHES: Final = 4096
LN2: Final = math.log(2.0)
#: Insertion counts stay below 2**63, so ``len()`` (a C ``ssize_t``) can always report them.
MAX_ITEMS: Final = 1 << 63


def check_int(value: object, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``, else raise naming ``name``."""
    allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return v


def check_fraction(value: object, name: str) -> float:
    """Return ``value`` as a float strictly inside ``(0, 1)``, else raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"{name} must be a float in the open interval (0, 1), "
            f"got {type(value).__name__} {value!r}"
        )
    v = float(value)
    if math.isnan(v) or not 0.0 < v < 1.0:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {v!r}")
    return v


def optimal_bits(capacity: int, error_rate: float) -> int:
    """``m = -n ln p / (ln 2)**2`` rounded up to a whole 64-bit word.

    >>> optimal_bits(1000, 0.01)
    9600
    """
    raw = math.ceil(-capacity * math.log(error_rate) / (LN2 * LN2))
    return max(64, -(-raw // 64) * 64)


def optimal_hashes(bits: int, capacity: int) -> int:
    """``k = round((m / n) ln 2)``, at least 1 (rounded, never truncated).

    >>> optimal_hashes(9600, 1000)
    7
    """
    return max(1, round(bits / capacity * LN2))


def theory_fpr(bits: int, hashes: int, items: float) -> float:
    """False-positive rate ``(1 - e^(-k n / m))^k`` after ``items`` distinct insertions.

    >>> round(theory_fpr(9600, 7, 1000), 4)
    0.01
    """
    if items <= 0:
        return 0.0
    return float((1.0 - math.exp(-hashes * items / bits)) ** hashes)


def estimate_items(bits: int, hashes: int, set_bits: int) -> float:
    """Swamidass–Baldi estimate ``-(m / k) ln(1 - X / m)`` of distinct items from ``X`` set bits.

    A full array carries no information on how many items went in: ``inf``.

    >>> round(estimate_items(9600, 7, 4000))
    739
    """
    if set_bits >= bits:
        return math.inf
    return -(bits / hashes) * math.log1p(-set_bits / bits)


def check_loaded_count(count: int, what: str = "item count") -> int:
    """Refuse a serialised insertion count no filter could reach (``len`` must fit ``ssize_t``)."""
    if not 0 <= count < MAX_ITEMS:
        raise ValueError(f"corrupt header: {what} {count} outside [0, 2**63)")
    return count


def sized(capacity: object, error_rate: object) -> tuple[int, float, int, int]:
    """Validate ``(capacity, error_rate)`` and return ``(n, p, m, k)``."""
    n = check_int(capacity, "capacity", 1)
    p = check_fraction(error_rate, "error_rate")
    m = optimal_bits(n, p)
    if m > MAX_BITS:
        raise ValueError(
            f"capacity={n} at error_rate={p} needs {m} bits, more than the limit of 2**48"
        )
    return n, p, m, min(optimal_hashes(m, n), MAX_HASHES)


# ---------------------------------------------------------------- scalar probes


def positions(key: Any, k: int, m: int, seed: int) -> list[int]:
    """The ``k`` positions of ``key`` (equal to ``indexes(key, k, m, seed)``), seed pre-checked."""
    h1, h2 = hash_pair(key, seed)
    out = []
    for _ in range(k):
        out.append(h1 % m)
        h1 = (h1 + h2) & MASK64
    return out


# ---------------------------------------------------------------- batch probes


def hash_keys(keys: object, seed: int) -> U64Array:
    """Hash a batch of keys (numpy integer array or iterable) to ``(n, 2)`` rows ``[h1, h2]``.

    Every key is validated here, before any filter state changes; the rows are
    :func:`dskata.hashing.hash_pair_rows` (vectorised for integer arrays and ASCII ``str``).
    """
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValueError(f"keys must be a 1-D array, got an array of shape {keys.shape}")
        if keys.dtype.kind not in "iuUSO":
            raise TypeError(
                f"keys array has dtype {keys.dtype}: keys must be integers, str or bytes"
            )
    elif isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"keys must be an iterable of keys, not a single {type(keys).__name__}; "
            "use add()/in for one key"
        )
    elif not isinstance(keys, Iterable):
        raise TypeError(f"keys must be an iterable of keys, got {type(keys).__name__}")
    return hash_pair_rows(keys, seed)


def probe_chunks(hashes: U64Array, k: int, m: int) -> Iterator[tuple[int, I64Array]]:
    """Yield ``(start, pos)`` blocks; ``pos[i, j]`` is position ``i`` of key ``start + j``.

    ``pos`` is ``(k, block)`` int64, equal to ``indexes_many(...).T`` for the block's keys.
    """
    mm = np.uint64(m)
    n = hashes.shape[0]
    with np.errstate(over="ignore"):
        for start in range(0, n, CHUNK):
            block = hashes[start : start + CHUNK]
            step = block[:, 1].copy()  # contiguous: it is read k - 1 times
            out = np.empty((k, block.shape[0]), dtype=np.uint64)
            x = block[:, 0].copy()
            for i in range(k):
                np.remainder(x, mm, out=out[i])
                if i + 1 < k:
                    x += step
            # m < 2**48, so every position fits an int64 (numpy indexes fastest with intp).
            yield start, out.view(np.int64)


def block_positions(x: U64Array, step: U64Array, rows: int, m: int) -> I64Array:
    """Positions ``x, x + step, ...`` (``rows`` of them, mod ``2**64``) mod ``m`` as ``(rows, n)``.

    ``x`` is advanced in place to the last position's hash (``rows - 1`` steps).
    """
    mm = np.uint64(m)
    out = np.empty((rows, x.shape[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(rows):
            np.remainder(x, mm, out=out[i])
            if i + 1 < rows:
                x += step
    return out.view(np.int64)


def all_bits_set(buf: npt.NDArray[np.uint8], pos: I64Array) -> BoolArray:
    """For each column of the ``(rows, n)`` positions: are all its bits set in packed ``buf``?"""
    # Gather from the packed bytes: 1/8 of the memory of one byte per bit, so the random reads
    # stay in cache (unpacking first measured 2x slower at 1M keys). Whole (rows, n) arrays at
    # once; the shift is the position's low byte & 7 (an unsafe cast to uint8 keeps it), about
    # 20% faster than row by row with int64 ``& 7``.
    shift = pos.astype(np.uint8)
    shift &= np.uint8(7)
    probed = buf.take(pos >> 3)
    probed >>= shift
    hit: npt.NDArray[np.uint8] = np.bitwise_and.reduce(probed, axis=0)
    hit &= np.uint8(1)
    return hit.view(np.bool_)


def as_uint8(buffer: Any) -> npt.NDArray[np.uint8]:
    """A writable numpy view of a bitarray's or bytearray's memory (no copy)."""
    return np.frombuffer(buffer, dtype=np.uint8)


SF = TypeVar("SF", bound="SizedFilter")


class SizedFilter:
    """The sizing parameters and raw constructor shared by the standard and counting filters."""

    __slots__ = ()
    _m: int
    _k: int
    _seed: int
    _capacity: int | None
    _error_rate: float | None

    def _init(
        self, m: int, k: int, seed: int, capacity: int | None, error_rate: float | None
    ) -> None:
        raise TypeError(f"{type(self).__name__} must define _init")  # pragma: no cover

    @classmethod
    def from_size(cls: type[SF], bit_size: int, num_hashes: int, *, seed: int = 0) -> SF:
        """A filter from raw parameters: ``bit_size`` positions (``m``) and ``num_hashes`` (``k``).

        Complexity: O(m) to allocate.

        >>> from dskata import BloomFilter, CountingBloomFilter
        >>> BloomFilter.from_size(1024, 3).bit_size, CountingBloomFilter.from_size(64, 2).num_hashes
        (1024, 2)
        """
        m = check_int(bit_size, "bit_size", 1, MAX_BITS)
        k = check_int(num_hashes, "num_hashes", 1, MAX_HASHES)
        self = cls.__new__(cls)
        self._init(m, k, validate_seed(seed), None, None)
        return self

    @property
    def capacity(self) -> int | None:
        """The capacity the filter was sized for; ``None`` for the raw form."""
        return self._capacity

    @property
    def error_rate(self) -> float | None:
        """The target false-positive rate at capacity; ``None`` for the raw form."""
        return self._error_rate

    @property
    def bit_size(self) -> int:
        """``m``, the number of bits (counters, for a counting filter)."""
        return self._m

    @property
    def num_hashes(self) -> int:
        """``k``, the number of positions per key."""
        return self._k

    @property
    def seed(self) -> int:
        """The hash seed."""
        return self._seed
