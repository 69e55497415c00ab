"""What a finished run reports: ``metrics.json``'s record and the per-level summary."""

from __future__ import annotations

from typing import Any

import torch

from ..data import DataSplit
from ..objective import Evaluation
from .config import TrainConfig
from .outcome import chance_accuracy, run_verdict


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


def run_metrics(config: TrainConfig, data: DataSplit, model: torch.nn.Module,
                best: dict[str, Any], history: list[dict[str, Any]], seconds: float, *,
                final_train: Evaluation, final_val: Evaluation, final_loss: float,
                best_train: Evaluation) -> dict[str, Any]:
    """The record of ``metrics.json``: final (last weights) and best-validation (``model``,
    the reported weights) accuracies, the final loss with R, time, size, configs, history,
    the accuracy of chance and the run's verdict (:mod:`.outcome`)."""
    metrics = {
        "dataset": config.dataset, "arch": config.arch,
        "train_accuracy": final_train.accuracy, "val_accuracy": final_val.accuracy,
        "best_val_accuracy": best["val_accuracy"], "best_train_accuracy": best_train.accuracy,
        "best_level": best["level"], "best_epoch": best["epoch"],
        "final_loss": final_loss, "final_val_loss": final_val.loss,
        "seconds": seconds, "n_parameters": sum(p.numel() for p in model.parameters()),
        "depth": model.config["depth"], "n_train": data.n_train, "n_val": data.n_val,
        "levels": level_summary(history), "config": config.to_dict(),
        "model_config": model.config, "torch_version": str(torch.__version__),
        "num_threads": torch.get_num_threads(), "history": history,
    }
    metrics["chance_accuracy"] = chance_accuracy(data.y_val)  # to say when a run went wrong
    metrics["verdict"] = run_verdict(metrics)
    return metrics
