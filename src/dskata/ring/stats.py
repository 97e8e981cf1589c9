"""Balance and movement of every consistent hashing scheme, measured on the same keys.

:func:`scheme_stats` is what ``dskata ring stats`` prints: for ``n`` nodes and ``k`` keys, the
max/mean and min/mean load, the coefficient of variation of the loads, and the fraction of keys
that change owner when a node joins (``node-n``) or leaves (``node-0``; for jump hashing, which
can only shrink from the end, the last bucket), next to the ideal fraction for that event: the
keys the newcomer ends up owning, or the keys the leaver owned. Anything above is extra
movement (Maglev's disruption, the bounded-load cascade).
:func:`balance_curve` measures max/mean share against the number of virtual nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dskata.hashing import hash64_many
from dskata.ring._common import check_count
from dskata.ring.bounded import BoundedLoadAssigner
from dskata.ring.hashring import HashRing
from dskata.ring.jump import jump_hash_many
from dskata.ring.maglev import MaglevHash, _is_prime
from dskata.ring.multiprobe import MultiProbeHash
from dskata.ring.rendezvous import RendezvousHash

__all__ = ["SCHEMES", "SchemeStats", "balance_curve", "maglev_table_size", "scheme_stats"]

#: Every scheme :func:`scheme_stats` knows, in display order.
SCHEMES: Final = ("ring", "ketama", "jump", "rendezvous", "maglev", "multiprobe", "bounded")

Loads = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SchemeStats:
    """Balance and movement of one scheme (see the module docstring)."""

    scheme: str
    nodes: int
    keys: int
    max_over_mean: float
    min_over_mean: float
    cv: float
    moved_on_join: float
    ideal_on_join: float
    moved_on_leave: float
    ideal_on_leave: float
    loads: list[int]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def maglev_table_size(nodes: int) -> int:
    """The smallest prime >= max(65537, 100 * nodes): the paper's advice of M > 100 n.


    Complexity: O(sqrt(M)) per candidate.

    >>> maglev_table_size(10), maglev_table_size(1000)
    (65537, 100003)
    """
    m = max(65537, 100 * nodes)
    while not _is_prime(m):
        m += 1
    return m


def _loads(owner_idx: npt.NDArray[np.signedinteger[Any]], n: int) -> Loads:
    return np.bincount(owner_idx, minlength=n).astype(np.int64)


def _names_of(
    idx: npt.NDArray[np.signedinteger[Any]], nodes: Sequence[object]
) -> npt.NDArray[np.object_]:
    names: npt.NDArray[np.object_] = np.array(list(nodes), dtype=object)
    return np.take(names, idx)


def _moved(before: npt.NDArray[np.object_], after: npt.NDArray[np.object_]) -> float:
    return float(np.mean(before != after)) if before.size else 0.0


def _lookup_scheme(
    scheme: str, n: int, vnodes: int, seed: int, table_size: int | None = None
) -> tuple[Callable[[list[str]], Any], Any]:
    names = [f"node-{i}" for i in range(n)]
    if scheme == "ring":
        return (lambda ns: HashRing(ns, vnodes=vnodes, seed=seed)), names
    if scheme == "ketama":
        return (lambda ns: HashRing.ketama(ns)), names
    if scheme == "rendezvous":
        return (lambda ns: RendezvousHash(ns, seed=seed)), names
    if scheme == "maglev":
        size = maglev_table_size(n + 1) if table_size is None else table_size
        return (lambda ns: MaglevHash(ns, table_size=size, seed=seed)), names
    if scheme == "multiprobe":
        return (lambda ns: MultiProbeHash(ns, seed=seed)), names
    raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")


def scheme_stats(
    scheme: str,
    *,
    nodes: int = 10,
    keys: int = 100_000,
    vnodes: int = 160,
    seed: int = 0,
    epsilon: float = 0.25,
    table_size: int | None = None,
) -> SchemeStats:
    """Measure one scheme on keys ``0..keys-1`` over ``nodes`` nodes named ``node-i``.

    Ketama hashes the keys as the strings ``key:i`` (libketama hashes strings); every other
    scheme takes the integers. Maglev's table size defaults to :func:`maglev_table_size`.

    Complexity: O(keys) batch lookups (bounded loads: O(keys) Python-level assignments).

    >>> s = scheme_stats("jump", nodes=4, keys=20_000)
    >>> round(s.ideal_on_join, 2), abs(s.moved_on_join - s.ideal_on_join) < 0.02
    (0.2, True)
    """
    n = check_count(nodes, "nodes", 2, 100_000)
    k = check_count(keys, "keys", 1, 100_000_000)
    check_count(vnodes, "vnodes", 1, 1 << 20)
    int_keys = np.arange(k, dtype=np.uint64)
    names = [f"node-{i}" for i in range(n)]
    if scheme == "jump":
        hashed = hash64_many(int_keys, seed)
        base_idx = jump_hash_many(hashed, n)
        base = _names_of(base_idx, names)
        joined = _names_of(jump_hash_many(hashed, n + 1), [*names, f"node-{n}"])
        left = _names_of(jump_hash_many(hashed, n - 1), names[:-1])
        leaver = names[-1]
        loads = _loads(base_idx, n)
    elif scheme == "bounded":
        b = BoundedLoadAssigner(names, epsilon=epsilon, vnodes=vnodes, seed=seed)
        key_list = int_keys.tolist()
        for key in key_list:
            b.assign(key)
        loads = np.array([b.loads()[x] for x in names], dtype=np.int64)
        leaving = b.copy()
        joined_moves = len(b.add_node(f"node-{n}"))
        leaver = names[0]
        left_moves = len(leaving.remove_node(leaver))
        return _finish(
            scheme,
            n,
            k,
            loads,
            joined_moves / k,
            b.loads()[f"node-{n}"] / k,
            left_moves / k,
            float(loads[0]) / k,
        )
    else:
        build, _ = _lookup_scheme(scheme, n, vnodes, seed, table_size)
        key_arg: Any = [f"key:{i}" for i in range(k)] if scheme == "ketama" else int_keys
        s = build(names)
        base_idx = s.node_for_many(key_arg)
        base = _names_of(base_idx, names)
        loads = _loads(base_idx, n)
        s_join = build([*names, f"node-{n}"])
        joined = _names_of(s_join.node_for_many(key_arg), s_join.nodes)
        leaver = names[0]
        s_left = build(names[1:])
        left = _names_of(s_left.node_for_many(key_arg), s_left.nodes)
    # Ideal movement: only the keys the newcomer ends up with, or only the leaver's keys.
    ideal_join = float(np.mean(joined == f"node-{n}"))
    ideal_leave = float(np.mean(base == leaver))
    return _finish(
        scheme, n, k, loads, _moved(base, joined), ideal_join, _moved(base, left), ideal_leave
    )


def _finish(
    scheme: str,
    n: int,
    k: int,
    loads: Loads,
    moved_join: float,
    ideal_join: float,
    moved_leave: float,
    ideal_leave: float,
) -> SchemeStats:
    mean = k / n
    return SchemeStats(
        scheme=scheme,
        nodes=n,
        keys=k,
        max_over_mean=float(loads.max() / mean),
        min_over_mean=float(loads.min() / mean),
        cv=float(loads.std() / mean),
        moved_on_join=float(moved_join),
        ideal_on_join=float(ideal_join),
        moved_on_leave=float(moved_leave),
        ideal_on_leave=float(ideal_leave),
        loads=[int(x) for x in loads.tolist()],
    )


def _ideal_peak(n: int, v: int, seed: int) -> float:
    """Max/mean share when ``n * v`` points are independent and uniform (numpy's generator)."""
    rng = np.random.default_rng([seed, n, v])
    points = rng.integers(0, 2**64 - 1, size=n * v, dtype=np.uint64, endpoint=True)
    owners = np.repeat(np.arange(n, dtype=np.intp), v)
    order = np.argsort(points)
    ranked = points[order].astype(np.float64) / 2.0**64
    arcs = np.diff(ranked, prepend=ranked[-1] - 1.0)  # point i owns (point i-1, point i]
    return float(np.bincount(owners[order], weights=arcs, minlength=n).max() * n)


def balance_curve(
    nodes: Sequence[int], vnodes: Sequence[int], *, seeds: int = 5
) -> list[dict[str, float]]:
    """Max/mean share of a :class:`HashRing` for each (nodes, vnodes), over ``seeds`` seeds.

    Shares are exact arc lengths (:meth:`HashRing.shares`), so no keys are needed. Each row
    also gives the same statistics for *ideal* placement (``n * v`` independent uniform points
    from numpy's generator, one draw per seed): the benchmark for whether dskata's point
    placement (hashed from node names) is as random as it should be.

    Complexity: O(len(nodes) * len(vnodes) * seeds * P log P).

    >>> rows = balance_curve([10], [10, 1000], seeds=3)
    >>> rows[0]["median_max_over_mean"] > rows[1]["median_max_over_mean"]
    True
    >>> sorted(k for k in rows[0] if k.startswith("ideal"))
    ['ideal_mean_max_over_mean', 'ideal_median_max_over_mean']
    """
    check_count(seeds, "seeds", 1, 1000)
    rows = []
    for n in nodes:
        names = [f"node-{i}" for i in range(check_count(n, "nodes", 1, 100_000))]
        for v in vnodes:
            peaks = [
                max(HashRing(names, vnodes=v, seed=s).shares().values()) * n for s in range(seeds)
            ]
            ideal = [_ideal_peak(n, v, s) for s in range(seeds)]
            rows.append(
                {
                    "nodes": float(n),
                    "vnodes": float(v),
                    "median_max_over_mean": float(np.median(peaks)),
                    "mean_max_over_mean": float(np.mean(peaks)),
                    "worst_max_over_mean": float(max(peaks)),
                    "ideal_median_max_over_mean": float(np.median(ideal)),
                    "ideal_mean_max_over_mean": float(np.mean(ideal)),
                    "theory": 1.0 + float(np.sqrt(2 * np.log(n) / v)) if n > 1 else 1.0,
                }
            )
    return rows
