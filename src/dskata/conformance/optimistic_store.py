"""Contract of the ``optimistic-store`` kata: versions, conflicts, retries, transactions.

Surface under test: ``impl.VersionedStore()`` with ``get(key) -> (value, version)`` (``KeyError``
when absent), ``version(key)`` (0 when absent), ``put(key, value, expected_version=None) ->
version``, ``delete(key, expected_version=None)``, ``begin() -> transaction`` (``get``, ``put``,
``commit``, ``abort``, context manager); ``impl.ConflictError`` with ``key``, ``expected``,
``actual``; ``impl.retry(on=ConflictError, attempts=5, backoff=0.001, max_backoff=0.1, seed=0,
sleep=time.sleep)``.
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dskata.concurrency.stress import inject_switches, run_threads, switch_point

KATA = "optimistic-store"

stateful = settings(max_examples=25, stateful_step_count=25, deadline=None)


def _source_of(obj: Any) -> list[str]:
    path = getattr(sys.modules.get(obj.__module__), "__file__", None)
    return [path] if path else []


# ------------------------------------------------------------------ step 1


@pytest.mark.kata_step(1, "versions")
def test_a_put_returns_the_version_that_get_then_reports(impl: Any) -> None:
    """put returns a positive version; get returns (value, that version)."""
    store = impl.VersionedStore()
    v = store.put("k", "a")
    assert isinstance(v, int) and v > 0, f"put returned {v!r}, expected a positive int version"
    assert store.get("k") == ("a", v), f"get('k') was {store.get('k')!r}, expected ('a', {v})"
    assert store.version("k") == v, f"version('k') was {store.version('k')!r}, expected {v}"


@pytest.mark.kata_step(1, "versions")
def test_an_absent_key_has_version_zero_and_get_raises_key_error(impl: Any) -> None:
    """version(missing) is 0 and get(missing) raises KeyError."""
    store = impl.VersionedStore()
    assert store.version("nope") == 0, "version of an absent key should be 0"
    with pytest.raises(KeyError):
        store.get("nope")


@pytest.mark.kata_step(1, "versions")
def test_every_successful_write_gives_a_higher_version(impl: Any) -> None:
    """Five puts to one key return strictly increasing versions."""
    store = impl.VersionedStore()
    versions = [store.put("k", i) for i in range(5)]
    assert all(a < b for a, b in itertools.pairwise(versions)), (
        f"versions {versions} should strictly increase"
    )
    assert store.get("k") == (4, versions[-1])


# ------------------------------------------------------------------ step 2


@pytest.mark.kata_step(2, "stale writes refused")
def test_a_write_with_a_stale_version_raises_conflict_error(impl: Any) -> None:
    """put(expected_version=old) after someone else wrote raises ConflictError(key, old, now)."""
    store = impl.VersionedStore()
    v1 = store.put("k", "a")
    v2 = store.put("k", "b", expected_version=v1)
    with pytest.raises(impl.ConflictError) as info:
        store.put("k", "c", expected_version=v1)
    err = info.value
    assert (err.key, err.expected, err.actual) == ("k", v1, v2), (
        f"ConflictError had key={err.key!r}, expected={err.expected!r}, actual={err.actual!r}; "
        f"wanted 'k', {v1}, {v2}"
    )
    assert store.get("k") == ("b", v2), "a refused write must leave value and version alone"


@pytest.mark.kata_step(2, "stale writes refused")
def test_a_refused_write_does_not_bump_the_version(impl: Any) -> None:
    """After a ConflictError, the current version still works for the next writer."""
    store = impl.VersionedStore()
    v1 = store.put("k", 1)
    v2 = store.put("k", 2, expected_version=v1)
    with pytest.raises(impl.ConflictError):
        store.put("k", 3, expected_version=v1)
    assert store.version("k") == v2, (
        f"version went from {v2} to {store.version('k')} on a refused write"
    )
    store.put("k", 4, expected_version=v2)


@pytest.mark.kata_step(2, "stale writes refused")
def test_expected_version_zero_means_create_only(impl: Any) -> None:
    """put(expected_version=0) creates an absent key and refuses an existing one."""
    store = impl.VersionedStore()
    store.put("k", "a", expected_version=0)
    with pytest.raises(impl.ConflictError):
        store.put("k", "b", expected_version=0)
    assert store.get("k")[0] == "a"


@pytest.mark.kata_step(2, "stale writes refused")
def test_a_version_from_before_a_delete_never_matches_again(impl: Any) -> None:
    """Read v, delete, re-create: a write expecting v must still be refused (no ABA)."""
    store = impl.VersionedStore()
    old = store.put("k", "a")
    store.delete("k", expected_version=old)
    store.put("k", "b", expected_version=0)
    with pytest.raises(impl.ConflictError):
        store.put("k", "stale", expected_version=old)


@pytest.mark.kata_step(2, "stale writes refused")
def test_a_negative_expected_version_is_a_value_error(impl: Any) -> None:
    """expected_version=-1 raises ValueError and stores nothing."""
    store = impl.VersionedStore()
    with pytest.raises(ValueError):
        store.put("k", "a", expected_version=-1)
    assert store.version("k") == 0


@pytest.mark.kata_step(2, "stale writes refused")
def test_exactly_one_writer_wins_each_version_under_contention(impl: Any) -> None:
    """8 threads read-then-put one counter: no version is won twice, no update is lost."""
    store = impl.VersionedStore()
    store.put("n", 0)
    wins: list[int] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        for _ in range(100):
            value, version = store.get("n")
            switch_point()
            try:
                store.put("n", value + 1, expected_version=version)
            except impl.ConflictError:
                continue
            with lock:
                wins.append(version)

    with inject_switches(_source_of(impl.VersionedStore), probability=0.2):
        run_threads(work, 8, timeout=60)
    assert len(wins) == len(set(wins)), "two writers both succeeded from the same version"
    final = store.get("n")[0]
    assert final == len(wins), f"{len(wins)} writes succeeded but the counter says {final}"


@pytest.mark.kata_step(2, "stale writes refused")
def test_the_store_behaves_like_a_dict_of_versions(impl: Any) -> None:
    """Random puts (fresh or stale) agree with a dict model; stale ones change nothing."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = impl.VersionedStore()
            self.model: dict[str, tuple[int, int]] = {}

        @rule(key=st.sampled_from("ab"), value=st.integers(0, 9), stale=st.booleans())
        def put(self, key: str, value: int, stale: bool) -> None:
            current = self.model.get(key, (0, 0))[1]
            if stale:
                with pytest.raises(impl.ConflictError):
                    self.store.put(key, value, expected_version=current + 1000)
                return
            version = self.store.put(key, value, expected_version=current)
            assert version > current, f"new version {version} is not above {current}"
            self.model[key] = (value, version)

        @invariant()
        def agrees(self) -> None:
            for key, (value, version) in self.model.items():
                got = self.store.get(key)
                assert got == (value, version), f"get({key!r}) was {got}, expected {value, version}"

    run_state_machine_as_test(Machine, settings=stateful)


