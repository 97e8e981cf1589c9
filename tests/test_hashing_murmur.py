"""Vectorised MurmurHash3 of ASCII str batches equals mmh3 key for key; the filters use it."""

from __future__ import annotations

import mmh3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata._murmur3 import MAX_BLOCKS, MIN_KEYS, pair_rows_ascii
from dskata.bloom import BloomFilter, CountingBloomFilter, ScalableBloomFilter, _core
from dskata.hashing import MASK64, hash_pair_many

ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=70)
no_nul_keys = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=70)


def _expected(keys: list[str], seed: int) -> np.ndarray:
    return np.array(
        [[lo & MASK64, hi & MASK64] for lo, hi in (mmh3.hash64(k, seed) for k in keys)],
        dtype=np.uint64,
    ).reshape(-1, 2)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.one_of(ascii_keys, no_nul_keys), min_size=MIN_KEYS, max_size=200),
    st.integers(0, 2**32 - 1),
)
def test_rows_equal_mmh3_for_ascii_keys_with_and_without_nul(keys: list[str], seed: int) -> None:
    rows = pair_rows_ascii(keys, seed)
    assert rows is not None
    assert np.array_equal(rows, _expected(keys, seed))


@settings(max_examples=30, deadline=None)
@given(st.lists(no_nul_keys, min_size=MIN_KEYS, max_size=150), st.integers(0, 2**32 - 1))
def test_rows_equal_mmh3_when_the_separators_give_the_lengths(keys: list[str], seed: int) -> None:
    rows = pair_rows_ascii(keys, seed)
    assert rows is not None and np.array_equal(rows, _expected(keys, seed))


@pytest.mark.parametrize("length", [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 16 * MAX_BLOCKS - 1])
def test_every_block_and_tail_length_hashes_like_mmh3(length: int) -> None:
    # Keys of mixed lengths, so some rows take the subset path of the block loop.
    keys = [("ab\x00c" * 400)[: (length + i) % (length + 1) if length else 0] for i in range(70)]
    keys[0] = "x" * length
    rows = pair_rows_ascii(keys, 99)
    assert rows is not None and np.array_equal(rows, _expected(keys, 99))


@pytest.mark.parametrize(
    "keys",
    [
        ["k"] * (MIN_KEYS - 1),  # too few: the per-key path is as fast
        ["é"] * MIN_KEYS,  # non-ASCII: UTF-8 lengths differ from len()
        ["k"] * MIN_KEYS + [b"bytes"],  # not all str
        ["k"] * MIN_KEYS + [5],
        ["k"] * MIN_KEYS + ["x" * 16 * MAX_BLOCKS],  # a very long key
    ],
    ids=["few", "non-ascii", "bytes", "int", "long"],
)
def test_batches_it_does_not_handle_are_left_to_hash_pair_many(keys: list[object]) -> None:
    assert pair_rows_ascii(keys, 0) is None
    rows = _core.hash_keys(keys, 5)  # still hashed, by dskata.hashing
    h1, h2 = hash_pair_many(keys, 5)  # type: ignore[arg-type]
    assert np.array_equal(rows[:, 0], h1) and np.array_equal(rows[:, 1], h2)


def test_hash_keys_equals_hash_pair_many_on_lists_tuples_generators_and_str_arrays() -> None:
    keys = [f"key-{i}" for i in range(5000)] + ["", "a\x00b", "x" * 100]
    h1, h2 = hash_pair_many(keys, 3)
    want = np.stack((h1, h2), axis=1)
    for batch in (keys, tuple(keys), (k for k in keys)):
        assert np.array_equal(_core.hash_keys(batch, 3), want)
    arr = np.array(keys[:-3])  # numpy str arrays drop trailing NULs, so none here
    assert np.array_equal(_core.hash_keys(arr, 3), want[:-3])


@pytest.mark.parametrize("cls", [BloomFilter, CountingBloomFilter, ScalableBloomFilter])
def test_every_filter_agrees_with_its_scalar_path_on_large_str_batches(cls: type) -> None:
    keys = [f"user:{i}/session" for i in range(3000)]
    probes = [f"user:{i}/session" for i in range(1500, 6000)]
    batch, scalar = cls(3000, 0.01), cls(3000, 0.01)
    batch.add_many(keys)
    for k in keys:
        scalar.add(k)
    assert batch == scalar
    assert batch.contains_many(probes).tolist() == [p in scalar for p in probes]
