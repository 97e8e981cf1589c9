"""libketama's placement rules: md5 points, float32 point counts, lower-bound lookup.

Theory of operation
-------------------
libketama (Last.fm, 2007) is the consistent hashing scheme most memcached clients speak. Its
continuum is built, for a server list with weights ("memory") ``w_i`` summing to ``W``, as:

* ``pct = (float)w_i / (float)W`` in *single* precision, then
  ``ks = floorf(pct * 40.0 * (float)n)``: the product is evaluated in double (``40.0`` is a double
  literal) and converted back to float by ``floorf``'s parameter. ``ks`` digests per server, so
  160 points per server at equal weight; the float32 rounding can make it 39 for some ``n``.
* digest ``k`` of server ``s`` is ``md5(f"{s}-{k}")``; its 16 bytes give four 32-bit points, bytes
  ``4h..4h+3`` read little-endian.
* points are sorted ascending (glibc's ``qsort`` is a stable merge sort, so equal points keep
  generation order: server list order, then digest, then slot).

A key hashes to the first four bytes of ``md5(key)``, little-endian, and belongs to the first
point ``>= hash`` (``h <= point && h > previous``), wrapping to the first point past the end:
a key hash equal to a point belongs to that point. :meth:`dskata.ring.HashRing.ketama` builds a
ring with exactly these rules; this module holds the arithmetic.

Dialects (where other clients differ from libketama):

* **libmemcached** (``MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED``): ``floorf(pct * 160 / 4 * n +
  1e-10) * 4`` points, labels ``host-i`` for the default port and ``host:port-i`` otherwise.
* **twemproxy** (``distribution: ketama``): the same ``+ 1e-10`` epsilon, labels ``name-i``; keys
  are hashed with the pool's ``hash:`` function (use ``md5`` to agree with libketama).
* **uhashring** (``hash_fn="ketama"``): integer arithmetic ``vnodes * n * w // W`` with
  ``vnodes=40``, ``bisect_right`` lookup (a key hash equal to a point goes to the *next* point),
  and on equal points the last server written wins. Keys are ``str(key)``.

All of them agree with libketama on an equal-weight server list whose continuum has no two equal
points, for every key whose hash is not exactly a point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from dskata.ring._common import U64Array

__all__ = [
    "ketama_continuum",
    "ketama_digest_counts",
    "ketama_hash",
    "ketama_hash_many",
    "ketama_points",
]

_MD5 = hashlib.md5


def _key_bytes(key: object, what: str) -> bytes:
    if isinstance(key, str):
        data = key.encode("utf-8", "surrogatepass")  # as dskata.hashing: any str is a key
    elif isinstance(key, (bytes, bytearray, memoryview)):
        data = bytes(key)
    else:
        raise TypeError(
            f"{what} must be str or bytes for ketama (libketama hashes C strings), "
            f"got {type(key).__name__}; format numbers with str() first"
        )
    if b"\x00" in data:
        raise ValueError(
            f"{what} {key!r} contains a NUL byte, which libketama's C strings cannot hold"
        )
    return data


def ketama_hash(key: str | bytes) -> int:
    """libketama's key hash: the first 4 bytes of ``md5(key)``, little-endian.

    Complexity: O(len(key)).

    >>> ketama_hash("foo")
    3675831724
    """
    if type(key) is str and "\x00" not in key:  # the common case, without the general checks
        return int.from_bytes(_MD5(key.encode("utf-8", "surrogatepass")).digest()[:4], "little")
    digest = _MD5(_key_bytes(key, "key")).digest()
    return int.from_bytes(digest[:4], "little")


def ketama_hash_many(keys: Iterable[str | bytes]) -> U64Array:
    """:func:`ketama_hash` of every key, as a ``uint64`` array.

    Complexity: O(total key length).

    >>> ketama_hash_many(["foo", "bar"]).tolist() == [ketama_hash("foo"), ketama_hash("bar")]
    True
    """
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"keys must be an iterable of keys, not a single {type(keys).__name__}")
    items = keys.tolist() if isinstance(keys, np.ndarray) else keys
    md5 = _MD5
    out: list[int] = []
    append = out.append
    for key in items:
        if type(key) is str and "\x00" not in key:
            append(int.from_bytes(md5(key.encode("utf-8", "surrogatepass")).digest()[:4], "little"))
        else:
            append(int.from_bytes(md5(_key_bytes(key, "key")).digest()[:4], "little"))
    return np.array(out, dtype=np.uint64)


def ketama_digest_counts(weights: Sequence[float]) -> list[int]:
    """How many md5 digests (4 points each) libketama gives each server of ``weights``.

    ``floorf(pct * 40.0 * (float)n)`` with ``pct`` computed in float32, exactly as libketama.

    Complexity: O(n).

    >>> ketama_digest_counts([1, 1, 1])
    [40, 40, 40]
    >>> ketama_digest_counts([1, 3])
    [20, 60]
    """
    n = len(weights)
    total = np.float32(float(sum(weights)))
    n32 = np.float64(np.float32(n))
    counts = []
    for w in weights:
        pct = np.float32(np.float32(w) / total)
        product = np.float64(pct) * 40.0 * n32
        counts.append(int(np.floor(np.float32(product))))
    return counts


def ketama_points(server: str | bytes, digests: int) -> list[int]:
    """The ``4 * digests`` continuum points of ``server``, in libketama's generation order.

    Complexity: O(digests).

    >>> len(ketama_points("10.0.1.1:11211", 40))
    160
    """
    name = _key_bytes(server, "server name")
    points: list[int] = []
    for k in range(digests):
        digest = _MD5(name + b"-" + str(k).encode("ascii")).digest()
        for h in range(4):
            points.append(int.from_bytes(digest[4 * h : 4 * h + 4], "little"))
    return points


def ketama_continuum(
    servers: Sequence[str | bytes], weights: Sequence[float]
) -> tuple[U64Array, list[int]]:
    """Every server's points in generation order (unsorted), and each server's point count.

    Complexity: O(P).

    >>> points, counts = ketama_continuum(["a", "b"], [1.0, 1.0])
    >>> counts, points.shape
    ([160, 160], (320,))
    """
    if not servers:
        return np.empty(0, dtype=np.uint64), []
    counts = [4 * d for d in ketama_digest_counts(weights)]
    points = [ketama_points(s, c // 4) for s, c in zip(servers, counts, strict=True)]
    return np.array([p for pts in points for p in pts], dtype=np.uint64), counts