# ------------------------------------------------------------------ step 3


@pytest.mark.kata_step(3, "retry with back-off")
def test_retry_calls_again_after_a_conflict_and_returns_the_result(impl: Any) -> None:
    """A function failing twice with ConflictError succeeds on the third call; 2 sleeps."""
    sleeps: list[float] = []
    calls = [0]

    def _flaky() -> str:
        calls[0] += 1
        if calls[0] < 3:
            raise impl.ConflictError("k", 1, 2)
        return "done"

    flaky = impl.retry(attempts=5, sleep=sleeps.append)(_flaky)
    assert flaky() == "done", "retry must return the successful call's result"
    assert calls[0] == 3, f"the function ran {calls[0]} times, expected 3"
    assert len(sleeps) == 2, f"slept {len(sleeps)} times between 3 calls, expected 2"


@pytest.mark.kata_step(3, "retry with back-off")
def test_retry_gives_up_after_the_attempts_and_reraises(impl: Any) -> None:
    """With attempts=3, a function that always conflicts runs 3 times, then the error escapes."""
    calls = [0]

    def _always() -> None:
        calls[0] += 1
        raise impl.ConflictError("k", 1, 2)

    always = impl.retry(attempts=3, sleep=lambda s: None)(_always)
    with pytest.raises(impl.ConflictError):
        always()
    assert calls[0] == 3, f"ran {calls[0]} times, expected exactly 3"


@pytest.mark.kata_step(3, "retry with back-off")
def test_retry_does_not_retry_other_errors(impl: Any) -> None:
    """A KeyError is not a conflict: it escapes at once."""
    calls = [0]

    def _broken() -> None:
        calls[0] += 1
        raise KeyError("x")

    broken = impl.retry(attempts=5, sleep=lambda s: None)(_broken)
    with pytest.raises(KeyError):
        broken()
    assert calls[0] == 1, f"ran {calls[0]} times; other errors must not be retried"


