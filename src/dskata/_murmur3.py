"""MurmurHash3 x64-128 of many ASCII ``str`` keys at once, in numpy (no Python call per key).

Private to :mod:`dskata.hashing`, which uses it for batches of ``str`` keys; nothing else should
import it (``dskata.hashing`` is the one place keys become hashes).

Theory of operation
-------------------
One ``mmh3`` call per key costs about 150-250 ns from Python; a Bloom filter's probes cost a
third of that. Here the
keys are joined into one buffer (``"".join`` and one ``encode``: a memcpy for ASCII text) and
MurmurHash3_x64_128 (Appleby 2011) runs on whole columns of keys: block ``j`` of every key
whose length exceeds ``16 (j + 1)`` is processed together, then the zero-padded tails (a zero
tail word contributes nothing, exactly as the reference's ``switch`` does not run), then the
finalisation. The 64-bit words are read with an unaligned byte-strided ``uint64`` view of the
buffer, so no per-key padding copy is made.

The result equals ``mmh3.hash64(key, seed)`` (both halves, unsigned) key for key, which is what
:func:`dskata.hashing.hash_pair_rows` returns for ``str`` keys before forcing ``h2`` odd;
``tests/test_hashing_murmur.py`` checks it against ``mmh3`` on random, empty, long and
boundary-length keys. Lists with a non-``str`` item, non-ASCII text (UTF-8 lengths differ from
``len``) or very long keys return ``None`` and take the general path.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]

_C1: Final = np.uint64(0x87C37B91114253D5)
_C2: Final = np.uint64(0x4CF5AD432745937F)
_F1: Final = np.uint64(0xFF51AFD7ED558CCD)
_F2: Final = np.uint64(0xC4CEB9FE1A85EC53)
_N1: Final = np.uint64(0x52DCE729)
_N2: Final = np.uint64(0x38495AB5)
_FIVE: Final = np.uint64(5)
#: ``_BYTE_MASKS[r]`` keeps the low ``r`` bytes of a little-endian word.
_BYTE_MASKS: Final = np.array([(1 << (8 * r)) - 1 for r in range(9)], dtype=np.uint64)
#: Below this many keys the per-key path is as fast (numpy's per-call overhead dominates).
MIN_KEYS: Final = 64
#: Keys longer than 16 * this many bytes send the batch to the per-key path.
MAX_BLOCKS: Final = 64
_PAD: Final = "\x00" * 16
#: Keys per block of work: the temporaries of one block stay in L2.
_CHUNK: Final = 32768


def _rotl(x: U64Array, r: int, tmp: U64Array) -> None:
    """``x = rotl64(x, r)`` in place."""
    np.left_shift(x, np.uint64(r), out=tmp)
    np.right_shift(x, np.uint64(64 - r), out=x)
    np.bitwise_or(x, tmp, out=x)


def _fmix(x: U64Array, tmp: U64Array) -> None:
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _F1, out=x)
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _F2, out=x)
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)


def _mix_k1(k1: U64Array, tmp: U64Array) -> None:
    np.multiply(k1, _C1, out=k1)
    _rotl(k1, 31, tmp)
    np.multiply(k1, _C2, out=k1)


def _mix_k2(k2: U64Array, tmp: U64Array) -> None:
    np.multiply(k2, _C2, out=k2)
    _rotl(k2, 33, tmp)
    np.multiply(k2, _C1, out=k2)


def _body(
    words: U64Array, off: I64Array, h1: U64Array, h2: U64Array, tmp: U64Array
) -> tuple[U64Array, U64Array]:
    """One 16-byte block (at byte offsets ``off``) for every key of ``h1``/``h2``."""
    k1 = words[off]
    k2 = words[off + 8]
    _mix_k1(k1, tmp)
    np.bitwise_xor(h1, k1, out=h1)
    _rotl(h1, 27, tmp)
    np.add(h1, h2, out=h1)
    np.multiply(h1, _FIVE, out=h1)
    np.add(h1, _N1, out=h1)
    _mix_k2(k2, tmp)
    np.bitwise_xor(h2, k2, out=h2)
    _rotl(h2, 31, tmp)
    np.add(h2, h1, out=h2)
    np.multiply(h2, _FIVE, out=h2)
    np.add(h2, _N2, out=h2)
    return h1, h2


def _hash_block(words: U64Array, off: I64Array, lens: I64Array, seed: int, out: U64Array) -> None:
    """Hash the keys at byte offsets ``off`` with lengths ``lens`` into ``out[:, 0:2]``."""
    n = off.shape[0]
    h1 = np.full(n, seed, dtype=np.uint64)
    h2 = np.full(n, seed, dtype=np.uint64)
    tmp = np.empty(n, dtype=np.uint64)
    nblocks = lens >> 4
    most = int(nblocks.max()) if n else 0
    for j in range(most):
        rows = np.flatnonzero(nblocks > j)
        if rows.shape[0] == n:
            _body(words, off + 16 * j, h1, h2, tmp)
        else:
            a, b = _body(words, off[rows] + 16 * j, h1[rows], h2[rows], tmp[: rows.shape[0]])
            h1[rows] = a
            h2[rows] = b
    # Tail: up to 15 bytes, zero-padded; a zero word leaves h1/h2 unchanged, as in the reference.
    tail_at = off + 16 * nblocks
    tail = lens & 15
    k1 = words[tail_at] & _BYTE_MASKS[np.minimum(tail, 8)]
    k2 = words[tail_at + 8] & _BYTE_MASKS[np.maximum(tail - 8, 0)]
    _mix_k2(k2, tmp)
    np.bitwise_xor(h2, k2, out=h2)
    _mix_k1(k1, tmp)
    np.bitwise_xor(h1, k1, out=h1)
    # Finalisation.
    length = lens.view(np.uint64)
    np.bitwise_xor(h1, length, out=h1)
    np.bitwise_xor(h2, length, out=h2)
    np.add(h1, h2, out=h1)
    np.add(h2, h1, out=h2)
    _fmix(h1, tmp)
    _fmix(h2, tmp)
    np.add(h1, h2, out=h1)
    np.add(h2, h1, out=h2)
    out[:, 0] = h1
    out[:, 1] = h2


def pair_rows_ascii(items: list[Any] | tuple[Any, ...], seed: int) -> U64Array | None:
    """``(n, 2)`` rows ``mmh3.hash64(key, seed)`` (unsigned) for a list of ASCII ``str`` keys.

    Returns ``None`` when the batch is not all ``str``, not all ASCII, has a key longer than
    ``16 * MAX_BLOCKS`` bytes or fewer than ``MIN_KEYS`` keys: the caller hashes it key by key.
    ``seed`` must already be validated (an int in ``[0, 2**32)``).

    Complexity: O(total length), vectorised.

    >>> import mmh3
    >>> rows = pair_rows_ascii([f"key-{i}" for i in range(100)], 7)
    >>> [int(v) for v in rows[42]] == [h & (2**64 - 1) for h in mmh3.hash64("key-42", 7)]
    True
    """
    n = len(items)
    if n < MIN_KEYS:
        return None
    try:
        joined = "\x00".join(items)
    except TypeError:
        return None
    # A NUL after the last key like after every other, then 15 more: 16 zero bytes of slack
    # for the tail words of the last key, which read past its end (the lengths mask them).
    joined += _PAD
    if not joined.isascii():
        return None
    raw = joined.encode("ascii")
    if joined.count("\x00") == n - 1 + len(_PAD):
        # No key holds a NUL: the separators give every key's offset and length.
        ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8, count=len(raw) - 15) == 0)
        off = np.empty(n, dtype=np.int64)
        off[0] = 0
        np.add(ends[:-1], 1, out=off[1:])
        lens = ends - off
    else:
        lens = np.fromiter(map(len, items), dtype=np.int64, count=n)
        off = np.empty(n, dtype=np.int64)
        off[0] = 0
        np.cumsum(lens[:-1] + 1, out=off[1:])
    if int(lens.max()) >= 16 * MAX_BLOCKS:
        return None
    # Element i is the little-endian word at byte i (unaligned, byte-strided; read only).
    words: U64Array = np.ndarray(shape=(len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))
    out = np.empty((n, 2), dtype=np.uint64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        _hash_block(words, off[start:stop], lens[start:stop], seed, out[start:stop])
    return out
