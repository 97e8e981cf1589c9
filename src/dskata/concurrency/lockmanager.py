"""Pessimistic concurrency control: a lock manager with strict 2PL and deadlock detection.

Theory of operation:
    A transaction locks what it touches, *shared* (``"S"``) to read and *exclusive* (``"X"``)
    to write; S is compatible only with S (Gray, Lorie, Putzolu & Traiger, "Granularity of
    Locks and Degrees of Consistency", 1976). Under *strict two-phase locking* it releases
    nothing before it commits or aborts, which makes schedules serialisable and recoverable
    (Bernstein, Hadzilacos & Goodman, *Concurrency Control and Recovery*, 1987, §3.2–3.4).

    Each resource keeps its holders and a FIFO queue of waiting requests. A request is granted
    at once only if it is compatible with every other holder *and* nobody is queued before it
    (no barging, so a writer is not starved by a stream of readers); an upgrade S→X goes to the
    front of the queue, since its owner already holds the resource.

    Two-phase locking can deadlock. A transaction that waits adds edges to the *wait-for graph*:
    to every incompatible holder and every incompatible request queued ahead of it. A new cycle
    can only appear when a request starts waiting, and it must pass through that request's
    transaction, so the check runs exactly then, from that node (Bernstein et al. §3.11). The
    youngest transaction on the cycle (the highest id: least work lost) is the victim: it is
    aborted, its locks released, and its blocked ``lock()`` call raises :class:`DeadlockError`.
    Each cycle is broken by exactly one victim; cycles never form without a waiting request, so
    there are no false deadlocks.

    :class:`LockTable` is that algorithm as a pure state machine (no threads, no clock), which
    tests drive through millions of deterministic schedules. :class:`LockManager` wraps it for
    real threads: blocking, timeouts and waking the granted or the victims.

Thread safety: :class:`LockManager` is safe to share; a :class:`Transaction` belongs to the thread
that runs it. :class:`LockTable` is not thread-safe (the manager serialises it).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

__all__ = [
    "COMPATIBLE",
    "DeadlockError",
    "LockManager",
    "LockMode",
    "LockTable",
    "LockTimeoutError",
    "RequestResult",
    "Transaction",
]

LockMode = Literal["S", "X"]

#: The compatibility matrix: may a lock of the first mode coexist with one of the second?
COMPATIBLE: dict[tuple[str, str], bool] = {
    ("S", "S"): True,
    ("S", "X"): False,
    ("X", "S"): False,
    ("X", "X"): False,
}

#: ``STRONGER[held][wanted]``: does holding ``held`` already cover a request for ``wanted``?
_COVERS: dict[tuple[str, str], bool] = {
    ("S", "S"): True,
    ("S", "X"): False,
    ("X", "S"): True,
    ("X", "X"): True,
}


class DeadlockError(Exception):
    """This transaction was chosen as the victim of a deadlock and has been aborted.

    Attributes:
        victim: the aborted transaction's id.
        cycle: the transaction ids on the wait-for cycle, starting at the victim.
    """

    def __init__(self, victim: int, cycle: list[int]) -> None:
        self.victim = victim
        self.cycle = cycle
        path = " -> ".join(str(t) for t in [*cycle, cycle[0]])
        super().__init__(
            f"transaction {victim} was aborted to break the deadlock cycle {path} (wait-for graph)"
        )


class LockTimeoutError(TimeoutError):
    """A lock request was not granted within its timeout; the transaction stays active."""

    def __init__(self, txn: int, resource: Hashable, mode: str, timeout: float) -> None:
        self.txn = txn
        self.resource = resource
        self.mode = mode
        self.timeout = timeout
        super().__init__(
            f"transaction {txn} did not get an {mode} lock on {resource!r} within {timeout} s"
        )


def _check_mode(mode: object) -> LockMode:
    if mode == "S" or mode == "X":
        return mode
    raise ValueError(f"mode must be 'S' (shared) or 'X' (exclusive), got {mode!r}")


def _check_resource(resource: object) -> None:
    try:
        hash(resource)
    except TypeError:
        raise TypeError(
            f"resource must be hashable, got {resource!r} of type {type(resource).__name__}"
        ) from None


@dataclass
class _Request:
    txn: int
    resource: Hashable
    mode: LockMode
    upgrade: bool


@dataclass
class _Resource:
    holders: dict[int, LockMode] = field(default_factory=dict)
    queue: list[_Request] = field(default_factory=list)


@dataclass
class RequestResult:
    """What a :meth:`LockTable.request` did.

    Attributes:
        status: ``"granted"``, ``"waiting"``, ``"busy"`` (not grantable now and the caller
            would not wait) or ``"victim"`` (the requester was aborted to break a deadlock).
        victims: ``(victim, cycle)`` for each transaction aborted to break a cycle.
        granted: ``(txn, resource, mode)`` for each waiting request granted as a consequence.
    """

    status: Literal["granted", "waiting", "busy", "victim"]
    victims: list[tuple[int, list[int]]] = field(default_factory=list)
    granted: list[tuple[int, Hashable, LockMode]] = field(default_factory=list)


class LockTable:
    """The lock manager's state machine: holders, FIFO queues and the wait-for graph.

    Transactions are ints; a lower id is older. A transaction waits for at most one request.

    Complexity: request O(queue + holders) plus O(V + E) for the cycle search when it waits;
    release_all O(locks held x queue).

    Example:
        >>> table = LockTable()
        >>> table.request(1, "a", "X").status, table.request(2, "b", "X").status
        ('granted', 'granted')
        >>> table.request(1, "b", "X").status         # 1 waits for 2
        'waiting'
        >>> result = table.request(2, "a", "X")       # 2 would wait for 1: a cycle
        >>> result.status, result.victims, result.granted
        ('victim', [(2, [2, 1])], [(1, 'b', 'X')])
    """

    def __init__(self) -> None:
        self._resources: dict[Hashable, _Resource] = {}
        self._held: dict[int, dict[Hashable, LockMode]] = {}
        self._waiting: dict[int, _Request] = {}

    # -- queries -----------------------------------------------------------------------------
    def holders(self, resource: Hashable) -> dict[int, LockMode]:
        """``{txn: mode}`` holding ``resource``."""
        res = self._resources.get(resource)
        return dict(res.holders) if res else {}

    def held(self, txn: int) -> dict[Hashable, LockMode]:
        """``{resource: mode}`` held by ``txn``."""
        return dict(self._held.get(txn, {}))

    def waiting(self, txn: int) -> tuple[Hashable, LockMode] | None:
        """``(resource, mode)`` that ``txn`` waits for, or None."""
        req = self._waiting.get(txn)
        return None if req is None else (req.resource, req.mode)

    def _blockers(self, req: _Request) -> list[int]:
        """Whom ``req`` waits for: incompatible holders and incompatible requests ahead of it."""
        res = self._resources[req.resource]
        out = [t for t, m in res.holders.items() if t != req.txn and not COMPATIBLE[m, req.mode]]
        for ahead in res.queue:
            if ahead is req:
                break
            if ahead.txn != req.txn and not COMPATIBLE[ahead.mode, req.mode]:
                out.append(ahead.txn)
        return out

    def wait_for_graph(self) -> dict[int, set[int]]:
        """The wait-for graph: ``{waiting txn: {txns it waits for}}``."""
        return {t: set(self._blockers(req)) for t, req in self._waiting.items()}

    def find_cycle(self, start: int) -> list[int] | None:
        """A wait-for cycle through ``start`` (as a list of txns from ``start``), or None."""
        if start not in self._waiting:
            return None
        path = [start]
        stack = [iter(self._blockers(self._waiting[start]))]
        visited = {start}
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
                continue
            if nxt == start:
                return list(path)
            if nxt in visited or nxt not in self._waiting:
                continue
            visited.add(nxt)
            path.append(nxt)
            stack.append(iter(self._blockers(self._waiting[nxt])))
        return None

    # -- transitions ---------------------------------------------------------------------------
    def request(
        self,
        txn: int,
        resource: Hashable,
        mode: LockMode,
        *,
        wait: bool = True,
        detect: bool = True,
    ) -> RequestResult:
        """Ask for ``mode`` on ``resource`` for ``txn``; grant, queue, or break a deadlock.

        Args:
            txn: the transaction id.
            resource: any hashable name.
            mode: ``"S"`` or ``"X"``.
            wait: if False, a request that cannot be granted now is not queued (``"busy"``).
            detect: if False, skip deadlock detection (leave cycles to timeouts).

        Raises:
            ValueError: bad ``mode``, or ``txn`` is already waiting.
            TypeError: ``resource`` is not hashable.
        """
        mode = _check_mode(mode)
        _check_resource(resource)
        if txn in self._waiting:
            raise ValueError(f"transaction {txn} is already waiting; it cannot request again")
        res = self._resources.get(resource)
        if res is None:
            res = self._resources[resource] = _Resource()
        held = res.holders.get(txn)
        if held is not None and _COVERS[held, mode]:
            return RequestResult("granted")
        upgrade = held is not None
        if (upgrade or not res.queue) and all(
            t == txn or COMPATIBLE[m, mode] for t, m in res.holders.items()
        ):
            self._grant(res, txn, resource, mode)
            return RequestResult("granted")
        if not wait:
            if not res.holders and not res.queue:
                del self._resources[resource]
            return RequestResult("busy")
        req = _Request(txn, resource, mode, upgrade)
        if upgrade:
            # Upgrades go first (their owner already holds the resource), in arrival order.
            pos = 0
            while pos < len(res.queue) and res.queue[pos].upgrade:
                pos += 1
            res.queue.insert(pos, req)
        else:
            res.queue.append(req)
        self._waiting[txn] = req
        result = RequestResult("waiting")
        while detect and txn in self._waiting:
            cycle = self.find_cycle(txn)
            if cycle is None:
                break
            victim = max(cycle)
            at = cycle.index(victim)
            result.victims.append((victim, cycle[at:] + cycle[:at]))
            result.granted.extend(self.release_all(victim))
        if any(v == txn for v, _ in result.victims):
            result.status = "victim"
        elif txn not in self._waiting:
            result.status = "granted"
        result.granted = [g for g in result.granted if g[0] != txn]
        return result

    def cancel(self, txn: int) -> list[tuple[int, Hashable, LockMode]]:
        """Withdraw ``txn``'s waiting request (a timeout); return the requests granted since."""
        req = self._waiting.pop(txn, None)
        if req is None:
            return []
        res = self._resources[req.resource]
        res.queue.remove(req)
        granted = self._regrant(req.resource)
        self._forget_if_idle(req.resource)
        return granted

    def release_all(self, txn: int) -> list[tuple[int, Hashable, LockMode]]:
        """Release every lock of ``txn`` and withdraw its request (commit or abort).

        Returns:
            ``(txn, resource, mode)`` for each waiting request granted as a result.
        """
        granted = self.cancel(txn)
        for resource in self._held.pop(txn, {}):
            del self._resources[resource].holders[txn]
            granted.extend(self._regrant(resource))
            self._forget_if_idle(resource)
        return granted

    def _grant(self, res: _Resource, txn: int, resource: Hashable, mode: LockMode) -> None:
        res.holders[txn] = mode
        self._held.setdefault(txn, {})[resource] = mode

    def _regrant(self, resource: Hashable) -> list[tuple[int, Hashable, LockMode]]:
        res = self._resources[resource]
        granted: list[tuple[int, Hashable, LockMode]] = []
        while res.queue:
            req = res.queue[0]
            if not all(t == req.txn or COMPATIBLE[m, req.mode] for t, m in res.holders.items()):
                break
            res.queue.pop(0)
            del self._waiting[req.txn]
            self._grant(res, req.txn, resource, req.mode)
            granted.append((req.txn, resource, req.mode))
        return granted

    def _forget_if_idle(self, resource: Hashable) -> None:
        res = self._resources.get(resource)
        if res is not None and not res.holders and not res.queue:
            del self._resources[resource]

    def _check(self) -> None:
        """Assert the invariants: compatible holders, consistent indexes, an acyclic graph."""
        for resource, res in self._resources.items():
            assert res.holders or res.queue, f"idle resource {resource!r} kept"
            modes = list(res.holders.values())
            assert "X" not in modes or len(modes) == 1, f"{resource!r} held by {res.holders}"
            for t, m in res.holders.items():
                assert self._held[t][resource] == m
            for req in res.queue:
                assert self._waiting[req.txn] is req
            if res.queue:
                head = res.queue[0]
                blocked = not all(
                    t == head.txn or COMPATIBLE[m, head.mode] for t, m in res.holders.items()
                )
                assert blocked, f"head of {resource!r}'s queue is grantable but waits"
        for t, locks in self._held.items():
            for resource, m in locks.items():
                assert self._resources[resource].holders[t] == m
        for t in self._waiting:
            assert self.find_cycle(t) is None, f"undetected deadlock through {t}"


