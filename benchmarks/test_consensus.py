"""Consensus benchmarks: ``pytest benchmarks/test_consensus.py`` (pytest-benchmark).

The simulator beside SimPy and a sorted-list queue, the whole Figure 16 run, and 10,000 random
fault schedules per configuration (each raising if an invariant breaks).
"""

from __future__ import annotations

from typing import Any

from dskata.bench.core import Impl, Workload
from dskata.bench.pytest_support import cases, run_case


@cases("consensus")
def test_consensus(benchmark: Any, workload: Workload, impl: Impl) -> None:
    run_case(benchmark, workload, impl)
