"""jump_hash: bit for bit the reference of Lamping and Veach (2014), figure 1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata.ring.jump import MAX_BUCKETS, jump_hash, jump_hash_many

KEYS = [0, 1, 2, 42, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 0xDEADBEEFCAFEBABE, 123456789]
# Produced by the paper's C code (as packaged in jump-consistent-hash 3.6.0).
VECTORS = {
    1: [0] * 10,
    2: [0, 0, 0, 1, 1, 0, 1, 1, 1, 0],
    10: [0, 6, 6, 2, 2, 8, 5, 9, 4, 7],
    1000: [0, 549, 338, 571, 937, 972, 453, 313, 144, 294],
    2**31 - 1: [
        0,
        262355607,
        736532115,
        1603940301,
        1378953490,
        213047985,
        1119800965,
        699554662,
        635109204,
        1234790967,
    ],
}


def reference(key: int, num_buckets: int) -> int:
    """Figure 1 transcribed with explicit C types: uint64 key, int64 b and j, double maths."""
    b, j = -1, 0
    key &= 2**64 - 1
    while j < num_buckets:
        b = j
        key = (key * 2862933555777941757 + 1) % 2**64
        j = int(float(b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


@pytest.mark.parametrize("buckets", sorted(VECTORS))
def test_jump_hash_matches_the_papers_reference_vectors(buckets: int) -> None:
    assert [jump_hash(k, buckets) for k in KEYS] == VECTORS[buckets]
    arr = np.array(KEYS, dtype=np.uint64)
    assert jump_hash_many(arr, buckets).tolist() == VECTORS[buckets]


@settings(max_examples=200, deadline=None)
@given(key=st.integers(0, 2**64 - 1), buckets=st.integers(1, MAX_BUCKETS))
def test_jump_hash_equals_the_transcribed_reference(key: int, buckets: int) -> None:
    assert jump_hash(key, buckets) == reference(key, buckets)


@settings(max_examples=30, deadline=None)
@given(
    keys=st.lists(st.integers(0, 2**64 - 1), max_size=200),
    buckets=st.integers(1, 5000),
)
def test_the_array_form_equals_the_scalar_form(keys: list[int], buckets: int) -> None:
    arr = np.array(keys, dtype=np.uint64)
    assert jump_hash_many(arr, buckets).tolist() == [jump_hash(k, buckets) for k in keys]


def test_signed_keys_are_taken_as_twos_complement() -> None:
    signed = np.array([-1, -2, 5], dtype=np.int64)
    assert jump_hash_many(signed, 77).tolist() == [jump_hash(k, 77) for k in (-1, -2, 5)]
    assert jump_hash(-1, 77) == jump_hash(2**64 - 1, 77)


def test_growing_by_one_bucket_moves_keys_only_into_the_new_bucket() -> None:
    """Paper, section 2: going from n to n + 1 buckets, a key stays or moves to bucket n."""
    keys = np.arange(50_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for n in (1, 2, 7, 64, 100):
        before, after = jump_hash_many(keys, n), jump_hash_many(keys, n + 1)
        moved = before != after
        assert np.all(after[moved] == n)
        assert abs(moved.mean() - 1 / (n + 1)) < 0.01


def test_buckets_are_balanced() -> None:
    keys = np.arange(100_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    counts = np.bincount(jump_hash_many(keys, 10), minlength=10)
    assert counts.max() / counts.mean() < 1.03


@pytest.mark.parametrize(
    ("key", "buckets", "error"),
    [
        (1, 0, ValueError),
        (1, -3, ValueError),
        (1, 2**31, ValueError),
        (1, 2.0, TypeError),
        (1.0, 3, TypeError),
        ("k", 3, TypeError),
        (True, 3, TypeError),
        (2**64, 3, ValueError),
        (-(2**63) - 1, 3, ValueError),
    ],
)
def test_bad_arguments_are_rejected(key: object, buckets: object, error: type) -> None:
    with pytest.raises(error):
        jump_hash(key, buckets)  # type: ignore[arg-type]


def test_bad_arrays_are_rejected() -> None:
    with pytest.raises(TypeError, match="integer array"):
        jump_hash_many(np.array([1.5]), 3)
    with pytest.raises(ValueError, match="1-D"):
        jump_hash_many(np.zeros((2, 2), dtype=np.uint64), 3)
    with pytest.raises(ValueError, match="num_buckets"):
        jump_hash_many(np.arange(3), 0)
    assert jump_hash_many(np.array([], dtype=np.uint64), 5).shape == (0,)
    assert jump_hash_many([], 5).shape == (0,)


@pytest.mark.parametrize("buckets", [1000, MAX_BUCKETS])
def test_the_array_form_is_exact_across_blocks_and_compactions(buckets: int) -> None:
    from dskata.ring.jump import _CHUNK

    keys = np.random.default_rng(7).integers(0, 2**64 - 1, size=2 * _CHUNK + 5, dtype=np.uint64)
    got = jump_hash_many(keys, buckets)
    edges = [0, 1, _CHUNK - 1, _CHUNK, _CHUNK + 1, 2 * _CHUNK - 1, 2 * _CHUNK, 2 * _CHUNK + 4]
    sample = edges + np.random.default_rng(8).integers(0, keys.shape[0], 300).tolist()
    assert [int(got[i]) for i in sample] == [reference(int(keys[i]), buckets) for i in sample]
