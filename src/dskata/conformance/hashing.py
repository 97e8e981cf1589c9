"""Contract of the ``hashing`` kata: what :mod:`dskata.hashing` promises, and a learner's must.

Surface under test (``impl``): ``normalize_key``, ``fmix64``, ``hash64``, ``hash64_many``,
``indexes``, ``indexes_many``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

KATA = "hashing"

MASK64 = (1 << 64) - 1
keys = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
fast = settings(max_examples=60, deadline=None)


def _as_ints(values: Any) -> list[int]:
    return [int(v) for v in values]


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "normalise keys")
def test_a_str_key_becomes_its_utf8_bytes(impl: Any) -> None:
    """A str key is normalised to its UTF-8 bytes."""
    got = impl.normalize_key("naïve ☃")
    assert got == "naïve ☃".encode(), f"normalize_key('naïve ☃') gave {got!r}"


@pytest.mark.kata_step(1, "normalise keys")
def test_bytes_like_keys_become_bytes(impl: Any) -> None:
    """bytes, bytearray and memoryview keys are normalised to the same bytes."""
    for key in (b"abc", bytearray(b"abc"), memoryview(b"abc")):
        got = impl.normalize_key(key)
        assert got == b"abc", f"normalize_key({key!r}) gave {got!r}, expected b'abc'"
        assert type(got) is bytes, f"normalize_key({key!r}) returned {type(got).__name__}"


@pytest.mark.kata_step(1, "normalise keys")
def test_an_int_key_becomes_its_64_bit_pattern(impl: Any) -> None:
    """Ints in [-2**63, 2**64) are normalised to their unsigned 64-bit two's-complement value."""
    cases = {0: 0, 5: 5, -1: MASK64, 2**64 - 1: MASK64, -(2**63): 2**63, np.int32(-2): MASK64 - 1}
    for key, want in cases.items():
        got = impl.normalize_key(key)
        assert got == want, f"normalize_key({key!r}) gave {got!r}, expected {want}"


@pytest.mark.kata_step(1, "normalise keys")
@pytest.mark.parametrize("key", [True, False, 1.0, None, (1, 2), np.float64(2.5)])
def test_unsupported_keys_raise_type_error_naming_the_type(impl: Any, key: object) -> None:
    """bool, float, None and other types raise TypeError, and the message names the type."""
    with pytest.raises(TypeError) as info:
        impl.normalize_key(key)
    assert type(key).__name__ in str(info.value), (
        f"the TypeError for {key!r} should name the type {type(key).__name__!r}: {info.value}"
    )


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
def test_fmix64_matches_murmur3_vectors(impl: Any) -> None:
    """fmix64 is MurmurHash3's finaliser: known input/output pairs match exactly."""
    vectors = {
        0: 0,
        1: 0xB456BCFC34C2CB2C,
        0xFFFFFFFFFFFFFFFF: 0x64B5720B4B825F21,
        0x0123456789ABCDEF: 0x87CBFBFE89022CEA,
    }
    for x, want in vectors.items():
        got = impl.fmix64(x)
        assert got == want, f"fmix64({x:#x}) gave {got:#x}, expected {want:#x}"


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
def test_flipping_one_input_bit_flips_about_half_the_output_bits(impl: Any) -> None:
    """Avalanche: flipping any input bit flips each output bit with probability close to 1/2."""
    rng = np.random.default_rng(1)
    samples = [int(v) for v in rng.integers(0, 2**63, size=300, dtype=np.uint64)]
    worst = 0.0
    for bit in range(64):
        flips = np.zeros(64)
        for x in samples:
            diff = impl.fmix64(x) ^ impl.fmix64(x ^ (1 << bit))
            flips += [(diff >> j) & 1 for j in range(64)]
        worst = max(worst, float(np.max(np.abs(flips / len(samples) - 0.5))))
    assert worst < 0.15, f"an output bit flips with probability {0.5 + worst:.2f}, not about 0.5"


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
@given(key=keys, seed=seeds)
@fast
def test_hash64_is_a_64_bit_value(impl: Any, key: Any, seed: int) -> None:
    """hash64 returns an int in [0, 2**64)."""
    h = impl.hash64(key, seed)
    assert type(h) is int and 0 <= h <= MASK64, f"hash64({key!r}, {seed}) gave {h!r}"


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
def test_a_str_hashes_like_its_utf8_bytes_and_equal_int_patterns_alike(impl: Any) -> None:
    """hash64('é') == hash64(b'\\xc3\\xa9'), and hash64(-1) == hash64(2**64 - 1)."""
    assert impl.hash64("é") == impl.hash64("é".encode())
    assert impl.hash64(-1) == impl.hash64(2**64 - 1)


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
def test_seeds_change_the_hash(impl: Any) -> None:
    """Different seeds give different hashes (for str, bytes and int keys)."""
    for key in ("dskata", b"dskata", 0, 12345):
        values = {impl.hash64(key, seed) for seed in range(8)}
        assert len(values) == 8, f"hash64({key!r}, seed) repeats across seeds 0..7"


