"""``dskata concurrency``: races made visible, optimistic vs pessimistic, the stress acceptance.

* ``dskata concurrency race``: a naive ``x += 1`` counter and a broken CAS lose updates under
  8 threads, and the linearizability checker flags them; the CAS versions lose nothing and pass.
* ``dskata concurrency contention --plot FILE``: optimistic vs pessimistic throughput and abort
  rate as the hot-key fraction and the thread count rise.
* ``dskata concurrency stress``: the issue's acceptance run (8 threads x 100k operations at a
  1 µs switch interval, deadlock rings, 10k lock schedules).
"""

from __future__ import annotations

import argparse
from typing import Any

from dskata.commands._output import console, print_json, print_table, require_matplotlib

__all__ = ["register"]

_KEYS = 1000  # key-space size of the contention experiment (hot plus cold)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``concurrency`` command family."""
    p = sub.add_parser(
        "concurrency",
        help="concurrency experiments (races, optimistic vs pessimistic, stress)",
        description="Concurrency experiments on real threads: lost updates and the "
        "linearizability checker, optimistic vs pessimistic transactions, the stress run.",
    )
    csub = p.add_subparsers(dest="concurrency_command", metavar="EXPERIMENT")

    race = csub.add_parser(
        "race",
        help="a naive counter and a broken CAS lose updates; the checker flags them",
        description="Run a naive x += 1 counter, a CAS counter, a broken CAS and a real one "
        "from several threads, record every operation and check each history for "
        "linearizability.",
    )
    race.add_argument("--threads", type=int, default=8, help="threads, >= 1 (default 8)")
    race.add_argument(
        "--ops", type=int, default=200, help="increments per thread, >= 1 (default 200)"
    )
    race.add_argument("--json", action="store_true", help="print results as JSON")
    race.set_defaults(func=_race)

    cont = csub.add_parser(
        "contention",
        help="optimistic vs pessimistic throughput and abort rate as contention rises",
        description="Threads run read-modify-write transactions on 2 keys each, drawn from a "
        "small hot set with probability HOT, with CPU-bound work between read and write; "
        "optimistic (VersionedStore, retry on conflict) against pessimistic (LockManager, "
        "strict 2PL, retry on deadlock).",
    )
    cont.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2, 4, 8], metavar="N",
        help="thread counts to try, each >= 1 (default 1 2 4 8)",
    )  # fmt: skip
    cont.add_argument(
        "--hot", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0], metavar="F",
        help="hot-key fractions to try, each in [0, 1] (default 0 0.25 0.5 0.75 1)",
    )  # fmt: skip
    cont.add_argument(
        "--txns", type=int, default=40, help="transactions per thread, >= 1 (default 40)"
    )
    cont.add_argument(
        "--work", type=int, default=20_000,
        help="CPU-bound loop iterations between each read and its write, >= 0 (default 20000)",
    )  # fmt: skip
    cont.add_argument(
        "--lock-order", choices=["sorted", "random"], default="sorted",
        help="pessimistic lock order: sorted (no deadlocks) or random (victims abort)",
    )  # fmt: skip
    cont.add_argument(
        "--hot-keys", type=int, default=2,
        help=f"size of the hot set, in [1, {_KEYS}) (default 2)",
    )  # fmt: skip
    cont.add_argument(
        "--keys-per-txn", type=int, default=2, help="keys per transaction, >= 1 (default 2)"
    )
    cont.add_argument(
        "--seed", type=int, default=0, help="seed of the key choices, in [0, 2**32) (default 0)"
    )
    cont.add_argument("--plot", metavar="FILE", help="write a throughput/abort-rate figure")
    cont.add_argument("--json", action="store_true", help="print results as JSON")
    cont.set_defaults(func=_contention)

    stress = csub.add_parser(
        "stress",
        help="the acceptance run: 8 threads x 100k ops at a 1 µs switch interval, deadlocks",
        description="Run the acceptance checks: atomics and locks hammered by many threads at a "
        "1 µs switch interval, deadlock rings resolved by the lock manager, and random lock "
        "schedules checked against the lock table's invariants.",
    )
    stress.add_argument("--threads", type=int, default=8, help="threads, >= 1 (default 8)")
    stress.add_argument(
        "--ops", type=int, default=100_000, help="operations per thread, >= 1 (default 100000)"
    )
    stress.add_argument(
        "--schedules", type=int, default=10_000,
        help="random lock schedules of each kind, >= 1 (default 10000)",
    )  # fmt: skip
    stress.add_argument(
        "--seed", type=int, default=0, help="seed of the run, in [0, 2**32) (default 0)"
    )
    stress.add_argument("--json", action="store_true", help="print the report as JSON")
    stress.set_defaults(func=_stress)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"--{name} must be >= 1, got {value}")


