"""Cache workloads: LRUCache and lru_cache against functools, cachetools, lru-dict, cachebox.

Every implementation serves each request of the trace the same way: one call of a memoised
function ``f(k)``. For ``functools.lru_cache`` and dskata's ``lru_cache`` it is the decorated
``compute`` (the identity function); for a mapping cache it is the same three-line memoiser
(``v = cache.get(k, MISSING)``; on a miss ``v = cache[k] = compute(k)``), so every
implementation pays one call of ``f`` and, on a miss, one call of ``compute``. Each round starts
from a cold cache (pre-filled for the pure-hit workload), built outside the timing.

Traces: Zipf(0.9) and Zipf(1.1) over 100k keys with caches of 1% and 10% of the keys (the issue's
acceptance workloads), pure hits (1000 keys cycling through a cache of 1000) and pure misses
(distinct keys through a cache of 1000). Peers: ``functools`` (C), cachetools, lru-dict (C),
cachebox (Rust); naive baseline: a 10-line ``OrderedDict`` LRU; for ``lru_cache`` also
CPython's pure-Python ``functools._lru_cache_wrapper``.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

import dskata.cache  # makes the ``cache.*`` subjects resolvable from ``dskata``
from dskata.bench.core import Impl, Workload

_KEYS = 100_000
_HOT = 1000
_MISSING: Any = object()

Op = Callable[[], object]


def _compute(key: Any) -> Any:
    return key


class _OrderedDictLRU:
    """The naive baseline: what one writes in ten lines with an OrderedDict."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        return default

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.maxsize:
            self.data.popitem(last=False)


def _pure_python_lru_cache() -> Callable[..., Any]:
    """CPython's pure-Python ``functools.lru_cache`` (the C accelerator blocked)."""
    saved = {name: sys.modules.get(name) for name in ("functools", "_functools")}
    try:
        sys.modules["_functools"] = None  # type: ignore[assignment]
        sys.modules.pop("functools", None)
        spec = importlib.util.find_spec("functools")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    lru: Callable[..., Any] = module.lru_cache
    return lru


# -- data -------------------------------------------------------------------------------------


# (trace, cache size, start warm with keys 0.._HOT-1)
Data = tuple[list[int], int, bool]


def _zipf(alpha: float, fraction: float) -> Callable[[int], Data]:
    def setup(n: int) -> Data:
        trace = dskata.cache.zipf_trace(n, _KEYS, alpha, seed=1).tolist()
        return trace, max(1, int(_KEYS * fraction)), False

    return setup


def _hits(n: int) -> Data:
    return (np.arange(n) % _HOT).tolist(), _HOT, True


def _misses(n: int) -> Data:
    return list(range(_HOT, _HOT + n)), _HOT, True


# -- mapping caches: a memoised function per request ---------------------------------------------
#
# Every implementation in every cache workload serves each request by calling a memoised function
# ``f(k)``: for ``functools.lru_cache`` (C or pure Python) and ``dskata.cache.lru_cache``, the
# decorated ``_compute``; for a mapping cache, the same three-line memoiser around it (look up
# with a sentinel default; on a miss compute, store and return). So each request costs one call
# of ``f`` plus the implementation's own work, on the same trace, with the same ``compute`` calls.


def _memoiser(cache: Any) -> Callable[[Any], Any]:
    get = cache.get
    compute = _compute
    missing = _MISSING

    def f(k: Any) -> Any:
        v = get(k, missing)
        if v is missing:
            v = cache[k] = compute(k)
        return v

    return f


def _aside(make_cache: Callable[[int], Any]) -> Callable[[Any, Any], Op]:
    def make(data: Data, subject: Any) -> Op:
        trace, size, warm = data
        cache = make_cache(size) if subject is None else subject(size)
        if warm:  # a full cache, so misses evict from the first request on
            for k in range(_HOT):
                cache[k] = k
        f = _memoiser(cache)

        def op() -> None:
            for k in trace:
                f(k)

        return op

    return make


def _ours(data: Data, subject: Any) -> Op:
    return _aside(dskata.cache.LRUCache)(data, subject)


def _peer(factory: Callable[[], Callable[[int], Any]]) -> Callable[[Any, Any], Op]:
    def make(data: Data, subject: Any) -> Op:
        return _aside(factory())(data, None)

    return make


def _cachetools() -> Callable[[int], Any]:
    import cachetools

    return cachetools.LRUCache


def _lru_dict() -> Callable[[int], Any]:
    import lru

    return lru.LRU


def _cachebox() -> Callable[[int], Any]:
    import cachebox

    return cachebox.LRUCache


# -- memoising decorators -----------------------------------------------------------------------


def _memo(decorator: Callable[[], Callable[..., Any]]) -> Callable[[Any, Any], Op]:
    def make(data: Data, subject: Any) -> Op:
        trace, size, warm = data
        f = decorator()(size)(_compute)
        if warm:
            for k in range(_HOT):
                f(k)

        def op() -> None:
            for k in trace:
                f(k)

        return op

    return make


