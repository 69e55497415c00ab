"""``train(config, out)``: the one call behind ``stablenet train``.

Writes to ``out`` (when given): ``checkpoint.pt`` after every epoch (and on SIGINT /
SIGTERM), and at the end ``model.pt`` (the best-validation weights of the last level,
``{"state_dict", "config"}``, loadable with :func:`stablenet.load`) and ``metrics.json``
(final and best accuracies, final loss, time, parameter count, the resolved config and
the per-epoch history). ``train(..., resume=True)`` continues from ``out/checkpoint.pt``.

A run holds ``out``'s run lock throughout (:mod:`.rundir`: a second run into ``out`` is
refused, naming the first); ``overwrite=True`` removes the previous run's files once the
new run's options and data are checked, before it writes anything; a resumed run checks
that its training data are those of the checkpoint (:mod:`.fingerprint`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import DataSplit
from ..errors import CheckpointError, ConfigError, UserError
from ..interfaces import StableModel
from ..io import ensure_writable_dir
from .checkpoint import START_ANEW, check_resume_options, load_checkpoint
from .config import TrainConfig, check, resolve
from .distributed import is_main_process
from .fingerprint import check_same_data
from .progress import Progress
from .resources import check_fits, thread_count
from .rundir import clear_run, previous_run_files, run_lock
from .setup import load_data, stability_warnings, torch_setup
from .signals import TrainingInterrupted
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
    finished_before: bool = False  # resumed a run that had already finished: nothing ran


def train(
    config: TrainConfig | None, out: str | os.PathLike | None = None, *, resume: bool = False,
    overwrite: bool = False, progress: bool = False, callback: Callback | None = None,
    device: str | None = None, expect: dict[str, Any] | None = None,
    allow_data_change: bool = False,
) -> TrainResult:
    """Train as ``config`` says; see the module docstring for what is written to ``out``.

    ``resume``: continue the run in ``out`` (its config comes from the checkpoint, ``config``
    is ignored and may be None; ``device`` may move it; ``expect``: options the resumed
    run must have, e.g. the flags given with ``--resume``, else CheckpointError;
    ``allow_data_change``: resume although the data differ from the checkpoint's).
    ``overwrite``: allow ``out`` to hold a previous run, whose files are removed before
    this one writes (not with ``resume``). ``progress``: show a progress bar
    / log lines on stderr. ``callback(trainer, event)`` is called after every optimizer
    step (``"step"``) and epoch (``"epoch"``).
    """
    report = Progress(enabled=progress)
    if resume and overwrite:
        raise ConfigError("--resume continues the run in its directory and --overwrite "
                          "starts a new one there, removing the old run's files; give one")
    if resume and out is None:
        raise ConfigError("resume needs the directory of the run to resume")
    with locked(out, resume):
        if resume:
            trainer = resume_trainer(Path(out), report, callback, device, expect or {},
                                     allow_data_change)
        else:
            trainer = new_trainer(config, out, overwrite, report, callback)
        if trainer.complete:
            trainer.use_best_weights()  # a finished run reports its best weights
            return TrainResult(trainer.model, trainer.metrics, trainer.out, trainer.data, True)
        with torch_threads(trainer.config.threads or 0):
            trainer.run_levels()
            with trainer.stop:  # a signal now waits until the final files are complete
                trainer.finish()
        if trainer.stop.signum is not None:
            raise TrainingInterrupted(final_save_message(trainer), trainer.stop.signum)
    return TrainResult(trainer.model, trainer.metrics, trainer.out, trainer.data)


def locked(out: str | os.PathLike | None, resume: bool) -> contextlib.AbstractContextManager:
    """The run lock of ``out`` (:func:`.rundir.run_lock`); none without a directory, on
    torchrun ranks other than 0, or when there is no run to resume."""
    if out is None or not is_main_process() or (resume and not Path(out).is_dir()):
        return contextlib.nullcontext()
    return run_lock(ensure_writable_dir(out))


def final_save_message(trainer: Trainer) -> str:
    """What a signal during :meth:`Trainer.finish` ended: nothing (the run is complete)."""
    name = signal.Signals(trainer.stop.signum).name
    if trainer.out is None:
        return f"{name} arrived while the run finished; it is complete"
    return (f"{name} arrived while the final files were written; the run is complete and "
            f"its files are whole ({trainer.out / 'model.pt'}, metrics.json, checkpoint.pt). "
            f"Figures were not drawn: `stablenet plot {trainer.out}` draws them")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads (0: unchanged; at most the CPUs, see
    :func:`.resources.thread_count`), restoring the old number after."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(thread_count(n))
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
        previous = previous_run_files(out_dir)
        if previous and not overwrite:
            names = ", ".join(sorted({p.name for p in previous})[:4])
            raise ConfigError(
                f"{out_dir} already holds a training run ({names}); continue it with "
                f"--resume {out_dir}, or start afresh with --overwrite (which removes the old "
                "run's files) or another --out"
            )
    split = load_data(config)
    resolved = resolve(config, split.is_image, split.n_features)
    check_fits(resolved, split, torch_setup(resolved)[0])
    if out_dir is not None and overwrite and is_main_process():
        clear_run(out_dir)  # the options and data are good: the old run's files go now
    trainer = Trainer(resolved, split, out_dir, report, callback)
    for message in stability_warnings(trainer.model, trainer.data.x_val[:256]):
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return trainer


def resume_trainer(out: Path, report: Progress, callback: Callback | None,
                   device: str | None, expect: dict[str, Any],
                   allow_data_change: bool = False) -> Trainer:
    """The trainer of the run in ``out``, at the position of ``out/checkpoint.pt`` (read
    once, here); ``expect`` and ``allow_data_change`` as in :func:`train`. A checkpoint
    that was edited or damaged inside (missing or mistyped entries) is a CheckpointError."""
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
    try:
        trainer = Trainer(config, load_data(config), out, report, callback)
        check_same_data(ckpt.get("data"), trainer.data_fingerprint, path, allow_data_change)
        trainer.load_state_dict(ckpt, path)
    except UserError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise CheckpointError(f"{path} is damaged or was edited ({type(exc).__name__}: "
                              f"{exc}); {START_ANEW}") from None
    return trainer
