"""The training loop: levels -> epochs -> optimizer steps, with a resumable position.

For level l = 0 .. L-1 (depth ``depth * 2**l``, h = T / depth): a fresh stepper, the
(prolonged) weights evaluated once, then ``epochs`` epochs; each epoch runs the steps
over a permutation of the training set drawn from the run's data-order generator,
evaluates on the validation set, keeps the best-validation weights of the whole run
(the paper's selection rule; ties go to the lower validation loss; the prolonged weights
at the start of a level are candidates too) and writes ``DIR/checkpoint.pt``. Between
levels the last weights are prolonged (:func:`stablenet.train.multilevel.prolong_model`).
The position (level, epoch, step in the epoch, permutation, running sums) is part of
the checkpoint (:meth:`Trainer.state_dict` / :meth:`Trainer.load_state_dict`), so a run
stopped at any step resumes to exactly the weights of an uninterrupted run;
:meth:`Trainer.finish` reports the best-validation weights and writes the run's files.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..configfile import to_toml
from ..data import DataSplit
from ..interfaces import StableModel
from ..io import save_json, save_text, save_torch
from ..objective import evaluate, regularization
from ..registry import build_model, upgrade_config
from .checkpoint import check_same, load_model_state, save_checkpoint
from .config import TrainConfig
from .distributed import data_parallel
from .divergence import diagnose
from .fingerprint import data_fingerprint
from .gpu import compiled_step_model, data_channels_last, mark_step
from .multilevel import prolong_model
from .optimizers import NonFinite, learning_rate, make_stepper
from .progress import Progress
from .results import run_metrics
from .rng import rng_state, seed_everything, set_rng_state
from .runlog import RunLog, regularizer_terms
from .setup import build, torch_setup
from .signals import StopRequests, TrainingInterrupted

Callback = Callable[["Trainer", str], None]
POSITION = ("level", "epoch", "batch", "started", "perm", "sums", "step_k", "best",
            "history", "seconds", "complete", "metrics")
#: model config entries a checkpoint must share with the model rebuilt from its config
SAME_MODEL = ("arch", "input_shape", "num_classes", "width", "depth", "T", "activation")


def _no_best() -> dict[str, Any]:
    return {"state": None, "model_config": None, "val_accuracy": -1.0, "val_loss": math.inf,
            "level": 0, "epoch": 0}


class Trainer:
    """Holds the model, the data, the stepper and the resumable position of a run."""

    def __init__(self, config: TrainConfig, split: DataSplit, out: Path | None = None,
                 progress: Progress | None = None, callback: Callback | None = None) -> None:
        self.config, self.out = config, out
        self.device, self.dtype = torch_setup(config)
        self.parallel = data_parallel(config, split.n_train, self.device)  # torchrun: DDP
        if self.parallel is not None and self.parallel.rank != 0:
            self.out = None  # rank 0 alone writes checkpoints, model and metrics
        self.data = split.to(dtype=self.dtype, device=self.device)  # held on the device
        if config.channels_last:
            self.data = data_channels_last(self.data)
        self.data_fingerprint = data_fingerprint(config.dataset, split)  # checked on resume
        self.data_order = seed_everything(config.seed)
        self.model: StableModel = build(config, split, 0)
        self.progress = progress or Progress(enabled=False)
        self.callback, self.stop, self.stepper = callback, StopRequests(), None
        self.level = self.epoch = self.batch = self.step_k = 0
        self.started = self.complete = False
        self.perm: torch.Tensor | None = None
        self.sums = [0.0, 0, 0]  # sum of loss * count, correct, count over the epoch so far
        self.best = _no_best()
        self.history: list[dict[str, Any]] = []
        self.seconds, self._t0 = 0.0, time.perf_counter()
        self.metrics: dict[str, Any] | None = None
        self._compiled: torch.nn.Module | None = None  # torch.compile(model), made lazily
        self.log: RunLog | None = None  # the run's CSV / TensorBoard logs, while it runs

    # -- the position, for checkpoints -------------------------------------------------
    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self._t0

    def state_dict(self, model_state: dict[str, Any] | None = None,
                   model_config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything a checkpoint holds: ``config``, ``model_config``, the ``model``'s
        weights (``model_state`` / ``model_config`` if given) and the ``trainer``'s
        position (with the optimizer's state and every random generator's)."""
        position = {k: getattr(self, k) for k in POSITION}
        position["seconds"] = self.elapsed()
        position["optimizer"] = self.stepper.state_dict() if self.stepper is not None else None
        position["rng"] = rng_state(self.data_order)
        return {"config": self.config.to_dict(),
                "model_config": model_config or self.model.config,
                "model": model_state or self.model.state_dict(), "trainer": position,
                "data": self.data_fingerprint}

    def load_state_dict(self, state: dict[str, Any], source: str | Path = "checkpoint") -> None:
        """Continue from ``state`` (what :meth:`state_dict` returned, e.g. a checkpoint):
        the model is rebuilt at the saved level and gets the saved weights, then the
        position, the optimizer and the random generators are restored. CheckpointError
        (naming ``source``) when the saved model differs from this config's."""
        position = state["trainer"]
        self.model = build(self.config, self.data, position["level"])
        check_same(state["model_config"], self.model.config, source, SAME_MODEL)
        load_model_state(self.model, state["model"], source)
        for key in POSITION:
            setattr(self, key, position[key])
        self.stepper, self._compiled = None, None
        if self.started:
            self.stepper = make_stepper(self.config, self.model)
            self.stepper.load_state_dict(position["optimizer"])
        set_rng_state(position["rng"], self.data_order)

    def checkpoint(self, model_state: dict[str, Any] | None = None,
                   model_config: dict[str, Any] | None = None) -> Path | None:
        """Write ``DIR/checkpoint.pt`` (no-op without an output directory)."""
        if self.out is None:
            return None
        if self.log is not None:
            self.log.flush()  # every row the checkpoint covers is on disk before it
        return save_checkpoint(self.out / "checkpoint.pt",
                               self.state_dict(model_state, model_config))

    # -- the loop --------------------------------------------------------------------
    @property
    def levels(self) -> int:
        return self.config.levels

    def n_batches(self) -> int:
        n, bs = self.data.n_train, self.config.batch_size
        return 1 if bs == 0 or bs >= n else math.ceil(n / bs)

    def where(self) -> str:
        return (f"level {self.level + 1}/{self.levels} (depth {self.model.blocks[0].depth}), "
                f"epoch {self.epoch + 1}, step {self.batch + 1}")

    def run_levels(self) -> None:
        """Train from the current position to the end of the last level."""
        self._open_log()  # before the clock starts: importing tensorboard takes a second
        self._t0 = time.perf_counter()
        try:
            with self.stop:
                while True:
                    self._run_level()
                    if self.level + 1 >= self.levels:
                        break
                    self._next_level()
        finally:
            if self.log is not None:
                self.log.close()
                self.log = None
        self.progress.close()

    # -- the run logs (stablenet.train.runlog) -----------------------------------------
    def steps_before(self, level: int) -> int:
        """Optimizer steps of the run before level ``level`` starts."""
        return sum(self.config.epochs_at(k) for k in range(level)) * self.n_batches()

    def global_step(self) -> int:
        """Optimizer steps taken so far in the whole run."""
        return self.steps_before(self.level) + self.step_k

    def _open_log(self) -> None:
        if self.out is None:
            return
        at = [self.steps_before(r["level"]) + r["epoch"] * self.n_batches()
              for r in self.history]
        if not self.history and self.global_step() == 0:  # a new run: its settings file
            save_text(to_toml(self.config.to_dict(), "the resolved options of this run: "
                              "`stablenet train --config config.toml` trains it again"),
                      self.out / "config.toml")
        self.log = RunLog(self.out, self.config.log == "tensorboard", self.global_step(),
                          self.history, at)

    def _log_epoch(self, record: dict[str, Any]) -> None:
        if self.log is not None:
            smooth, decay = regularizer_terms(self.model, self.config.alpha, self.config.beta)
            self.log.epoch({**record, "step": self.global_step(), "smoothness": smooth,
                            "weight_decay": decay})

    def _log_step(self, out: dict[str, Any], terms: tuple[float, float], lr: float | None,
                  step: int) -> None:
        if "cross_entropy" in out:  # BCD: its loss is at the point it accepted (after)
            terms = regularizer_terms(self.model, self.config.alpha, self.config.beta)
        loss, count = float(out["loss"]), max(int(out["count"]), 1)
        self.log.step({
            "step": step, "level": self.level, "depth": self.model.blocks[0].depth,
            "epoch": self.epoch + 1, "batch": self.batch + 1, "loss": loss,
            "cross_entropy": float(out.get("cross_entropy", loss - sum(terms))),
            "smoothness": terms[0], "weight_decay": terms[1],
            "accuracy": int(out["correct"]) / count, "lr": lr,
            "grad_norm": out.get("grad_norm"), "seconds": self.elapsed(),
        })

    def _run_level(self) -> None:
        if not self.started:
            self._start_level()
        epochs = self.config.epochs_at(self.level)
        total = epochs * self.n_batches()
        depth = self.model.blocks[0].depth
        self.progress.start_level(self.level, self.levels, depth, epochs, total, done=self.step_k)
        while self.epoch < epochs:
            self._run_epoch()
            self._end_epoch()

    def _start_level(self) -> None:
        self.stepper = make_stepper(self.config, self.model)
        self.step_k = 0
        ev = self._validate()
        self.history.append({
            "level": self.level, "depth": self.model.blocks[0].depth, "epoch": 0, "lr": None,
            "train_loss": None, "train_accuracy": None, "val_loss": ev.loss,
            "val_accuracy": ev.accuracy, "seconds": self.elapsed(),
        })
        self._log_epoch(self.history[-1])
        self._consider(ev.accuracy, ev.loss, epoch=0)
        self.started = True

    def _run_epoch(self) -> None:
        x, y, n = self.data.x_train, self.data.y_train, self.data.n_train
        bs = self.config.batch_size if 0 < self.config.batch_size < n else n
        if self.perm is None:
            self.perm = torch.randperm(n, generator=self.data_order) if bs < n else None
        n_batches, total = self.n_batches(), self.config.epochs_at(self.level) * self.n_batches()
        for b in range(self.batch, n_batches):
            if self.perm is None:
                xb, yb = x, y
            else:
                idx = self.perm[b * bs:(b + 1) * bs].to(self.device)
                xb, yb = x[idx], y[idx]
            lr = None
            if hasattr(self.stepper, "set_lr"):
                c = self.config
                lr = learning_rate(c.schedule, c.lr, self.step_k, total)
                self.stepper.set_lr(lr)
            self._step(xb, yb, lr)
            self.batch = b + 1
            if self.callback is not None:
                self.callback(self, "step")
            if self._stop_requested():
                self.interrupt()

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, lr: float | None = None) -> None:
        step = self.global_step()
        if self.log is not None:  # R at the weights the stepper's loss is measured at
            terms = regularizer_terms(self.model, self.config.alpha, self.config.beta)
        try:
            if self.parallel is not None:  # this rank's slice; global metrics
                out = self.parallel.step(self.stepper, self.model, xb, yb)
            else:
                mark_step(self.config)  # a new step for CUDA graph trees (--cuda-graphs)
                out = self.stepper.step(self.step_model(), xb, yb)
            if not math.isfinite(float(out["loss"])):
                raise NonFinite("loss", float(out["loss"]))
        except NonFinite as exc:
            err = diagnose(self.model, xb, exc.what, exc.value, self.where(), yb,
                           self.config.alpha, self.config.beta)
            last = self.out / "checkpoint.pt" if self.out is not None else None
            if last is not None and last.is_file():
                err.args = (f"{err.args[0]} The last good checkpoint is kept in {last}.",)
            raise err from None
        if self.log is not None:
            self._log_step(out, terms, lr, step)
        self.step_k += 1
        count, right = int(out["count"]), int(out["correct"])  # every stepper reports both
        self.sums = [self.sums[0] + float(out["loss"]) * count, self.sums[1] + right,
                     self.sums[2] + count]
        self.progress.step(self.sums[0] / self.sums[2], self.sums[1] / self.sums[2],
                           self.history[-1]["val_accuracy"])

    def step_model(self) -> torch.nn.Module:
        """The model the optimizer steps call: ``torch.compile(model)`` with ``--compile``
        or ``--cuda-graphs`` (compiled once per level, :func:`.gpu.compiled_step_model`; it
        shares the model's parameters), else the model."""
        if self.config.compile is None and not self.config.cuda_graphs:
            return self.model
        if self._compiled is None:
            self._compiled = compiled_step_model(self.model, self.config)
        return self._compiled

    def _end_epoch(self) -> None:
        ev = self._validate()
        c = self.config
        total, count = c.epochs_at(self.level) * self.n_batches(), max(self.sums[2], 1)
        record = {
            "level": self.level, "depth": self.model.blocks[0].depth, "epoch": self.epoch + 1,
            "lr": learning_rate(c.schedule, c.lr, max(self.step_k - 1, 0), total),
            "train_loss": self.sums[0] / count, "train_accuracy": self.sums[1] / count,
            "val_loss": ev.loss, "val_accuracy": ev.accuracy, "seconds": self.elapsed(),
        }
        self.history.append(record)
        self._log_epoch(record)
        self._consider(ev.accuracy, ev.loss, epoch=self.epoch + 1)
        self.epoch, self.batch, self.perm, self.sums = self.epoch + 1, 0, None, [0.0, 0, 0]
        self.progress.epoch(record)
        if self.callback is not None:
            self.callback(self, "epoch")
        self.checkpoint()
        if self._stop_requested():
            self.interrupt()

    def _consider(self, accuracy: float, loss: float, epoch: int) -> None:
        b = self.best
        if accuracy > b["val_accuracy"] or (accuracy == b["val_accuracy"] and loss < b["val_loss"]):
            state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            self.best = {"state": state, "model_config": dict(self.model.config),
                         "val_accuracy": accuracy, "val_loss": loss, "level": self.level,
                         "epoch": epoch}

    def _next_level(self) -> None:
        prolong_model(self.model)
        self.level, self.epoch, self.batch, self.step_k = self.level + 1, 0, 0, 0
        self.started, self.stepper, self._compiled = False, None, None
        self.checkpoint()

    @property
    def eval_batch_size(self) -> int:
        """The batch of evaluations: 250 images at a time, dense data in one batch (0)."""
        return 250 if self.data.is_image else 0

    def _validate(self):
        """Evaluation on the validation set (under torchrun: sharded, sums all-reduced)."""
        args = (self.model, self.data.x_val, self.data.y_val, self.eval_batch_size)
        return self.parallel.evaluate(*args) if self.parallel is not None else evaluate(*args)

    def _stop_requested(self) -> bool:
        """A stop request (signal, callback); under torchrun all ranks agree on it."""
        if self.parallel is not None:
            return self.parallel.agree_stop(self.stop)
        return self.stop.signum is not None

    def interrupt(self) -> None:
        """Write a checkpoint and raise :class:`TrainingInterrupted`."""
        path = self.checkpoint()
        if self.parallel is not None:
            self.parallel.barrier()  # no rank exits before rank 0 has written
        name = signal.Signals(self.stop.signum).name
        msg = f"training interrupted by {name} at {self.where()}"
        if path is not None:
            msg += (f"; checkpoint written to {path}. Resume with: "
                    f"stablenet train --resume {self.out}")
        raise TrainingInterrupted(msg, self.stop.signum)

    # -- the end -----------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        """End the run: evaluate the last weights, switch ``model`` to the best-validation
        weights (the reported model, possibly of a coarser level), write ``model.pt``,
        ``metrics.json`` and a last checkpoint (of the last weights, marked complete), and
        return the metrics (:func:`~stablenet.train.results.run_metrics`)."""
        c, data, bs = self.config, self.data, self.eval_batch_size
        final_train = evaluate(self.model, data.x_train, data.y_train, bs)
        final_val = evaluate(self.model, data.x_val, data.y_val, bs)
        with torch.no_grad():
            final_loss = final_train.loss + float(regularization(self.model, c.alpha, c.beta))
        final_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        final_config = dict(self.model.config)
        last = (self.best["level"], self.best["epoch"]) == (self.level, c.epochs_at(self.level))
        self.use_best_weights()
        best_train = final_train if last else evaluate(self.model, data.x_train,
                                                       data.y_train, bs)
        self.complete = True
        self.metrics = run_metrics(c, data, self.model, self.best, self.history, self.elapsed(),
                                   final_train=final_train, final_val=final_val,
                                   final_loss=final_loss, best_train=best_train)
        if self.out is not None:
            save_torch({"state_dict": self.model.state_dict(), "config": self.model.config},
                       self.out / "model.pt")
            save_json(self.metrics, self.out / "metrics.json")
            self.checkpoint(final_state, final_config)
        return self.metrics

    def use_best_weights(self) -> None:
        """Put the best-validation weights into ``model`` (rebuilt when they are from a
        coarser level): the model a run reports."""
        best_config = upgrade_config(self.best["model_config"])  # (a checkpoint of old code)
        if best_config != self.model.config:
            self.model = build_model(**best_config).to(self.device, self.dtype)
        self.model.load_state_dict(self.best["state"])