_TxnState = Literal["active", "committed", "aborted"]


class Transaction:
    """A strict two-phase-locking transaction of a :class:`LockManager`.

    Locks accumulate until :meth:`commit` or :meth:`abort` releases them all. As a context
    manager it commits on success and aborts on an exception.

    Example:
        >>> manager = LockManager()
        >>> with manager.begin() as txn:
        ...     txn.lock("a", "S")
        ...     txn.lock("a", "X")           # upgrade: the only reader may become the writer
        ...     txn.locks
        {'a': 'X'}
        >>> txn.state
        'committed'
    """

    def __init__(self, manager: LockManager, txn_id: int) -> None:
        self._manager = manager
        self.id = txn_id
        self._state: _TxnState = "active"
        self._cond = threading.Condition(manager._mutex)
        self._wake: DeadlockError | bool = False
        self.abort_reason: DeadlockError | None = None

    @property
    def state(self) -> str:
        """``"active"``, ``"committed"`` or ``"aborted"``."""
        return self._state

    @property
    def locks(self) -> dict[Hashable, str]:
        """``{resource: mode}`` held now."""
        with self._manager._mutex:
            return dict(self._manager._table.held(self.id))

    def lock(self, resource: Hashable, mode: str = "S", timeout: float | None = None) -> None:
        """Acquire ``mode`` on ``resource``, waiting up to ``timeout`` seconds (None: forever).

        Re-requesting a held lock returns at once; ``"X"`` on an ``"S"`` lock upgrades.

        Raises:
            DeadlockError: this transaction was chosen as a deadlock victim; it is aborted.
            LockTimeoutError: not granted in time; the transaction stays active.
            ValueError, TypeError: bad ``mode``, ``resource`` or ``timeout``.
            RuntimeError: the transaction is no longer active.

        Complexity: O(queue + holders) plus the cycle search when it must wait.
        """
        m = _check_mode(mode)
        _check_resource(resource)
        wait = _check_timeout(timeout)
        self._manager._lock(self, resource, m, wait)

    def commit(self) -> None:
        """Release every lock and end the transaction.

        Raises:
            RuntimeError: the transaction is not active (e.g. it was a deadlock victim).
        """
        self._manager._finish(self, "committed")

    def abort(self) -> None:
        """Release every lock and end the transaction (idempotent once aborted)."""
        if self._state == "aborted":
            return
        self._manager._finish(self, "aborted")

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if tp is None and self._state == "active":
            self.commit()
        elif self._state == "active":
            self.abort()

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self._state}>"


