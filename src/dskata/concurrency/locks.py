"""Locks: a plain and a re-entrant mutex, a readers-writer lock with policies, a stamped lock.

Theory of operation:
    :class:`Lock` and :class:`RLock` are drop-in replacements for :class:`threading.Lock` and
    :class:`threading.RLock` (same ``acquire(blocking=True, timeout=-1)`` contract and the same
    exception types) that also record their owner, so a debugger, a test or ``_check()`` can ask
    who holds them. :class:`RLock` implements the three private hooks
    :class:`threading.Condition` uses to release *every* recursion level while waiting.

    :class:`RWLock` lets many readers or one writer in. Who goes next when it is released is a
    *policy* (Courtois, Heymans & Parnas, CACM 14(10), 1971): ``"read"`` admits readers whenever
    no writer holds the lock (writers may starve), ``"write"`` stops new readers as soon as a
    writer waits (readers may starve) and ``"fair"`` serves waiters in arrival order, admitting a
    run of consecutive readers together, so nobody starves. Waiters park on a private lock each
    and are *handed* the lock by the releasing thread (no barging), which is what makes the
    policy exact. A writer may :meth:`RWLock.downgrade` to a reader without letting a writer in.

    :class:`StampedLock` follows ``java.util.concurrent.locks.StampedLock``: a sequence number
    that is odd while a writer holds the lock. An optimistic read is one attribute load (the
    stamp), and :meth:`StampedLock.validate` one comparison: if no writer entered since, what
    was read is consistent; otherwise the reader retries or falls back to a read lock. Stamps
    also carry the mode, so conversions know what the caller holds.

Thread safety: all classes here are meant to be shared between threads; none is re-entrant
except :class:`RLock`.
"""

from __future__ import annotations

import _thread
import math
import threading
from collections import deque
from queue import SimpleQueue
from types import TracebackType
from typing import Literal

__all__ = ["Lock", "RLock", "RWLock", "RWPolicy", "StampedLock"]

_get_ident = _thread.get_ident
TIMEOUT_MAX = threading.TIMEOUT_MAX

RWPolicy = Literal["read", "write", "fair"]
# The default timeout object: an identity test against it is the cheapest "no timeout" check
# (-1 is a cached small int, so an explicit -1 takes the fast path too).
_FOREVER = -1
_POLICIES: tuple[str, ...] = ("read", "write", "fair")


def _new_gate() -> SimpleQueue[None]:
    """A mutex: a one-token :class:`queue.SimpleQueue`; ``get()`` locks, ``put(None)`` unlocks."""
    gate: SimpleQueue[None] = SimpleQueue()
    gate.put(None)
    return gate


def _threading_says(blocking: bool, timeout: float) -> str:
    """The message ``threading.Lock.acquire`` gives for these arguments (this Python's wording)."""
    try:
        _thread.allocate_lock().acquire(blocking, timeout)
    except (ValueError, OverflowError) as exc:
        return str(exc)
    return "invalid timeout"  # pragma: no cover - every caller passes arguments threading refuses


# Our messages start with threading's own words where those are right, then name the parameter,
# the value and the rule. For a negative timeout threading says "timeout value must be positive",
# which contradicts the rule (0 and -1 are allowed), so that message states the rule alone.
_SAYS_NAN = _threading_says(True, math.nan)
_SAYS_NON_BLOCKING = _threading_says(False, 1)
_SAYS_TOO_LARGE = _threading_says(True, math.inf)
_RULE = "-1 to wait forever, or a number >= 0"


def _check_timeout(blocking: bool, timeout: float) -> float:
    """Validate ``acquire``'s arguments like :meth:`threading.Lock.acquire`: same exception types,
    in the same order, with threading's message first.

    Like threading, a bool is accepted as the number it is (``timeout=True`` waits one second).
    """
    if not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds, got {timeout!r} of type {type(timeout).__name__}"
        )
    if math.isnan(timeout):
        raise ValueError(f"{_SAYS_NAN}: timeout must be {_RULE}, got nan")
    if timeout == -1:
        return -1
    if abs(timeout) > TIMEOUT_MAX:
        raise OverflowError(
            f"{_SAYS_TOO_LARGE}: timeout must be at most threading.TIMEOUT_MAX "
            f"({TIMEOUT_MAX}), got {timeout!r}"
        )
    if not blocking:
        raise ValueError(
            f"{_SAYS_NON_BLOCKING} (blocking=False, timeout={timeout!r}): pass one or the other"
        )
    if timeout < 0:
        raise ValueError(f"timeout must be {_RULE}, got {timeout!r}")
    return float(timeout)


