"""The kata catalogue: every exercise is package data under ``dskata/kata/exercises/<slug>/``.

Each folder holds ``kata.toml`` (metadata and steps), ``stub.py`` (what ``kata start`` copies
into the learner's workspace), ``instructions.md`` and ``hints.md``. Discovery is by folder, so
adding a kata is adding a folder.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "Implementation",
    "Kata",
    "KataError",
    "Step",
    "all_katas",
    "get_kata",
    "load_learner_module",
]


class KataError(Exception):
    """A kata command cannot proceed; the message is meant for the learner as is."""


@dataclass(frozen=True)
class Step:
    """One step of a kata: a group of contract tests marked ``kata_step(number, title)``."""

    number: int
    title: str


@dataclass(frozen=True)
class Kata:
    """A kata's metadata, read from its ``kata.toml``."""

    slug: str
    title: str
    difficulty: int
    order: int
    prerequisites: tuple[str, ...]
    module: str
    targets: tuple[str, ...]
    contract: str
    reference: str
    steps: tuple[Step, ...]
    folder: Path
    summary: str = ""

    @property
    def learner_filename(self) -> str:
        """The file the learner edits in their workspace."""
        return f"{self.module}.py"

    def read(self, name: str) -> str:
        """Text of one of the kata's package files (``stub.py``, ``hints.md``, ...)."""
        return (self.folder / name).read_text(encoding="utf-8")

    def step(self, number: int) -> Step:
        """The step with this number, or :class:`KataError`."""
        for s in self.steps:
            if s.number == number:
                return s
        numbers = ", ".join(str(s.number) for s in self.steps)
        raise KataError(f"kata {self.slug!r} has no step {number} (steps: {numbers})")


def _exercises_root() -> Path:
    return Path(str(importlib.resources.files("dskata.kata") / "exercises"))


def _parse(folder: Path) -> Kata:
    with (folder / "kata.toml").open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    steps = tuple(Step(int(s["number"]), str(s["title"])) for s in data["steps"])
    return Kata(
        slug=str(data["slug"]),
        title=str(data["title"]),
        difficulty=int(data["difficulty"]),
        order=int(data.get("order", 99)),
        prerequisites=tuple(data.get("prerequisites", ())),
        module=str(data["module"]),
        targets=tuple(data["targets"]),
        contract=str(data["contract"]),
        reference=str(data["reference"]),
        steps=steps,
        folder=folder,
        summary=str(data.get("summary", "")),
    )


_CACHE: dict[str, Kata] = {}


def all_katas() -> list[Kata]:
    """Every kata, in course order."""
    if not _CACHE:
        root = _exercises_root()
        for folder in sorted(p for p in root.iterdir() if (p / "kata.toml").is_file()):
            kata = _parse(folder)
            _CACHE[kata.slug] = kata
    return sorted(_CACHE.values(), key=lambda k: (k.order, k.slug))


def get_kata(slug: str) -> Kata:
    """The kata named ``slug``, or :class:`KataError` listing the known ones."""
    katas = {k.slug: k for k in all_katas()}
    if slug not in katas:
        known = ", ".join(katas) or "none"
        raise KataError(f"unknown kata {slug!r}; known katas: {known}")
    return katas[slug]


def load_learner_module(kata: Kata, path: str | Path) -> ModuleType:
    """Import the learner's file under a unique module name (never shadowing a real module)."""
    file = Path(path).resolve()
    if not file.is_file():
        raise KataError(f"{file} does not exist; run `dskata kata start {kata.slug}` first")
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
    name = f"_dskata_learner_{kata.module}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise KataError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Implementation:
    """The names a contract tests, taken from the reference module or the learner's module."""

    def __init__(self, kata: Kata, module: ModuleType, *, learner: bool) -> None:
        self._kata = kata
        self._module = module
        self.learner = learner

    @classmethod
    def reference(cls, kata: Kata) -> Implementation:
        """dskata's own implementation of ``kata``."""
        return cls(kata, importlib.import_module(kata.reference), learner=False)

    @property
    def module(self) -> ModuleType:
        """The module the names come from."""
        return self._module

    @property
    def kata(self) -> Kata:
        """The kata this implementation is tested for."""
        return self._kata

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return getattr(self._module, name)
        except AttributeError:
            where = self._kata.learner_filename if self.learner else self._kata.reference
            raise AttributeError(
                f"{where} does not define `{name}`, which this kata tests"
            ) from None

    def __repr__(self) -> str:
        who = "learner" if self.learner else "reference"
        return f"<{who} implementation of kata {self._kata.slug!r}: {self._module.__name__}>"
