"""Hashing workloads: 64-bit hashes of integer and string keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from dskata.bench.core import Impl, Workload

_SEED = 12345
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _uint64_keys(n: int) -> npt.NDArray[np.uint64]:
    return np.random.default_rng(0).integers(0, 2**63, size=n, dtype=np.uint64)


def _str_keys(n: int) -> list[str]:
    return [f"key-{i}" for i in range(n)]


def _numpy_fmix64(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # The plain, unchunked numpy baseline: seed xor, then three xorshifts and two multiplies.
    x: npt.NDArray[np.uint64] = keys ^ np.uint64(_SEED)
    x = x ^ (x >> _S33)
    x = x * _C1
    x = x ^ (x >> _S33)
    x = x * _C2
    out: npt.NDArray[np.uint64] = x ^ (x >> _S33)
    return out


def _ours(data: Any, subject: Any) -> Callable[[], object]:
    return lambda: subject(data, seed=_SEED)


def _numpy_baseline(data: Any, subject: Any) -> Callable[[], object]:
    return lambda: _numpy_fmix64(data)


def _mmh3_loop(data: Any, subject: Any) -> Callable[[], object]:
    import mmh3

    h = mmh3.hash64
    if isinstance(data, np.ndarray):
        keys = [int(v).to_bytes(8, "little") for v in data]
        return lambda: [h(k, _SEED) for k in keys]
    return lambda: [h(k, _SEED) for k in data]


def _xxhash_loop(data: Any, subject: Any) -> Callable[[], object]:
    import xxhash

    h = xxhash.xxh64_intdigest
    if isinstance(data, np.ndarray):
        keys = [int(v).to_bytes(8, "little") for v in data]
        return lambda: [h(k, _SEED) for k in keys]
    # xxhash refuses str: a user has to encode, so the loop does too.
    return lambda: [h(k.encode(), _SEED) for k in data]


WORKLOADS = [
    Workload(
        family="hashing",
        name="hash64_many-uint64",
        description="64-bit hashes of uint64 keys, seeded",
        items=1_000_000,
        quick_items=200_000,
        setup=_uint64_keys,
        subject="hash64_many",
        impls=(
            Impl("dskata", "dskata", _ours),
            Impl("numpy fmix64", "baseline", _numpy_baseline),
            Impl("mmh3 loop", "peer", _mmh3_loop, requires=("mmh3",)),
            Impl("xxhash loop", "peer", _xxhash_loop, requires=("xxhash",)),
        ),
    ),
    Workload(
        family="hashing",
        name="hash64_many-str",
        description="64-bit hashes of 'key-N' str keys, seeded",
        items=1_000_000,
        quick_items=100_000,
        setup=_str_keys,
        subject="hash64_many",
        impls=(
            Impl("dskata", "dskata", _ours),
            Impl("mmh3 loop", "peer", _mmh3_loop, requires=("mmh3",)),
            Impl("xxhash loop", "peer", _xxhash_loop, requires=("xxhash",)),
        ),
    ),
]
