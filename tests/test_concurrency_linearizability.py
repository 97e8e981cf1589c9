"""The linearizability checker, its models, the recorder and the stress harness."""

from __future__ import annotations

import itertools
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dskata.concurrency.atomics import AtomicInteger
from dskata.concurrency.linearizability import (
    EMPTY,
    UNKNOWN,
    CASRegister,
    Counter,
    HistoryRecorder,
    Keyed,
    Model,
    Mutex,
    Operation,
    Queue,
    Raised,
    Register,
    Stack,
    check_linearizable,
)
from dskata.concurrency.stress import (
    BrokenCASRegister,
    RacyCounter,
    StressTimeout,
    Switcher,
    run_threads,
    switch_interval,
)


def op(p: int, name: str, arg: object, out: object, call: int, ret: int | None) -> Operation:
    return Operation(p, name, arg, out, call, ret)


def test_a_read_overlapping_a_write_may_see_either_value() -> None:
    """Herlihy & Wing 1990 §2: overlapping operations may take effect in either order."""
    for seen in (0, 1):
        history = [op(0, "write", 1, None, 0, 3), op(1, "read", None, seen, 1, 2)]
        assert check_linearizable(history, Register(0)).linearizable


def test_a_read_after_a_completed_write_must_see_it() -> None:
    """Herlihy & Wing 1990 §2: real-time order between non-overlapping operations is kept."""
    history = [op(0, "write", 1, None, 0, 1), op(1, "read", None, 0, 2, 3)]
    result = check_linearizable(history, Register(0))
    assert result.linearizable is False
    assert [o.op for o in result.stuck_prefix] == ["write", "read"]
    assert "NOT linearizable" in result.explain()


def test_the_linearization_shown_respects_the_model() -> None:
    history = [
        op(0, "cas", (0, 1), True, 0, 10),
        op(1, "cas", (1, 2), True, 1, 9),
        op(2, "read", None, 2, 11, 12),
    ]
    result = check_linearizable(history, CASRegister(0))
    assert result.linearization is not None
    assert [o.arg for o in result.linearization] == [(0, 1), (1, 2), None]
    assert "linearizable" in result.explain()


def test_two_successful_cas_from_the_same_value_are_not_linearizable() -> None:
    history = [op(0, "cas", (0, 1), True, 0, 3), op(1, "cas", (0, 2), True, 1, 2)]
    assert check_linearizable(history, CASRegister(0)).linearizable is False


def test_an_operation_that_never_returned_may_or_may_not_have_happened() -> None:
    took_effect = [op(0, "write", 5, UNKNOWN, 0, None), op(1, "read", None, 5, 1, 2)]
    no_effect = [op(0, "write", 5, UNKNOWN, 0, None), op(1, "read", None, 0, 1, 2)]
    assert check_linearizable(took_effect, Register(0)).linearizable
    assert check_linearizable(no_effect, Register(0)).linearizable
    before_call = [op(1, "read", None, 5, 0, 1), op(0, "write", 5, UNKNOWN, 2, None)]
    assert check_linearizable(before_call, Register(0)).linearizable is False


def test_keyed_models_are_checked_per_key() -> None:
    """Horn & Kroening 2015: P-compositionality lets each key be checked alone."""
    good = [
        op(0, "write", ("a", 1), None, 0, 1),
        op(1, "write", ("b", 2), None, 0, 1),
        op(2, "read", ("a", None), 1, 2, 3),
        op(3, "read", ("b", None), 2, 2, 3),
    ]
    assert check_linearizable(good, Keyed(Register())).linearizable
    bad = [*good, op(4, "read", ("b", None), 1, 4, 5)]
    result = check_linearizable(bad, Keyed(Register()))
    assert result.linearizable is False
    assert {o.arg[0] for o in result.stuck_prefix} == {"b"}