@pytest.mark.kata_step(2, "a 64-bit finaliser that avalanches")
def test_hash64_is_the_same_in_another_process(impl: Any) -> None:
    """The hash is stable across processes: Python's salted hash() must not be used."""
    path = impl.module.__file__
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('kata_module', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.hash64('dskata'), m.hash64(b'bytes'), m.hash64(12345), m.hash64('x', 7))\n"
    )
    outputs = set()
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run(
            [sys.executable, "-c", code, path],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, f"importing your module in a new process failed:\n{out.stderr}"
        outputs.add(out.stdout.strip())
    here = f"{impl.hash64('dskata')} {impl.hash64(b'bytes')} {impl.hash64(12345)} " + str(
        impl.hash64("x", 7)
    )
    outputs.add(here)
    assert len(outputs) == 1, f"hashes differ between processes: {sorted(outputs)}"


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "k indexes by double hashing")
@given(key=keys, k=st.integers(1, 20), m=st.integers(1, 10**12), seed=seeds)
@fast
def test_indexes_are_k_values_in_range(impl: Any, key: Any, k: int, m: int, seed: int) -> None:
    """indexes(key, k, m, seed) returns k ints in [0, m), the same on every call."""
    got = impl.indexes(key, k, m, seed)
    assert len(got) == k, f"expected {k} indexes, got {len(got)}"
    assert all(0 <= i < m for i in got), f"indexes out of [0, {m}): {got}"
    assert list(got) == list(impl.indexes(key, k, m, seed)), "indexes changed between calls"


@pytest.mark.kata_step(3, "k indexes by double hashing")
@given(key=keys, m=st.integers(1, 10**12), seed=seeds)
@fast
def test_the_first_index_is_the_hash_modulo_m(impl: Any, key: Any, m: int, seed: int) -> None:
    """The first index is h1 mod m, with h1 = hash64(key, seed) (Kirsch–Mitzenmacher's g_0)."""
    got = impl.indexes(key, 3, m, seed)[0]
    want = impl.hash64(key, seed) % m
    assert got == want, f"indexes(...)[0] is {got}, expected hash64(key, seed) % m = {want}"


@pytest.mark.kata_step(3, "k indexes by double hashing")
@given(key=keys, log2m=st.integers(1, 40), seed=seeds)
@fast
def test_steps_are_one_odd_stride_when_m_is_a_power_of_two(
    impl: Any, key: Any, log2m: int, seed: int
) -> None:
    """g_i = h1 + i*h2: for m a power of two the stride is constant and odd; no index repeats."""
    m = 1 << log2m
    k = min(12, m)
    got = [int(i) for i in impl.indexes(key, k, m, seed)]
    strides = {(b - a) % m for a, b in itertools.pairwise(got)}
    assert len(strides) <= 1, f"indexes {got} do not advance by one stride h2 (mod {m})"
    if strides and m > 1:
        stride = strides.pop()
        assert stride % 2 == 1, (
            f"the stride h2 = {stride} (mod {m}) is even: with m a power of two, indexes repeat"
        )
        assert len(set(got)) == k, f"indexes repeat: {got}"


