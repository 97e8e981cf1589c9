"""Linearizability: record what real threads did, then decide whether it was atomic.

Theory of operation:
    A concurrent history is *linearizable* (Herlihy & Wing, TOPLAS 12(3), 1990) if every
    operation can be given one instant between its call and its return such that, taken in the
    order of those instants, the operations are a legal run of the object's *sequential*
    specification (the model). It is the correctness condition of every primitive in this
    package: each must behave as if it happened at once.

    The checker is Wing & Gong's search (JPDC 17, 1993) with the improvements of Lowe
    ("Testing for linearizability", CCPE 29(4), 2017) that Porcupine uses: the history is a
    doubly linked list of call and return events in time order. Walking from the head, a *call*
    may be linearized next if the model accepts it in the current state; it is then lifted out
    of the list (with its return) and the walk restarts. Reaching a *return* means the operation
    it ends has not been linearized although it has finished: backtrack, undo the last choice and
    try the next call. Every configuration ``(set of linearized operations, model state)`` is
    explored at most once (memoised), which turns most real histories from exponential into near
    linear work. Operations that never returned may take effect at any time after their call, or
    never.

    *P-compositionality* (Horn & Kroening, FORTE 2015): linearizability is local, so a history of
    a keyed object is linearizable iff each key's sub-history is. :class:`Keyed` models
    partition the history by key and each part is checked alone, which is exponentially cheaper.

    When a history is not linearizable, the result shows the *smallest stuck prefix*: the
    shortest prefix of the history (cut at a return) that already has no linearization, found by
    binary search (non-linearizability is monotone under extension), and the longest partial
    linearization the search reached.

Thread safety: :class:`HistoryRecorder` is meant to be shared by the threads it records;
:func:`check_linearizable` and the models are pure functions of their inputs.
"""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "EMPTY",
    "UNKNOWN",
    "CASRegister",
    "CheckResult",
    "Counter",
    "HistoryRecorder",
    "Keyed",
    "Model",
    "Mutex",
    "Operation",
    "Queue",
    "Raised",
    "Register",
    "SequentialModel",
    "Stack",
    "VersionedRegister",
    "check_linearizable",
]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


#: The output of an operation that never returned (it may or may not have taken effect).
UNKNOWN: Any = _Sentinel("UNKNOWN")
#: The output of a pop or dequeue on an empty container (a recorded ``IndexError`` also counts).
EMPTY: Any = _Sentinel("EMPTY")
#: A model's expected output for operations whose return value carries no information (writes).
_ANY: Any = _Sentinel("ANY")


@dataclass(frozen=True)
class Raised:
    """An operation's outcome when it raised: the exception's class name and message."""

    type: str
    message: str = ""

    @classmethod
    def of(cls, exc: BaseException) -> Raised:
        """The record of ``exc``."""
        return cls(type(exc).__name__, str(exc))


@dataclass(frozen=True)
class Operation:
    """One completed (or pending) operation of a history.

    Attributes:
        process: who called it (thread or client id).
        op: the operation's name, as the model knows it (``"read"``, ``"cas"``, ...).
        arg: its argument (``None`` if it has none; a tuple for several).
        output: what it returned, a :class:`Raised`, or :data:`UNKNOWN` if it never returned.
        call: the logical time of the call.
        ret: the logical time of the return, or None if it never returned.
    """

    process: Hashable
    op: str
    arg: Any
    output: Any
    call: int
    ret: int | None

    def __str__(self) -> str:
        arg = "" if self.arg is None else repr(self.arg)
        out = "pending" if self.ret is None else repr(self.output)
        end = "" if self.ret is None else self.ret
        return f"p{self.process} {self.op}({arg}) -> {out}   [{self.call}, {end}]"