def _functools_impl(data: Data, subject: Any) -> Op:
    return _memo(lambda: functools.lru_cache)(data, subject)


def _lru_cache_ours(data: Data, subject: Any) -> Op:
    return _memo(lambda: subject)(data, subject)


def _lru_cache_pure(data: Data, subject: Any) -> Op:
    return _memo(_pure_python_lru_cache)(data, subject)


_SHAPES: list[tuple[str, Callable[[int], Data], str]] = [
    ("zipf0.9-1%", _zipf(0.9, 0.01), "Zipf(0.9) over 100k keys, cache of 1% of the keys"),
    ("zipf0.9-10%", _zipf(0.9, 0.10), "Zipf(0.9) over 100k keys, cache of 10% of the keys"),
    ("zipf1.1-1%", _zipf(1.1, 0.01), "Zipf(1.1) over 100k keys, cache of 1% of the keys"),
    ("zipf1.1-10%", _zipf(1.1, 0.10), "Zipf(1.1) over 100k keys, cache of 10% of the keys"),
    ("hits", _hits, "1000 keys cycling through a warm cache of 1000: every request hits"),
    ("misses", _misses, "distinct keys through a cache of 1000: every request misses"),
]

WORKLOADS: list[Workload] = []
for _name, _setup, _desc in _SHAPES:
    WORKLOADS.append(
        Workload(
            family="cache",
            name=f"LRUCache-{_name}",
            items=1_000_000,
            quick_items=5_000,
            setup=_setup,
            subject="cache.LRUCache",
            description=f"memoised f(k) over a mapping cache: {_desc}",
            impls=(
                Impl("dskata", "dskata", _ours, fresh=True),
                Impl("functools.lru_cache", "peer", _functools_impl, fresh=True),
                Impl("cachetools", "peer", _peer(_cachetools), ("cachetools",), fresh=True),
                Impl("lru-dict", "peer", _peer(_lru_dict), ("lru",), fresh=True),
                Impl("cachebox", "peer", _peer(_cachebox), ("cachebox",), fresh=True),
                Impl("OrderedDict", "baseline", _peer(lambda: _OrderedDictLRU), fresh=True),
            ),
        )
    )
    WORKLOADS.append(
        Workload(
            family="cache",
            name=f"lru_cache-{_name}",
            items=1_000_000,
            quick_items=5_000,
            setup=_setup,
            subject="cache.lru_cache",
            description=f"memoised f(k): {_desc}",
            impls=(
                Impl("dskata", "dskata", _lru_cache_ours, fresh=True),
                Impl("functools.lru_cache", "peer", _functools_impl, fresh=True),
                Impl("functools (pure Python)", "baseline", _lru_cache_pure, fresh=True),
            ),
        )
    )


def _s3fifo(data: Data, subject: Any) -> Op:
    return _aside(dskata.cache.S3FIFOCache)(data, subject)


WORKLOADS.append(
    Workload(
        family="cache",
        name="S3FIFOCache-zipf0.9-10%",
        items=1_000_000,
        quick_items=5_000,
        setup=_zipf(0.9, 0.10),
        subject="cache.S3FIFOCache",
        description="memoised f(k) over S3-FIFO: Zipf(0.9), cache of 10% of the keys",
        impls=(
            Impl("dskata", "dskata", _s3fifo, fresh=True),
            Impl("LRUCache", "baseline", _peer(lambda: dskata.cache.LRUCache), fresh=True),
            Impl("OrderedDict", "baseline", _peer(lambda: _OrderedDictLRU), fresh=True),
        ),
    )
)


def interleaved(items: int, rounds: int, only: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Time every workload with the implementations interleaved within each round.

    On a shared machine, load comes in bursts; running each implementation once per round, in
    turn, spreads them over all implementations alike (``dskata bench`` runs one implementation's
    rounds after another's). Returns per workload the median ns per item and dskata's speed-up
    (peer median / dskata median). Run: ``python -m dskata.bench.workloads.cache 200000 7``.
    """
    import statistics
    import time

    out = []
    for w in WORKLOADS:
        if only and not any(o in w.name for o in only):
            continue
        data = w.setup(items)
        subject = w.resolve_subject()
        impls = [i for i in w.impls if i.available()]
        times: dict[str, list[float]] = {i.name: [] for i in impls}
        for r in range(rounds + 1):  # round 0 warms up
            for impl in impls:
                op = impl.make(data, subject)
                start = time.perf_counter()
                op()
                if r:
                    times[impl.name].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {
            "workload": w.name,
            "items": items,
            "ns_per_item": {k: round(v * 1e9 / items) for k, v in med.items()},
            "dskata_speedup": {k: round(v / med["dskata"], 2) for k, v in med.items()},
        }
        print(row, flush=True)
        out.append(row)
    return out


if __name__ == "__main__":  # pragma: no cover - a measuring tool
    _args = sys.argv[1:]
    interleaved(
        int(_args[0]) if _args else 200_000,
        int(_args[1]) if len(_args) > 1 else 7,
        tuple(_args[2:]),
    )
