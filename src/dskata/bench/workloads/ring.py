"""Consistent hashing workloads: ring lookups (batch and single), replicas, ketama, jump, build.

Peers: uhashring (default md5 mode and ketama mode) and jump-consistent-hash (module ``jump``),
plus naive baselines: ``np.searchsorted`` over the same sorted points, a Python loop of
``bisect`` over a list of the same points (batch and single), ``bisect.insort`` and a sorted
list for building. Jump hash has no naive baseline
here: a Python loop over the paper's algorithm takes about 15 s per million keys, which would
dominate every bench run; the peer loop (the paper's C code) is the reference instead.
"""

from __future__ import annotations

import bisect
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

import dskata.ring  # noqa: F401  (makes ``dskata.ring`` resolvable as a workload subject)
from dskata.bench.core import Impl, Workload
from dskata.hashing import hash64, hash64_many
from dskata.ring.hashring import HashRing

_NODES = [f"cache-{i:03d}" for i in range(100)]
_VNODES = 160
_SMALL = [f"cache-{i:02d}" for i in range(10)]

Op = Callable[[], object]


def _uint64_keys(n: int) -> npt.NDArray[np.uint64]:
    return np.random.default_rng(0).integers(0, 2**64 - 1, size=n, dtype=np.uint64)


def _str_keys(n: int) -> list[str]:
    return [f"user:{i}" for i in range(n)]


def _peer(name: str) -> Any:
    # Imported by name: peers are optional and untyped, and only the bench extra installs them.
    return importlib.import_module(name)


def _nothing(n: int) -> int:
    return n


# ---------------------------------------------------------------- batch lookups


def _batch_ours(data: Any, subject: Any) -> Op:
    ring = subject(_NODES, vnodes=_VNODES)
    ring.node_for_many(data[:10])  # builds the prefix table outside the timing
    return lambda: ring.node_for_many(data)


def _batch_searchsorted(data: Any, subject: Any) -> Op:
    ring = HashRing(_NODES, vnodes=_VNODES)
    points, owners = ring._points, ring._owners
    size = points.shape[0]

    def op() -> object:
        pos = np.searchsorted(points, hash64_many(data))
        pos[pos == size] = 0
        return owners[pos]

    return op


def _batch_bisect(data: Any, subject: Any) -> Op:
    ring = HashRing(_NODES, vnodes=_VNODES)
    points: list[int] = ring._points.tolist()
    owners: list[int] = ring._owners.tolist()
    owners.append(owners[0])  # a hash past the last point wraps to the first
    find = bisect.bisect_left

    def op() -> object:
        return [owners[find(points, h)] for h in hash64_many(data).tolist()]

    return op


def _replicas_ours(data: Any, subject: Any) -> Op:
    ring = subject(_NODES, vnodes=_VNODES)
    ring.nodes_for_many(data[:10], 3)
    return lambda: ring.nodes_for_many(data, 3)


def _replicas_searchsorted(data: Any, subject: Any) -> Op:
    ring = HashRing(_NODES, vnodes=_VNODES)
    points, table = ring._points, ring._succ_table(3)
    size = points.shape[0]

    def op() -> object:
        pos = np.searchsorted(points, hash64_many(data))
        pos[pos == size] = 0
        return table[pos]

    return op


# ---------------------------------------------------------------- single lookups


def _single_ours(data: Any, subject: Any) -> Op:
    ring = subject(_NODES, vnodes=_VNODES)
    node_for = ring.node_for
    node_for(data[0])
    return lambda: [node_for(k) for k in data]


def _single_bisect(data: Any, subject: Any) -> Op:
    ring = HashRing(_NODES, vnodes=_VNODES)
    points = [p for p, _ in ring.points()]
    names = [n for _, n in ring.points()]
    size = len(points)

    def op() -> object:
        out = []
        for k in data:
            i = bisect.bisect_left(points, hash64(k))
            out.append(names[i if i < size else 0])
        return out

    return op


