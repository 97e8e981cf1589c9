"""dskata.hashing: determinism, scalar/array agreement, seeds, ranges, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import mmh3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata import hashing as H

keys = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) - 1),
)
seeds = st.integers(0, 2**32 - 1)


def test_fmix64_is_the_finaliser_inside_murmur3() -> None:
    """MurmurHash3 x64-128 of empty input is fmix64 of the seed's multiples (cross-check)."""
    for s in (1, 7, 2**32 - 1):
        a, b = H.fmix64(2 * s), H.fmix64(3 * s)
        h1 = (a + b) & H.MASK64
        assert mmh3.hash64(b"", s, signed=False) == (h1, (h1 + b) & H.MASK64)


@given(x=st.integers(0, 2**64 - 1))
def test_fmix64_is_a_bijection_on_samples(x: int) -> None:
    """fmix64 is invertible: the inverse of each step recovers x."""
    y = H.fmix64(x)
    # Invert: xorshift-33 is its own inverse applied once (33 > 32), multiplies by inverses.
    inv1, inv2 = pow(0xFF51AFD7ED558CCD, -1, 2**64), pow(0xC4CEB9FE1A85EC53, -1, 2**64)
    y ^= y >> 33
    y = (y * inv2) & H.MASK64
    y ^= y >> 33
    y = (y * inv1) & H.MASK64
    y ^= y >> 33
    assert y == x


@given(key=keys, seed=seeds)
def test_hash64_many_of_a_list_equals_hash64(key: object, seed: int) -> None:
    assert int(H.hash64_many([key], seed)[0]) == H.hash64(key, seed)  # type: ignore[arg-type]


@given(
    values=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=40),
    dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64]),
    seed=seeds,
)
def test_every_signed_dtype_hashes_like_python_ints(
    values: list[int], dtype: type, seed: int
) -> None:
    arr = np.array(values, dtype=np.int64).astype(dtype)
    got = [int(v) for v in H.hash64_many(arr, seed)]
    assert got == [H.hash64(int(v), seed) for v in arr]


@given(
    values=st.lists(st.integers(0, 2**16 - 1), max_size=40),
    dtype=st.sampled_from([np.uint8, np.uint16, np.uint32, np.uint64]),
)
def test_every_unsigned_dtype_hashes_like_python_ints(values: list[int], dtype: type) -> None:
    arr = np.array(values, dtype=np.uint64).astype(dtype)
    assert [int(v) for v in H.hash64_many(arr)] == [H.hash64(int(v)) for v in arr]


