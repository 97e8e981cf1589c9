"""`dskata bloom` experiments and the bloom benchmark workloads, at toy sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dskata.bench.core import all_workloads
from dskata.cli import main
from dskata.commands.bloom import PATTERNS, measure_fpr


def test_fpr_json_reports_every_pattern_near_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bloom", "fpr", "--capacity", "2000", "--probes", "40000", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["pattern"] for r in rows] == list(PATTERNS)
    for r in rows:
        assert 0.006 < r["measured"] < 0.015, r
        assert abs(r["theory"] - 0.01) < 0.001


def test_fpr_table_and_plot_are_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "fpr.png"
    argv = ["bloom", "fpr", "--capacity", "500", "--probes", "2000", "--points", "3"]
    assert main([*argv, "--patterns", "key-N", "--plot", str(plot)]) == 0
    assert plot.stat().st_size > 1000
    out = capsys.readouterr().out
    assert "key-N" in out
    assert out.splitlines()[-1] == f"wrote {plot}"


def test_scalable_experiment_stays_under_target(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bloom", "scalable", "--initial-capacity", "100", "--probes", "20000", "--json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["measured"] <= 0.01 and res["memory_ratio"] <= 2.1 and res["no_false_negatives"]


@pytest.mark.parametrize(
    "argv",
    [
        ["bloom", "fpr", "--probes", "10"],
        ["bloom", "fpr", "--capacity", "0"],
        ["bloom", "fpr", "--error-rate", "1.5"],
        ["bloom", "scalable", "--ratio", "1.0"],
    ],
)
def test_bad_arguments_end_with_exit_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_measure_fpr_returns_the_filter_parameters() -> None:
    r = measure_fpr(1000, 0.01, "strided", 5000)
    assert (r["bit_size"], r["num_hashes"]) == (9600, 7)


@pytest.mark.parametrize("workload", [w for w in all_workloads() if w.family == "bloom"], ids=str)
def test_every_bloom_workload_runs_on_every_available_implementation(workload: object) -> None:
    from dskata.bench.core import Workload

    assert isinstance(workload, Workload)
    data = workload.setup(200)
    subject = workload.resolve_subject()
    for impl in workload.impls:
        if impl.available():
            impl.make(data, subject)()


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["bloom", "scalable", "--factor", "-2"], "--factor"),
        (["bloom", "scalable", "--factor", "0"], "--factor"),
        (["bloom", "scalable", "--initial-capacity", "0"], "--initial-capacity"),
        (["bloom", "scalable", "--ratio", "1.5"], "--ratio"),
        (["bloom", "scalable", "--error-rate", "2"], "--error-rate"),
        (["bloom", "fpr", "--capacity", "1000", "--points", "-3"], "--points"),
        (["bloom", "fpr", "--capacity", "1000", "--error-rate", "0"], "--error-rate"),
        (["bloom", "fpr", "--capacity", "1000", "--seed", "-1"], "--seed"),
        (["bloom", "fpr", "--capacity", "1000", "--seed", str(2**32)], "--seed"),
        (["bloom", "scalable", "--factor", str(10**14)], "--factor"),  # 10**18 keys: no memory
    ],
)
def test_bad_values_give_one_line_naming_the_option(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_every_bloom_option_has_help_and_every_subcommand_a_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["bloom"], ["bloom", "fpr"], ["bloom", "scalable"]):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        out = capsys.readouterr().out
        assert not out.split("\n\n")[1].startswith(("options:", "positional")), argv
        if argv != ["bloom"]:
            options = out.split("options:")[1]
            # Every option line is followed by help text on the same or the next line.
            lines = [ln for ln in options.splitlines() if ln.strip()]
            for i, line in enumerate(lines):
                if line.lstrip().startswith("-") and "  " not in line.strip():
                    assert i + 1 < len(lines) and not lines[i + 1].lstrip().startswith("-"), line
    with pytest.raises(SystemExit):
        main(["bloom", "fpr", "--help"])
    assert "capacities" in capsys.readouterr().out


def test_fpr_json_with_plot_keeps_stdout_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "fpr.png"
    argv = ["bloom", "fpr", "--capacity", "300", "--probes", "1000", "--points", "2"]
    assert main([*argv, "--patterns", "sequential", "--plot", str(plot), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["results"]
    assert captured.err == f"wrote {plot}\n"


def test_nothing_refers_to_the_removed_bench_interleaved_subcommand() -> None:
    root = Path(__file__).resolve().parents[1]
    files = [*(root / "src" / "dskata").rglob("*.py"), *(root / "docs").glob("*.md")]
    assert files
    for path in files:
        assert "bench-interleaved" not in path.read_text(encoding="utf-8"), path