def _single_uhashring(data: Any, subject: Any) -> Op:
    uhashring = _peer("uhashring")

    ring = uhashring.HashRing(_NODES, vnodes=_VNODES)
    get = ring.get_node
    return lambda: [get(k) for k in data]


def _replicas_single_ours(data: Any, subject: Any) -> Op:
    ring = subject(_NODES, vnodes=_VNODES)
    nodes_for = ring.nodes_for
    nodes_for(data[0], 3)
    return lambda: [nodes_for(k, 3) for k in data]


def _replicas_single_uhashring(data: Any, subject: Any) -> Op:
    uhashring = _peer("uhashring")

    ring = uhashring.HashRing(_NODES, vnodes=_VNODES)
    return lambda: [[c["nodename"] for c in ring.range(k, 3)] for k in data]


def _ketama_ours(data: Any, subject: Any) -> Op:
    ring = HashRing.ketama(_NODES)
    node_for = ring.node_for
    node_for(data[0])
    return lambda: [node_for(k) for k in data]


def _ketama_uhashring(data: Any, subject: Any) -> Op:
    uhashring = _peer("uhashring")

    ring = uhashring.HashRing(_NODES, hash_fn="ketama")
    get = ring.get_node
    return lambda: [get(k) for k in data]


# ---------------------------------------------------------------- jump


def _jump_ours(data: Any, subject: Any) -> Op:
    return lambda: subject(data, 1000)


def _jump_peer_loop(data: Any, subject: Any) -> Op:
    jump = _peer("jump")

    h = jump.hash
    keys = data.tolist()
    return lambda: [h(k, 1000) for k in keys]


# ---------------------------------------------------------------- build and add


def _build_ours(data: Any, subject: Any) -> Op:
    return lambda: subject(_NODES, vnodes=_VNODES)


def _build_uhashring(data: Any, subject: Any) -> Op:
    uhashring = _peer("uhashring")

    return lambda: uhashring.HashRing(_NODES, vnodes=_VNODES)


def _build_sorted_list(data: Any, subject: Any) -> Op:
    def op() -> object:
        return sorted((hash64(f"{n}#{i}"), n) for n in _NODES for i in range(_VNODES))

    return op


def _add_ours(data: Any, subject: Any) -> Op:
    ring = subject(_NODES, vnodes=_VNODES)
    return lambda: ring.add_node("cache-new")


def _add_uhashring(data: Any, subject: Any) -> Op:
    uhashring = _peer("uhashring")

    ring = uhashring.HashRing(_NODES, vnodes=_VNODES)
    return lambda: ring.add_node("cache-new")


def _add_insort(data: Any, subject: Any) -> Op:
    points = sorted((hash64(f"{n}#{i}"), n) for n in _NODES for i in range(_VNODES))

    def op() -> object:
        for i in range(_VNODES):
            bisect.insort(points, (hash64(f"cache-new#{i}"), "cache-new"))
        return points

    return op


# ---------------------------------------------------------------- other schemes


def _rendezvous_ours(data: Any, subject: Any) -> Op:
    from dskata.ring.rendezvous import RendezvousHash

    hrw = RendezvousHash(_SMALL)
    return lambda: hrw.node_for_many(data)


def _rendezvous_numpy(data: Any, subject: Any) -> Op:
    bases = np.array([hash64(n) for n in _SMALL], dtype=np.uint64)

    def op() -> object:
        h = hash64_many(data)
        return np.argmax(hash64_many((h[:, None] ^ bases[None, :]).ravel()).reshape(-1, 10), 1)

    return op


def _maglev_ours(data: Any, subject: Any) -> Op:
    from dskata.ring.maglev import MaglevHash

    mag = MaglevHash(_NODES, table_size=65537)
    return lambda: mag.node_for_many(data)


