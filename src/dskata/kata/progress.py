"""A learner's progress, kept in ``<workspace>/.dskata/progress.json`` and written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["Progress"]

_VERSION = 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Progress:
    """Per-kata state of one workspace: started, steps passed, completed."""

    def __init__(self, workspace: str | Path) -> None:
        self.damaged: Path | None = None
        self.workspace = Path(workspace)
        self.path = self.workspace / ".dskata" / "progress.json"
        self._data: dict[str, Any] = {"version": _VERSION, "katas": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = None
            if isinstance(loaded, dict) and isinstance(loaded.get("katas"), dict):
                self._data = loaded
            else:
                # A damaged file is never fatal; it is kept beside the new one for inspection.
                self.damaged = self.path.with_name("progress.json.damaged")
                with contextlib.suppress(OSError):
                    self.path.replace(self.damaged)

    def entry(self, slug: str) -> dict[str, Any]:
        """The stored entry for ``slug`` (empty when never started)."""
        katas: dict[str, Any] = self._data["katas"]
        return dict(katas.get(slug, {}))

    def passed_steps(self, slug: str) -> list[int]:
        """Steps of ``slug`` that passed at the last check, sorted."""
        return sorted(int(s) for s in self.entry(slug).get("passed_steps", []))

    def completed(self, slug: str) -> bool:
        """True once every step of ``slug`` has passed in one check."""
        return bool(self.entry(slug).get("completed", False))

    def mark_started(self, slug: str) -> None:
        """Record that the kata was scaffolded."""
        entry = self._data["katas"].setdefault(slug, {})
        entry.setdefault("started", _now())
        self.save()

    def record_check(self, slug: str, passed: list[int], total_steps: int, full: bool) -> None:
        """Record a check's outcome; a partial check (one step) only adds or removes that step."""
        entry = self._data["katas"].setdefault(slug, {})
        entry.setdefault("started", _now())
        # A full check replaces the record; a one-step check only adds to it.
        steps = set(passed) if full else set(entry.get("passed_steps", [])) | set(passed)
        entry["passed_steps"] = sorted(steps)
        entry["checks"] = int(entry.get("checks", 0)) + 1
        entry["last_check"] = _now()
        if len(steps) >= total_steps:
            entry["completed"] = True
            entry.setdefault("completed_at", _now())
        self.save()

    def reset(self, slug: str) -> None:
        """Forget everything about ``slug``."""
        self._data["katas"].pop(slug, None)
        self.save()

    def save(self) -> None:
        """Write atomically: a temporary file in the same folder, then ``os.replace``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._data, fh, indent=2, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
