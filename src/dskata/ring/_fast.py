"""The integer-key hash split for batch ring lookups (private).

Theory of operation
-------------------
:func:`dskata.hashing.hash64` maps an int key ``k`` to ``fmix64(k ^ K)``, with ``K`` derived from
the seed. ``fmix64`` ends with ``x ^= x >> 33``, which leaves the top 33 bits of ``x`` unchanged.
A ring's prefix table reads only the top ``bits <= 33`` bits of a hash, so a batch lookup can
stop before that last xor-shift (:func:`fmix64_head_into`, two full-array passes fewer) and
finish it (:func:`fmix64_tail`) only for the few keys that land in a bucket holding a point,
where the full hash is compared against the points. The result is bit-for-bit
``hash64_many``; the tests check it against that function.

The split ``fmix64`` is specific to prefix-table lookups, so it lives with the ring rather than in
:mod:`dskata.hashing`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import _as_uint64_pattern, _fmix64_head_inplace
from dskata.hashing import _seed_key as _hashing_seed_key
from dskata.ring._common import U64Array

__all__ = [
    "TAIL_SAFE_BITS",
    "fmix64_head_into",
    "fmix64_tail",
    "int_key_block",
    "seed_xor_key",
]

#: The last xor-shift of ``fmix64`` keeps this many top bits: prefixes up to this width are final.
TAIL_SAFE_BITS: Final = 33

_S33: Final = np.uint64(33)


def seed_xor_key(seed: int) -> int:
    """The 64-bit key that :func:`dskata.hashing.hash64` XORs into an int key before ``fmix64``.

    >>> from dskata.hashing import fmix64, hash64
    >>> fmix64(5 ^ seed_xor_key(3)) == hash64(5, 3)
    True
    """
    return _hashing_seed_key(seed)


def int_key_block(block: npt.NDArray[Any]) -> U64Array:
    """The uint64 two's-complement pattern of an integer block (a view for 64-bit dtypes).

    >>> int_key_block(np.array([-1], dtype=np.int8)).tolist() == [2**64 - 1]
    True
    """
    pattern = _as_uint64_pattern(block)
    if pattern is None:
        raise TypeError(f"keys must be an integer array, got dtype {block.dtype}")
    return pattern


def fmix64_head_into(values: U64Array, xor_key: np.uint64, out: U64Array, tmp: U64Array) -> None:
    """``out = fmix64(values ^ xor_key)`` without its final ``x ^= x >> 33``.

    ``out`` and ``tmp`` are scratch arrays of the same length as ``values`` (``out`` may be
    ``values``). The top :data:`TAIL_SAFE_BITS` bits of ``out`` are those of the full hash.

    Complexity: O(n), seven vectorised passes.

    >>> from dskata.hashing import hash64
    >>> v = np.array([1, 2**64 - 1], dtype=np.uint64)
    >>> out, tmp = np.empty_like(v), np.empty_like(v)
    >>> fmix64_head_into(v, np.uint64(seed_xor_key(0)), out, tmp)
    >>> fmix64_tail(out).tolist() == [hash64(1), hash64(2**64 - 1)]
    True
    """
    np.bitwise_xor(values, xor_key, out=out)
    _fmix64_head_inplace(out, tmp)


def fmix64_tail(x: U64Array) -> U64Array:
    """Finish, in place, hashes started by :func:`fmix64_head_into`; returns ``x``.

    Complexity: O(n).
    """
    x ^= x >> _S33
    return x
