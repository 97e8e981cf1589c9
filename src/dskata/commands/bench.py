"""``dskata bench``: dskata beside every installed peer and a naive baseline, with ratios."""

from __future__ import annotations

import argparse
import platform
from typing import Any

from dskata._version import __version__
from dskata.bench.core import Impl
from dskata.bench.runner import (
    WorkloadResult,
    check_rounds,
    load_object,
    run_workload,
    select_workloads,
)
from dskata.commands._output import console, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bench`` command."""
    p = sub.add_parser(
        "bench",
        help="benchmark dskata against installed peer libraries",
        description=(
            "Run the benchmark workloads: dskata, every installed peer and a naive baseline, "
            "in one run; prints the median items/s of each and dskata's speed-up over it."
        ),
    )
    p.add_argument("families", nargs="*", metavar="FAMILY", help="families to run (default all)")
    p.add_argument("--quick", action="store_true", help="small sizes: the whole run in seconds")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per implementation (>= 5)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument(
        "--impl",
        metavar="MODULE:NAME",
        help="benchmark this object (module:Name or file.py:Name) in place of dskata's own, "
        "on the workloads whose subject has the same name",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.set_defaults(func=_run)


def _fmt_rate(rate: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.2f}{unit}"
    return f"{rate:.1f}"


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _print_result(res: WorkloadResult) -> None:
    from rich.table import Table

    table = Table(
        title=f"{res.workload.id}  ({res.items:,} items) {res.workload.description}",
        title_justify="left",
    )
    for col, just in (
        ("implementation", "left"),
        ("kind", "left"),
        ("median", "right"),
        ("items/s", "right"),
        ("dskata speed-up", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in res.results:
        ratio = res.ratio(r)
        shown = "-" if r.kind in ("dskata", "learner") or ratio is None else f"{ratio:.2f}x"
        table.add_row(r.name, r.kind, _fmt_time(r.median_s), _fmt_rate(r.items_per_s), shown)
    for name in res.missing:
        table.add_row(name, "peer", "not installed", "", "")
    for name, err in res.errors.items():
        table.add_row(name, "peer", "failed", err[:40], "")
    console().print(table)


def _run(args: argparse.Namespace) -> int:
    check_rounds(args.rounds)
    workloads = select_workloads(args.families)
    if args.list:
        for w in workloads:
            peers = ", ".join(i.name for i in w.impls)
            console().print(f"{w.id:40} {w.description}  [{peers}]")
        return 0
    subject: Any = None
    if args.impl:
        subject = load_object(args.impl)
        name = getattr(subject, "__name__", "")
        workloads = [w for w in workloads if w.subject.rsplit(".", 1)[-1] == name]
        if not workloads:
            raise ValueError(f"no selected workload benchmarks an object named {name!r}")
    results: list[WorkloadResult] = []
    if args.json:
        for w in workloads:
            results.append(run_workload(w, quick=args.quick, rounds=args.rounds, subject=subject))
        print_json(
            {
                "dskata": __version__,
                "python": platform.python_version(),
                "quick": args.quick,
                "workloads": [r.to_json() for r in results],
            }
        )
        return 0
    from rich.progress import Progress

    # No auto-refresh: rich would redraw from a thread of its own, taking the GIL and a core in
    # the middle of timed rounds (measured: a 9 ms batch lookup read 12 ms in a terminal). The
    # bar is redrawn here, between implementations, outside any timing.
    with Progress(console=console(), transient=True, auto_refresh=False) as progress:
        task = progress.add_task("benchmarking", total=sum(len(w.impls) for w in workloads))
        progress.refresh()

        for w in workloads:

            def tick(impl: Impl, w_id: str = w.id) -> None:
                progress.update(task, description=f"{w_id} [{impl.name}]")
                progress.advance(task)
                progress.refresh()

            results.append(
                run_workload(w, quick=args.quick, rounds=args.rounds, subject=subject, on_impl=tick)
            )
    for r in results:
        _print_result(r)
    console().print(
        "speed-up = peer median / dskata median, measured in this run (> 1: dskata is faster)."
    )
    return 0
