"""Files: atomic writes (a crash at any moment leaves the old file or the new one) and
safe reads of torch files (tensors and plain values only, with messages that say why).

Each writer fills a temporary file ``.NAME.XXXXXXXX.tmp`` in the destination's own
directory (so the final rename stays on one file system), gives it the mode a plain
``open`` would (0666 less the umask; ``mkstemp`` makes 0600), flushes and fsyncs it, then
``os.replace``-s it over the destination (atomic on POSIX and Windows) and fsyncs the
directory where possible. A failed write (a full disk, no permission) removes the
temporary file, keeps the old destination, and raises
:class:`~stablenet.errors.OutputError` naming the file and the fix. A killed writer
leaves its temporary file behind; :func:`remove_stale_temporaries` clears them.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from .errors import CheckpointError, ConfigError, OutputError

#: the names of the writers' temporary files (mkstemp's 8 random characters)
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` atomically; ``write(f)`` fills the open binary temporary file ``f``."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a file name; write to a file path")
    existed = path.exists()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(path, exc, existed) from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise output_error(path, exc, existed) from None
        raise
    _fsync_dir(path.parent)
    return path


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that failed for lack of space (ENOSPC, EDQUOT)."""
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def output_error(path: Path, exc: OSError, existed: bool) -> OutputError:
    """The OutputError for a failed write of ``path``: what failed, and what to do."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _DISK_FULL:
        fix = "free disk space or write elsewhere (another --out)"
    elif exc.errno == errno.ENOENT:
        fix = f"the folder {path.parent} does not exist; create it or write elsewhere"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a writable directory (another --out)"
    else:
        fix = "check the disk and the directory, or write elsewhere (another --out)"
    kept = f"; the previous {path.name} is unchanged" if existed else ""
    err = OutputError(f"cannot write {path}: {reason}{kept}; {fix}")
    err.errno = exc.errno
    return err


def umask() -> int:
    """The process's umask (read from /proc where possible: setting it is not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Recorder:
    """A file proxy that remembers the first OSError of a write: torch's zip writer turns
    it into ``RuntimeError: unexpected pos``, which would hide a full disk."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.error = f, None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        self.f.flush()


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically."""

    def write(f: IO[bytes]) -> None:
        recorder = _Recorder(f)
        try:
            torch.save(obj, recorder)
        except RuntimeError as exc:
            if recorder.error is not None:
                raise recorder.error from None
            if "unexpected pos" in str(exc):  # a short write without an errno
                raise OSError(errno.EIO, "the write stopped short (is the disk full?)") from None
            raise

    return atomic_write(path, write)


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON (non-finite floats become ``null``), atomically."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_text(text: str, path: str | os.PathLike) -> Path:
    """Write a UTF-8 text file atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the writers' temporary files in ``directory`` and its subfolders (one level),
    left by killed writes; call it only while no writer runs there (e.g. under a run lock)."""
    directory, removed = Path(directory), []
    if not directory.is_dir():
        return removed
    folders = [directory, *(p for p in directory.iterdir() if p.is_dir())]
    for folder in folders:
        for p in folder.iterdir():
            if TEMPORARY.match(p.name) and p.is_file():
                try:
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass
    return removed


def load_torch(path: str | os.PathLike, what: str = "file",
               map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code
    from the file. CheckpointError (naming ``what`` and ``path``) for a missing, empty,
    corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what} {path} is empty (0 bytes): its write was interrupted "
                              "or it was truncated; write it again")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, not a torch file at all
        raise CheckpointError(f"cannot read the {what} {path}: {load_failure(exc)}") from None


def load_failure(exc: Exception) -> str:
    """Why ``torch.load`` refused a file, without torch's advice to load it unsafely."""
    text = str(exc)
    found = re.search(r"unsupported global:?\s*(?:GLOBAL\s+)?([\w.]+)", text, re.IGNORECASE)
    if found or "unsupported global" in text.lower():
        name = f" ({found.group(1)})" if found else ""
        return (f"it is foreign: it holds Python objects{name} that no stablenet file "
                "contains, so it was not written by stablenet; it was refused without "
                "running any code from it (stablenet reads tensors and plain values only)")
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and "weights_only" not in ln and "trust" not in ln]
    detail = lines[0] if lines else "no further detail"
    return f"it is corrupt, truncated or foreign ({type(exc).__name__}: {detail})"


def ensure_writable_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Create ``path`` (and parents) if needed and check a file can be written there."""
    if not str(path).strip():
        raise ConfigError(f"the {what} is an empty name (an unset shell variable?); give a "
                          "directory, e.g. --out runs/mine")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} exists and is not a directory; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the {what} {path} ({exc.strerror or exc}); choose a writable "
            "directory with --out"
        ) from None
    return path
