"""The kata machinery, driven as a learner would: start, check, hint, solution, reset, verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dskata.cli import main
from dskata.kata.catalogue import all_katas, get_kata
from dskata.kata.progress import Progress

HASHING_SOURCE = Path(__file__).resolve().parents[1] / "src" / "dskata" / "hashing.py"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_kata_in_the_catalogue_is_well_formed() -> None:
    katas = all_katas()
    assert [k.order for k in katas] == sorted(k.order for k in katas)
    slugs = {k.slug for k in katas}
    for kata in katas:
        assert kata.steps and [s.number for s in kata.steps] == list(range(1, len(kata.steps) + 1))
        assert set(kata.prerequisites) <= slugs, kata.slug
        for name in ("stub.py", "instructions.md", "hints.md"):
            assert kata.read(name).strip(), f"{kata.slug}/{name} is empty"
        assert "## General" in kata.read("hints.md")
        compile(kata.read("stub.py"), f"{kata.slug}/stub.py", "exec")


def test_start_then_check_fails_step_1_readably_on_the_untouched_stub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    assert code == 0 and (tmp_path / "hashing_kata.py").is_file()
    code, out, _ = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path))
    assert code == 1
    assert "step 1/4: normalise keys" in out
    assert "NotImplementedError" in out and "dskata kata hint hashing --step 1" in out
    assert out.count("✗") == 1, "one failure at a time"
    assert Progress(tmp_path).passed_steps("hashing") == []


def test_check_passes_and_unlocks_the_solution_after_a_correct_solution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    code, _, err = run(capsys, "kata", "solution", "hashing", "--dir", str(tmp_path))
    assert code == 2 and "opens once your kata passes" in err
    (tmp_path / "hashing_kata.py").write_text(HASHING_SOURCE.read_text())
    code, out, _ = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path))
    assert code == 0, out
    assert "every step passes" in out and "4/4" in out
    assert Progress(tmp_path).completed("hashing")
    code, out, _ = run(capsys, "kata", "solution", "hashing", "--dir", str(tmp_path))
    assert code == 0 and "def fmix64" in out


def test_an_infinite_loop_is_stopped_by_the_time_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    stub = tmp_path / "hashing_kata.py"
    stub.write_text(
        stub.read_text().replace(
            '    raise NotImplementedError("step 1: normalise keys")',
            "    while True:\n        pass",
        )
    )
    code, out, _ = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path), "--timeout", "3")
    assert code == 1
    assert "stopped after 3 s" in out and "infinite loop" in out and "step 1" in out


def test_check_of_one_step_records_only_that_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    source = HASHING_SOURCE.read_text()
    (tmp_path / "hashing_kata.py").write_text(source)
    code, out, _ = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path), "--step", "2")
    assert code == 0 and "step 2 passes" in out
    assert Progress(tmp_path).passed_steps("hashing") == [2]
    assert not Progress(tmp_path).completed("hashing")


def test_a_syntax_error_in_the_learners_file_is_reported_not_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    (tmp_path / "hashing_kata.py").write_text("def broken(:\n")
    code, out, _ = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path))
    assert code == 1 and "SyntaxError" in out


def test_start_refuses_to_overwrite_and_reset_backs_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    learner = tmp_path / "hashing_kata.py"
    learner.write_text("# my work\n")
    code, _, err = run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    assert code == 2 and "already exists" in err
    assert learner.read_text() == "# my work\n"
    code, _, _ = run(capsys, "kata", "reset", "hashing", "--dir", str(tmp_path))
    assert code == 0 and "NotImplementedError" in learner.read_text()
    backups = list((tmp_path / ".dskata" / "backup").iterdir())
    assert len(backups) == 1 and backups[0].read_text() == "# my work\n"


def test_hint_shows_general_and_current_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "kata", "hint", "hashing", "--dir", str(tmp_path), "--step", "3")
    assert code == 0 and "Step 3" in out and "odd" in out


def test_list_and_progress_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "kata", "list", "--json", "--dir", str(tmp_path))
    listed = json.loads(out)
    assert code == 0 and listed[0]["slug"] == "hashing"
    code, out, _ = run(capsys, "kata", "progress", "--json", "--dir", str(tmp_path))
    assert code == 0 and "hashing" in json.loads(out)


def test_unknown_kata_and_step_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "kata", "start", "no-such-kata", "--dir", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "known katas" in err
    run(capsys, "kata", "start", "hashing", "--dir", str(tmp_path))
    code, _, err = run(capsys, "kata", "check", "hashing", "--dir", str(tmp_path), "--step", "9")
    assert code == 2 and "no step 9" in err


def test_progress_survives_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / ".dskata" / "progress.json"
    path.parent.mkdir()
    path.write_text("{not json")
    progress = Progress(tmp_path)
    progress.record_check("hashing", [1, 2], 4, full=True)
    assert json.loads(path.read_text())["katas"]["hashing"]["passed_steps"] == [1, 2]
    assert not list(path.parent.glob(".progress-*")), "no temporary file left behind"


def test_kata_verify_proves_every_kata(capsys: pytest.CaptureFixture[str]) -> None:
    """`dskata kata verify`: each reference passes every step, each untouched stub fails step 1."""
    code, out, _ = run(capsys, "kata", "verify")
    assert code == 0, out
    for kata in all_katas():
        assert kata.slug in out


def test_reference_names_exist_for_every_target() -> None:
    import importlib

    for kata in all_katas():
        module = importlib.import_module(kata.reference)
        missing = [t for t in kata.targets if not hasattr(module, t)]
        assert not missing, f"{kata.slug}: reference lacks {missing}"
    assert get_kata("hashing").learner_filename == "hashing_kata.py"


def test_reset_of_a_kata_never_started_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "kata", "reset", "hashing", "--dir", str(tmp_path))
    assert code == 2 and "never started" in err
    assert not (tmp_path / "hashing_kata.py").exists()


def test_a_damaged_progress_file_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / ".dskata" / "progress.json"
    path.parent.mkdir()
    path.write_text("{not json")
    progress = Progress(tmp_path)
    assert progress.damaged is not None and progress.damaged.read_text() == "{not json"


def test_a_bad_verify_timeout_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "kata", "verify", "hashing", "--timeout", "-1")
    assert code == 2 and err.count("\n") == 1 and "--timeout" in err
