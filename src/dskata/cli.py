"""The ``dskata`` command line (also ``python -m dskata``).

Each command family lives in ``dskata.commands.<name>`` and exposes
``register(subparsers) -> None``; this module discovers them, so adding a family's commands is
adding a module. A command's handler takes the parsed arguments and returns an exit code.
Bad arguments and domain errors end with a one-line message on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from dskata._version import __version__

__all__ = ["CommandError", "build_parser", "main"]


class CommandError(Exception):
    """A command failed for a reason the user can fix; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other dskata error, with the way to the full usage.
        self.exit(2, f"dskata: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``dskata`` argument parser, with every discovered command family."""
    parser = _Parser(
        prog="dskata",
        description="Building blocks of large systems: benchmarks, katas and experiments.",
    )
    parser.add_argument("--version", action="version", version=f"dskata {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from dskata import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"dskata.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dskata`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from dskata.kata.catalogue import KataError

    try:
        code: int = args.func(args)
    except (CommandError, KataError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"dskata: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dskata: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
