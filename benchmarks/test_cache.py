"""Cache benchmarks: ``pytest benchmarks/test_cache.py`` (pytest-benchmark)."""

from __future__ import annotations

from typing import Any

from dskata.bench.core import Impl, Workload
from dskata.bench.pytest_support import cases, run_case


@cases("cache")
def test_cache(benchmark: Any, workload: Workload, impl: Impl) -> None:
    run_case(benchmark, workload, impl)
