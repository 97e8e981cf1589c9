"""AtomicInteger, AtomicReference, TreiberStack: semantics, validation, races, stateful models."""

from __future__ import annotations

import contextlib
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dskata.concurrency.atomics import AtomicInteger, AtomicReference, TreiberStack
from dskata.concurrency.linearizability import (
    CASRegister,
    Counter,
    HistoryRecorder,
    Stack,
    check_linearizable,
)
from dskata.concurrency.stress import run_threads


def test_compare_and_set_writes_only_when_the_value_matches() -> None:
    a = AtomicInteger(1)
    assert a.compare_and_set(1, 2) is True
    assert a.compare_and_set(1, 3) is False
    assert a.get() == 2
    a._check()


def test_compare_and_exchange_returns_the_witness_value() -> None:
    a = AtomicInteger(4)
    assert a.compare_and_exchange(4, 5) == 4
    assert a.compare_and_exchange(4, 6) == 5
    assert a.get() == 5


def test_the_java_style_arithmetic_operations_return_old_or_new_as_named() -> None:
    a = AtomicInteger(10)
    assert a.get_and_add(5) == 10
    assert a.add_and_get(5) == 20
    assert a.get_and_increment() == 20
    assert a.increment_and_get() == 22
    assert a.get_and_decrement() == 22
    assert a.decrement_and_get() == 20
    assert a.get_and_set(7) == 20
    assert a.get_and_update(lambda v: v * 3) == 7
    assert a.update_and_get(lambda v: v + 1) == 22
    assert a.get_and_accumulate(2, lambda v, x: v * x) == 22
    assert a.accumulate_and_get(4, max) == 44
    assert int(a) == 44
    a._check()


@pytest.mark.parametrize("bad", [1.5, "1", None, True])
def test_non_int_values_are_refused_with_type_error_naming_the_parameter(bad: object) -> None:
    a = AtomicInteger(3)
    with pytest.raises(TypeError, match="new must be an int"):
        a.compare_and_set(3, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="delta must be an int"):
        a.add_and_get(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="value must be an int"):
        AtomicInteger(bad)  # type: ignore[arg-type]
    assert a.get() == 3, "a refused call must not change the value"


def test_an_update_function_returning_a_non_int_changes_nothing() -> None:
    a = AtomicInteger(3)
    with pytest.raises(TypeError, match="result must be an int"):
        a.update_and_get(lambda v: "x")  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="fn must be callable"):
        a.update_and_get(5)  # type: ignore[arg-type]
    assert a.get() == 3


def test_update_and_get_reapplies_the_function_when_another_thread_wins_the_cas() -> None:
    a = AtomicInteger(0)
    calls: list[int] = []

    def fn(v: int) -> int:
        calls.append(v)
        if len(calls) == 1:
            a.set(100)  # another writer slips in between the read and the CAS
        return v + 1

    assert a.update_and_get(fn) == 101
    assert calls == [0, 100], "the retry loop must re-read and re-apply after a failed CAS"


def test_atomic_integer_pickles_by_value() -> None:
    a = pickle.loads(pickle.dumps(AtomicInteger(9)))
    assert a.get() == 9
    a._check()


def test_atomic_reference_compares_by_identity_not_equality() -> None:
    first, twin = [1], [1]
    ref: AtomicReference[list[int]] = AtomicReference(first)
    assert ref.compare_and_set(twin, [2]) is False, "an equal but distinct object must not match"
    assert ref.compare_and_set(first, twin) is True
    assert ref.get() is twin
    assert ref.compare_and_exchange(first, [3]) is twin
    assert ref.get_and_set(first) is twin
    assert ref.update_and_get(lambda v: [*v, 2]) == [1, 2]
    assert ref.accumulate_and_get([9], lambda v, x: v + x) == [1, 2, 9]
    ref._check()


def test_cas_increments_lose_nothing_under_forced_switches() -> None:
    counter = AtomicInteger()
    per_thread = 3_000

    def work(_: int) -> None:
        for _ in range(per_thread):
            while True:
                v = counter.get()
                if counter.compare_and_set(v, v + 1):
                    break

    run_threads(work, 8, timeout=60)
    assert counter.get() == 8 * per_thread, "every CAS increment must be counted exactly once"
    counter._check()


