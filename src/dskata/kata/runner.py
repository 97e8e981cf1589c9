"""Run a kata's conformance suite on an implementation, in a subprocess with a time limit.

The learner's code may loop forever, exhaust memory or call ``sys.exit``: it runs in a child
``python -m pytest`` that is killed when the time limit passes, while a reporter plugin streams
each outcome to a file so the parent knows what passed and what was running.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dskata.kata.catalogue import Kata, KataError

__all__ = ["CheckResult", "TestOutcome", "contract_path", "run_contract"]


@dataclass(frozen=True)
class TestOutcome:
    """One contract test's outcome."""

    nodeid: str
    step: int
    sentence: str
    outcome: str  # "passed", "failed", "skipped", "not run"
    details: str = ""


@dataclass
class CheckResult:
    """What one run of a contract found."""

    kata: Kata
    outcomes: list[TestOutcome] = field(default_factory=list)
    timed_out: bool = False
    running: dict[str, Any] | None = None  # the test that was running when the limit struck
    crashed: str = ""  # pytest's own output when it ended without reporting any test
    steps_run: tuple[int, ...] = ()

    def failures(self) -> list[TestOutcome]:
        """Failed tests, in step order then collection order."""
        order = {o.nodeid: i for i, o in enumerate(self.outcomes)}
        return sorted(
            (o for o in self.outcomes if o.outcome == "failed"),
            key=lambda o: (o.step, order[o.nodeid]),
        )

    def step_passed(self, step: int) -> bool:
        """True when the step ran, every test in it passed, and the run was not cut short."""
        tests = [o for o in self.outcomes if o.step == step]
        if not tests or (self.timed_out and self.running and self.running.get("step") == step):
            return False
        return all(o.outcome in ("passed", "skipped") for o in tests)

    @property
    def stopped_early(self) -> bool:
        """True when some collected tests did not run (first-failure stop or time limit)."""
        return any(o.outcome == "not run" for o in self.outcomes)

    def passed_steps(self) -> list[int]:
        """Steps that passed in this run."""
        return [
            s.number
            for s in self.kata.steps
            if s.number in self.steps_run and self.step_passed(s.number)
        ]

    @property
    def ok(self) -> bool:
        """True when every step that ran passed."""
        return (
            not self.timed_out
            and not self.crashed
            and all(self.step_passed(s) for s in self.steps_run)
        )


def contract_path(kata: Kata) -> Path:
    """The file of the kata's contract module."""
    spec = importlib.util.find_spec(kata.contract)
    if spec is None or spec.origin is None:
        raise KataError(f"contract module {kata.contract} of kata {kata.slug!r} is missing")
    return Path(spec.origin)


#: Interpreter and pytest start-up is not charged to the learner's time limit, up to this long.
STARTUP_GRACE: float = 60.0


def _wait(proc: subprocess.Popen[bytes], report: Path, timeout: float) -> bool:
    """Wait for ``proc``; kill its process group once the tests have run ``timeout`` seconds.

    The clock starts when the first test starts (the reporter writes a line then), so a slow
    machine's start-up does not eat the learner's budget; start-up itself may take at most
    ``STARTUP_GRACE`` seconds. Returns True when the child had to be killed.
    """
    launched = time.monotonic()
    tests_started: float | None = None
    while proc.poll() is None:
        now = time.monotonic()
        started = report.is_file() and b'"event": "start"' in report.read_bytes()
        if tests_started is None and started:
            tests_started = now
        limit = (
            launched + STARTUP_GRACE + timeout if tests_started is None else tests_started + timeout
        )
        if now >= limit:
            with contextlib.suppress(ProcessLookupError):  # it may have ended in between
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    return False


def _read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # a line cut by the kill
            continue
    return events


def run_contract(
    kata: Kata,
    learner_file: Path | None,
    *,
    step: int | None = None,
    timeout: float = 60.0,
    stop_at_first_failure: bool = False,
) -> CheckResult:
    """Run ``kata``'s contract on ``learner_file`` (None: dskata's reference).

    Args:
        step: run only this step's tests.
        timeout: seconds before the child is killed.
        stop_at_first_failure: stop the run at the first failing test (contracts are written
            in step order, so later steps are then "not run" and do not count as passed).
    """
    if step is not None:
        kata.step(step)  # raises KataError for an unknown step
    if timeout <= 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {timeout}")
    missing = [m for m in ("pytest", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        raise KataError(
            f"checking a kata needs {' and '.join(missing)}, which are not installed: "
            'pip install "dskata[test]" (or, in a clone: pip install -e ".[test]")'
        )
    with tempfile.TemporaryDirectory(prefix="dskata-check-") as tmp:
        tmpdir = Path(tmp)
        report = tmpdir / "report.jsonl"
        ini = tmpdir / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(contract_path(kata)),
            "-c",
            str(ini),
            "--rootdir",
            str(learner_file.parent if learner_file is not None else tmpdir),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:benchmark",  # pytest-benchmark would leave a .benchmarks folder behind
            "-p",
            "dskata.conformance.plugin",
            "-p",
            "dskata.kata.reporter",
            "--kata-report",
            str(report),
            "-q",
            "--tb=short",
            "--no-header",
            "-W",
            "ignore::DeprecationWarning",
        ]
        if learner_file is not None:
            cmd += ["--kata-impl", str(learner_file)]
        if step is not None:
            cmd += ["--kata-step", str(step)]
        if stop_at_first_failure:
            cmd.append("-x")
        env = dict(os.environ)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(tmpdir / "hypothesis"))
        log = (tmpdir / "output.txt").open("wb")
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(tmpdir),  # nothing the run writes lands in the workspace or the package
            env=env,
            start_new_session=True,  # so the kill reaches threads' and children's processes too
        )
        timed_out = _wait(proc, report, timeout)
        log.close()
        output = (tmpdir / "output.txt").read_bytes()
        events = _read_events(report)
    return _assemble(kata, events, timed_out, output.decode("utf-8", "replace"), step)


def _assemble(
    kata: Kata, events: list[dict[str, Any]], timed_out: bool, output: str, step: int | None
) -> CheckResult:
    collected = [e for e in events if e.get("event") == "collected"]
    results: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("event") == "result":
            prev = results.get(e["nodeid"])
            if prev is None or e["outcome"] == "failed":
                results[e["nodeid"]] = e
    starts = [e for e in events if e.get("event") == "start"]
    running = None
    if timed_out and starts and starts[-1]["nodeid"] not in results:
        running = starts[-1]
    outcomes = []
    for c in collected:
        r = results.get(c["nodeid"])
        outcomes.append(
            TestOutcome(
                nodeid=c["nodeid"],
                step=int(c["step"]),
                sentence=c["sentence"],
                outcome=r["outcome"] if r else "not run",
                details=r.get("details", "") if r else "",
            )
        )
    steps_run = (step,) if step is not None else tuple(s.number for s in kata.steps)
    crashed = ""
    if not collected and not timed_out:
        crashed = output.strip() or "pytest ended without running any test"
    return CheckResult(
        kata=kata,
        outcomes=outcomes,
        timed_out=timed_out,
        running=running,
        crashed=crashed,
        steps_run=steps_run,
    )
