"""`dskata ring stats|balance` and the measurements behind them (dskata.ring.stats)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dskata.cli import main
from dskata.ring.stats import SCHEMES, balance_curve, maglev_table_size, scheme_stats


def test_stats_json_reports_every_requested_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["ring", "stats", "--nodes", "5", "--keys", "3000", "--scheme", "ring,jump", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["scheme"] for s in data["schemes"]] == ["ring", "jump"]
    for s in data["schemes"]:
        assert sum(s["loads"]) == 3000 and len(s["loads"]) == 5
        assert s["max_over_mean"] >= 1.0 >= s["min_over_mean"]


def test_stats_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "ring.png"
    code = main(
        [
            "ring",
            "stats",
            "--nodes",
            "4",
            "--keys",
            "2000",
            "--vnodes",
            "8",
            "--scheme",
            "all",
            "--plot",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    for name in ("ring", "jump"):
        assert name in text
    assert text.splitlines()[-1] == f"wrote {out}"
    assert out.stat().st_size > 1000


def test_balance_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "balance.png"
    assert (
        main(
            [
                "ring",
                "balance",
                "--nodes",
                "5",
                "--vnodes",
                "4,64",
                "--seeds",
                "2",
                "--json",
                "--plot",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    rows = json.loads(captured.out)["rows"]  # stdout stays pure JSON; the wrote line is on stderr
    assert captured.err == f"wrote {out}\n"
    assert [r["vnodes"] for r in rows] == [4.0, 64.0]
    assert out.stat().st_size > 1000
    assert main(["ring", "balance", "--nodes", "5", "--vnodes", "4", "--seeds", "1"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["ring", "stats", "--nodes", "1"],
        ["ring", "stats", "--keys", "0"],
        ["ring", "stats", "--vnodes", "0"],
        ["ring", "stats", "--epsilon", "0"],
        ["ring", "stats", "--scheme", "nope"],
        ["ring", "stats", "--scheme", "maglev", "--table-size", "1000"],
        ["ring", "balance", "--vnodes", "x"],
        ["ring", "balance", "--seeds", "0"],
    ],
)
def test_bad_arguments_fail_with_status_2(argv: list[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse type errors exit directly
        code = int(exc.code or 0)
    assert code == 2


def test_all_schemes_are_measured_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ring", "stats", "--nodes", "3", "--keys", "500", "--vnodes", "4", "--json"]
    assert main([*argv, "--table-size", "1009"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert tuple(s["scheme"] for s in data["schemes"]) == SCHEMES


def test_ring_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ring"]) == 2
    assert "stats" in capsys.readouterr().out


@pytest.mark.parametrize("scheme", ["ring", "jump", "rendezvous", "multiprobe"])
def test_minimal_movement_schemes_move_exactly_the_ideal(scheme: str) -> None:
    s = scheme_stats(scheme, nodes=6, keys=20_000, vnodes=50)
    assert s.moved_on_join == pytest.approx(s.ideal_on_join, abs=1e-12)
    assert s.moved_on_leave == pytest.approx(s.ideal_on_leave, abs=1e-12)


def test_maglev_and_bounded_move_at_least_the_ideal() -> None:
    for scheme in ("maglev", "bounded"):
        s = scheme_stats(scheme, nodes=6, keys=6000, vnodes=50, epsilon=0.1, table_size=1009)
        assert s.moved_on_join >= s.ideal_on_join and s.moved_on_leave >= s.ideal_on_leave


def test_ketama_stats_use_string_keys() -> None:
    s = scheme_stats("ketama", nodes=3, keys=3000)
    assert sum(s.loads) == 3000 and s.moved_on_join == pytest.approx(s.ideal_on_join)


def test_stats_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="scheme"):
        scheme_stats("nope")
    with pytest.raises(ValueError, match="nodes"):
        scheme_stats("ring", nodes=1)
    with pytest.raises(ValueError, match="seeds"):
        balance_curve([3], [4], seeds=0)


def test_maglev_table_size_is_a_prime_above_100_per_node() -> None:
    assert maglev_table_size(5) == 65537
    assert maglev_table_size(2000) >= 200_000


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["ring", "stats", "--scheme", "ring,,jump"], "--scheme"),
        (["ring", "stats", "--scheme", "ring,"], "--scheme"),
        (["ring", "stats", "--scheme", "nope"], "--scheme"),
        (["ring", "stats", "--seed", "-1"], "--seed"),
        (["ring", "stats", "--seed", str(2**32)], "--seed"),
        (["ring", "stats", "--scheme", "maglev", "--table-size", "1000"], "--table-size"),
    ],
)
def test_bad_values_give_one_line_naming_the_option(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_ring_help_is_plain_and_subcommands_have_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["ring"], ["ring", "stats"], ["ring", "balance"]):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        out = capsys.readouterr().out
        assert "``" not in out and ":class:" not in out
        description = out.split("\n\n")[1]
        assert not description.startswith(("options:", "positional")), argv
