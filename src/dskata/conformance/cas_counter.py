"""Contract of the ``cas-counter`` kata: a CAS counter and a Treiber stack that lose nothing.

Surface under test: ``impl.AtomicInteger(value=0)`` with ``get``, ``set``,
``compare_and_set(expected, new) -> bool``, ``add_and_get(delta)``, ``increment_and_get()``;
``impl.TreiberStack()`` with ``push``, ``pop`` (``IndexError`` when empty), ``peek`` and ``len``.

Races are provoked, not hoped for: a switch interval of 1 µs, switch points injected before the
learner's bytecodes, and a deterministic "other thread" that writes between the learner's read
and the learner's write.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dskata.concurrency.linearizability import (
    Counter,
    HistoryRecorder,
    Stack,
    check_linearizable,
)
from dskata.concurrency.stress import inject_switches, run_threads

KATA = "cas-counter"

stateful = settings(max_examples=25, stateful_step_count=25, deadline=None)


def _source_of(cls: type) -> list[str]:
    """The file defining ``cls``: its bytecodes get injected switch points."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    return [path] if path else []


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "compare_and_set semantics")
def test_a_new_counter_holds_its_initial_value(impl: Any) -> None:
    """AtomicInteger() starts at 0 and AtomicInteger(5) at 5; set() replaces the value."""
    assert impl.AtomicInteger().get() == 0, "AtomicInteger().get() should be 0"
    a = impl.AtomicInteger(5)
    assert a.get() == 5, f"AtomicInteger(5).get() was {a.get()!r}, expected 5"
    a.set(9)
    assert a.get() == 9, f"after set(9), get() was {a.get()!r}, expected 9"


@pytest.mark.kata_step(1, "compare_and_set semantics")
def test_compare_and_set_succeeds_only_when_the_value_is_the_expected_one(impl: Any) -> None:
    """compare_and_set(expected, new) writes and returns True only if the value == expected."""
    a = impl.AtomicInteger(1)
    assert a.compare_and_set(1, 2) is True, "compare_and_set(1, 2) on 1 should return True"
    assert a.get() == 2, f"after a successful CAS to 2, get() was {a.get()!r}"
    assert a.compare_and_set(1, 3) is False, "compare_and_set(1, 3) on 2 should return False"
    assert a.get() == 2, f"a failed CAS must not write: get() was {a.get()!r}, expected 2"


@pytest.mark.kata_step(1, "compare_and_set semantics")
def test_non_int_values_are_refused_with_type_error(impl: Any) -> None:
    """AtomicInteger("1"), set(1.5) and compare_and_set(0, None) raise TypeError; bool too."""
    for bad in ("1", 1.5, None, True):
        with pytest.raises(TypeError):
            impl.AtomicInteger(bad)
    a = impl.AtomicInteger(0)
    with pytest.raises(TypeError):
        a.set(1.5)
    with pytest.raises(TypeError):
        a.compare_and_set(0, None)
    assert a.get() == 0, "a refused call must leave the value unchanged"


# ------------------------------------------------------------------ step 2


def _meddling(impl: Any) -> Any:
    """A subclass whose first get() lets "another thread" add 100 right after the read."""

    class Meddling(impl.AtomicInteger):  # type: ignore[misc]
        def __init__(self, value: int = 0) -> None:
            super().__init__(value)
            self.meddler: threading.Thread | None = None

        def get(self) -> int:
            value: int = super().get()
            if self.meddler is None:
                self.meddler = threading.Thread(target=lambda: self.add_other(100))
                self.meddler.start()
                # If the caller holds its own lock around get(), the other thread waits for
                # it (that is correct too); otherwise it writes before we return.
                self.meddler.join(0.5)
            return value

        def add_other(self, delta: int) -> None:
            while True:
                v = super().get()
                if super().compare_and_set(v, v + delta):
                    return

    return Meddling


