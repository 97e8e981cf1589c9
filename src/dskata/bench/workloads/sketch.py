"""Sketch workloads: count-min updates and queries, SpaceSaving top-k, against peers.

Peers: bounter (C count-min; width must be a power of two, so it gets 4096 >= 2719 columns, and
it always applies conservative update), pyprobables (pure Python count-min), Apache DataSketches
(``count_min_sketch``, ``frequent_strings_sketch``/``frequent_items_sketch``). Baseline:
``collections.Counter`` (exact, memory grows with the distinct keys).

Every stream is Zipf(1.1) over 100k keys, the issue's acceptance stream; dskata's count-min is
``CountMinSketch.from_error(0.001, 0.01)`` (2719 x 5).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from importlib import import_module
from typing import Any

import numpy as np

import dskata.sketch  # also makes the ``sketch.*`` subjects resolvable from ``dskata``
from dskata.bench.core import Impl, Workload
from dskata.sketch.experiments import zipf_stream

_EPS, _DELTA = 0.001, 0.01
_WIDTH, _DEPTH = 2719, 5
_BOUNTER_WIDTH = 4096
_KEYS = 100_000
_K = 1024

Op = Callable[[], object]


def _uint64(n: int) -> np.ndarray[Any, Any]:
    return zipf_stream(n, _KEYS, 1.1, seed=1)


def _strs(n: int) -> list[str]:
    return [f"key-{k}" for k in zipf_stream(n, _KEYS, 1.1, seed=1).tolist()]


def _uint64_and_strs(n: int) -> tuple[np.ndarray[Any, Any], list[str]]:
    # uint64 keys for dskata; the same keys as decimal strings for peers that only take str.
    keys = _uint64(n)
    return keys, [str(k) for k in keys.tolist()]


# ---------------------------------------------------------------- count-min: batch add


def _batch(obj: Any, keys: Any) -> Op:
    # A learner's class (``dskata kata bench``) may have no batch method: time its add loop.
    add_many = getattr(obj, "add_many", None)
    if add_many is not None:
        return lambda: add_many(keys)
    add = obj.add
    items = keys.tolist() if isinstance(keys, np.ndarray) else keys

    def loop() -> None:
        for key in items:
            add(key)

    return loop


def _cms_add_many(data: Any, subject: Any) -> Op:
    keys = data[0] if isinstance(data, tuple) else data
    return _batch(subject.from_error(_EPS, _DELTA), keys)


def _cms_conservative_add_many(data: Any, subject: Any) -> Op:
    # Always dskata's own class: the variant is shown beside the plain rule, not replaced.
    keys = data[0] if isinstance(data, tuple) else data
    cms = dskata.sketch.CountMinSketch.from_error(_EPS, _DELTA, conservative=True)
    return lambda: cms.add_many(keys)


def _bounter_update(data: Any, subject: Any) -> Op:
    bounter = import_module("bounter")

    keys = data[1] if isinstance(data, tuple) else data
    cms = bounter.CountMinSketch(width=_BOUNTER_WIDTH, depth=_DEPTH)
    return lambda: cms.update(keys)


def _datasketches_cms_loop(data: Any, subject: Any) -> Op:
    datasketches = import_module("datasketches")

    keys = data[0].tolist() if isinstance(data, tuple) else data
    cms = datasketches.count_min_sketch(_DEPTH, _WIDTH, 0)
    update = cms.update

    def op() -> None:
        for key in keys:
            update(key)

    return op


def _counter_update(data: Any, subject: Any) -> Op:
    keys = data[0].tolist() if isinstance(data, tuple) else data
    counter: Counter[Any] = Counter()
    return lambda: counter.update(keys)


# ---------------------------------------------------------------- count-min: scalar add


def _cms_add_loop(data: Any, subject: Any) -> Op:
    cms = subject.from_error(_EPS, _DELTA)
    add = cms.add

    def op() -> None:
        for key in data:
            add(key)
        cms.estimate(data[0])  # include flushing the write buffer in the timing

    return op


def _pyprobables_add_loop(data: Any, subject: Any) -> Op:
    from probables import CountMinSketch

    cms = CountMinSketch(width=_WIDTH, depth=_DEPTH)
    add = cms.add

    def op() -> None:
        for key in data:
            add(key)

    return op


def _bounter_increment_loop(data: Any, subject: Any) -> Op:
    bounter = import_module("bounter")

    cms = bounter.CountMinSketch(width=_BOUNTER_WIDTH, depth=_DEPTH)
    inc = cms.increment

    def op() -> None:
        for key in data:
            inc(key)

    return op


def _counter_loop(data: Any, subject: Any) -> Op:
    counter: Counter[Any] = Counter()

    def op() -> None:
        for key in data:
            counter[key] += 1

    return op


# ---------------------------------------------------------------- count-min: queries


def _cms_estimate_many(data: Any, subject: Any) -> Op:
    keys = data[0]
    cms = subject.from_error(_EPS, _DELTA)
    _batch(cms, keys)()
    estimate_many = getattr(cms, "estimate_many", None)
    if estimate_many is not None:
        return lambda: estimate_many(keys)
    items, estimate = keys.tolist(), cms.estimate  # a learner's class: its scalar path
    return lambda: [estimate(k) for k in items]


def _bounter_query_loop(data: Any, subject: Any) -> Op:
    bounter = import_module("bounter")

    keys = data[1]
    cms = bounter.CountMinSketch(width=_BOUNTER_WIDTH, depth=_DEPTH)
    cms.update(keys)
    return lambda: [cms[k] for k in keys]


def _counter_query_loop(data: Any, subject: Any) -> Op:
    keys = data[0].tolist()
    counter = Counter(keys)
    get = counter.__getitem__
    return lambda: list(map(get, keys))


# ---------------------------------------------------------------- top-k


def _topk_add_many(data: Any, subject: Any) -> Op:
    return _batch(subject(_K), data)


def _topk_add_loop(data: Any, subject: Any) -> Op:
    tk = subject(_K)
    add = tk.add

    def op() -> None:
        for key in data:
            add(key)

    return op


def _cm_topk_add_many(data: Any, subject: Any) -> Op:
    from dskata.sketch import CountMinTopK

    tk = CountMinTopK(_K, _WIDTH, _DEPTH)
    return lambda: tk.add_many(data)


def _datasketches_frequent_loop(data: Any, subject: Any) -> Op:
    datasketches = import_module("datasketches")

    # lg_max_k 11: up to 0.75 * 2048 counters, the closest to k = 1024; str keys only.
    keys = [str(k) for k in data.tolist()] if isinstance(data, np.ndarray) else data
    sketch = datasketches.frequent_strings_sketch(11)
    update = sketch.update

    def op() -> None:
        for key in keys:
            update(key)

    return op


def _counter_most_common(data: Any, subject: Any) -> Op:
    keys = data.tolist() if isinstance(data, np.ndarray) else data
    return lambda: Counter(keys).most_common(100)


_N = 1_000_000
_QUICK = 50_000
_SCALAR_N = 100_000
_SCALAR_QUICK = 5_000

WORKLOADS = [
    Workload(
        family="sketch",
        name="cms-add_many-str",
        description="count-min batch update, Zipf(1.1) str keys (bounter: conservative)",
        items=_N,
        quick_items=_QUICK,
        setup=_strs,
        subject="sketch.CountMinSketch",
        impls=(
            Impl("dskata", "dskata", _cms_add_many, fresh=True),
            Impl("dskata conservative", "peer", _cms_conservative_add_many, fresh=True),
            Impl("bounter", "peer", _bounter_update, requires=("bounter",), fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_cms_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_update, fresh=True),
        ),
    ),
    Workload(
        family="sketch",
        name="cms-add_many-uint64",
        description="count-min batch update, Zipf(1.1) uint64 keys (peers get them as str)",
        items=_N,
        quick_items=_QUICK,
        setup=_uint64_and_strs,
        subject="sketch.CountMinSketch",
        impls=(
            Impl("dskata", "dskata", _cms_add_many, fresh=True),
            Impl("dskata conservative", "peer", _cms_conservative_add_many, fresh=True),
            Impl("bounter", "peer", _bounter_update, requires=("bounter",), fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_cms_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_update, fresh=True),
        ),
    ),
    Workload(
        family="sketch",
        name="cms-add-str",
        description="count-min scalar add in a Python loop, Zipf(1.1) str keys",
        items=_SCALAR_N,
        quick_items=_SCALAR_QUICK,
        setup=_strs,
        subject="sketch.CountMinSketch",
        impls=(
            Impl("dskata", "dskata", _cms_add_loop, fresh=True),
            Impl("pyprobables", "peer", _pyprobables_add_loop, requires=("probables",), fresh=True),
            Impl("bounter", "peer", _bounter_increment_loop, requires=("bounter",), fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_cms_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_loop, fresh=True),
        ),
    ),
    Workload(
        family="sketch",
        name="cms-estimate_many-uint64",
        description="count-min batch point queries, Zipf(1.1) uint64 keys",
        items=_N,
        quick_items=_QUICK,
        setup=_uint64_and_strs,
        subject="sketch.CountMinSketch",
        impls=(
            Impl("dskata", "dskata", _cms_estimate_many),
            Impl("bounter loop", "peer", _bounter_query_loop, requires=("bounter",)),
            Impl("Counter", "baseline", _counter_query_loop),
        ),
    ),
    Workload(
        family="sketch",
        name="topk-add_many-uint64",
        description="SpaceSaving top-k (k=1024) batch update, Zipf(1.1) uint64 keys",
        items=_N,
        quick_items=_QUICK,
        setup=_uint64,
        subject="sketch.TopK",
        impls=(
            Impl("dskata", "dskata", _topk_add_many, fresh=True),
            Impl("dskata CountMinTopK", "peer", _cm_topk_add_many, fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_frequent_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_most_common, fresh=True),
        ),
    ),
    Workload(
        family="sketch",
        name="topk-add_many-str",
        description="SpaceSaving top-k (k=1024) batch update, Zipf(1.1) str keys",
        items=_N,
        quick_items=_QUICK,
        setup=_strs,
        subject="sketch.TopK",
        impls=(
            Impl("dskata", "dskata", _topk_add_many, fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_frequent_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_most_common, fresh=True),
        ),
    ),
    Workload(
        family="sketch",
        name="topk-add-str",
        description="SpaceSaving top-k (k=1024) scalar add in a Python loop, str keys",
        items=_SCALAR_N,
        quick_items=_SCALAR_QUICK,
        setup=_strs,
        subject="sketch.TopK",
        impls=(
            Impl("dskata", "dskata", _topk_add_loop, fresh=True),
            Impl(
                "datasketches loop",
                "peer",
                _datasketches_frequent_loop,
                requires=("datasketches",),
                fresh=True,
            ),
            Impl("Counter", "baseline", _counter_loop, fresh=True),
        ),
    ),
]