class HistoryRecorder:
    """Records a history of operations performed by real threads, with a logical clock.

    Each call and each return takes the next tick of one counter under a lock, so the ticks are
    a total order consistent with real time: if an operation returned before another was
    called, its ``ret`` is smaller than the other's ``call``.

    Complexity: O(1) per recorded operation.

    Example:
        >>> from dskata.concurrency.atomics import AtomicInteger
        >>> counter, rec = AtomicInteger(), HistoryRecorder()
        >>> rec.record("add_and_get", 1, counter.add_and_get, 1, process=0)
        1
        >>> rec.history()[0]
        Operation(process=0, op='add_and_get', arg=1, output=1, call=0, ret=1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = itertools.count()
        self._ops: list[Operation] = []
        self._pids: dict[int, int] = {}

    def _tick(self) -> int:
        with self._lock:
            return next(self._clock)

    def _process(self) -> int:
        ident = threading.get_ident()
        with self._lock:
            return self._pids.setdefault(ident, len(self._pids))

    def record(
        self,
        op: str,
        arg: Any,
        fn: Callable[..., Any],
        *args: Any,
        process: Hashable | None = None,
    ) -> Any:
        """Call ``fn(*args)`` and record it as operation ``op`` with argument ``arg``.

        An exception is recorded as a :class:`Raised` output and re-raised.

        Returns:
            What ``fn`` returned.
        """
        pid = self._process() if process is None else process
        call = self._tick()
        try:
            out = fn(*args)
        except Exception as exc:
            ret = self._tick()
            with self._lock:
                self._ops.append(Operation(pid, op, arg, Raised.of(exc), call, ret))
            raise
        ret = self._tick()
        with self._lock:
            self._ops.append(Operation(pid, op, arg, out, call, ret))
        return out

    def history(self) -> list[Operation]:
        """The operations recorded so far, ordered by call time."""
        with self._lock:
            return sorted(self._ops, key=lambda o: o.call)

    def __len__(self) -> int:
        return len(self._ops)


# -- models ----------------------------------------------------------------------------------


class Model(ABC):
    """A sequential specification: an initial state and a step relation.

    States must be hashable (the checker memoises on them). ``step(state, op, arg, output)``
    says whether ``op(arg)`` returning ``output`` is legal in ``state`` and, if so, the next
    state; ``output`` may be :data:`UNKNOWN` (the operation never returned).
    """

    name = "model"

    @abstractmethod
    def init(self) -> Hashable:
        """The initial state."""

    @abstractmethod
    def step(self, state: Any, op: str, arg: Any, output: Any) -> tuple[bool, Hashable]:
        """``(legal, next state)``."""

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]]:
        """Independent sub-histories (P-compositionality); by default the history itself."""
        return [list(history)]

    def _unknown_op(self, op: str) -> ValueError:
        return ValueError(f"model {self.name} has no operation {op!r}")


class SequentialModel(Model):
    """A deterministic model given by ``apply(state, op, arg) -> (output, next state)``."""

    @abstractmethod
    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        """The output and next state of ``op(arg)`` in ``state``."""

    def matches(self, expected: Any, output: Any) -> bool:
        """Does the recorded ``output`` match the model's ``expected`` one?"""
        return bool(expected == output)

    def step(self, state: Any, op: str, arg: Any, output: Any) -> tuple[bool, Hashable]:
        expected, nxt = self.apply(state, op, arg)
        if output is UNKNOWN or self.matches(expected, output):
            return True, nxt
        return False, state


def _is_empty(output: Any) -> bool:
    return output is EMPTY or (
        isinstance(output, Raised) and output.type in ("IndexError", "Empty", "KeyError")
    )


class Register(SequentialModel):
    """A read/write register: ``read() -> value``, ``write(value)``.

    Example:
        >>> Register(0).step(0, "write", 5, None)
        (True, 5)
    """

    name = "Register"

    def __init__(self, initial: Hashable = None) -> None:
        self.initial = initial

    def init(self) -> Hashable:
        return self.initial

    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        if op in ("read", "get"):
            return state, state
        if op in ("write", "set"):
            return _ANY, arg
        raise self._unknown_op(op)

    def matches(self, expected: Any, output: Any) -> bool:
        # A write's return value carries no information; a read's must equal the state, even
        # when that state is None (a read returning None is not a free pass).
        return expected is _ANY or bool(expected == output)


