"""Serialisation of the Bloom family: round trips, hostile input, other processes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dskata import serial
from dskata.bloom import BloomFilter, CountingBloomFilter, ScalableBloomFilter


def _filled() -> list[Any]:
    bf = BloomFilter(200, 0.01, seed=17)
    bf.add_many([f"key-{i}" for i in range(150)])
    raw = BloomFilter.from_size(1001, 3)  # m not a multiple of 8: padding bits in the payload
    raw.add_many(range(100))
    cbf = CountingBloomFilter(200, 0.01, seed=17)
    cbf.add_many([f"key-{i}" for i in range(150)])
    odd = CountingBloomFilter.from_size(99, 2)  # odd m: a padding nibble
    odd.add_many(range(30))
    sbf = ScalableBloomFilter(20, 0.01, seed=17)
    sbf.add_many([f"key-{i}" for i in range(150)])
    return [bf, raw, cbf, odd, sbf]


FILTERS = _filled()
IDS = ["bloom", "bloom-raw", "counting", "counting-odd", "scalable"]


@pytest.mark.parametrize("f", FILTERS, ids=IDS)
def test_bytes_round_trip_gives_an_equal_filter_with_the_same_answers(f: Any) -> None:
    g = type(f).from_bytes(f.to_bytes())
    assert g == f and len(g) == len(f) and g.seed == f.seed
    probes = [f"key-{i}" for i in range(1000)]
    assert np.array_equal(g.contains_many(probes), f.contains_many(probes))
    assert g.to_bytes() == f.to_bytes()
    g._check()


@pytest.mark.parametrize("f", FILTERS, ids=IDS)
def test_save_and_load_round_trip(f: Any, tmp_path: Path) -> None:
    path = tmp_path / "filter.dskt"
    f.save(path)
    assert type(f).load(path) == f


@pytest.mark.parametrize("f", FILTERS, ids=IDS)
def test_every_truncation_is_refused(f: Any) -> None:
    data = f.to_bytes()
    for cut in sorted({0, 1, 10, 35, 36, 40, len(data) // 2, len(data) - 4, len(data) - 1}):
        with pytest.raises(ValueError):
            type(f).from_bytes(data[:cut])


@pytest.mark.parametrize("f", FILTERS, ids=IDS)
def test_oversized_input_is_refused(f: Any) -> None:
    with pytest.raises(ValueError, match=r"length|oversized"):
        type(f).from_bytes(f.to_bytes() + b"\x00")


@pytest.mark.parametrize("f", FILTERS, ids=IDS)
def test_a_flipped_bit_anywhere_is_refused(f: Any) -> None:
    data = bytearray(f.to_bytes())
    rng = np.random.default_rng(0)
    for pos in [*rng.integers(0, len(data), size=20).tolist(), len(data) - 1]:
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(ValueError):
            type(f).from_bytes(bytes(bad))


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        (BloomFilter, CountingBloomFilter),
        (CountingBloomFilter, BloomFilter),
        (BloomFilter, ScalableBloomFilter),
        (ScalableBloomFilter, BloomFilter),
    ],
)
def test_the_wrong_kind_is_refused_by_name(writer: Any, reader: Any) -> None:
    data = writer(10).to_bytes()
    with pytest.raises(ValueError, match=writer.__name__):
        reader.from_bytes(data)


def test_non_bytes_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        BloomFilter.from_bytes("not bytes")  # type: ignore[arg-type]


def _bloom_frame(m: int, k: int, capacity: int, p: float, payload: bytes) -> bytes:
    params = struct.pack("<QIQd", m, k, capacity, p)
    return serial.pack(serial.KIND_BLOOM, seed=0, count=0, params=params, payload=payload)


def test_a_header_claiming_a_huge_filter_is_refused_before_allocating() -> None:
    # A valid checksum over a header that claims 2**47 bits with an 8-byte payload.
    with pytest.raises(ValueError, match="payload"):
        BloomFilter.from_bytes(_bloom_frame(2**47, 3, 0, 0.0, b"\x00" * 8))
    with pytest.raises(ValueError, match="bit_size"):
        BloomFilter.from_bytes(_bloom_frame(2**60, 3, 0, 0.0, b"\x00" * 8))


@pytest.mark.parametrize(
    ("m", "k", "capacity", "p", "payload"),
    [
        (64, 0, 0, 0.0, b"\x00" * 8),  # k = 0
        (64, 3, 10, 0.01, b"\x00" * 8),  # parameters disagree with the sizing formulas
        (64, 3, 10, float("nan"), b"\x00" * 8),
        (10, 3, 0, 0.0, b"\x00\xff"),  # padding bits past m set
    ],
)
def test_checksummed_but_inconsistent_parameters_are_refused(
    m: int, k: int, capacity: int, p: float, payload: bytes
) -> None:
    with pytest.raises(ValueError, match="corrupt"):
        BloomFilter.from_bytes(_bloom_frame(m, k, capacity, p, payload))


def test_a_scalable_header_with_too_many_filters_is_refused() -> None:
    params = struct.pack("<QdIdI", 1000, 0.01, 2, 0.9, 10**6)
    data = serial.pack(serial.KIND_SCALABLE_BLOOM, seed=0, count=0, params=params, payload=b"")
    with pytest.raises(ValueError, match="corrupt"):
        ScalableBloomFilter.from_bytes(data)


@pytest.mark.parametrize(
    ("cls", "kind"),
    [(BloomFilter, serial.KIND_BLOOM), (CountingBloomFilter, serial.KIND_COUNTING_BLOOM)],
)
def test_an_item_count_len_cannot_report_is_refused(cls: Any, kind: int) -> None:
    # A valid checksum over a count of 2**64 - 1: len() would raise OverflowError later.
    f = cls(100)
    frame = serial.unpack(f.to_bytes(), kind)
    for count in (2**63, 2**64 - 1):
        data = serial.pack(
            kind, seed=0, count=count, params=bytes(frame.params), payload=bytes(frame.payload)
        )
        with pytest.raises(ValueError, match="item count"):
            cls.from_bytes(data)


def _rewrite_scalable(sbf: ScalableBloomFilter, count: int, sub_counts: list[int]) -> bytes:
    frame = serial.unpack(sbf.to_bytes(), serial.KIND_SCALABLE_BLOOM)
    payload = bytearray(frame.payload)
    offset = 0
    for f, c in zip(sbf.filters, sub_counts, strict=True):
        struct.pack_into("<Q", payload, offset, c)
        offset += 8 + f.nbytes
    return serial.pack(
        serial.KIND_SCALABLE_BLOOM,
        seed=sbf.seed,
        count=count,
        params=bytes(frame.params),
        payload=bytes(payload),
    )


def test_scalable_filter_counts_that_no_growth_could_produce_are_refused() -> None:
    sbf = ScalableBloomFilter(20, 0.01)
    sbf.add_many(range(50))  # filters of capacity 20 (full) and 40 (30 keys)
    assert [len(f) for f in sbf.filters] == [20, 30]
    assert ScalableBloomFilter.from_bytes(_rewrite_scalable(sbf, 50, [20, 30])) == sbf
    for count, subs, words in [
        (50, [20, 41], "capacity 40"),  # more keys than the newest filter holds
        (50, [19, 30], "must be full"),  # an older filter that did not fill up
        (49, [20, 30], "item count"),  # fewer insertions than the filters hold
        (2**64 - 1, [20, 30], "item count"),
    ]:
        with pytest.raises(ValueError, match=words):
            ScalableBloomFilter.from_bytes(_rewrite_scalable(sbf, count, subs))


_CHILD = """
import sys
from dskata.bloom import BloomFilter, CountingBloomFilter, ScalableBloomFilter
kind, path = sys.argv[1], sys.argv[2]
cls = {"b": BloomFilter, "c": CountingBloomFilter, "s": ScalableBloomFilter}[kind]
f = cls.load(path)
probes = [f"key-{i}" for i in range(1000)] + [b"raw", 7, -3]
print("".join("1" if p in f else "0" for p in probes))
"""


@pytest.mark.parametrize("f", [FILTERS[0], FILTERS[2], FILTERS[4]], ids=["b", "c", "s"])
def test_a_file_loads_in_another_process_with_another_hash_seed_and_answers_identically(
    f: Any, tmp_path: Path
) -> None:
    path = tmp_path / "f.dskt"
    f.save(path)
    probes = [f"key-{i}" for i in range(1000)] + [b"raw", 7, -3]
    expected = "".join("1" if p in f else "0" for p in probes)
    kind = {BloomFilter: "b", CountingBloomFilter: "c", ScalableBloomFilter: "s"}[type(f)]
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, kind, str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == expected