class Lock:
    """A mutual-exclusion lock, usable wherever :class:`threading.Lock` is; records its owner.

    Like :class:`threading.Lock` (and unlike :class:`RLock`) any thread may release it.

    Complexity: acquire and release O(1).

    Example:
        >>> lock = Lock()
        >>> with lock:
        ...     lock.locked()
        True
        >>> lock.acquire(blocking=False), lock.acquire(blocking=False)
        (True, False)
        >>> lock.release()
    """

    __slots__ = ("__weakref__", "_block", "_owner")

    def __init__(self) -> None:
        self._block = _thread.allocate_lock()
        self._owner: int | None = None

    def acquire(self, blocking: bool = True, timeout: float = _FOREVER) -> bool:
        """Acquire the lock; block up to ``timeout`` seconds (``-1``: forever).

        Returns:
            True if acquired; False if not (``blocking=False`` or the timeout expired).

        Raises:
            ValueError: ``timeout`` given with ``blocking=False``, or negative other than ``-1``.
            TypeError: ``timeout`` is not a number.
            OverflowError: ``timeout`` exceeds :data:`threading.TIMEOUT_MAX`.
        """
        if timeout is not _FOREVER:
            timeout = _check_timeout(blocking, timeout)
        if self._block.acquire(blocking, timeout):
            self._owner = _get_ident()
            return True
        return False

    def release(self) -> None:
        """Release the lock.

        Raises:
            RuntimeError: the lock is not held.
        """
        if not self._block.locked():
            raise RuntimeError("release unlocked lock")
        self._owner = None
        self._block.release()

    def locked(self) -> bool:
        """True if some thread holds the lock."""
        return self._block.locked()

    @property
    def owner(self) -> int | None:
        """The ``threading.get_ident()`` of the thread that last acquired it, if held."""
        return self._owner if self._block.locked() else None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        # threading's format, "<locked _thread.lock object at 0x...>", plus the owner.
        cls = type(self)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if self._block.locked():
            return f"<locked {name} object owner={self._owner} at {id(self):#x}>"
        return f"<unlocked {name} object at {id(self):#x}>"

    def _at_fork_reinit(self) -> None:
        # threading.Lock's hook for a child process after fork(): start free.
        self._block = _thread.allocate_lock()
        self._owner = None

    def _check(self) -> None:
        """Assert the invariant: an unlocked lock has no owner."""
        if not self._block.locked():
            assert self._owner is None, f"unlocked Lock has owner {self._owner}"


class RLock:
    """A re-entrant lock with an owner and a recursion count, like :class:`threading.RLock`.

    Works as the lock of :class:`threading.Condition`: ``wait()`` releases every level and
    restores them afterwards.

    Complexity: acquire and release O(1).

    Example:
        >>> lock = RLock()
        >>> with lock, lock:
        ...     lock.count
        2
        >>> lock.locked()
        False
    """

    __slots__ = ("__weakref__", "_block", "_count", "_owner")

    def __init__(self) -> None:
        self._block = _thread.allocate_lock()
        self._owner: int | None = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = _FOREVER) -> bool:
        """Acquire, or re-enter if the calling thread already owns it.

        Returns:
            True if acquired (or re-entered); False if not.

        Raises:
            ValueError, TypeError, OverflowError: as :meth:`Lock.acquire`.
        """
        if timeout is not _FOREVER:
            timeout = _check_timeout(blocking, timeout)
        me = _get_ident()
        if self._owner == me:
            self._count += 1
            return True
        if not self._block.acquire(blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        return True

    def release(self) -> None:
        """Leave one level; the lock is free when the count drops to zero.

        Raises:
            RuntimeError: the calling thread does not own the lock.
        """
        if self._owner != _get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            self._block.release()

    def locked(self) -> bool:
        """True if some thread holds the lock."""
        return self._block.locked()

    @property
    def owner(self) -> int | None:
        """The owning thread's ``threading.get_ident()``, or None."""
        return self._owner

    @property
    def count(self) -> int:
        """The recursion depth (0 when free)."""
        return self._count

    # The three hooks threading.Condition looks for; without them wait() would release a
    # single recursion level and deadlock.
    def _is_owned(self) -> bool:
        return self._owner == _get_ident()

    def _release_save(self) -> tuple[int, int | None]:
        if not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, int | None]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _recursion_count(self) -> int:
        # threading.RLock's private query: the depth if the calling thread owns it, else 0.
        return self._count if self._owner == _get_ident() else 0

    def _at_fork_reinit(self) -> None:
        # threading.RLock's hook for a child process after fork(): start free.
        self._block = _thread.allocate_lock()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        # threading.RLock's format.
        cls = type(self)
        state = "locked" if self._block.locked() else "unlocked"
        return (
            f"<{state} {cls.__module__}.{cls.__qualname__} object owner={self._owner or 0} "
            f"count={self._count} at {id(self):#x}>"
        )

    def _check(self) -> None:
        """Assert the invariants: owner set iff count > 0 iff the inner lock is held."""
        assert self._count >= 0, self._count
        assert (self._owner is None) == (self._count == 0), (self._owner, self._count)
        assert self._block.locked() == (self._count > 0), (self._block.locked(), self._count)


