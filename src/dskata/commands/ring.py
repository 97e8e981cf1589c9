"""``dskata ring``: balance and movement of every consistent hashing scheme, side by side.

* ``dskata ring stats --nodes N --vnodes V --keys K [--scheme ring,jump,...]``: max/mean and
  min/mean load, coefficient of variation, keys moved on a join and on a leave (and the ideal).
* ``dskata ring balance --nodes 10,100 --vnodes 10,100,1000``: max/mean share of a ring against
  the number of virtual nodes (median over seeds), the data behind docs/ring.md's plot.

Both take ``--json`` (data on stdout) and ``--plot FILE`` (a PNG/SVG via matplotlib).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from dskata.commands._output import console, print_json, print_table, require_matplotlib
from dskata.hashing import validate_seed

__all__ = ["register"]


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _schemes(text: str) -> list[str]:
    """Parse ``--scheme``: 'all' or comma-separated names, no empty or unknown name."""
    from dskata.ring.stats import SCHEMES

    if text.strip() == "all":
        return list(SCHEMES)
    allowed = f"choose 'all' or comma-separated names from {', '.join(SCHEMES)}"
    names = [s.strip() for s in text.split(",")]
    if any(not s for s in names):
        raise ValueError(f"--scheme {text!r} has an empty scheme name; {allowed}")
    bad = [s for s in names if s not in SCHEMES]
    if bad:
        raise ValueError(f"--scheme {text!r}: unknown scheme {', '.join(bad)}; {allowed}")
    return names


def _wrote(path: str, *, json_mode: bool) -> None:
    """Report a written plot; on stderr when stdout carries JSON."""
    print(f"wrote {path}", file=sys.stderr if json_mode else sys.stdout, flush=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dskata ring`` and its subcommands."""
    p = sub.add_parser(
        "ring",
        help="consistent hashing experiments: balance and movement per scheme",
        description="Compare the load balance and key movement of every consistent hashing "
        "scheme side by side.",
    )
    rs = p.add_subparsers(dest="ring_command", metavar="SUBCOMMAND", parser_class=type(p))
    s = rs.add_parser(
        "stats",
        help="load balance and keys moved on join/leave, per scheme",
        description="Place keys on nodes with each scheme and print the max/mean and min/mean "
        "load, the coefficient of variation and the keys moved on a join and a leave beside "
        "the ideal.",
    )
    s.add_argument("--nodes", type=int, default=10, help="number of nodes (default 10)")
    s.add_argument("--vnodes", type=int, default=160, help="virtual nodes per node (default 160)")
    s.add_argument("--keys", type=int, default=100_000, help="number of keys (default 100000)")
    s.add_argument(
        "--scheme",
        default=None,
        help="comma-separated schemes or 'all' (default: all): ring, ketama, jump, rendezvous, "
        "maglev, multiprobe, bounded",
    )
    s.add_argument("--epsilon", type=float, default=0.25, help="bounded loads epsilon (0.25)")
    s.add_argument("--seed", type=int, default=0, help="hash seed, in [0, 2**32) (default 0)")
    s.add_argument(
        "--table-size",
        type=int,
        default=None,
        help="Maglev table size, a prime (default: the smallest prime >= max(65537, 100 n))",
    )
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--plot", metavar="FILE", help="draw the ring and the load bars to FILE")
    s.set_defaults(func=_run_stats)
    b = rs.add_parser(
        "balance",
        help="max/mean share of a ring against the number of vnodes",
        description="Measure the max/mean share of a HashRing against the number of virtual "
        "nodes per node (median over seeds), beside an ideal random placement and the theory.",
    )
    b.add_argument("--nodes", type=_int_list, default=[10, 100], help="e.g. 10,100")
    b.add_argument(
        "--vnodes", type=_int_list, default=[1, 10, 40, 160, 640, 1000], help="e.g. 10,100,1000"
    )
    b.add_argument("--seeds", type=int, default=5, help="seeds per point; median reported")
    b.add_argument("--json", action="store_true", help="print JSON instead of a table")
    b.add_argument("--plot", metavar="FILE", help="plot max/mean share against vnodes to FILE")
    b.set_defaults(func=_run_balance)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_help)