@pytest.mark.kata_step(2, "a retry loop that loses nothing")
def test_add_and_get_adds_and_returns_the_new_value(impl: Any) -> None:
    """add_and_get(d) adds d and returns the new value; increment_and_get() adds 1."""
    a = impl.AtomicInteger(10)
    assert a.add_and_get(5) == 15, "add_and_get(5) on 10 should return 15"
    assert a.increment_and_get() == 16, "increment_and_get() on 15 should return 16"
    assert a.add_and_get(-6) == 10, "add_and_get(-6) on 16 should return 10"
    assert a.get() == 10


@pytest.mark.kata_step(2, "a retry loop that loses nothing")
def test_a_write_between_your_read_and_your_write_is_not_lost(impl: Any) -> None:
    """Another thread adds 100 right after add_and_get reads: the result must include it."""
    a = _meddling(impl)(5)
    result = a.add_and_get(1)
    if a.meddler is not None:
        a.meddler.join(5)
    final = impl.AtomicInteger.get(a)
    expected = 106 if a.meddler is not None else 6
    assert final == expected, (
        f"the value ended at {final}, expected {expected}: the other thread's +100 was "
        "overwritten. Read, compute, then compare_and_set against what you read, and retry "
        "if it failed"
    )
    assert result in (6, 106), f"add_and_get(1) returned {result}, expected 106 (or 6)"


@pytest.mark.kata_step(2, "a retry loop that loses nothing")
def test_cas_increments_from_8_threads_under_forced_switches_are_exact(impl: Any) -> None:
    """8 threads x 200 increment_and_get, with switches forced inside your code, end at 1600."""
    a = impl.AtomicInteger(0)
    with inject_switches(_source_of(impl.AtomicInteger), probability=0.2):
        run_threads(lambda _: [a.increment_and_get() for _ in range(200)], 8, timeout=60)
    assert a.get() == 1_600, f"the counter ended at {a.get()}, expected 1600: updates were lost"


@pytest.mark.kata_step(2, "a retry loop that loses nothing")
def test_add_and_get_returns_distinct_values_under_contention(impl: Any) -> None:
    """Every increment_and_get() from 8 threads returns a different number: each won once."""
    a = impl.AtomicInteger(0)
    with inject_switches(_source_of(impl.AtomicInteger), probability=0.2):
        seen = run_threads(lambda _: [a.increment_and_get() for _ in range(300)], 8, timeout=60)
    values = [v for part in seen for v in part]
    assert sorted(values) == list(range(1, 2_401)), (
        "two increments returned the same value (or one was skipped): an update was lost"
    )


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "a Treiber stack")
def test_the_stack_pops_in_lifo_order(impl: Any) -> None:
    """push 1, 2, 3 then pop gives 3, 2, 1; peek shows the top; len counts."""
    s = impl.TreiberStack()
    for x in (1, 2, 3):
        s.push(x)
    assert len(s) == 3, f"len after 3 pushes was {len(s)}"
    assert s.peek() == 3, f"peek() was {s.peek()!r}, expected 3"
    got = [s.pop(), s.pop(), s.pop()]
    assert got == [3, 2, 1], f"pops gave {got}, expected [3, 2, 1]"


@pytest.mark.kata_step(3, "a Treiber stack")
def test_popping_an_empty_stack_raises_index_error(impl: Any) -> None:
    """pop() and peek() on an empty stack raise IndexError, like list.pop()."""
    s = impl.TreiberStack()
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.peek()
    assert len(s) == 0


