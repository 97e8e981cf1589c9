"""Keys to hashes: the one place in dskata where a key becomes a number.

Theory of operation
-------------------
Every hashing primitive in dskata (Bloom filters, count-min sketches, hash rings, caches that
shard) calls this module and nothing else, so that one key hashes the same way everywhere, in
every process, on every platform. Python's built-in ``hash()`` is never used: it is salted per
process for ``str`` and ``bytes`` (``PYTHONHASHSEED``), so a structure saved by one process would
answer differently in the next.

Keys are normalised first (:func:`normalize_key`):

* ``str`` is hashed as its UTF-8 bytes; ``bytes``, ``bytearray``, ``memoryview`` as their bytes.
  Both go through MurmurHash3 x64-128 (``mmh3``), keeping the first 64 bits. A ``str`` holding
  lone surrogates (what ``os.fsdecode`` and the ``surrogateescape`` handler make of undecodable
  bytes) has no strict UTF-8 form; it is encoded with the ``surrogatepass`` handler (three bytes
  per surrogate, never valid UTF-8, so no other ``str`` shares them). Only ASCII ``str`` is ever
  handed to ``mmh3`` as ``str``: mmh3 5.3 crashes the interpreter on a lone surrogate.
* ``int`` (and numpy integer scalars) in ``[-2**63, 2**64)`` take the *integer path*: the value's
  64-bit two's-complement pattern ``x`` is mixed by the MurmurHash3 finaliser ``fmix64`` after an
  XOR with a seed-derived key. This is one multiply-xorshift pipeline, which numpy can run over a
  whole array without a Python loop (:func:`hash64_many`). Because the pattern is two's
  complement, ``-1`` and ``2**64 - 1`` hash alike, exactly as an ``int64`` array viewed as
  ``uint64`` does.
* Integers outside that range are hashed as their minimal signed little-endian bytes, prefixed
  by a tag byte so they never collide with a ``bytes`` key of the same content.
* ``bool``, ``float``, ``None`` and anything else raise :class:`TypeError` naming the type:
  ``True == 1`` and ``1.0 == 1`` in Python, and silently hashing them as ints (or floats by their
  repr) is a classic source of surprises.

Seeds are integers in ``[0, 2**32)`` (MurmurHash3's seed width). The default seed is 0 so every
result is reproducible; pass a secret random seed when keys may be chosen by an adversary.

Bloom filters need ``k`` indexes per key. Kirsch and Mitzenmacher (2006) showed that
``g_i = h1 + i * h2 (mod m)`` for ``i = 0..k-1`` loses nothing asymptotically against ``k``
independent hashes. Here ``h1`` is the key's 64-bit hash and ``h2`` (:func:`hash_pair`) is the
second half of the same 128-bit MurmurHash3 digest for bytes, or a second ``fmix64`` of ``h1``
for ints, forced odd: an even ``h2`` with ``m`` a power of two would cycle through a fraction of
the table and repeat indexes. Reduction to ``[0, m)`` is ``% m`` on 64-bit values, whose bias is at
most ``m / 2**64`` (negligible for any in-memory table).

Count-min sketches must NOT use that shortcut: two keys whose ``(h1, h2)`` agree modulo the width
collide in every row at once, which breaks the sketch's ``delta`` guarantee. :func:`row_hashes`
derives ``d`` hashes by mixing the key's 64-bit hash with a different per-row seed key, so rows
collide independently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Union

import mmh3
import numpy as np
import numpy.typing as npt

from dskata._murmur3 import pair_rows_ascii

__all__ = [
    "FMIX64_C1",
    "FMIX64_C2",
    "HASH_ID",
    "MASK64",
    "Key",
    "fmix64",
    "fmix64_into",
    "hash64",
    "hash64_many",
    "hash128",
    "hash_pair",
    "hash_pair_many",
    "hash_pair_rows",
    "indexes",
    "indexes_many",
    "normalize_key",
    "row_hashes",
    "row_hashes_many",
    "row_keys",
    "validate_seed",
]

#: A key dskata can hash. numpy integer scalars are accepted too.
Key = Union[str, bytes, bytearray, memoryview, int]  # noqa: UP007 (a runtime alias on 3.10)

#: Identifies this hashing scheme in serialised headers; bump it if any output changes.
HASH_ID: Final = 1

MASK64: Final = (1 << 64) - 1
#: The two multipliers of MurmurHash3's fmix64.
FMIX64_C1: Final = 0xFF51AFD7ED558CCD
FMIX64_C2: Final = 0xC4CEB9FE1A85EC53
_GOLDEN: Final = 0x9E3779B97F4A7C15
# Mixed into h1 to derive the second double-hashing hash; any odd constant unrelated to _GOLDEN.
_H2_KEY: Final = 0xD6E8FEB86659FD93
_BIG_INT_TAG: Final = b"\x00dskata-bigint\x00"
_INT_MIN: Final = -(1 << 63)
_INT_END: Final = 1 << 64
_SEED_END: Final = 1 << 32
# Elements per block in the array paths: 512 KiB blocks of uint64 keep the block and its
# temporary in L2 while amortising the per-call overhead of numpy (measured: 64Ki is the knee).
_CHUNK: Final = 65536

U64Array = npt.NDArray[np.uint64]
# Typed handle on the C function: the scalar fast paths call it without wrapping its result.
_mmh3_hash64: Callable[[str | bytes, int], tuple[int, int]] = mmh3.hash64
#: ``mmh3.hash128(key, seed) & MASK64 == hash64(key, seed)`` for ASCII ``str`` and ``bytes``: one C
#: call and no tuple. Callers must pass only ``bytes`` or a ``str`` whose ``isascii()`` is True.
_mmh3_hash128: Callable[[str | bytes, int], int] = mmh3.hash128


def validate_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` if it is an int in ``[0, 2**32)``, else raise naming ``name``.

    >>> validate_seed(7)
    7
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int in [0, 2**32), got {type(seed).__name__}")
    value = int(seed)
    if not 0 <= value < _SEED_END:
        raise ValueError(f"{name} must be in [0, 2**32), got {value}")
    return value


def fmix64(x: int) -> int:
    """MurmurHash3's 64-bit finaliser: a bijection on ``[0, 2**64)`` that avalanches.

    Complexity: O(1).

    >>> fmix64(0)
    0
    >>> hex(fmix64(1))
    '0xb456bcfc34c2cb2c'
    """
    x &= MASK64
    x ^= x >> 33
    x = (x * FMIX64_C1) & MASK64
    x ^= x >> 33
    x = (x * FMIX64_C2) & MASK64
    x ^= x >> 33
    return x


def _seed_key(seed: int) -> int:
    # A nonzero 64-bit key per seed, so seed 0 does not leave fmix64(0) == 0 as a fixed point.
    return fmix64(seed + _GOLDEN)


def normalize_key(key: object) -> bytes | int:
    """Return the canonical form of ``key``: ``bytes`` (byte path) or ``int`` (integer path).

    Integers in ``[-2**63, 2**64)`` come back as their unsigned 64-bit pattern; larger ones as
    tagged bytes. Raises :class:`TypeError` for ``bool``, ``float``, ``None`` and other types.

    Complexity: O(len(key)).

    >>> normalize_key("é")
    b'\\xc3\\xa9'
    >>> normalize_key(-1) == 2**64 - 1
    True
    >>> normalize_key(1.0)
    Traceback (most recent call last):
    ...
    TypeError: unsupported key type float: keys must be str, bytes-like or int
    """
    t = type(key)
    if t is str:
        return key.encode("utf-8", "surrogatepass")  # type: ignore[attr-defined, no-any-return]
    if t is bytes:
        return key  # type: ignore[return-value]
    if t is int:
        return _normalize_int(key)  # type: ignore[arg-type]
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"unsupported key type {t.__name__}: keys must be str, bytes-like or int")
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    if isinstance(key, (int, np.integer)):
        return _normalize_int(int(key))
    raise TypeError(f"unsupported key type {t.__name__}: keys must be str, bytes-like or int")


def _normalize_int(value: int) -> bytes | int:
    if _INT_MIN <= value < _INT_END:
        return value & MASK64
    length = (value.bit_length() + 8) // 8  # +8 leaves room for the sign bit
    return _BIG_INT_TAG + value.to_bytes(length, "little", signed=True)


def _hash64_normalized(norm: bytes | int, seed: int) -> int:
    if isinstance(norm, int):
        return fmix64(norm ^ _seed_key(seed))
    return int(mmh3.hash64(norm, seed)[0]) & MASK64


def hash64(key: Key, seed: int = 0) -> int:
    """Return the seeded 64-bit hash of ``key`` as an int in ``[0, 2**64)``.

    Stable across processes, platforms and Python versions. ``str`` is hashed as UTF-8, so
    ``hash64("a") == hash64(b"a")``.

    Complexity: O(len(key)).

    >>> hash64("dskata") == hash64(b"dskata")
    True
    >>> hash64(42, seed=1) != hash64(42, seed=2)
    True
    """
    if type(key) is str and key.isascii() and type(seed) is int and 0 <= seed < _SEED_END:
        # Fast path for the most common call (ASCII is its own UTF-8).
        return _mmh3_hash128(key, seed) & MASK64
    return _hash64_normalized(normalize_key(key), validate_seed(seed))


def hash128(key: Key, seed: int = 0) -> int:
    """Return a seeded 128-bit hash of ``key`` as an int in ``[0, 2**128)``.

    The byte path is MurmurHash3 x64-128. The integer path concatenates two ``fmix64`` mixes
    with independent seed keys; its high 64 bits equal :func:`hash64` of the same key.

    Complexity: O(len(key)).

    >>> hash128("dskata") >> 64 != 0
    True
    >>> hash128(7) >> 64 == hash64(7)
    True
    """
    seed = validate_seed(seed)
    norm = normalize_key(key)
    if type(norm) is int:
        hi = fmix64(norm ^ _seed_key(seed))
        lo = fmix64(norm ^ _seed_key(seed + _SEED_END))
        return (hi << 64) | lo
    assert isinstance(norm, bytes)
    lo64, hi64 = mmh3.hash64(norm, seed)
    return ((lo64 & MASK64) << 64) | (hi64 & MASK64)


# ---------------------------------------------------------------- array paths


def _fmix64_head_inplace(x: U64Array, tmp: U64Array) -> None:
    # fmix64 up to (not including) its last xor-shift, every step written into preallocated
    # blocks. That last step keeps the top 33 bits, so a caller reading only those may stop here.
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, np.uint64(FMIX64_C1), out=x)
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, np.uint64(FMIX64_C2), out=x)


def _fmix64_inplace(x: U64Array, tmp: U64Array) -> None:
    # The whole fmix64 pipeline, in place.
    _fmix64_head_inplace(x, tmp)
    np.right_shift(x, np.uint64(33), out=tmp)
    np.bitwise_xor(x, tmp, out=x)


def fmix64_into(values: U64Array, xor_key: int, out: U64Array) -> U64Array:
    """Array form of ``fmix64(v ^ xor_key)``: ``out[i] = fmix64(values[i] ^ xor_key)``.

    Works in cache-sized blocks, in place in ``out`` (which may be ``values`` itself).

    Complexity: O(n), vectorised.

    >>> import numpy as np
    >>> v = np.array([1, 2], dtype=np.uint64)
    >>> [int(x) for x in fmix64_into(v, 0, np.empty_like(v))] == [fmix64(1), fmix64(2)]
    True
    """
    key = np.uint64(xor_key)
    n = values.shape[0]
    tmp = np.empty(min(n, _CHUNK), dtype=np.uint64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        block = out[start:stop]
        np.bitwise_xor(values[start:stop], key, out=block)
        _fmix64_inplace(block, tmp[: stop - start])
    return out


def _as_uint64_pattern(arr: npt.NDArray[Any]) -> U64Array | None:
    """View an integer array as its uint64 two's-complement pattern; None if not integer."""
    kind = arr.dtype.kind
    if kind == "u":
        return arr.astype(np.uint64, copy=False)
    if kind == "i":
        return arr.astype(np.int64, copy=False).view(np.uint64)
    return None


