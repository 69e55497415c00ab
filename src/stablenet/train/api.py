"""``train(config, out)``: the one call behind ``stablenet train``.

Writes to ``out`` (when given): ``checkpoint.pt`` after every epoch (and on SIGINT /
SIGTERM), and at the end ``model.pt`` (the best-validation weights of the last level,
``{"state_dict", "config"}``, loadable with :func:`stablenet.load`) and ``metrics.json``
(final and best accuracies, final loss, time, parameter count, the resolved config and
the per-epoch history). ``train(..., resume=True)`` continues from ``out/checkpoint.pt``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import DataSplit
from ..errors import CheckpointError, ConfigError
from ..interfaces import StableModel
from ..io import ensure_writable_dir
from .checkpoint import check_resume_options, load_checkpoint
from .config import TrainConfig, check, resolve
from .progress import Progress
from .setup import load_data, stability_warnings
from .trainer import Callback, Trainer


@dataclass
class TrainResult:
    """The trained ``model`` (best-validation weights), its ``metrics``, the ``out`` dir and
    the ``split`` the run trained and validated on (as loaded once for the run, on the
    run's device and dtype), so that figures and reports need not load the data again."""

    model: StableModel
    metrics: dict[str, Any]
    out: Path | None
    split: DataSplit


def train(
    config: TrainConfig | None, out: str | os.PathLike | None = None, *, resume: bool = False,
    overwrite: bool = False, progress: bool = False, callback: Callback | None = None,
    device: str | None = None, expect: dict[str, Any] | None = None,
) -> TrainResult:
    """Train as ``config`` says; see the module docstring for what is written to ``out``.

    ``resume``: continue the run in ``out`` (its config comes from the checkpoint, ``config``
    is ignored and may be None; ``device`` may move it; ``expect``: options the resumed
    run must have, e.g. the flags given with ``--resume``, else CheckpointError).
    ``overwrite``: allow ``out`` to hold a previous run. ``progress``: show a progress bar
    / log lines on stderr. ``callback(trainer, event)`` is called after every optimizer
    step (``"step"``) and epoch (``"epoch"``).
    """
    report = Progress(enabled=progress)
    if resume:
        if out is None:
            raise ConfigError("resume needs the directory of the run to resume")
        trainer = resume_trainer(Path(out), report, callback, device, expect or {})
    else:
        trainer = new_trainer(config, out, overwrite, report, callback)
    if trainer.complete:
        trainer.use_best_weights()  # a finished run reports its best weights
    else:
        with torch_threads(trainer.config.threads or 0):
            trainer.run_levels()
            trainer.finish()
    return TrainResult(trainer.model, trainer.metrics, trainer.out, trainer.data)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads (0: unchanged), restoring the old number after."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def new_trainer(config: TrainConfig, out: str | os.PathLike | None, overwrite: bool,
                report: Progress, callback: Callback | None) -> Trainer:
    """A trainer at the start of the run ``config`` describes (the data loaded here, once)."""
    check(config)
    out_dir = None
    if out is not None:
        out_dir = ensure_writable_dir(out)
        if (out_dir / "checkpoint.pt").exists() and not overwrite:
            raise ConfigError(
                f"{out_dir} already holds a training run (checkpoint.pt); continue it with "
                f"--resume {out_dir}, or start afresh with --overwrite or another --out"
            )
    split = load_data(config)
    resolved = resolve(config, split.is_image, split.n_features)
    trainer = Trainer(resolved, split, out_dir, report, callback)
    for message in stability_warnings(trainer.model, trainer.data.x_val[:256]):
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return trainer


def resume_trainer(out: Path, report: Progress, callback: Callback | None,
                   device: str | None, expect: dict[str, Any]) -> Trainer:
    """The trainer of the run in ``out``, at the position of ``out/checkpoint.pt`` (read
    once, here); ``expect`` as in :func:`train`."""
    path = out / "checkpoint.pt"
    ckpt = load_checkpoint(path)
    check_resume_options(ckpt["config"], expect, path)
    try:
        config = check(TrainConfig.from_dict(ckpt["config"]))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{path} holds an invalid training config: {exc}") from None
    if device is not None:
        config.device = device
    ensure_writable_dir(out)
    trainer = Trainer(config, load_data(config), out, report, callback)
    trainer.load_state_dict(ckpt, path)
    return trainer
