"""Sketch benchmarks: ``pytest benchmarks/test_sketch.py`` (pytest-benchmark)."""

from __future__ import annotations

from typing import Any

from dskata.bench.core import Impl, Workload
from dskata.bench.pytest_support import cases, run_case


@cases("sketch")
def test_sketch(benchmark: Any, workload: Workload, impl: Impl) -> None:
    run_case(benchmark, workload, impl)