def _check_array_dtype(arr: npt.NDArray[Any]) -> None:
    if arr.dtype.kind in "biufc" and arr.dtype.kind not in "iu":
        raise TypeError(
            f"unsupported key array dtype {arr.dtype}: key arrays must hold integers, str or bytes"
        )


def _rows_iterable(keys: Iterable[object], seed: int) -> U64Array:
    """``(n, 2)`` rows of both 64-bit halves per key (``h2`` not yet forced odd), writable."""
    items = keys if isinstance(keys, (list, tuple)) else list(keys)
    # Batches of ASCII str: MurmurHash3 on whole columns of keys, no Python call per key.
    rows = pair_rows_ascii(items, seed)
    if rows is not None:
        return rows
    digest: Any = mmh3.hash_bytes
    try:
        # One 16-byte MurmurHash3 digest per key, joined into one buffer: cheaper than building
        # two Python ints per key. str and read-only bytes are all mmh3 accepts; ints, numpy
        # scalars and bytearrays raise TypeError and take the general path, key by key.
        buf = b"".join(
            [
                digest(
                    k if type(k) is bytes or (type(k) is str and k.isascii()) else _as_mmh3(k), seed
                )
                for k in items
            ]
        )
    except TypeError:
        out = np.empty((len(items), 2), dtype=np.uint64)
        for i, key in enumerate(items):
            out[i] = _pair_normalized(normalize_key(key), seed)
        return out
    return np.frombuffer(buf, dtype="<u8").reshape(-1, 2).astype(np.uint64)