def test_large_arrays_cross_chunk_boundaries_correctly() -> None:
    arr = np.arange(H._CHUNK * 2 + 17, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    got = H.hash64_many(arr, 3)
    for i in (0, H._CHUNK - 1, H._CHUNK, 2 * H._CHUNK, len(arr) - 1):
        assert int(got[i]) == H.hash64(int(arr[i]), 3)


def test_str_and_bytes_numpy_arrays_hash_like_their_elements() -> None:
    words = ["a", "bé", ""]
    assert [int(v) for v in H.hash64_many(np.array(words))] == [H.hash64(w) for w in words]
    raw = [b"a", b"bc"]
    assert [int(v) for v in H.hash64_many(np.array(raw))] == [H.hash64(w) for w in raw]


def test_mixed_iterables_take_each_keys_own_path() -> None:
    mixed = ["x", 5, b"y", np.int64(-3), bytearray(b"z"), 2**70]
    assert [int(v) for v in H.hash64_many(iter(mixed))] == [H.hash64(k) for k in mixed]  # type: ignore[arg-type]


def test_hashes_are_stable_across_processes_and_hash_seeds() -> None:
    """PYTHONHASHSEED must not matter: two fresh interpreters agree with this one."""
    code = (
        "from dskata.hashing import hash64, hash128, indexes, row_hashes\n"
        "print(hash64('dskata'), hash64(b'x', 9), hash64(-5), hash64(2**80), hash128('k'),"
        " indexes('k', 3, 1000), row_hashes(7, 3))"
    )
    outs = set()
    for hs in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        res = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outs.add(res.stdout.strip())
    assert len(outs) == 1


def test_known_values_never_change() -> None:
    """Pinned outputs: a change here breaks every saved structure (bump HASH_ID if intended)."""
    assert H.hash64("dskata") == mmh3.hash64("dskata", 0, signed=False)[0]
    assert H.hash64(0) == H.fmix64(H.fmix64(0x9E3779B97F4A7C15))
    assert H.indexes(0, 2, 2**64 - 1)[0] == H.hash64(0) % (2**64 - 1)


@given(key=keys, seed=seeds)
@settings(max_examples=50)
def test_every_seed_changes_the_hash(key: object, seed: int) -> None:
    other = (seed + 1) % 2**32
    assert H.hash64(key, seed) != H.hash64(key, other)  # type: ignore[arg-type]


@given(key=keys, seed=seeds)
def test_hash128_high_half_is_a_different_mix_than_hash64_only_for_bytes(
    key: object, seed: int
) -> None:
    h = H.hash128(key, seed)  # type: ignore[arg-type]
    assert 0 <= h < 2**128
    if isinstance(H.normalize_key(key), int):
        assert h >> 64 == H.hash64(key, seed)  # type: ignore[arg-type]


def test_big_ints_do_not_collide_with_their_bytes() -> None:
    big = 2**100
    raw = big.to_bytes(13, "little", signed=True)
    assert H.hash64(big) != H.hash64(raw)
    assert H.hash64(-(2**100)) != H.hash64(2**100)


@pytest.mark.parametrize("bad", [True, False, 1.0, None, 3j, [1], (1,), {"a": 1}, np.float32(1)])
def test_unsupported_keys_raise_type_error_naming_the_type(bad: object) -> None:
    for fn in (H.hash64, H.hash128, H.normalize_key):
        with pytest.raises(TypeError, match=type(bad).__name__):
            fn(bad)  # type: ignore[operator]
    with pytest.raises(TypeError, match=type(bad).__name__):
        H.hash64_many(["ok", bad])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("arr", "exc"),
    [
        (np.array([1.0, 2.0]), TypeError),
        (np.array([True, False]), TypeError),
        (np.zeros((2, 2), dtype=np.uint64), ValueError),
    ],
)
def test_bad_arrays_are_refused(arr: np.ndarray, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        H.hash64_many(arr)


def test_a_single_string_is_not_an_iterable_of_keys() -> None:
    with pytest.raises(TypeError, match="single str"):
        H.hash64_many("abc")


@pytest.mark.parametrize(
    ("seed", "exc"),
    [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)],
)
def test_bad_seeds_are_refused_by_name(seed: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="seed"):
        H.hash64("x", seed)  # type: ignore[arg-type]
    with pytest.raises(exc, match="seed"):
        H.hash64_many(np.arange(3), seed)  # type: ignore[arg-type]


@given(key=keys, k=st.integers(1, 30), m=st.integers(1, 2**64 - 1), seed=seeds)
def test_indexes_are_in_range_and_match_the_array_path(
    key: object, k: int, m: int, seed: int
) -> None:
    got = H.indexes(key, k, m, seed)  # type: ignore[arg-type]
    assert len(got) == k and all(0 <= i < m for i in got)
    assert [int(v) for v in H.indexes_many([key], k, m, seed)[0]] == got  # type: ignore[list-item]


@given(
    values=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30),
    k=st.integers(1, 8),
    m=st.integers(1, 10**9),
)
def test_indexes_many_on_uint64_arrays_matches_scalar(values: list[int], k: int, m: int) -> None:
    rows = H.indexes_many(np.array(values, dtype=np.uint64), k, m)
    assert [[int(v) for v in r] for r in rows] == [H.indexes(v, k, m) for v in values]


@pytest.mark.parametrize(("k", "m"), [(0, 10), (3, 0), (-1, 5), (2, 2**64)])
def test_bad_k_or_m_raise_value_error(k: int, m: int) -> None:
    with pytest.raises(ValueError):
        H.indexes("x", k, m)
    with pytest.raises(ValueError):
        H.indexes_many(["x"], k, m)


@given(key=keys, d=st.integers(1, 12), seed=seeds)
def test_row_hashes_match_the_array_path(key: object, d: int, seed: int) -> None:
    got = H.row_hashes(key, d, seed)  # type: ignore[arg-type]
    assert [int(v) for v in H.row_hashes_many([key], d, seed)[0]] == got  # type: ignore[list-item]


