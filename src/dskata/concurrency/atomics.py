"""Atomic variables with compare-and-set, and a lock-free Treiber stack built on them.

Theory of operation:
    A compare-and-set (CAS) writes ``new`` only if the variable still holds ``expected``, and says
    whether it did, as one indivisible step. Every other atomic operation can be built from it
    with a *retry loop*: read the value, compute the new one, CAS; if another thread got there
    first the CAS fails and the loop reads again (Herlihy & Shavit, *The Art of Multiprocessor
    Programming*, ch. 5). No update is lost because a write only happens against the value it
    was computed from.

    Python exposes no hardware CAS instruction. Here the CAS itself is made indivisible by a
    short critical section on a real lock, honestly: the lock is held only for the compare and the
    store, never while user code runs. The lock is a *token* spinlock: a one-element ``list``;
    ``pop()`` takes the token (an ``IndexError`` means another thread holds it) and
    ``append(None)`` gives it back. Both are single C calls, atomic under the GIL and critical
    sections on free-threaded CPython, so no race can duplicate or lose the token (an
    asynchronous exception between ``pop()`` and the ``try`` could, as with ``with lock:``).
    A thread that finds the token gone yields the processor (``time.sleep``, which also releases
    the GIL so the holder can finish) with an exponential back-off capped at 1 ms. Spinning suits a
    critical section of two bytecodes; it was chosen for measured reasons
    (``docs/concurrency.md``, "How it is implemented"): on CPython 3.11 ``lock.acquire()`` parses
    its arguments on every call and ``with lock:`` binds ``__enter__``/``__exit__``, which made a
    ``_thread`` lock ~2x dearer than the token per CAS, and an explicitly acquired ``_thread``
    lock can be taken by a thread that does not hold the GIL, which under 8 threads turns into a
    lock convoy. The retry-loop helpers (``update_and_get``,
    ``accumulate_and_get`` and friends) call the user's function *outside* that lock and then
    CAS, so they are correct without relying on the GIL (free-threaded CPython included), and the
    function may run more than once under contention, exactly as in ``java.util.concurrent``.

    :class:`TreiberStack` (Treiber, IBM RJ 5118, 1986) keeps its top node in an
    :class:`AtomicReference`; push and pop are CAS retry loops on that one reference. Nodes are
    immutable and never reused, and Python's garbage collector keeps a node alive while any thread
    still holds it, so the ABA problem of manual-memory implementations cannot occur here (see
    ``docs/concurrency.md``).

Thread safety: every public method of every class here is safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import sleep
from typing import Any, Generic, TypeVar

__all__ = ["AtomicInteger", "AtomicReference", "TreiberStack"]

T = TypeVar("T")
V = TypeVar("V")


def _wait_for_token(token: list[None]) -> None:
    """Take the token of a contended spinlock: yield, back off, retry."""
    delay = 0.0
    while True:
        sleep(delay)  # releases the GIL, so a holder that was switched out can finish
        try:
            token.pop()
            return
        except IndexError:
            delay = min(delay * 2.0 or 1e-6, 1e-3)


def _as_int(name: str, value: object) -> int:
    # bool is an int subclass, but an AtomicInteger holding True is a bug, not a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    return int(value)


def _as_callable(name: str, fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {fn!r} of type {type(fn).__name__}")


class _CasUpdates(Generic[V]):
    """The functional updates of Java's atomics, written once on top of ``compare_and_set``.

    ``fn`` runs outside any lock and may run several times under contention: keep it free of
    side effects. Complexity: O(1) per attempt; attempts grow with contention.
    """

    __slots__ = ()
    _value: V

    def compare_and_set(self, expected: V, new: V) -> bool:  # pragma: no cover - overridden
        raise TypeError("subclasses implement compare_and_set")

    def _coerce(self, value: V) -> V:
        return value

    def _coerce_operand(self, x: V) -> V:
        return x

    def _retry(self, fn: Callable[[V], V], want_new: bool) -> V:
        while True:
            old = self._value
            new = self._coerce(fn(old))
            if self.compare_and_set(old, new):
                return new if want_new else old

    def get_and_update(self, fn: Callable[[V], V]) -> V:
        """Apply ``fn`` by a CAS retry loop (it may run more than once); return the old value."""
        _as_callable("fn", fn)
        return self._retry(fn, want_new=False)

    def update_and_get(self, fn: Callable[[V], V]) -> V:
        """Apply ``fn`` by a CAS retry loop (it may run more than once); return the new value."""
        _as_callable("fn", fn)
        return self._retry(fn, want_new=True)

    def get_and_accumulate(self, x: V, fn: Callable[[V, V], V]) -> V:
        """Replace the value ``v`` by ``fn(v, x)`` by a CAS retry loop; return ``v``."""
        x = self._coerce_operand(x)
        _as_callable("fn", fn)
        return self._retry(lambda v: fn(v, x), want_new=False)

    def accumulate_and_get(self, x: V, fn: Callable[[V, V], V]) -> V:
        """Replace the value ``v`` by ``fn(v, x)`` by a CAS retry loop; return the new value."""
        x = self._coerce_operand(x)
        _as_callable("fn", fn)
        return self._retry(lambda v: fn(v, x), want_new=True)


class AtomicInteger(_CasUpdates[int]):
    """An integer updated atomically, with Java's ``AtomicInteger`` operations.

    Values are unbounded Python ints (no 32-bit wrap-around). As in Java, equality is identity:
    compare ``get()`` values.

    Args:
        value: the initial value (an ``int``, not a ``bool``).

    Raises:
        TypeError: ``value`` is not an int.

    Complexity: every operation O(1); the ``*_update``/``*_accumulate`` helpers O(retries).

    Example:
        >>> counter = AtomicInteger(5)
        >>> counter.compare_and_set(5, 6)
        True
        >>> counter.compare_and_set(5, 7)
        False
        >>> counter.add_and_get(10), counter.get_and_add(1), counter.get()
        (16, 16, 17)
        >>> counter.update_and_get(lambda v: v * 2)
        34
    """

    __slots__ = ("_token", "_value")

    def __init__(self, value: int = 0) -> None:
        self._value = _as_int("value", value)
        self._token: list[None] = [None]

    def get(self) -> int:
        """The current value (a plain read: an int attribute load is atomic)."""
        return self._value

    def set(self, value: int) -> None:
        """Store ``value`` unconditionally."""
        self.get_and_set(value)

    # The operations below write their critical section out rather than share a helper or a
    # context manager: either would add a Python call to every CAS, a quarter of its cost.

    def get_and_set(self, value: int) -> int:
        """Store ``value``; return the previous value."""
        if type(value) is not int:
            value = _as_int("value", value)
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            old = self._value
            self._value = value
            return old
        finally:
            token.append(None)

    def compare_and_set(self, expected: int, new: int) -> bool:
        """Store ``new`` if the value equals ``expected``; True if it did.

        Complexity: O(1).
        """
        if type(new) is not int:
            new = _as_int("new", new)
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            if self._value == expected:
                self._value = new
                return True
            return False
        finally:
            token.append(None)

    def compare_and_exchange(self, expected: int, new: int) -> int:
        """Like :meth:`compare_and_set`, but return the witness value (the value seen).

        The exchange happened if and only if the result equals ``expected``.
        """
        if type(new) is not int:
            new = _as_int("new", new)
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            old = self._value
            if old == expected:
                self._value = new
            return old
        finally:
            token.append(None)

    def get_and_add(self, delta: int) -> int:
        """Add ``delta``; return the previous value."""
        if type(delta) is not int:
            delta = _as_int("delta", delta)
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            old = self._value
            self._value = old + delta
            return old
        finally:
            token.append(None)

    def add_and_get(self, delta: int) -> int:
        """Add ``delta``; return the new value."""
        if type(delta) is not int:
            delta = _as_int("delta", delta)
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            self._value += delta
            return self._value
        finally:
            token.append(None)

    def increment_and_get(self) -> int:
        """Add one; return the new value."""
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            self._value += 1
            return self._value
        finally:
            token.append(None)

    def decrement_and_get(self) -> int:
        """Subtract one; return the new value."""
        return self.add_and_get(-1)

    def get_and_increment(self) -> int:
        """Add one; return the previous value."""
        return self.get_and_add(1)

    def get_and_decrement(self) -> int:
        """Subtract one; return the previous value."""
        return self.get_and_add(-1)

    def _coerce(self, value: object) -> int:
        return value if type(value) is int else _as_int("the function's result", value)

    def _coerce_operand(self, x: object) -> int:
        return _as_int("x", x)

    def __int__(self) -> int:
        return self._value

    def __index__(self) -> int:
        return self._value

    def __repr__(self) -> str:
        return f"AtomicInteger({self._value})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (AtomicInteger, (self._value,))

    def _check(self) -> None:
        """Assert the invariants: an int value and an unheld lock (call when quiescent)."""
        assert type(self._value) is int, self._value
        assert self._token == [None], "AtomicInteger lock held while quiescent"


class AtomicReference(_CasUpdates[T]):
    """A reference updated atomically; compare-and-set compares by identity (``is``).

    Identity, as in Java, is what a lock-free algorithm needs: two equal but distinct nodes are
    different versions of the structure. For value semantics on numbers use
    :class:`AtomicInteger`. Beware that small ints and short strings may be the same object.

    Args:
        value: the initial reference.

    Complexity: every operation O(1); the update helpers O(retries).

    Example:
        >>> ref = AtomicReference("a")
        >>> seen = ref.get()
        >>> ref.compare_and_set(seen, "b"), ref.get()
        (True, 'b')
        >>> ref.compare_and_set(seen, "c"), ref.get()
        (False, 'b')
    """

    __slots__ = ("_token", "_value")

    def __init__(self, value: T) -> None:
        self._value = value
        self._token: list[None] = [None]

    def get(self) -> T:
        """The current reference."""
        return self._value

    def set(self, value: T) -> None:
        """Store ``value`` unconditionally."""
        self.get_and_set(value)

    def get_and_set(self, value: T) -> T:
        """Store ``value``; return the previous reference."""
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            old = self._value
            self._value = value
            return old
        finally:
            token.append(None)

    def compare_and_set(self, expected: T, new: T) -> bool:
        """Store ``new`` if the current reference *is* ``expected``; True if it did.

        Complexity: O(1).
        """
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            if self._value is expected:
                self._value = new
                return True
            return False
        finally:
            token.append(None)

    def compare_and_exchange(self, expected: T, new: T) -> T:
        """Like :meth:`compare_and_set`; return the witness (the reference seen)."""
        token = self._token
        try:
            token.pop()
        except IndexError:
            _wait_for_token(token)
        try:
            old = self._value
            if old is expected:
                self._value = new
            return old
        finally:
            token.append(None)

    def __repr__(self) -> str:
        return f"AtomicReference({self._value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (AtomicReference, (self._value,))

    def _check(self) -> None:
        """Assert the invariant: the lock is free (call when quiescent)."""
        assert self._token == [None], "AtomicReference lock held while quiescent"


class _Node(Generic[T]):
    # Immutable once published: a CAS on the head is then the only write a push or pop makes.
    __slots__ = ("next", "value")

    def __init__(self, value: T, next: _Node[T] | None) -> None:
        self.value = value
        self.next = next


class TreiberStack(Generic[T]):
    """A lock-free LIFO stack (Treiber 1986): push and pop are CAS loops on the top node.

    ``len()``, iteration and ``repr`` read a snapshot: the stack as it was at one instant.

    Args:
        items: optional initial items, pushed in order (the last one ends on top).

    Complexity: push, pop, peek O(1) expected (O(retries) under contention); len O(n).

    Example:
        >>> stack = TreiberStack([1, 2])
        >>> stack.push(3)
        >>> stack.pop(), stack.pop(), len(stack)
        (3, 2, 1)
        >>> list(stack)
        [1]
    """

    __slots__ = ("_top",)

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._top: AtomicReference[_Node[T] | None] = AtomicReference(None)
        for item in items:
            self.push(item)

    def push(self, item: T) -> None:
        """Put ``item`` on top.

        Complexity: O(1) per attempt.
        """
        top = self._top
        while True:
            old = top.get()
            if top.compare_and_set(old, _Node(item, old)):
                return

    def pop(self) -> T:
        """Remove and return the top item.

        Raises:
            IndexError: the stack is empty.

        Complexity: O(1) per attempt.
        """
        top = self._top
        while True:
            old = top.get()
            if old is None:
                raise IndexError("pop from an empty TreiberStack")
            if top.compare_and_set(old, old.next):
                return old.value

    def peek(self) -> T:
        """The top item, without removing it.

        Raises:
            IndexError: the stack is empty.
        """
        old = self._top.get()
        if old is None:
            raise IndexError("peek at an empty TreiberStack")
        return old.value

    def __iter__(self) -> Iterator[T]:
        """Items from top to bottom, as of one instant."""
        node = self._top.get()
        while node is not None:
            yield node.value
            node = node.next

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return self._top.get() is not None

    def __repr__(self) -> str:
        return f"TreiberStack({list(self)[::-1]!r})"

    def _check(self) -> None:
        """Assert the invariants: a finite, acyclic chain of nodes (call when quiescent)."""
        seen: set[int] = set()
        node = self._top.get()
        while node is not None:
            assert id(node) not in seen, "cycle in TreiberStack nodes"
            seen.add(id(node))
            node = node.next
        self._top._check()