def _as_mmh3(key: object) -> bytes:
    """What a non-ASCII ``str`` key may be handed to mmh3 as; TypeError for every other type."""
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    raise TypeError(type(key).__name__)


def _pair_normalized(norm: bytes | int, seed: int) -> tuple[int, int]:
    if isinstance(norm, int):
        h1 = fmix64(norm ^ _seed_key(seed))
        return h1, fmix64(h1 ^ _H2_KEY)
    lo, hi = mmh3.hash64(norm, seed)
    return int(lo) & MASK64, int(hi) & MASK64


def hash64_many(keys: npt.ArrayLike | Iterable[Key], seed: int = 0) -> U64Array:
    """Return the 64-bit hashes of ``keys`` as a ``uint64`` array, equal to :func:`hash64` per key.

    A numpy integer array is hashed by a vectorised ``fmix64`` (no Python loop); a batch of ASCII
    ``str`` keys by MurmurHash3 vectorised over the batch; any other iterable of keys by a loop
    over MurmurHash3.

    Complexity: O(n) for n keys.

    >>> import numpy as np
    >>> h = hash64_many(np.arange(3, dtype=np.uint64))
    >>> [int(v) for v in h] == [hash64(i) for i in range(3)]
    True
    """
    seed = validate_seed(seed)
    pattern, items = _batch(keys)
    if pattern is not None:
        return fmix64_into(pattern, _seed_key(seed), np.empty(pattern.shape[0], np.uint64))
    return np.ascontiguousarray(_rows_iterable(items, seed)[:, 0])


