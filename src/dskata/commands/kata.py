"""``dskata kata``: list, start, check, hint, progress, solution, reset, verify, bench."""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from dskata.commands._output import console, print_json, print_table
from dskata.kata.catalogue import Implementation, Kata, KataError, all_katas, get_kata
from dskata.kata.progress import Progress
from dskata.kata.runner import CheckResult, TestOutcome, run_contract

__all__ = ["register"]

_MAX_DETAIL_LINES = 40


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``kata`` command and its subcommands."""
    p = sub.add_parser(
        "kata",
        help="graded exercises: build each primitive yourself",
        description="Graded exercises, checked by the same contract tests as dskata itself.",
    )
    ks = p.add_subparsers(dest="kata_command", metavar="SUBCOMMAND", parser_class=type(p))

    def add(
        name: str, help_: str, *, slug: bool = True, optional_slug: bool = False
    ) -> argparse.ArgumentParser:
        q = ks.add_parser(name, help=help_, description=help_)
        if slug:
            q.add_argument("slug", metavar="KATA", nargs="?" if optional_slug else None)
        q.add_argument("--dir", default=".", help="workspace folder (default: current folder)")
        return q

    q = add("list", "list the katas in course order, with your progress", slug=False)
    q.add_argument("--json", action="store_true", help="print as JSON")
    q.set_defaults(func=_list)

    q = add("start", "scaffold the kata's stub and instructions in the workspace")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=_start)

    q = add("check", "run the kata's contract on your code; shows one failure at a time")
    q.add_argument("--step", type=int, help="check only this step")
    q.add_argument("--all", action="store_true", help="show every failure, not only the first")
    q.add_argument("--watch", action="store_true", help="re-check whenever your file changes")
    q.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds the tests may run before they are stopped (start-up not counted)",
    )
    q.set_defaults(func=_check)

    q = add("hint", "show the general hints and those of your current step")
    q.add_argument("--step", type=int, help="hints of this step")
    q.set_defaults(func=_hint)

    q = add("progress", "show your progress on every kata", slug=False)
    q.add_argument("--json", action="store_true", help="print as JSON")
    q.set_defaults(func=_progress)

    q = add("solution", "show dskata's own implementation, once your kata passes")
    q.set_defaults(func=_solution)

    q = add("reset", "restore the stub (your file is backed up) and forget your progress")
    q.set_defaults(func=_reset)

    q = add(
        "verify",
        "prove the reference passes every step and the stub fails step 1",
        optional_slug=True,
    )
    q.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    q.add_argument("--jobs", type=int, default=None, help="runs in parallel (default: CPU count)")
    q.set_defaults(func=_verify)

    q = add("bench", "benchmark your implementation beside dskata's and the peers'")
    q.add_argument("--quick", action="store_true", help="small sizes")
    q.set_defaults(func=_bench)

    def _help(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_help)


def _workspace(args: argparse.Namespace) -> Path:
    path = Path(args.dir).expanduser()
    if path.exists() and not path.is_dir():
        raise KataError(f"--dir {args.dir!r} is not a folder")
    return path


def _learner_file(kata: Kata, workspace: Path) -> Path:
    return (workspace / kata.learner_filename).resolve()


def _status(kata: Kata, progress: Progress, workspace: Path) -> str:
    if progress.completed(kata.slug):
        return "done"
    passed = len(progress.passed_steps(kata.slug))
    if passed:
        return f"{passed}/{len(kata.steps)} steps"
    if (workspace / kata.learner_filename).exists():
        return "started"
    return ""


def _list(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    progress = Progress(ws)
    katas = all_katas()
    if args.json:
        print_json(
            [
                {
                    "slug": k.slug,
                    "title": k.title,
                    "order": k.order,
                    "difficulty": k.difficulty,
                    "prerequisites": list(k.prerequisites),
                    "steps": [{"number": s.number, "title": s.title} for s in k.steps],
                    "passed_steps": progress.passed_steps(k.slug),
                    "completed": progress.completed(k.slug),
                }
                for k in katas
            ]
        )
        return 0
    rows = [
        (
            k.slug,
            k.title,
            "★" * k.difficulty,
            ", ".join(k.prerequisites) or "-",
            len(k.steps),
            _status(k, progress, ws),
        )
        for k in katas
    ]
    print_table(
        "dskata katas",
        ["kata", "title", "difficulty", "needs", "steps", "you"],
        rows,
        justify="left",
    )
    console().print("Start one: dskata kata start KATA --dir WORKSPACE")
    return 0


def _start(args: argparse.Namespace) -> int:
    kata = get_kata(args.slug)
    ws = _workspace(args)
    ws.mkdir(parents=True, exist_ok=True)
    target = ws / kata.learner_filename
    if target.exists() and not args.force:
        raise KataError(
            f"{target} already exists; keep working on it, or `dskata kata reset {kata.slug}` "
            "(backs it up) or --force"
        )
    progress = Progress(ws)
    missing = [p for p in kata.prerequisites if not progress.completed(p)]
    target.write_text(kata.read("stub.py"), encoding="utf-8")
    guide = ws / f"{kata.module}.md"
    guide.write_text(kata.read("instructions.md"), encoding="utf-8")
    progress.mark_started(kata.slug)
    c = console()
    c.print(f"[bold]{kata.title}[/bold]  (kata {kata.slug}, difficulty {kata.difficulty})")
    c.print(f"  your code:     {target}")
    c.print(f"  instructions:  {guide}")
    if missing:
        c.print(f"  suggested first: {', '.join(missing)} (not required)")
    c.print("Steps:")
    for s in kata.steps:
        c.print(f"  {s.number}. {s.title}")
    c.print(
        f"Next: edit {kata.learner_filename}, then run "
        f"[bold]dskata kata check {kata.slug} --dir {args.dir}[/bold]"
    )
    return 0


def _indent(text: str, prefix: str = "    ") -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > _MAX_DETAIL_LINES:
        cut = len(lines) - _MAX_DETAIL_LINES
        lines = [*lines[:_MAX_DETAIL_LINES], f"... ({cut} more lines; rerun with --all)"]
    return "\n".join(prefix + line for line in lines)


def _progress_bar(kata: Kata, passed: list[int]) -> str:
    marks = "".join("■" if s.number in passed else "□" for s in kata.steps)
    return f"{marks} {len(passed)}/{len(kata.steps)} steps"


def _show_failure(kata: Kata, failure: TestOutcome) -> None:
    from rich.markup import escape

    step = kata.step(failure.step) if failure.step else None
    c = console()
    where = f"step {failure.step}/{len(kata.steps)}: {step.title}" if step else "setup"
    c.print(f"[bold red]✗[/bold red] {kata.slug} · {escape(where)}")
    c.print(f"  [bold]{escape(failure.sentence)}[/bold]")
    c.print(f"  ({escape(failure.nodeid.split('::')[-1])})")
    c.print(escape(_indent(failure.details)), soft_wrap=True)


def _report(kata: Kata, result: CheckResult, args: argparse.Namespace, ws: Path) -> int:
    from rich.markup import escape

    c = console()
    passed = result.passed_steps()
    Progress(ws).record_check(kata.slug, passed, len(kata.steps), full=args.step is None)
    all_passed = Progress(ws).passed_steps(kata.slug)
    if result.crashed:
        c.print("[bold red]✗[/bold red] the checker could not run the contract:")
        c.print(_indent(result.crashed), soft_wrap=True, markup=False)
        return 1
    failures = result.failures()
    if result.timed_out:
        running = result.running
        if running is None:
            where = (
                "before any test finished starting: does your file loop or wait while it is "
                "imported? (or raise --timeout on a slow machine)"
            )
        else:
            where = escape(
                f"while step {running.get('step')} was running: {running.get('sentence')}"
            )
        c.print(
            f"[bold red]✗[/bold red] stopped after {args.timeout:g} s: your code did not finish "
            f"(an infinite loop?) {where}",
            soft_wrap=True,
        )
    if failures:
        for failure in failures if args.all else failures[:1]:
            _show_failure(kata, failure)
        first = failures[0].step or 1
        c.print(f"Hint: dskata kata hint {kata.slug} --step {first} --dir {args.dir}")
        if result.stopped_early and not args.all:
            c.print("Later tests were not run; fix this one first (or --all to see every failure).")
    if result.ok:
        if args.step is None:
            c.print(
                f"[bold green]✓[/bold green] {kata.slug}: every step passes. "
                f"Compare with the reference: dskata kata solution {kata.slug} --dir "
                f"{args.dir}; measure yours: dskata kata bench {kata.slug} --dir {args.dir}"
            )
        else:
            c.print(f"[bold green]✓[/bold green] {kata.slug}: step {args.step} passes.")
    c.print(f"Progress: {_progress_bar(kata, all_passed)}")
    return 0 if result.ok else 1


def _check_once(kata: Kata, args: argparse.Namespace, ws: Path) -> int:
    learner = _learner_file(kata, ws)
    if not learner.is_file():
        raise KataError(
            f"{learner} does not exist; run `dskata kata start {kata.slug} --dir {args.dir}` first"
        )
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
    result = run_contract(
        kata, learner, step=args.step, timeout=args.timeout, stop_at_first_failure=not args.all
    )
    return _report(kata, result, args, ws)


def _check(args: argparse.Namespace) -> int:
    kata = get_kata(args.slug)
    ws = _workspace(args)
    if not args.watch:
        return _check_once(kata, args, ws)
    learner = _learner_file(kata, ws)
    last = -1.0
    code = 1
    try:
        while True:
            mtime = learner.stat().st_mtime if learner.exists() else 0.0
            if mtime != last:
                last = mtime
                console().rule(datetime.now().strftime("%H:%M:%S"))
                code = _check_once(kata, args, ws)
                console().print("[dim]watching for changes; Ctrl-C to stop[/dim]")
            time.sleep(0.5)
    except KeyboardInterrupt:
        return code


def _sections(markdown: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    current = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
        elif current:
            sections[current] += line + "\n"
    return sections


def _hint(args: argparse.Namespace) -> int:
    kata = get_kata(args.slug)
    progress = Progress(_workspace(args))
    if args.step is not None:
        step = kata.step(args.step).number
    else:
        passed = progress.passed_steps(kata.slug)
        step = next((s.number for s in kata.steps if s.number not in passed), kata.steps[-1].number)
    sections = _sections(kata.read("hints.md"))
    from rich.markdown import Markdown

    title = next((t for t in sections if t.startswith(f"Step {step}")), None)
    text = f"# {kata.title}: hints\n\n"
    if "General" in sections:
        text += sections["General"].strip() + "\n\n"
    text += f"## Step {step}: {kata.step(step).title}\n\n"
    text += sections[title].strip() if title else "(no hint for this step)"
    console().print(Markdown(text))
    return 0


def _progress(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    progress = Progress(ws)
    katas = all_katas()
    if args.json:
        print_json({k.slug: progress.entry(k.slug) for k in katas})
        return 0
    rows = [
        (
            k.slug,
            _progress_bar(k, progress.passed_steps(k.slug)),
            "done" if progress.completed(k.slug) else "",
        )
        for k in katas
    ]
    print_table(f"progress in {ws}", ["kata", "steps", ""], rows, justify="left")
    done = sum(progress.completed(k.slug) for k in katas)
    console().print(f"{done} of {len(katas)} katas done")
    return 0


def _solution(args: argparse.Namespace) -> int:
    kata = get_kata(args.slug)
    if not Progress(_workspace(args)).completed(kata.slug):
        raise KataError(
            f"the solution of {kata.slug!r} opens once your kata passes every step: "
            f"dskata kata check {kata.slug} --dir {args.dir}"
        )
    reference = Implementation.reference(kata)
    c = console()
    c.print(
        f"[bold]dskata's own implementation for {kata.slug}[/bold] ({kata.reference}); it is "
        "library code, written for speed and clarity: read it beside yours."
    )
    for name in kata.targets:
        obj = getattr(reference, name)
        try:
            source = inspect.getsource(obj)
            file = inspect.getsourcefile(obj)
        except (TypeError, OSError):
            continue
        c.print(f"\n[bold]# {name}[/bold]  ({file})")
        c.print(source, markup=False, highlight=False)
    return 0


def _reset(args: argparse.Namespace) -> int:
    kata = get_kata(args.slug)
    ws = _workspace(args)
    target = ws / kata.learner_filename
    if not target.exists() and not Progress(ws).entry(kata.slug):
        raise KataError(
            f"nothing to reset: {kata.slug} was never started in {ws}; "
            f"dskata kata start {kata.slug} --dir {args.dir}"
        )
    if target.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        backup = ws / ".dskata" / "backup" / f"{kata.module}.{stamp}.py"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, backup)
        console().print(f"backed up your file to {backup}")
    ws.mkdir(parents=True, exist_ok=True)
    target.write_text(kata.read("stub.py"), encoding="utf-8")
    Progress(ws).reset(kata.slug)
    console().print(f"{target} is the untouched stub again; progress of {kata.slug} cleared")
    return 0


def _verify_one(kata: Kata, timeout: float) -> tuple[CheckResult, CheckResult]:
    ref = run_contract(kata, None, timeout=timeout)
    stub = run_contract(
        kata,
        kata.folder / "stub.py",
        step=kata.steps[0].number,
        timeout=timeout,
        stop_at_first_failure=True,
    )
    return ref, stub


def _verify(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    katas = [get_kata(args.slug)] if args.slug else all_katas()
    jobs = args.jobs if args.jobs is not None else max(1, os.cpu_count() or 1)
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout}")
    # Each run is a child process, so threads here only wait: N jobs use N cores.
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda k: _verify_one(k, args.timeout), katas))
    rows = []
    problems = 0
    for kata, (ref, stub) in zip(katas, runs, strict=True):
        ref_ok = ref.ok and bool(ref.outcomes)
        stub_fails = not stub.ok and bool(stub.outcomes)
        steps_have_tests = all(any(o.step == s.number for o in ref.outcomes) for s in kata.steps)
        ok = ref_ok and stub_fails and steps_have_tests
        problems += not ok
        ref_text = f"{len(ref.passed_steps())}/{len(kata.steps)} steps, {len(ref.outcomes)} tests"
        rows.append(
            (
                kata.slug,
                ref_text,
                "fails step 1" if stub_fails else "PASSES step 1",
                "ok" if ok else "PROBLEM",
            )
        )
        if not ref_ok:
            for f in ref.failures()[:3]:
                _show_failure(kata, f)
            if ref.crashed:
                console().print(ref.crashed, markup=False)
            if ref.timed_out:
                console().print(f"{kata.slug}: the reference run hit the time limit", markup=False)
        if not steps_have_tests:
            console().print(f"{kata.slug}: some steps have no contract test", markup=False)
    print_table("kata verify", ["kata", "reference", "untouched stub", ""], rows, justify="left")
    return 1 if problems else 0


def _bench(args: argparse.Namespace) -> int:
    from dskata.bench.runner import run_workload
    from dskata.commands.bench import _print_result
    from dskata.kata.catalogue import load_learner_module

    kata = get_kata(args.slug)
    ws = _workspace(args)
    if not Progress(ws).completed(kata.slug):
        raise KataError(
            f"benchmark your {kata.slug} once it passes every step: "
            f"dskata kata check {kata.slug} --dir {args.dir}"
        )
    learner = _learner_file(kata, ws)
    module = load_learner_module(kata, learner)
    from dskata.bench.core import all_workloads

    ran = 0
    for w in all_workloads():
        name = w.subject.rsplit(".", 1)[-1]
        if name in kata.targets and hasattr(module, name):
            res = run_workload(w, quick=args.quick, subject=getattr(module, name))
            res.results = [
                r
                if r.kind != "dskata"
                else type(r)("yours", "learner", r.median_s, r.rounds, r.items)
                for r in res.results
            ]
            ref = run_workload(w, quick=args.quick)
            ours = next(r for r in ref.results if r.kind == "dskata")
            res.results.insert(
                1,
                type(ours)("dskata", "reference", ours.median_s, ours.rounds, ours.items),
            )
            _print_result(res)
            ran += 1
    if not ran:
        raise KataError(f"no benchmark workload exercises the targets of {kata.slug!r}")
    console().print("speed-up column: how many times faster YOUR code is than each row.")
    return 0