@pytest.mark.kata_step(3, "k indexes by double hashing")
def test_indexes_cover_a_table_larger_than_32_bits(impl: Any) -> None:
    """For m = 2**40, indexes spread over the whole table (a 32-bit hash could not)."""
    m = 1 << 40
    values = [i for n in range(2000) for i in impl.indexes(f"key-{n}", 2, m)]
    assert max(values) > m // 2, f"the largest of 4000 indexes is {max(values)}, below m/2"
    mean = sum(values) / len(values)
    assert 0.45 * m < mean < 0.55 * m, f"mean index {mean:.3g} is not close to m/2 = {m / 2:.3g}"


@pytest.mark.kata_step(3, "k indexes by double hashing")
def test_indexes_are_uniform_over_a_small_table(impl: Any) -> None:
    """Over many keys every slot of a small table gets about its share (chi-square)."""
    m, k, n = 97, 4, 5000
    counts = np.zeros(m)
    for i in range(n):
        for j in impl.indexes(i, k, m):
            counts[j] += 1
    expected = n * k / m
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 160, f"chi-square {chi2:.0f} over {m} slots (96 degrees of freedom): not uniform"


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "the array path equals the scalar path")
@given(
    values=st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=0, max_size=50),
    seed=seeds,
)
@fast
def test_hash64_many_on_uint64_equals_hash64(impl: Any, values: list[int], seed: int) -> None:
    """hash64_many(uint64 array) equals hash64 of each key, bit for bit."""
    got = impl.hash64_many(np.array(values, dtype=np.uint64), seed)
    assert isinstance(got, np.ndarray) and got.dtype == np.uint64, "expected a uint64 array"
    assert _as_ints(got) == [impl.hash64(v, seed) for v in values]


@pytest.mark.kata_step(4, "the array path equals the scalar path")
@given(
    values=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=50),
    seed=seeds,
)
@fast
def test_hash64_many_on_int64_equals_hash64(impl: Any, values: list[int], seed: int) -> None:
    """hash64_many(int64 array) equals hash64 of each (possibly negative) key."""
    got = impl.hash64_many(np.array(values, dtype=np.int64), seed)
    assert _as_ints(got) == [impl.hash64(v, seed) for v in values]


@pytest.mark.kata_step(4, "the array path equals the scalar path")
@given(values=st.lists(keys, max_size=30), seed=seeds)
@fast
def test_hash64_many_on_a_list_equals_hash64(impl: Any, values: list[Any], seed: int) -> None:
    """hash64_many(list of str/bytes/int) equals hash64 of each key."""
    got = impl.hash64_many(values, seed)
    assert _as_ints(got) == [impl.hash64(v, seed) for v in values]


@pytest.mark.kata_step(4, "the array path equals the scalar path")
@given(
    values=st.lists(keys, min_size=1, max_size=20),
    k=st.integers(1, 10),
    m=st.integers(1, 2**40),
    seed=seeds,
)
@fast
def test_indexes_many_rows_equal_indexes(
    impl: Any, values: list[Any], k: int, m: int, seed: int
) -> None:
    """Row j of indexes_many(keys, k, m) equals indexes(keys[j], k, m)."""
    got = impl.indexes_many(values, k, m, seed)
    assert got.shape == (len(values), k), f"expected shape {(len(values), k)}, got {got.shape}"
    for row, key in zip(got, values, strict=True):
        assert _as_ints(row) == [int(i) for i in impl.indexes(key, k, m, seed)]


@pytest.mark.kata_step(4, "the array path equals the scalar path")
def test_a_float_array_is_refused_with_type_error(impl: Any) -> None:
    """hash64_many refuses float arrays with TypeError (floats are not keys)."""
    with pytest.raises(TypeError):
        impl.hash64_many(np.array([1.5, 2.5]))
