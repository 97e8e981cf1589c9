"""Kata `hashing`: turn keys into well-mixed 64-bit hashes, then into k table indexes.

Fill in each function; run `dskata kata check hashing` after each step.
Read hashing_kata.md (beside this file) first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mmh3  # noqa: F401  (MurmurHash3 for the bytes path: mmh3.hash64(data, seed)[0])
import numpy as np

MASK64 = (1 << 64) - 1


def normalize_key(key: object) -> bytes | int:
    """Step 1. Return bytes for str (UTF-8) and bytes-like keys; for an int in
    [-2**63, 2**64) its unsigned 64-bit two's-complement value. Raise TypeError naming the
    type for bool, float, None and anything else."""
    raise NotImplementedError("step 1: normalise keys")


def fmix64(x: int) -> int:
    """Step 2. MurmurHash3's 64-bit finaliser: three xor-shifts by 33 and two multiplies by
    0xFF51AFD7ED558CCD and 0xC4CEB9FE1A85EC53, every result kept to 64 bits."""
    raise NotImplementedError("step 2: the fmix64 finaliser")


def hash64(key: object, seed: int = 0) -> int:
    """Step 2. A seeded 64-bit hash, the same in every process: bytes through MurmurHash3,
    ints through fmix64 mixed with the seed. Never Python's hash()."""
    raise NotImplementedError("step 2: a seeded, stable 64-bit hash")


def indexes(key: object, k: int, m: int, seed: int = 0) -> list[int]:
    """Step 3. The k positions of key in [0, m) by double hashing: g_i = h1 + i*h2 (mod 2**64)
    then mod m, with h1 = hash64(key, seed) and h2 a second 64-bit hash of the key."""
    raise NotImplementedError("step 3: k indexes by double hashing")


def hash64_many(keys: Any, seed: int = 0) -> np.ndarray:
    """Step 4. hash64 of every key as a uint64 array: numpy integer arrays without a Python
    loop, any other iterable key by key. Refuse float arrays with TypeError."""
    raise NotImplementedError("step 4: the array path")


def indexes_many(keys: Iterable[Any], k: int, m: int, seed: int = 0) -> np.ndarray:
    """Step 4. An (n, k) uint64 array whose row j equals indexes(keys[j], k, m, seed)."""
    raise NotImplementedError("step 4: k indexes for many keys")