class _Waiter:
    __slots__ = ("granted", "ident", "park", "write")

    def __init__(self, write: bool, ident: int) -> None:
        self.write = write
        self.ident = ident
        self.granted = False
        self.park = _thread.allocate_lock()
        self.park.acquire()


class _ReadView:
    """The read side of an :class:`RWLock`, shaped like a lock (for ``with``)."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RWLock) -> None:
        self._rw = rw

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._rw.acquire_read(blocking, timeout)

    def release(self) -> None:
        self._rw.release_read()

    def __enter__(self) -> bool:
        return self._rw.acquire_read()

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._rw.release_read()


class _WriteView:
    """The write side of an :class:`RWLock`, shaped like a lock (for ``with``)."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RWLock) -> None:
        self._rw = rw

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._rw.acquire_write(blocking, timeout)

    def release(self) -> None:
        self._rw.release_write()

    def __enter__(self) -> bool:
        return self._rw.acquire_write()

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._rw.release_write()


class RWLock:
    """A readers-writer lock with a ``"read"``, ``"write"`` or ``"fair"`` (default) policy.

    Not re-entrant: a thread must not take the write side twice (reported as
    :class:`RuntimeError`), nor the write side while it reads (readers are anonymous, so that
    self-deadlock cannot be detected: it waits, or times out).

    Args:
        policy: ``"read"`` (reader-preferring), ``"write"`` (writer-preferring) or ``"fair"``
            (arrival order; consecutive readers share).

    Raises:
        ValueError: unknown ``policy``.

    Complexity: uncontended acquire/release O(1); a release hands the lock to the waiters it
    admits, O(admitted).

    Example:
        >>> rw = RWLock("fair")
        >>> with rw.read_lock():
        ...     rw.readers
        1
        >>> with rw.write_lock():
        ...     rw.writer is not None
        True
    """

    __slots__ = (
        "__weakref__",
        "_gate",
        "_policy",
        "_queue",
        "_read_view",
        "_readers",
        "_write_view",
        "_writer",
    )

    def __init__(self, policy: RWPolicy = "fair") -> None:
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of 'read', 'write', 'fair', got {policy!r}")
        self._policy = policy
        self._gate = _new_gate()
        self._readers = 0
        self._writer: int | None = None
        self._queue: deque[_Waiter] = deque()
        self._read_view = _ReadView(self)
        self._write_view = _WriteView(self)

    @property
    def policy(self) -> str:
        """The admission policy."""
        return self._policy

    @property
    def readers(self) -> int:
        """How many threads hold the read side now."""
        return self._readers

    @property
    def writer(self) -> int | None:
        """The ident of the thread holding the write side, or None."""
        return self._writer

    def read_lock(self) -> _ReadView:
        """The read side as a lock object (``with rw.read_lock(): ...``)."""
        return self._read_view

    def write_lock(self) -> _WriteView:
        """The write side as a lock object (``with rw.write_lock(): ...``)."""
        return self._write_view

    def _reader_may_enter(self) -> bool:
        if self._writer is not None:
            return False
        if self._policy == "read":
            return True
        if self._policy == "fair":
            return not self._queue
        return not any(w.write for w in self._queue)

    def acquire_read(self, blocking: bool = True, timeout: float = _FOREVER) -> bool:
        """Take the read side.

        Returns:
            True if acquired; False if not (``blocking=False`` or timeout).

        Raises:
            RuntimeError: the calling thread holds the write side and would wait for itself
                forever (no timeout); :meth:`downgrade` is the way from writing to reading.
            ValueError, TypeError, OverflowError: bad ``timeout`` (as :meth:`Lock.acquire`).
        """
        if timeout is not _FOREVER:
            timeout = _check_timeout(blocking, timeout)
        gate = self._gate
        gate.get()
        if self._writer is None and (not self._queue or self._reader_may_enter()):
            self._readers += 1
            gate.put(None)
            return True
        if blocking and timeout == -1 and self._writer == _get_ident():
            gate.put(None)
            raise RuntimeError(
                "RWLock is not re-entrant: this thread holds the write side; call downgrade() "
                "to turn it into a read hold"
            )
        return self._wait(_Waiter(False, 0), blocking, timeout)

    def release_read(self) -> None:
        """Leave the read side.

        Raises:
            RuntimeError: no thread holds the read side.
        """
        gate = self._gate
        gate.get()
        readers = self._readers
        if readers <= 0:
            gate.put(None)
            raise RuntimeError("release_read: the read side of this RWLock is not held")
        self._readers = readers - 1
        if readers == 1 and self._queue:
            self._grant()
        gate.put(None)

    def acquire_write(self, blocking: bool = True, timeout: float = _FOREVER) -> bool:
        """Take the write side.

        Returns:
            True if acquired; False if not (``blocking=False`` or timeout).

        Raises:
            RuntimeError: the calling thread already holds the write side.
            ValueError, TypeError, OverflowError: bad ``timeout`` (as :meth:`Lock.acquire`).
        """
        if timeout is not _FOREVER:
            timeout = _check_timeout(blocking, timeout)
        me = _get_ident()
        gate = self._gate
        gate.get()
        if self._writer is None and not self._readers and not self._queue:
            self._writer = me
            gate.put(None)
            return True
        if self._writer == me:
            gate.put(None)
            raise RuntimeError("RWLock is not re-entrant: this thread already holds the write side")
        return self._wait(_Waiter(True, me), blocking, timeout)

    def release_write(self) -> None:
        """Leave the write side.

        Raises:
            RuntimeError: the calling thread does not hold the write side.
        """
        gate = self._gate
        gate.get()
        if self._writer != _get_ident():
            gate.put(None)
            raise RuntimeError("release_write: this thread does not hold the write side")
        self._writer = None
        if self._queue:
            self._grant()
        gate.put(None)

    def downgrade(self) -> None:
        """Turn the calling thread's write hold into a read hold, atomically.

        No writer can get in between; readers that the policy admits are let in with it.

        Raises:
            RuntimeError: the calling thread does not hold the write side.
        """
        gate = self._gate
        gate.get()
        if self._writer != _get_ident():
            gate.put(None)
            raise RuntimeError("downgrade: this thread does not hold the write side")
        self._writer = None
        self._readers += 1
        if self._queue:
            self._grant()
        gate.put(None)

    def _wait(self, waiter: _Waiter, blocking: bool, timeout: float) -> bool:
        # Called with the gate held; returns with it released.
        if not blocking:
            self._gate.put(None)
            return False
        self._queue.append(waiter)
        self._gate.put(None)
        try:
            got = waiter.park.acquire(True, timeout)
        except BaseException:
            # Interrupted while parked (KeyboardInterrupt): leave no waiter and no hold behind.
            self._abandon(waiter)
            raise
        if got:
            return True
        gate = self._gate
        gate.get()
        try:
            if waiter.granted:
                # Granted between the timeout and taking the gate: we hold it; keep it.
                return True
            self._queue.remove(waiter)
            # A departing writer may have been what held readers back.
            if self._queue:
                self._grant()
            return False
        finally:
            gate.put(None)

    def _abandon(self, waiter: _Waiter) -> None:
        """Withdraw ``waiter``, or give back what it was granted, and re-run the grant."""
        gate = self._gate
        gate.get()
        try:
            if waiter.granted:
                if waiter.write:
                    self._writer = None
                else:
                    self._readers -= 1
            else:
                self._queue.remove(waiter)
            if self._queue:
                self._grant()
        finally:
            gate.put(None)

    def _grant(self) -> None:
        """Hand the lock to the waiters the policy admits (gate held)."""
        queue = self._queue
        if self._writer is not None:
            return
        if self._policy == "fair":
            while queue:
                head = queue[0]
                if head.write:
                    if self._readers == 0:
                        self._hand(queue.popleft())
                    return
                self._hand(queue.popleft())
            return
        if self._policy == "write":
            first_writer = next((w for w in queue if w.write), None)
            if first_writer is not None:
                if self._readers == 0:
                    queue.remove(first_writer)
                    self._hand(first_writer)
                return
        waiting_readers = [w for w in queue if not w.write]
        if waiting_readers:
            for w in waiting_readers:
                queue.remove(w)
                self._hand(w)
            return
        if queue and self._readers == 0:
            self._hand(queue.popleft())

    def _hand(self, waiter: _Waiter) -> None:
        if waiter.write:
            self._writer = waiter.ident
        else:
            self._readers += 1
        waiter.granted = True
        waiter.park.release()

    def __repr__(self) -> str:
        return (
            f"<dskata RWLock policy={self._policy!r} readers={self._readers} "
            f"writer={self._writer} waiting={len(self._queue)}>"
        )

    def _check(self) -> None:
        """Assert the invariants: never readers and a writer together; counts non-negative."""
        gate = self._gate
        gate.get()
        try:
            assert self._readers >= 0, self._readers
            assert not (self._readers and self._writer is not None), (self._readers, self._writer)
            assert all(not w.granted for w in self._queue), "a granted waiter is still queued"
            if self._writer is None and not self._readers:
                assert not self._queue, "free RWLock with waiters left behind"
        finally:
            gate.put(None)


