"""Contract of the ``lock-manager`` kata: S/X locks, strict 2PL, timeouts, deadlock victims.

Surface under test: ``impl.LockManager()`` with ``begin() -> txn``; a transaction has ``id``,
``state`` (``"active"``, ``"committed"``, ``"aborted"``), ``lock(resource, mode="S",
timeout=None)``, ``commit()``, ``abort()`` and is a context manager (commit on success, abort on
an exception); ``impl.LockTimeoutError`` (a ``TimeoutError``) and ``impl.DeadlockError``.

Every wait in these tests has a timeout, so a missing feature fails instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dskata.concurrency.stress import run_threads

KATA = "lock-manager"

SAFETY = 5.0  # seconds: a lock() that should be decided quickly but is not ends the test


def _blocked_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``fn`` in a thread; return the thread and a list that receives its result/error."""
    out: list[Any] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, out


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "shared and exclusive locks")
def test_two_transactions_may_share_a_resource(impl: Any) -> None:
    """Two S locks on one resource are granted at once."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "S")
    t2.lock("r", "S", timeout=0)
    t1.commit()
    t2.commit()


@pytest.mark.kata_step(1, "shared and exclusive locks")
def test_an_exclusive_lock_excludes_every_other_lock(impl: Any) -> None:
    """With X held, another transaction's S or X request fails (timeout=0: no waiting)."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")
    for mode in ("S", "X"):
        with pytest.raises(impl.LockTimeoutError):
            t2.lock("r", mode, timeout=0)


@pytest.mark.kata_step(1, "shared and exclusive locks")
def test_a_shared_lock_excludes_another_transactions_exclusive_lock(impl: Any) -> None:
    """With S held by t1, t2's X request fails; t1 may still re-lock S."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "S")
    with pytest.raises(impl.LockTimeoutError):
        t2.lock("r", "X", timeout=0)
    t1.lock("r", "S", timeout=0)


@pytest.mark.kata_step(1, "shared and exclusive locks")
def test_the_only_reader_may_upgrade_to_exclusive(impl: Any) -> None:
    """t1 holds S alone: its X request is granted at once, after which t2 cannot even read."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "S")
    t1.lock("r", "X", timeout=0)
    with pytest.raises(impl.LockTimeoutError):
        t2.lock("r", "S", timeout=0)


@pytest.mark.kata_step(1, "shared and exclusive locks")
def test_an_unknown_mode_is_a_value_error(impl: Any) -> None:
    """mode must be "S" or "X"; anything else raises ValueError."""
    txn = impl.LockManager().begin()
    for bad in ("s", "W", None):
        with pytest.raises(ValueError):
            txn.lock("r", bad)


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "strict two-phase locking")
def test_locks_are_held_until_commit_then_all_released(impl: Any) -> None:
    """Strict 2PL: nothing is released before commit; commit releases every lock."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("a", "X")
    t1.lock("b", "X")
    with pytest.raises(impl.LockTimeoutError):
        t2.lock("a", "S", timeout=0)
    t1.commit()
    assert t1.state == "committed", f"state after commit was {t1.state!r}"
    t2.lock("a", "X", timeout=0)
    t2.lock("b", "X", timeout=0)


@pytest.mark.kata_step(2, "strict two-phase locking")
def test_abort_releases_every_lock_too(impl: Any) -> None:
    """abort() releases everything; the transaction is then "aborted"."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("a", "X")
    t1.abort()
    assert t1.state == "aborted", f"state after abort was {t1.state!r}"
    t2.lock("a", "X", timeout=0)


@pytest.mark.kata_step(2, "strict two-phase locking")
def test_a_finished_transaction_cannot_lock_or_commit_again(impl: Any) -> None:
    """lock() or commit() after commit raises RuntimeError."""
    txn = impl.LockManager().begin()
    txn.commit()
    with pytest.raises(RuntimeError):
        txn.lock("a", "S")
    with pytest.raises(RuntimeError):
        txn.commit()


@pytest.mark.kata_step(2, "strict two-phase locking")
def test_the_context_manager_commits_or_aborts(impl: Any) -> None:
    """`with manager.begin() as txn:` commits normally and aborts on an exception."""
    manager = impl.LockManager()
    with manager.begin() as t1:
        t1.lock("a", "X")
    assert t1.state == "committed"
    with pytest.raises(KeyError), manager.begin() as t2:
        t2.lock("a", "X", timeout=0)
        raise KeyError("boom")
    assert t2.state == "aborted"
    manager.begin().lock("a", "X", timeout=0)


@pytest.mark.kata_step(2, "strict two-phase locking")
def test_a_waiting_request_is_granted_when_the_holder_commits(impl: Any) -> None:
    """t2 blocks on t1's X lock and gets it as soon as t1 commits."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")
    thread, out = _blocked_in_thread(lambda: t2.lock("r", "X", timeout=SAFETY))
    thread.join(0.05)
    assert out == [], f"t2 got past a held X lock: {out}"
    t1.commit()
    thread.join(SAFETY + 1)
    assert out == [None], f"after t1 committed, t2's lock() gave {out}, expected it to return"


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "timeouts")
def test_a_request_that_waits_too_long_raises_lock_timeout_error(impl: Any) -> None:
    """lock(timeout=0.05) on a held resource raises LockTimeoutError, a TimeoutError."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")
    start = time.monotonic()
    with pytest.raises(impl.LockTimeoutError) as info:
        t2.lock("r", "S", timeout=0.05)
    assert isinstance(info.value, TimeoutError), "LockTimeoutError must subclass TimeoutError"
    assert time.monotonic() - start < SAFETY, "the timeout was not honoured"


