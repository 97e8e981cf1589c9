"""Tests of the count-min update kernels and of reads concurrent with buffered adds."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from dskata.sketch import CountMinSketch, _cms_core


def _conservative_model(cms: CountMinSketch, keys: list[Any], counts: list[int]) -> list[int]:
    """Estan and Varghese §3.3, item by item on a plain list: the rule the kernels unroll."""
    cells = cms._cells_many(keys).T.tolist()
    top = int(np.iinfo(cms.dtype).max)
    vals = [0] * (cms.width * cms.depth)
    for row, c in zip(cells, counts, strict=True):
        target = min(min(vals[j] for j in row) + c, top)
        for j in row:
            vals[j] = max(vals[j], target)
    return vals


@pytest.mark.parametrize("depth", [1, 2, 5, 9])
@pytest.mark.parametrize("width", [3, 50_000])  # whole-table copy, and the np.unique compaction
@pytest.mark.parametrize("dtype", [np.uint8, np.uint32])
@pytest.mark.parametrize("weighted", [False, True])
def test_conservative_batches_equal_the_item_by_item_rule_for_every_depth(
    depth: int, width: int, dtype: Any, weighted: bool
) -> None:
    """Estan and Varghese §3.3: the unrolled batch kernels apply exactly the sequential rule,
    including runs of one key (folded) and saturation of uint8 counters."""
    rng = np.random.default_rng(depth * 7 + width)
    keys = rng.integers(0, 40, size=3000).tolist()
    keys[100:130] = [5] * 30  # a run, folded into one add
    counts = rng.integers(0, 4, size=3000).tolist() if weighted else [1] * 3000
    cms = CountMinSketch(width, depth, conservative=True, dtype=dtype)
    cms.add_many(keys, counts if weighted else None)
    assert cms.table.ravel().tolist() == _conservative_model(cms, keys, counts)
    cms._check()


def test_a_read_concurrent_with_a_flush_neither_double_applies_nor_misses_buffered_adds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two readers race to apply the same buffered unit adds: the second waits for the first
    and then reads every add exactly once (it used to apply them a second time)."""
    cms = CountMinSketch(1000, 4)
    for _ in range(100):
        cms.add("k")  # buffered
    real = _cms_core.CountMinCore._saturating_add
    results: list[int] = []
    second = threading.Thread(target=lambda: results.append(cms["k"]))
    started = threading.Event()

    def slow_apply(self: CountMinSketch, sums: Any) -> None:
        if not started.is_set():  # the first reader, mid-flush: let the second one race it
            started.set()
            second.start()
            second.join(timeout=0.3)
        real(self, sums)

    monkeypatch.setattr(_cms_core.CountMinCore, "_saturating_add", slow_apply)
    first = cms["k"]
    second.join(timeout=10)
    assert started.is_set(), "the buffered adds were never flushed in bulk"
    assert (first, results) == (100, [100]), f"got {first} and {results}, expected 100 and [100]"
    assert cms.total == 100
    cms._check()


def test_reads_from_many_threads_see_every_buffered_add_once() -> None:
    """Readers only, started together on a sketch with adds still buffered."""
    cms = CountMinSketch(500, 3)
    keys = [f"k{i % 37}" for i in range(3000)]
    for key in keys:
        cms.add(key)
    barrier = threading.Barrier(4)
    seen: list[list[int]] = []

    def read() -> None:
        barrier.wait()
        seen.append([cms[f"k{i}"] for i in range(37)])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = CountMinSketch(500, 3)
    expected.add_many(keys)
    assert seen == [[expected[f"k{i}"] for i in range(37)]] * 4
    assert cms == expected


def test_long_skewed_str_batches_hash_distinct_keys_once_and_still_follow_stream_order() -> None:
    """The conservative path's de-duplicated hashing gives the cells of every item in order."""
    rng = np.random.default_rng(3)
    ids = (rng.zipf(1.3, size=20_000) % 300).tolist()
    keys: list[Any] = [f"k{i}" if i % 7 else f"k{i}".encode() for i in ids]
    deduped = CountMinSketch(64, 4, conservative=True)
    deduped.add_many(keys)
    general = CountMinSketch(64, 4, conservative=True)
    general.add_many(tuple(keys))  # tuples take the path that hashes every item
    assert deduped == general
    assert deduped.table.ravel().tolist() == _conservative_model(deduped, keys, [1] * len(keys))
    before = deduped.to_bytes()
    for bad in (True, 1.0, None):
        with pytest.raises(TypeError):
            deduped.add_many([*keys, bad])
    assert deduped.to_bytes() == before
