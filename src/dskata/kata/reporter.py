"""pytest plugin used by ``dskata kata check``: streams each test's outcome to a JSON-lines file.

Each line is written as soon as it is known, so when the time limit kills a run the parent still
knows what passed and which test was running.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

_PATH_KEY = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("dskata").addoption("--kata-report", default=None, help="JSON-lines output")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--kata-report")
    if path:
        config.stash[_PATH_KEY] = Path(path)


def _write(config: pytest.Config, record: dict[str, Any]) -> None:
    path = config.stash.get(_PATH_KEY, None)
    if path is None:
        return
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()


def _describe(item: pytest.Item) -> dict[str, Any]:
    mark = item.get_closest_marker("kata_step")
    step, title = (mark.args[0], mark.args[1]) if mark is not None else (0, "")
    func = getattr(item, "function", None)
    doc = (getattr(func, "__doc__", None) or "").strip().splitlines()
    name = getattr(item, "originalname", item.name)
    sentence = doc[0] if doc else name.removeprefix("test_").replace("_", " ")
    return {"nodeid": item.nodeid, "step": step, "step_title": title, "sentence": sentence}


_ITEMS: dict[str, dict[str, Any]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        _ITEMS[item.nodeid] = _describe(item)
        _write(config, {"event": "collected", **_ITEMS[item.nodeid]})


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    # Written before the test runs: if the time limit strikes, this names the culprit.
    config = _CONFIG[0] if _CONFIG else None
    if config is not None:
        _write(config, {"event": "start", **_ITEMS.get(nodeid, {"nodeid": nodeid})})


_CONFIG: list[pytest.Config] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG.append(session.config)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _CONFIG:
        return
    if report.when == "call" or report.failed or report.skipped:
        if report.when != "call" and not report.failed and not report.skipped:
            return
        record = {
            "event": "result",
            **_ITEMS.get(report.nodeid, {"nodeid": report.nodeid}),
            "when": report.when,
            "outcome": report.outcome,
            "details": report.longreprtext if report.failed else "",
            "duration": report.duration,
        }
        _write(_CONFIG[0], record)
