"""The shared binary envelope: round trips, and hostile input refused before allocation."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dskata import serial

PARAMS = struct.pack("<QI", 1024, 7)


def _frame(payload: bytes = b"\x01\x02\x03") -> bytes:
    return serial.pack(serial.KIND_BLOOM, seed=9, count=3, params=PARAMS, payload=payload)


def test_round_trip_returns_every_field() -> None:
    frame = serial.unpack(_frame(), serial.KIND_BLOOM, params_size=len(PARAMS))
    assert (frame.seed, frame.count, bytes(frame.params), bytes(frame.payload)) == (
        9,
        3,
        PARAMS,
        b"\x01\x02\x03",
    )


def test_every_truncation_is_refused() -> None:
    data = _frame()
    for cut in range(len(data)):
        with pytest.raises(ValueError):
            serial.unpack(data[:cut], serial.KIND_BLOOM)


def test_every_single_bit_flip_is_refused() -> None:
    data = bytearray(_frame())
    for i in range(len(data)):
        for bit in (0, 7):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(ValueError):
                serial.unpack(bytes(bad), serial.KIND_BLOOM, params_size=len(PARAMS))


def test_wrong_kind_is_named() -> None:
    with pytest.raises(ValueError, match="holds a BloomFilter, not a CountMinSketch"):
        serial.unpack(_frame(), serial.KIND_COUNT_MIN)


def test_a_huge_claimed_payload_is_refused_without_allocating() -> None:
    data = bytearray(_frame())
    struct.pack_into("<Q", data, 28, 2**62)  # claim an enormous payload
    with pytest.raises(ValueError, match="length mismatch"):
        serial.unpack(bytes(data), serial.KIND_BLOOM)


def test_trailing_garbage_is_refused() -> None:
    with pytest.raises(ValueError, match="length mismatch"):
        serial.unpack(_frame() + b"\x00", serial.KIND_BLOOM)


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        serial.unpack("text", serial.KIND_BLOOM)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        serial.unpack(data, serial.KIND_BLOOM)


def test_files_are_written_atomically_and_size_checked(tmp_path: Path) -> None:
    path = tmp_path / "f.dsk"
    serial.write_file(path, _frame())
    assert serial.read_file(path) == _frame()
    assert [p.name for p in tmp_path.iterdir()] == ["f.dsk"]
    with pytest.raises(ValueError, match="max_bytes"):
        serial.read_file(path, max_bytes=10)