def _batch(keys: object) -> tuple[U64Array | None, Iterable[object]]:
    """Validate a batch: ``(uint64 pattern, ())`` for integer arrays, else ``(None, items)``."""
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValueError(f"keys must be a 1-D array, got shape {keys.shape}")
        _check_array_dtype(keys)
        pattern = _as_uint64_pattern(keys)
        if pattern is not None:
            return pattern, ()
        return None, keys.tolist()
    _refuse_single_key(keys)
    return None, keys  # type: ignore[return-value]


def _refuse_single_key(keys: object) -> None:
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"keys must be an iterable of keys, not a single {type(keys).__name__}")
    if not isinstance(keys, Iterable):
        raise TypeError(
            f"keys must be a numpy array or an iterable of keys, not {type(keys).__name__}"
        )


def hash_pair(key: Key, seed: int = 0) -> tuple[int, int]:
    """Return ``(h1, h2)``, the two 64-bit hashes double hashing needs; ``h2`` is odd.

    ``h1`` is :func:`hash64`. For the byte path ``h2`` is the second half of the same
    MurmurHash3 x64-128 digest (free: it is computed anyway); for the integer path it is
    ``fmix64(h1 ^ C)``. Either way ``h2`` is forced odd (see :func:`indexes`).

    Complexity: O(len(key)).

    >>> h1, h2 = hash_pair("apple")
    >>> h1 == hash64("apple"), h2 % 2
    (True, 1)
    """
    if (
        (type(key) is bytes or (type(key) is str and key.isascii()))
        and type(seed) is int
        and 0 <= seed < _SEED_END
    ):
        lo, hi = _mmh3_hash64(key, seed)
        return lo & MASK64, (hi & MASK64) | 1
    h1, h2 = _pair_normalized(normalize_key(key), validate_seed(seed))
    return h1, h2 | 1