class CASRegister(Register):
    """A register with ``cas((expected, new)) -> bool`` (compare-and-set, by equality).

    Example:
        >>> m = CASRegister(0)
        >>> m.step(0, "cas", (0, 1), True), m.step(0, "cas", (1, 2), True)
        ((True, 1), (False, 0))
    """

    name = "CASRegister"

    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        if op in ("cas", "compare_and_set"):
            expected, new = arg
            return (True, new) if state == expected else (False, state)
        return super().apply(state, op, arg)

    def matches(self, expected: Any, output: Any) -> bool:
        if isinstance(expected, bool):
            return output is expected
        return super().matches(expected, output)


class Counter(SequentialModel):
    """An integer counter: ``read``, ``add(d)`` (output ignored), ``add_and_get(d)``,
    ``get_and_add(d)``, ``increment_and_get``, ``get_and_increment``, ``cas((e, n))``, ``set``.

    Example:
        >>> Counter().step(0, "add_and_get", 1, 1), Counter().step(0, "add_and_get", 1, 2)
        ((True, 1), (False, 0))
    """

    name = "Counter"

    def __init__(self, initial: int = 0) -> None:
        self.initial = initial

    def init(self) -> Hashable:
        return self.initial

    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        if op in ("read", "get"):
            return state, state
        if op == "add":
            return None, state + arg
        if op == "add_and_get":
            return state + arg, state + arg
        if op == "get_and_add":
            return state, state + arg
        if op == "increment_and_get":
            return state + 1, state + 1
        if op == "get_and_increment":
            return state, state + 1
        if op in ("cas", "compare_and_set"):
            expected, new = arg
            return (True, new) if state == expected else (False, state)
        if op in ("set", "write"):
            return None, arg
        raise self._unknown_op(op)

    def matches(self, expected: Any, output: Any) -> bool:
        if expected is None:
            return True
        if isinstance(expected, bool):
            return output is expected
        return bool(expected == output)


class Queue(SequentialModel):
    """A FIFO queue: ``enqueue(v)``, ``dequeue() -> v`` (or :data:`EMPTY` / a raised
    ``IndexError`` or ``queue.Empty`` when empty)."""

    name = "Queue"

    def init(self) -> Hashable:
        return ()

    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        if op in ("enqueue", "put", "append"):
            return None, (*state, arg)
        if op in ("dequeue", "get", "popleft"):
            return (state[0], state[1:]) if state else (EMPTY, state)
        raise self._unknown_op(op)

    def matches(self, expected: Any, output: Any) -> bool:
        if expected is EMPTY:
            return _is_empty(output)
        if expected is None:
            return output is None
        return not _is_empty(output) and bool(expected == output)


class Stack(Queue):
    """A LIFO stack: ``push(v)``, ``pop() -> v`` (or :data:`EMPTY` / a raised ``IndexError``).

    Example:
        >>> s = Stack()
        >>> s.step((1, 2), "pop", None, 2), s.step((1, 2), "pop", None, 1)
        ((True, (1,)), (False, (1, 2)))
    """

    name = "Stack"

    def apply(self, state: Any, op: str, arg: Any) -> tuple[Any, Hashable]:
        if op == "push":
            return None, (*state, arg)
        if op == "pop":
            return (state[-1], state[:-1]) if state else (EMPTY, state)
        if op == "peek":
            return (state[-1], state) if state else (EMPTY, state)
        raise self._unknown_op(op)


