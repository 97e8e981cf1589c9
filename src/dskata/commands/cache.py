"""``dskata cache simulate``: hit ratios of eviction policies on a trace, beside the optimum."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from dskata.commands._output import console, print_json, print_table, require_matplotlib

__all__ = ["register"]

_DEFAULT_POLICIES = "lru,fifo,lfu,sieve,arc,s3fifo,wtinylfu"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cache`` command family."""
    cache = sub.add_parser(
        "cache",
        help="cache experiments: replay traces through eviction policies",
        description="Cache experiments (dskata.cache).",
    )
    cache_sub = cache.add_subparsers(dest="cache_command", metavar="SUBCOMMAND")
    sim = cache_sub.add_parser(
        "simulate",
        help="hit ratios of eviction policies at several sizes, beside Belady's optimum",
        description=(
            "Replay a trace (a file, or a seeded Zipf trace, optionally polluted by scans) "
            "through each policy at each cache size and print the hit ratios: a miss-ratio "
            "curve, with Belady's clairvoyant optimum as the ceiling."
        ),
    )
    src = sim.add_mutually_exclusive_group()
    src.add_argument("--trace", metavar="FILE", help="keys, one per line (or CSV with --column)")
    src.add_argument("--zipf", type=float, metavar="ALPHA", help="generate a Zipf(ALPHA) trace")
    sim.add_argument("--column", help="read FILE as CSV and take this column (name or index)")
    sim.add_argument("--requests", type=int, default=1_000_000, help="generated trace length")
    sim.add_argument("--keys", type=int, default=100_000, help="distinct keys of the Zipf law")
    sim.add_argument(
        "--scan", type=float, default=0.0, metavar="FRACTION", help="share of scan requests"
    )
    sim.add_argument("--scan-length", type=int, default=None, help="keys per scan (keys/20)")
    sim.add_argument("--seed", type=int, default=0, help="trace seed")
    sim.add_argument(
        "--sizes", default="1%,10%", help="comma-separated: entries, fractions or percentages"
    )
    sim.add_argument(
        "--policies",
        default=_DEFAULT_POLICIES,
        help=f"comma-separated (default {_DEFAULT_POLICIES})",
    )
    sim.add_argument("--no-belady", action="store_true", help="skip the optimum")
    sim.add_argument("--json", action="store_true", help="print the results as JSON")
    sim.add_argument("--plot", metavar="FILE", help="write the hit-ratio curves to FILE")
    sim.set_defaults(func=_run_simulate)
    cache.set_defaults(func=lambda args: _help(cache))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _load_trace(args: argparse.Namespace) -> tuple[Any, str]:
    from dskata.cache import read_trace_csv, read_trace_text, scan_zipf_trace, zipf_trace

    if args.trace is not None:
        path = Path(args.trace)
        if path.is_dir():
            raise ValueError(f"--trace {args.trace} is a folder; give a file of keys")
        if not path.exists():
            raise FileNotFoundError(f"--trace {args.trace}: no such file")
        if args.column is not None:
            column: int | str = int(args.column) if args.column.isdigit() else args.column
            return read_trace_csv(path, column), f"{path.name} (column {args.column})"
        return read_trace_text(path), path.name
    alpha = 1.0 if args.zipf is None else args.zipf
    if args.scan:
        trace = scan_zipf_trace(
            args.requests,
            args.keys,
            alpha,
            scan_fraction=args.scan,
            scan_length=args.scan_length,
            seed=args.seed,
        )
        label = f"Zipf({alpha}) + {args.scan:.0%} scans"
    else:
        trace = zipf_trace(args.requests, args.keys, alpha, seed=args.seed)
        label = f"Zipf({alpha})"
    return trace, f"{label}, {args.requests:,} requests over {args.keys:,} keys, seed {args.seed}"


def _run_simulate(args: argparse.Namespace) -> int:
    from dskata.cache import simulate
    from dskata.cache.simulate import POLICIES

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ValueError(
            f"--policies: unknown {unknown or 'empty list'}; known: {', '.join(POLICIES)}"
        )
    if args.plot is not None:
        plt = require_matplotlib()  # fail before the (long) simulation, not after
    trace, label = _load_trace(args)
    if len(trace) == 0:
        raise ValueError("the trace is empty")
    started = time.perf_counter()
    result = simulate(trace, policies, args.sizes, belady=not args.no_belady)
    elapsed = time.perf_counter() - started
    ratios = result.hit_ratios
    if args.json:
        print_json({"trace": label, "seconds": round(elapsed, 3), **result.to_dict()})
    else:
        base = ratios.get("lru")
        columns = ["policy"] + [f"{s:,} ({s / result.unique_keys:.1%})" for s in result.sizes]
        rows = []
        for name, values in ratios.items():
            cells = []
            for i, v in enumerate(values):
                cell = f"{v:.2%}"
                if base is not None and name != "lru" and base[i] > 0:
                    cell += f" ({v / base[i]:.2f}x)"
                cells.append(cell)
            rows.append([name, *cells])
        print_table(f"hit ratio: {label} ({result.unique_keys:,} distinct keys)", columns, rows)
        console().print(
            f"(x) = ratio to LRU's hit ratio at the same size; belady = clairvoyant optimum. "
            f"{elapsed:.1f} s."
        )
    if args.plot is not None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        xs = [s / result.unique_keys * 100 for s in result.sizes]
        for name, values in ratios.items():
            style = {"linestyle": "--", "color": "black"} if name == "belady" else {}
            ax.plot(xs, [v * 100 for v in values], marker="o", label=name, **style)
        ax.set_xscale("log")
        ax.set_xlabel("cache size (% of distinct keys)")
        ax.set_ylabel("hit ratio (%)")
        ax.set_title(label, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot)
        plt.close(fig)
        if not args.json:
            console().print(f"plot written to {args.plot}")
    return 0
