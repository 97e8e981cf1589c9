"""Benchmark machinery: workloads defined once (:mod:`dskata.bench.core`), run side by side."""

from dskata.bench.core import Impl, Workload, all_workloads, families, runnable_cases

__all__ = ["Impl", "Workload", "all_workloads", "families", "runnable_cases"]
