"""Jump consistent hash (Lamping and Veach, 2014), scalar and numpy.

Theory of operation
-------------------
``jump_hash(key, n)`` maps a 64-bit key to a bucket in ``[0, n)`` with no state at all: it
simulates the key's bucket as ``n`` grows one bucket at a time, but "jumps" straight to the next
``n`` at which the key would move, using a linear congruential generator seeded by the key. When
``n`` grows to ``n + 1`` exactly ``1 / (n + 1)`` of the keys move, all of them into the new bucket;
balance is as good as a uniform hash (paper, section 3). The catch: buckets can only be added or
removed at the end (numbered ``0..n-1``), so it suits sharded storage with numbered shards, not a
pool of named servers that fail at random.

The reference (paper, figure 1) keeps ``b`` and ``j`` as ``int64``, advances
``key = key * 2862933555777941757 + 1`` modulo ``2**64`` and computes
``j = (b + 1) * (double(1 << 31) / double((key >> 33) + 1))`` in double precision, truncated.
:func:`jump_hash` follows it bit for bit; :func:`jump_hash_many` runs the same recurrence on a
whole array, one round per jump for every key at once, freezing finished keys with a mask and
dropping them when they are the majority, so it does ``O(log n)`` rounds of array arithmetic.

Keys are used as given (the paper assumes they are already hashes): hash other keys with
:func:`dskata.hashing.hash64` first.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from dskata.ring._common import IndexArray, check_count

__all__ = ["MAX_BUCKETS", "jump_hash", "jump_hash_many"]

#: The paper's ``num_buckets`` is an ``int32``.
MAX_BUCKETS: Final = 2**31 - 1
_LCG: Final = 2862933555777941757
_MASK64: Final = (1 << 64) - 1
_TWO31: Final = float(1 << 31)
_LCG_U64: Final = np.uint64(_LCG)
_ONE_U64: Final = np.uint64(1)
_S33: Final = np.uint64(33)
# ``(x | _EXP52).view(float64) == 2**52 + x`` exactly for x < 2**52: a uint64 -> double conversion
# in two SIMD-friendly operations (numpy's int64 -> float64 cast is a scalar loop on AVX2).
_EXP52: Final = np.uint64(0x4330000000000000)
_TWO52_MINUS_1: Final = float(2**52 - 1)
# Keys per block in jump_hash_many: large enough to amortise numpy's per-call cost over the
# ~25 rounds the slowest keys need (measured best of 2**13..2**20 on a loaded 2-core machine),
# small enough for the working set (about 3 MiB) to stay in the last-level cache.
_CHUNK: Final = 131072


def _check_key(key: object) -> int:
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
        raise TypeError(
            f"key must be an int in [-2**63, 2**64) (a 64-bit hash), got {type(key).__name__}; "
            "hash other keys with dskata.hash64 first"
        )
    value = int(key)
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"key must be an int in [-2**63, 2**64), got {value}")
    return value & _MASK64


def jump_hash(key: int, num_buckets: int) -> int:
    """Return the bucket in ``[0, num_buckets)`` of the 64-bit ``key`` (Lamping & Veach, fig. 1).

    Negative keys are taken as their 64-bit two's complement, like a C ``uint64_t``.

    Complexity: O(log num_buckets) expected.

    >>> jump_hash(0, 1), jump_hash(1, 1000), jump_hash(2**64 - 1, 1000)
    (0, 549, 313)
    """
    k = _check_key(key)
    n = check_count(num_buckets, "num_buckets", 1, MAX_BUCKETS)
    b, j = -1, 0
    while j < n:
        b = j
        k = (k * _LCG + 1) & _MASK64
        j = int((b + 1) * (_TWO31 / float((k >> 33) + 1)))
    return b


def jump_hash_many(keys: npt.ArrayLike, num_buckets: int) -> IndexArray:
    """Return :func:`jump_hash` of every key as an ``intp`` array, without a Python loop per key.

    ``keys`` is an integer numpy array (or anything ``np.asarray`` turns into one); signed
    values are taken as their two's complement, as in :func:`jump_hash`.

    Complexity: O(n log num_buckets) array work, in O(log num_buckets) rounds.

    >>> import numpy as np
    >>> jump_hash_many(np.array([0, 1, 2**64 - 1], dtype=np.uint64), 1000).tolist()
    [0, 549, 313]
    """
    n = check_count(num_buckets, "num_buckets", 1, MAX_BUCKETS)
    arr = np.asarray(keys)
    if arr.ndim != 1:
        raise ValueError(f"keys must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind == "u":
        state = arr.astype(np.uint64, copy=False)
    elif arr.dtype.kind == "i":
        state = arr.astype(np.int64, copy=False).view(np.uint64)
    elif arr.size == 0:
        state = np.empty(0, dtype=np.uint64)
    else:
        raise TypeError(f"keys must be an integer array, got dtype {arr.dtype}")
    out = np.zeros(state.shape[0], dtype=np.intp)
    if n == 1:
        return out
    for start in range(0, state.shape[0], _CHUNK):
        _jump_block(state[start : start + _CHUNK].copy(), n, out[start : start + _CHUNK])
    return out


def _jump_block(state: npt.NDArray[np.uint64], n: int, out: IndexArray) -> None:
    """Run the recurrence on one block of keys (``state`` is overwritten).

    Every live key does the same arithmetic each round; a key whose next jump ``j`` reaches
    ``n`` is frozen by a mask rather than removed, and the block is compacted only once fewer
    than 60% of its keys are still jumping: compacting costs three gathers, masking one pass.
    """
    m = state.shape[0]
    # ``bp1`` is b + 1 held as a double: exact, since b < 2**31. Every key starts at b = 0 (the
    # reference's first iteration sets b = j = 0 unconditionally).
    bp1 = np.ones(m, dtype=np.float64)
    active = np.ones(m, dtype=np.bool_)
    bits = np.empty(m, dtype=np.uint64)
    jumping = np.empty(m, dtype=np.bool_)
    live: IndexArray | None = None  # positions in ``out`` of the rows still held; None: all
    nf = float(n)
    k = m
    first = True
    while True:
        bk, jp, ak = bits[:k], jumping[:k], active[:k]
        jk = bk.view(np.float64)
        with np.errstate(over="ignore"):
            np.multiply(state, _LCG_U64, out=state)
        np.add(state, _ONE_U64, out=state)
        # (key >> 33) + 1 as a double, exactly: 2**52 + (key >> 33), minus 2**52 - 1.
        np.right_shift(state, _S33, out=bk)
        np.bitwise_or(bk, _EXP52, out=bk)
        np.subtract(jk, _TWO52_MINUS_1, out=jk)
        np.divide(_TWO31, jk, out=jk)
        if first:  # b + 1 == 1 for every key: multiplying by it changes nothing
            first = False
        else:
            np.multiply(jk, bp1, out=jk)
        np.less(jk, nf, out=jp)
        np.logical_and(ak, jp, out=ak)  # a frozen key stays frozen
        np.floor(jk, out=jk)
        np.add(jk, 1.0, out=jk)
        # putmask, not add(..., where=ak): numpy's masked ufunc loops are slow (measured: the
        # whole lookup 18-24% faster this way).
        np.putmask(bp1, ak, jk)
        still = int(np.count_nonzero(ak))
        if still == 0:
            break
        if still < 0.6 * k:
            keep = np.flatnonzero(ak)
            if live is None:
                out[:] = bp1 - 1.0
                live = keep
            else:
                out[live] = bp1 - 1.0
                live = live[keep]
            state, bp1, k = state[keep], bp1[keep], keep.size
            active[:k] = True
    if live is None:
        out[:] = bp1 - 1.0
    else:
        out[live] = bp1 - 1.0
