"""``dskata cache simulate``: output, JSON, plots, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dskata.cli import main


def test_simulate_prints_a_table_with_every_policy_and_belady(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The table lists each requested policy and the optimum, with ratios to LRU."""
    code = main(
        ["cache", "simulate", "--zipf", "1.0", "--requests", "3000", "--keys", "300",
         "--sizes", "5%,20", "--policies", "lru,sieve"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "lru" in out and "sieve" in out and "belady" in out and "x)" in out


def test_simulate_json_has_hits_and_ratios_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints sizes, hits and hit ratios for each policy."""
    main(
        ["cache", "simulate", "--zipf", "0.9", "--scan", "0.3", "--requests", "2000",
         "--keys", "200", "--sizes", "10%", "--policies", "lru,s3fifo", "--json"]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["sizes"] == [round(0.1 * data["unique_keys"])]
    assert set(data["hits"]) == {"lru", "s3fifo", "belady"}
    assert 0 <= data["hit_ratios"]["lru"][0] <= data["hit_ratios"]["belady"][0] <= 1


def test_simulate_reads_text_and_csv_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--trace FILE reads one key per line; --column reads a CSV column."""
    txt = tmp_path / "t.txt"
    txt.write_text("a\nb\na\nc\na\n", encoding="utf-8")
    assert main(["cache", "simulate", "--trace", str(txt), "--sizes", "1", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits["lru"] == [0] and hits["belady"] == [2]  # the optimum keeps "a", bypasses b, c
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("t,key\n1,a\n2,a\n", encoding="utf-8")
    argv = ["cache", "simulate", "--trace", str(csv_file), "--column", "key", "--sizes", "1"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"]["lru"] == [1]


def test_simulate_writes_a_plot(tmp_path: Path) -> None:
    """--plot FILE writes an image of the hit-ratio curves."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "mrc.png"
    argv = ["cache", "simulate", "--zipf", "1", "--requests", "1000", "--keys", "100"]
    assert main([*argv, "--sizes", "5,20", "--policies", "lru", "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--policies", "lru,nope"], "unknown ['nope']"),
        (["--sizes", "lots"], "size 'lots'"),
        (["--trace", "/no/such/file"], "no such file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """User errors print one line on stderr and exit with status 2, no traceback."""
    base = ["cache", "simulate", "--requests", "100", "--keys", "10"]
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_folder_given_as_trace_is_named_as_a_folder(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "simulate", "--trace", str(tmp_path), "--sizes", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder" in err
