"""Training stable networks: the library behind ``stablenet train`` (docs/theory.md 4-5).

    from stablenet.train import TrainConfig, train
    result = train(TrainConfig(dataset="swissroll", arch="hamiltonian"), out="runs/swiss")
    result.metrics["best_val_accuracy"], result.model

* :mod:`.config` / :mod:`.defaults`: :class:`TrainConfig`, per-dataset defaults, checks.
* :mod:`stablenet.objective` (re-exported here): mean cross-entropy + R, evaluation.
* :mod:`.optimizers`: one pluggable step per batch (Adam, SGD, L-BFGS; BCD from
  ``stablenet.optim``) and the learning-rate schedules.
* :mod:`.multilevel`: prolongation in depth by piecewise-linear interpolation in time.
* :mod:`.trainer` / :mod:`.api`: the loop, best-validation selection, checkpoints, resume.
* :mod:`.checkpoint`, :mod:`.signals`, :mod:`.divergence`, :mod:`.rng`: robustness.
"""

from ..objective import evaluate, objective, regularization, smoothness, weight_decay
from .api import TrainResult, train
from .checkpoint import load_checkpoint
from .config import TrainConfig, check, defaults_for, resolve
from .divergence import DivergenceError
from .multilevel import interpolate_in_time, prolong, prolong_model
from .signals import TrainingInterrupted
from .trainer import Trainer

__all__ = [
    "DivergenceError", "TrainConfig", "TrainResult", "Trainer", "TrainingInterrupted", "check",
    "defaults_for", "evaluate", "interpolate_in_time", "load_checkpoint", "objective",
    "prolong", "prolong_model", "regularization", "resolve", "smoothness", "train",
    "weight_decay",
]
