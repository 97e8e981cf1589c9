"""Tests of the ``dskata cms`` and ``dskata topk`` commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dskata.cli import main


def test_cms_accuracy_json_reports_both_rules_within_the_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["cms", "accuracy", "--items", "20000", "--keys", "2000", "--epsilon", "0.01", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    rules = {r["rule"]: r for r in data["results"]}
    assert set(rules) == {"plain", "conservative"}
    assert rules["plain"]["over_bound"] == 0 and rules["plain"]["width"] == 272
    assert rules["conservative"]["mean_error"] <= rules["plain"]["mean_error"]
    assert 0 < data["conservative_over_plain_mean_error"] <= 1


def test_cms_accuracy_writes_the_error_cdf_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "cdf.png"
    assert main(["cms", "accuracy", "--items", "5000", "--keys", "500", "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_cms_accuracy_refuses_bad_parameters_with_exit_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cms", "accuracy", "--epsilon", "1.5"]) == 2
    assert "epsilon" in capsys.readouterr().err
    assert main(["cms", "accuracy", "--items", "0"]) == 2


def test_topk_reads_a_file_and_prints_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "keys.log"
    log.write_text("a\nb\na\nc\na\nb\n\n", encoding="utf-8")
    assert main(["topk", str(log), "-n", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 6
    assert [(h["key"], h["lower"], h["upper"]) for h in data["heavy_hitters"]] == [
        ("a", 3, 3),
        ("b", 2, 2),
    ]
    assert data["top_set_guaranteed"] is True


def test_topk_reads_stdin_and_escapes_keys_in_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("[red]x\n[red]x\ny\n"))
    assert main(["topk", "-", "-k", "2", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "[red]x" in out and "66.67%" in out


def test_topk_refuses_a_missing_file_or_bad_k(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topk", "/nonexistent/keys.log"]) == 2
    assert main(["topk", "-k", "0"]) == 2
    assert "counters" in capsys.readouterr().err


def _strict_loads(text: str) -> object:
    def reject(constant: str) -> object:
        raise AssertionError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_cms_accuracy_exact_sketches_give_no_ratio_and_strict_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1000 items in a 2719-wide sketch: both rules are exact, so the error ratio is undefined.
    assert main(["cms", "accuracy", "--items", "1000", "--json"]) == 0
    data = _strict_loads(capsys.readouterr().out)
    assert isinstance(data, dict) and data["conservative_over_plain_mean_error"] is None
    assert main(["cms", "accuracy", "--items", "1000"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "n/a" in out


def test_cms_accuracy_plot_prints_wrote_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "cdf.png"
    argv = ["cms", "accuracy", "--items", "3000", "--keys", "300", "--plot", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {out}"
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    _strict_loads(captured.out)
    assert captured.err == f"wrote {out}\n"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["cms", "accuracy", "--seed", "-1"], "--seed"),
        (["cms", "accuracy", "--seed", str(2**32)], "--seed"),
        (["cms", "accuracy", "--epsilon", "0"], "--epsilon"),
        (["cms", "accuracy", "--delta", "nan"], "--delta"),
        (["cms", "accuracy", "--zipf", "-1"], "--zipf"),
    ],
)
def test_cms_bad_values_give_one_line_naming_the_option(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_topk_refuses_a_directory_a_binary_file_and_an_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"abc\n\x00\x01\xff\x00\n")
    for path, words in ((tmp_path, "directory"), (binary, "binary")):
        assert main(["topk", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err and str(path) in err
    secret = tmp_path / "secret.log"
    secret.write_text("a\n", encoding="utf-8")
    real_open = open

    def deny(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(secret):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", deny)
    assert main(["topk", str(secret)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err
