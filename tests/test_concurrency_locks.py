"""Lock, RLock, RWLock and StampedLock: the threading contract, policies, stamps, stress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.concurrency.linearizability import HistoryRecorder, Mutex, check_linearizable
from dskata.concurrency.locks import Lock, RLock, RWLock, StampedLock
from dskata.concurrency.stress import run_threads, switch_point

BAD_ACQUIRE_ARGS = [
    {"blocking": False, "timeout": 1},
    {"timeout": -2},
    {"timeout": "1"},
    {"timeout": float("nan")},
    {"timeout": 1e30},
]


def _wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


@pytest.mark.parametrize("kwargs", BAD_ACQUIRE_ARGS, ids=str)
@pytest.mark.parametrize("ours,theirs", [(Lock, threading.Lock), (RLock, threading.RLock)])
def test_acquire_rejects_the_same_bad_arguments_as_threading(
    ours: type, theirs: Callable[[], object], kwargs: dict[str, object]
) -> None:
    with pytest.raises(Exception) as expected:
        theirs().acquire(**kwargs)  # type: ignore[attr-defined]
    lock = ours()
    with pytest.raises(expected.type):
        lock.acquire(**kwargs)
    assert not lock.locked(), "a rejected acquire must not take the lock"
    lock._check()


def test_releasing_an_unlocked_lock_raises_runtime_error_like_threading() -> None:
    with pytest.raises(RuntimeError):
        Lock().release()
    with pytest.raises(RuntimeError):
        RLock().release()


def test_lock_records_its_owner_and_times_out() -> None:
    lock = Lock()
    with lock:
        assert lock.owner == threading.get_ident()
        holder: list[bool] = []
        t = threading.Thread(target=lambda: holder.append(lock.acquire(timeout=0.01)))
        t.start()
        t.join(5)
        assert holder == [False], "a second acquire must time out while the lock is held"
    assert lock.owner is None
    lock._check()


def test_rlock_counts_recursion_and_refuses_release_by_another_thread() -> None:
    lock = RLock()
    assert lock.acquire() and lock.acquire(timeout=1)
    assert (lock.count, lock.owner) == (2, threading.get_ident())
    errors: list[BaseException] = []

    def other() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert len(errors) == 1, "only the owner may release an RLock"
    lock.release()
    lock.release()
    assert not lock.locked()
    lock._check()


@pytest.mark.parametrize("make", [Lock, RLock])
def test_our_locks_work_as_the_lock_of_threading_condition(make: Callable[[], object]) -> None:
    lock = make()
    cond = threading.Condition(lock)  # type: ignore[arg-type]
    box: list[int] = []

    def consumer() -> None:
        with cond:
            if isinstance(lock, RLock):
                lock.acquire()  # a second level, which wait() must release too
            assert cond.wait_for(lambda: box, timeout=5)
            if isinstance(lock, RLock):
                lock.release()

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.01)
    with cond:
        box.append(1)
        cond.notify()
    t.join(5)
    assert not t.is_alive(), "the waiter must wake once notified"
    assert not lock.locked()  # type: ignore[attr-defined]


@pytest.mark.parametrize("make", [Lock, RLock])
def test_a_lock_protected_increment_loses_nothing_under_forced_switches(
    make: Callable[[], Lock | RLock],
) -> None:
    lock, box = make(), [0]

    def work(_: int) -> None:
        for _ in range(500):
            with lock:
                v = box[0]
                switch_point()
                box[0] = v + 1

    run_threads(work, 8)
    assert box[0] == 4_000


def test_a_recorded_lock_history_is_linearizable_as_a_mutex() -> None:
    lock, rec = Lock(), HistoryRecorder()

    def work(_: int) -> None:
        for _ in range(30):
            rec.record("acquire", None, lock.acquire)
            rec.record("release", None, lock.release)

    run_threads(work, 8)
    result = check_linearizable(rec.history(), Mutex())
    assert result.linearizable, result.explain()


def test_rwlock_rejects_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="policy must be one of"):
        RWLock("fifo")  # type: ignore[arg-type]


def test_rwlock_lets_readers_share_and_a_writer_in_alone() -> None:
    rw = RWLock()
    assert rw.acquire_read() and rw.acquire_read(blocking=False)
    assert rw.readers == 2
    assert rw.acquire_write(blocking=False) is False, "a writer must not enter with readers"
    rw.release_read()
    rw.release_read()
    assert rw.acquire_write(blocking=False)
    assert rw.acquire_read(blocking=False) is False, "a reader must not enter with a writer"
    with pytest.raises(RuntimeError, match="not re-entrant"):
        rw.acquire_write()
    rw.release_write()
    rw._check()


def test_rwlock_release_errors_name_the_misuse() -> None:
    rw = RWLock()
    with pytest.raises(RuntimeError, match="release_read"):
        rw.release_read()
    with pytest.raises(RuntimeError, match="release_write"):
        rw.release_write()
    with pytest.raises(RuntimeError, match="downgrade"):
        rw.downgrade()
    rw._check()


def test_downgrade_turns_the_write_hold_into_a_read_hold_with_no_writer_in_between() -> None:
    rw = RWLock("fair")
    rw.acquire_write()
    got: list[bool] = []
    t = threading.Thread(target=lambda: got.append(rw.acquire_write(timeout=5)))
    t.start()
    _wait_until(lambda: len(rw._queue) == 1)
    rw.downgrade()
    assert (rw.readers, rw.writer) == (1, None)
    assert got == [], "the waiting writer must not get in while we still read"
    rw.release_read()
    t.join(5)
    assert got == [True]
    assert rw.writer == t.ident
    rw._writer = None  # the thread has ended; clear its hold for the invariant check
    rw._check()


@pytest.mark.parametrize(
    "policy,new_reader_enters", [("read", True), ("write", False), ("fair", False)]
)
def test_a_waiting_writer_blocks_new_readers_unless_readers_are_preferred(
    policy: str, new_reader_enters: bool
) -> None:
    rw = RWLock(policy)  # type: ignore[arg-type]
    rw.acquire_read()

    def writer() -> None:
        if rw.acquire_write(timeout=5):
            rw.release_write()

    t = threading.Thread(target=writer)
    t.start()
    _wait_until(lambda: len(rw._queue) == 1)
    entered = rw.acquire_read(blocking=False)
    assert entered is new_reader_enters
    if entered:
        rw.release_read()
    rw.release_read()
    t.join(5)
    assert not t.is_alive()
    rw._check()


def test_the_fair_policy_serves_waiters_in_arrival_order() -> None:
    rw = RWLock("fair")
    order: list[str] = []
    rw.acquire_write()

    def writer() -> None:
        with rw.write_lock():
            order.append("w")

    def reader() -> None:
        with rw.read_lock():
            order.append("r")

    threads = [threading.Thread(target=f) for f in (reader, writer, reader)]
    for k, t in enumerate(threads):
        t.start()
        _wait_until(lambda k=k: len(rw._queue) == k + 1)  # type: ignore[misc]
    rw.release_write()
    for t in threads:
        t.join(5)
    assert order == ["r", "w", "r"]
    rw._check()


@pytest.mark.parametrize("policy", ["fair", "write"])
def test_no_writer_starves_under_a_stream_of_readers(policy: str) -> None:
    rw = RWLock(policy)  # type: ignore[arg-type]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            with rw.read_lock():
                time.sleep(0.0002)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        time.sleep(0.01)
        assert rw.acquire_write(timeout=5), "the writer must get in despite the readers"
        rw.release_write()
    finally:
        stop.set()
        for t in readers:
            t.join(5)
    rw._check()


def test_a_timed_out_writer_leaves_no_trace_and_lets_readers_through() -> None:
    rw = RWLock("write")
    rw.acquire_read()
    out: list[bool] = []
    t = threading.Thread(target=lambda: out.append(rw.acquire_write(timeout=0.05)))
    t.start()
    t.join(5)
    assert out == [False]
    assert rw.acquire_read(blocking=False), "after the writer gave up, readers enter again"
    rw.release_read()
    rw.release_read()
    rw._check()


@pytest.mark.parametrize("policy", ["read", "write", "fair"])
def test_readers_and_writers_never_overlap_under_forced_switches(policy: str) -> None:
    rw = RWLock(policy)  # type: ignore[arg-type]
    inside = {"readers": 0, "writers": 0}
    violations: list[str] = []
    guard = threading.Lock()

    def enter(kind: str, delta: int) -> None:
        with guard:
            inside[kind] += delta
            if inside["writers"] > 1 or (inside["writers"] and inside["readers"]):
                violations.append(str(inside))

    def work(i: int) -> None:
        for k in range(150):
            if (i + k) % 4 == 0:
                with rw.write_lock():
                    enter("writers", 1)
                    switch_point()
                    enter("writers", -1)
            else:
                with rw.read_lock():
                    enter("readers", 1)
                    switch_point()
                    enter("readers", -1)

    run_threads(work, 8)
    assert violations == []
    rw._check()


class RWLockMachine(RuleBasedStateMachine):
    """RWLock driven from one thread with non-blocking tries, against counters."""

    def __init__(self) -> None:
        super().__init__()
        self.rw = RWLock("fair")
        self.readers = 0
        self.writing = False

    @rule()
    def try_read(self) -> None:
        ok = self.rw.acquire_read(blocking=False)
        assert ok == (not self.writing)
        self.readers += ok

    @rule()
    def try_write(self) -> None:
        if self.writing:
            with pytest.raises(RuntimeError):
                self.rw.acquire_write(blocking=False)
            return
        ok = self.rw.acquire_write(blocking=False)
        assert ok == (self.readers == 0)
        self.writing = ok

    @rule()
    def release(self) -> None:
        if self.writing:
            self.rw.release_write()
            self.writing = False
        elif self.readers:
            self.rw.release_read()
            self.readers -= 1
        else:
            with pytest.raises(RuntimeError):
                self.rw.release_read()

    @rule()
    def downgrade(self) -> None:
        if self.writing:
            self.rw.downgrade()
            self.writing, self.readers = False, self.readers + 1

    @invariant()
    def agrees(self) -> None:
        assert self.rw.readers == self.readers
        assert (self.rw.writer is not None) == self.writing
        self.rw._check()


TestRWLockMachine = RWLockMachine.TestCase
TestRWLockMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


def test_an_optimistic_stamp_is_valid_until_a_writer_enters() -> None:
    sl = StampedLock()
    stamp = sl.try_optimistic_read()
    assert stamp != 0 and sl.validate(stamp)
    w = sl.write_lock()
    assert sl.try_optimistic_read() == 0, "no optimistic read while a writer holds the lock"
    assert not sl.validate(stamp)
    assert sl.validate(w), "a write stamp is valid while it is held"
    sl.unlock_write(w)
    assert not sl.validate(stamp), "a write in between invalidates the stamp for good"
    assert not sl.validate(0)
    sl._check()


def test_stamped_read_and_write_locks_exclude_each_other() -> None:
    sl = StampedLock()
    r = sl.read_lock()
    assert sl.try_write_lock() == 0
    assert sl.try_read_lock() != 0
    assert sl.read_lock_count == 2
    sl.unlock_read(r)
    sl.unlock(r)
    w = sl.try_write_lock()
    assert w and sl.try_read_lock() == 0 and sl.is_write_locked
    sl.unlock(w)
    sl._check()


def test_unlock_with_a_wrong_stamp_is_a_value_error_and_changes_nothing() -> None:
    sl = StampedLock()
    r = sl.read_lock()
    with pytest.raises(ValueError, match="write-lock stamp"):
        sl.unlock_write(r)
    with pytest.raises(ValueError, match="read-lock stamp"):
        sl.unlock_read(r + 4)
    assert sl.read_lock_count == 1
    sl.unlock_read(r)
    with pytest.raises(ValueError, match="timeout"):
        sl.write_lock(timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        sl.read_lock(timeout="1")  # type: ignore[arg-type]
    sl._check()


def test_stamp_conversions_follow_java_semantics() -> None:
    sl = StampedLock()
    opt = sl.try_optimistic_read()
    w = sl.try_convert_to_write_lock(opt)
    assert w and sl.is_write_locked, "a valid optimistic stamp converts when the lock is free"
    r = sl.try_convert_to_read_lock(w)
    assert r and not sl.is_write_locked and sl.read_lock_count == 1, "a write downgrades"
    w2 = sl.try_convert_to_write_lock(r)
    assert w2 and sl.read_lock_count == 0, "the only reader may upgrade"
    o = sl.try_convert_to_optimistic_read(w2)
    assert o and sl.validate(o) and not sl.is_write_locked
    r1, r2 = sl.read_lock(), sl.read_lock()
    assert sl.try_convert_to_write_lock(r1) == 0, "a reader among several may not upgrade"
    sl.unlock_read(r1)
    sl.unlock_read(r2)
    assert sl.try_convert_to_read_lock(opt) == 0, "a stale stamp converts to nothing"
    sl._check()


def test_validated_optimistic_reads_never_see_a_torn_pair_under_forced_switches() -> None:
    sl = StampedLock()
    pair = [0, 0]
    torn: list[tuple[int, int]] = []

    def work(i: int) -> None:
        for k in range(300):
            if i == 0:
                w = sl.write_lock()
                pair[0] = k
                switch_point()
                pair[1] = k
                sl.unlock_write(w)
            else:
                stamp = sl.try_optimistic_read()
                a = pair[0]
                switch_point()
                b = pair[1]
                if sl.validate(stamp) and a != b:
                    torn.append((a, b))

    run_threads(work, 4)
    assert torn == [], "validate() must reject every read that overlapped a write"
    sl._check()


@pytest.mark.parametrize("seed", range(3))
def test_stamped_writers_get_in_under_a_stream_of_readers(seed: int) -> None:
    sl = StampedLock()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            r = sl.read_lock(timeout=5)
            time.sleep(0.0001 * (1 + seed))
            sl.unlock_read(r)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        w = sl.write_lock(timeout=5)
        assert w != 0, "waiting writers hold back new readers, so the writer gets in"
        sl.unlock_write(w)
    finally:
        stop.set()
        for t in readers:
            t.join(5)
    sl._check()


def test_stamped_lock_timeouts_return_zero() -> None:
    sl = StampedLock()
    w = sl.write_lock()
    out: list[int] = []
    t = threading.Thread(target=lambda: out.extend([sl.read_lock(0.01), sl.write_lock(0.01)]))
    t.start()
    t.join(5)
    assert out == [0, 0]
    sl.unlock_write(w)
    sl._check()


def _lock_pairs() -> list[
    tuple[str, Callable[[], tuple[Callable[[], object], Callable[[], None]]]]
]:
    def rlock() -> tuple[Callable[[], object], Callable[[], None]]:
        lock = RLock()
        return lock.acquire, lock.release

    def rw_write() -> tuple[Callable[[], object], Callable[[], None]]:
        rw = RWLock("fair")
        return rw.acquire_write, rw.release_write

    def stamped_write() -> tuple[Callable[[], object], Callable[[], None]]:
        sl = StampedLock()
        stamps: list[int] = []

        def acquire() -> bool:
            stamps.append(sl.write_lock())
            return True

        return acquire, lambda: sl.unlock_write(stamps.pop())

    return [("RLock", rlock), ("RWLock write side", rw_write), ("StampedLock write", stamped_write)]


@pytest.mark.parametrize("name,make", _lock_pairs(), ids=[n for n, _ in _lock_pairs()])
def test_every_exclusive_lock_history_is_linearizable_as_a_mutex(
    name: str, make: Callable[[], tuple[Callable[[], object], Callable[[], None]]]
) -> None:
    acquire, release = make()
    rec = HistoryRecorder()

    def work(_: int) -> None:
        for _ in range(25):
            rec.record("acquire", None, acquire)
            switch_point()
            rec.record("release", None, release)

    run_threads(work, 6)
    result = check_linearizable(rec.history(), Mutex())
    assert result.linearizable, f"{name}: {result.explain()}"


class RLockMachine(RuleBasedStateMachine):
    """RLock from one thread against a recursion counter."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = RLock()
        self.depth = 0

    @rule()
    def acquire(self) -> None:
        assert self.lock.acquire(blocking=False)
        self.depth += 1

    @rule()
    def release(self) -> None:
        if self.depth:
            self.lock.release()
            self.depth -= 1
        else:
            with pytest.raises(RuntimeError):
                self.lock.release()

    @invariant()
    def agrees(self) -> None:
        assert self.lock.count == self.depth and self.lock.locked() == bool(self.depth)
        self.lock._check()


