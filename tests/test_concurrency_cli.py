"""``dskata concurrency``: race, contention (with --plot) and stress, at small sizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dskata.cli import main
from dskata.concurrency.experiments import contention


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_race_shows_the_naive_counter_losing_updates_and_failing_the_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["concurrency", "race", "--threads", "8", "--ops", "40", "--json"]) == 0
    rows = {r["subject"]: r for r in _json(capsys)}
    naive = rows["naive x += 1 counter"]
    assert naive["linearizable"] is False and naive["lost_updates"] > 0
    broken = rows["broken CAS register (read + CAS)"]
    assert broken["linearizable"] is False
    for name in ("AtomicInteger CAS loop", "AtomicInteger (read + CAS)"):
        assert rows[name]["linearizable"] is True and rows[name]["lost_updates"] == 0


def test_race_prints_a_table_and_the_stuck_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["concurrency", "race", "--threads", "4", "--ops", "30"]) == 0
    out = capsys.readouterr().out
    assert "naive" in out and "smallest stuck prefix" in out


def test_contention_reports_both_schemes_exactly_and_draws_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "contention.png"
    argv = ["concurrency", "contention", "--threads", "1", "2", "--hot", "0", "1",
            "--txns", "10", "--work", "200", "--plot", str(plot), "--json"]  # fmt: skip
    assert main(argv) == 0
    points = _json(capsys)
    assert isinstance(points, list) and len(points) == 8
    assert {p["scheme"] for p in points} == {"optimistic", "pessimistic"}
    assert all(p["exact"] for p in points), "a scheme lost or invented an update"
    assert plot.stat().st_size > 0


def test_contention_rejects_out_of_range_arguments() -> None:
    with pytest.raises(ValueError, match="hot_fractions"):
        contention((1,), (1.5,))
    assert main(["concurrency", "contention", "--threads", "0"]) == 2


def test_stress_passes_at_a_small_size(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["concurrency", "stress", "--threads", "3", "--ops", "300", "--schedules", "100",
            "--json"]  # fmt: skip
    assert main(argv) == 0
    report = _json(capsys)
    assert isinstance(report, dict) and report["ok"] is True
    assert report["schedules"]["false_deadlocks"] == 0
