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


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``; it must exit 2 with exactly one line on stderr, which is returned."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse-level rejections
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "args,option,value,allowed",
    [
        (["contention", "--work", "-1"], "--work", "-1", ">= 0"),
        (["contention", "--hot", "0.5", "1.5"], "--hot", "1.5", "[0, 1]"),
        (["contention", "--hot", "-0.25"], "--hot", "-0.25", "[0, 1]"),
        (["contention", "--threads", "2", "0"], "--threads", "0", ">= 1"),
        (["contention", "--txns", "0"], "--txns", "0", ">= 1"),
        (["contention", "--hot-keys", "0"], "--hot-keys", "0", "[1, 1000)"),
        (["contention", "--keys-per-txn", "0"], "--keys-per-txn", "0", ">= 1"),
        (["contention", "--seed", "-1"], "--seed", "-1", "[0, 2**32)"),
        (["contention", "--seed", str(2**32)], "--seed", str(2**32), "[0, 2**32)"),
        (["stress", "--seed", "-1"], "--seed", "-1", "[0, 2**32)"),
        (["stress", "--threads", "0"], "--threads", "0", ">= 1"),
        (["race", "--ops", "0"], "--ops", "0", ">= 1"),
    ],
)
def test_bad_values_name_the_option_the_value_and_the_range(
    args: list[str], option: str, value: str, allowed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error(["concurrency", *args], capsys)
    assert option in err and value in err and allowed in err, err


def test_every_concurrency_subcommand_has_a_description_and_every_option_help() -> None:
    from dskata.cli import build_parser

    family = _subparsers(build_parser())["concurrency"]
    assert family.description
    for name, parser in _subparsers(family).items():
        assert parser.description, f"concurrency {name} has no description"
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"concurrency {name} {action.option_strings} has no help"


def _subparsers(parser: Any) -> dict[str, Any]:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_contention_plot_message_is_exactly_wrote_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "c.png"
    argv = ["concurrency", "contention", "--threads", "1", "--hot", "0", "--txns", "2",
            "--work", "10", "--plot", str(plot)]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {plot}"
    assert plot.stat().st_size > 0


def test_contention_and_acceptance_reject_a_bad_seed() -> None:
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\), got -1"):
        contention((1,), (0.0,), seed=-1)
    from dskata.concurrency.experiments import acceptance

    with pytest.raises(ValueError, match="seed"):
        acceptance(1, 1, schedules=1, seed=2**32)
    with pytest.raises(ValueError, match=r"^work must be >= 0, got -1$"):
        contention((1,), (0.0,), work=-1)
