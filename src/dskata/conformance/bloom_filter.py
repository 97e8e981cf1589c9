"""Contract of the ``bloom-filter`` kata: what :class:`dskata.bloom.BloomFilter` promises.

Surface under test (``impl.BloomFilter``): ``BloomFilter(capacity, error_rate=0.01, *, seed=0)``,
``add``, ``in``, ``len``, ``bit_size``, ``num_hashes``, ``add_many``, ``contains_many``, ``|``
and ``update`` for filters with equal parameters, ``to_bytes`` / ``from_bytes``.

The tests never look at which bits are set: any correct hashing passes, including
``dskata.hashing.indexes``. They measure behaviour: sizes, answers, rates.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

KATA = "bloom-filter"

keys = st.one_of(
    st.text(max_size=10),
    st.binary(max_size=10),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
)
fast = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "add and contains")
def test_an_added_key_is_contained(impl: Any) -> None:
    """A key that was added is reported as present."""
    bf = impl.BloomFilter(100, 0.01)
    bf.add("apple")
    assert "apple" in bf, "after add('apple'), 'apple' in bf was False, expected True"


@pytest.mark.kata_step(1, "add and contains")
def test_an_empty_filter_contains_nothing(impl: Any) -> None:
    """A new filter reports every key as absent."""
    bf = impl.BloomFilter(100, 0.01)
    for key in ("apple", b"pear", 0, 42):
        assert key not in bf, f"{key!r} in an empty filter was True, expected False"


@pytest.mark.kata_step(1, "add and contains")
def test_str_bytes_and_int_keys_all_work(impl: Any) -> None:
    """str, bytes and int keys can be added and found."""
    bf = impl.BloomFilter(100, 0.01)
    for key in ("s", b"b", 7, -1, 2**64 - 1):
        bf.add(key)
        assert key in bf, f"after add({key!r}), {key!r} in bf was False"


@pytest.mark.kata_step(1, "add and contains")
def test_len_counts_insertions(impl: Any) -> None:
    """len(bf) is the number of add calls."""
    bf = impl.BloomFilter(100, 0.01)
    for i in range(10):
        bf.add(i)
    assert len(bf) == 10, f"len after 10 adds was {len(bf)}, expected 10"


@pytest.mark.kata_step(1, "add and contains")
def test_unsupported_key_types_raise_type_error(impl: Any) -> None:
    """float and None keys raise TypeError (1.0 == 1 would otherwise alias silently)."""
    bf = impl.BloomFilter(100, 0.01)
    for key in (1.5, None):
        with pytest.raises(TypeError):
            bf.add(key)


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "size from capacity and error rate")
@pytest.mark.parametrize(
    ("n", "p"), [(1000, 0.01), (1000, 0.001), (50_000, 0.05), (7, 0.3), (123_457, 0.0001)]
)
def test_bit_size_is_optimal_and_rounded_up_to_a_64_bit_word(impl: Any, n: int, p: float) -> None:
    """bit_size is -n ln p / (ln 2)^2 rounded up to a multiple of 64."""
    want = -(-math.ceil(-n * math.log(p) / math.log(2) ** 2) // 64) * 64
    got = impl.BloomFilter(n, p).bit_size
    assert got == want, f"BloomFilter({n}, {p}).bit_size was {got}, expected {want}"


@pytest.mark.kata_step(2, "size from capacity and error rate")
@pytest.mark.parametrize(("n", "p"), [(1000, 0.01), (1000, 0.001), (50_000, 0.05), (7, 0.3)])
def test_num_hashes_is_rounded_not_truncated(impl: Any, n: int, p: float) -> None:
    """num_hashes is round((m / n) ln 2), at least 1; truncating loses accuracy."""
    bf = impl.BloomFilter(n, p)
    want = max(1, round(bf.bit_size / n * math.log(2)))
    assert bf.num_hashes == want, (
        f"BloomFilter({n}, {p}).num_hashes was {bf.num_hashes}, expected {want}"
    )


@pytest.mark.kata_step(2, "size from capacity and error rate")
@pytest.mark.parametrize(
    ("capacity", "error_rate"),
    [(0, 0.01), (-1, 0.01), (10, 0.0), (10, 1.0), (10, -0.5), (10, float("nan"))],
)
def test_bad_parameters_raise_value_error(impl: Any, capacity: int, error_rate: float) -> None:
    """capacity <= 0 and error_rate outside (0, 1) (or NaN) raise ValueError."""
    with pytest.raises(ValueError):
        impl.BloomFilter(capacity, error_rate)


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "no false negatives")
def test_there_is_never_a_false_negative_stateful(impl: Any) -> None:
    """Against a set: every key ever added is always reported present, as the filter fills."""
    BloomFilter = impl.BloomFilter

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.bf = BloomFilter(20, 0.05)
            self.model: set[Any] = set()

        @rule(key=keys)
        def add(self, key: Any) -> None:
            self.bf.add(key)
            self.model.add(key)

        @invariant()
        def all_added_keys_are_present(self) -> None:
            for key in self.model:
                assert key in self.bf, f"{key!r} was added but `in` now says False"

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=30, stateful_step_count=40, deadline=None)
    )


# ------------------------------------------------------------------ step 4


def _pattern(name: str, start: int, count: int) -> list[Any]:
    if name == "sequential ints":
        return list(range(start, start + count))
    if name == "strided ints":
        return [i << 20 for i in range(start, start + count)]
    return [f"key-{i}" for i in range(start, start + count)]


@pytest.mark.kata_step(4, "false-positive rate near theory")
@pytest.mark.parametrize("pattern", ["sequential ints", "strided ints", "key-N strings"])
def test_false_positive_rate_at_capacity_is_near_the_target(impl: Any, pattern: str) -> None:
    """At capacity, absent keys are reported present about error_rate of the time (1% here)."""
    n, probes = 3000, 40_000
    bf = impl.BloomFilter(n, 0.01)
    for key in _pattern(pattern, 0, n):
        bf.add(key)
    hits = sum(1 for key in _pattern(pattern, n, probes) if key in bf)
    rate = hits / probes
    # 40k probes: one standard deviation is 5% of the rate; [0.7%, 1.35%] is > 6 sigma wide.
    assert 0.007 <= rate <= 0.0135, (
        f"with {pattern}, measured false-positive rate {rate:.4f}, expected about 0.01: "
        "patterned keys need a hash that mixes every bit"
    )


# ------------------------------------------------------------------ step 5


@pytest.mark.kata_step(5, "batch paths agree with the scalar path")
@given(added=st.lists(keys, max_size=40), probes=st.lists(keys, max_size=40))
@fast
def test_contains_many_agrees_with_in(impl: Any, added: list[Any], probes: list[Any]) -> None:
    """contains_many returns a numpy bool array equal to [key in bf for key in keys]."""
    bf = impl.BloomFilter(30, 0.05)
    for key in added:
        bf.add(key)
    got = bf.contains_many(added + probes)
    want = [key in bf for key in added + probes]
    assert isinstance(got, np.ndarray), f"contains_many returned {type(got).__name__}"
    assert got.tolist() == want, f"contains_many gave {got.tolist()}, `in` gave {want}"


@pytest.mark.kata_step(5, "batch paths agree with the scalar path")
@given(added=st.lists(keys, max_size=40))
@fast
def test_add_many_equals_adding_one_by_one(impl: Any, added: list[Any]) -> None:
    """add_many(keys) leaves the filter answering exactly as add(key) for each key does."""
    one, many = impl.BloomFilter(30, 0.05), impl.BloomFilter(30, 0.05)
    for key in added:
        one.add(key)
    many.add_many(added)
    assert len(many) == len(one), f"len after add_many was {len(many)}, expected {len(one)}"
    probes = [*added, *range(200), *(f"probe-{i}" for i in range(200))]
    differ = [key for key in probes if (key in one) != (key in many)]
    assert not differ, f"add_many and add one by one answer differently for {differ[:5]}"


@pytest.mark.kata_step(5, "batch paths agree with the scalar path")
def test_numpy_integer_arrays_are_accepted(impl: Any) -> None:
    """add_many and contains_many take a numpy integer array, same answers as int keys."""
    bf = impl.BloomFilter(1000, 0.01)
    bf.add_many(np.arange(500, dtype=np.uint64))
    assert all(i in bf for i in range(500)), "a key of the numpy array is missing from `in`"
    got = bf.contains_many(np.arange(500, dtype=np.int64))
    assert bool(got.all()), "contains_many of the added numpy keys was not all True"


# ------------------------------------------------------------------ step 6


@pytest.mark.kata_step(6, "union and serialisation")
def test_union_contains_the_keys_of_both(impl: Any) -> None:
    """a | b contains every key of a and of b."""
    a, b = impl.BloomFilter(200, 0.01), impl.BloomFilter(200, 0.01)
    for i in range(100):
        a.add(f"a{i}")
        b.add(f"b{i}")
    u = a | b
    missing = [
        k for k in [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(100)] if k not in u
    ]
    assert not missing, f"the union lost {missing[:5]}"


@pytest.mark.kata_step(6, "union and serialisation")
@pytest.mark.parametrize("other", [(201, 0.01), (200, 0.02)])
def test_union_of_unequal_filters_is_refused(impl: Any, other: tuple[int, float]) -> None:
    """Filters of different sizes cannot be combined: ValueError, and the filter is unchanged."""
    a, b = impl.BloomFilter(200, 0.01), impl.BloomFilter(*other)
    a.add("x")
    before = a.to_bytes()
    with pytest.raises(ValueError):
        a | b
    with pytest.raises(ValueError):
        a.update(b)
    assert a.to_bytes() == before, "a refused union still changed the filter"


@pytest.mark.kata_step(6, "union and serialisation")
@given(added=st.lists(keys, max_size=30))
@fast
def test_bytes_round_trip_answers_identically(impl: Any, added: list[Any]) -> None:
    """from_bytes(to_bytes()) gives a filter with the same answers, sizes and len."""
    bf = impl.BloomFilter(30, 0.05, seed=7)
    for key in added:
        bf.add(key)
    back = impl.BloomFilter.from_bytes(bf.to_bytes())
    assert (back.bit_size, back.num_hashes, len(back)) == (bf.bit_size, bf.num_hashes, len(bf))
    for key in [*added, "absent", 12345]:
        assert (key in back) == (key in bf), f"{key!r} answered differently after a round trip"


@pytest.mark.kata_step(6, "union and serialisation")
def test_truncated_or_corrupted_bytes_are_refused(impl: Any) -> None:
    """from_bytes raises ValueError for truncated or corrupted data."""
    bf = impl.BloomFilter(100, 0.01)
    bf.add("x")
    data = bf.to_bytes()
    with pytest.raises(ValueError):
        impl.BloomFilter.from_bytes(data[: len(data) // 2])
    corrupted = bytearray(data)
    corrupted[len(data) // 2] ^= 0xFF
    with pytest.raises(ValueError):
        impl.BloomFilter.from_bytes(bytes(corrupted))


_CHILD = """
import importlib, importlib.util, sys
name, path, data_path = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    module = importlib.import_module(name)
except ImportError:
    spec = importlib.util.spec_from_file_location("learner_bloom", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
bf = module.BloomFilter.from_bytes(open(data_path, "rb").read())
keys = [f"key-{i}" for i in range(400)] + [b"bytes-key", 12345]
print("".join("1" if key in bf else "0" for key in keys))
"""


@pytest.mark.kata_step(6, "union and serialisation")
def test_bytes_load_in_another_process_and_answer_identically(impl: Any, tmp_path: Path) -> None:
    """Bytes saved here answer the same in a new process with another PYTHONHASHSEED (no hash())."""
    bf = impl.BloomFilter(200, 0.01)
    for i in range(0, 400, 2):
        bf.add(f"key-{i}")
    bf.add(b"bytes-key")
    data_path = tmp_path / "filter.bin"
    data_path.write_bytes(bf.to_bytes())
    keys = [f"key-{i}" for i in range(400)] + [b"bytes-key", 12345]
    want = "".join("1" if key in bf else "0" for key in keys)
    module = impl.module
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, module.__name__, str(module.__file__), str(data_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, f"loading the bytes in a new process failed:\n{out.stderr[-800:]}"
    got = out.stdout.strip()
    differ = sum(a != b for a, b in zip(got, want, strict=False)) + abs(len(got) - len(want))
    assert got == want, (
        f"in a new process {differ} of {len(keys)} answers changed: positions must not depend on "
        "Python's hash(), which is salted per process"
    )
