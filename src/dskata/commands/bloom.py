"""``dskata bloom``: measure Bloom filters against their theory.

* ``dskata bloom fpr --capacity 10000 200000 --error-rate 0.01``: fill a filter to capacity with
  each key pattern (sequential ints, strided ints, ``key-N`` strings, random bytes), probe it with
  absent keys and print the measured false-positive rate beside the theory; ``--plot FILE`` draws
  the rate against fill beside the theoretical curve.
* ``dskata bloom scalable --factor 100``: grow a :class:`ScalableBloomFilter` far past its
  initial capacity and compare its rate and memory with a filter sized in advance.

Benchmarks of the family are ``dskata bench bloom`` (rounds interleaved across implementations).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dskata.bloom import BloomFilter, ScalableBloomFilter
from dskata.bloom._core import theory_fpr
from dskata.commands._output import console, print_json, print_table, require_matplotlib
from dskata.hashing import validate_seed

__all__ = ["PATTERNS", "measure_fpr", "register"]

_STRIDE_SHIFT = 20


def _sequential(start: int, count: int, seed: int) -> Any:
    return np.arange(start, start + count, dtype=np.uint64)


def _strided(start: int, count: int, seed: int) -> Any:
    # Keys that differ only above bit 20: a hash that ignores high bits collapses them.
    return np.arange(start, start + count, dtype=np.uint64) << np.uint64(_STRIDE_SHIFT)


def _key_n(start: int, count: int, seed: int) -> Any:
    return [f"key-{i}" for i in range(start, start + count)]


def _random_bytes(start: int, count: int, seed: int) -> Any:
    # 16 random bytes per key; block `start` of a stream seeded by (seed, start) so inserted
    # and probed keys come from disjoint draws (a collision has probability ~2**-100).
    rng = np.random.default_rng([seed, start])
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    return [bytes(row) for row in raw]


#: Key patterns: name -> keys(start, count, seed); keys in [start, start + count).
PATTERNS: dict[str, Callable[[int, int, int], Any]] = {
    "sequential": _sequential,
    "strided": _strided,
    "key-N": _key_n,
    "random-bytes": _random_bytes,
}


def measure_fpr(
    capacity: int, error_rate: float, pattern: str, probes: int, seed: int = 0
) -> dict[str, Any]:
    """Fill a filter to ``capacity`` with ``pattern`` keys and probe ``probes`` absent keys.

    Returns the measured rate, the theory for the filter's (m, k) at capacity, the target and
    the ``approx_len`` estimate.

    >>> r = measure_fpr(1000, 0.01, "sequential", 20_000)
    >>> 0.005 < r["measured"] < 0.02
    True
    """
    make = PATTERNS[pattern]
    bf = BloomFilter(capacity, error_rate, seed=seed)
    bf.add_many(make(0, capacity, seed))
    hits = int(np.count_nonzero(bf.contains_many(make(capacity, probes, seed))))
    measured = hits / probes
    return {
        "capacity": capacity,
        "error_rate": error_rate,
        "pattern": pattern,
        "probes": probes,
        "bit_size": bf.bit_size,
        "num_hashes": bf.num_hashes,
        "measured": measured,
        "theory": theory_fpr(bf.bit_size, bf.num_hashes, capacity),
        "relative_error": measured / error_rate - 1.0,
        "approx_len": bf.approx_len(),
    }


def _fpr_curve(
    capacity: int, error_rate: float, pattern: str, probes: int, seed: int, points: int
) -> tuple[list[float], list[float]]:
    make = PATTERNS[pattern]
    bf = BloomFilter(capacity, error_rate, seed=seed)
    limit = 2 * capacity
    keys_probe = make(limit, probes, seed)
    xs, ys = [], []
    done = 0
    for j in range(1, points + 1):
        upto = limit * j // points
        bf.add_many(make(done, upto - done, seed))
        done = upto
        xs.append(upto / capacity)
        ys.append(float(np.count_nonzero(bf.contains_many(keys_probe))) / probes)
    return xs, ys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bloom`` command family."""
    p = sub.add_parser(
        "bloom",
        help="Bloom filter experiments (false-positive rates, growth)",
        description="Measure Bloom filters against their theory: false-positive rate at capacity "
        "and the growth of a scalable filter.",
    )
    bsub = p.add_subparsers(dest="bloom_command", metavar="EXPERIMENT")

    fpr = bsub.add_parser(
        "fpr",
        help="measured false-positive rate at capacity vs theory, per key pattern",
        description="Fill a BloomFilter to capacity with each key pattern, probe absent keys and "
        "compare the measured false-positive rate with the target and the theory.",
    )
    fpr.add_argument(
        "--capacity",
        type=int,
        nargs="+",
        default=[10_000, 200_000],
        metavar="N",
        help="filter capacities to test, keys inserted before probing (default 10000 200000; "
        "the plot uses the first)",
    )
    fpr.add_argument(
        "--error-rate",
        type=float,
        default=0.01,
        metavar="P",
        help="target false-positive rate, in (0, 1) (default 0.01)",
    )
    fpr.add_argument(
        "--probes", type=int, default=1_000_000, help="absent keys probed, >= 1000 (default 1e6)"
    )
    fpr.add_argument(
        "--patterns",
        nargs="+",
        choices=sorted(PATTERNS),
        default=list(PATTERNS),
        help="key patterns",
    )
    fpr.add_argument(
        "--seed", type=int, default=0, help="hash seed and random-bytes seed, in [0, 2**32)"
    )
    fpr.add_argument("--plot", metavar="FILE", help="plot rate vs fill beside theory to FILE")
    fpr.add_argument(
        "--points", type=int, default=12, help="fill levels on the plot, >= 1 (default 12)"
    )
    fpr.add_argument("--json", action="store_true", help="print results as JSON")
    fpr.set_defaults(func=_run_fpr)

    sc = bsub.add_parser(
        "scalable",
        help="grow a ScalableBloomFilter and compare rate and memory with a sized filter",
        description="Grow a ScalableBloomFilter to FACTOR times its initial capacity, probe absent "
        "keys and compare its false-positive rate and memory with a filter sized in advance.",
    )
    sc.add_argument(
        "--initial-capacity",
        type=int,
        default=10_000,
        metavar="N",
        help="capacity of the first filter, >= 1 (default 10000)",
    )
    sc.add_argument(
        "--error-rate",
        type=float,
        default=0.01,
        metavar="P",
        help="target false-positive rate of the whole filter, in (0, 1) (default 0.01)",
    )
    sc.add_argument(
        "--growth",
        type=int,
        default=2,
        choices=(2, 4),
        help="capacity multiplier of each new filter (default 2)",
    )
    sc.add_argument(
        "--ratio",
        type=float,
        default=0.9,
        help="error-rate tightening of each new filter, in (0, 1) (default 0.9)",
    )
    sc.add_argument(
        "--factor",
        type=int,
        default=100,
        help="insert this many times the initial capacity, >= 1 (default 100)",
    )
    sc.add_argument(
        "--probes", type=int, default=1_000_000, help="absent keys probed, >= 1000 (default 1e6)"
    )
    sc.add_argument("--json", action="store_true", help="print the result as JSON")
    sc.set_defaults(func=_run_scalable)

    def _usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_usage)