def hash_pair_many(keys: npt.ArrayLike | Iterable[Key], seed: int = 0) -> tuple[U64Array, U64Array]:
    """Return ``(h1, h2)`` arrays equal, key by key, to :func:`hash_pair`.

    Complexity: O(n), vectorised for integer arrays and ASCII ``str`` batches.

    >>> h1, h2 = hash_pair_many(["apple", "pear"])
    >>> (int(h1[1]), int(h2[1])) == hash_pair("pear")
    True
    """
    seed = validate_seed(seed)
    pattern, items = _batch(keys)
    if pattern is not None:
        h1 = fmix64_into(pattern, _seed_key(seed), np.empty(pattern.shape[0], np.uint64))
        h2 = fmix64_into(h1, _H2_KEY, np.empty_like(h1))
        h2 |= np.uint64(1)
        return h1, h2
    rows = _rows_iterable(items, seed)
    rows[:, 1] |= np.uint64(1)
    return np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1])


def hash_pair_rows(keys: npt.ArrayLike | Iterable[Key], seed: int = 0) -> U64Array:
    """Return an ``(n, 2)`` ``uint64`` array whose row ``j`` is ``hash_pair(keys[j], seed)``.

    The layout structures that carry both hashes of a key together want (selecting rows keeps
    them paired); for iterables of keys it is produced without a copy.

    Complexity: O(n), vectorised for integer arrays and ASCII ``str`` batches.

    >>> rows = hash_pair_rows(["apple", "pear"])
    >>> rows.shape, tuple(int(v) for v in rows[0]) == hash_pair("apple")
    ((2, 2), True)
    """
    seed = validate_seed(seed)
    pattern, items = _batch(keys)
    if pattern is not None:
        rows = np.empty((pattern.shape[0], 2), dtype=np.uint64)
        h1 = fmix64_into(pattern, _seed_key(seed), np.empty(pattern.shape[0], np.uint64))
        rows[:, 0] = h1
        rows[:, 1] = fmix64_into(h1, _H2_KEY, h1)
    else:
        rows = _rows_iterable(items, seed)
    rows[:, 1] |= np.uint64(1)
    return rows


# ---------------------------------------------------------------- k indexes, d rows


