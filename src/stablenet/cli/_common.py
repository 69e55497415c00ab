"""Helpers shared by the command modules (argument types, warnings, output paths)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path


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
