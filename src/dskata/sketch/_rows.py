"""Where a key lands in a count-min table: its ``depth`` flat offsets, scalar and batch.

Row ``r``'s hash is :func:`dskata.hashing.row_hashes` (the key's 64-bit hash mixed by ``fmix64``
with a distinct key per row); it picks column ``((h >> 32) * width) >> 32`` (Lemire's
multiply-shift on the high 32 bits), and the flat offset is ``r * width + column``. The scalar
path (:class:`RowIndexer`) and the batch path (:func:`cells_many`) agree offset for offset; the
tests check both against ``row_hashes``.

The hashing itself stays in :mod:`dskata.hashing`: the batch path calls ``row_hashes_many``, and
the two places that start from an already computed 64-bit hash (the scalar indexer and
:func:`cells_from_hashes`) use its row keys, finaliser constants and array mixer, so a change
there reaches here too.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import (
    FMIX64_C1,
    FMIX64_C2,
    MASK64,
    Key,
    fmix64_into,
    row_hashes_many,
    row_keys,
)

__all__ = ["MAX_WIDTH", "RowIndexer", "cells_from_hashes", "cells_many", "reduce_rows"]

#: Columns are taken from 32 hash bits, so a row holds at most 2**32 counters.
MAX_WIDTH: Final = 1 << 32


class RowIndexer:
    """Flat table offsets of one key's ``depth`` cells, for the scalar path.

    Evaluates exactly :func:`dskata.hashing.row_hashes` followed by the multiply-shift reduction,
    but for all rows at once: row ``r`` lives in bits ``[128 r, 128 r + 64)`` of one Python int,
    so each step of ``fmix64`` is one big-int operation instead of ``depth``. The 64 spare bits per
    lane hold each 64x64-bit product whole; masks clear what shifts carry in from the next lane.
    A test checks this against ``row_hashes`` key by key.
    """

    __slots__ = (
        "_c1",
        "_c2",
        "_keys",
        "_m32",
        "_m64",
        "_nbytes",
        "_offsets",
        "_rep",
        "_unpack",
        "_width",
    )

    def __init__(self, width: int, depth: int, seed: int) -> None:
        lanes = [128 * r for r in range(depth)]
        self._rep = sum(1 << s for s in lanes)
        self._keys = sum(k << s for k, s in zip(row_keys(depth, seed), lanes, strict=True))
        self._m64 = MASK64 * self._rep
        self._m32 = 0xFFFFFFFF * self._rep
        self._c1 = FMIX64_C1
        self._c2 = FMIX64_C2
        self._width = width
        self._offsets = sum((r * width) << s for r, s in enumerate(lanes))
        self._unpack = struct.Struct("<" + "Q8x" * depth).unpack
        self._nbytes = 16 * depth

    def __call__(self, base: int) -> tuple[int, ...]:
        m64 = self._m64
        x = (base * self._rep) ^ self._keys
        x = (x ^ (x >> 33)) & m64
        x = (x * self._c1) & m64
        x = (x ^ (x >> 33)) & m64
        x = (x * self._c2) & m64
        x ^= x >> 33
        # Multiply-shift on the high 32 bits of each lane, then each row's offset in the table.
        x = ((x >> 32) & self._m32) * self._width
        x = ((x >> 32) & self._m32) + self._offsets
        return self._unpack(x.to_bytes(self._nbytes, "little"))


def reduce_rows(
    rows: npt.NDArray[np.uint64], width: int, depth: int, *, offsets: bool = True
) -> npt.NDArray[np.intp]:
    """Turn ``(depth, n)`` row hashes into flat offsets (or, with ``offsets=False``, columns in
    ``[0, width)``), in place: ``rows`` is consumed.

    Complexity: O(n * depth), vectorised.
    """
    # Strided uint32 views of the high halves (a "free" >> 32) measured slower than this.
    np.right_shift(rows, np.uint64(32), out=rows)
    np.multiply(rows, np.uint64(width), out=rows)
    np.right_shift(rows, np.uint64(32), out=rows)
    if offsets:
        rows += (np.arange(depth, dtype=np.uint64) * np.uint64(width))[:, None]
    return rows.view(np.int64).astype(np.intp, copy=False)


def cells_many(
    keys: npt.ArrayLike | Iterable[Key], width: int, depth: int, seed: int, *, offsets: bool = True
) -> npt.NDArray[np.intp]:
    """``(depth, n)`` flat offsets of every key (the array twin of :class:`RowIndexer`), or its
    columns with ``offsets=False``.

    Complexity: O(n * depth), vectorised for integer arrays.
    """
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"keys must be an iterable or array of keys, not a single {type(keys).__name__}"
        )
    rows = np.ascontiguousarray(row_hashes_many(keys, depth, seed).T)
    return reduce_rows(rows, width, depth, offsets=offsets)


def cells_from_hashes(
    bases: npt.NDArray[np.uint64], width: int, depth: int, seed: int
) -> npt.NDArray[np.intp]:
    """Like :func:`cells_many`, for keys already hashed by ``hash64``: the second half of
    ``row_hashes_many``, with its own helpers.

    Complexity: O(n * depth), vectorised.
    """
    rows = np.empty((depth, bases.shape[0]), dtype=np.uint64)
    for r, row_key in enumerate(row_keys(depth, seed)):
        fmix64_into(bases, row_key, rows[r])
    return reduce_rows(rows, width, depth)