class StampedMachine(RuleBasedStateMachine):
    """StampedLock from one thread with non-blocking tries, against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.sl = StampedLock()
        self.reads: list[int] = []
        self.write = 0
        self.optimistic: list[tuple[int, int]] = []  # (stamp, writes seen when taken)
        self.writes = 0

    @rule()
    def try_read(self) -> None:
        stamp = self.sl.try_read_lock()
        assert (stamp != 0) == (self.write == 0)
        if stamp:
            self.reads.append(stamp)

    @rule()
    def try_write(self) -> None:
        stamp = self.sl.try_write_lock()
        assert (stamp != 0) == (self.write == 0 and not self.reads)
        if stamp:
            self.write = stamp
            self.writes += 1

    @rule()
    def optimistic_read(self) -> None:
        stamp = self.sl.try_optimistic_read()
        assert (stamp != 0) == (self.write == 0)
        if stamp:
            self.optimistic.append((stamp, self.writes))

    @rule()
    def unlock_one(self) -> None:
        if self.write:
            self.sl.unlock(self.write)
            self.write = 0
        elif self.reads:
            self.sl.unlock(self.reads.pop())

    @invariant()
    def stamps_validate_iff_no_writer_came(self) -> None:
        for stamp, writes in self.optimistic:
            assert self.sl.validate(stamp) == (writes == self.writes)
        assert self.sl.read_lock_count == len(self.reads)
        assert self.sl.is_write_locked == bool(self.write)
        self.sl._check()


TestRLockMachine = RLockMachine.TestCase
TestRLockMachine.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestStampedMachine = StampedMachine.TestCase
TestStampedMachine.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


@pytest.mark.parametrize("ours,theirs", [(Lock, threading.Lock), (RLock, threading.RLock)])
def test_acquire_accepts_what_threading_accepts(ours: type, theirs: Callable[[], object]) -> None:
    """Drop-in: a bool timeout is a number to threading (True waits one second), -1.0 is -1."""
    for kwargs in ({"timeout": True}, {"timeout": -1.0}, {"blocking": False, "timeout": -1}):
        reference = theirs()
        assert reference.acquire(**kwargs) is True  # type: ignore[attr-defined]
        lock = ours()
        assert lock.acquire(**kwargs) is True, f"acquire({kwargs}) must succeed like threading"
        lock.release()
        lock._check()


def test_a_condition_over_our_lock_refuses_wait_and_notify_without_the_lock() -> None:
    """threading.Condition's ownership test (_is_owned) works with both of our locks."""
    for lock in (Lock(), RLock()):
        cond = threading.Condition(lock)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError):
            cond.notify()
        with pytest.raises(RuntimeError):
            cond.wait(0)
        with cond:
            assert cond._is_owned()  # type: ignore[attr-defined]
            assert cond.wait(0.001) is False
            cond.notify_all()
        assert not cond._is_owned()  # type: ignore[attr-defined]
        assert not lock.locked()


