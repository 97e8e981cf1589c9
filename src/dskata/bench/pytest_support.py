"""Glue for ``benchmarks/test_*.py``: one pytest-benchmark case per runnable (workload, impl).

Needs pytest and pytest-benchmark (the ``bench`` extra); the rest of dskata never imports it.
"""

from __future__ import annotations

from typing import Any

import pytest

from dskata.bench.core import Impl, Workload, runnable_cases

__all__ = ["cases", "run_case"]


def cases(family: str) -> pytest.MarkDecorator:
    """Parametrise a benchmark over the family's runnable (workload, impl) pairs."""
    pairs = runnable_cases(family)
    return pytest.mark.parametrize(
        ("workload", "impl"), pairs, ids=[f"{w.name}[{i.name}]" for w, i in pairs]
    )


def run_case(benchmark: Any, workload: Workload, impl: Impl, quick: bool = False) -> None:
    """Time ``impl`` on ``workload``: setup excluded, one warm-up round, 5 timed rounds."""
    n = workload.size(quick)
    data = workload.setup(n)
    subject = workload.resolve_subject()
    benchmark.group = workload.id
    benchmark.extra_info["items"] = n
    if impl.fresh:

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (impl.make(data, subject),), {}

        benchmark.pedantic(lambda op: op(), setup=setup, rounds=5, warmup_rounds=1)
    else:
        benchmark.pedantic(impl.make(data, subject), rounds=5, warmup_rounds=1)
