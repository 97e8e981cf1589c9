"""The binary envelope shared by every serialisable dskata structure.

Layout (little-endian)::

    offset size field
    0      4    magic  b"DSKT"
    4      2    format version (1)
    6      2    kind   (see KIND_* below)
    8      2    hash id (dskata.hashing.HASH_ID)
    10     2    flags  (kind-specific)
    12     4    seed
    16     8    item count
    24     4    P = length of the kind's parameter block
    28     8    L = length of the payload
    36     P    parameters (kind-specific, fixed struct)
    36+P   L    payload
    36+P+L 4    CRC-32 of every byte before it

:func:`unpack` checks the magic, version, kind, hash id, that the lengths add up to exactly the
input's length and the checksum, and returns views into the input: nothing is allocated in
proportion to what the header claims, so hostile bytes cannot make a loader allocate without
bound. Each structure then checks that the payload length matches its parameters before it
builds anything.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dskata.hashing import HASH_ID

__all__ = [
    "KIND_BLOOM",
    "KIND_COUNTING_BLOOM",
    "KIND_COUNT_MIN",
    "KIND_NAMES",
    "KIND_SCALABLE_BLOOM",
    "KIND_TOPK",
    "MAGIC",
    "Frame",
    "pack",
    "read_file",
    "unpack",
    "write_file",
]

MAGIC: Final = b"DSKT"
FORMAT_VERSION: Final = 1
KIND_BLOOM: Final = 1
KIND_COUNTING_BLOOM: Final = 2
KIND_SCALABLE_BLOOM: Final = 3
KIND_COUNT_MIN: Final = 4
KIND_TOPK: Final = 5
KIND_NAMES: Final = {
    KIND_BLOOM: "BloomFilter",
    KIND_COUNTING_BLOOM: "CountingBloomFilter",
    KIND_SCALABLE_BLOOM: "ScalableBloomFilter",
    KIND_COUNT_MIN: "CountMinSketch",
    KIND_TOPK: "TopK",
}

_HEADER = struct.Struct("<4sHHHHIQIQ")
_CRC = struct.Struct("<I")
HEADER_SIZE: Final = _HEADER.size


@dataclass(frozen=True)
class Frame:
    """A checked envelope; ``params`` and ``payload`` are views into the input bytes."""

    kind: int
    flags: int
    seed: int
    count: int
    params: memoryview
    payload: memoryview


def pack(
    kind: int, *, seed: int, count: int, params: bytes, payload: bytes | memoryview, flags: int = 0
) -> bytes:
    """Wrap ``params`` and ``payload`` in the envelope, with a trailing CRC-32."""
    head = _HEADER.pack(
        MAGIC, FORMAT_VERSION, kind, HASH_ID, flags, seed, count, len(params), len(payload)
    )
    body = b"".join((head, params, bytes(payload)))
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: object, kind: int, *, params_size: int | None = None) -> Frame:
    """Check ``data`` and return its frame; :class:`ValueError` for anything malformed.

    Args:
        data: bytes-like input, possibly hostile.
        kind: the kind the caller can load; any other is refused by name.
        params_size: when given, the exact size the kind's parameter block must have.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    view = memoryview(data).cast("B")
    expected = KIND_NAMES.get(kind, str(kind))
    if len(view) < HEADER_SIZE + _CRC.size:
        raise ValueError(f"truncated input: {len(view)} bytes is shorter than any {expected}")
    magic, version, got_kind, hash_id, flags, seed, count, plen, llen = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise ValueError(f"not dskata data: bad magic {bytes(magic)!r} (expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise ValueError(f"unsupported format version {version} (this dskata reads 1)")
    if got_kind != kind:
        name = KIND_NAMES.get(got_kind, f"unknown kind {got_kind}")
        raise ValueError(f"wrong kind: the data holds a {name}, not a {expected}")
    if hash_id != HASH_ID:
        raise ValueError(f"unsupported hash id {hash_id} (this dskata hashes with {HASH_ID})")
    if params_size is not None and plen != params_size:
        raise ValueError(f"corrupt header: parameter block of {plen} bytes, expected {params_size}")
    total = HEADER_SIZE + plen + llen + _CRC.size
    if total != len(view):
        raise ValueError(
            f"length mismatch: header describes {total} bytes, input has {len(view)} "
            "(truncated or oversized)"
        )
    body_end = total - _CRC.size
    (crc,) = _CRC.unpack_from(view, body_end)
    if zlib.crc32(view[:body_end]) != crc:
        raise ValueError("checksum mismatch: the data is corrupted")
    params = view[HEADER_SIZE : HEADER_SIZE + plen]
    payload = view[HEADER_SIZE + plen : body_end]
    return Frame(kind=got_kind, flags=flags, seed=seed, count=count, params=params, payload=payload)


def write_file(path: str | Path, data: bytes) -> None:
    """Write ``data`` atomically: to a temporary file beside ``path``, then renamed over it."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def read_file(path: str | Path, *, max_bytes: int = 1 << 34) -> bytes:
    """Read a file written by :func:`write_file`, refusing files larger than ``max_bytes``."""
    target = Path(path)
    size = target.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{target} is {size} bytes, more than max_bytes={max_bytes}")
    return target.read_bytes()