def test_rlock_offers_threadings_private_recursion_count() -> None:
    lock = RLock()
    with lock, lock:
        assert lock._recursion_count() == 2
        seen: list[int] = []
        t = threading.Thread(target=lambda: seen.append(lock._recursion_count()))
        t.start()
        t.join(5)
        assert seen == [0], "another thread owns nothing"
    assert lock._recursion_count() == 0


def test_stamped_lock_treats_an_infinite_timeout_as_forever() -> None:
    """timeout=inf (beyond threading.TIMEOUT_MAX) waits like None instead of OverflowError."""
    sl = StampedLock()
    w = sl.write_lock()
    got: list[int] = []
    t = threading.Thread(target=lambda: got.append(sl.read_lock(timeout=float("inf"))))
    t.start()
    time.sleep(0.01)
    sl.unlock_write(w)
    t.join(5)
    assert len(got) == 1 and got[0] != 0, "the reader must get in once the writer leaves"
    sl.unlock_read(got[0])
    sl._check()


def test_rwlock_write_side_is_released_even_when_the_gate_sees_an_error() -> None:
    """A misuse error leaves the RWLock usable: the internal gate is always given back."""
    rw = RWLock()
    with pytest.raises(RuntimeError):
        rw.release_write()
    with pytest.raises(RuntimeError):
        rw.release_read()
    assert rw.acquire_write(timeout=1)
    other: list[bool] = []
    t = threading.Thread(target=lambda: other.append(rw.acquire_read(blocking=False)))
    t.start()
    t.join(5)
    assert other == [False], "a reader must not get in while the writer holds the lock"
    rw.release_write()
    assert rw.acquire_read(blocking=False)
    rw.release_read()
    rw._check()


