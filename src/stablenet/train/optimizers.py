"""One optimizer step per batch, behind one small interface, and the learning-rate schedule.

A *stepper* has ``step(model, x, y) -> dict`` (one update on one batch; the dict holds
the objective ``loss`` before the update (BCD: after it), the ``correct`` predictions
and the ``count`` of examples; the loop relies on these three keys), ``state_dict()`` /
``load_state_dict()`` and optionally ``set_lr(lr)``.
Adam, SGD with momentum and L-BFGS (strong-Wolfe line search; give it the full batch)
are wrapped by :class:`TorchStepper` (its forward under bf16 autocast with
``--autocast``, :mod:`.gpu`); SGD and L-BFGS work in the Sobolev metric on the
blocks' weights (``metric``, see :mod:`.metric`); the paper's block coordinate descent
(``stablenet.optim``) plugs in through the same interface.

Schedules (stepped once per optimizer step, restarted at every level):
``cosine``: lr_k = lr (0.01 + 0.99 (1 + cos(pi k / K)) / 2); ``step``: lr, times 0.1 from
k = K/2 on and 0.01 from k = 3K/4 on; ``none``: lr. K = steps in the level.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..interfaces import StableModel
from ..objective import correct, objective
from ..optim import BlockCoordinateDescent
from ..timemetric import TimeMetric
from .config import TrainConfig
from .gpu import autocast_dtype
from .metric import MetricLBFGS, precondition_gradients, time_metrics


class Stepper(Protocol):
    """One update per batch; ``step`` returns at least ``loss``, ``correct`` and ``count``."""

    def step(self, model: StableModel, x: Tensor, y: Tensor) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class NonFinite(ArithmeticError):
    """Raised inside a step when the loss is not finite or the gradient norm explodes."""

    def __init__(self, what: str, value: float) -> None:
        super().__init__(f"{what} = {value:g}")
        self.what, self.value = what, value


def grad_norm(model: nn.Module) -> float:
    """The Euclidean norm of all parameter gradients together."""
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


class TorchStepper:
    """A ``torch.optim`` optimizer minimising mean cross-entropy + R on each batch."""

    def __init__(self, optimizer: torch.optim.Optimizer, alpha: float, beta: float,
                 max_grad_norm: float, precondition: dict[int, TimeMetric] | None = None,
                 relative: bool = False, autocast: torch.dtype | None = None) -> None:
        self.optimizer, self.alpha, self.beta = optimizer, alpha, beta
        self.autocast = autocast  # the forward's autocast dtype (see .gpu), None: none
        self.max_grad_norm = max_grad_norm
        self.precondition = precondition or {}  # gradients in the blocks' time metric
        self.relative = relative

    def step(self, model: StableModel, x: Tensor, y: Tensor) -> dict[str, Any]:
        first: dict[str, Any] = {}

        def closure() -> Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            loss, logits = objective(model, x, y, self.alpha, self.beta, self.autocast)
            if not first:  # check the current weights only, not line-search trial points
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise NonFinite("loss", value)
                loss.backward()
                norm = grad_norm(model)
                if not math.isfinite(norm) or norm > self.max_grad_norm:
                    raise NonFinite("gradient norm", norm)
                first.update(loss=value, correct=correct(logits, y), count=int(y.shape[0]),
                             grad_norm=norm)
            else:
                loss.backward()
            if self.precondition:
                precondition_gradients(model.parameters(), self.precondition, self.relative)
            return loss

        self.optimizer.step(closure)
        return first

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)


def make_stepper(config: TrainConfig, model: StableModel) -> Stepper:
    """The stepper of ``config.optimizer`` for ``model`` (a fresh one per level)."""
    params = list(model.parameters())
    name, lr = config.optimizer, config.lr
    metrics = time_metrics(model, config.metric, config.alpha)  # see .metric
    precondition, autocast = None, autocast_dtype(config)
    if name == "adam":  # the relative gradient h M^{-1} g (see .metric)
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=lr)
        return TorchStepper(opt, config.alpha, config.beta, config.max_grad_norm, metrics,
                            relative=True, autocast=autocast)
    elif name == "sgd":
        opt, precondition = torch.optim.SGD(params, lr=lr, momentum=config.momentum), metrics
    elif name == "lbfgs":
        opt = MetricLBFGS(params, metrics, lr=lr, max_iter=20, history_size=20,
                          line_search_fn="strong_wolfe")
    elif name == "bcd":
        return _bcd(config, model)
    else:
        raise ConfigError(f"unknown optimizer {name!r}")
    return TorchStepper(opt, config.alpha, config.beta, config.max_grad_norm, precondition,
                        autocast=autocast)


def _bcd(config: TrainConfig, model: StableModel) -> Stepper:
    """The paper's block coordinate descent; its ``step`` has the stepper interface (its
    ``loss`` and ``correct`` are those of the batch after the step, the point it accepts)."""
    return BlockCoordinateDescent(model, config.alpha, config.beta, seed=config.seed)


def learning_rate(kind: str, base: float, step: int, total: int) -> float:
    """The learning rate at optimizer step ``step`` of ``total`` (see the module docstring)."""
    frac = min(step / max(total, 1), 1.0)
    if kind == "cosine":
        return base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * frac)))
    if kind == "step":
        return base * (0.1 if frac >= 0.5 else 1.0) * (0.1 if frac >= 0.75 else 1.0)
    return base
