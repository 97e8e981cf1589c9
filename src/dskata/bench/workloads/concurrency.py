"""Concurrency workloads: CAS increments on 1 and 8 threads, lock round trips, the checker.

Peers: the ``atomics`` package (a real hardware CAS through cffi) and ``readerwriterlock``;
baselines: a ``threading.Lock``-protected int and ``threading.Lock`` itself. Every operation is
one Python-level loop iteration for every implementation, so the loop's cost is shared.
"""

from __future__ import annotations

import importlib
import random
import threading
from collections.abc import Callable
from typing import Any

import dskata.concurrency  # noqa: F401  (workload subjects are resolved as dskata.concurrency.X)
from dskata.bench.core import Impl, Workload

_THREADS = 8


def _count(n: int) -> int:
    return n


def _in_threads(n: int, body: Callable[[int], None]) -> Callable[[], object]:
    """``n`` operations split over 8 threads that start together; the op joins them all."""
    per = max(1, n // _THREADS)

    def op() -> None:
        barrier = threading.Barrier(_THREADS)

        def run() -> None:
            barrier.wait()
            body(per)

        pool = [threading.Thread(target=run) for _ in range(_THREADS)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    return op


# -- CAS increments ------------------------------------------------------------------------


def _cas_loop_body(subject: Any) -> Callable[[int], None]:
    counter = subject(0)

    def body(n: int) -> None:
        get, cas = counter.get, counter.compare_and_set
        for _ in range(n):
            while True:
                v = get()
                if cas(v, v + 1):
                    break

    return body


def _atomics_body() -> Callable[[int], None]:
    # Imported by name: the package ships no type information.
    atomics: Any = importlib.import_module("atomics")
    counter = atomics.atomic(width=8, atype=atomics.INT)

    def body(n: int) -> None:
        load, cas = counter.load, counter.cmpxchg_weak
        for _ in range(n):
            while True:
                v = load()
                if cas(expected=v, desired=v + 1).success:
                    break

    return body


def _locked_body() -> Callable[[int], None]:
    lock, box = threading.Lock(), [0]

    def body(n: int) -> None:
        for _ in range(n):
            with lock:
                box[0] += 1

    return body


def _increment_body(subject: Any) -> Callable[[int], None]:
    counter = subject(0)

    def body(n: int) -> None:
        inc = counter.increment_and_get
        for _ in range(n):
            inc()

    return body


def _one(body: Callable[[int], None], n: int) -> Callable[[], object]:
    return lambda: body(n)


# -- lock round trips ----------------------------------------------------------------------


def _round_trips(
    acquire: Callable[[], object], release: Callable[[], object], n: int
) -> Callable[[], object]:
    def op() -> None:
        for _ in range(n):
            acquire()
            release()

    return op


def _rw_read(data: int, subject: Any) -> Callable[[], object]:
    rw = subject("fair")
    return _round_trips(rw.acquire_read, rw.release_read, data)


def _rw_write(data: int, subject: Any) -> Callable[[], object]:
    rw = subject("fair")
    return _round_trips(rw.acquire_write, rw.release_write, data)


def _rwl_peer(kind: str, write: bool) -> Callable[[int, Any], Callable[[], object]]:
    def make(data: int, subject: Any) -> Callable[[], object]:
        from readerwriterlock import rwlock

        lock = getattr(rwlock, kind)()
        side = lock.gen_wlock() if write else lock.gen_rlock()
        return _round_trips(side.acquire, side.release, data)

    return make


def _threading_lock(data: int, subject: Any) -> Callable[[], object]:
    lock = threading.Lock()
    return _round_trips(lock.acquire, lock.release, data)


def _stamped(data: int, subject: Any) -> Callable[[], object]:
    sl = subject()

    def op() -> None:
        read, validate = sl.try_optimistic_read, sl.validate
        for _ in range(data):
            validate(read())

    return op


# -- the checker ---------------------------------------------------------------------------


def _cas_history(n: int) -> Any:
    from dskata.concurrency.atomics import AtomicInteger
    from dskata.concurrency.linearizability import HistoryRecorder
    from dskata.concurrency.stress import run_threads

    reg, rec = AtomicInteger(0), HistoryRecorder()
    per = max(1, n // _THREADS)

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(per):
            r = rng.random()
            if r < 0.4:
                rec.record("read", None, reg.get)
            elif r < 0.6:
                v = rng.randrange(4)
                rec.record("write", v, reg.set, v)
            else:
                e, new = rng.randrange(4), rng.randrange(4)
                rec.record("cas", (e, new), reg.compare_and_set, e, new)

    run_threads(work, _THREADS)
    return rec.history()


def _check(data: Any, subject: Any) -> Callable[[], object]:
    from dskata.concurrency.linearizability import CASRegister

    def op() -> None:
        result = subject(data, CASRegister(0))
        if not result.linearizable:  # pragma: no cover - a correct register always passes
            raise AssertionError("AtomicInteger history judged not linearizable")

    return op


WORKLOADS = [
    Workload(
        family="concurrency",
        name="cas-increment-1thread",
        description="CAS retry-loop increments (get + compare_and_set), one thread",
        items=1_000_000,
        quick_items=20_000,
        setup=_count,
        subject="concurrency.AtomicInteger",
        impls=(
            Impl("dskata", "dskata", lambda n, s: _one(_cas_loop_body(s), n), fresh=True),
            Impl("Lock + int", "baseline", lambda n, s: _one(_locked_body(), n), fresh=True),
        ),
    ),
    Workload(
        family="concurrency",
        name="cas-increment-8threads",
        description="CAS retry-loop increments, 8 threads (total items)",
        items=1_000_000,
        quick_items=20_000,
        setup=_count,
        subject="concurrency.AtomicInteger",
        impls=(
            Impl("dskata", "dskata", lambda n, s: _in_threads(n, _cas_loop_body(s)), fresh=True),
            # The same increments on one thread, in the same interleaved rounds: its "speed-up"
            # is the 8-thread throughput as a fraction of the 1-thread one, measured in one run.
            Impl(
                "dskata, 1 thread",
                "baseline",
                lambda n, s: _one(_cas_loop_body(s), n),
                fresh=True,
            ),
            Impl("Lock + int", "baseline", lambda n, s: _in_threads(n, _locked_body()), fresh=True),
        ),
    ),
    # The atomics package pays a cffi call per operation (tens of µs here), so it gets its own,
    # smaller workloads: the same loop, fewer items.
    Workload(
        family="concurrency",
        name="cas-increment-vs-atomics-1thread",
        description="CAS retry-loop increments, one thread, against the atomics package",
        items=20_000,
        quick_items=2_000,
        setup=_count,
        subject="concurrency.AtomicInteger",
        impls=(
            Impl("dskata", "dskata", lambda n, s: _one(_cas_loop_body(s), n), fresh=True),
            Impl(
                "atomics CAS loop",
                "peer",
                lambda n, s: _one(_atomics_body(), n),
                requires=("atomics",),
                fresh=True,
            ),
        ),
    ),
    Workload(
        family="concurrency",
        name="cas-increment-vs-atomics-8threads",
        description="CAS retry-loop increments, 8 threads, against the atomics package",
        items=20_000,
        quick_items=2_000,
        setup=_count,
        subject="concurrency.AtomicInteger",
        impls=(
            Impl("dskata", "dskata", lambda n, s: _in_threads(n, _cas_loop_body(s)), fresh=True),
            Impl(
                "atomics CAS loop",
                "peer",
                lambda n, s: _in_threads(n, _atomics_body()),
                requires=("atomics",),
                fresh=True,
            ),
        ),
    ),
    Workload(
        family="concurrency",
        name="increment_and_get-1thread",
        description="AtomicInteger.increment_and_get (one locked add), one thread",
        items=1_000_000,
        quick_items=20_000,
        setup=_count,
        subject="concurrency.AtomicInteger",
        impls=(
            Impl("dskata", "dskata", lambda n, s: _one(_increment_body(s), n), fresh=True),
            Impl("Lock + int", "baseline", lambda n, s: _one(_locked_body(), n), fresh=True),
        ),
    ),
    Workload(
        family="concurrency",
        name="rwlock-read-uncontended",
        description="read-side acquire + release, no contention",
        items=500_000,
        quick_items=15_000,
        setup=_count,
        subject="concurrency.RWLock",
        impls=(
            Impl("dskata", "dskata", _rw_read),
            Impl(
                "readerwriterlock RWLockRead",
                "peer",
                _rwl_peer("RWLockRead", False),
                requires=("readerwriterlock",),
            ),
            Impl(
                "readerwriterlock RWLockFair",
                "peer",
                _rwl_peer("RWLockFair", False),
                requires=("readerwriterlock",),
            ),
            Impl("threading.Lock", "baseline", _threading_lock),
        ),
    ),
    Workload(
        family="concurrency",
        name="rwlock-write-uncontended",
        description="write-side acquire + release, no contention",
        items=500_000,
        quick_items=15_000,
        setup=_count,
        subject="concurrency.RWLock",
        impls=(
            Impl("dskata", "dskata", _rw_write),
            Impl(
                "readerwriterlock RWLockWrite",
                "peer",
                _rwl_peer("RWLockWrite", True),
                requires=("readerwriterlock",),
            ),
            Impl(
                "readerwriterlock RWLockFair",
                "peer",
                _rwl_peer("RWLockFair", True),
                requires=("readerwriterlock",),
            ),
            Impl("threading.Lock", "baseline", _threading_lock),
        ),
    ),
    Workload(
        family="concurrency",
        name="stamped-optimistic-read",
        description="StampedLock try_optimistic_read + validate vs a reader lock round trip",
        items=1_000_000,
        quick_items=30_000,
        setup=_count,
        subject="concurrency.StampedLock",
        impls=(
            Impl("dskata", "dskata", _stamped),
            Impl(
                "readerwriterlock RWLockRead reader",
                "peer",
                _rwl_peer("RWLockRead", False),
                requires=("readerwriterlock",),
            ),
            Impl("threading.Lock", "baseline", _threading_lock),
        ),
    ),
    Workload(
        family="concurrency",
        name="check-cas-register-1000",
        description="linearizability check of a 1,000-op CAS-register history from 8 threads",
        items=1_000,
        quick_items=1_000,
        setup=_cas_history,
        subject="concurrency.check_linearizable",
        impls=(Impl("dskata", "dskata", _check),),
    ),
]
