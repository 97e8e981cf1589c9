"""Shared output helpers for CLI commands: rich tables, JSON, lazy matplotlib."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["console", "print_json", "print_table", "require_matplotlib"]

_CONSOLE: Console | None = None


def console() -> Console:
    """The process-wide rich console (stdout)."""
    global _CONSOLE
    if _CONSOLE is None:
        # Piped or redirected output has no terminal width: rich would assume 80 columns and
        # cut table cells; a wide virtual width keeps every cell whole for files and pipes.
        width = None if sys.stdout.isatty() else 200
        _CONSOLE = Console(highlight=False, width=width)
    return _CONSOLE


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    justify: str = "right",
) -> None:
    """Print a table; the first column is left-aligned, the others ``justify``-aligned."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console().print(table)


def _strict(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN or Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Print ``data`` as indented, strict JSON on stdout: non-finite floats become null."""
    json.dump(_strict(data), sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def require_matplotlib() -> Any:
    """Import matplotlib with a non-interactive backend, or explain how to install it."""
    from dskata.cli import CommandError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CommandError('plotting needs matplotlib: pip install "dskata[plot]"') from exc
    return plt
