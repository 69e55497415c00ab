"""Run logs: a CSV row per optimizer step and per epoch, and TensorBoard events on request.

Every run with an output directory writes

* ``log_steps.csv``: one row per optimizer step (``STEP_FIELDS``): ``step`` (0-based, over
  the whole run), level, depth, epoch (1-based), batch, the objective ``loss`` = J on the
  batch, its parts ``cross_entropy``, ``smoothness`` (R_theta) and ``weight_decay``, the
  batch ``accuracy``, the learning rate ``lr``, the gradient norm ``grad_norm`` (empty
  where the optimizer has none: BCD) and ``seconds`` since the start of the run;
* ``log_epochs.csv``: one row per entry of the run's history (``EPOCH_FIELDS``): each
  epoch's training means and validation loss / accuracy, and the evaluation at the start
  of every level (``epoch`` 0, training fields empty), with R at the epoch's weights;

and, with ``log="tensorboard"`` (``--log tensorboard``), the same scalars as TensorBoard
events in ``DIR/tensorboard`` (tags ``step/<field>`` and ``epoch/<field>``) through
``torch.utils.tensorboard.SummaryWriter``. The x-axis of both is the number of optimizer
steps taken before the values were measured (``step``).

Resume: rows are appended. A resumed run first drops the rows its checkpoint does not
cover (steps from the checkpoint's position on, epochs past its history), so an
interrupted and resumed run has exactly the rows of an uninterrupted one; its
TensorBoard writer purges the events from that step on (``purge_step``) and writes the
epochs at that step again. Both files are flushed at every checkpoint, before it is
written, so a checkpoint never covers rows that are not on disk.
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path
from typing import Any

import torch

from ..io import save_text
from ..objective.regularizers import smoothness, weight_decay

STEP_FIELDS = ("step", "level", "depth", "epoch", "batch", "loss", "cross_entropy",
               "smoothness", "weight_decay", "accuracy", "lr", "grad_norm", "seconds")
EPOCH_FIELDS = ("step", "level", "depth", "epoch", "train_loss", "train_accuracy",
                "val_loss", "val_accuracy", "smoothness", "weight_decay", "lr", "seconds")
STEPS_FILE, EPOCHS_FILE, TENSORBOARD_DIR = "log_steps.csv", "log_epochs.csv", "tensorboard"
#: fields that are positions, not measurements (not sent to TensorBoard as ``step/...``)
_POSITION = ("step", "batch", "epoch")


@torch.no_grad()
def regularizer_terms(model: Any, alpha: float, beta: float) -> tuple[float, float]:
    """(R_theta summed over the model's blocks, the classifier's weight decay) now."""
    smooth = sum(float(smoothness(b, alpha)) for b in model.blocks) if alpha else 0.0
    decay = float(weight_decay(model.classifier, beta)) if beta else 0.0
    return smooth, decay


class RunLog:
    """The CSV logs (and TensorBoard events) of the run in ``out``, from step ``step``.

    ``step`` = 0 and no history: a new run (earlier logs in ``out`` are replaced);
    otherwise the position of a resumed run (see the module docstring); ``history`` the
    epoch records the checkpoint holds and ``epoch_steps`` the step of each.
    """

    def __init__(self, out: Path, tensorboard: bool, step: int,
                 history: list[dict[str, Any]], epoch_steps: list[int]) -> None:
        self.out = Path(out)
        fresh = step == 0 and not history
        self._steps = _CsvLog(self.out / STEPS_FILE, STEP_FIELDS, fresh,
                              lambda rows: [r for r in rows if _int(r.get("step")) < step])
        self._epochs = _CsvLog(self.out / EPOCHS_FILE, EPOCH_FIELDS, fresh,
                               lambda rows: rows[:len(history)])
        self.writer = _tensorboard(self.out / TENSORBOARD_DIR, fresh, step) if tensorboard \
            else None
        if self.writer is not None and not fresh:  # the epochs the purge removed
            for row, at in zip(self._epochs.rows, epoch_steps, strict=False):
                if at >= step:
                    self._scalars("epoch", {k: _number(v) for k, v in row.items()}, at)

    def step(self, row: dict[str, Any]) -> None:
        """One optimizer step (the fields of ``STEP_FIELDS``)."""
        self._steps.write(row)
        self._scalars("step", row, row["step"])

    def epoch(self, row: dict[str, Any]) -> None:
        """One history record with its ``step``, ``smoothness`` and ``weight_decay``."""
        self._epochs.write(row)
        self._scalars("epoch", row, row["step"])

    def _scalars(self, prefix: str, row: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key not in _POSITION and isinstance(value, (int, float)) and value is not None \
                    and math.isfinite(value):
                self.writer.add_scalar(f"{prefix}/{key}", value, global_step=step)

    def flush(self) -> None:
        self._steps.flush()
        self._epochs.flush()
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        self._steps.close()
        self._epochs.close()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class _CsvLog:
    """A CSV file with a header, appended row by row (flushed each row: ``tail -f``)."""

    def __init__(self, path: Path, fields: tuple[str, ...], fresh: bool,
                 keep: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
        self.path, self.fields = path, fields
        existing = [] if fresh else _read(path)
        self.rows = rows = keep(existing)
        if fresh or not path.is_file() or _header(path) != list(fields) or rows != existing:
            save_text(_csv_text(fields, rows), path)  # atomically: the kept rows only
        self.file = path.open("a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, fieldnames=fields, extrasaction="ignore",
                                     restval="")

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        self.file.flush()

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def _csv_text(fields: Iterable[str], rows: list[dict[str, str]]) -> str:
    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return -1


def _tensorboard(directory: Path, fresh: bool, step: int) -> Any:
    # lazily: tensorboard is an optional dependency (stablenet[tensorboard])
    from torch.utils.tensorboard import SummaryWriter

    if fresh and directory.is_dir():  # a new run in this directory: the old events go
        for old in directory.glob("events.out.tfevents.*"):
            old.unlink()
    _wait_for_a_later_second(directory)
    return SummaryWriter(log_dir=str(directory), purge_step=None if fresh else step)


def _wait_for_a_later_second(directory: Path) -> None:
    """Readers take event files in the order of their names, which start with the second
    the writer was made in (then host, process and a per-process counter). A resumed
    run's file must come after the earlier ones, so it is not made in their second."""
    seconds = [int(m.group(1)) for f in directory.glob("events.out.tfevents.*")
               if (m := re.match(r"events\.out\.tfevents\.(\d+)\.", f.name))]
    while seconds and int(time.time()) <= max(seconds):  # at most a second, once
        time.sleep(0.02)
