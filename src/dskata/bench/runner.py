"""Run workloads side by side and compute items/s and ratios against dskata in the same run."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dskata.bench.core import Impl, Workload, all_workloads

__all__ = ["ImplResult", "WorkloadResult", "load_object", "run_workload", "select_workloads"]


@dataclass(frozen=True)
class ImplResult:
    """The timing of one implementation on one workload."""

    name: str
    kind: str
    median_s: float
    rounds: list[float]
    items: int

    @property
    def items_per_s(self) -> float:
        """Items processed per second, from the median round."""
        return self.items / self.median_s if self.median_s > 0 else float("inf")


@dataclass
class WorkloadResult:
    """Every implementation's timing on one workload, plus those that could not run."""

    workload: Workload
    items: int
    results: list[ImplResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def ratio(self, result: ImplResult) -> float | None:
        """How many times faster dskata (or the learner's code) is than ``result`` (> 1: faster)."""
        ours = next((r for r in self.results if r.kind in ("dskata", "learner")), None)
        if ours is None:
            return None
        return result.median_s / ours.median_s

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "id": self.workload.id,
            "description": self.workload.description,
            "items": self.items,
            "results": [
                {
                    "impl": r.name,
                    "kind": r.kind,
                    "median_s": r.median_s,
                    "items_per_s": r.items_per_s,
                    "dskata_speedup": self.ratio(r),
                }
                for r in self.results
            ],
            "not_installed": self.missing,
            "errors": self.errors,
        }


def select_workloads(families: Sequence[str]) -> list[Workload]:
    """Workloads of the named families (all when empty); unknown names raise ``ValueError``."""
    workloads = all_workloads()
    known = {w.family for w in workloads}
    unknown = [f for f in families if f not in known]
    if unknown:
        raise ValueError(
            f"unknown benchmark family {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    return [w for w in workloads if not families or w.family in families]


def load_object(spec: str) -> Any:
    """Load ``module:Name`` or ``path/to/file.py:Name`` (the ``--impl`` argument)."""
    module_part, sep, name = spec.rpartition(":")
    if not sep or not module_part or not name:
        raise ValueError(f"--impl must look like module:Name or file.py:Name, got {spec!r}")
    if module_part.endswith(".py"):
        path = Path(module_part).resolve()
        if not path.is_file():
            raise ValueError(f"--impl file {module_part!r} does not exist")
        mod_name = f"_dskata_bench_impl_{abs(len(str(path)))}_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"cannot import {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:  # the user's file: report its error in one line
            msg = f"--impl: importing {module_part} failed: {type(exc).__name__}: {exc}"
            raise ValueError(msg) from None
    else:
        try:
            module = importlib.import_module(module_part)
        except Exception as exc:
            msg = f"--impl: cannot import {module_part!r}: {type(exc).__name__}: {exc}"
            raise ValueError(msg) from None
    if not hasattr(module, name):
        raise ValueError(f"--impl: {module_part} has no attribute {name!r}")
    return getattr(module, name)


def check_rounds(rounds: int) -> None:
    """Refuse fewer than 5 timed rounds: medians of fewer are noise."""
    if rounds < 5:
        raise ValueError(f"--rounds must be >= 5 (medians of fewer are noise), got {rounds}")


def _time_once(op: Callable[[], object]) -> float:
    # The collector is paused while the operation runs: a collection landing in one round
    # would skew a 5-round median. It runs between rounds instead (see run_workload).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        op()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def run_workload(
    workload: Workload,
    *,
    quick: bool = False,
    rounds: int = 5,
    subject: Any = None,
    on_impl: Callable[[Impl], None] | None = None,
) -> WorkloadResult:
    """Time every available implementation of ``workload``, dskata's first.

    Rounds are interleaved: round ``r`` of every implementation runs before round ``r + 1`` of
    any, so a change in the machine's load while the workload runs hits all implementations
    alike and the ratios stay fair on a shared machine.

    Args:
        quick: use the workload's small size.
        rounds: timed rounds per implementation (the median is reported); at least 5.
        subject: replaces dskata's object (``--impl``); default the workload's own subject.
        on_impl: called once per implementation, before its warm-up (progress reporting).
    """
    check_rounds(rounds)
    n = workload.size(quick)
    data = workload.setup(n)
    target = workload.resolve_subject() if subject is None else subject
    result = WorkloadResult(workload, n)
    ops: dict[str, Callable[[], object]] = {}
    times: dict[str, list[float]] = {}
    ordered = sorted(workload.impls, key=lambda i: i.kind != "dskata")

    def fail(impl: Impl, exc: Exception) -> None:
        if impl.kind == "dskata":
            raise exc
        # A peer's failure is reported, never fatal to the run.
        result.errors[impl.name] = f"{type(exc).__name__}: {exc}"
        ops.pop(impl.name, None)

    for impl in ordered:
        if on_impl is not None:
            on_impl(impl)
        if not impl.available():
            result.missing.append(impl.name)
            continue
        try:
            op = impl.make(data, target)
            op()  # warm-up, untimed
        except Exception as exc:
            fail(impl, exc)
            continue
        ops[impl.name] = op
        times[impl.name] = []
    # Setup data and warm-up garbage move to the permanent generation, so the one collection
    # per round below only walks what the rounds themselves allocated.
    gc.collect()
    gc.freeze()
    try:
        _timed_rounds(ordered, ops, times, rounds, data, target, fail)
    finally:
        gc.unfreeze()
    for impl in ordered:
        if impl.name in ops:
            t = times[impl.name]
            result.results.append(ImplResult(impl.name, impl.kind, statistics.median(t), t, n))
    return result


def _timed_rounds(
    ordered: list[Impl],
    ops: dict[str, Callable[[], object]],
    times: dict[str, list[float]],
    rounds: int,
    data: Any,
    target: Any,
    fail: Callable[[Impl, Exception], None],
) -> None:
    for _ in range(rounds):
        gc.collect()
        for impl in ordered:
            if impl.name not in ops:
                continue
            try:
                if impl.fresh:
                    ops[impl.name] = impl.make(data, target)
                times[impl.name].append(_time_once(ops[impl.name]))
            except Exception as exc:
                fail(impl, exc)
