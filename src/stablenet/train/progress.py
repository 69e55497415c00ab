"""Progress reporting: a tqdm bar on a terminal, a few plain lines otherwise, or nothing.

On a TTY (and with tqdm installed; it is imported lazily) each level gets a bar over its
optimizer steps showing the running loss and accuracy and the last validation accuracy.
Off a TTY (logs, pipes) it prints one line about every tenth epoch and at the end of
each level, and for long epochs (>= 200 steps) one line every tenth of an epoch.
``enabled=False`` (``--quiet``, library default) prints nothing.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from .distributed import is_main_process


class Progress:
    def __init__(self, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.enabled = enabled and is_main_process()  # torchrun: rank 0 only
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.epochs, self.per_epoch, self.done = 1, 1, 0

    def _tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def start_level(self, level: int, levels: int, depth: int, epochs: int, total: int,
                    done: int = 0) -> None:
        """A new level (or a resumed one with ``done`` of ``total`` steps already taken)."""
        self.close()
        self.epochs, self.per_epoch, self.done = epochs, max(total // max(epochs, 1), 1), done
        if not self.enabled:
            return
        desc = f"level {level + 1}/{levels} depth {depth}"
        if self._tty():
            try:  # lazily: tqdm is an optional dependency (stablenet[cli])
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=done, desc=desc, file=self.stream,
                                dynamic_ncols=True, leave=True)
                return
        self.write(f"{desc}: {epochs} epoch(s), {total} step(s)")

    def step(self, loss: float, accuracy: float, val_accuracy: float | None) -> None:
        """One optimizer step with the epoch's running loss and accuracy so far."""
        self.done += 1
        if self.bar is None:
            k, every = self.done % self.per_epoch, max(self.per_epoch // 10, 1)
            if self.enabled and self.per_epoch >= 200 and k and k % every == 0:
                self.write(f"    step {k}/{self.per_epoch}: loss {loss:.4f}, acc {accuracy:.4f}")
        else:
            post = {"loss": f"{loss:.4f}", "acc": f"{accuracy:.4f}"}
            if val_accuracy is not None:
                post["val"] = f"{val_accuracy:.4f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)

    def epoch(self, record: dict[str, Any]) -> None:
        """The end of an epoch (``record`` as in the run's history)."""
        if not self.enabled or self.bar is not None:
            return
        e = record["epoch"]
        if e == self.epochs or e % max(1, self.epochs // 10) == 0:
            self.write(
                f"  epoch {e}/{self.epochs}: loss {record['train_loss']:.4f}, "
                f"train acc {record['train_accuracy']:.4f}, val acc {record['val_accuracy']:.4f}"
            )

    def write(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
