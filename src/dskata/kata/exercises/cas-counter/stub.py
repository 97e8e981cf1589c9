"""Kata `cas-counter`: an atomic integer built on compare-and-set, and a Treiber stack.

Fill in each method; run `dskata kata check cas-counter` after each step.
Read the instructions first. You may use `threading.Lock` (Python has no CAS instruction: the
lock makes compare-and-set indivisible) but nothing from `dskata.concurrency`.
"""

from __future__ import annotations

import threading  # noqa: F401  (threading.Lock() makes one compare-and-set indivisible)
from typing import Any


class AtomicInteger:
    """An integer that threads can update without losing each other's writes."""

    def __init__(self, value: int = 0) -> None:
        """Step 1. Store the value (TypeError unless it is an int; bool is not accepted)."""
        raise NotImplementedError("step 1: store the initial value")

    def get(self) -> int:
        """Step 1. The current value."""
        raise NotImplementedError("step 1: get")

    def set(self, value: int) -> None:
        """Step 1. Replace the value (TypeError unless an int)."""
        raise NotImplementedError("step 1: set")

    def compare_and_set(self, expected: int, new: int) -> bool:
        """Step 1. If the value == expected, store new and return True; else return False.
        The compare and the store must be one indivisible step."""
        raise NotImplementedError("step 1: compare_and_set")

    def add_and_get(self, delta: int) -> int:
        """Step 2. Add delta and return the new value, as a retry loop around
        compare_and_set: read, compute, CAS against what you read, repeat if it failed."""
        raise NotImplementedError("step 2: a CAS retry loop")

    def increment_and_get(self) -> int:
        """Step 2. add_and_get(1)."""
        raise NotImplementedError("step 2: increment_and_get")


class TreiberStack:
    """A lock-free LIFO stack: the top node lives in one CAS-able reference."""

    def __init__(self) -> None:
        """Step 3. An empty stack."""
        raise NotImplementedError("step 3: an empty stack")

    def push(self, item: Any) -> None:
        """Step 3. Put item on top with a CAS retry loop on the top reference."""
        raise NotImplementedError("step 3: push")

    def pop(self) -> Any:
        """Step 3. Remove and return the top item (IndexError if empty), by CAS retry."""
        raise NotImplementedError("step 3: pop")

    def peek(self) -> Any:
        """Step 3. The top item without removing it (IndexError if empty)."""
        raise NotImplementedError("step 3: peek")

    def __len__(self) -> int:
        """Step 3. The number of items (walk the nodes from the top)."""
        raise NotImplementedError("step 3: len")