class Mutex(Model):
    """A mutual-exclusion lock: ``acquire`` / ``try_acquire`` returning True (legal only when
    free) or False (legal only when held), and ``release`` (legal only when held).

    Example:
        >>> m = Mutex()
        >>> m.step(False, "acquire", None, True), m.step(True, "acquire", None, True)
        ((True, True), (False, True))
    """

    name = "Mutex"

    def init(self) -> Hashable:
        return False

    def step(self, state: Any, op: str, arg: Any, output: Any) -> tuple[bool, Hashable]:
        if op in ("acquire", "try_acquire"):
            if output is False:  # a failed try is legal only while someone holds it
                return bool(state), state
            return not state, True
        if op == "release":
            return bool(state), False
        raise self._unknown_op(op)


class VersionedRegister(Model):
    """One key of a :class:`~dskata.concurrency.optimistic.VersionedStore`: state
    ``(value, version)``, ``(None, 0)`` when absent.

    ``get() -> (value, version)`` (a raised ``KeyError`` when absent); ``put((value, expected))``
    returns the new version, which must exceed the current one, or raises ``ConflictError``
    exactly when ``expected`` (not None) differs from the current version.
    """

    name = "VersionedRegister"

    def init(self) -> Hashable:
        return (None, 0)

    def step(self, state: Any, op: str, arg: Any, output: Any) -> tuple[bool, Hashable]:
        value, version = state
        if op == "get":
            if output is UNKNOWN:
                return True, state
            if version == 0:
                return _is_empty(output), state
            return (isinstance(output, tuple) and tuple(output) == (value, version)), state
        if op == "put":
            new_value, expected = arg
            stale = expected is not None and expected != version
            if output is UNKNOWN:
                # Unknown outcome: if it could succeed, its version is unknowable; such a pending
                # put can only be followed by operations that do not compare versions exactly.
                return True, state if stale else (new_value, version + 1)
            if isinstance(output, Raised):
                return (stale and output.type == "ConflictError"), state
            ok = not stale and isinstance(output, int) and output > version
            return ok, (new_value, output) if ok else state
        raise self._unknown_op(op)


class Keyed(Model):
    """A map of independent objects: operations take ``arg = (key, inner_arg)``.

    Checked per key (P-compositionality).

    Example:
        >>> Keyed(Register()).partition([
        ...     Operation(0, "write", ("a", 1), None, 0, 1),
        ...     Operation(1, "write", ("b", 2), None, 0, 1)])[1][0].arg
        ('b', 2)
    """

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = f"Keyed({inner.name})"

    def init(self) -> Hashable:
        return self.inner.init()

    def step(self, state: Any, op: str, arg: Any, output: Any) -> tuple[bool, Hashable]:
        return self.inner.step(state, op, arg[1], output)

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]]:
        parts: dict[Hashable, list[Operation]] = {}
        for o in history:
            parts.setdefault(o.arg[0], []).append(o)
        return list(parts.values())


