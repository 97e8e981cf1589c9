"""`dskata raft figure16|fuzz|churn|timeline` and `dskata paxos fuzz`, run as a user would."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

import dskata.commands.raft as raft_cli
from dskata.cli import main


def test_figure16_json_has_the_shape_the_issue_promises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--json` gives {"ranges": [{"timeout_ms", "trials", "p50_ms", ... "mean_ms"}]}."""
    assert main(["raft", "figure16", "--trials", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ranges = data["ranges"]
    assert [tuple(r["timeout_ms"]) for r in ranges][:3] == [(150, 150), (150, 151), (150, 155)]
    assert len(ranges) == 10
    for r in ranges:
        assert {"timeout_ms", "trials", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"} <= set(r)
        assert r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert ranges[0]["trials"] == 1 and ranges[1]["trials"] == 3


def test_figure16_table_shows_every_range_in_full_on_an_80_column_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The range column is never cut to "150-1…": a reader must see which range a row is."""
    out = io.StringIO()
    narrow = Console(file=out, width=80, highlight=False)
    monkeypatch.setattr(raft_cli, "console", lambda: narrow)
    assert main(["raft", "figure16", "--trials", "2"]) == 0
    text = out.getvalue()
    for label in ("150-150", "150-151", "150-155", "150-175", "150-200", "150-300", "12-24"):
        assert label in text, f"{label} missing from:\n{text}"
    assert "p50 287" in text and "max 513" in text and "…" not in text


@pytest.mark.parametrize(
    "command", [["raft", "fuzz"], ["raft", "fuzz", "--prevote"], ["paxos", "fuzz"]]
)
def test_fuzz_reports_violations_and_elections_per_schedule(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`fuzz --schedules N --json`: zero violations, and elections per schedule are counted."""
    assert main([*command, "--schedules", "5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schedules"] == 5 and data["violations"] == 0
    assert data["elections_per_schedule"]["max"] >= 1
    assert len(data["elections"]) == 5 and max(data["elections"]) >= 1


def test_churn_counts_leader_changes_with_and_without_prevote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Thesis §9.6: the CLI shows the churn of plain Raft and none with Pre-Vote+CheckQuorum."""
    assert main(["raft", "churn", "--seconds", "10", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    plain, guarded = runs
    assert plain["leader_changes"] > 0 and guarded["leader_changes"] == 0


@pytest.mark.parametrize("seconds", ["-1", "0", "nan", "x"])
def test_churn_rejects_a_bad_duration_by_its_option_name(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad --seconds is a usage error naming the option, not a traceback or a bare 'ms'."""
    with pytest.raises(SystemExit) as info:
        main(["raft", "churn", "--seconds", seconds])
    assert info.value.code == 2
    assert "--seconds" in capsys.readouterr().err


def test_timeline_starts_with_the_candidate_whose_timer_fired(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The transcript opens with the cause (a candidate), then its RequestVotes."""
    assert main(["raft", "timeline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "candidate term=1" in lines[0], lines[:3]
    assert any("RequestVote(term=1" in line for line in lines[1:6])
