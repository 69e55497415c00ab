"""SIGINT / SIGTERM during training: finish the current step, checkpoint, exit cleanly.

:class:`StopRequests` is a context manager that replaces the handlers of SIGINT and
SIGTERM by one that only records the signal; the training loop looks at ``signum``
after every optimizer step, writes a checkpoint and raises :class:`TrainingInterrupted`.
A second signal while the first is being handled falls back to the previous handler
(e.g. Ctrl-C twice aborts at once; the atomic writes keep the last checkpoint intact).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on request after writing a checkpoint; ``str()`` says how to resume."""

    def __init__(self, message: str, signum: int | None) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, the shell's convention (130 for SIGINT)."""
        return 128 + (self.signum or signal.SIGINT)


class StopRequests:
    """Records SIGINT / SIGTERM in ``signum`` instead of dying (only in the main thread)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the loop to stop, as if ``signum`` had arrived (used by tests and hooks)."""
        self.signum = signum

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # second signal: give up waiting
            self._restore()
            signal.raise_signal(signum)
            return
        self.signum = signum

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()