# -- the checker ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    """The verdict of :func:`check_linearizable`.

    Attributes:
        linearizable: True, False, or None if the step budget ran out first.
        linearizations: per partition, the operations in a legal linearization order (when
            linearizable).
        stuck_prefix: when not linearizable: the smallest prefix of the failing partition's
            history (operations called before the cut) that has no linearization.
        longest: when not linearizable: the longest partial linearization the search found.
        stuck: when not linearizable: the operations that finished but could not be placed
            after ``longest``.
        steps: search steps taken (a measure of work, not time).
        model: the model's name.
    """

    linearizable: bool | None
    model: str
    linearizations: list[list[Operation]] = field(default_factory=list)
    stuck_prefix: list[Operation] = field(default_factory=list)
    longest: list[Operation] = field(default_factory=list)
    stuck: list[Operation] = field(default_factory=list)
    steps: int = 0

    def __bool__(self) -> bool:
        return self.linearizable is True

    @property
    def linearization(self) -> list[Operation] | None:
        """The linearization when the history had a single partition, else None."""
        if self.linearizable and len(self.linearizations) == 1:
            return self.linearizations[0]
        return None

    def explain(self, limit: int = 20) -> str:
        """A human-readable verdict: the linearization, or the stuck prefix and where it stuck."""
        if self.linearizable is None:
            return f"unknown: the search budget ran out after {self.steps} steps ({self.model})"
        if self.linearizable:
            lines = [f"linearizable ({self.model}); a linearization:"]
            for part in self.linearizations:
                lines.extend(f"  {o}" for o in part[:limit])
                if len(part) > limit:
                    lines.append(f"  ... {len(part) - limit} more")
            return "\n".join(lines)
        lines = [
            f"NOT linearizable ({self.model}): the smallest stuck prefix has "
            f"{len(self.stuck_prefix)} operations:"
        ]
        lines.extend(f"  {o}" for o in self.stuck_prefix[-limit:])
        lines.append(f"longest partial linearization ({len(self.longest)} operations) ends:")
        lines.extend(f"  {o}" for o in self.longest[-5:])
        lines.append("no legal next step for:")
        lines.extend(f"  {o}" for o in self.stuck[:limit])
        return "\n".join(lines)


class _BudgetExceeded(Exception):
    pass


def _search(
    ops: Sequence[Operation], model: Model, budget: list[int]
) -> tuple[bool, list[int], list[int], list[int]]:
    """Lowe's just-in-time linearization search over one partition.

    Returns ``(ok, order, longest, stuck)`` as operation indexes.
    """
    n = len(ops)
    # Events: (time, kind, op index); calls sort before returns at equal times (a tie means
    # the two operations overlap), and returns of pending operations come last.
    events: list[tuple[float, int, int]] = []
    for i, o in enumerate(ops):
        events.append((o.call, 0, i))
        events.append((float("inf") if o.ret is None else o.ret, 1, i))
    events.sort()
    size = 2 * n
    head, tail = size, size + 1
    nxt = [i + 1 for i in range(size)] + [tail, head]
    prv = [i - 1 for i in range(size)] + [tail, head]
    if size:
        nxt[size - 1], prv[0] = tail, head
        nxt[head], prv[tail] = 0, size - 1
    else:
        nxt[head], prv[tail] = tail, head
    is_call = [kind == 0 for _, kind, _ in events]
    op_of = [i for _, _, i in events]
    pending = [ops[i].ret is None for i in op_of]
    match = [0] * size
    call_at = [0] * n
    for pos, (_, kind, i) in enumerate(events):
        if kind == 0:
            call_at[i] = pos
    for pos, (_, kind, i) in enumerate(events):
        if kind == 1:
            match[call_at[i]] = pos

    step = model.step
    state = model.init()
    linearized = 0
    cache: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Any]] = []
    longest: list[int] = []
    stuck: list[int] = []
    deepest = -1
    entry = nxt[head]
    steps = 0
    while nxt[head] != tail:
        steps += 1
        if steps > budget[0]:
            raise _BudgetExceeded
        if is_call[entry]:
            o = ops[op_of[entry]]
            ok, new_state = step(state, o.op, o.arg, o.output)
            if ok:
                bits = linearized | (1 << op_of[entry])
                key = (bits, new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state = new_state
                    linearized = bits
                    # Lift the call and its return out of the list.
                    r = match[entry]
                    nxt[prv[entry]] = nxt[entry]
                    prv[nxt[entry]] = prv[entry]
                    nxt[prv[r]] = nxt[r]
                    prv[nxt[r]] = prv[r]
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
            continue
        if pending[entry]:
            break  # only never-returned operations are left: they may simply not have happened
        if len(stack) > deepest:
            # Keep the deepest dead end for the report; depth grows at most n times.
            deepest = len(stack)
            longest = [op_of[e] for e, _ in stack]
            stuck = [op_of[e] for e in _calls_before(nxt, is_call, head, entry)]
            if op_of[entry] not in stuck:
                stuck.append(op_of[entry])
        if not stack:
            budget[0] -= steps
            return False, [], longest, stuck
        top, state = stack.pop()
        linearized &= ~(1 << op_of[top])
        # Unlift in reverse order: the return first, then the call.
        r = match[top]
        nxt[prv[r]] = r
        prv[nxt[r]] = r
        nxt[prv[top]] = top
        prv[nxt[top]] = top
        entry = nxt[top]
    budget[0] -= steps
    return True, [op_of[e] for e, _ in stack], longest, stuck


def _calls_before(nxt: list[int], is_call: list[bool], head: int, stop: int) -> list[int]:
    out = []
    e = nxt[head]
    while e != stop:
        if is_call[e]:
            out.append(e)
        e = nxt[e]
    return out


def _prefix(ops: Sequence[Operation], cut: int) -> list[Operation]:
    """Operations called before time ``cut``; those still running at ``cut`` become pending."""
    out = []
    for o in ops:
        if o.call > cut:
            continue
        if o.ret is None or o.ret > cut:
            o = replace(o, output=UNKNOWN, ret=None)
        out.append(o)
    return out


def check_linearizable(
    history: Iterable[Operation], model: Model, *, max_steps: int | None = 10_000_000
) -> CheckResult:
    """Decide whether ``history`` is linearizable with respect to ``model``.

    Args:
        history: operations (from :meth:`HistoryRecorder.history` or built by hand).
        model: the sequential specification, e.g. ``CASRegister()``, ``Keyed(Register())``.
        max_steps: search budget, counted in steps; when exhausted the verdict is None
            ("unknown"). None means no budget.

    Returns:
        A :class:`CheckResult` (truthy when linearizable).

    Raises:
        TypeError: ``model`` is not a :class:`Model` or an item is not an :class:`Operation`.
        ValueError: an operation returns before it is called, or ``max_steps`` < 1.

    Complexity: O(n) steps for histories with little overlap; exponential in the worst case
    (the problem is NP-complete, Gibbons & Korach 1997), bounded by memoisation on
    (linearized set, state).

    Example:
        >>> ops = [Operation(0, "write", 1, None, 0, 3),
        ...        Operation(1, "read", None, 1, 1, 2)]       # the read overlaps the write
        >>> check_linearizable(ops, Register(0)).linearizable
        True
        >>> late = [Operation(0, "write", 1, None, 0, 1),
        ...         Operation(1, "read", None, 0, 2, 3)]      # a read after the write sees 0
        >>> result = check_linearizable(late, Register(0))
        >>> result.linearizable, len(result.stuck_prefix)
        (False, 2)
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a dskata Model (e.g. CASRegister()), got {model!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)):
        raise TypeError(f"max_steps must be an int or None, got {max_steps!r}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
    ops = list(history)
    for o in ops:
        if not isinstance(o, Operation):
            raise TypeError(f"history items must be Operation, got {o!r}")
        if o.ret is not None and o.ret < o.call:
            raise ValueError(f"operation returns before it is called: {o}")
    budget = [max_steps if max_steps is not None else 1 << 62]
    result = CheckResult(True, model.name)
    start = budget[0]
    for part in model.partition(ops):
        part.sort(key=lambda o: o.call)
        try:
            ok, order, longest, stuck = _search(part, model, budget)
        except _BudgetExceeded:
            return CheckResult(None, model.name, steps=start)
        if ok:
            result.linearizations.append([part[i] for i in order])
            continue
        result.linearizable = False
        result.linearizations = []
        result.longest = [part[i] for i in longest]
        result.stuck = [part[i] for i in stuck]
        result.stuck_prefix = _smallest_stuck_prefix(part, model, budget)
        break
    result.steps = start - budget[0]
    return result


def _smallest_stuck_prefix(
    part: Sequence[Operation], model: Model, budget: list[int]
) -> list[Operation]:
    cuts = sorted(o.ret for o in part if o.ret is not None)
    lo, hi = 0, len(cuts) - 1  # the prefix cut at cuts[hi] (the whole history) is stuck
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            ok = _search(_prefix(part, cuts[mid]), model, budget)[0]
        except _BudgetExceeded:
            break
        if ok:
            lo = mid + 1
        else:
            hi = mid
    return _prefix(part, cuts[hi]) if cuts else list(part)