def test_update_and_get_is_exact_under_forced_switches() -> None:
    counter = AtomicInteger()
    run_threads(lambda _: [counter.update_and_get(lambda v: v + 2) for _ in range(2_000)], 8)
    assert counter.get() == 8 * 2_000 * 2


def test_a_recorded_history_of_atomic_integer_is_linearizable_as_a_counter() -> None:
    counter, rec = AtomicInteger(), HistoryRecorder()

    def work(i: int) -> None:
        for k in range(60):
            if k % 3 == 0:
                rec.record("get", None, counter.get)
            elif k % 3 == 1:
                rec.record("add_and_get", i, counter.add_and_get, i)
            else:
                v = counter.get()
                rec.record("cas", (v, v + 1), counter.compare_and_set, v, v + 1)

    run_threads(work, 8)
    result = check_linearizable(rec.history(), Counter())
    assert result.linearizable, result.explain()


def test_a_recorded_history_of_atomic_reference_is_linearizable_as_a_cas_register() -> None:
    ref: AtomicReference[int] = AtomicReference(0)
    rec = HistoryRecorder()
    values = list(range(4))  # small ints are cached objects, so identity equals equality here

    def work(i: int) -> None:
        for k in range(60):
            e, n = values[(i + k) % 4], values[(i * k) % 4]
            rec.record("cas", (e, n), ref.compare_and_set, e, n)
            rec.record("read", None, ref.get)

    run_threads(work, 8)
    result = check_linearizable(rec.history(), CASRegister(0))
    assert result.linearizable, result.explain()


def test_treiber_stack_is_lifo_and_raises_index_error_when_empty() -> None:
    s: TreiberStack[int] = TreiberStack([1, 2])
    s.push(3)
    assert (s.peek(), len(s), list(s)) == (3, 3, [3, 2, 1])
    assert [s.pop(), s.pop(), s.pop()] == [3, 2, 1]
    assert not s
    with pytest.raises(IndexError):
        s.pop()
    with pytest.raises(IndexError):
        s.peek()
    s._check()


def test_treiber_stack_pops_every_pushed_item_exactly_once_under_contention() -> None:
    s: TreiberStack[tuple[int, int]] = TreiberStack()

    def work(i: int) -> list[tuple[int, int]]:
        popped = []
        for k in range(1_000):
            s.push((i, k))
            if k % 2:
                popped.append(s.pop())
        return popped

    popped = [x for part in run_threads(work, 8) for x in part]
    rest = list(s)
    assert len(popped) + len(rest) == 8_000
    assert sorted(popped + rest) == sorted((i, k) for i in range(8) for k in range(1_000))
    s._check()


def test_a_recorded_history_of_treiber_stack_is_linearizable_as_a_stack() -> None:
    s: TreiberStack[tuple[int, int]] = TreiberStack()
    rec = HistoryRecorder()

    def work(i: int) -> None:
        for k in range(30):
            rec.record("push", (i, k), s.push, (i, k))
            with contextlib.suppress(IndexError):
                rec.record("pop", None, s.pop)

    run_threads(work, 4)  # stacks are the checker's hardest model: keep the overlap modest
    result = check_linearizable(rec.history(), Stack())
    assert result.linearizable, result.explain()


@given(st.lists(st.integers(-5, 5), max_size=30))
@settings(max_examples=50, deadline=None)
def test_accumulate_matches_a_plain_fold(xs: list[int]) -> None:
    a = AtomicInteger(0)
    for x in xs:
        a.accumulate_and_get(x, lambda v, y: v * 2 + y)
    expected = 0
    for x in xs:
        expected = expected * 2 + x
    assert a.get() == expected


class AtomicIntegerMachine(RuleBasedStateMachine):
    """AtomicInteger against a plain int."""

    def __init__(self) -> None:
        super().__init__()
        self.a = AtomicInteger(0)
        self.model = 0

    @rule(expected=st.integers(-3, 3), new=st.integers(-3, 3))
    def cas(self, expected: int, new: int) -> None:
        ok = self.a.compare_and_set(expected, new)
        assert ok == (self.model == expected)
        if ok:
            self.model = new

    @rule(delta=st.integers(-3, 3))
    def add(self, delta: int) -> None:
        assert self.a.get_and_add(delta) == self.model
        self.model += delta

    @rule(value=st.integers(-3, 3))
    def set(self, value: int) -> None:
        assert self.a.get_and_set(value) == self.model
        self.model = value

    @invariant()
    def agrees(self) -> None:
        assert self.a.get() == self.model
        self.a._check()


