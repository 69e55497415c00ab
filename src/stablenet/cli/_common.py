"""Helpers shared by the command modules (argument types, warnings, output paths)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..configfile import read_config, to_toml, unknown_keys
from ..errors import ConfigError

#: options that are not settings of an experiment (never read from a settings file)
NOT_SETTINGS = frozenset({"help", "config", "dry_run", "out"})


def int_list(text: str) -> list[int]:
    """argparse type: ``"16,32,64"`` -> ``[16, 32, 64]``."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 16,32,64, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def out_path(text: str) -> Path:
    """argparse type of ``--out`` / ``--resume``: a path, refusing an empty one (``--out
    $DIR`` with DIR unset would otherwise mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the path is empty (an unset shell variable?); give a directory or file name, "
            "e.g. --out runs/mine")
    return Path(text)


def epochs_list(text: str) -> int | list[int]:
    """argparse type: ``"30"`` -> 30, ``"30,3,3"`` -> [30, 3, 3] (one per level)."""
    values = int_list(text)
    return values[0] if len(values) == 1 and "," not in text else values


@contextlib.contextmanager
def plain_warnings(prefix: str = "stablenet") -> Iterator[None]:
    """Show Python warnings as one line ``stablenet: warning: ...`` (no file and line),
    each distinct message once (a run's data are read again for its figures)."""
    old = warnings.showwarning
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if str(message) in shown:
            return
        shown.add(str(message))
        print(f"{prefix}: warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            # torch's own deprecations (e.g. inductor's use of torch.jit under --compile)
            # are not the user's to fix
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.")
            yield
    finally:
        warnings.showwarning = old


def say(text: str, quiet: bool = False) -> None:
    """Print a status line to stdout unless ``quiet``."""
    if not quiet:
        print(text, flush=True)


def relative(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``--dry-run`` for a command whose flags are its settings."""
    p.add_argument("--config", type=Path, metavar="FILE", default=None,
                   help="read the settings from a .toml / .json / .yaml file (keys: the "
                   "flags' names, e.g. depths = [8, 16]); flags given as well override it")
    p.add_argument("--dry-run", action="store_true",
                   help="check the settings, print them as a file that --config reads back, exit")


def with_settings_file(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the settings of ``args.config`` under the flags given: each value of
    the file goes through its flag's own conversion and checks, then the command line is
    parsed again with the file's values as defaults. ConfigError naming the file and key."""
    if getattr(args, "config", None) is None:
        return args
    parser: argparse.ArgumentParser = args._parser
    actions = {a.dest: a for a in parser._actions if a.dest not in NOT_SETTINGS}
    data = read_config(args.config)
    unknown_keys(data, set(actions), args.config, "setting")
    defaults = {dest: _flag_value(actions[dest], value, args.config)
                for dest, value in data.items()}
    parser.set_defaults(**defaults)
    argv = args._argv[args._argv.index(args.command) + 1:]
    again = parser.parse_args(argv)
    again._argv, again.command = args._argv, args.command
    return again


def _flag_value(action: argparse.Action, value: Any, path: Path) -> Any:
    flag = action.option_strings[-1] if action.option_strings else action.dest
    if action.nargs == 0:  # store_true / store_false
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {action.dest} = {value!r}: {flag} is a switch; "
                              "write true or false")
        return value
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        converted = action.type(text) if action.type is not None else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {action.dest} = {value!r} is not a valid {flag}: "
                          f"{exc}") from None
    if action.choices is not None and converted not in action.choices:
        raise ConfigError(f"{path}: {action.dest} = {value!r}; {flag} is one of "
                          f"{list(action.choices)}")
    return converted


def print_settings(settings: dict[str, Any], command: str, quiet: bool = False) -> None:
    """Print ``settings`` as the TOML file ``stablenet COMMAND --config FILE`` reads back."""
    header = (f"stablenet {command}, resolved settings: `stablenet {command} --config FILE` "
              "runs this")
    say(to_toml(settings, header).rstrip("\n"), quiet)