def test_queue_stack_counter_and_mutex_models_follow_their_specifications() -> None:
    q = [op(0, "enqueue", 1, None, 0, 1), op(0, "enqueue", 2, None, 2, 3)]
    assert check_linearizable([*q, op(1, "dequeue", None, 1, 4, 5)], Queue())
    assert not check_linearizable([*q, op(1, "dequeue", None, 2, 4, 5)], Queue())
    s = [op(0, "push", 1, None, 0, 1), op(0, "push", 2, None, 2, 3)]
    assert check_linearizable([*s, op(1, "pop", None, 2, 4, 5)], Stack())
    empty_pop = op(1, "pop", None, Raised("IndexError"), 0, 1)
    assert check_linearizable([empty_pop], Stack())
    assert check_linearizable([op(1, "dequeue", None, EMPTY, 0, 1)], Queue())
    c = [op(0, "add_and_get", 2, 2, 0, 1), op(1, "get_and_add", 3, 2, 2, 3)]
    assert check_linearizable([*c, op(2, "read", None, 5, 4, 5)], Counter())
    m = [op(0, "acquire", None, True, 0, 1), op(1, "acquire", None, True, 2, 3)]
    assert not check_linearizable(m, Mutex()), "two holders at once"
    m_ok = [m[0], op(0, "release", None, None, 1, 2), op(1, "acquire", None, True, 3, 4)]
    assert check_linearizable(m_ok, Mutex())


def test_an_unknown_operation_name_is_reported_by_the_model() -> None:
    with pytest.raises(ValueError, match="no operation 'frobnicate'"):
        check_linearizable([op(0, "frobnicate", None, None, 0, 1)], Register())


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(TypeError, match="model must be"):
        check_linearizable([], "Register")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="returns before"):
        check_linearizable([op(0, "read", None, 0, 5, 1)], Register(0))
    with pytest.raises(ValueError, match="max_steps"):
        check_linearizable([], Register(), max_steps=0)


def test_an_exhausted_budget_says_unknown_rather_than_guessing() -> None:
    # Many overlapping writes then a read of a value nobody wrote: the search must try them all.
    history = [op(p, "write", p, None, 0, 100) for p in range(12)]
    history.append(op(99, "read", None, -1, 101, 102))
    result = check_linearizable(history, Register(0), max_steps=50)
    assert result.linearizable is None and not result
    assert "unknown" in result.explain()


def _brute_force(history: list[Operation], model: Model) -> bool:
    """Try every order that respects real time, with or without each pending operation."""
    pending = [o for o in history if o.ret is None]
    for k in range(len(pending) + 1):
        for dropped in itertools.combinations(pending, k):
            kept = [o for o in history if not any(o is d for d in dropped)]
            if _some_order_is_legal(kept, model):
                return True
    return False


def _some_order_is_legal(history: list[Operation], model: Model) -> bool:
    for order in itertools.permutations(history):
        # Placing i before a later j is illegal if j returned before i was called.
        ends = [float("inf") if o.ret is None else o.ret for o in order]
        if any(
            ends[j] < order[i].call for i in range(len(order)) for j in range(i + 1, len(order))
        ):
            continue
        state = model.init()
        for o in order:
            ok, state = model.step(state, o.op, o.arg, o.output)
            if not ok:
                break
        else:
            return True
    return False


@st.composite
def small_cas_histories(draw: st.DrawFn) -> list[Operation]:
    n = draw(st.integers(1, 5))
    times = draw(st.permutations(list(range(2 * n))))
    history = []
    for i in range(n):
        a, b = sorted(times[2 * i : 2 * i + 2])
        kind = draw(st.sampled_from(["read", "write", "cas"]))
        if kind == "read":
            history.append(op(i, "read", None, draw(st.integers(0, 2)), a, b))
        elif kind == "write":
            history.append(op(i, "write", draw(st.integers(0, 2)), None, a, b))
        else:
            arg = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            history.append(op(i, "cas", arg, draw(st.booleans()), a, b))
        if kind != "read" and draw(st.integers(0, 4)) == 0:
            # This operation never returned: it may or may not have taken effect.
            history[-1] = op(i, history[-1].op, history[-1].arg, UNKNOWN, a, None)
    return history


@given(small_cas_histories())
@settings(max_examples=150, deadline=None)
def test_the_checker_agrees_with_brute_force_on_small_histories(
    history: list[Operation],
) -> None:
    assert check_linearizable(history, CASRegister(0)).linearizable == _brute_force(
        history, CASRegister(0)
    )


