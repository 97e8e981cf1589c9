"""The `dskata` command line: version, help, one-line errors, bench output."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from dskata import __version__
from dskata.cli import main


def test_version_is_printed() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dskata", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0 and res.stdout.strip() == f"dskata {__version__}"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["no-such-command"], ["bench", "--rounds", "x"], ["kata", "check"], ["bench", "--nope"]],
)
def test_bad_arguments_exit_2_with_a_short_message(argv: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dskata", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("dskata")


def test_unknown_bench_family_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "no-such-family"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "known:" in err


def test_bench_rejects_fewer_than_five_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "hashing", "--rounds", "3", "--quick"]) == 2
    assert "rounds must be >= 5" in capsys.readouterr().err


def test_bench_json_reports_items_per_second_and_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "hashing", "--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = [w["id"] for w in data["workloads"]]
    assert "hashing/hash64_many-uint64" in ids
    first = data["workloads"][0]
    kinds = {r["kind"] for r in first["results"]}
    assert "dskata" in kinds and "baseline" in kinds
    for r in first["results"]:
        assert r["items_per_s"] > 0
        assert r["dskata_speedup"] == pytest.approx(r["median_s"] / first["results"][0]["median_s"])


def test_bench_table_names_every_implementation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "hashing", "--quick", "--impl", "dskata.hashing:hash64_many"]) == 0
    out = capsys.readouterr().out
    for name in ("dskata", "numpy fmix64", "mmh3 loop", "speed-up"):
        assert name in out


def test_bench_impl_must_name_an_existing_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--impl", "dskata.hashing:nothing_here"]) == 2
    assert "no attribute" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["no_such_module_xyz:Foo", "dskata.no_such_module:Foo"])
def test_bench_impl_that_cannot_import_is_one_line(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "hashing", "--quick", "--impl", spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot import" in err


def test_bench_impl_file_with_a_syntax_error_is_one_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    assert main(["bench", "hashing", "--impl", f"{bad}:x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SyntaxError" in err


def test_argparse_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bench", "--rounds", "x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rounds" in err and "--help" in err


def test_piped_tables_are_not_cut_at_80_columns() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dskata", "kata", "list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0 and "count-min-sketch" in res.stdout and "…" not in res.stdout


def test_json_output_is_strict_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from dskata.commands._output import print_json

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON constant {token}")

    print_json({"a": float("nan"), "b": [float("inf"), (1.5, -float("inf"))], "c": {"d": 2}})
    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data == {"a": None, "b": [None, [1.5, None]], "c": {"d": 2}}