def _check_args(args: argparse.Namespace) -> None:
    """Reject bad option values with one message naming the option as typed."""
    from dskata.cli import CommandError

    if args.probes < 1000:
        raise CommandError(f"--probes must be an int >= 1000, got {args.probes}")
    if not 0.0 < args.error_rate < 1.0:
        raise CommandError(
            f"--error-rate must be in the open interval (0, 1), got {args.error_rate}"
        )
    for c in getattr(args, "capacity", []) or []:
        if c < 1:
            raise CommandError(f"--capacity must be an int >= 1, got {c}")
    if getattr(args, "points", 1) < 1:
        raise CommandError(f"--points must be an int >= 1, got {args.points}")
    if hasattr(args, "seed"):
        try:
            validate_seed(args.seed, "--seed")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if getattr(args, "initial_capacity", 1) < 1:
        raise CommandError(f"--initial-capacity must be an int >= 1, got {args.initial_capacity}")
    if getattr(args, "factor", 1) < 1:
        raise CommandError(f"--factor must be an int >= 1, got {args.factor}")
    ratio = getattr(args, "ratio", 0.5)
    if not 0.0 < ratio < 1.0:
        raise CommandError(f"--ratio must be in the open interval (0, 1), got {ratio}")


def _wrote(path: str, *, json_mode: bool) -> None:
    """Report a written plot; on stderr when stdout carries JSON."""
    print(f"wrote {path}", file=sys.stderr if json_mode else sys.stdout, flush=True)


def _out_of_memory(args: argparse.Namespace) -> Exception:
    """One-line error for sizes that cannot be allocated, naming the options that set them."""
    from dskata.cli import CommandError

    if hasattr(args, "factor"):
        return CommandError(
            f"--initial-capacity {args.initial_capacity} x --factor {args.factor} with --probes "
            f"{args.probes} needs more memory than is available; choose smaller values"
        )
    return CommandError(
        f"--capacity {' '.join(map(str, args.capacity))} with --probes {args.probes} needs more "
        "memory than is available; choose smaller values"
    )


