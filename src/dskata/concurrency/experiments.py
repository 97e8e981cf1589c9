"""Experiments: optimistic vs pessimistic under contention, lock schedules, acceptance stress.

Theory of operation:
    *Contention.* Optimistic control pays nothing up front and everything on conflict: a
    transaction that loses validation has done its work for nothing and starts again.
    Pessimistic control pays a lock-manager round trip per item on every transaction, but a
    conflicting transaction waits instead of being thrown away (only deadlock victims redo work).
    So optimistic wins at low contention and loses as conflicts grow, the crossover studied by
    Agrawal, Carey & Livny ("Concurrency Control Performance Modeling", TODS 12(4), 1987), who
    also showed that it depends on resources: with unlimited resources restarts are free and
    optimistic keeps winning; with finite ones, blocking wins under high contention.
    :func:`contention` measures it: threads run read-modify-write transactions on a few keys,
    each key drawn from a small *hot set* with probability ``hot_fraction``, with CPU-bound work
    between read and write. Under the GIL the CPU is the finite resource: a restarted attempt
    burns it, a blocked waiter does not.

    *Schedules.* :func:`lock_schedules` drives the pure :class:`~.lockmanager.LockTable` through
    random interleavings of random transactions and counts what the detector did; with
    ``ordered=True`` every transaction locks in one global order, which provably cannot
    deadlock, so any victim would be a false deadlock.

    *Race.* :func:`race` records a naive ``x += 1`` counter, a CAS counter, a broken CAS and a
    real one from several threads and asks the linearizability checker about each.

    *Acceptance.* :func:`acceptance` runs the issue's stress criteria at full size on real
    threads; ``dskata concurrency stress`` prints it.

These functions read the clock (they measure); the primitives they drive do not.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from typing import Any

from dskata.concurrency.atomics import AtomicInteger
from dskata.concurrency.linearizability import (
    CASRegister,
    CheckResult,
    Counter,
    HistoryRecorder,
    check_linearizable,
)
from dskata.concurrency.lockmanager import DeadlockError, LockManager, LockTable, LockTimeoutError
from dskata.concurrency.optimistic import ConflictError, VersionedStore
from dskata.concurrency.stress import (
    BrokenCASRegister,
    RacyCounter,
    Switcher,
    run_threads,
    switch_interval,
    switch_point,
)
from dskata.hashing import validate_seed

__all__ = [
    "ContentionPoint",
    "ScheduleStats",
    "acceptance",
    "contention",
    "deadlock_cycle",
    "lock_schedules",
    "race",
]


@dataclass
class ContentionPoint:
    """One measurement of :func:`contention`."""

    scheme: str
    threads: int
    hot_fraction: float
    committed: int
    aborts: int
    seconds: float
    exact: bool

    @property
    def abort_rate(self) -> float:
        """Aborted attempts per attempt."""
        attempts = self.committed + self.aborts
        return self.aborts / attempts if attempts else 0.0

    @property
    def throughput(self) -> float:
        """Committed transactions per second."""
        return self.committed / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, derived figures included."""
        out = asdict(self)
        out["abort_rate"] = round(self.abort_rate, 4)
        out["throughput"] = round(self.throughput, 1)
        return out


def _keys_for(rng: random.Random, hot: float, hot_keys: int, keys: int, per_txn: int) -> list[int]:
    out = []
    for _ in range(per_txn):
        if rng.random() < hot:
            out.append(rng.randrange(hot_keys))
        else:
            out.append(hot_keys + rng.randrange(keys - hot_keys))
    return out


def _burn(iterations: int) -> int:
    """CPU-bound work that holds the GIL (a shared, finite resource, as in Agrawal et al.)."""
    acc = 0
    for i in range(iterations):
        acc ^= i
    return acc


