"""A stress harness that makes races happen: tiny switch intervals and injected switch points.

Theory of operation:
    CPython switches threads every ``sys.getswitchinterval()`` seconds (5 ms by default), so a
    race window of a few bytecodes is almost never hit in a test. :func:`switch_interval` lowers
    the interval (to 1 µs by default) for the duration of a ``with`` block and always restores
    it; :func:`switch_point` (``time.sleep(0)``, which releases the GIL) placed inside a race
    window makes another thread very likely to run exactly there. :class:`Switcher` injects such
    points with a probability, from a seeded generator per thread.

    :func:`run_threads` starts all workers behind a barrier (so they really overlap), joins them
    with a deadline and re-raises the first worker exception; a hung worker becomes a
    :class:`StressTimeout` instead of a hung test.

    :class:`RacyCounter` and :class:`BrokenCASRegister` are deliberately wrong objects for the
    demonstrations and for testing the checker: a read-then-write ``x += 1`` and a CAS whose
    compare and set are two steps.

    Under the GIL a bytecode sequence without a call or a backward jump is never interrupted, so
    a racy ``self.n += 1`` can pass any amount of plain stress. :func:`inject_switches` traces
    the chosen code (``sys.settrace`` with per-opcode events) and offers a switch before each of
    its bytecodes: the races a free-threaded interpreter would expose become visible here.

Thread safety: the harness is driven from one thread; the demo objects are unsafe on purpose.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, TypeVar

__all__ = [
    "BrokenCASRegister",
    "RacyCounter",
    "StressTimeout",
    "Switcher",
    "inject_switches",
    "run_threads",
    "switch_interval",
    "switch_point",
]

R = TypeVar("R")


class StressTimeout(RuntimeError):
    """Worker threads did not finish before the deadline (a deadlock or a livelock)."""


@contextmanager
def switch_interval(seconds: float = 1e-6) -> Iterator[None]:
    """Run the block with ``sys.setswitchinterval(seconds)``; restore the old value after.

    Raises:
        ValueError: ``seconds`` is not positive.

    Example:
        >>> import sys
        >>> before = sys.getswitchinterval()
        >>> with switch_interval(1e-6):
        ...     sys.getswitchinterval() < before
        True
        >>> sys.getswitchinterval() == before
        True
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, got {seconds!r}")
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def switch_point() -> None:
    """Let another thread run here (releases the GIL: ``time.sleep(0)``)."""
    time.sleep(0)


class Switcher:
    """Injected switch points: calling it switches with ``probability``, per-thread seeded.

    Args:
        probability: in [0, 1].
        seed: base seed; thread ``k`` (in order of first call) uses ``seed + k``.

    Example:
        >>> always = Switcher(1.0)
        >>> always()
        True
        >>> Switcher(0.0)()
        False
    """

    def __init__(self, probability: float = 1.0, seed: int = 0) -> None:
        if isinstance(probability, bool) or not isinstance(probability, (int, float)):
            raise TypeError(f"probability must be a number in [0, 1], got {probability!r}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.probability = float(probability)
        self.seed = seed
        self._local = threading.local()
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        """Maybe switch; True if it did."""
        p = self.probability
        if p <= 0.0:
            return False
        if p < 1.0:
            rng = getattr(self._local, "rng", None)
            if rng is None:
                with self._lock:
                    rng = self._local.rng = random.Random(self.seed + self._count)
                    self._count += 1
            if rng.random() >= p:
                return False
        time.sleep(0)
        return True


@contextmanager
def inject_switches(
    where: Iterable[str] | Callable[[CodeType], bool],
    probability: float = 0.2,
    seed: int = 0,
) -> Iterator[Switcher]:
    """Offer a thread switch before every bytecode of the selected code, in threads started
    inside the block (and the current one).

    Args:
        where: source file names whose code is instrumented, or a predicate on code objects.
        probability: chance of switching at each bytecode.
        seed: seed of the :class:`Switcher`.

    The previous trace functions (a debugger's, coverage's) are restored on exit.

    Example:
        >>> import dskata.concurrency.stress as stress
        >>> with inject_switches([stress.__file__], probability=1.0) as switcher:
        ...     RacyCounter(switch=lambda: None).increment_and_get()
        1
        >>> switcher.probability
        1.0
    """
    if callable(where):
        wanted = where
    else:
        files = set(where)
        if not all(isinstance(f, str) for f in files):
            raise TypeError(f"where must be file names or a predicate, got {where!r}")

        def wanted(code: CodeType) -> bool:
            return code.co_filename in files

    switcher = Switcher(probability, seed)

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            switcher()
        return local

    def start(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and wanted(frame.f_code):
            frame.f_trace_lines = False
            frame.f_trace_opcodes = True
            return local
        return None

    old_sys, old_threading = sys.gettrace(), threading.gettrace()
    threading.settrace(start)
    sys.settrace(start)
    try:
        yield switcher
    finally:
        sys.settrace(old_sys)
        threading.settrace(old_threading)


def run_threads(
    worker: Callable[[int], R],
    threads: int = 8,
    *,
    interval: float | None = 1e-6,
    timeout: float = 60.0,
) -> list[R]:
    """Run ``worker(i)`` for i in ``range(threads)`` concurrently; return their results.

    Args:
        worker: the body of thread ``i``.
        threads: how many threads (>= 1).
        interval: the switch interval while they run (None: leave it as is).
        timeout: seconds to wait for all of them.

    Raises:
        StressTimeout: some thread was still running at the deadline.
        Exception: the first exception a worker raised.

    Example:
        >>> run_threads(lambda i: i * i, threads=4)
        [0, 1, 4, 9]
    """
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[tuple[int, BaseException]] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout)
            results[i] = worker(i)
        except BaseException as exc:
            errors.append((i, exc))

    pool = [
        threading.Thread(target=body, args=(i,), name=f"dskata-stress-{i}", daemon=True)
        for i in range(threads)
    ]
    with switch_interval(interval) if interval is not None else _nothing():
        for t in pool:
            t.start()
        deadline = time.monotonic() + timeout
        for t in pool:
            t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in pool if t.is_alive()]
    if alive:
        raise StressTimeout(f"{len(alive)} of {threads} threads still running after {timeout} s")
    if errors:
        errors.sort(key=lambda e: e[0])
        raise errors[0][1]
    return results


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class RacyCounter:
    """A counter whose increment is a read, a switch point and a write: it loses updates.

    Example:
        >>> c = RacyCounter(switch=lambda: None)
        >>> c.increment_and_get(), c.get()
        (1, 1)
    """

    def __init__(self, switch: Callable[[], object] = switch_point) -> None:
        self.value = 0
        self._switch = switch

    def get(self) -> int:
        """The value."""
        return self.value

    def increment_and_get(self) -> int:
        """``x += 1`` the naive way; another thread may write in between."""
        v = self.value
        self._switch()
        self.value = v + 1
        return v + 1


class BrokenCASRegister:
    """A compare-and-set whose compare and set are separate steps: two threads can both win.

    Example:
        >>> r = BrokenCASRegister(0, switch=lambda: None)
        >>> r.compare_and_set(0, 1), r.compare_and_set(0, 2), r.get()
        (True, False, 1)
    """

    def __init__(self, value: Any = 0, switch: Callable[[], object] = switch_point) -> None:
        self.value = value
        self._switch = switch

    def get(self) -> Any:
        """The value."""
        return self.value

    def compare_and_set(self, expected: Any, new: Any) -> bool:
        """Compare, switch, then set: not atomic."""
        if self.value != expected:
            return False
        self._switch()
        self.value = new
        return True
