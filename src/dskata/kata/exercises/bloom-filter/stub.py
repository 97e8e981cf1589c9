"""Kata `bloom-filter`: a Bloom filter sized from (capacity, error rate), with batch paths,
union and serialisation.

Fill in each method; run `dskata kata check bloom-filter` after each step.
Read bloom_kata.md (beside this file) first.
You may use your hashing kata or dskata.hashing: `indexes(key, k, m, seed)` gives k positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bitarray import bitarray  # noqa: F401  (a compact bit array: bitarray(m); a[i] = 1)

from dskata import serial  # noqa: F401  (serial.pack / serial.unpack: an envelope with a CRC)
from dskata.hashing import indexes, indexes_many  # noqa: F401


class BloomFilter:
    """Set membership in m bits with k hash positions per key: no false negatives, and false
    positives at about `error_rate` once `capacity` distinct keys are in."""

    def __init__(self, capacity: int, error_rate: float = 0.01, *, seed: int = 0) -> None:
        """Step 1: keep the bits and the parameters. Step 2: size them from the formulas
        m = -n ln p / (ln 2)^2 (rounded up to a multiple of 64) and k = round((m/n) ln 2);
        raise ValueError for capacity <= 0 or error_rate outside (0, 1)."""
        raise NotImplementedError("step 1: store m bits and k, sized from capacity and error_rate")

    @property
    def bit_size(self) -> int:
        """Step 2. m, the number of bits."""
        raise NotImplementedError("step 2: the number of bits")

    @property
    def num_hashes(self) -> int:
        """Step 2. k, the number of positions per key."""
        raise NotImplementedError("step 2: the number of hash positions")

    def add(self, key: Any) -> None:
        """Step 1. Set the k bits of key (str, bytes or int; TypeError for anything else)."""
        raise NotImplementedError("step 1: set the key's k bits")

    def __contains__(self, key: Any) -> bool:
        """Step 1. True when all k bits of key are set."""
        raise NotImplementedError("step 1: test the key's k bits")

    def __len__(self) -> int:
        """Step 1. The number of add calls (keys given to add_many count too)."""
        raise NotImplementedError("step 1: count insertions")

    def add_many(self, keys: Any) -> None:
        """Step 5. Add every key of a numpy integer array or an iterable of keys."""
        raise NotImplementedError("step 5: add a batch of keys")

    def contains_many(self, keys: Any) -> np.ndarray:
        """Step 5. A numpy bool array: element i is `keys[i] in self`."""
        raise NotImplementedError("step 5: test a batch of keys")

    def update(self, other: BloomFilter) -> None:
        """Step 6. In-place union; ValueError (and no change) unless m, k and seed are equal."""
        raise NotImplementedError("step 6: union in place")

    def __or__(self, other: BloomFilter) -> BloomFilter:
        """Step 6. A new filter holding the keys of both."""
        raise NotImplementedError("step 6: union")

    def to_bytes(self) -> bytes:
        """Step 6. Parameters, insertion count, bits and a checksum, as bytes."""
        raise NotImplementedError("step 6: serialise")

    @classmethod
    def from_bytes(cls, data: bytes) -> BloomFilter:
        """Step 6. The filter back; ValueError for truncated or corrupted data."""
        raise NotImplementedError("step 6: deserialise and check")
