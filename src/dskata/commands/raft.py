"""``dskata raft`` and ``dskata paxos``: election experiments on the deterministic simulator.

* ``dskata raft figure16 [--trials N] [--json] [--plot FILE]``: the Raft paper's Figure 16.
* ``dskata raft fuzz --schedules N [--prevote] [--check-quorum]``: random fault schedules,
  invariant violations and elections per schedule.
* ``dskata raft churn [--seconds S]``: the thesis §9.6 partial-connectivity case, leader changes
  with and without Pre-Vote + CheckQuorum.
* ``dskata raft timeline [--plot FILE]``: the message timeline of one election.
* ``dskata paxos fuzz --schedules N``: the same fuzzing for Paxos leader election.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from dskata.commands._output import console, print_json, print_table, require_matplotlib

__all__ = ["register"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < 1e9:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``raft`` and ``paxos`` commands."""
    p = sub.add_parser(
        "raft",
        help="Raft election experiments: Figure 16, fuzzing, churn, timelines",
        description="Raft leader election on the deterministic, fault-injecting simulator.",
    )
    rsub = p.add_subparsers(dest="raft_command", metavar="EXPERIMENT")

    f = rsub.add_parser(
        "figure16",
        help="reproduce Figure 16 of the Raft paper (§9.3)",
        description="Crash the leader of a five-node cluster again and again and measure the "
        "time without a leader for each election-timeout range of the Raft paper's Figure 16.",
    )
    f.add_argument("--trials", type=_positive, default=1000, help="trials per range (1000)")
    f.add_argument(
        "--fixed-trials", type=_positive, default=None, help="trials for 150-150 (trials / 10)"
    )
    f.add_argument(
        "--seed", type=int, default=0, help="seed of the whole run, in [0, 2**32) (default 0)"
    )
    f.add_argument("--json", action="store_true", help="print the results as JSON")
    f.add_argument("--plot", metavar="FILE", help="write the two CDF panels to FILE (png/svg)")
    f.set_defaults(func=_figure16)

    z = rsub.add_parser(
        "fuzz",
        help="random fault schedules, checked by the invariant checker",
        description="Run Raft leader election under random fault schedules (loss, duplication, "
        "reordering, partitions, crashes) and check every history against the invariants.",
    )
    _fuzz_args(z)
    z.add_argument("--prevote", action="store_true", help="enable Pre-Vote (thesis §9.6)")
    z.add_argument("--check-quorum", action="store_true", help="enable CheckQuorum (§6.2)")
    z.set_defaults(func=_fuzz, protocol="raft")

    c = rsub.add_parser(
        "churn",
        help="partial connectivity with and without Pre-Vote",
        description="Count leader changes under the thesis §9.6 partial-connectivity case "
        "(0-1-2 connected, 3 reaches only 1, 4 reaches only 2), with plain Raft and with "
        "Pre-Vote + CheckQuorum.",
    )
    c.add_argument("--seconds", type=_seconds, default=60.0, help="simulated seconds (60)")
    c.add_argument(
        "--seed", type=int, default=0, help="seed of the simulation, in [0, 2**32) (default 0)"
    )
    c.add_argument("--json", action="store_true", help="print the results as JSON")
    c.set_defaults(func=_churn)

    t = rsub.add_parser(
        "timeline",
        help="message timeline of one election",
        description="Print every event of one Raft election on a five-node cluster, from the "
        "first candidate to the new leader's heartbeats, and optionally draw it.",
    )
    t.add_argument(
        "--seed", type=int, default=4, help="seed of the simulation, in [0, 2**32) (default 4)"
    )
    t.add_argument("--plot", metavar="FILE", help="draw the timeline to FILE")
    t.set_defaults(func=_timeline)
    p.set_defaults(func=lambda args: _usage(p))

    q = sub.add_parser(
        "paxos",
        help="Paxos leader election experiments: fuzzing",
        description="Paxos leader election (one Synod instance per epoch) on the simulator.",
    )
    qsub = q.add_subparsers(dest="paxos_command", metavar="EXPERIMENT")
    qz = qsub.add_parser(
        "fuzz",
        help="random fault schedules, checked by the invariant checker",
        description="Run Paxos leader election under random fault schedules (loss, duplication, "
        "reordering, partitions, crashes) and check every history against the invariants.",
    )
    _fuzz_args(qz)
    qz.set_defaults(func=_fuzz, protocol="paxos", prevote=False, check_quorum=False)
    q.set_defaults(func=lambda args: _usage(q))


