"""LockTable and LockManager: compatibility, strict 2PL, timeouts, deadlock detection."""

from __future__ import annotations

import copy
import random
import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.concurrency.experiments import deadlock_cycle, lock_schedules
from dskata.concurrency.lockmanager import (
    COMPATIBLE,
    DeadlockError,
    LockManager,
    LockTable,
    LockTimeoutError,
)
from dskata.concurrency.stress import run_threads


def test_only_shared_locks_are_compatible_with_each_other() -> None:
    """Gray et al. 1976: the S/X compatibility matrix."""
    assert COMPATIBLE == {
        ("S", "S"): True,
        ("S", "X"): False,
        ("X", "S"): False,
        ("X", "X"): False,
    }
    table = LockTable()
    assert table.request(1, "r", "S").status == "granted"
    assert table.request(2, "r", "S").status == "granted"
    assert table.request(3, "r", "X", wait=False).status == "busy"
    assert table.holders("r") == {1: "S", 2: "S"}
    table._check()


def test_a_queued_writer_holds_back_later_readers_no_barging() -> None:
    table = LockTable()
    table.request(1, "r", "S")
    assert table.request(2, "r", "X").status == "waiting"
    assert table.request(3, "r", "S").status == "waiting", "a reader must queue behind a writer"
    granted = table.release_all(1)
    assert granted == [(2, "r", "X")]
    assert table.release_all(2) == [(3, "r", "S")]
    table._check()


def test_re_requesting_a_covered_lock_is_granted_at_once() -> None:
    table = LockTable()
    table.request(1, "r", "X")
    assert table.request(1, "r", "S").status == "granted"
    assert table.held(1) == {"r": "X"}


def test_a_two_party_cycle_aborts_exactly_the_youngest_transaction() -> None:
    table = LockTable()
    table.request(1, "a", "X")
    table.request(2, "b", "X")
    table.request(1, "b", "X")
    result = table.request(2, "a", "X")
    assert result.status == "victim"
    assert result.victims == [(2, [2, 1])]
    assert result.granted == [(1, "b", "X")]
    assert table.held(1) == {"a": "X", "b": "X"} and table.held(2) == {}
    table._check()


@pytest.mark.parametrize("n", [3, 5, 8])
def test_an_n_party_cycle_is_detected_when_it_closes_with_exactly_one_victim(n: int) -> None:
    table = LockTable()
    for t in range(1, n + 1):
        table.request(t, t, "X")
    # The oldest closes the ring last, so the victim (the youngest, n) is not the requester.
    for t in range(2, n + 1):
        assert table.request(t, t % n + 1, "X").status == "waiting"
    result = table.request(1, 2, "X")
    assert [v for v, _ in result.victims] == [n], "exactly one victim, the youngest"
    assert sorted(result.victims[0][1]) == list(range(1, n + 1))
    assert result.status == "waiting" and result.granted == [(n - 1, n, "X")]
    table._check()


def test_two_readers_upgrading_deadlock_and_one_is_aborted() -> None:
    """The classic conversion deadlock: both hold S and both want X."""
    table = LockTable()
    table.request(1, "r", "S")
    table.request(2, "r", "S")
    assert table.request(1, "r", "X").status == "waiting"
    result = table.request(2, "r", "X")
    assert result.status == "victim" and [v for v, _ in result.victims] == [2]
    assert result.granted == [(1, "r", "X")]
    table._check()


def test_a_single_reader_upgrades_at_once_and_goes_ahead_of_the_queue() -> None:
    table = LockTable()
    table.request(1, "r", "S")
    table.request(2, "r", "S")
    table.request(3, "r", "X")  # queued behind the readers
    table.release_all(2)
    assert table.request(1, "r", "X").status == "granted", "the only holder may upgrade"
    table._check()


def test_bad_requests_are_refused_before_any_change() -> None:
    table = LockTable()
    with pytest.raises(ValueError, match="mode must be 'S'"):
        table.request(1, "r", "W")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resource must be hashable"):
        table.request(1, ["r"], "S")  # type: ignore[arg-type]
    table.request(1, "r", "X")
    table.request(2, "r", "X")
    with pytest.raises(ValueError, match="already waiting"):
        table.request(2, "s", "X")
    assert table.held(2) == {} and table.waiting(2) == ("r", "X")
    table._check()


def test_no_deadlock_is_ever_reported_over_10k_deadlock_free_schedules() -> None:
    stats = lock_schedules(10_000, ordered=True, seed=1, check=False)
    assert stats.waits > 1_000, "the schedules must actually contend to mean anything"
    assert stats.victims == 0, "a victim in a deadlock-free schedule is a false deadlock"
    assert stats.undetected == 0


