"""Kata `optimistic-store`: a versioned store, conflict detection, retries, transactions.

Fill in each part; run `dskata kata check optimistic-store` after each step.
You may use `threading` and `random`, but nothing from `dskata.concurrency`.
"""

from __future__ import annotations

import random  # noqa: F401  (a private random.Random(seed) for the jitter)
import threading  # noqa: F401  (one lock makes check-then-write indivisible)
import time
from collections.abc import Callable, Hashable
from typing import Any


class ConflictError(Exception):
    """A write was computed from a version that is no longer current."""

    def __init__(self, key: Hashable, expected: int, actual: int) -> None:
        """Step 2. Keep key, expected and actual as attributes; say all three in the message."""
        raise NotImplementedError("step 2: ConflictError")


class VersionedStore:
    """Key -> (value, version). Version 0 means "absent"."""

    def __init__(self) -> None:
        """Step 1. An empty store."""
        raise NotImplementedError("step 1: an empty store")

    def get(self, key: Hashable) -> tuple[Any, int]:
        """Step 1. (value, version); KeyError if the key is absent."""
        raise NotImplementedError("step 1: get")

    def version(self, key: Hashable) -> int:
        """Step 1. The key's version, 0 if absent."""
        raise NotImplementedError("step 1: version")

    def put(self, key: Hashable, value: Any, expected_version: int | None = None) -> int:
        """Step 1: store and return a new, higher version.
        Step 2: if expected_version is not None and differs from the current version (0 when
        absent), raise ConflictError and change nothing; a negative one is a ValueError."""
        raise NotImplementedError("step 1: put")

    def delete(self, key: Hashable, expected_version: int | None = None) -> None:
        """Step 2. Remove the key (KeyError if absent; ConflictError if the version is stale).
        A version used before the delete must never become valid again."""
        raise NotImplementedError("step 2: delete")

    def begin(self) -> Any:
        """Step 4. A transaction: get / put buffered, commit validates every version read and
        applies all writes at once, or raises ConflictError and applies none; abort discards.
        Usable as a context manager (commit on success, abort on an exception)."""
        raise NotImplementedError("step 4: transactions")


def retry(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    on: type[BaseException] | tuple[type[BaseException], ...] = ConflictError,
    attempts: int = 5,
    backoff: float = 0.001,
    max_backoff: float = 0.1,
    seed: int | None = 0,
    sleep: Callable[[float], object] = time.sleep,
) -> Any:
    """Step 3. A decorator (bare `@retry` or `@retry(...)`) that calls the function again when
    it raises `on`, at most `attempts` calls in all, re-raising the last error. Before retry n
    (n = 1, 2, ...) call sleep(d) with d uniform in [0, min(max_backoff, backoff * 2**(n-1))].
    ValueError at decoration time for attempts < 1 or a negative backoff."""
    raise NotImplementedError("step 3: retry with back-off")