def _fuzz_args(z: argparse.ArgumentParser) -> None:
    z.add_argument("--schedules", type=_positive, default=1000, help="schedules to run (1000)")
    z.add_argument(
        "--seed", type=int, default=0, help="seed of the schedules, in [0, 2**32) (default 0)"
    )
    z.add_argument("--json", action="store_true", help="print the summary as JSON")


def _seed(value: int) -> int:
    from dskata.hashing import validate_seed

    return validate_seed(value, "--seed")


def _wrote(path: str) -> None:
    console().print(f"wrote {path}", markup=False, soft_wrap=True)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _figure16(args: argparse.Namespace) -> int:
    from dskata.consensus.experiments import LOGCABIN_2014, PAPER_FIGURE16, figure16

    _seed(args.seed)
    start = time.perf_counter()
    results = figure16(args.trials, fixed_trials=args.fixed_trials, seed=args.seed)
    elapsed = time.perf_counter() - start
    if args.json:
        print_json(
            {
                "calibration": LOGCABIN_2014.name,
                "seconds": round(elapsed, 2),
                "ranges": [r.as_dict() for r, _ in results],
            }
        )
    else:
        from rich.table import Table

        # Built here rather than with print_table: the range column must never be truncated
        # (on an 80-column terminal rich would shorten "150-155" to "150-1…"), so it does not
        # wrap and the paper's quotes wrap instead.
        table = Table(
            title=(
                f"Raft Figure 16: time without a leader (ms), calibration "
                f"{LOGCABIN_2014.name!r}, {elapsed:.1f} s; cap: trials capped at "
                f"{results[0][0].cap_ms / 1000:g} s; N+: at least N (includes capped trials); "
                "paper: the values §9.3 quotes"
            ),
            title_justify="left",
            show_edge=False,
        )
        table.add_column("timeout", no_wrap=True, min_width=7)
        for name in ("trials", "p50", "p90", "p99", "max", "mean", "cap"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("paper", min_width=10)
        for r, _ in results:
            paper = PAPER_FIGURE16.get(r.timeout_ms, {})
            quoted = ", ".join(
                f"{k[:-3]} >{v / 1000:g} s" if k == "p50_ms" and v >= 10_000 else f"{k[:-3]} {v:g}"
                for k, v in paper.items()
            )
            table.add_row(
                f"{r.timeout_ms[0]:g}-{r.timeout_ms[1]:g}",
                str(r.trials),
                _stat(r, r.p50_ms, ".0f"),
                _stat(r, r.p90_ms, ".0f"),
                _stat(r, r.p99_ms, ".0f"),
                _stat(r, r.max_ms, ".0f"),
                _stat(r, r.mean_ms, ".1f", mean=True),
                str(r.censored),
                quoted or "-",
            )
        console().print(table)
    if args.plot:
        _plot_figure16(results, args.plot)
        if not args.json:
            _wrote(args.plot)
    return 0


def _stat(r: Any, value: float, spec: str, *, mean: bool = False) -> str:
    """``value`` formatted, with ``+`` when it is only a lower bound because of capped trials."""
    capped = r.censored > 0 if mean else r.is_capped(value)
    return f"{value:{spec}}{'+' if capped else ''}"


def _plot_figure16(results: list[Any], path: str) -> None:
    plt = require_matplotlib()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7))
    for r, samples in results:
        lo, hi = r.timeout_ms
        s = sorted(samples)
        ys = [(k + 1) / len(s) * 100 for k in range(len(s))]
        label = f"{lo:g}-{hi:g}ms"
        if lo == 150:
            top.plot(s, ys, label=label)
        if hi == 2 * lo or (lo, hi) == (150, 300):
            bottom.plot(s, ys, label=label)
    top.set_xscale("log")
    top.set_xlim(100, 100_000)
    bottom.set_xlim(0, 600)
    for ax in (top, bottom):
        ax.set_ylabel("cumulative percent")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    bottom.set_xlabel("time without leader (ms)")
    fig.suptitle("Raft Figure 16 reproduced on the dskata simulator")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fuzz(args: argparse.Namespace) -> int:
    from dskata.consensus.experiments import fuzz

    _seed(args.seed)
    start = time.perf_counter()
    report = fuzz(
        args.schedules,
        protocol=args.protocol,
        prevote=args.prevote,
        check_quorum=args.check_quorum,
        seed=args.seed,
    )
    elapsed = time.perf_counter() - start
    el = report.elections
    summary: dict[str, Any] = {"protocol": args.protocol}
    if args.protocol == "raft":  # Pre-Vote and CheckQuorum are Raft options
        summary["prevote"] = args.prevote
        summary["check_quorum"] = args.check_quorum
    summary |= {
        "schedules": report.schedules,
        "violations": len(report.violations),
        "violating_seeds": [s for s, _, _ in report.violations],
        "elections_per_schedule": {
            "mean": round(statistics.fmean(el), 3),
            "median": statistics.median(el),
            "max": max(el),
        },
        # One count per schedule, in schedule order ((seed * 1_000_003 + k) mod 2**32).
        "elections": el,
        "seconds": round(elapsed, 2),
    }
    if args.json:
        print_json(summary)
    else:
        print_table(
            f"{args.protocol} fuzz: {report.schedules} schedules in {elapsed:.1f} s",
            ["metric", "value"],
            [
                ("invariant violations", len(report.violations)),
                ("elections per schedule (mean)", f"{statistics.fmean(el):.2f}"),
                ("elections per schedule (median / max)", f"{statistics.median(el):g} / {max(el)}"),
                ("history events checked", report.events),
            ],
        )
        for _, _, text in report.violations[:1]:
            console().print(text, markup=False)
    return 1 if report.violations else 0