def _optimistic(
    threads: int,
    hot: float,
    txns: int,
    keys: int,
    hot_keys: int,
    per_txn: int,
    seed: int,
    work: int,
    interval: float,
) -> ContentionPoint:
    store: VersionedStore[int] = VersionedStore()
    aborts = [0] * threads

    def body(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        for _ in range(txns):
            chosen = _keys_for(rng, hot, hot_keys, keys, per_txn)
            while True:
                txn = store.begin()
                for key in chosen:
                    value = txn.get(key, 0)
                    _burn(work)  # the transaction's work between its read and its write
                    txn.put(key, value + 1)
                try:
                    txn.commit()
                    break
                except ConflictError:
                    aborts[i] += 1

    start = time.perf_counter()
    run_threads(body, threads, interval=interval, timeout=600)
    seconds = time.perf_counter() - start
    total = sum(v for _, v, _ in store.items())
    return ContentionPoint(
        "optimistic", threads, hot, threads * txns, sum(aborts), seconds,
        total == threads * txns * per_txn,
    )  # fmt: skip


def _pessimistic(
    threads: int,
    hot: float,
    txns: int,
    keys: int,
    hot_keys: int,
    per_txn: int,
    seed: int,
    work: int,
    interval: float,
    ordered: bool = True,
) -> ContentionPoint:
    manager = LockManager()
    data: dict[Hashable, int] = {}
    aborts = [0] * threads

    def body(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        for _ in range(txns):
            chosen = _keys_for(rng, hot, hot_keys, keys, per_txn)
            while True:
                txn = manager.begin()
                # A global lock order (sorted keys) rules deadlocks out; random order lets
                # them happen, and the detector's victims count as aborts.
                order = sorted(chosen) if ordered else chosen
                try:
                    values = []
                    for key in order:
                        txn.lock(key, "X")
                        values.append(data.get(key, 0))
                        _burn(work)
                    # Growing phase done: every lock is held, so writing cannot be interrupted
                    # by an abort. Duplicated keys read the same value, so write per key.
                    seen: dict[Hashable, int] = {}
                    for key, value in zip(order, values, strict=True):
                        seen[key] = seen.get(key, value) + 1
                    data.update(seen)
                    txn.commit()
                    break
                except DeadlockError:
                    aborts[i] += 1

    start = time.perf_counter()
    run_threads(body, threads, interval=interval, timeout=600)
    seconds = time.perf_counter() - start
    total = sum(data.values())
    return ContentionPoint(
        "pessimistic", threads, hot, threads * txns, sum(aborts), seconds,
        total == threads * txns * per_txn,
    )  # fmt: skip


def contention(
    threads: tuple[int, ...] = (1, 2, 4, 8),
    hot_fractions: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    *,
    txns_per_thread: int = 40,
    keys: int = 1000,
    hot_keys: int = 2,
    keys_per_txn: int = 2,
    work: int = 20_000,
    interval: float = 1e-5,
    lock_order: str = "sorted",
    seed: int = 0,
) -> list[ContentionPoint]:
    """Measure optimistic vs pessimistic throughput and abort rate as contention rises.

    Args:
        threads: thread counts to try.
        hot_fractions: probabilities in [0, 1] that a key is drawn from the hot set.
        txns_per_thread: transactions each thread commits.
        keys: key-space size (hot plus cold).
        hot_keys: size of the hot set (< keys).
        keys_per_txn: keys read-modified-written per transaction.
        work: loop iterations of CPU-bound work between each read and its write; CPU time is
            the finite resource that an aborted optimistic attempt wastes.
        interval: the switch interval while threads run (small, so transactions interleave).
        lock_order: ``"sorted"`` (pessimistic transactions lock in key order: no deadlocks) or
            ``"random"`` (deadlocks happen; victims count as aborts).
        seed: seed of the key choices.

    Returns:
        One :class:`ContentionPoint` per (scheme, threads, hot fraction).

    Raises:
        ValueError: out-of-range arguments.
    """
    if not threads or any(t < 1 for t in threads):
        raise ValueError(f"threads must be positive counts, got {threads!r}")
    if not hot_fractions or any(not 0.0 <= h <= 1.0 for h in hot_fractions):
        raise ValueError(f"hot_fractions must each be in [0, 1], got {hot_fractions!r}")
    if not 1 <= hot_keys < keys:
        raise ValueError(f"hot_keys must be in [1, keys), got {hot_keys} with keys={keys}")
    if lock_order not in ("sorted", "random"):
        raise ValueError(f"lock_order must be 'sorted' or 'random', got {lock_order!r}")
    if work < 0:
        raise ValueError(f"work must be >= 0, got {work}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0, got {interval}")
    validate_seed(seed)
    if txns_per_thread < 1 or keys_per_txn < 1:
        raise ValueError(
            f"txns_per_thread and keys_per_txn must be >= 1, got {txns_per_thread}, {keys_per_txn}"
        )
    out: list[ContentionPoint] = []
    for n in threads:
        for hot in hot_fractions:
            args = (n, hot, txns_per_thread, keys, hot_keys, keys_per_txn, seed, work, interval)
            out.append(_optimistic(*args))
            out.append(_pessimistic(*args, ordered=lock_order == "sorted"))
    return out


@dataclass
class ScheduleStats:
    """What :func:`lock_schedules` observed."""

    schedules: int = 0
    requests: int = 0
    waits: int = 0
    victims: int = 0
    undetected: int = 0
    cycles: list[list[int]] = field(default_factory=list)


def lock_schedules(
    count: int, *, ordered: bool, seed: int = 0, check: bool = True
) -> ScheduleStats:
    """Run ``count`` random interleavings of random strict-2PL transactions on a LockTable.

    Each schedule has 2 to 6 transactions over 1 to 5 resources; each transaction requests 1 to
    4 locks (S or X), then commits. With ``ordered=True`` they request resources in increasing
    order and never upgrade (deadlock-free); otherwise in random order, with upgrades.
    ``undetected`` counts schedules that got stuck with every live transaction waiting (a
    deadlock the detector missed); it must stay 0. ``check`` runs the table's ``_check()``
    after every step (slower; it also proves the graph acyclic at every step).
    """
    rng = random.Random(seed)
    stats = ScheduleStats()
    for _ in range(count):
        stats.schedules += 1
        table = LockTable()
        n_res = rng.randint(1, 5)
        plans: dict[int, list[tuple[int, str]]] = {}
        for t in range(1, rng.randint(2, 6) + 1):
            picks = [rng.randrange(n_res) for _ in range(rng.randint(1, 4))]
            if ordered:
                chosen = sorted(set(picks))
                plans[t] = [(r, rng.choice("SX")) for r in chosen]
            else:
                plans[t] = [(r, rng.choice("SX")) for r in picks]
        pos = dict.fromkeys(plans, 0)
        waiting: set[int] = set()
        live = set(plans)
        while live:
            runnable = [t for t in sorted(live) if t not in waiting]
            if not runnable:
                stats.undetected += 1
                break
            t = rng.choice(runnable)
            if pos[t] == len(plans[t]):
                for g, _, _ in table.release_all(t):
                    waiting.discard(g)
                live.discard(t)
                continue
            resource, mode = plans[t][pos[t]]
            stats.requests += 1
            result = table.request(t, resource, mode)  # type: ignore[arg-type]
            pos[t] += 1
            if result.status == "waiting":
                stats.waits += 1
                waiting.add(t)
            for victim, cycle in result.victims:
                stats.victims += 1
                stats.cycles.append(cycle)
                waiting.discard(victim)
                live.discard(victim)
            for g, _, _ in result.granted:
                waiting.discard(g)
            if check:
                table._check()
    return stats


def deadlock_cycle(parties: int, *, timeout: float = 10.0) -> tuple[int, int]:
    """Make ``parties`` threads deadlock in a ring on a LockManager; return (victims, commits).

    Thread ``i`` locks resource ``i`` then resource ``i + 1 (mod parties)``; with two parties
    that is the classic crossed pair. Exactly one victim is the correct answer.
    """
    if parties < 2:
        raise ValueError(f"parties must be >= 2, got {parties}")
    manager = LockManager()
    barrier = threading.Barrier(parties)

    def body(i: int) -> str:
        with manager.begin() as txn:
            txn.lock(i, "X")
            barrier.wait(timeout)
            try:
                txn.lock((i + 1) % parties, "X", timeout=timeout)
            except DeadlockError:
                return "victim"
        return "commit"

    results = run_threads(body, parties, timeout=timeout * 2)
    manager._check()
    return results.count("victim"), results.count("commit")


def acceptance(
    threads: int = 8, ops: int = 100_000, *, schedules: int = 10_000, seed: int = 0
) -> dict[str, Any]:
    """The issue's stress criteria on real threads at a 1e-6 s switch interval.

    Returns a dict of named checks, each with the figures and ``ok``.
    """
    validate_seed(seed)
    report: dict[str, Any] = {"threads": threads, "ops_per_thread": ops}

    counter = AtomicInteger()

    # A switch offered between each read and its write (1 time in 10) makes the race windows
    # real: without it the GIL rarely separates them, and "no lost update" would prove little.
    maybe_switch = Switcher(0.1, seed=seed)

    def cas_work(_: int) -> int:
        get, cas = counter.get, counter.compare_and_set
        failed = 0
        for _ in range(ops):
            while True:
                v = get()
                maybe_switch()
                if cas(v, v + 1):
                    break
                failed += 1
        return failed

    start = time.perf_counter()
    failed = sum(run_threads(cas_work, threads, timeout=3600))
    report["cas_counter"] = {
        "value": counter.get(),
        "expected": threads * ops,
        "failed_cas_retried": failed,
        "seconds": round(time.perf_counter() - start, 2),
        "ok": counter.get() == threads * ops,
    }

    store: VersionedStore[int] = VersionedStore()
    store.put("k", 0)
    winners: list[list[int]] = [[] for _ in range(threads)]

    def store_work(i: int) -> None:
        mine = winners[i]
        for _ in range(ops):
            value, version = store.get("k")
            maybe_switch()
            try:
                store.put("k", value + 1, expected_version=version)
            except ConflictError:
                continue
            mine.append(version)

    start = time.perf_counter()
    run_threads(store_work, threads, timeout=3600)
    won = [v for part in winners for v in part]
    report["versioned_store"] = {
        "successful_writes": len(won),
        "conflicts": threads * ops - len(won),
        "final_value": store.get("k")[0],
        "distinct_versions_won": len(set(won)),
        "seconds": round(time.perf_counter() - start, 2),
        "ok": len(won) == len(set(won)) == store.get("k")[0],
    }

    rings = {str(p): deadlock_cycle(p) for p in range(2, threads + 1)}
    report["deadlock_rings"] = {
        "victims_and_commits": rings,
        "ok": all(
            v == 1 and c == p - 1
            for p, (v, c) in zip(range(2, threads + 1), rings.values(), strict=True)
        ),
    }

    report["lock_manager_threads"] = _random_lock_manager_run(threads, max(1, ops // 100), seed)

    ordered = lock_schedules(schedules, ordered=True, seed=seed)
    chaotic = lock_schedules(schedules, ordered=False, seed=seed)
    report["schedules"] = {
        "deadlock_free_schedules": ordered.schedules,
        "false_deadlocks": ordered.victims,
        "random_schedules": chaotic.schedules,
        "victims": chaotic.victims,
        "undetected_deadlocks": chaotic.undetected + ordered.undetected,
        "ok": ordered.victims == 0 and chaotic.undetected == ordered.undetected == 0,
    }
    report["ok"] = all(v["ok"] for v in report.values() if isinstance(v, dict) and "ok" in v)
    return report


def _random_lock_manager_run(threads: int, txns: int, seed: int) -> dict[str, Any]:
    """Random transactions in random lock order on real threads: deadlocks must be resolved."""
    manager = LockManager()
    cycles: list[list[int]] = []
    timeouts = [0]
    guard = threading.Lock()

    def body(i: int) -> None:
        rng = random.Random(seed * 7919 + i)
        for _ in range(txns):
            plan = [(rng.randrange(6), rng.choice("SX")) for _ in range(rng.randint(1, 3))]
            with manager.begin() as txn:
                try:
                    for resource, mode in plan:
                        txn.lock(resource, mode, timeout=30)
                        switch_point()
                except DeadlockError as exc:
                    with guard:
                        cycles.append(exc.cycle)
                except LockTimeoutError:
                    with guard:
                        timeouts[0] += 1

    with switch_interval(1e-6):
        run_threads(body, threads, interval=None, timeout=3600)
    manager._check()
    return {
        "transactions": threads * txns,
        "victims": len(cycles),
        "timeouts (undetected deadlocks)": timeouts[0],
        "ok": timeouts[0] == 0 and not manager.active(),
    }


@dataclass
class RaceRow:
    """One subject of :func:`race`."""

    subject: str
    final: int
    expected: int
    operations: int
    result: CheckResult
    check_seconds: float

    @property
    def lost(self) -> int:
        """Updates lost: expected minus final."""
        return self.expected - self.final

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "subject": self.subject,
            "final": self.final,
            "expected": self.expected,
            "lost_updates": self.lost,
            "operations": self.operations,
            "linearizable": self.result.linearizable,
            "check_steps": self.result.steps,
            "check_seconds": round(self.check_seconds, 4),
        }


def race(threads: int = 8, ops: int = 200) -> list[RaceRow]:
    """Naive and CAS counters, broken and real CAS registers, from ``threads`` threads.

    Each thread increments ``ops`` times (the CAS ones by a retry loop); every operation is
    recorded and the history checked for linearizability.
    """
    if threads < 1 or ops < 1:
        raise ValueError(f"threads and ops must be >= 1, got {threads}, {ops}")
    rows: list[RaceRow] = []

    def check(subject: str, final: int, rec: HistoryRecorder, model: Any) -> None:
        history = rec.history()
        start = time.perf_counter()
        result = check_linearizable(history, model)
        elapsed = time.perf_counter() - start
        rows.append(RaceRow(subject, final, threads * ops, len(history), result, elapsed))

    racy, rec = RacyCounter(), HistoryRecorder()

    def naive(_: int) -> None:
        for _ in range(ops):
            rec.record("increment_and_get", None, racy.increment_and_get)

    run_threads(naive, threads)
    check("naive x += 1 counter", racy.get(), rec, Counter())

    atomic, rec = AtomicInteger(), HistoryRecorder()

    def cas_loop(_: int) -> None:
        for _ in range(ops):
            while True:
                v = atomic.get()
                if rec.record("cas", (v, v + 1), atomic.compare_and_set, v, v + 1):
                    break
                switch_point()

    run_threads(cas_loop, threads)
    check("AtomicInteger CAS loop", atomic.get(), rec, Counter())

    for name, reg in (("broken CAS register", BrokenCASRegister(0)), ("AtomicInteger", None)):
        target: Any = reg if reg is not None else AtomicInteger(0)
        rec = HistoryRecorder()

        def increments(_: int, target: Any = target, rec: HistoryRecorder = rec) -> None:
            for _ in range(ops):
                while True:
                    v = rec.record("read", None, target.get)
                    if rec.record("cas", (v, v + 1), target.compare_and_set, v, v + 1):
                        break

        run_threads(increments, threads)
        check(f"{name} (read + CAS)", target.get(), rec, CASRegister(0))
    return rows
