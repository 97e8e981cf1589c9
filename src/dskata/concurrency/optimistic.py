"""Optimistic concurrency control: a versioned store, commit-time validation and retries.

Theory of operation:
    Optimistic concurrency takes no lock while a client works. Every value carries a *version*;
    a writer says which version its change was computed from and the store refuses the write
    with :class:`ConflictError` if the value has moved on since. It is the same contract as an
    HTTP ``PUT`` with ``If-Match: "<etag>"`` (RFC 9110 §13.1.1; a stale tag gets
    ``412 Precondition Failed``) and as ``UPDATE t SET v = ?, version = version + 1 WHERE id = ?
    AND version = ?`` in SQL (zero rows updated means someone else won). For each version exactly
    one writer wins; the losers re-read and retry, usually after a randomised back-off.

    Versions here are store-wide *revisions*, as in etcd's ``mod_revision``: every successful
    write takes the next number of one counter. A version is therefore never reused, not even
    after a delete and a re-create, so a writer holding a version from before the delete cannot
    succeed by accident (the ABA problem of per-key counters that restart at 1). Version 0 means
    "absent": ``put(key, value, expected_version=0)`` is a create that fails if the key exists,
    like ``If-None-Match: *``.

    A :class:`Transaction` reads through the store, recording the version of every key it reads,
    and buffers its writes. ``commit()`` validates the whole read set at once (Kung & Robinson,
    "On Optimistic Methods for Concurrency Control", TODS 6(2), 1981, backward validation) and,
    if nothing it read has changed, applies all writes atomically with one new revision.
    Committed transactions are therefore serialisable; a transaction may observe an inconsistent
    snapshot while it runs, but it can never commit one.

Thread safety: :class:`VersionedStore` is safe to share; a :class:`Transaction` belongs to one
thread at a time.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

__all__ = ["ConflictError", "Transaction", "VersionedStore", "retry"]

V = TypeVar("V")
R = TypeVar("R")
_F = TypeVar("_F", bound=Callable[..., Any])

_MISSING: Any = object()


class ConflictError(Exception):
    """A write was computed from a version that is no longer current.

    Attributes:
        key: the first conflicting key.
        expected: the version the writer expected.
        actual: the version the store holds (0 if the key is absent).
        conflicts: every conflicting key of a transaction, ``{key: (expected, actual)}``.
    """

    def __init__(
        self,
        key: Hashable,
        expected: int,
        actual: int,
        conflicts: dict[Hashable, tuple[int, int]] | None = None,
    ) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        self.conflicts = conflicts if conflicts is not None else {key: (expected, actual)}
        more = f" (and {len(self.conflicts) - 1} more keys)" if len(self.conflicts) > 1 else ""
        super().__init__(
            f"version conflict on key {key!r}: expected version {expected}, "
            f"store has {actual}{more}"
        )


def _check_version(name: str, version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(f"{name} must be an int, got {version!r} of type {type(version).__name__}")
    if version < 0:
        raise ValueError(f"{name} must be >= 0 (0 means the key is absent), got {version}")
    return version


def _check_key(key: object) -> None:
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"key must be hashable, got {key!r} of type {type(key).__name__}") from None


class VersionedStore(Generic[V]):
    """A key-value store whose writes are conditional on the version they were computed from.

    Complexity: get, put, delete O(1); a transaction's commit O(reads + writes).

    Example:
        >>> store = VersionedStore()
        >>> v1 = store.put("x", "a", expected_version=0)       # create
        >>> store.get("x") == ("a", v1)
        True
        >>> v2 = store.put("x", "b", expected_version=v1)
        >>> try:
        ...     store.put("x", "c", expected_version=v1)        # stale: v1 is no longer current
        ... except ConflictError as exc:
        ...     print(exc)
        version conflict on key 'x': expected version 1, store has 2
        >>> store.get("x") == ("b", v2)
        True
    """

    def __init__(self) -> None:
        self._data: dict[Hashable, tuple[V, int]] = {}
        self._revision = 0
        self._lock = threading.Lock()

    @property
    def revision(self) -> int:
        """The store-wide revision: the version given to the latest successful write."""
        return self._revision

    def get(self, key: Hashable) -> tuple[V, int]:
        """``(value, version)`` of ``key``.

        Raises:
            KeyError: ``key`` is absent.
        """
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(key) from None
        except TypeError:
            _check_key(key)
            raise

    def version(self, key: Hashable) -> int:
        """The version of ``key``, 0 if absent."""
        item = self._data.get(key)
        return 0 if item is None else item[1]

    def put(self, key: Hashable, value: V, expected_version: int | None = None) -> int:
        """Write ``value`` if ``key`` is still at ``expected_version``; return the new version.

        Args:
            key: any hashable key.
            value: the new value.
            expected_version: the version the write was computed from; 0 means "must be absent"
                (a create); None makes an unconditional (blind) write.

        Raises:
            ConflictError: the key is no longer at ``expected_version``; nothing changed.

        Complexity: O(1).
        """
        _check_key(key)
        if expected_version is not None:
            _check_version("expected_version", expected_version)
        with self._lock:
            current = self._data.get(key)
            actual = 0 if current is None else current[1]
            if expected_version is not None and actual != expected_version:
                raise ConflictError(key, expected_version, actual)
            self._revision += 1
            self._data[key] = (value, self._revision)
            return self._revision

    def delete(self, key: Hashable, expected_version: int | None = None) -> None:
        """Remove ``key`` if it is still at ``expected_version`` (None: unconditionally).

        Raises:
            KeyError: ``key`` is absent and ``expected_version`` is None or 0 (nothing to
                delete, as HTTP answers 404 once an ``If-None-Match: *`` precondition holds).
            ConflictError: the key is no longer at ``expected_version``.
        """
        _check_key(key)
        if expected_version is not None:
            _check_version("expected_version", expected_version)
        with self._lock:
            current = self._data.get(key)
            actual = 0 if current is None else current[1]
            if expected_version is not None and actual != expected_version:
                raise ConflictError(key, expected_version, actual)
            if current is None:
                raise KeyError(key)
            # The revision moves on a delete too, so a re-created key gets a fresh version.
            self._revision += 1
            del self._data[key]

    def update(self, key: Hashable, fn: Callable[[V | None], V], attempts: int = 100) -> int:
        """Read-modify-write ``key`` by ``fn(old value or None)``, retrying on conflict.

        ``fn`` runs outside any lock and may run several times: keep it free of side effects.

        Returns:
            The version written.

        Raises:
            ConflictError: still conflicting after ``attempts`` tries.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")
        _check_attempts(attempts)
        _check_key(key)
        for attempt in range(attempts):
            item = self._data.get(key)
            old, version = (None, 0) if item is None else item
            try:
                return self.put(key, fn(old), expected_version=version)
            except ConflictError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def begin(self) -> Transaction[V]:
        """Start an optimistic transaction (see :class:`Transaction`)."""
        return Transaction(self)

    def transact(
        self, fn: Callable[[Transaction[V]], R], attempts: int = 10, backoff: float = 0.0
    ) -> R:
        """Run ``fn(txn)`` in a transaction and commit, retrying on :class:`ConflictError`.

        Returns:
            What ``fn`` returned in the attempt that committed.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")

        @retry(attempts=attempts, backoff=backoff)
        def attempt() -> R:
            with self.begin() as txn:
                return fn(txn)

        return attempt()

    def _commit(
        self,
        reads: dict[Hashable, int],
        writes: dict[Hashable, Any],
    ) -> int:
        with self._lock:
            conflicts: dict[Hashable, tuple[int, int]] = {}
            for key, seen in reads.items():
                item = self._data.get(key)
                actual = 0 if item is None else item[1]
                if actual != seen:
                    conflicts[key] = (seen, actual)
            if conflicts:
                key = next(iter(conflicts))
                raise ConflictError(key, conflicts[key][0], conflicts[key][1], conflicts)
            if not writes:
                return self._revision
            self._revision += 1
            for key, value in writes.items():
                if value is _MISSING:
                    self._data.pop(key, None)
                else:
                    self._data[key] = (value, self._revision)
            return self._revision

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._data))

    def items(self) -> list[tuple[Hashable, V, int]]:
        """A consistent snapshot: ``[(key, value, version), ...]``."""
        with self._lock:
            return [(k, v, ver) for k, (v, ver) in self._data.items()]

    def __repr__(self) -> str:
        return f"VersionedStore({len(self._data)} keys, revision={self._revision})"

    def _check(self) -> None:
        """Assert the invariants: versions positive, unique per write, at most the revision."""
        with self._lock:
            for key, (_, ver) in self._data.items():
                assert 0 < ver <= self._revision, (key, ver, self._revision)


class Transaction(Generic[V]):
    """An optimistic transaction: reads recorded with their versions, writes buffered.

    Reads see the transaction's own writes. ``commit()`` applies every write atomically if no
    key that was read has changed, else raises :class:`ConflictError` and applies nothing. Used
    as a context manager it commits on success and aborts on an exception.

    Complexity: get/put/delete O(1); commit O(reads + writes) under the store's lock.

    Example:
        >>> store = VersionedStore()
        >>> _ = store.put("a", 10), store.put("b", 0)
        >>> with store.begin() as txn:          # move 3 from a to b, or nothing
        ...     txn.put("a", txn.get("a") - 3)
        ...     txn.put("b", txn.get("b") + 3)
        >>> store.get("a")[0], store.get("b")[0]
        (7, 3)
    """

    def __init__(self, store: VersionedStore[V]) -> None:
        self._store = store
        self._reads: dict[Hashable, int] = {}
        self._writes: dict[Hashable, Any] = {}
        self._state = "active"

    @property
    def state(self) -> str:
        """``"active"``, ``"committed"`` or ``"aborted"``."""
        return self._state

    @property
    def read_set(self) -> dict[Hashable, int]:
        """The versions read so far, ``{key: version}`` (0 for a key read as absent)."""
        return dict(self._reads)

    @property
    def write_set(self) -> dict[Hashable, Any]:
        """The buffered writes (deletes are not listed)."""
        return {k: v for k, v in self._writes.items() if v is not _MISSING}

    def _active(self) -> None:
        if self._state != "active":
            raise RuntimeError(f"transaction is {self._state}; start a new one with begin()")

    def get(self, key: Hashable, default: Any = _MISSING) -> Any:
        """The value of ``key`` as this transaction sees it.

        Raises:
            KeyError: absent and no ``default`` given.
        """
        self._active()
        _check_key(key)
        if key in self._writes:
            value = self._writes[key]
        else:
            item = self._store._data.get(key)
            value, version = (_MISSING, 0) if item is None else item
            # First read wins: validation must compare with the version first observed.
            self._reads.setdefault(key, version)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Buffer a write of ``value`` to ``key``."""
        self._active()
        _check_key(key)
        self._writes[key] = value

    def delete(self, key: Hashable) -> None:
        """Buffer a delete of ``key`` (a no-op at commit if it is absent then)."""
        self._active()
        _check_key(key)
        self._writes[key] = _MISSING

    def commit(self) -> int:
        """Validate the read set and apply the writes atomically.

        Returns:
            The revision of the writes (the current revision if there were none).

        Raises:
            ConflictError: a key read has changed since; nothing was applied.
            RuntimeError: the transaction is not active.
        """
        self._active()
        try:
            revision = self._store._commit(self._reads, self._writes)
        except ConflictError:
            self._state = "aborted"
            raise
        self._state = "committed"
        return revision

    def abort(self) -> None:
        """Discard the buffered writes (idempotent once aborted)."""
        if self._state == "committed":
            raise RuntimeError("transaction is committed; it cannot be aborted")
        self._state = "aborted"
        self._writes.clear()

    def __enter__(self) -> Transaction[V]:
        self._active()
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if tp is None and self._state == "active":
            self.commit()
        elif self._state == "active":
            self.abort()

    def __repr__(self) -> str:
        return f"<Transaction {self._state} reads={len(self._reads)} writes={len(self._writes)}>"