@pytest.mark.kata_step(3, "timeouts")
def test_a_timed_out_transaction_stays_active(impl: Any) -> None:
    """After a timeout the transaction can still lock other things and commit."""
    manager = impl.LockManager()
    t1, t2 = manager.begin(), manager.begin()
    t1.lock("r", "X")
    with pytest.raises(impl.LockTimeoutError):
        t2.lock("r", "X", timeout=0.02)
    assert t2.state == "active", f"a timeout changed the state to {t2.state!r}"
    t2.lock("other", "X", timeout=0)
    t2.commit()


@pytest.mark.kata_step(3, "timeouts")
def test_a_timed_out_request_leaves_no_ghost_in_the_queue(impl: Any) -> None:
    """t2's X request times out behind t1's S lock; then t3's S request is granted at once."""
    manager = impl.LockManager()
    t1, t2, t3 = manager.begin(), manager.begin(), manager.begin()
    t1.lock("r", "S")
    with pytest.raises(impl.LockTimeoutError):
        t2.lock("r", "X", timeout=0.02)
    t3.lock("r", "S", timeout=0)


@pytest.mark.kata_step(3, "timeouts")
def test_a_negative_timeout_is_a_value_error(impl: Any) -> None:
    """timeout=-1 raises ValueError (None means wait forever)."""
    with pytest.raises(ValueError):
        impl.LockManager().begin().lock("r", "S", timeout=-1)


# ------------------------------------------------------------------ step 4


def _ring(impl: Any, parties: int, upgrade: bool = False) -> list[str]:
    manager = impl.LockManager()
    barrier = threading.Barrier(parties)

    def body(i: int) -> str:
        txn = manager.begin()
        try:
            if upgrade:
                txn.lock("r", "S", timeout=SAFETY)
                barrier.wait(SAFETY)
                txn.lock("r", "X", timeout=SAFETY)
            else:
                txn.lock(i, "X", timeout=SAFETY)
                barrier.wait(SAFETY)
                txn.lock((i + 1) % parties, "X", timeout=SAFETY)
        except impl.DeadlockError:
            if txn.state != "aborted":
                return f"victim left in state {txn.state!r}"
            return "victim"
        except impl.LockTimeoutError:
            return "timed out"
        txn.commit()
        return "committed"

    return run_threads(body, parties, timeout=3 * SAFETY)


@pytest.mark.kata_step(4, "deadlock detection")
def test_two_crossed_transactions_deadlock_and_exactly_one_is_the_victim(impl: Any) -> None:
    """t1 holds a, wants b; t2 holds b, wants a: one DeadlockError, the other commits."""
    outcome = sorted(_ring(impl, 2))
    assert outcome == ["committed", "victim"], (
        f"outcomes were {outcome}; expected one victim (DeadlockError, transaction aborted) "
        "and one commit. 'timed out' means the cycle was never detected"
    )


@pytest.mark.kata_step(4, "deadlock detection")
def test_a_ring_of_four_deadlocks_and_exactly_one_is_the_victim(impl: Any) -> None:
    """Four transactions wait in a ring: exactly one victim, three commits."""
    outcome = sorted(_ring(impl, 4))
    assert outcome == ["committed"] * 3 + ["victim"], f"outcomes were {outcome}"


@pytest.mark.kata_step(4, "deadlock detection")
def test_two_readers_upgrading_together_deadlock_and_one_is_the_victim(impl: Any) -> None:
    """Both hold S and both ask for X: a conversion deadlock, not a silent hang."""
    outcome = sorted(_ring(impl, 2, upgrade=True))
    assert outcome == ["committed", "victim"], (
        f"outcomes were {outcome}; an upgrade waits for the other reader, which waits for you"
    )


@pytest.mark.kata_step(4, "deadlock detection")
def test_waiting_without_a_cycle_is_not_a_deadlock(impl: Any) -> None:
    """A chain t3 -> t2 -> t1 (no cycle) resolves by commits alone: no DeadlockError."""
    manager = impl.LockManager()
    t1, t2, t3 = manager.begin(), manager.begin(), manager.begin()
    t1.lock("a", "X")
    t2.lock("b", "X")
    th2, out2 = _blocked_in_thread(lambda: t2.lock("a", "X", timeout=SAFETY))
    th3, out3 = _blocked_in_thread(lambda: t3.lock("b", "S", timeout=SAFETY))
    th2.join(0.05)
    t1.commit()
    th2.join(SAFETY + 1)
    assert out2 == [None], f"t2's wait ended with {out2}, expected the lock"
    t2.commit()
    th3.join(SAFETY + 1)
    assert out3 == [None], f"t3's wait ended with {out3}, expected the lock"
    t3.commit()
