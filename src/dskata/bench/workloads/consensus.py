"""Consensus workloads: the simulator's speed, Figure 16, and fault-schedule fuzzing.

* ``steady-raft-5``: a 5-node Raft cluster for N simulated ms (items are simulated ms). dskata's
  :class:`~dskata.consensus.sim.Cluster` beside the same :class:`RaftNode` driven by SimPy (a
  widely used discrete-event engine; the peer) and by a naive sorted-list event queue
  (``bisect.insort`` + ``pop(0)``; the baseline). All three run the same nodes on the same
  network model, so the ratio is the event engine's.
* ``figure16``: the whole Figure 16 run (10 ranges; items are trials). Target: under 60 s.
* ``fuzz-*``: random fault schedules with the complete history checked (items are schedules);
  10,000 per configuration at full size. The operation raises if any invariant is violated.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

from dskata.bench.core import Impl, Workload
from dskata.consensus import sim as _sim
from dskata.consensus.experiments import FIGURE16_RANGES, figure16, fuzz
from dskata.consensus.raft import RaftNode

__all__ = ["WORKLOADS"]

_TIMEOUT = (150.0, 300.0)
_DELAY = (1.0, 5.0)


def _ms(n: int) -> int:
    return n


def _ours_steady(ms: int, subject: Any) -> Callable[[], object]:
    def op() -> object:
        c = subject(5, seed=1, election_timeout=_TIMEOUT, delay=_DELAY, record_messages=False)
        c.run_for(float(ms))
        return c

    return op


class _SortedListHeap:
    """The naive event queue: a list kept sorted by ``bisect.insort``, popped from the front."""

    @staticmethod
    def heappush(q: list[Any], item: Any) -> None:
        bisect.insort(q, item)

    @staticmethod
    def heappop(q: list[Any]) -> Any:
        return q.pop(0)


@contextlib.contextmanager
def _naive_queue() -> Iterator[None]:
    # The simulator looks its queue functions up in the module's ``heapq`` name at run time.
    namespace = vars(_sim)
    saved = namespace["heapq"]
    namespace["heapq"] = _SortedListHeap
    try:
        yield
    finally:
        namespace["heapq"] = saved


def _naive_steady(ms: int, subject: Any) -> Callable[[], object]:
    def op() -> object:
        with _naive_queue():
            c = _sim.Cluster(
                5, seed=1, election_timeout=_TIMEOUT, delay=_DELAY, record_messages=False
            )
            c.run_for(float(ms))
        return c

    return op


def _simpy_steady(ms: int, subject: Any) -> Callable[[], object]:
    import simpy

    def op() -> object:
        env = simpy.Environment()
        rng = random.Random(1)
        n = 5
        nodes = [
            RaftNode(i, [p for p in range(n) if p != i], election_timeout=_TIMEOUT, seed=i)
            for i in range(n)
        ]
        armed = [math.inf] * n
        lo, hi = _DELAY

        def send(ready: Any) -> None:
            for m in ready.messages:
                ev = env.timeout(lo + (hi - lo) * rng.random())
                ev.callbacks.append(functools.partial(_deliver_cb, m))

        def arm(i: int) -> None:
            d = nodes[i].deadline
            if d < armed[i]:
                armed[i] = d
                ev = env.timeout(max(0.0, d - env.now))
                ev.callbacks.append(functools.partial(_fire_cb, i, d))

        def fire(i: int, d: float) -> None:
            if armed[i] != d:
                return  # re-armed since
            armed[i] = math.inf
            if nodes[i].deadline <= env.now:
                send(nodes[i].tick(env.now))
            arm(i)

        def deliver(m: Any) -> None:
            node = nodes[m.dst]
            send(node.step(m, env.now))
            if node.deadline < armed[m.dst]:
                arm(m.dst)

        def _deliver_cb(m: Any, _event: Any) -> None:
            deliver(m)

        def _fire_cb(i: int, d: float, _event: Any) -> None:
            fire(i, d)

        for i in range(n):
            arm(i)
        env.run(until=float(ms))
        return nodes

    return op


def _figure16_setup(trials: int) -> int:
    return trials


def _ours_figure16(trials: int, subject: Any) -> Callable[[], object]:
    # ``trials`` counts every trial of the run: 9 ranges x t plus t/10 for 150-150.
    per_range = max(1, round(trials / (len(FIGURE16_RANGES) - 1 + 0.1)))
    return lambda: figure16(per_range)


def _fuzz_op(protocol: str, prevote: bool, check_quorum: bool) -> Callable[[int, Any], Any]:
    def make(schedules: int, subject: Any) -> Callable[[], object]:
        def op() -> object:
            report = fuzz(
                schedules, protocol=protocol, prevote=prevote, check_quorum=check_quorum, seed=7
            )
            if report.violations:
                raise AssertionError(report.violations[0][2])
            return report

        return op

    return make


WORKLOADS = [
    Workload(
        family="consensus",
        name="steady-raft-5",
        items=60_000,
        quick_items=6_000,
        setup=_ms,
        subject="consensus.Cluster",
        description="5-node Raft, simulated ms per second (heartbeats, one election)",
        impls=(
            Impl("dskata", "dskata", _ours_steady),
            Impl("simpy", "peer", _simpy_steady, requires=("simpy",)),
            Impl("sorted-list queue", "baseline", _naive_steady),
        ),
    ),
    Workload(
        family="consensus",
        name="figure16",
        items=9_100,
        quick_items=182,
        setup=_figure16_setup,
        subject="consensus.Cluster",
        description="the whole Figure 16 run (10 ranges), trials per second",
        impls=(Impl("dskata", "dskata", _ours_figure16),),
    ),
    Workload(
        family="consensus",
        name="fuzz-raft",
        items=10_000,
        quick_items=25,
        setup=_ms,
        subject="consensus.Cluster",
        description="random fault schedules, plain Raft, every history checked",
        impls=(Impl("dskata", "dskata", _fuzz_op("raft", False, False)),),
    ),
    Workload(
        family="consensus",
        name="fuzz-raft-prevote-checkquorum",
        items=10_000,
        quick_items=25,
        setup=_ms,
        subject="consensus.Cluster",
        description="random fault schedules, Raft with Pre-Vote and CheckQuorum",
        impls=(Impl("dskata", "dskata", _fuzz_op("raft", True, True)),),
    ),
    Workload(
        family="consensus",
        name="fuzz-paxos",
        items=10_000,
        quick_items=25,
        setup=_ms,
        subject="consensus.Cluster",
        description="random fault schedules, Paxos leader election",
        impls=(Impl("dskata", "dskata", _fuzz_op("paxos", False, False)),),
    ),
]
