"""Bloom filter workloads: scalar and batch insertions and lookups, str and uint64 keys.

Every filter (dskata's and the peers') is sized for the workload's key count at a 1% target
rate, so all do the same number of probes per key. Lookups probe half added, half absent keys.
Peers: rbloom (Rust), pybloom-live, pybloomfiltermmap3 (C), bloom-filter2, pyprobables (imported
by name: none ships type information); the naive baseline is a Python ``set`` (exact, and about
10x the memory at 1%).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

import dskata.bloom  # noqa: F401  (makes the subject ``bloom.BloomFilter`` resolvable)
from dskata.bench.core import Impl, Workload

_P = 0.01
_SEED = 12345


@dataclass(frozen=True)
class _Data:
    """Keys to insert and keys to probe (half of them inserted), as given to each library."""

    n: int
    add: Any  # list[str] or uint64 array
    probe: Any
    add_list: list[Any]  # the same keys as Python objects, for per-key loops
    probe_list: list[Any]


def _str_data(n: int) -> _Data:
    add = [f"key-{i}" for i in range(n)]
    probe = [f"key-{i}" for i in range(n // 2, n + n // 2)]
    return _Data(n, add, probe, add, probe)


def _uint64_data(n: int) -> _Data:
    rng = np.random.default_rng(0)
    keys: npt.NDArray[np.uint64] = rng.integers(0, 2**63, size=n + n // 2, dtype=np.uint64)
    add, probe = keys[:n], keys[n // 2 :]
    return _Data(n, add, probe, add.tolist(), probe.tolist())


# ---------------------------------------------------------------- builders of each library


def _dskata(subject: Any, n: int) -> Any:
    return subject(n, _P, seed=_SEED)


def _rbloom(_: Any, n: int) -> Any:
    rbloom = importlib.import_module("rbloom")
    return rbloom.Bloom(n, _P)


def _pybloom_live(_: Any, n: int) -> Any:
    pybloom_live = importlib.import_module("pybloom_live")
    return pybloom_live.BloomFilter(capacity=n + 1, error_rate=_P)


def _pybloomfiltermmap3(_: Any, n: int) -> Any:
    pybloomfilter = importlib.import_module("pybloomfilter")
    return pybloomfilter.BloomFilter(n, _P)


def _bloom_filter2(_: Any, n: int) -> Any:
    bloom_filter2 = importlib.import_module("bloom_filter2")
    return bloom_filter2.BloomFilter(max_elements=n, error_rate=_P)


def _pyprobables(_: Any, n: int) -> Any:
    probables = importlib.import_module("probables")
    return probables.BloomFilter(est_elements=n, false_positive_rate=_P)


def _set(_: Any, n: int) -> Any:
    return set()


_Builder = Callable[[Any, int], Any]


# ---------------------------------------------------------------- operations


def _add_loop(build: _Builder) -> Callable[[Any, Any], Callable[[], object]]:
    def make(data: _Data, subject: Any) -> Callable[[], object]:
        f = build(subject, data.n)
        add = f.add
        keys = data.add_list

        def op() -> None:
            for k in keys:
                add(k)

        return op

    return make


def _contains_loop(build: _Builder) -> Callable[[Any, Any], Callable[[], object]]:
    def make(data: _Data, subject: Any) -> Callable[[], object]:
        f = build(subject, data.n)
        for k in data.add_list:
            f.add(k)
        probes = data.probe_list
        return lambda: [k in f for k in probes]

    return make


def _add_many(data: _Data, subject: Any) -> Callable[[], object]:
    f = _dskata(subject, data.n)
    return lambda: f.add_many(data.add)


def _contains_many(data: _Data, subject: Any) -> Callable[[], object]:
    f = _dskata(subject, data.n)
    f.add_many(data.add)
    return lambda: f.contains_many(data.probe)


def _rbloom_update(data: _Data, subject: Any) -> Callable[[], object]:
    f = _rbloom(subject, data.n)
    return lambda: f.update(data.add_list)


def _set_update(data: _Data, subject: Any) -> Callable[[], object]:
    s: set[Any] = set()
    return lambda: s.update(data.add_list)


_SCALAR_PEERS: tuple[tuple[str, str, _Builder, tuple[str, ...]], ...] = (
    ("rbloom", "peer", _rbloom, ("rbloom",)),
    ("pybloom-live", "peer", _pybloom_live, ("pybloom_live",)),
    ("pybloomfiltermmap3", "peer", _pybloomfiltermmap3, ("pybloomfilter",)),
    ("bloom-filter2", "peer", _bloom_filter2, ("bloom_filter2",)),
    ("pyprobables", "peer", _pyprobables, ("probables",)),
    ("set", "baseline", _set, ()),
)


def _scalar_impls(
    op: Callable[[_Builder], Callable[[Any, Any], Callable[[], object]]],
) -> tuple[Impl, ...]:
    impls = [Impl("dskata", "dskata", op(_dskata), fresh=True)]
    for name, kind, build, req in _SCALAR_PEERS:
        impls.append(Impl(name, kind, op(build), requires=req, fresh=True))  # type: ignore[arg-type]
    return tuple(impls)


def _batch_impls(
    many: Callable[[Any, Any], Callable[[], object]], adding: bool
) -> tuple[Impl, ...]:
    loop = _add_loop if adding else _contains_loop
    impls = [
        Impl("dskata", "dskata", many, fresh=True),
        Impl("rbloom per-key", "peer", loop(_rbloom), requires=("rbloom",), fresh=True),
    ]
    if adding:
        impls.append(
            Impl("rbloom update", "peer", _rbloom_update, requires=("rbloom",), fresh=True)
        )
        impls.append(Impl("set.update", "baseline", _set_update, fresh=True))
    else:
        impls.append(Impl("set", "baseline", loop(_set), fresh=True))
    return tuple(impls)


WORKLOADS = [
    Workload(
        family="bloom",
        name="add-str",
        description="scalar add of 'key-N' str keys (1% filter sized for them)",
        items=100_000,
        quick_items=2_000,
        setup=_str_data,
        subject="bloom.BloomFilter",
        impls=_scalar_impls(_add_loop),
    ),
    Workload(
        family="bloom",
        name="contains-str",
        description="scalar `in` of 'key-N' str keys, half present",
        items=100_000,
        quick_items=2_000,
        setup=_str_data,
        subject="bloom.BloomFilter",
        impls=_scalar_impls(_contains_loop),
    ),
    Workload(
        family="bloom",
        name="add_many-str",
        description="batch insert of 'key-N' str keys vs per-key calls",
        items=1_000_000,
        quick_items=20_000,
        setup=_str_data,
        subject="bloom.BloomFilter",
        impls=_batch_impls(_add_many, adding=True),
    ),
    Workload(
        family="bloom",
        name="contains_many-str",
        description="batch lookup of 'key-N' str keys, half present, vs per-key calls",
        items=1_000_000,
        quick_items=20_000,
        setup=_str_data,
        subject="bloom.BloomFilter",
        impls=_batch_impls(_contains_many, adding=False),
    ),
    Workload(
        family="bloom",
        name="add_many-uint64",
        description="batch insert of random uint64 keys (numpy array) vs per-key calls",
        items=1_000_000,
        quick_items=20_000,
        setup=_uint64_data,
        subject="bloom.BloomFilter",
        impls=_batch_impls(_add_many, adding=True),
    ),
    Workload(
        family="bloom",
        name="contains_many-uint64",
        description="batch lookup of random uint64 keys, half present, vs per-key calls",
        items=1_000_000,
        quick_items=20_000,
        setup=_uint64_data,
        subject="bloom.BloomFilter",
        impls=_batch_impls(_contains_many, adding=False),
    ),
]