def _cas_register_history(threads: int, per_thread: int) -> list[Operation]:
    reg, rec = AtomicInteger(0), HistoryRecorder()

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(per_thread):
            r = rng.random()
            if r < 0.4:
                rec.record("read", None, reg.get)
            elif r < 0.6:
                v = rng.randrange(4)
                rec.record("write", v, reg.set, v)
            else:
                e, n = rng.randrange(4), rng.randrange(4)
                rec.record("cas", (e, n), reg.compare_and_set, e, n)

    run_threads(work, threads)
    return rec.history()


def test_a_1000_operation_cas_register_history_from_8_threads_is_checked_within_budget() -> None:
    """The issue's bound (< 1 s) is measured in the benchmark; here the work is counted."""
    history = _cas_register_history(8, 125)
    assert len(history) == 1_000
    result = check_linearizable(history, CASRegister(0), max_steps=200_000)
    assert result.linearizable is True, result.explain()


@pytest.mark.parametrize("run", range(3))
def test_the_racy_counter_is_flagged_in_every_stress_run(run: int) -> None:
    counter, rec = RacyCounter(), HistoryRecorder()
    run_threads(lambda _: [rec.record("increment_and_get", None, counter.increment_and_get)
                           for _ in range(40)], 8)  # fmt: skip
    result = check_linearizable(rec.history(), Counter())
    assert result.linearizable is False, f"run {run}: the lost update went unnoticed"
    assert counter.get() < 320


@pytest.mark.parametrize("run", range(3))
def test_a_broken_cas_is_flagged_in_every_stress_run(run: int) -> None:
    reg, rec = BrokenCASRegister(0), HistoryRecorder()

    def work(_: int) -> None:
        for _ in range(25):
            while True:
                v = rec.record("read", None, reg.get)
                if rec.record("cas", (v, v + 1), reg.compare_and_set, v, v + 1):
                    break

    run_threads(work, 8)
    result = check_linearizable(rec.history(), CASRegister(0))
    assert result.linearizable is False, f"run {run}: two CAS winners went unnoticed"


def test_the_recorder_orders_ticks_consistently_with_real_time() -> None:
    rec = HistoryRecorder()
    rec.record("write", 1, lambda: None, process=0)
    rec.record("read", None, lambda: 1, process=1)
    first, second = rec.history()
    assert first.ret is not None and first.ret < second.call
    with pytest.raises(ZeroDivisionError):
        rec.record("read", None, lambda: 1 / 0)
    assert rec.history()[-1].output == Raised("ZeroDivisionError", "division by zero")


def test_switch_interval_is_restored_even_when_the_block_raises() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(KeyError), switch_interval(1e-6):
        assert sys.getswitchinterval() == pytest.approx(1e-6)
        raise KeyError("x")
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError, match="seconds must be > 0"), switch_interval(0):
        pass


def test_run_threads_reraises_worker_errors_and_reports_hung_workers() -> None:
    def fail(i: int) -> None:
        if i == 1:
            raise KeyError("worker 1")

    with pytest.raises(KeyError, match="worker 1"):
        run_threads(fail, 3)
    import threading

    never = threading.Event()
    with pytest.raises(StressTimeout):
        run_threads(lambda _: never.wait(2), 2, timeout=0.1)
    never.set()


def test_switcher_switches_with_the_given_probability() -> None:
    s = Switcher(0.5, seed=3)
    hits = sum(s() for _ in range(400))
    assert 120 < hits < 280
    with pytest.raises(ValueError, match="probability"):
        Switcher(1.5)


def test_a_read_of_none_after_a_completed_write_is_not_linearizable() -> None:
    """Herlihy & Wing: a read called after a write returned must see it, even when the read
    returned None (a None output is a value to check, not a write's empty return)."""
    late = [op(0, "write", 1, None, 0, 1), op(1, "read", None, None, 2, 3)]
    assert check_linearizable(late, Register()).linearizable is False
    overlapping = [op(0, "write", 1, None, 0, 3), op(1, "read", None, None, 1, 2)]
    assert check_linearizable(overlapping, Register()).linearizable is True
    assert check_linearizable(late, CASRegister()).linearizable is False


def test_a_write_is_legal_whatever_it_returned() -> None:
    """A write's return value carries no information: None, True or a count all pass."""
    for out in (None, True, 3):
        assert check_linearizable([op(0, "write", 1, out, 0, 1)], Register(0)).linearizable
