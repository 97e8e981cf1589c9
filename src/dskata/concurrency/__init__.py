"""Concurrency control: atomics and CAS, locks, optimistic versioning, a lock manager with
deadlock detection, and a linearizability checker to prove them right.

Modules: :mod:`~dskata.concurrency.atomics` (``AtomicInteger``, ``AtomicReference``,
``TreiberStack``), :mod:`~dskata.concurrency.locks` (``Lock``, ``RLock``, ``RWLock``,
``StampedLock``), :mod:`~dskata.concurrency.optimistic` (``VersionedStore``, ``retry``,
``ConflictError``), :mod:`~dskata.concurrency.lockmanager` (``LockManager``, ``DeadlockError``),
:mod:`~dskata.concurrency.linearizability` (``check_linearizable`` and its models),
:mod:`~dskata.concurrency.stress` (the stress harness) and
:mod:`~dskata.concurrency.experiments` (optimistic vs pessimistic, measured).
"""

from dskata.concurrency.atomics import AtomicInteger, AtomicReference, TreiberStack
from dskata.concurrency.linearizability import (
    CASRegister,
    CheckResult,
    Counter,
    HistoryRecorder,
    Keyed,
    Model,
    Mutex,
    Operation,
    Queue,
    Register,
    Stack,
    VersionedRegister,
    check_linearizable,
)
from dskata.concurrency.lockmanager import (
    DeadlockError,
    LockManager,
    LockTable,
    LockTimeoutError,
)
from dskata.concurrency.locks import Lock, RLock, RWLock, StampedLock
from dskata.concurrency.optimistic import ConflictError, Transaction, VersionedStore, retry
from dskata.concurrency.stress import (
    StressTimeout,
    inject_switches,
    run_threads,
    switch_interval,
    switch_point,
)

__all__ = [
    "AtomicInteger",
    "AtomicReference",
    "CASRegister",
    "CheckResult",
    "ConflictError",
    "Counter",
    "DeadlockError",
    "HistoryRecorder",
    "Keyed",
    "Lock",
    "LockManager",
    "LockTable",
    "LockTimeoutError",
    "Model",
    "Mutex",
    "Operation",
    "Queue",
    "RLock",
    "RWLock",
    "Register",
    "Stack",
    "StampedLock",
    "StressTimeout",
    "Transaction",
    "TreiberStack",
    "VersionedRegister",
    "VersionedStore",
    "check_linearizable",
    "inject_switches",
    "retry",
    "run_threads",
    "switch_interval",
    "switch_point",
]