class TreiberMachine(RuleBasedStateMachine):
    """TreiberStack against a list."""

    def __init__(self) -> None:
        super().__init__()
        self.s: TreiberStack[int] = TreiberStack()
        self.model: list[int] = []

    @rule(x=st.integers())
    def push(self, x: int) -> None:
        self.s.push(x)
        self.model.append(x)

    @precondition(lambda self: self.model)
    @rule()
    def pop(self) -> None:
        assert self.s.pop() == self.model.pop()

    @precondition(lambda self: not self.model)
    @rule()
    def pop_empty(self) -> None:
        with pytest.raises(IndexError):
            self.s.pop()

    @invariant()
    def agrees(self) -> None:
        assert list(self.s) == self.model[::-1]
        self.s._check()


TestAtomicIntegerMachine = AtomicIntegerMachine.TestCase
TestAtomicIntegerMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
TestTreiberMachine = TreiberMachine.TestCase
TestTreiberMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


class AtomicReferenceMachine(RuleBasedStateMachine):
    """AtomicReference against a plain variable, CAS by identity."""

    def __init__(self) -> None:
        super().__init__()
        self.objects = [object() for _ in range(3)]
        self.ref: AtomicReference[object] = AtomicReference(self.objects[0])
        self.model = self.objects[0]

    @rule(e=st.integers(0, 2), n=st.integers(0, 2))
    def cas(self, e: int, n: int) -> None:
        expected, new = self.objects[e], self.objects[n]
        ok = self.ref.compare_and_set(expected, new)
        assert ok == (self.model is expected)
        if ok:
            self.model = new

    @rule(n=st.integers(0, 2))
    def get_and_set(self, n: int) -> None:
        assert self.ref.get_and_set(self.objects[n]) is self.model
        self.model = self.objects[n]

    @invariant()
    def agrees(self) -> None:
        assert self.ref.get() is self.model
        self.ref._check()


TestAtomicReferenceMachine = AtomicReferenceMachine.TestCase
TestAtomicReferenceMachine.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None
)


class _Explosive:
    def __eq__(self, other: object) -> bool:
        raise ArithmeticError("comparison exploded")

    __hash__ = None  # type: ignore[assignment]


def test_an_exception_inside_the_cas_leaves_the_atomic_usable() -> None:
    """The CAS's lock is released on every path: a raising comparison must not deadlock."""
    a = AtomicInteger(1)
    with pytest.raises(ArithmeticError):
        a.compare_and_set(_Explosive(), 2)  # type: ignore[arg-type]
    with pytest.raises(ArithmeticError):
        a.compare_and_exchange(_Explosive(), 2)  # type: ignore[arg-type]
    assert a.compare_and_set(1, 2) and a.get() == 2
    a._check()


@pytest.mark.parametrize("threads", [1, 8])
def test_cas_loop_increments_are_exact_on_one_and_eight_threads(threads: int) -> None:
    """The benchmark's loop (get + compare_and_set) loses nothing under forced switches."""
    counter = AtomicInteger(0)
    per = 2_000

    def work(_: int) -> None:
        get, cas = counter.get, counter.compare_and_set
        for _ in range(per):
            while True:
                v = get()
                if cas(v, v + 1):
                    break

    run_threads(work, threads, interval=1e-6)
    assert counter.get() == threads * per
    counter._check()


@pytest.mark.parametrize("make", [lambda: AtomicInteger(0), lambda: AtomicReference(0)])
def test_a_cas_waits_for_the_token_held_by_another_thread(make: object) -> None:
    """While the lock's token is out, a CAS neither proceeds nor loses the token; it then runs."""
    import threading
    import time

    atomic = make()  # type: ignore[operator]
    atomic._token.pop()  # this thread now "holds" the lock
    done = threading.Event()
    results: list[bool] = []

    def contender() -> None:
        results.append(atomic.compare_and_set(0, 1))
        done.set()

    t = threading.Thread(target=contender)
    t.start()
    time.sleep(0.05)  # the contender has backed off several times by now
    assert not done.is_set() and atomic.get() == 0
    atomic._token.append(None)  # release
    assert done.wait(5.0)
    t.join()
    assert results == [True] and atomic.get() == 1
    atomic._check()