def _run_stats(args: argparse.Namespace) -> int:
    from dskata.ring.stats import SCHEMES, scheme_stats

    if args.nodes < 2:
        raise ValueError(f"--nodes must be >= 2 (a leave needs a survivor), got {args.nodes}")
    if args.keys < 1:
        raise ValueError(f"--keys must be >= 1, got {args.keys}")
    if args.vnodes < 1:
        raise ValueError(f"--vnodes must be >= 1, got {args.vnodes}")
    if not (math.isfinite(args.epsilon) and args.epsilon > 0):
        raise ValueError(f"--epsilon must be a finite number > 0, got {args.epsilon}")
    validate_seed(args.seed, "--seed")
    schemes = list(SCHEMES) if args.scheme is None else _schemes(args.scheme)
    results = []
    for name in schemes:
        try:
            stats = scheme_stats(
                name,
                nodes=args.nodes,
                keys=args.keys,
                vnodes=args.vnodes,
                seed=args.seed,
                epsilon=args.epsilon,
                table_size=args.table_size,
            )
        except ValueError as exc:
            # Only --table-size reaches the library unchecked: name the option as typed.
            raise ValueError(str(exc).replace("table_size", "--table-size")) from None
        results.append(stats)
    if args.plot:
        _plot_stats(args, results)
    if args.json:
        print_json(
            {
                "nodes": args.nodes,
                "vnodes": args.vnodes,
                "keys": args.keys,
                "seed": args.seed,
                "epsilon": args.epsilon,
                "schemes": [r.as_dict() for r in results],
            }
        )
        if args.plot:
            _wrote(args.plot, json_mode=True)
        return 0
    rows = [
        [
            r.scheme,
            f"{r.max_over_mean:.4f}",
            f"{r.min_over_mean:.4f}",
            f"{r.cv:.4f}",
            f"{r.moved_on_join:.2%}",
            f"{r.ideal_on_join:.2%}",
            f"{r.moved_on_leave:.2%}",
            f"{r.ideal_on_leave:.2%}",
        ]
        for r in results
    ]
    print_table(
        f"{args.nodes} nodes, {args.keys:,} keys, {args.vnodes} vnodes (ring, bounded), "
        f"seed {args.seed}",
        [
            "scheme",
            "max/mean",
            "min/mean",
            "std/mean",
            "moved: join",
            "ideal",
            "moved: leave",
            "ideal",
        ],
        rows,
    )
    console().print(
        "ideal = keys the newcomer ends up owning / keys the leaver owned; jump leaves from the "
        f"end; bounded uses epsilon {args.epsilon}; ketama hashes the keys as 'key:i'."
    )
    if args.plot:
        _wrote(args.plot, json_mode=False)
    return 0


def _plot_stats(args: argparse.Namespace, results: list[Any]) -> None:
    plt = require_matplotlib()
    from dskata.ring.hashring import HashRing

    fig = plt.figure(figsize=(13, 5.5))
    ax_ring = fig.add_subplot(1, 2, 1, projection="polar")
    ring = HashRing([f"node-{i}" for i in range(args.nodes)], vnodes=args.vnodes, seed=args.seed)
    cmap = plt.get_cmap("tab20")
    points = ring.points()
    index = {node: i for i, node in enumerate(ring.nodes)}
    two_pi = 2 * math.pi
    # Each point owns the arc that ends at it (previous point, point]: draw those arcs as a band.
    angles = [p / 2**64 * two_pi for p, _ in points]
    previous = [angles[-1] - two_pi, *angles[:-1]]
    ax_ring.bar(
        [(a + b) / 2 for a, b in zip(previous, angles, strict=True)],
        [1.0] * len(points),
        width=[a - b for a, b in zip(angles, previous, strict=True)],
        bottom=1.0,
        color=[cmap(index[n] % 20) for _, n in points],
        linewidth=0,
    )
    ax_ring.set_ylim(0, 2.05)
    ax_ring.set_yticks([])
    ax_ring.set_xticks([])
    ax_ring.set_title(f"Arcs owned on the ring ({args.vnodes} vnodes per node)")
    if args.nodes <= 20:
        from matplotlib.patches import Patch

        handles = [Patch(color=cmap(i % 20), label=str(n)) for i, n in enumerate(ring.nodes)]
        ax_ring.legend(handles=handles, loc="center", fontsize=7, ncol=2, frameon=False)
    ax = fig.add_subplot(1, 2, 2)
    width = 0.8 / max(1, len(results))
    mean = args.keys / args.nodes
    for j, r in enumerate(results):
        xs = [i + j * width for i in range(args.nodes)]
        ax.bar(
            xs,
            [x / mean for x in r.loads],
            width=width,
            label=f"{r.scheme} ({r.max_over_mean:.3f})",
        )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("node")
    ax.set_ylabel("load / mean")
    ax.set_title(f"Load per node, {args.keys:,} keys (legend: max/mean)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)


def _run_balance(args: argparse.Namespace) -> int:
    from dskata.ring.stats import balance_curve

    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    rows = balance_curve(args.nodes, args.vnodes, seeds=args.seeds)
    if args.plot:
        plt = require_matplotlib()
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for n in args.nodes:
            pts = [r for r in rows if r["nodes"] == n]
            ax.plot(
                [r["vnodes"] for r in pts],
                [r["median_max_over_mean"] for r in pts],
                "o-",
                label=f"{n} nodes (median of {args.seeds} seeds)",
            )
            ax.plot([r["vnodes"] for r in pts], [r["theory"] for r in pts], ":", color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("virtual nodes per node")
        ax.set_ylabel("max share / mean share")
        ax.set_title("HashRing balance against virtual nodes (dotted: 1 + sqrt(2 ln n / v))")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        plt.close(fig)
    if args.json:
        print_json({"seeds": args.seeds, "rows": rows})
        if args.plot:
            _wrote(args.plot, json_mode=True)
        return 0
    print_table(
        f"HashRing max/mean share (median over {args.seeds} seeds)",
        [
            "nodes",
            "vnodes",
            "median max/mean",
            "mean",
            "worst",
            "ideal median",
            "ideal mean",
            "1 + sqrt(2 ln n / v)",
        ],
        [
            [
                int(r["nodes"]),
                int(r["vnodes"]),
                f"{r['median_max_over_mean']:.4f}",
                f"{r['mean_max_over_mean']:.4f}",
                f"{r['worst_max_over_mean']:.4f}",
                f"{r['ideal_median_max_over_mean']:.4f}",
                f"{r['ideal_mean_max_over_mean']:.4f}",
                f"{r['theory']:.4f}",
            ]
            for r in rows
        ],
    )
    if args.plot:
        _wrote(args.plot, json_mode=False)
    return 0