def _check_attempts(attempts: object) -> int:
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise TypeError(f"attempts must be an int, got {attempts!r}")
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    return attempts


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    return float(value)


@overload
def retry(fn: _F, /) -> _F: ...


@overload
def retry(
    fn: None = None,
    /,
    *,
    on: type[BaseException] | tuple[type[BaseException], ...] = ConflictError,
    attempts: int = 5,
    backoff: float = 0.001,
    max_backoff: float = 0.1,
    seed: int | None = 0,
    sleep: Callable[[float], object] = time.sleep,
) -> Callable[[_F], _F]: ...


def retry(
    fn: _F | None = None,
    /,
    *,
    on: type[BaseException] | tuple[type[BaseException], ...] = ConflictError,
    attempts: int = 5,
    backoff: float = 0.001,
    max_backoff: float = 0.1,
    seed: int | None = 0,
    sleep: Callable[[float], object] = time.sleep,
) -> Any:
    """Decorator: call again when the function raises ``on``, with randomised back-off.

    Before retry ``n`` (1, 2, ...) it sleeps a uniformly random time in
    ``[0, min(max_backoff, backoff * 2 ** (n - 1))]``: exponential back-off with "full jitter"
    (Brooker, AWS Architecture Blog, 2015), so contenders spread out instead of colliding again
    in lock-step. Usable bare (``@retry``) or with arguments (``@retry(attempts=10)``).

    Args:
        fn: the function (when used bare).
        on: the exception class or classes that mean "try again".
        attempts: total calls allowed (>= 1); the last failure is re-raised.
        backoff: the first back-off ceiling in seconds (0 disables sleeping).
        max_backoff: the ceiling's cap in seconds.
        seed: seed of the jitter's private random generator (None: a fresh unseeded one).
        sleep: the sleep function (inject a fake one in tests).

    Raises:
        TypeError, ValueError: bad arguments, at decoration time.

    Complexity: O(attempts) calls.

    Example:
        >>> calls = []
        >>> @retry(attempts=3, sleep=calls.append)
        ... def flaky():
        ...     if len(calls) < 2:
        ...         raise ConflictError("k", 1, 2)
        ...     return "done"
        >>> flaky(), len(calls)
        ('done', 2)
    """
    exc_types = on if isinstance(on, tuple) else (on,)
    if not exc_types or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in exc_types
    ):
        raise TypeError(f"on must be an exception class or a tuple of them, got {on!r}")
    _check_attempts(attempts)
    base = _check_seconds("backoff", backoff)
    cap = _check_seconds("max_backoff", max_backoff)
    if not callable(sleep):
        raise TypeError(f"sleep must be callable, got {sleep!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    rng = random.Random(seed)
    rng_lock = threading.Lock()

    def decorate(func: _F) -> _F:
        if not callable(func):
            raise TypeError(f"retry decorates a callable, got {func!r}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except exc_types:
                    if attempt == attempts:
                        raise
                ceiling = min(cap, base * 2 ** (attempt - 1))
                if ceiling > 0:
                    with rng_lock:
                        delay = rng.uniform(0.0, ceiling)
                    sleep(delay)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper  # type: ignore[return-value]

    if fn is not None:
        return decorate(fn)
    return decorate