def test_a_writer_asking_for_the_read_side_is_told_to_downgrade_instead_of_hanging() -> None:
    """The write holder's acquire_read would wait for itself forever: RuntimeError instead.

    With a timeout or ``blocking=False`` it cannot hang, so it simply fails, as for any reader.
    """
    rw = RWLock()
    rw.acquire_write()
    with pytest.raises(RuntimeError, match="downgrade"):
        rw.acquire_read()
    assert rw.acquire_read(blocking=False) is False
    assert rw.acquire_read(timeout=0.001) is False
    rw.downgrade()
    assert rw.readers == 1 and rw.writer is None
    rw.release_read()
    rw._check()


class _Interrupted(Exception):
    pass


def test_a_reader_interrupted_while_parked_leaves_the_rwlock_usable() -> None:
    """A signal that interrupts a parked waiter withdraws it: no ghost in the queue."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise _Interrupted

    rw = RWLock()
    holding, done = threading.Event(), threading.Event()

    def writer() -> None:
        rw.acquire_write()
        holding.set()
        done.wait(10)
        rw.release_write()

    def interrupt() -> None:
        _wait_until(lambda: "waiting=1" in repr(rw))
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    old = signal.signal(signal.SIGUSR1, handler)
    w = threading.Thread(target=writer)
    w.start()
    try:
        holding.wait(5)
        t = threading.Thread(target=interrupt)
        t.start()
        with pytest.raises(_Interrupted):
            rw.acquire_read()
        t.join(5)
    finally:
        signal.signal(signal.SIGUSR1, old)
        done.set()
        w.join(5)
    assert "waiting=0" in repr(rw), repr(rw)
    assert rw.acquire_write(blocking=False), "the lock must be free once the writer left"
    rw.release_write()
    rw._check()


@pytest.mark.parametrize(
    "args", [(False, 1), (True, -2), (True, float("nan")), (True, float("inf")), (False, 1e30)]
)
@pytest.mark.parametrize("ours,theirs", [(Lock, threading.Lock), (RLock, threading.RLock)])
def test_acquire_errors_start_with_threadings_own_message(
    ours: type, theirs: Callable[[], object], args: tuple[bool, float]
) -> None:
    """Drop-in: same exception type, threading's words first, then the value and the rule.

    Except for a negative timeout: threading's "timeout value must be positive" contradicts the
    rule (0 is allowed), so that message states the rule alone.
    """
    with pytest.raises(Exception) as expected:
        theirs().acquire(*args)  # type: ignore[attr-defined]
    with pytest.raises(expected.type) as got:
        ours().acquire(*args)
    if args == (True, -2):
        assert "positive" not in str(got.value)
    else:
        assert str(got.value).startswith(str(expected.value)), (str(got.value), expected.value)
    assert "timeout" in str(got.value) and repr(args[1]) in str(got.value)


@pytest.mark.parametrize("cls", [Lock, RLock])
def test_a_negative_timeout_message_says_one_coherent_thing(cls: type) -> None:
    with pytest.raises(ValueError) as got:
        cls().acquire(timeout=-5)
    assert str(got.value) == "timeout must be -1 to wait forever, or a number >= 0, got -5"
    with pytest.raises(ValueError, match=r"^timeout must be -1 to wait forever, or a number >= 0"):
        RWLock().acquire_write(timeout=-0.5)
