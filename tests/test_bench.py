"""The benchmark machinery: workload discovery, runner rules and ratios."""

from __future__ import annotations

from typing import Any

import pytest

from dskata.bench.core import Impl, Workload, all_workloads, families
from dskata.bench.runner import load_object, run_workload, select_workloads


def _toy(impls: tuple[Impl, ...]) -> Workload:
    return Workload(
        family="toy",
        name="sum",
        items=1000,
        quick_items=100,
        setup=lambda n: list(range(n)),
        subject="hash64",
        impls=impls,
    )


def test_workloads_are_discovered_with_unique_ids() -> None:
    ids = [w.id for w in all_workloads()]
    assert len(ids) == len(set(ids)) and "hashing" in families()
    for w in all_workloads():
        assert any(i.kind == "dskata" for i in w.impls), w.id
        w.resolve_subject()


def test_runner_times_every_available_impl_and_skips_missing_ones() -> None:
    calls: list[str] = []

    def make(label: str) -> Any:
        def _make(data: list[int], subject: Any) -> Any:
            calls.append(label)
            return lambda: sum(data)

        return _make

    w = _toy(
        (
            Impl("base", "baseline", make("base")),
            Impl("ours", "dskata", make("ours"), fresh=True),
            Impl("ghost", "peer", make("ghost"), requires=("no_such_module_anywhere",)),
        )
    )
    res = run_workload(w, quick=True)
    assert [r.name for r in res.results] == ["ours", "base"], "dskata first"
    assert res.missing == ["ghost"] and res.items == 100
    assert calls.count("ours") == 6, "fresh impls are rebuilt before every round"
    assert calls.count("base") == 1
    assert all(len(r.rounds) == 5 for r in res.results)
    ours, base = res.results
    assert res.ratio(ours) == 1.0 and res.ratio(base) == base.median_s / ours.median_s


def test_a_failing_peer_is_reported_not_fatal() -> None:
    def boom(data: Any, subject: Any) -> Any:
        def op() -> None:
            raise RuntimeError("peer broke")

        return op

    w = _toy((Impl("ours", "dskata", lambda d, s: lambda: None), Impl("bad", "peer", boom)))
    res = run_workload(w, quick=True)
    assert "peer broke" in res.errors["bad"]


def test_select_workloads_refuses_unknown_families() -> None:
    with pytest.raises(ValueError, match="unknown benchmark family"):
        select_workloads(["nope"])
    assert {w.family for w in select_workloads(["hashing"])} == {"hashing"}


def test_load_object_reads_modules_and_files(tmp_path: Any) -> None:
    assert load_object("dskata.hashing:hash64").__name__ == "hash64"
    f = tmp_path / "mine.py"
    f.write_text("def thing():\n    return 1\n")
    assert load_object(f"{f}:thing")() == 1
    for bad in ("nocolon", "dskata.hashing:", f"{tmp_path}/missing.py:x"):
        with pytest.raises(ValueError):
            load_object(bad)