def _run_fpr(args: argparse.Namespace) -> int:
    _check_args(args)
    try:
        return _fpr(args)
    except MemoryError:
        raise _out_of_memory(args) from None


def _fpr(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for capacity in args.capacity:
        for pattern in args.patterns:
            rows.append(measure_fpr(capacity, args.error_rate, pattern, args.probes, args.seed))
    elapsed = time.perf_counter() - started
    if args.plot:
        _plot(args)
    if args.json:
        print_json({"results": rows, "seconds": elapsed})
        if args.plot:
            _wrote(args.plot, json_mode=True)
        return 0
    print_table(
        f"False-positive rate at capacity (target {args.error_rate:g}, "
        f"{args.probes:,} absent probes each)",
        ["pattern", "capacity", "m", "k", "measured", "theory", "vs target", "approx_len"],
        [
            (
                r["pattern"],
                f"{r['capacity']:,}",
                f"{r['bit_size']:,}",
                r["num_hashes"],
                f"{r['measured']:.5f}",
                f"{r['theory']:.5f}",
                f"{100 * r['relative_error']:+.1f}%",
                f"{r['approx_len'] / r['capacity'] - 1:+.2%}",
            )
            for r in rows
        ],
    )
    console().print(f"{elapsed:.1f} s")
    if args.plot:
        _wrote(args.plot, json_mode=False)
    return 0


def _plot(args: argparse.Namespace) -> None:
    plt = require_matplotlib()
    capacity = args.capacity[0]
    probes = min(args.probes, 200_000)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bf = BloomFilter(capacity, args.error_rate, seed=args.seed)
    fill = np.linspace(0.2, 2.0, 200)
    theory = [theory_fpr(bf.bit_size, bf.num_hashes, f * capacity) for f in fill]
    ax.plot(fill, theory, color="black", lw=1.5, label="theory (1 - e^(-kn/m))^k")
    for pattern in args.patterns:
        xs, ys = _fpr_curve(capacity, args.error_rate, pattern, probes, args.seed, args.points)
        ax.plot(xs, ys, marker="o", ms=3, lw=0, label=pattern)
    ax.axhline(args.error_rate, color="grey", ls="--", lw=1, label="target")
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("keys inserted / capacity")
    ax.set_ylabel("false-positive rate")
    ax.set_title(
        f"BloomFilter(capacity={capacity:,}, error_rate={args.error_rate:g}): "
        f"m={bf.bit_size:,}, k={bf.num_hashes}"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)


def _run_scalable(args: argparse.Namespace) -> int:
    _check_args(args)
    try:
        return _scalable(args)
    except MemoryError:
        raise _out_of_memory(args) from None


def _scalable(args: argparse.Namespace) -> int:
    n0 = args.initial_capacity
    sbf = ScalableBloomFilter(
        n0, args.error_rate, growth=args.growth, ratio=args.ratio, seed=0
    )  # validates every parameter with the library's messages
    total = n0 * args.factor
    sbf.add_many(np.arange(total, dtype=np.uint64))
    probes = np.arange(total, total + args.probes, dtype=np.uint64)
    measured = float(np.count_nonzero(sbf.contains_many(probes))) / args.probes
    sized = BloomFilter(total, args.error_rate)
    result = {
        "initial_capacity": n0,
        "items": total,
        "filters": sbf.num_filters,
        "measured": measured,
        "target": args.error_rate,
        "theory_now": sbf.expected_error_rate(),
        "nbytes": sbf.nbytes,
        "sized_nbytes": sized.nbytes,
        "memory_ratio": sbf.nbytes / sized.nbytes,
        "no_false_negatives": bool(sbf.contains_many(np.arange(total, dtype=np.uint64)).all()),
    }
    if args.json:
        print_json(result)
        return 0
    print_table(
        f"ScalableBloomFilter grown {args.factor}x (growth {args.growth}, ratio {args.ratio})",
        ["quantity", "value"],
        [
            ("items / filters", f"{total:,} / {sbf.num_filters}"),
            ("measured false-positive rate", f"{measured:.5f} (target {args.error_rate:g})"),
            ("theory for the current fill", f"{result['theory_now']:.5f}"),
            ("memory", f"{sbf.nbytes:,} B = {result['memory_ratio']:.3f}x a sized filter"),
            ("no false negatives", str(result["no_false_negatives"])),
        ],
    )
    return 0