def _seed(value: int) -> int:
    from dskata.hashing import validate_seed

    return validate_seed(value, "--seed")


def _race(args: argparse.Namespace) -> int:
    from dskata.concurrency.experiments import race

    _positive("threads", args.threads)
    _positive("ops", args.ops)
    rows = race(args.threads, args.ops)
    if args.json:
        print_json([r.as_dict() for r in rows])
        return 0
    print_table(
        f"{args.threads} threads x {args.ops} increments, switch interval 1 µs",
        ["subject", "final", "expected", "lost", "ops recorded", "linearizable", "check"],
        [
            [
                r.subject, r.final, r.expected, r.lost, r.operations,
                "yes" if r.result.linearizable else "NO",
                f"{r.check_seconds * 1e3:.1f} ms",
            ]
            for r in rows
        ],
    )  # fmt: skip
    naive = rows[0]
    if naive.result.linearizable is False:
        console().print("\nWhy the naive counter fails:")
        console().print(naive.result.explain(limit=8), markup=False)
    return 0


def _contention(args: argparse.Namespace) -> int:
    from dskata.concurrency.experiments import contention

    for n in args.threads:
        _positive("threads", n)
    for h in args.hot:
        if not 0.0 <= h <= 1.0:
            raise ValueError(f"--hot must be in [0, 1], got {h:g}")
    _positive("txns", args.txns)
    if args.work < 0:
        raise ValueError(f"--work must be >= 0, got {args.work}")
    if not 1 <= args.hot_keys < _KEYS:
        raise ValueError(f"--hot-keys must be in [1, {_KEYS}), got {args.hot_keys}")
    _positive("keys-per-txn", args.keys_per_txn)
    _seed(args.seed)
    points = contention(
        tuple(args.threads),
        tuple(args.hot),
        txns_per_thread=args.txns,
        keys=_KEYS,
        hot_keys=args.hot_keys,
        keys_per_txn=args.keys_per_txn,
        work=args.work,
        lock_order=args.lock_order,
        seed=args.seed,
    )
    if args.plot:
        _plot(points, args.plot)
    if args.json:
        print_json([p.as_dict() for p in points])
        return 0
    print_table(
        "optimistic vs pessimistic (committed transactions per second, abort rate)",
        ["threads", "hot", "scheme", "txn/s", "abort rate", "exact"],
        [
            [p.threads, f"{p.hot_fraction:.2f}", p.scheme, f"{p.throughput:,.0f}",
             f"{p.abort_rate:.1%}", "yes" if p.exact else "NO"]
            for p in points
        ],
    )  # fmt: skip
    if args.plot:
        console().print(f"wrote {args.plot}", markup=False, soft_wrap=True)
    return 0


def _plot(points: list[Any], path: str) -> None:
    plt = require_matplotlib()
    threads = sorted({p.threads for p in points})
    fig, (ax_t, ax_a) = plt.subplots(1, 2, figsize=(11, 4.2))
    for n in threads:
        for scheme, style in (("optimistic", "-o"), ("pessimistic", "--s")):
            sel = sorted(
                (p for p in points if p.threads == n and p.scheme == scheme),
                key=lambda p: p.hot_fraction,
            )
            xs = [p.hot_fraction for p in sel]
            ax_t.plot(xs, [p.throughput for p in sel], style, label=f"{scheme}, {n} thr")
            ax_a.plot(xs, [p.abort_rate for p in sel], style, label=f"{scheme}, {n} thr")
    ax_t.set(xlabel="hot-key fraction", ylabel="committed txn/s", title="throughput")
    ax_a.set(xlabel="hot-key fraction", ylabel="aborted / attempted", title="abort rate")
    ax_t.legend(fontsize=7)
    ax_t.grid(alpha=0.3)
    ax_a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _stress(args: argparse.Namespace) -> int:
    from dskata.concurrency.experiments import acceptance

    _positive("threads", args.threads)
    _positive("ops", args.ops)
    _positive("schedules", args.schedules)
    _seed(args.seed)
    report = acceptance(args.threads, args.ops, schedules=args.schedules, seed=args.seed)
    if args.json:
        print_json(report)
        return 0 if report["ok"] else 1
    rows = []
    for name, value in report.items():
        if isinstance(value, dict):
            figures = ", ".join(f"{k}={v}" for k, v in value.items() if k != "ok")
            rows.append([name, "pass" if value["ok"] else "FAIL", figures])
    print_table(
        f"acceptance: {args.threads} threads x {args.ops} ops, switch interval 1 µs",
        ["check", "result", "figures"],
        rows,
        justify="left",
    )
    return 0 if report["ok"] else 1