@pytest.mark.kata_step(3, "a Treiber stack")
def test_every_pushed_item_is_popped_exactly_once_under_contention(impl: Any) -> None:
    """8 threads push 150 items each and pop half: nothing is lost, nothing is duplicated."""
    s = impl.TreiberStack()

    def work(i: int) -> list[tuple[int, int]]:
        popped = []
        for k in range(150):
            s.push((i, k))
            if k % 2:
                popped.append(s.pop())
        return popped

    with inject_switches(_source_of(impl.TreiberStack), probability=0.05):
        popped = [x for part in run_threads(work, 8, timeout=60) for x in part]
    rest = []
    while len(s):
        rest.append(s.pop())
    everything = sorted(popped + rest)
    expected = sorted((i, k) for i in range(8) for k in range(150))
    assert len(everything) == len(expected), (
        f"{len(everything)} items came out, {len(expected)} went in"
    )
    assert everything == expected, "some item came out twice and another never did"


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "histories pass the linearizability checker")
def test_a_recorded_counter_history_is_linearizable(impl: Any) -> None:
    """A history of get / add_and_get / compare_and_set from 8 threads passes the checker."""
    a, rec = impl.AtomicInteger(0), HistoryRecorder()

    def work(i: int) -> None:
        for k in range(30):
            if k % 3 == 0:
                rec.record("get", None, a.get)
            elif k % 3 == 1:
                rec.record("add_and_get", i + 1, a.add_and_get, i + 1)
            else:
                v = a.get()
                rec.record("cas", (v, v + 1), a.compare_and_set, v, v + 1)

    with inject_switches(_source_of(impl.AtomicInteger), probability=0.2):
        run_threads(work, 8, timeout=60)
    result = check_linearizable(rec.history(), Counter())
    assert result.linearizable, result.explain()


@pytest.mark.kata_step(4, "histories pass the linearizability checker")
def test_a_recorded_stack_history_is_linearizable(impl: Any) -> None:
    """A history of push / pop from 4 threads passes the checker (empty pops included)."""
    s, rec = impl.TreiberStack(), HistoryRecorder()

    def work(i: int) -> None:
        for k in range(10):
            rec.record("push", (i, k), s.push, (i, k))
            with contextlib.suppress(IndexError):
                rec.record("pop", None, s.pop)

    # Few threads: stack histories are the checker's hardest case (concurrent pushes can be
    # ordered in factorially many ways), so keep the overlap small.
    with inject_switches(_source_of(impl.TreiberStack), probability=0.01):
        run_threads(work, 4, timeout=60)
    result = check_linearizable(rec.history(), Stack())
    assert result.linearizable, result.explain()


@pytest.mark.kata_step(4, "histories pass the linearizability checker")
def test_the_counter_behaves_like_an_int(impl: Any) -> None:
    """Any sequence of set / compare_and_set / add_and_get agrees with a plain int."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.a = impl.AtomicInteger(0)
            self.model = 0

        @rule(expected=st.integers(-2, 2), new=st.integers(-2, 2))
        def cas(self, expected: int, new: int) -> None:
            ok = self.a.compare_and_set(expected, new)
            assert ok == (self.model == expected), f"compare_and_set({expected}, {new}) gave {ok}"
            if ok:
                self.model = new

        @rule(delta=st.integers(-3, 3))
        def add(self, delta: int) -> None:
            self.model += delta
            got = self.a.add_and_get(delta)
            assert got == self.model, f"add_and_get({delta}) gave {got}, expected {self.model}"

        @rule(value=st.integers(-3, 3))
        def set(self, value: int) -> None:
            self.a.set(value)
            self.model = value

        @invariant()
        def agrees(self) -> None:
            assert self.a.get() == self.model, f"get() was {self.a.get()}, expected {self.model}"

    run_state_machine_as_test(Machine, settings=stateful)


@pytest.mark.kata_step(4, "histories pass the linearizability checker")
def test_the_stack_behaves_like_a_list(impl: Any) -> None:
    """Any sequence of push / pop agrees with list.append / list.pop."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.s = impl.TreiberStack()
            self.model: list[int] = []

        @rule(x=st.integers())
        def push(self, x: int) -> None:
            self.s.push(x)
            self.model.append(x)

        @precondition(lambda self: self.model)
        @rule()
        def pop(self) -> None:
            expected = self.model.pop()
            got = self.s.pop()
            assert got == expected, f"pop() gave {got!r}, expected {expected!r}"

        @invariant()
        def same_size(self) -> None:
            assert len(self.s) == len(self.model), (
                f"len was {len(self.s)}, expected {len(self.model)}"
            )

    run_state_machine_as_test(Machine, settings=stateful)
