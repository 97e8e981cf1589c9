"""Project-level promises: the README Quickstart and CI agree, the public API is complete."""

from __future__ import annotations

import re
from pathlib import Path

import dskata

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_the_quickstart_has_exactly_two_set_up_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2, commands
    assert commands[0].startswith("pip install -e") and "dskata bench" in commands[0]
    assert commands[1].startswith("pip install -e") and "pytest" in commands[1]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quickstart_commands()[1] in ci


def test_every_public_name_is_exported_and_documented() -> None:
    assert dskata.__all__ == sorted(set(dskata.__all__), key=dskata.__all__.index)
    for name in dskata.__all__:
        obj = getattr(dskata, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), f"dskata.{name} has no docstring"


def test_the_package_ships_its_type_marker() -> None:
    assert (Path(dskata.__file__).parent / "py.typed").is_file()
