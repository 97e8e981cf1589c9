"""Trace-driven cache simulation: hit ratios of many policies at many sizes (a miss-ratio curve).

Theory of operation
-------------------
A trace is a sequence of keys. Each policy replays it at each size through the policy's
``_access(key)`` fast path (look up; on a miss, insert), which skips the statistics and value
handling of the public API, and Belady's optimum (:mod:`dskata.cache.belady`) gives the
ceiling. Sizes are entries, or fractions of the trace's distinct keys (``0.01``, ``"1%"``).

The generators are seeded and return ``numpy`` int64 arrays (converted to lists for replay):

* :func:`zipf_trace`: key ``i`` (of ``n_keys``) requested with probability ``∝ 1 / rank^alpha``
  (any ``alpha >= 0``, unlike ``numpy``'s Zipf sampler), ranks shuffled over key ids;
* :func:`scan_zipf_trace`: Zipf requests interleaved with sequential scans over cold keys, the
  workload that flushes LRU and that scan-resistant policies are built for;
* :func:`loop_trace`: a cyclic scan over ``loop`` keys, LRU's worst case when it exceeds the size;
* :func:`one_hit_wonder_trace`: Zipf with a share of keys requested exactly once.

Readers take a plain text file (one key per line) or a CSV column.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dskata.cache.arc import ARCCache
from dskata.cache.belady import belady_hits
from dskata.cache.fifo import FIFOCache
from dskata.cache.lfu import LFUCache
from dskata.cache.lru import LRUCache
from dskata.cache.s3fifo import S3FIFOCache
from dskata.cache.sieve import SIEVECache
from dskata.cache.wtinylfu import WTinyLFUCache

__all__ = [
    "POLICIES",
    "SimulationResult",
    "loop_trace",
    "one_hit_wonder_trace",
    "parse_sizes",
    "read_trace_csv",
    "read_trace_text",
    "scan_zipf_trace",
    "simulate",
    "zipf_trace",
]

#: Policy names accepted by :func:`simulate` and the CLI, with their factories.
POLICIES: dict[str, Callable[[int], Any]] = {
    "lru": LRUCache,
    "fifo": FIFOCache,
    "lfu": LFUCache,
    "sieve": SIEVECache,
    "arc": ARCCache,
    "s3fifo": S3FIFOCache,
    "wtinylfu": WTinyLFUCache,
}

I64Array = npt.NDArray[np.int64]


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {low}, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
    return int(value)


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _zipf_ranks(rng: np.random.Generator, n: int, n_keys: int, alpha: float) -> I64Array:
    weights = np.arange(1, n_keys + 1, dtype=np.float64) ** -alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(ranks, n_keys - 1).astype(np.int64)


def zipf_trace(n_requests: int, n_keys: int, alpha: float = 1.0, *, seed: int = 0) -> I64Array:
    """``n_requests`` keys in ``[0, n_keys)`` drawn from a Zipf(``alpha``) popularity law.

    Complexity: O(n_requests log n_keys).

    >>> t = zipf_trace(1000, 100, 1.2, seed=1)
    >>> len(t), int(t.min()) >= 0, int(t.max()) < 100
    (1000, True, True)
    """
    n = _check_int("n_requests", n_requests, 0)
    k = _check_int("n_keys", n_keys, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(k).astype(np.int64)
    return perm[_zipf_ranks(rng, n, k, float(alpha))]


def scan_zipf_trace(
    n_requests: int,
    n_keys: int,
    alpha: float = 1.0,
    *,
    scan_fraction: float = 0.3,
    scan_length: int | None = None,
    seed: int = 0,
) -> I64Array:
    """A Zipf trace polluted by sequential scans over cold keys.

    ``scan_fraction`` of the requests belong to scans of ``scan_length`` consecutive keys
    (default ``n_keys // 10``, the size of a cache of 10% of the keys) that start at random
    places in the cold half of the key space (the less popular ranks), so each scan touches keys
    Zipf rarely requests. The scans are evenly spaced among the Zipf requests (random spacing
    lets some scans merge into one, which makes the damage, and every policy's advantage over
    LRU, vary with the seed). All keys stay in ``[0, n_keys)``.

    Complexity: O(n_requests log n_keys).

    >>> t = scan_zipf_trace(10_000, 1000, 0.9, seed=1)
    >>> len(t), int(t.max()) < 1000
    (10000, True)
    """
    n = _check_int("n_requests", n_requests, 0)
    k = _check_int("n_keys", n_keys, 2)
    frac = _check_fraction("scan_fraction", scan_fraction)
    length = max(1, k // 10) if scan_length is None else _check_int("scan_length", scan_length, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(k).astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    n_scans = round(n * frac / length)
    n_scan_req = min(n, n_scans * length)
    # Place the scans at evenly spaced offsets among the Zipf requests.
    n_zipf = n - n_scan_req
    zipf = perm[_zipf_ranks(rng, n_zipf, k, float(alpha))]
    cuts = np.linspace(0, n_zipf, n_scans + 2)[1:-1].astype(np.int64)
    cold = k // 2
    pos = 0
    prev = 0
    for s in range(n_scans):
        take = int(cuts[s]) - prev
        out[pos : pos + take] = zipf[prev : cuts[s]]
        pos += take
        prev = int(cuts[s])
        ln = min(length, n - pos)
        start = int(rng.integers(0, max(1, k - cold)))
        ranks = cold + (start + np.arange(ln)) % (k - cold)
        out[pos : pos + ln] = perm[ranks]
        pos += ln
    out[pos:] = zipf[prev : prev + (n - pos)]
    return out


def loop_trace(n_requests: int, loop: int) -> I64Array:
    """Keys ``0, 1, ..., loop-1, 0, 1, ...``: LRU and FIFO miss every request once loop > size.

    >>> loop_trace(5, 2).tolist()
    [0, 1, 0, 1, 0]
    """
    n = _check_int("n_requests", n_requests, 0)
    m = _check_int("loop", loop, 1)
    return np.arange(n, dtype=np.int64) % m


def one_hit_wonder_trace(
    n_requests: int, n_keys: int, alpha: float = 1.0, *, wonder_fraction: float = 0.5, seed: int = 0
) -> I64Array:
    """Zipf requests over ``n_keys`` keys where ``wonder_fraction`` of the requests are keys that
    appear exactly once (numbered from ``n_keys`` up).

    >>> t = one_hit_wonder_trace(1000, 100, wonder_fraction=0.5, seed=1)
    >>> int((t >= 100).sum())
    500
    """
    n = _check_int("n_requests", n_requests, 0)
    frac = _check_fraction("wonder_fraction", wonder_fraction)
    n_wonders = round(n * frac)
    base = zipf_trace(n - n_wonders, n_keys, alpha, seed=seed)
    rng = np.random.default_rng(seed + 1)
    out = np.empty(n, dtype=np.int64)
    is_wonder = np.zeros(n, dtype=bool)
    is_wonder[rng.choice(n, size=n_wonders, replace=False)] = True
    out[is_wonder] = n_keys + np.arange(n_wonders, dtype=np.int64)
    out[~is_wonder] = base
    return out


def read_trace_text(path: str | Path) -> list[str]:
    """Keys from a text file, one per line (blank lines and ``#`` comments skipped).

    Complexity: O(file size).
    """
    keys = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            key = line.strip()
            if key and not key.startswith("#"):
                keys.append(key)
    return keys


def read_trace_csv(
    path: str | Path, column: int | str = 0, *, delimiter: str = ",", header: bool | None = None
) -> list[str]:
    """Keys from one column of a CSV file (by index, or by name, which implies a header row).

    ``header=None`` skips the first row only when ``column`` is a name.

    Complexity: O(file size).
    """
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        rows = iter(reader)
        index: int
        if isinstance(column, str):
            names = next(rows, [])
            if column not in names:
                raise ValueError(f"column {column!r} not in the CSV header {names!r}")
            index = names.index(column)
        else:
            index = _check_int("column", column, 0)
            if header:
                next(rows, None)
        keys = []
        for lineno, row in enumerate(rows, start=2 if isinstance(column, str) or header else 1):
            if not row:
                continue
            if index >= len(row):
                raise ValueError(f"line {lineno} of {path} has no column {index}: {row!r}")
            keys.append(row[index])
    return keys


def parse_sizes(sizes: Iterable[int | float | str] | str, n_unique: int) -> list[int]:
    """Cache sizes in entries from ints, fractions (``0.01``) or percentages (``"1%"``).

    >>> parse_sizes("1%,10%,500", 10_000)
    [100, 1000, 500]
    """
    items: Iterable[int | float | str] = sizes.split(",") if isinstance(sizes, str) else sizes
    out = []
    for item in items:
        value: int | float
        if isinstance(item, str):
            text = item.strip()
            try:
                value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
            except ValueError:
                raise ValueError(
                    f"size {item!r} is not an int, a fraction or a percentage"
                ) from None
            if not text.endswith("%") and value.is_integer() and value >= 1:
                value = int(value)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise TypeError(f"size must be an int, a float or a str, got {item!r}")
        else:
            value = item
        if isinstance(value, float):
            if not 0 < value <= 1:
                raise ValueError(f"a fractional size must be in (0, 1], got {item!r}")
            value = max(1, round(value * n_unique))
        if value < 1:
            raise ValueError(f"sizes must be >= 1 entry, got {item!r}")
        if int(value) in out:
            raise ValueError(f"sizes must be distinct: {item!r} repeats a size of {value} entries")
        out.append(int(value))
    if not out:
        raise ValueError("give at least one size")
    return out


@dataclass
class SimulationResult:
    """Hit ratios per policy and size.

    Attributes:
        sizes: cache sizes, in entries.
        requests: trace length.
        unique_keys: distinct keys in the trace.
        hits: policy name -> hits at each size.
    """

    sizes: list[int]
    requests: int
    unique_keys: int
    hits: dict[str, list[int]] = field(default_factory=dict)

    @property
    def hit_ratios(self) -> dict[str, list[float]]:
        """Policy name -> hit ratio at each size."""
        n = max(1, self.requests)
        return {name: [h / n for h in hs] for name, hs in self.hits.items()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "requests": self.requests,
            "unique_keys": self.unique_keys,
            "sizes": self.sizes,
            "hits": self.hits,
            "hit_ratios": self.hit_ratios,
        }


def simulate(
    trace: Sequence[Hashable] | npt.NDArray[Any],
    policies: Iterable[str | tuple[str, Callable[[int], Any]]] = ("lru", "s3fifo", "wtinylfu"),
    sizes: Iterable[int | float | str] | str = ("1%", "10%"),
    *,
    belady: bool = True,
) -> SimulationResult:
    """Replay ``trace`` through each policy at each size; return the hits (a miss-ratio curve).

    Args:
        trace: the keys (a sequence or a numpy array).
        policies: names from :data:`POLICIES`, or ``(name, factory)`` pairs where
            ``factory(size)`` returns a dskata cache.
        sizes: entries, fractions of the distinct keys, or ``"1%"``-style strings.
        belady: also compute Belady's optimum (as policy ``"belady"``).

    Complexity: O(len(trace)) per policy and size (O(n log size) for Belady).

    >>> r = simulate([1, 2, 1, 3, 1, 2], ["lru", "fifo"], [2])
    >>> r.hits
    {'lru': [2], 'fifo': [1], 'belady': [3]}
    """
    if isinstance(policies, str):
        raise TypeError(f"policies must be a list of names, not a single str: [{policies!r}]")
    keys: list[Hashable] = trace.tolist() if isinstance(trace, np.ndarray) else list(trace)
    if not keys:
        raise ValueError("the trace is empty: there is nothing to simulate")
    factories: list[tuple[str, Callable[[int], Any]]] = []
    for p in policies:
        if isinstance(p, str):
            if p not in POLICIES:
                raise ValueError(f"unknown policy {p!r}; known: {', '.join(POLICIES)}")
            factories.append((p, POLICIES[p]))
        elif isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and callable(p[1]):
            factories.append(p)
        else:
            raise TypeError(f"a policy is a name or a (name, factory) pair, got {p!r}")
    unique = len(set(keys))
    size_list = parse_sizes(sizes, max(1, unique))
    result = SimulationResult(sizes=size_list, requests=len(keys), unique_keys=unique)
    for name, factory in factories:
        row = []
        for size in size_list:
            cache = factory(size)
            access = cache._access
            row.append(sum(map(access, keys)))
        result.hits[name] = row
    if belady:
        result.hits["belady"] = [belady_hits(keys, size) for size in size_list]
    return result
