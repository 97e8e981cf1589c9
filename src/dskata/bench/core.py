"""Benchmark workloads, defined once and run by two runners.

A :class:`Workload` names an operation over ``n`` items and the implementations that can run it:
dskata's own, peer libraries (run only when importable) and a naive baseline. ``dskata bench``
runs them side by side (:mod:`dskata.bench.runner`); ``benchmarks/test_*.py`` hand the same
callables to pytest-benchmark (:func:`runnable_cases`).

Timing rules (DESIGN.md, house rule 9): setup is excluded, one warm-up call, at least 5 rounds,
the median reported, ratios computed against dskata measured in the same run.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Impl", "ImplKind", "Workload", "all_workloads", "families", "runnable_cases"]

ImplKind = Literal["dskata", "peer", "baseline"]


@dataclass(frozen=True)
class Impl:
    """One implementation of a workload.

    Attributes:
        name: label in reports, e.g. ``"dskata"``, ``"rbloom"``, ``"set"``.
        kind: ``"dskata"``, ``"peer"`` or ``"baseline"``.
        make: ``make(data, subject) -> op``: builds the zero-argument callable that does the work
            on all items once. ``data`` is what the workload's ``setup`` returned; ``subject`` is
            the dskata object under test (the workload's ``subject`` name, or the learner's class
            given with ``--impl``); peers and baselines ignore it. Building is not timed.
        requires: modules that must be importable for this implementation to run.
        fresh: when True, ``make`` is called again before every round (untimed), for operations
            that must start from an empty structure.
    """

    name: str
    kind: ImplKind
    make: Callable[[Any, Any], Callable[[], object]]
    requires: tuple[str, ...] = ()
    fresh: bool = False

    def available(self) -> bool:
        """True when every module in ``requires`` can be imported."""
        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)


@dataclass(frozen=True)
class Workload:
    """An operation over ``items`` items, and the implementations that can run it.

    Attributes:
        family: e.g. ``"hashing"``, ``"bloom"``; ``dskata bench FAMILY`` selects by it.
        name: short id, unique within the family, e.g. ``"hash64_many-uint64"``.
        items: items processed per call at full size.
        quick_items: items per call under ``--quick``.
        setup: ``setup(n) -> data``, untimed.
        subject: dotted name of the dskata object the workload exercises, relative to ``dskata``
            (``"hash64_many"``, ``"BloomFilter"``); ``--impl`` replaces it.
        impls: the implementations.
        description: one line for reports.
    """

    family: str
    name: str
    items: int
    setup: Callable[[int], Any]
    subject: str
    impls: tuple[Impl, ...]
    quick_items: int = 0
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        """``family/name``."""
        return f"{self.family}/{self.name}"

    def size(self, quick: bool) -> int:
        """Items per call for the chosen mode."""
        return (self.quick_items or max(1, self.items // 10)) if quick else self.items

    def resolve_subject(self) -> Any:
        """Return dskata's own object named by ``subject``."""
        obj: Any = importlib.import_module("dskata")
        for part in self.subject.split("."):
            obj = getattr(obj, part)
        return obj


def _workload_modules() -> Iterator[Any]:
    from dskata.bench import workloads

    for info in sorted(pkgutil.iter_modules(workloads.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"dskata.bench.workloads.{info.name}")


def all_workloads() -> list[Workload]:
    """Every workload of every family, in a stable order (family modules sorted by name)."""
    out: list[Workload] = []
    for module in _workload_modules():
        out.extend(getattr(module, "WORKLOADS", ()))
    return out


def families() -> list[str]:
    """The families that have workloads, in order."""
    seen: dict[str, None] = {}
    for w in all_workloads():
        seen.setdefault(w.family, None)
    return list(seen)


def runnable_cases(family: str, quick: bool = False) -> list[tuple[Workload, Impl]]:
    """``(workload, impl)`` pairs of ``family`` whose implementation can run here.

    ``benchmarks/test_<family>.py`` parametrises over this list.
    """
    return [
        (w, impl)
        for w in all_workloads()
        if w.family == family
        for impl in w.impls
        if impl.available()
    ]
