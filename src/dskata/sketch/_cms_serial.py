"""The count-min sketch's serialised form, in the shared envelope of :mod:`dskata.serial`.

Parameters: width (u64), depth (u32), counter byte size (u8), 3 reserved bytes; flags: bit 0
conservative update, bit 1 count-mean-min default estimator; payload: the row-major counters,
little-endian; the envelope's ``count`` is the stream total.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

import numpy as np

from dskata import serial
from dskata.sketch._cms_args import DTYPES, ITEMSIZE_TO_DTYPE
from dskata.sketch._rows import MAX_WIDTH

if TYPE_CHECKING:
    from dskata.sketch.count_min import CountMinSketch

__all__ = ["decode", "encode"]

_PARAMS: Final = struct.Struct("<QIB3x")
_FLAG_CONSERVATIVE: Final = 1
_FLAG_COUNT_MEAN_MIN: Final = 2


def encode(sk: CountMinSketch) -> bytes:
    """The envelope of ``sk`` (pending adds must already be applied)."""
    table = sk._table
    itemsize = DTYPES[table.dtype]
    params = _PARAMS.pack(sk.width, sk.depth, itemsize)
    payload = table.astype(f"<u{itemsize}", copy=False).tobytes()
    flags = (_FLAG_CONSERVATIVE if sk.conservative else 0) | (
        _FLAG_COUNT_MEAN_MIN if sk._estimator == "count-mean-min" else 0
    )
    return serial.pack(
        serial.KIND_COUNT_MIN,
        seed=sk.seed,
        count=sk.total,
        params=params,
        payload=payload,
        flags=flags,
    )


def decode(cls: type[CountMinSketch], data: bytes | bytearray | memoryview) -> CountMinSketch:
    """Rebuild a sketch; :class:`ValueError` on anything malformed, before allocating."""
    frame = serial.unpack(data, serial.KIND_COUNT_MIN, params_size=_PARAMS.size)
    width, depth, itemsize = _PARAMS.unpack(frame.params)
    if itemsize not in ITEMSIZE_TO_DTYPE:
        raise ValueError(f"corrupt parameters: counter size {itemsize} bytes is not 1, 2, 4 or 8")
    if not 1 <= width <= MAX_WIDTH or not 1 <= depth <= 64:
        raise ValueError(f"corrupt parameters: width={width}, depth={depth}")
    if frame.flags & ~(_FLAG_CONSERVATIVE | _FLAG_COUNT_MEAN_MIN):
        raise ValueError(f"corrupt header: unknown flags {frame.flags:#x}")
    expected = width * depth * itemsize
    if len(frame.payload) != expected:
        raise ValueError(
            f"corrupt payload: {len(frame.payload)} bytes, expected {expected} "
            f"for width={width}, depth={depth}"
        )
    counters = np.frombuffer(frame.payload, dtype=f"<u{itemsize}")
    if counters.size and int(counters.max()) > frame.count:
        raise ValueError("corrupt payload: a counter exceeds the stream total")
    out = cls(
        width,
        depth,
        seed=frame.seed,
        conservative=bool(frame.flags & _FLAG_CONSERVATIVE),
        estimator="count-mean-min" if frame.flags & _FLAG_COUNT_MEAN_MIN else "min",
        dtype=ITEMSIZE_TO_DTYPE[itemsize],
    )
    out._table[:] = counters
    out._total = frame.count
    out._rows_exact = False
    return out
