"""VersionedStore, optimistic transactions and retry: versions, conflicts, back-off, contention."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Hashable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dskata.concurrency.linearizability import (
    HistoryRecorder,
    Keyed,
    VersionedRegister,
    check_linearizable,
)
from dskata.concurrency.optimistic import ConflictError, Transaction, VersionedStore, retry
from dskata.concurrency.stress import run_threads, switch_point


def test_a_put_returns_a_version_that_get_reports() -> None:
    store: VersionedStore[str] = VersionedStore()
    v = store.put("k", "a")
    assert store.get("k") == ("a", v)
    assert store.version("k") == v and store.version("missing") == 0
    with pytest.raises(KeyError):
        store.get("missing")
    store._check()


def test_versions_strictly_increase_with_every_write() -> None:
    store: VersionedStore[int] = VersionedStore()
    versions = [store.put("k", i) for i in range(5)]
    assert versions == sorted(set(versions))


def test_a_stale_put_raises_conflict_error_and_changes_nothing() -> None:
    """Like If-Match with an old ETag (RFC 9110 §13.1.1): 412, and the resource is unchanged."""
    store: VersionedStore[str] = VersionedStore()
    v1 = store.put("k", "a", expected_version=0)
    v2 = store.put("k", "b", expected_version=v1)
    revision = store.revision
    with pytest.raises(ConflictError) as info:
        store.put("k", "c", expected_version=v1)
    assert (info.value.key, info.value.expected, info.value.actual) == ("k", v1, v2)
    assert store.get("k") == ("b", v2), "a refused write must not touch the value"
    assert store.revision == revision, "a refused write must not bump any version"
    store._check()


def test_create_with_expected_version_zero_fails_if_the_key_exists() -> None:
    store: VersionedStore[str] = VersionedStore()
    store.put("k", "a", expected_version=0)
    with pytest.raises(ConflictError):
        store.put("k", "b", expected_version=0)


def test_a_version_from_before_a_delete_never_matches_the_re_created_key() -> None:
    store: VersionedStore[str] = VersionedStore()
    old = store.put("k", "a")
    store.delete("k", expected_version=old)
    store.put("k", "b", expected_version=0)
    with pytest.raises(ConflictError):
        store.put("k", "stale", expected_version=old)
    assert store.get("k")[0] == "b"


def test_bad_arguments_are_refused_before_any_change() -> None:
    store: VersionedStore[str] = VersionedStore()
    with pytest.raises(ValueError, match="expected_version must be >= 0"):
        store.put("k", "a", expected_version=-1)
    with pytest.raises(TypeError, match="expected_version must be an int"):
        store.put("k", "a", expected_version="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be hashable"):
        store.put(["k"], "a")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.delete("k")
    assert len(store) == 0 and store.revision == 0


def test_exactly_one_writer_wins_each_version_under_forced_switches() -> None:
    store: VersionedStore[int] = VersionedStore()
    store.put("k", 0)
    wins: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(i: int) -> int:
        conflicts = 0
        for _ in range(200):
            value, version = store.get("k")
            switch_point()
            try:
                store.put("k", value + 1, expected_version=version)
            except ConflictError:
                conflicts += 1
                continue
            with lock:
                wins.append((version, i))
        return conflicts

    run_threads(work, 8)
    won_versions = [v for v, _ in wins]
    assert len(won_versions) == len(set(won_versions)), "two writers won the same version"
    assert store.get("k")[0] == len(wins), "every successful write must count: no lost update"


def test_retry_calls_again_on_conflict_with_growing_jittered_back_off() -> None:
    sleeps: list[float] = []
    calls = {"n": 0}

    @retry(attempts=5, backoff=0.01, max_backoff=0.03, sleep=sleeps.append)
    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 5:
            raise ConflictError("k", 1, 2)
        return "ok"

    assert flaky() == "ok"
    assert calls["n"] == 5 and len(sleeps) == 4
    ceilings = [0.01, 0.02, 0.03, 0.03]
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True)), sleeps


def test_retry_reraises_after_the_last_attempt_and_ignores_other_errors() -> None:
    calls = {"n": 0}

    @retry(attempts=3, backoff=0)
    def always() -> None:
        calls["n"] += 1
        raise ConflictError("k", 1, 2)

    with pytest.raises(ConflictError):
        always()
    assert calls["n"] == 3

    @retry
    def boom() -> None:
        calls["n"] += 1
        raise KeyError("x")

    calls["n"] = 0
    with pytest.raises(KeyError):
        boom()
    assert calls["n"] == 1, "only the `on` exceptions are retried"


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"attempts": 0}, ValueError),
        ({"attempts": 1.5}, TypeError),
        ({"backoff": -1}, ValueError),
        ({"max_backoff": float("nan")}, ValueError),
        ({"on": 5}, TypeError),
        ({"sleep": 3}, TypeError),
    ],
    ids=str,
)
def test_retry_validates_its_arguments_at_decoration_time(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        retry(**kwargs)  # type: ignore[call-overload]


def test_a_transaction_reads_its_own_writes_and_commits_atomically() -> None:
    store: VersionedStore[int] = VersionedStore()
    store.put("a", 10)
    store.put("b", 0)
    txn = store.begin()
    txn.put("a", txn.get("a") - 3)
    assert txn.get("a") == 7 and store.get("a")[0] == 10, "writes stay buffered until commit"
    txn.put("b", txn.get("b") + 3)
    txn.delete("gone")
    revision = txn.commit()
    assert store.get("a") == (7, revision) and store.get("b") == (3, revision)
    assert txn.state == "committed"
    with pytest.raises(RuntimeError, match="committed"):
        txn.put("a", 1)
    store._check()


def test_a_transaction_whose_read_went_stale_commits_nothing() -> None:
    """Kung & Robinson 1981 §3: validation fails if a read item was written since."""
    store: VersionedStore[int] = VersionedStore()
    store.put("a", 1)
    store.put("b", 1)
    txn = store.begin()
    txn.get("a")
    txn.put("b", 99)
    store.put("a", 2)  # a concurrent writer commits first
    with pytest.raises(ConflictError) as info:
        txn.commit()
    assert info.value.conflicts == {"a": (1, 3)}
    assert store.get("b")[0] == 1, "a failed commit must apply none of its writes"
    assert txn.state == "aborted"


def test_a_transaction_context_manager_aborts_on_exception() -> None:
    store: VersionedStore[int] = VersionedStore()
    with pytest.raises(ZeroDivisionError), store.begin() as txn:
        txn.put("a", 1)
        _ = 1 / 0
    assert "a" not in store and txn.state == "aborted"


def test_reading_an_absent_key_then_someone_creating_it_is_a_conflict() -> None:
    store: VersionedStore[int] = VersionedStore()
    txn = store.begin()
    assert txn.get("a", None) is None
    store.put("a", 1)
    txn.put("b", 1)
    with pytest.raises(ConflictError):
        txn.commit()


def test_transfers_in_retried_transactions_conserve_the_total_under_contention() -> None:
    store: VersionedStore[int] = VersionedStore()
    for k in range(4):
        store.put(k, 100)

    def transfer(txn: Transaction[int], src: int, dst: int) -> None:
        a = txn.get(src)
        switch_point()  # invite a conflicting commit between the read and ours
        txn.put(src, a - 1)
        txn.put(dst, txn.get(dst) + 1)

    def work(i: int) -> None:
        for k in range(100):
            src, dst = (i + k) % 4, (i + 2 * k + 1) % 4
            if src != dst:

                def move(txn: Transaction[int], s: int = src, d: int = dst) -> None:
                    transfer(txn, s, d)

                store.transact(move, attempts=1000, backoff=0)

    run_threads(work, 8)
    assert sum(v for _, v, _ in store.items()) == 400, "money was created or destroyed"
    store._check()


def test_update_retries_until_its_read_modify_write_lands() -> None:
    store: VersionedStore[int] = VersionedStore()
    run_threads(lambda _: [store.update("n", lambda v: (v or 0) + 1) for _ in range(300)], 8)
    assert store.get("n")[0] == 2_400


def test_a_recorded_store_history_is_linearizable_per_key() -> None:
    store: VersionedStore[int] = VersionedStore()
    rec = HistoryRecorder()

    def get(key: str) -> tuple[int, int]:
        return store.get(key)

    def work(i: int) -> None:
        for k in range(40):
            key = "ab"[(i + k) % 2]
            try:
                _, version = rec.record("get", (key, None), get, key)
            except KeyError:
                version = 0
            with contextlib.suppress(ConflictError):
                rec.record("put", (key, (i, version)), store.put, key, i, version)

    run_threads(work, 8)
    history = rec.history()  # put's inner argument is (value, expected_version)
    result = check_linearizable(history, Keyed(VersionedRegister()))
    assert result.linearizable, result.explain()


class StoreMachine(RuleBasedStateMachine):
    """VersionedStore against a dict of (value, version) with a revision counter."""

    def __init__(self) -> None:
        super().__init__()
        self.store: VersionedStore[int] = VersionedStore()
        self.model: dict[Hashable, tuple[int, int]] = {}
        self.revision = 0

    @rule(key=st.sampled_from("abc"), value=st.integers(0, 9), stale=st.booleans())
    def put(self, key: str, value: int, stale: bool) -> None:
        current = self.model.get(key, (0, 0))[1]
        expected = current + 1 if stale else current
        if stale:
            with pytest.raises(ConflictError):
                self.store.put(key, value, expected_version=expected)
            return
        self.revision += 1
        assert self.store.put(key, value, expected_version=expected) == self.revision
        self.model[key] = (value, self.revision)

    @rule(key=st.sampled_from("abc"))
    def delete(self, key: str) -> None:
        if key not in self.model:
            with pytest.raises(KeyError):
                self.store.delete(key)
            return
        self.store.delete(key, expected_version=self.model.pop(key)[1])
        self.revision += 1

    @invariant()
    def agrees(self) -> None:
        for key in "abc":
            if key in self.model:
                assert self.store.get(key) == self.model[key]
            else:
                assert key not in self.store
        self.store._check()


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


def test_a_conditional_delete_behaves_like_sql_delete_where_version() -> None:
    """DELETE ... WHERE version = ?: a stale version conflicts and deletes nothing; an absent
    key expected absent (version 0) is a KeyError, like HTTP's 404 after If-None-Match: *."""
    store: VersionedStore[str] = VersionedStore()
    v1 = store.put("k", "a")
    v2 = store.put("k", "b", expected_version=v1)
    with pytest.raises(ConflictError) as info:
        store.delete("k", expected_version=v1)
    assert (info.value.expected, info.value.actual) == (v1, v2)
    assert store.get("k") == ("b", v2) and store.revision == v2, "a refused delete changes nothing"
    with pytest.raises(KeyError):
        store.delete("absent", expected_version=0)
    store.delete("k", expected_version=v2)
    assert "k" not in store and store.revision == v2 + 1
    store._check()