WORKLOADS = [
    Workload(
        family="ring",
        name="node_for_many-uint64",
        description="HashRing batch lookup, 100 nodes x 160 vnodes, uint64 keys",
        items=1_000_000,
        quick_items=50_000,
        setup=_uint64_keys,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _batch_ours),
            Impl("np.searchsorted", "baseline", _batch_searchsorted),
            Impl("bisect loop", "baseline", _batch_bisect),
        ),
    ),
    Workload(
        family="ring",
        name="nodes_for_many-3-uint64",
        description="HashRing batch replica sets of 3, 100 nodes x 160 vnodes, uint64 keys",
        items=1_000_000,
        quick_items=100_000,
        setup=_uint64_keys,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _replicas_ours),
            Impl("np.searchsorted", "baseline", _replicas_searchsorted),
        ),
    ),
    Workload(
        family="ring",
        name="node_for-str",
        description="HashRing single lookups of str keys, 100 nodes x 160 vnodes",
        items=100_000,
        quick_items=5_000,
        setup=_str_keys,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _single_ours),
            Impl("uhashring", "peer", _single_uhashring, requires=("uhashring",)),
            Impl("bisect list", "baseline", _single_bisect),
        ),
    ),
    Workload(
        family="ring",
        name="nodes_for-3-str",
        description="HashRing single replica sets of 3, str keys, 100 nodes x 160 vnodes",
        items=20_000,
        quick_items=1_000,
        setup=_str_keys,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _replicas_single_ours),
            Impl("uhashring range", "peer", _replicas_single_uhashring, requires=("uhashring",)),
        ),
    ),
    Workload(
        family="ring",
        name="ketama-node_for-str",
        description="libketama placement, single lookups of str keys, 100 servers",
        items=100_000,
        quick_items=5_000,
        setup=_str_keys,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _ketama_ours),
            Impl("uhashring ketama", "peer", _ketama_uhashring, requires=("uhashring",)),
        ),
    ),
    Workload(
        family="ring",
        name="jump_hash_many-uint64",
        description="jump hash of uint64 keys into 1000 buckets",
        items=1_000_000,
        quick_items=100_000,
        setup=_uint64_keys,
        subject="ring.jump_hash_many",
        impls=(
            Impl("dskata", "dskata", _jump_ours),
            Impl("jump-consistent-hash loop", "peer", _jump_peer_loop, requires=("jump",)),
        ),
    ),
    Workload(
        family="ring",
        name="build-100x160",
        description="build a ring of 100 nodes x 160 vnodes (items = rings)",
        items=1,
        quick_items=1,
        setup=_nothing,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _build_ours),
            Impl("uhashring", "peer", _build_uhashring, requires=("uhashring",)),
            Impl("sorted list", "baseline", _build_sorted_list),
        ),
    ),
    Workload(
        family="ring",
        name="add_node-100x160",
        description="add one node to a ring of 100 nodes x 160 vnodes (items = nodes)",
        items=1,
        quick_items=1,
        setup=_nothing,
        subject="ring.HashRing",
        impls=(
            Impl("dskata", "dskata", _add_ours, fresh=True),
            Impl("uhashring", "peer", _add_uhashring, requires=("uhashring",), fresh=True),
            Impl("bisect.insort", "baseline", _add_insort, fresh=True),
        ),
    ),
    Workload(
        family="ring",
        name="rendezvous-node_for_many-uint64",
        description="RendezvousHash batch lookup over 10 nodes, uint64 keys",
        items=1_000_000,
        quick_items=50_000,
        setup=_uint64_keys,
        subject="ring.RendezvousHash",
        impls=(
            Impl("dskata", "dskata", _rendezvous_ours),
            Impl("numpy argmax (unweighted)", "baseline", _rendezvous_numpy),
        ),
    ),
    Workload(
        family="ring",
        name="maglev-node_for_many-uint64",
        description="MaglevHash batch lookup, 100 nodes, M = 65537, uint64 keys",
        items=1_000_000,
        quick_items=100_000,
        setup=_uint64_keys,
        subject="ring.MaglevHash",
        impls=(
            Impl("dskata", "dskata", _maglev_ours),
            Impl("np.searchsorted ring", "baseline", _batch_searchsorted),
        ),
    ),
]