class StampedLock:
    """Java's ``StampedLock``: optimistic reads validated by stamp, plus read and write locks.

    Stamps are positive ints (0 means failure); a write stamp is only valid while that write
    lock is held, a read or optimistic stamp until the next writer enters. Writers waiting stop
    new readers, so writers do not starve. Not re-entrant.

    Complexity: try_optimistic_read and validate O(1) without locking; locks O(1) uncontended.

    Example:
        >>> sl = StampedLock()
        >>> stamp = sl.try_optimistic_read()
        >>> sl.validate(stamp)
        True
        >>> w = sl.write_lock()
        >>> sl.validate(stamp)
        False
        >>> sl.unlock_write(w)
        >>> r = sl.read_lock()
        >>> sl.validate(r), sl.read_lock_count
        (True, 1)
        >>> sl.unlock_read(r)
    """

    __slots__ = ("__weakref__", "_cond", "_opt", "_readers", "_seq", "_waiting_writers")

    # Stamp layout: (seq << 2) | mode, where seq counts writer entries and exits (odd while
    # written) and mode says what the stamp holder has.
    _OPT = 0
    _READ = 1
    _WRITE = 2

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._seq = 2
        self._opt = self._seq << 2
        self._readers = 0
        self._waiting_writers = 0

    # -- optimistic reads: no lock at all ---------------------------------------------------
    def try_optimistic_read(self) -> int:
        """A stamp to validate later, or 0 if a writer holds the lock now.

        Complexity: O(1), lock-free.
        """
        return self._opt

    def validate(self, stamp: int) -> bool:
        """True if no writer has entered since ``stamp`` was issued (0 is never valid).

        Complexity: O(1), lock-free.
        """
        return stamp >> 2 == self._seq

    # -- pessimistic locks --------------------------------------------------------------------
    def read_lock(self, timeout: float | None = None) -> int:
        """Block until the read lock is held; return its stamp (0 if ``timeout`` expires)."""
        wait = _timeout(timeout)
        with self._cond:
            if not self._cond.wait_for(
                lambda: not self._seq & 1 and not self._waiting_writers, wait
            ):
                return 0
            self._readers += 1
            return self._seq << 2 | self._READ

    def try_read_lock(self) -> int:
        """The read lock's stamp if it can be had without waiting, else 0."""
        with self._cond:
            if self._seq & 1 or self._waiting_writers:
                return 0
            self._readers += 1
            return self._seq << 2 | self._READ

    def write_lock(self, timeout: float | None = None) -> int:
        """Block until the write lock is held; return its stamp (0 if ``timeout`` expires)."""
        wait = _timeout(timeout)
        with self._cond:
            self._waiting_writers += 1
            try:
                if not self._cond.wait_for(lambda: not self._seq & 1 and not self._readers, wait):
                    return 0
            finally:
                self._waiting_writers -= 1
                self._cond.notify_all()
            return self._enter_write()

    def try_write_lock(self) -> int:
        """The write lock's stamp if it can be had without waiting, else 0."""
        with self._cond:
            if self._seq & 1 or self._readers:
                return 0
            return self._enter_write()

    def _enter_write(self) -> int:
        self._seq += 1
        self._opt = 0
        return self._seq << 2 | self._WRITE

    def _exit_write(self) -> None:
        self._seq += 1
        self._opt = self._seq << 2
        self._cond.notify_all()

    def unlock_read(self, stamp: int) -> None:
        """Release a read lock.

        Raises:
            ValueError: ``stamp`` is not a read stamp of the current read phase.
        """
        with self._cond:
            if stamp & 3 != self._READ or stamp >> 2 != self._seq or not self._readers:
                raise ValueError(f"stamp must be a held read-lock stamp, got {stamp!r}")
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def unlock_write(self, stamp: int) -> None:
        """Release the write lock.

        Raises:
            ValueError: ``stamp`` is not the stamp of the held write lock.
        """
        with self._cond:
            if stamp & 3 != self._WRITE or stamp >> 2 != self._seq or not self._seq & 1:
                raise ValueError(f"stamp must be the held write-lock stamp, got {stamp!r}")
            self._exit_write()

    def unlock(self, stamp: int) -> None:
        """Release whichever lock ``stamp`` holds (read or write)."""
        if type(stamp) is int and stamp & 3 == self._WRITE:
            self.unlock_write(stamp)
        else:
            self.unlock_read(stamp)

    # -- conversions ---------------------------------------------------------------------------
    def try_convert_to_write_lock(self, stamp: int) -> int:
        """Upgrade ``stamp`` to a write stamp if possible at once, else 0.

        A write stamp is returned as is; a read stamp converts if its holder is the only
        reader; a valid optimistic stamp converts if the lock is free.
        """
        with self._cond:
            if stamp >> 2 != self._seq:
                return 0
            mode = stamp & 3
            if mode == self._WRITE:
                return stamp
            if mode == self._READ and self._readers == 1:
                self._readers = 0
                return self._enter_write()
            if mode == self._OPT and not self._readers:
                return self._enter_write()
            return 0

    def try_convert_to_read_lock(self, stamp: int) -> int:
        """Downgrade a write stamp (or promote a valid optimistic stamp) to a read stamp, else 0."""
        with self._cond:
            if stamp >> 2 != self._seq:
                return 0
            mode = stamp & 3
            if mode == self._READ:
                return stamp
            if mode == self._WRITE:
                self._readers += 1
                self._exit_write()
                return self._seq << 2 | self._READ
            if mode == self._OPT and not self._waiting_writers:
                self._readers += 1
                return self._seq << 2 | self._READ
            return 0

    def try_convert_to_optimistic_read(self, stamp: int) -> int:
        """Release the lock ``stamp`` holds and return an optimistic stamp, or 0 if invalid."""
        with self._cond:
            if stamp >> 2 != self._seq:
                return 0
            mode = stamp & 3
            if mode == self._WRITE:
                self._exit_write()
            elif mode == self._READ:
                if not self._readers:
                    return 0
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()
            return self._seq << 2

    @property
    def is_write_locked(self) -> bool:
        """True while a writer holds the lock."""
        return bool(self._seq & 1)

    @property
    def read_lock_count(self) -> int:
        """How many read locks are held."""
        return self._readers

    def __repr__(self) -> str:
        return (
            f"<dskata StampedLock seq={self._seq} readers={self._readers} "
            f"write_locked={bool(self._seq & 1)}>"
        )

    def _check(self) -> None:
        """Assert the invariants: readers and a writer never together; the optimistic stamp."""
        with self._cond:
            assert self._readers >= 0
            assert self._waiting_writers >= 0
            if self._seq & 1:
                assert self._readers == 0, "readers inside while write-locked"
                assert self._opt == 0
            else:
                assert self._opt == self._seq << 2


def _timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be None or a number of seconds, got {timeout!r} "
            f"of type {type(timeout).__name__}"
        )
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be None or a non-negative number, got {timeout!r}")
    if timeout >= TIMEOUT_MAX:
        return None  # longer than any wait the platform can express (inf included): forever
    return float(timeout)
