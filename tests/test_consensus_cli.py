"""`dskata raft figure16|fuzz|churn|timeline` and `dskata paxos fuzz`, run as a user would."""

from __future__ import annotations

import io
import json
from pathlib import Path

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


@pytest.mark.parametrize(
    "command",
    [["raft", "figure16", "--trials", "1"], ["raft", "fuzz", "--schedules", "1"],
     ["raft", "churn", "--seconds", "1"], ["raft", "timeline"],
     ["paxos", "fuzz", "--schedules", "1"]],
)  # fmt: skip
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_a_seed_outside_0_to_2_pow_32_is_rejected_by_its_option_name(
    command: list[str], seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--seed", seed]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "--seed" in err and seed in err and "[0, 2**32)" in err, err
    assert captured.out == ""


def test_the_cluster_and_the_experiments_reject_a_negative_seed() -> None:
    from dskata.consensus.experiments import figure16, figure16_trial, fuzz
    from dskata.consensus.sim import Cluster

    with pytest.raises(ValueError, match=r"^seed must be in \[0, 2\*\*32\), got -1$"):
        Cluster(5, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        Cluster(5, seed=1.5)  # type: ignore[arg-type]
    assert Cluster(3, seed=2**32 - 1).seed == 2**32 - 1
    for call in (
        lambda: figure16(1, seed=-1),
        lambda: figure16_trial((150, 300), seed=-1),
        lambda: fuzz(1, seed=-1),
    ):
        with pytest.raises(ValueError, match="seed"):
            call()
    # The largest seed still works: derived per-schedule seeds are reduced mod 2**32.
    report = fuzz(1, seed=2**32 - 1, duration=20.0)
    assert report.ok and len(report.elections) == 1


def test_paxos_fuzz_json_has_no_raft_only_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paxos", "fuzz", "--schedules", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["protocol"] == "paxos"
    assert "prevote" not in data and "check_quorum" not in data
    assert main(["raft", "fuzz", "--schedules", "1", "--json", "--prevote"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["prevote"] is True and data["check_quorum"] is False


def test_figure16_marks_every_capped_statistic_and_json_counts_capped_trials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """150-150 never elects within the cap: every statistic of that row is a lower bound."""
    argv = ["raft", "figure16", "--trials", "2", "--fixed-trials", "1"]
    assert main([*argv, "--json"]) == 0
    ranges = json.loads(capsys.readouterr().out)["ranges"]
    fixed = ranges[0]
    assert fixed["timeout_ms"] == [150, 150]
    assert fixed["capped_trials"] == 1 and fixed["cap_ms"] == 20_000
    assert all(r["capped_trials"] == 0 and r["cap_ms"] == 20_000 for r in ranges[1:])
    assert main(argv) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "150-150" in line)
    assert row.count("20000+") == 4 and "20000.0+" in row, row


def test_capped_statistics_are_lower_bounds_only_at_the_cap() -> None:
    from dskata.consensus.experiments import RangeResult

    r = RangeResult((150.0, 150.0), 10, 300.0, 20_000.0, 20_000.0, 20_000.0, 4_000.0, 1)
    assert [r.is_capped(v) for v in (r.p50_ms, r.p90_ms, r.max_ms)] == [False, True, True]
    assert raft_cli._stat(r, r.p50_ms, ".0f") == "300"
    assert raft_cli._stat(r, r.p90_ms, ".0f") == "20000+"
    assert raft_cli._stat(r, r.mean_ms, ".1f", mean=True) == "4000.0+"
    clean = RangeResult((150.0, 300.0), 10, 300.0, 400.0, 500.0, 20_000.0, 350.0, 0)
    assert not clean.is_capped(clean.max_ms)
    assert raft_cli._stat(clean, clean.mean_ms, ".1f", mean=True) == "350.0"


def test_every_raft_and_paxos_subcommand_has_a_description_and_every_option_help() -> None:
    import argparse

    from dskata.cli import build_parser

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    top = subparsers(build_parser())
    for family in ("raft", "paxos"):
        assert top[family].description
        for name, parser in subparsers(top[family]).items():
            assert parser.description, f"{family} {name} has no description"
            for action in parser._actions:
                if action.option_strings and action.dest != "help":
                    assert action.help, f"{family} {name} {action.option_strings} has no help"


@pytest.mark.parametrize("command", [["raft", "timeline"], ["raft", "figure16", "--trials", "1"]])
def test_a_plot_is_announced_as_exactly_wrote_path(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    path = str(tmp_path / "plot.png")
    assert main([*command, "--plot", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"wrote {path}"
    assert not any("written to" in line for line in lines)