def test_random_schedules_with_deadlocks_never_get_stuck() -> None:
    stats = lock_schedules(2_000, ordered=False, seed=2)
    assert stats.victims > 100, "the random schedules must actually deadlock"
    assert stats.undetected == 0, "a schedule where everyone waits is a missed deadlock"


def _has_cycle(graph: dict[int, set[int]]) -> bool:
    state: dict[int, int] = {}

    def visit(u: int) -> bool:
        state[u] = 1
        for v in graph.get(u, ()):
            if state.get(v) == 1 or (state.get(v) is None and visit(v)):
                return True
        state[u] = 2
        return False

    return any(state.get(u) is None and visit(u) for u in list(graph))


class LockTableMachine(RuleBasedStateMachine):
    """The detector fires exactly when the wait-for graph gains a cycle (brute force model)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = LockTable()
        self.live = {1, 2, 3, 4}

    @rule(txn=st.integers(1, 4), resource=st.integers(0, 2), mode=st.sampled_from("SX"))
    def request(self, txn: int, resource: int, mode: str) -> None:
        if txn not in self.live or self.table.waiting(txn) is not None:
            return
        shadow = copy.deepcopy(self.table)
        shadow.request(txn, resource, mode, detect=False)  # type: ignore[arg-type]
        graph = shadow.wait_for_graph()
        result = self.table.request(txn, resource, mode)  # type: ignore[arg-type]
        assert bool(result.victims) == _has_cycle(graph), (graph, result)
        if result.victims:
            victim, cycle = result.victims[0]
            assert victim == max(cycle)
            for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
                assert b in graph[a], f"reported cycle {cycle} is not in the graph {graph}"
        for victim, _ in result.victims:
            self.live.discard(victim)

    @rule(txn=st.integers(1, 4))
    def finish(self, txn: int) -> None:
        if self.table.waiting(txn) is None:
            self.table.release_all(txn)

    @invariant()
    def consistent(self) -> None:
        self.table._check()


TestLockTableMachine = LockTableMachine.TestCase
TestLockTableMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_strict_two_phase_locking_holds_everything_until_commit() -> None:
    manager = LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("a", "X")
    t1.lock("b", "S")
    assert t1.locks == {"a": "X", "b": "S"}
    with pytest.raises(LockTimeoutError):
        t2.lock("a", "S", timeout=0)
    t1.commit()
    assert t1.locks == {} and t1.state == "committed"
    t2.lock("a", "X", timeout=0)
    t2.abort()
    t2.abort()  # idempotent
    with pytest.raises(RuntimeError, match="aborted"):
        t2.lock("a")
    with pytest.raises(RuntimeError, match="committed"):
        t1.commit()
    manager._check()


def test_the_context_manager_commits_or_aborts_and_releases_either_way() -> None:
    manager = LockManager()
    with manager.begin() as t1:
        t1.lock("a", "X")
    assert t1.state == "committed"
    with pytest.raises(KeyError), manager.begin() as t2:
        t2.lock("a", "X")
        raise KeyError("boom")
    assert t2.state == "aborted" and manager.wait_for_graph() == {}
    manager._check()


def test_a_lock_timeout_leaves_the_transaction_active_and_the_queue_clean() -> None:
    manager = LockManager()
    holder, waiter = manager.begin(), manager.begin()
    holder.lock("r", "X")
    with pytest.raises(LockTimeoutError) as info:
        waiter.lock("r", "S", timeout=0.02)
    assert (info.value.txn, info.value.resource, info.value.mode) == (waiter.id, "r", "S")
    assert isinstance(info.value, TimeoutError)
    assert waiter.state == "active" and manager.wait_for_graph() == {}
    holder.commit()
    waiter.lock("r", "S", timeout=0)
    waiter.commit()
    manager._check()


@pytest.mark.parametrize("bad,error", [(-1, ValueError), ("1", TypeError), (True, TypeError)])
def test_bad_timeouts_and_modes_are_refused(bad: object, error: type[Exception]) -> None:
    txn = LockManager().begin()
    with pytest.raises(error, match="timeout"):
        txn.lock("r", "S", timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        txn.lock("r", "s")
    assert txn.locks == {}


def test_a_blocked_request_is_granted_when_the_holder_commits() -> None:
    manager = LockManager()
    holder = manager.begin()
    holder.lock("r", "X")
    got: list[str] = []

    def wait() -> None:
        with manager.begin() as txn:
            txn.lock("r", "X", timeout=5)
            got.append("granted")

    t = threading.Thread(target=wait)
    t.start()
    t.join(0.05)
    assert got == [], "the waiter must not get the lock while it is held"
    holder.commit()
    t.join(5)
    assert got == ["granted"]
    manager._check()


@pytest.mark.parametrize("parties", [2, 3, 8])
def test_a_ring_of_threads_deadlocks_and_exactly_one_is_aborted(parties: int) -> None:
    victims, commits = deadlock_cycle(parties)
    assert (victims, commits) == (1, parties - 1)


def test_a_deadlock_error_names_the_victim_and_the_cycle() -> None:
    manager = LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("a", "X")
    t2.lock("b", "X")
    started = threading.Event()

    def first() -> None:
        started.set()
        t1.lock("b", "X", timeout=5)
        t1.commit()

    th = threading.Thread(target=first)
    th.start()
    started.wait(5)
    for _ in range(500):  # wait until t1 is really queued
        if manager.wait_for_graph():
            break
        th.join(0.002)
    with pytest.raises(DeadlockError) as info:
        t2.lock("a", "X", timeout=5)
    th.join(5)
    assert info.value.victim == t2.id and info.value.cycle == [t2.id, t1.id]
    assert t2.state == "aborted" and t1.state == "committed"
    assert manager.deadlocks == 1
    manager._check()


def test_random_transactions_on_threads_end_without_undetected_deadlocks() -> None:
    manager = LockManager()
    timeouts: list[int] = []

    def body(i: int) -> int:
        rng = random.Random(i)
        victims = 0
        for _ in range(60):
            with manager.begin() as txn:
                try:
                    for _ in range(rng.randint(1, 3)):
                        txn.lock(rng.randrange(4), rng.choice("SX"), timeout=10)
                except DeadlockError:
                    victims += 1
                except LockTimeoutError:
                    timeouts.append(i)
        return victims

    run_threads(body, 8, timeout=60)
    assert timeouts == [], "a 10 s timeout here means a deadlock went undetected"
    assert manager.active() == []
    manager._check()


class LockManagerMachine(RuleBasedStateMachine):
    """LockManager from one thread (timeout=0 requests) against a holders table."""

    def __init__(self) -> None:
        super().__init__()
        self.manager = LockManager()
        self.txns = [self.manager.begin() for _ in range(3)]
        self.held: dict[int, dict[str, str]] = {t.id: {} for t in self.txns}

    @rule(i=st.integers(0, 2), resource=st.sampled_from("ab"), mode=st.sampled_from("SX"))
    def lock(self, i: int, resource: str, mode: str) -> None:
        txn = self.txns[i]
        others = [h[resource] for t, h in self.held.items() if t != txn.id and resource in h]
        mine = self.held[txn.id].get(resource)
        grantable = (mine == "X" or mine == mode) or all(COMPATIBLE[m, mode] for m in others)
        if grantable:
            txn.lock(resource, mode, timeout=0)
            if mine != "X":
                self.held[txn.id][resource] = mode
        else:
            with pytest.raises(LockTimeoutError):
                txn.lock(resource, mode, timeout=0)

    @rule(i=st.integers(0, 2), commit=st.booleans())
    def finish(self, i: int, commit: bool) -> None:
        old = self.txns[i]
        old.commit() if commit else old.abort()
        del self.held[old.id]
        self.txns[i] = self.manager.begin()
        self.held[self.txns[i].id] = {}

    @invariant()
    def agrees(self) -> None:
        for txn in self.txns:
            assert txn.locks == self.held[txn.id]
        self.manager._check()


TestLockManagerMachine = LockManagerMachine.TestCase
TestLockManagerMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


def test_an_infinite_timeout_waits_until_granted_and_leaves_no_stray_request() -> None:
    """timeout=inf means forever (as None): no OverflowError after the request was queued."""
    manager = LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")
    done: list[bool] = []

    def wait_forever() -> None:
        t2.lock("r", "X", timeout=float("inf"))
        done.append(True)

    waiter = threading.Thread(target=wait_forever)
    waiter.start()
    deadline = threading.Event()
    while not manager.wait_for_graph() and not deadline.wait(0.001):
        pass
    t1.commit()
    waiter.join(5)
    assert done == [True], "the waiter must be granted once the holder commits"
    assert t2.locks == {"r": "X"}
    t2.commit()
    assert manager.wait_for_graph() == {}
    manager._check()


class _Interrupted(Exception):
    pass


def test_a_request_interrupted_while_waiting_is_withdrawn() -> None:
    """A signal that interrupts a waiting lock() withdraws the request: no ghost waiter that
    would later be granted a lock nobody releases, and the transaction may ask again."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise _Interrupted

    manager = LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")

    def interrupt() -> None:
        deadline = threading.Event()
        while not manager.wait_for_graph() and not deadline.wait(0.001):
            pass
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        t = threading.Thread(target=interrupt)
        t.start()
        with pytest.raises(_Interrupted):
            t2.lock("r", "S")
        t.join(5)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert manager.wait_for_graph() == {}, "the interrupted request must leave the queue"
    assert t2.state == "active"
    t1.commit()
    assert t2.locks == {}, "a withdrawn request must not be granted later"
    t2.lock("r", "S", timeout=0)
    t2.commit()
    manager._check()