def test_row_hashes_collide_independently_unlike_double_hashing() -> None:
    """Keys that collide in one count-min row collide in the next only by chance (≈ 1/width)."""
    width, n = 64, 20000
    rows = H.row_hashes_many(np.arange(n, dtype=np.uint64), 2) % np.uint64(width)
    same0 = rows[:, 0][:, None] == rows[:, 0][None, :400]
    same1 = rows[:, 1][:, None] == rows[:, 1][None, :400]
    both = (same0 & same1).sum() - 400  # minus the diagonal
    pairs_row0 = same0.sum() - 400
    assert both / pairs_row0 < 3 / width


def test_empty_inputs_give_empty_arrays() -> None:
    assert H.hash64_many([]).shape == (0,)
    assert H.hash64_many(np.array([], dtype=np.uint64)).dtype == np.uint64
    assert H.indexes_many([], 3, 10).shape == (0, 3)
    assert H.row_hashes_many([], 2).shape == (0, 2)


@given(key=keys, seed=seeds)
def test_hash_pair_starts_with_hash64_and_has_an_odd_step(key: object, seed: int) -> None:
    h1, h2 = H.hash_pair(key, seed)  # type: ignore[arg-type]
    assert h1 == H.hash64(key, seed) and h2 % 2 == 1 and 0 < h2 <= H.MASK64  # type: ignore[arg-type]
    many1, many2 = H.hash_pair_many([key], seed)  # type: ignore[list-item]
    assert (int(many1[0]), int(many2[0])) == (h1, h2)


def test_the_byte_step_is_the_second_half_of_the_murmur3_digest() -> None:
    lo, hi = mmh3.hash64(b"apple", 5, signed=False)
    assert H.hash_pair("apple", 5) == (lo, hi | 1)


@given(values=st.lists(st.integers(-(2**63), 2**64 - 1), max_size=30), seed=seeds)
def test_hash_pair_many_on_integer_arrays_matches_scalar(values: list[int], seed: int) -> None:
    arr = np.array([v & H.MASK64 for v in values], dtype=np.uint64)
    h1, h2 = H.hash_pair_many(arr, seed)
    assert list(zip(map(int, h1), map(int, h2), strict=True)) == [
        H.hash_pair(v, seed) for v in values
    ]


lone_surrogates = st.text(st.characters(categories=["Cs"]), min_size=1)


@settings(max_examples=100, deadline=None)
@given(text=st.text(), lone=lone_surrogates, seed=st.integers(0, 2**32 - 1))
def test_str_with_lone_surrogates_hashes_as_its_surrogatepass_utf8(
    text: str, lone: str, seed: int
) -> None:
    """Any Python str is a key: lone surrogates (os.fsdecode of bad bytes) hash without crashing.

    mmh3 5.3 segfaults on such a str, so every path must encode it first; the scalar, pair and
    batch paths must still agree with each other and with the bytes they stand for.
    """
    from dskata.hashing import hash_pair, hash_pair_many

    for key in (lone, text + lone, lone + text, "\udcff" + text):
        raw = key.encode("utf-8", "surrogatepass")
        assert H.normalize_key(key) == raw
        assert H.hash64(key, seed) == H.hash64(raw, seed)
        assert hash_pair(key, seed) == hash_pair(raw, seed)
        batch = ["ascii", key, 7, raw]
        assert H.hash64_many(batch, seed).tolist() == [H.hash64(k, seed) for k in batch]
        h1, h2 = hash_pair_many(batch, seed)
        pairs = list(zip(h1.tolist(), h2.tolist(), strict=True))
        assert pairs == [hash_pair(k, seed) for k in batch]
        pair = [key, "é"]
        assert H.hash64_many(pair, seed).tolist() == [H.hash64(k, seed) for k in pair]


def test_containers_accept_str_keys_with_lone_surrogates() -> None:
    from dskata import BloomFilter, CountMinSketch, TopK

    key = "report-\udcff.txt"  # what os.fsdecode(b"report-\xff.txt") returns on POSIX
    bloom = BloomFilter(100, 0.01)
    bloom.add(key)
    assert key in bloom and bloom.contains_many([key, "x"]).tolist()[0]
    cms = CountMinSketch(64, 4)
    cms.add(key, 3)
    assert cms[key] >= 3
    top = TopK(4)
    top.add(key)
    assert TopK.from_bytes(top.to_bytes()).estimate(key) == top.estimate(key) == 1
