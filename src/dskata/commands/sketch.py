"""``dskata cms accuracy`` (count-min error on a Zipf stream) and ``dskata topk`` (heavy hitters
of a file or stdin, one key per line)."""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Iterator
from typing import IO, Any

from rich.markup import escape

from dskata.commands._output import console, print_json, print_table, require_matplotlib
from dskata.hashing import validate_seed

__all__ = ["register"]

_BATCH = 200_000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cms`` and ``topk`` commands."""
    cms = sub.add_parser(
        "cms",
        help="count-min sketch experiments",
        description="Count-min sketch experiments (Cormode and Muthukrishnan 2005).",
    )
    cms_sub = cms.add_subparsers(dest="cms_command", metavar="SUBCOMMAND")
    acc = cms_sub.add_parser(
        "accuracy",
        help="observed error on a Zipf stream against eps*N, plain vs conservative",
        description=(
            "Run a seeded Zipf stream through plain and conservative count-min sketches sized "
            "from (epsilon, delta), and print the error of every distinct key against the "
            "bound eps*N: how many keys exceed it, the mean and the maximum."
        ),
    )
    acc.add_argument("--epsilon", type=float, default=0.001, help="error as a fraction of N")
    acc.add_argument("--delta", type=float, default=0.01, help="failure probability per key")
    acc.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent of the stream")
    acc.add_argument("--items", type=int, default=1_000_000, help="stream length N")
    acc.add_argument("--keys", type=int, default=100_000, help="distinct keys in the law")
    acc.add_argument("--seed", type=int, default=0, help="stream and hash seed, in [0, 2**32)")
    acc.add_argument("--json", action="store_true", help="print the results as JSON")
    acc.add_argument("--plot", metavar="FILE", help="write the error CDF to FILE (png, svg, pdf)")
    acc.set_defaults(func=_run_accuracy)
    cms.set_defaults(func=lambda args: _no_subcommand(cms))

    tk = sub.add_parser(
        "topk",
        help="heavy hitters of a file of keys (one per line), with guaranteed bounds",
        description=(
            "Count the keys of FILE (or stdin with '-' or no FILE), one key per line, with "
            "SpaceSaving in K counters, and print the most frequent with bounds: the true count "
            "lies in [lower, upper]."
        ),
    )
    tk.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="input (default stdin)")
    tk.add_argument("-k", "--counters", type=int, default=1024, help="counters (default 1024)")
    tk.add_argument("-n", "--top", type=int, default=20, help="keys to print (default 20)")
    tk.add_argument("--json", action="store_true", help="print the heavy hitters as JSON")
    tk.set_defaults(func=_run_topk)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _run_accuracy(args: argparse.Namespace) -> int:
    from dskata.sketch.experiments import cms_accuracy

    for name in ("items", "keys"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    for name in ("epsilon", "delta"):
        value = getattr(args, name)
        if not 0.0 < value < 1.0:
            raise ValueError(f"--{name} must be in the open interval (0, 1), got {value}")
    if not (math.isfinite(args.zipf) and args.zipf >= 0):
        raise ValueError(f"--zipf must be a finite number >= 0, got {args.zipf}")
    validate_seed(args.seed, "--seed")
    results = cms_accuracy(
        epsilon=args.epsilon,
        delta=args.delta,
        zipf=args.zipf,
        items=args.items,
        keys=args.keys,
        seed=args.seed,
    )
    plain, cons = results
    # Both rules are exact when the plain sketch is (conservative never errs more): no ratio.
    ratio = cons.mean_error / plain.mean_error if plain.mean_error else None
    if args.json:
        print_json(
            {
                "epsilon": args.epsilon,
                "delta": args.delta,
                "zipf": args.zipf,
                "items": args.items,
                "keys": args.keys,
                "seed": args.seed,
                "results": [r.as_dict() for r in results],
                "conservative_over_plain_mean_error": ratio,
            }
        )
    else:
        bound = plain.bound
        rows = [
            (
                r.rule,
                f"{r.width} x {r.depth}",
                f"{r.over_bound} of {r.distinct:,}",
                f"{r.mean_error:.2f}",
                f"{r.mean_error / bound:.3f}",
                f"{r.max_error}",
                f"{r.max_error / bound:.3f}",
            )
            for r in results
        ]
        print_table(
            f"count-min error on Zipf({args.zipf}), N = {args.items:,}, eps*N = {bound:g}",
            ["rule", "size", "over eps*N", "mean", "mean/eps*N", "max", "max/eps*N"],
            rows,
        )
        versus = "n/a (both exact)" if ratio is None else f"{ratio:.3f} x plain"
        console().print(
            f"conservative mean error = {versus}; theory allows a fraction "
            f"<= {args.delta} of keys over eps*N"
        )
    if args.plot:
        _plot_cdf(results, args.plot)
        # Plain print: rich would wrap a long path or read brackets in it as markup.
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0


def _plot_cdf(results: list[Any], path: str) -> None:
    import numpy as np

    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        err = np.sort(np.asarray(r.errors, dtype=np.float64))
        if err.size == 0:
            continue
        frac = np.arange(1, err.size + 1) / err.size
        ax.step(err / r.bound, frac, where="post", label=f"{r.rule} (mean {r.mean_error:.1f})")
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label="eps*N")
    ax.set_xlabel("error / (eps*N)")
    ax.set_ylabel("fraction of keys")
    first = results[0]
    ax.set_title(f"count-min error CDF, N = {first.items:,}, {first.width} x {first.depth}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _batches(stream: IO[str], name: str) -> Iterator[list[str]]:
    from dskata.cli import CommandError

    batch: list[str] = []
    for line in stream:
        key = line.rstrip("\r\n")
        if "\x00" in key:
            raise CommandError(
                f"FILE {name!r} looks binary (it contains NUL bytes); topk reads text, one key "
                "per line"
            )
        if key:
            batch.append(key)
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _run_topk(args: argparse.Namespace) -> int:
    from dskata.cli import CommandError
    from dskata.sketch import TopK

    if args.counters < 1:
        raise ValueError(f"-k/--counters must be >= 1, got {args.counters}")
    if args.top < 1:
        raise ValueError(f"-n/--top must be >= 1, got {args.top}")
    tk = TopK(args.counters)
    name = "stdin" if args.file == "-" else args.file
    if args.file == "-":
        raw = getattr(sys.stdin, "buffer", None)
        # Logs are not always valid UTF-8: replace bad bytes rather than stop on them.
        stream = sys.stdin if raw is None else io.TextIOWrapper(raw, "utf-8", errors="replace")
        for batch in _batches(stream, name):
            tk.add_many(batch)
    else:
        try:
            with open(args.file, encoding="utf-8", errors="replace") as fh:
                for batch in _batches(fh, name):
                    tk.add_many(batch)
        except IsADirectoryError:
            raise CommandError(
                f"FILE {name!r} is a directory; give a file of keys or '-'"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CommandError(f"cannot read FILE {name!r}: {reason}") from None
    top = tk.top(args.top + 1)
    shown, following = top[: args.top], top[args.top :]
    # The printed set is exactly the true top n when its smallest lower bound is above every other
    # key's upper bound (monitored or not); on a tie the cut is ambiguous.
    rival = max([h.upper for h in following] + [tk.min_count])
    exact = bool(shown) and len(shown) == args.top and shown[-1].lower > rival
    total = tk.total
    if args.json:
        print_json(
            {
                "total": total,
                "counters": tk.k,
                "min_count": tk.min_count,
                "top_set_guaranteed": exact,
                "heavy_hitters": [
                    {"key": h.key, "upper": h.upper, "lower": h.lower, "error": h.error}
                    for h in shown
                ],
            }
        )
        return 0
    rows = [
        (
            i + 1,
            escape(str(h.key)),
            f"{h.upper:,}",
            f"{h.lower:,}",
            f"{h.error:,}",
            f"{h.upper / total:.2%}" if total else "-",
        )
        for i, h in enumerate(shown)
    ]
    print_table(
        f"top {len(shown)} of {total:,} keys (SpaceSaving, {tk.k} counters)",
        ["rank", "key", "upper", "lower", "error", "share"],
        rows,
    )
    console().print(
        f"any other key occurred at most {tk.min_count:,} times; "
        + ("this top set is guaranteed exact" if exact else "the order near the cut is not certain")
    )
    return 0
