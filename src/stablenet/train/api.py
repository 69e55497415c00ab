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
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..io import ensure_writable_dir, save_json, save_torch
from ..objective import evaluate, regularization
from ..registry import build_model
from .checkpoint import check_same, load_checkpoint, load_model_state
from .config import TrainConfig, check, resolve
from .optimizers import make_stepper
from .outcome import chance_accuracy, run_verdict
from .progress import Progress
from .rng import set_rng_state
from .setup import build, load_data, stability_warnings
from .trainer import POSITION, Callback, Trainer


@dataclass
class TrainResult:
    """The trained ``model`` (best-validation weights), its ``metrics`` and the ``out`` dir."""

    model: nn.Module
    metrics: dict[str, Any]
    out: Path | None


def train(
    config: TrainConfig | None, out: str | os.PathLike | None = None, *, resume: bool = False,
    overwrite: bool = False, progress: bool = False, callback: Callback | None = None,
    device: str | None = None,
) -> TrainResult:
    """Train as ``config`` says; see the module docstring for what is written to ``out``.

    ``resume``: continue the run in ``out`` (its config comes from the checkpoint, ``config``
    is ignored and may be None; ``device`` may move it). ``overwrite``: allow ``out`` to
    hold a previous run. ``progress``: show a progress bar / log lines on stderr.
    ``callback(trainer, event)`` is called after every optimizer step (``"step"``) and
    epoch (``"epoch"``).
    """
    report = Progress(enabled=progress)
    if resume:
        if out is None:
            raise ConfigError("resume needs the directory of the run to resume")
        trainer = resume_trainer(Path(out), report, callback, device)
    else:
        trainer = new_trainer(config, out, overwrite, report, callback)
    if not trainer.complete:
        with torch_threads(trainer.config.threads or 0):
            trainer.run_levels()
            finish(trainer)
    return TrainResult(trainer.model, trainer.metrics, trainer.out)


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
                   device: str | None) -> Trainer:
    path = out / "checkpoint.pt"
    ckpt = load_checkpoint(path)
    try:
        config = check(TrainConfig.from_dict(ckpt["config"]))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{path} holds an invalid training config: {exc}") from None
    if device is not None:
        config.device = device
    ensure_writable_dir(out)
    trainer = Trainer(config, load_data(config), out, report, callback)
    state = ckpt["trainer"]
    trainer.model = build(config, trainer.data, state["level"])
    check_same(ckpt["model_config"], trainer.model.config, path,
               ("arch", "input_shape", "num_classes", "width", "depth", "T", "activation"))
    load_model_state(trainer.model, ckpt["model"], path)
    for key in POSITION:
        setattr(trainer, key, state[key])
    if trainer.started:
        trainer.stepper = make_stepper(config, trainer.model)
        trainer.stepper.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"], trainer.data_order)
    return trainer


def finish(trainer: Trainer) -> dict[str, Any]:
    """Final and best evaluations, then ``model.pt``, ``metrics.json`` and the checkpoint."""
    t, c, data = trainer, trainer.config, trainer.data
    bs = t._eval_batch()
    final_train = evaluate(t.model, data.x_train, data.y_train, bs)
    final_val = evaluate(t.model, data.x_val, data.y_val, bs)
    with torch.no_grad():
        final_loss = final_train.loss + float(regularization(t.model, c.alpha, c.beta))
    final_state = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    last = (t.best["level"], t.best["epoch"]) == (t.level, t.config.epochs)
    if t.best["model_config"] != t.model.config:  # the best weights are from a coarser level
        t.model = build_model(**t.best["model_config"]).to(t.device, t.dtype)
    t.model.load_state_dict(t.best["state"])
    best_train = final_train if last else evaluate(t.model, data.x_train, data.y_train, bs)
    t.complete = True
    t.metrics = {
        "dataset": c.dataset, "arch": c.arch,
        "train_accuracy": final_train.accuracy, "val_accuracy": final_val.accuracy,
        "best_val_accuracy": t.best["val_accuracy"], "best_train_accuracy": best_train.accuracy,
        "best_level": t.best["level"], "best_epoch": t.best["epoch"],
        "final_loss": final_loss, "final_val_loss": final_val.loss,
        "seconds": t.elapsed(), "n_parameters": sum(p.numel() for p in t.model.parameters()),
        "depth": t.model.config["depth"], "n_train": data.n_train, "n_val": data.n_val,
        "levels": level_summary(t.history), "config": c.to_dict(), "model_config": t.model.config,
        "torch_version": str(torch.__version__), "num_threads": torch.get_num_threads(),
        "history": t.history,
    }
    t.metrics["chance_accuracy"] = chance_accuracy(data.y_val)  # item 5: say when it went wrong
    t.metrics["verdict"] = run_verdict(t.metrics)
    if t.out is not None:
        save_torch({"state_dict": t.model.state_dict(), "config": t.model.config},
                   t.out / "model.pt")
        save_json(t.metrics, t.out / "metrics.json")
        t.checkpoint(final_state)
    return t.metrics


def level_summary(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level: depth, epochs run, and the best validation accuracy with its epoch."""
    out: list[dict[str, Any]] = []
    for r in history:
        if not out or out[-1]["level"] != r["level"]:
            out.append({"level": r["level"], "depth": r["depth"], "epochs": 0,
                        "best_val_accuracy": -1.0, "best_epoch": 0})
        row = out[-1]
        row["epochs"] = max(row["epochs"], r["epoch"])
        if r["val_accuracy"] > row["best_val_accuracy"]:
            row["best_val_accuracy"], row["best_epoch"] = r["val_accuracy"], r["epoch"]
    return out