def _check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be None or a number of seconds, got {timeout!r} "
            f"of type {type(timeout).__name__}"
        )
    if not timeout >= 0:
        raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout!r}")
    if timeout >= threading.TIMEOUT_MAX:
        return None  # longer than any wait the platform can express (inf included): forever
    return float(timeout)


class LockManager:
    """Shared and exclusive locks on named resources for strict-2PL transactions.

    Deadlocks are detected the moment a wait closes a cycle in the wait-for graph; the youngest
    transaction on the cycle is aborted and its waiting ``lock()`` raises
    :class:`DeadlockError`.

    Complexity: see :class:`LockTable`; waking is O(1) per granted request.

    Example:
        >>> manager = LockManager()
        >>> t1, t2 = manager.begin(), manager.begin()
        >>> t1.lock("row", "S"); t2.lock("row", "S")       # readers share
        >>> try:
        ...     t2.lock("row", "X", timeout=0)             # a writer must wait for t1
        ... except LockTimeoutError as exc:
        ...     print(exc)
        transaction 2 did not get an X lock on 'row' within 0.0 s
        >>> t1.commit(); t2.lock("row", "X", timeout=0); t2.commit()
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._table = LockTable()
        self._ids = itertools.count(1)
        self._txns: dict[int, Transaction] = {}
        self.deadlocks = 0
        self.timeouts = 0

    def begin(self) -> Transaction:
        """Start a transaction (ids increase: a higher id is younger)."""
        with self._mutex:
            txn = Transaction(self, next(self._ids))
            self._txns[txn.id] = txn
            return txn

    def wait_for_graph(self) -> dict[int, set[int]]:
        """A snapshot of the wait-for graph."""
        with self._mutex:
            return self._table.wait_for_graph()

    def active(self) -> list[int]:
        """Ids of the transactions still active."""
        with self._mutex:
            return sorted(self._txns)

    def _lock(
        self, txn: Transaction, resource: Hashable, mode: LockMode, wait: float | None
    ) -> None:
        with self._mutex:
            if txn._state != "active":
                raise RuntimeError(
                    f"transaction {txn.id} is {txn._state}"
                    + (f" ({txn.abort_reason})" if txn.abort_reason else "")
                )
            result = self._table.request(txn.id, resource, mode, wait=wait != 0)
            self._apply(result)
            if result.status == "granted":
                return
            if result.status == "busy":
                self.timeouts += 1
                raise LockTimeoutError(txn.id, resource, mode, 0.0)
            if result.status == "victim":
                reason = txn.abort_reason
                assert reason is not None
                raise reason
            txn._wake = False
            try:
                txn._cond.wait_for(lambda: txn._wake is not False, wait)
            except BaseException:
                # Interrupted (KeyboardInterrupt in the waiting thread): withdraw the request so
                # the table does not keep a waiter nobody will collect; a grant that raced in
                # stays held until commit or abort, like any other lock.
                if txn._wake is False:
                    self._apply(RequestResult("waiting", granted=self._table.cancel(txn.id)))
                raise
            woke = txn._wake
            txn._wake = False
            if isinstance(woke, DeadlockError):
                raise woke
            if woke is True:
                return
            self._apply(RequestResult("waiting", granted=self._table.cancel(txn.id)))
            self.timeouts += 1
            raise LockTimeoutError(txn.id, resource, mode, 0.0 if wait is None else wait)

    def _apply(self, result: RequestResult) -> None:
        # Mutex held: end the victims and wake everyone whose request was decided.
        for victim_id, cycle in result.victims:
            self.deadlocks += 1
            victim = self._txns.pop(victim_id)
            victim._state = "aborted"
            victim.abort_reason = DeadlockError(victim_id, cycle)
            victim._wake = victim.abort_reason
            victim._cond.notify()
        for txn_id, _, _ in result.granted:
            waiter = self._txns[txn_id]
            waiter._wake = True
            waiter._cond.notify()

    def _finish(self, txn: Transaction, state: _TxnState) -> None:
        with self._mutex:
            if txn._state != "active":
                raise RuntimeError(
                    f"transaction {txn.id} is already {txn._state}"
                    + (f" ({txn.abort_reason})" if txn.abort_reason else "")
                )
            txn._state = state
            self._txns.pop(txn.id, None)
            self._apply(RequestResult("granted", granted=self._table.release_all(txn.id)))

    def _check(self) -> None:
        """Assert the invariants of the table and that only active transactions hold locks."""
        with self._mutex:
            self._table._check()
            for t in self._table._held:
                assert t in self._txns, f"finished transaction {t} still holds locks"