@pytest.mark.kata_step(3, "retry with back-off")
def test_back_off_is_jittered_under_an_exponentially_growing_cap(impl: Any) -> None:
    """Sleep n lies in [0, min(max_backoff, backoff * 2**(n-1))], and the sleeps vary."""
    sleeps: list[float] = []

    def _always() -> None:
        raise impl.ConflictError("k", 1, 2)

    always = impl.retry(attempts=9, backoff=0.01, max_backoff=0.05, sleep=sleeps.append)(_always)
    with pytest.raises(impl.ConflictError):
        always()
    assert len(sleeps) == 8, f"{len(sleeps)} sleeps for 9 attempts, expected 8"
    for n, s in enumerate(sleeps, start=1):
        cap = min(0.05, 0.01 * 2 ** (n - 1))
        assert 0 <= s <= cap, f"sleep {n} was {s}, allowed [0, {cap}]"
    assert len(set(sleeps)) > 1, "every sleep was the same: add random jitter"


@pytest.mark.kata_step(3, "retry with back-off")
def test_bad_retry_arguments_are_refused_when_decorating(impl: Any) -> None:
    """attempts=0 and a negative backoff raise ValueError before any call."""
    with pytest.raises(ValueError):
        impl.retry(attempts=0)
    with pytest.raises(ValueError):
        impl.retry(backoff=-1.0)


# ------------------------------------------------------------------ step 4


@pytest.mark.kata_step(4, "multi-key transactions")
def test_a_transaction_sees_its_own_writes_and_publishes_them_at_commit(impl: Any) -> None:
    """Writes in a transaction are invisible to others until commit, then all visible."""
    store = impl.VersionedStore()
    store.put("a", 10)
    store.put("b", 0)
    txn = store.begin()
    txn.put("a", txn.get("a") - 3)
    assert txn.get("a") == 7, "a transaction must read its own writes"
    assert store.get("a")[0] == 10, "an uncommitted write leaked into the store"
    txn.put("b", txn.get("b") + 3)
    txn.commit()
    assert (store.get("a")[0], store.get("b")[0]) == (7, 3)


@pytest.mark.kata_step(4, "multi-key transactions")
def test_a_commit_after_a_read_went_stale_raises_and_applies_nothing(impl: Any) -> None:
    """Read a, someone writes a, then commit writes to b: ConflictError, b unchanged."""
    store = impl.VersionedStore()
    store.put("a", 1)
    store.put("b", 1)
    txn = store.begin()
    txn.get("a")
    txn.put("b", 99)
    store.put("a", 2)
    with pytest.raises(impl.ConflictError):
        txn.commit()
    assert store.get("b")[0] == 1, "a failed commit must apply none of its writes"


@pytest.mark.kata_step(4, "multi-key transactions")
def test_a_transaction_used_as_a_context_manager_aborts_on_error(impl: Any) -> None:
    """`with store.begin() as txn:` commits on success, discards on an exception."""
    store = impl.VersionedStore()
    with store.begin() as txn:
        txn.put("a", 1)
    assert store.get("a")[0] == 1, "the with-block did not commit"
    with pytest.raises(RuntimeError), store.begin() as txn:
        txn.put("a", 2)
        raise RuntimeError("boom")
    assert store.get("a")[0] == 1, "the failed with-block's write was applied"


@pytest.mark.kata_step(4, "multi-key transactions")
def test_retried_transfers_conserve_the_total_under_contention(impl: Any) -> None:
    """8 threads move money between 4 accounts in retried transactions: the sum stays 400."""
    store = impl.VersionedStore()
    for k in range(4):
        store.put(k, 100)

    def _transfer(src: int, dst: int) -> None:
        with store.begin() as txn:
            a = txn.get(src)
            switch_point()
            txn.put(src, a - 1)
            txn.put(dst, txn.get(dst) + 1)

    transfer = impl.retry(attempts=1000, backoff=0.0, sleep=lambda s: None)(_transfer)

    def work(i: int) -> None:
        for k in range(20):
            src, dst = (i + k) % 4, (i + 2 * k + 1) % 4
            if src != dst:
                transfer(src, dst)

    with inject_switches(_source_of(impl.VersionedStore), probability=0.05):
        run_threads(work, 8, timeout=60)
    total = sum(store.get(k)[0] for k in range(4))
    assert total == 400, f"the accounts sum to {total}, expected 400: a transfer was lost"
