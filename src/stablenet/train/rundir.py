"""A run directory: one writer at a time (the run lock), and what ``--overwrite`` clears.

:func:`run_lock` holds ``DIR/.stablenet.lock`` for the whole of a run, new or resumed: a
second run into the same directory is refused with a
:class:`~stablenet.errors.ConfigError` naming the process that holds it (pid, host, start
time, command). The lock is an ``flock`` on that file, which the operating system releases
when its process ends in any way (``kill -9`` included), so a stale lock file never
blocks; where ``flock`` does not exist or work (some network file systems) the file is
created exclusively instead, and a lock whose process no longer runs is taken over.
Under the lock, the temporary files of writes that were killed
(``.checkpoint.pt.XXXXXXXX.tmp``) are removed.

:func:`clear_run` removes the files a previous run wrote (:data:`RUN_FILES`, the run's
figures and TensorBoard events), and only those, before a run started with
``--overwrite`` writes anything: an interrupted new run never mixes with the old one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import remove_stale_temporaries
from .runlog import EPOCHS_FILE, STEPS_FILE, TENSORBOARD_DIR

try:  # POSIX
    import fcntl
except ImportError:  # Windows: exclusive creation and a liveness check of the pid
    fcntl = None  # type: ignore[assignment]

LOCK = ".stablenet.lock"
#: the files of a run directory that a run writes (--overwrite removes them)
RUN_FILES = ("checkpoint.pt", "model.pt", "metrics.json", "config.toml", STEPS_FILE,
             EPOCHS_FILE)
#: folders of a run's outputs and the names of the files the run writes there
RUN_FOLDERS = {"figures": "*.png", TENSORBOARD_DIR: "events.out.tfevents.*"}


def holder_info() -> dict[str, Any]:
    """What the lock file records about the process holding it."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}


def _describe(info: dict[str, Any], path: Path) -> str:
    return (f"{path.parent} is in use by another training run: process {info.get('pid', '?')} "
            f"on {info.get('host', '?')}, started {info.get('started', '?')} "
            f"(`{info.get('command', '?')}`). Wait for it to finish or stop it, or train "
            f"into another --out; the lock {path} goes when that process ends")


def _read(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _alive(pid: object) -> bool:
    """Whether the process ``pid`` runs (POSIX; elsewhere assumed to run)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        return True
    return True


def _acquire_flock(path: Path) -> int | None:
    """The locked file's descriptor; None where the file system has no flock (then the
    exclusive-file lock is used)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held by a running process
            os.close(fd)
            raise ConfigError(_describe(_read(path), path)) from None
        except OSError:  # e.g. ENOLCK on some network file systems
            os.close(fd)
            if not _read(path):  # our own empty file: the exclusive lock creates it anew
                with contextlib.suppress(OSError):
                    os.unlink(path)
            return None
        try:  # the holder before us may have removed the file between our open and flock
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _acquire_exclusive(path: Path) -> int:
    for _ in range(10):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            info = _read(path)
            if info.get("host") == socket.gethostname() and not _alive(info.get("pid")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # stale: its process is gone
                continue
            raise ConfigError(_describe(info, path)) from None
    raise ConfigError(f"cannot take the lock {path}; remove it if no run uses {path.parent}")


@contextlib.contextmanager
def run_lock(directory: str | os.PathLike) -> Iterator[Path]:
    """Hold the run lock of ``directory`` (which must exist) for the ``with`` block."""
    path = Path(directory) / LOCK
    fd = _acquire_flock(path) if fcntl is not None else None
    fd = _acquire_exclusive(path) if fd is None else fd
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder_info()).encode("utf-8"))
        remove_stale_temporaries(directory)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still holding it (see _acquire_flock)
        os.close(fd)


def previous_run_files(directory: str | os.PathLike) -> list[Path]:
    """The files of a previous run in ``directory`` (what :func:`clear_run` removes)."""
    directory = Path(directory)
    found = [directory / name for name in RUN_FILES if (directory / name).is_file()]
    for folder, pattern in RUN_FOLDERS.items():
        if (directory / folder).is_dir():
            found += sorted(p for p in (directory / folder).glob(pattern) if p.is_file())
    return found


def clear_run(directory: str | os.PathLike) -> list[Path]:
    """Remove the files of the previous run in ``directory`` (and its run folders when they
    are left empty); the user's other files stay. Returns the removed files."""
    removed = previous_run_files(directory)
    for path in removed:
        path.unlink()
    for folder in RUN_FOLDERS:
        with contextlib.suppress(OSError):  # absent, or holding other files: kept
            (Path(directory) / folder).rmdir()
    return removed