def _validate_k_m(k: object, m: object) -> tuple[int, int]:
    for name, value, low in (("k", k, 1), ("m", m, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int >= {low}, got {type(value).__name__}")
        if int(value) < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if int(m) > MASK64:  # type: ignore[call-overload]
        raise ValueError(f"m must be < 2**64, got {m}")
    return int(k), int(m)  # type: ignore[call-overload]


def indexes(key: Key, k: int, m: int, seed: int = 0) -> list[int]:
    """Return the ``k`` positions of ``key`` in ``[0, m)`` by Kirsch–Mitzenmacher double hashing.

    ``(h1, h2) = hash_pair(key, seed)`` and position ``i`` is ``((h1 + i * h2) mod 2**64) mod m``;
    the first position is ``hash64(key, seed) % m``.

    Complexity: O(len(key) + k).

    >>> idx = indexes("apple", k=3, m=1000)
    >>> len(idx), all(0 <= i < 1000 for i in idx)
    (3, True)
    """
    k, m = _validate_k_m(k, m)
    h1, h2 = hash_pair(key, seed)
    out = []
    x = h1
    for _ in range(k):
        out.append(x % m)
        x = (x + h2) & MASK64
    return out


def indexes_many(keys: npt.ArrayLike | Iterable[Key], k: int, m: int, seed: int = 0) -> U64Array:
    """Return an ``(n, k)`` ``uint64`` array: row ``j`` is ``indexes(keys[j], k, m, seed)``.

    Complexity: O(n * k), vectorised.

    >>> rows = indexes_many(["apple", "pear"], k=3, m=1000)
    >>> rows.shape, [int(i) for i in rows[0]] == indexes("apple", 3, 1000)
    ((2, 3), True)
    """
    k, m = _validate_k_m(k, m)
    h1, h2 = hash_pair_many(keys, seed)
    steps = np.arange(k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        pos = h1[:, None] + steps[None, :] * h2[:, None]
    pos %= np.uint64(m)
    return pos


def row_keys(d: int, seed: int) -> list[int]:
    """The 64-bit key of each count-min row: row ``r`` hashes as ``fmix64(hash64(key) ^ K_r)``.

    Derived from ``(seed, r)`` through ``fmix64``, so rows are unrelated. Exposed for
    structures that evaluate :func:`row_hashes` in their own fused form.

    >>> len(set(row_keys(4, seed=0)))
    4
    """
    return [fmix64(((seed << 32) | r) ^ _H2_KEY) | 1 for r in range(d)]


def _validate_d(d: object) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise TypeError(f"d must be an int >= 1, got {type(d).__name__}")
    if int(d) < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    return int(d)


def row_hashes(key: Key, d: int, seed: int = 0) -> list[int]:
    """Return ``d`` independent 64-bit hashes of ``key``, one per count-min row.

    Row ``r`` is ``fmix64(hash64(key, seed) ^ K_r)`` with a distinct 64-bit key ``K_r`` per
    ``(seed, r)``: rows collide independently, unlike ``h1 + r * h2``. Reduce each with
    ``% width``.

    Complexity: O(len(key) + d).

    >>> len(set(row_hashes("x", d=4)))
    4
    """
    d = _validate_d(d)
    base = hash64(key, seed)
    return [fmix64(base ^ rk) for rk in row_keys(d, validate_seed(seed))]


def row_hashes_many(keys: npt.ArrayLike | Iterable[Key], d: int, seed: int = 0) -> U64Array:
    """Return an ``(n, d)`` ``uint64`` array: row ``j`` is ``row_hashes(keys[j], d, seed)``.

    Complexity: O(n * d), vectorised.

    >>> r = row_hashes_many(["x", "y"], d=4)
    >>> r.shape, [int(v) for v in r[0]] == row_hashes("x", 4)
    ((2, 4), True)
    """
    d = _validate_d(d)
    base = hash64_many(keys, seed)
    out = np.empty((d, base.shape[0]), dtype=np.uint64)
    for r, rk in enumerate(row_keys(d, validate_seed(seed))):
        fmix64_into(base, rk, out[r])
    # Rows were filled contiguously per count-min row; the transpose is a view, not a copy.
    result: U64Array = out.T
    return result
