"""Kata `lock-manager`: shared/exclusive locks, strict 2PL, timeouts, deadlock detection.

Fill in each part; run `dskata kata check lock-manager` after each step.
You may use `threading`, but nothing from `dskata.concurrency`.
"""

from __future__ import annotations

import threading  # noqa: F401  (one Lock for the lock table, a Condition per waiter)
from collections.abc import Hashable
from typing import Any


class DeadlockError(Exception):
    """Step 4. Raised in the victim's lock() call; the victim has been aborted."""


class LockTimeoutError(TimeoutError):
    """Step 1. A lock was not granted within its timeout (timeout=0: not at once)."""


class LockManager:
    """Shared ("S") and exclusive ("X") locks on named resources, for transactions."""

    def __init__(self) -> None:
        """Step 1. An empty lock table."""
        raise NotImplementedError("step 1: the lock table")

    def begin(self) -> Transaction:
        """Step 1. A new transaction with a fresh, increasing id."""
        raise NotImplementedError("step 1: begin")


class Transaction:
    """A strict two-phase-locking transaction."""

    id: int
    state: str  # "active", "committed" or "aborted"

    def lock(self, resource: Hashable, mode: str = "S", timeout: float | None = None) -> None:
        """Step 1: grant compatible requests (S with S only); ValueError for a bad mode; with
        timeout=0 raise LockTimeoutError at once if the lock is not free for you.
        Step 2: otherwise wait until granted. Step 3: give up after `timeout` seconds with
        LockTimeoutError, withdrawing the request. Step 4: if waiting would close a cycle in the
        wait-for graph, abort exactly one transaction of the cycle (its lock() raises
        DeadlockError). Re-locking what you hold returns at once; X on your S upgrades."""
        raise NotImplementedError("step 1: lock")

    def commit(self) -> None:
        """Step 2. Release every lock; state "committed". RuntimeError if not active."""
        raise NotImplementedError("step 2: commit")

    def abort(self) -> None:
        """Step 2. Release every lock; state "aborted"."""
        raise NotImplementedError("step 2: abort")

    def __enter__(self) -> Transaction:
        """Step 2. Return self."""
        raise NotImplementedError("step 2: context manager")

    def __exit__(self, *exc: Any) -> None:
        """Step 2. Commit if no exception (and still active), else abort."""
        raise NotImplementedError("step 2: context manager")
