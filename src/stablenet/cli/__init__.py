"""The ``stablenet`` command line: one module per command in this package.

A command module defines ``COMMAND`` (its name), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``; it is found automatically. Heavy imports (matplotlib, tqdm) stay
inside ``run``. A user mistake (:class:`stablenet.errors.UserError`) prints its message and
exits with code 2, without a traceback; a bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..errors import UserError
from ..io import disk_full, output_error
from ._common import plain_warnings


def _command_modules() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "COMMAND"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stablenet",
        description="Stable deep network architectures as discretised ODEs "
        "(Haber & Ruthotto 2018): train, reproduce the paper, analyse stability, plot.",
    )
    parser.add_argument("--version", action="version", version=f"stablenet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _command_modules():
        p = sub.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stablenet`` console script; returns the exit code."""
    try:
        parser = build_parser()
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the commands are imported
        print("stablenet: interrupted", file=sys.stderr)
        return 130
    args._argv = argv  # for a command's --config FILE (flags override it: parsed again)
    try:
        with plain_warnings():  # every command: `stablenet: warning: ...`, once each
            return int(args._run(args) or 0)
    except UserError as exc:
        print(f"stablenet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk outside stablenet's own writers: a message too
        if not disk_full(exc):
            raise
        where = Path(exc.filename) if exc.filename else Path(".")
        print(f"stablenet {args.command}: error: {output_error(where, exc, False)}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stablenet {args.command}: interrupted", file=sys.stderr)
        return 130