def _churn(args: argparse.Namespace) -> int:
    from dskata.consensus.experiments import churn

    _seed(args.seed)
    rows = []
    data = []
    for pv_cq in (False, True):
        r = churn(prevote=pv_cq, check_quorum=pv_cq, seconds=args.seconds, seed=args.seed)
        data.append(
            {
                "prevote": r.prevote,
                "check_quorum": r.check_quorum,
                "seconds": r.seconds,
                "leader_changes": r.leader_changes,
                "term_increase": r.max_term_increase,
            }
        )
        label = "Pre-Vote + CheckQuorum" if pv_cq else "plain Raft"
        rows.append((label, r.leader_changes, r.max_term_increase))
    if args.json:
        print_json({"scenario": "0-1-2 connected, 3<->1 only, 4<->2 only", "runs": data})
    else:
        print_table(
            f"Partial connectivity (thesis §9.6), {args.seconds:g} simulated s after a stable "
            "leader: 0-1-2 connected, 3 reaches only 1, 4 reaches only 2",
            ["configuration", "leader changes", "term increase"],
            rows,
        )
    return 0


def _timeline(args: argparse.Namespace) -> int:
    from dskata.consensus.sim import Cluster

    c = Cluster(5, seed=_seed(args.seed), delay=(2.0, 8.0), disk=(1.0, 3.0))
    lead = c.run_until_leader(timeout=5_000)
    c.run_for(10)
    # From the first candidate (its timer fired) on, so the transcript starts with the cause.
    first = next(e.time for e in c.history if e.kind in ("candidate", "deliver"))
    events = [e for e in c.history if e.time >= first]
    for e in events:
        console().print(str(e), markup=False)
    if args.plot:
        _plot_timeline(c, events, args.plot, lead)
        _wrote(args.plot)
    return 0


def _plot_timeline(c: Any, events: list[Any], path: str, lead: int | None) -> None:
    from dskata.consensus.messages import AppendEntries, RequestVote, RequestVoteResponse

    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(8, 4))
    colours = {RequestVote: "tab:blue", RequestVoteResponse: "tab:green", AppendEntries: "tab:red"}
    for e in c.history:
        if e.kind in ("candidate", "leader"):
            ax.plot([e.time], [e.node], "o", color="black" if e.kind == "leader" else "grey")
            ax.annotate(
                f"{e.kind} t{e.term}",
                (e.time, e.node),
                fontsize=7,
                xytext=(3, 4),
                textcoords="offset points",
            )
    for e in events:
        if e.kind != "deliver":
            continue
        m = e.detail
        start = e.sent if e.sent is not None else e.time
        colour = colours.get(type(m), "tab:grey")
        ax.annotate(
            "",
            xy=(e.time, m.dst),
            xytext=(start, m.src),
            arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.8},
        )
    times = [e.time for e in events] + [e.sent for e in events if e.sent is not None]
    ax.set_xlim(min(times) - 2, max(times) + 2)
    ax.set_ylim(-0.5, c.n - 0.5)
    ax.set_yticks(range(c.n))
    ax.set_ylabel("node")
    ax.set_xlabel("simulated time (ms)")
    ax.set_title(
        f"One Raft election (5 nodes), leader: node {lead}  "
        "(blue RequestVote, green vote, red heartbeat)"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
