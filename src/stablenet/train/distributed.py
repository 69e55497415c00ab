"""Data-parallel training under ``torchrun`` (DistributedDataParallel), exactly reproducible.

``torchrun --nproc_per_node=K -m stablenet train ...`` sets RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT; with WORLD_SIZE > 1 the trainer joins the process group
(backend gloo for ``--device cpu``, nccl for ``--device cuda`` with device ``cuda:LOCAL_RANK``
per rank), with a timeout of ``STABLENET_DIST_TIMEOUT`` seconds (default 600) on every
collective, so that a dead or stuck rank ends the job with an error instead of a hang.

Data order. Every rank holds the whole data set and draws the same permutation pi_e per
epoch from the run's seeded data-order generator (it advances from epoch to epoch, which is
what ``DistributedSampler.set_epoch(e)`` achieves by reseeding with seed + e). The b-th
global batch B_b = pi_e[b s : (b+1) s] (s = ``--batch-size``, the *global* batch; the full
set when 0) is cut into W contiguous slices, rank r taking the r-th of
:func:`shard_bounds` (sizes differ by at most one). Over an epoch the ranks' slices
partition pi_e, every example used once per epoch, as with DistributedSampler (which deals
pi_e[r::W] to rank r instead: the same partition property, another grouping into steps).

Update. Rank r computes g_r = grad J_r, J_r = CE_r + R, CE_r the mean cross-entropy over its
n_r examples and R the regulariser; a DDP communication hook sums the weighted gradients

    g = sum_r (n_r / n) g_r = grad[ (1/n) sum_{i in B_b} CE_i + R ],   n = |B_b|,

the gradient one process computes on the whole global batch (the weights sum to 1, so R
counts once; equal slices make g DDP's usual average). L-BFGS also receives the objective
J = sum_r (n_r / n) J_r, all-reduced inside its closure, so its line search takes the same
decisions on every rank. BCD is refused (:class:`~stablenet.errors.ConfigError`). Batch
norm becomes SyncBatchNorm on CUDA (global batch statistics: exact); torch has no
SyncBatchNorm on CPU, so there each rank normalises by its own slice (a warning says so).

Metrics. Each step's loss sum, correct count and count are all-reduced, so the running and
per-epoch training metrics are the global ones; validation is sharded like a batch and its
sums are all-reduced (buffers are first broadcast from rank 0). Stop requests (signals)
are agreed by an all-reduce max after every step and epoch. Rank 0 alone writes files.
"""

from __future__ import annotations

import atexit
import datetime
import gc
import os
import warnings
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ..errors import ConfigError
from ..interfaces import StableModel
from ..objective import Evaluation, evaluate
from .config import TrainConfig
from .optimizers import Stepper
from .signals import StopRequests

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
TIMEOUT_ENV = "STABLENET_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 600.0


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"environment variable {name}={text!r} is not an integer; start "
                          "distributed runs with torchrun, which sets it") from None


def launched() -> bool:
    """Whether this process is one of several started by torchrun (WORLD_SIZE > 1)."""
    return _env_int("WORLD_SIZE", 1) > 1


def initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process' global rank (0 without torchrun)."""
    return dist.get_rank() if initialized() else _env_int("RANK", 0)


def world_size() -> int:
    """The number of processes W (1 without torchrun)."""
    return dist.get_world_size() if initialized() else _env_int("WORLD_SIZE", 1)


def is_main_process() -> bool:
    """True on rank 0, which alone writes files and reports progress."""
    return rank() == 0


def local_device(device: str) -> str:
    """``"cuda:LOCAL_RANK"`` for ``"cuda"`` under torchrun, else ``device`` unchanged."""
    return f"cuda:{_env_int('LOCAL_RANK', 0)}" if device == "cuda" and launched() else device


def timeout() -> datetime.timedelta:
    """The collectives' timeout: ``STABLENET_DIST_TIMEOUT`` seconds (default 600)."""
    text = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ConfigError(f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds")
    return datetime.timedelta(seconds=seconds)


def init(device: str) -> None:
    """Join the torchrun process group (no-op when not launched or already joined)."""
    if not launched() or initialized():
        return
    missing = [name for name in ENV if name not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} is set but {missing} are not; "
                          "start distributed runs with torchrun --nproc_per_node=K ...")
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; run in one process")
    backend = "gloo"
    if device == "cuda":
        n, local = torch.cuda.device_count(), _env_int("LOCAL_RANK", 0)
        if local >= n:
            raise ConfigError(f"LOCAL_RANK {local} has no GPU: only {n} visible on this node; "
                              "give torchrun --nproc_per_node <= the number of GPUs")
        torch.cuda.set_device(local)
        backend = "nccl"
    dist.init_process_group(backend, init_method="env://", timeout=timeout())
    atexit.register(shutdown)


def shutdown() -> None:
    """Leave the process group (safe to call twice)."""
    if initialized():
        gc.collect()  # DDP wrappers left in reference cycles go while the group is alive
        dist.destroy_process_group()


def shard_bounds(n: int, r: int, w: int) -> tuple[int, int]:
    """[start, end) of rank ``r``'s contiguous slice of ``n`` items among ``w`` ranks.

    The first ``n mod w`` ranks get ceil(n / w) items, the others floor(n / w)
    (numpy.array_split's rule).
    """
    q, extra = divmod(n, w)
    start = r * q + min(r, extra)
    return start, start + q + (1 if r < extra else 0)


def rank_batches(perm: Tensor, batch_size: int, r: int, w: int) -> list[Tensor]:
    """Rank ``r``'s slice of every global batch of the epoch permutation ``perm``."""
    s = batch_size if 0 < batch_size < len(perm) else len(perm)
    out = []
    for b in range(0, len(perm), s):
        start, end = shard_bounds(len(perm[b:b + s]), r, w)
        out.append(perm[b:b + s][start:end])
    return out


def check_config(config: TrainConfig, n_train: int, w: int) -> None:
    """ConfigError for what does not run data-parallel on ``w`` ranks."""
    if config.optimizer == "bcd":
        raise ConfigError("--optimizer bcd (block coordinate descent) does not run under "
                          "torchrun; train it in one process, or use adam, sgd or lbfgs")
    if config.compile is not None:
        raise ConfigError("--compile is not supported under torchrun (the steps run through "
                          "DistributedDataParallel); train compiled in one process, or drop it")
    if config.cuda_graphs:
        raise ConfigError("--cuda-graphs is not supported under torchrun (the steps run "
                          "through DistributedDataParallel); capture the step in one process, "
                          "or drop it")
    s = config.batch_size if 0 < config.batch_size < n_train else n_train
    smallest = n_train % s or s
    if smallest < w:
        raise ConfigError(
            f"a global batch of {smallest} example(s) cannot be split among {w} processes "
            f"({n_train} training examples, --batch-size {config.batch_size}); choose a batch "
            f"size whose batches (the last one included) have >= {w} examples, or --limit-train"
        )


def all_sum(values: list[float], device: torch.device | str = "cpu") -> list[float]:
    """Sum ``values`` (e.g. a loss sum, a correct count, a count) over all ranks."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


class _DDP(nn.parallel.DistributedDataParallel):
    """DDP whose missing attributes (``blocks``, ``classifier``, ``config``) are the module's,
    so the objective's regulariser and the steppers see the model through the wrapper."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)


def _weighted_allreduce(state, bucket):  # noqa: ANN001 (DDP checks the annotations)
    """DDP communication hook: g = sum_r w_r g_r with w_r = n_r / n (see the module doc)."""
    grad = bucket.buffer().mul_(state.value)
    fut = dist.all_reduce(grad, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


class _GlobalLoss:
    """An optimizer seen through a closure whose value is J = sum_r w_r J_r (all-reduced)."""

    def __init__(self, optimizer: torch.optim.Optimizer, weight: float) -> None:
        self.optimizer, self.weight = optimizer, weight

    def step(self, closure: Any) -> Any:
        def reduced() -> Tensor:
            value = closure().detach() * self.weight
            dist.all_reduce(value)
            return value

        return self.optimizer.step(reduced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


class _Weight:
    """The communication hook's state: w_r = n_r / n of the current step."""

    def __init__(self, value: float) -> None:
        self.value = value


class Parallel:
    """The data-parallel part of a run on ``world`` ranks; the trainer calls it per step."""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
        self.config, self.device = config, device
        self.rank, self.world = rank(), world_size()
        self.comm = device if device.type == "cuda" else torch.device("cpu")
        self.weight = _Weight(1.0 / self.world)
        self._ddp: _DDP | None = None
        self._params: list[nn.Parameter] = []

    def local(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, float]:
        """This rank's slice of the global batch ``(x, y)`` and its weight n_r / n."""
        start, end = shard_bounds(int(x.shape[0]), self.rank, self.world)
        return x[start:end], y[start:end], (end - start) / int(x.shape[0])

    def wrap(self, model: nn.Module) -> _DDP:
        """``model`` in DDP (a new wrapper whenever its parameters change, e.g. per level)."""
        params = list(model.parameters())
        same = len(params) == len(self._params) and all(
            p is q for p, q in zip(params, self._params, strict=True))
        if self._ddp is None or not same:
            self._convert_batch_norm(model)
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp = _DDP(model, device_ids=ids)  # syncs rank 0's buffers per forward
            self._ddp.register_comm_hook(self.weight, _weighted_allreduce)
            self._params = params
        return self._ddp

    def _convert_batch_norm(self, model: nn.Module) -> None:
        norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms or isinstance(norms[0], nn.SyncBatchNorm):
            return
        if self.device.type == "cuda":
            nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place below the root
        elif self.rank == 0:
            warnings.warn("batch norm on CPU uses each process' own slice statistics (torch "
                          "has no SyncBatchNorm on CPU), so the updates differ slightly from "
                          "one process on the global batch", RuntimeWarning, stacklevel=2)

    def step(self, stepper: Stepper, model: StableModel, x: Tensor, y: Tensor) -> dict[str, Any]:
        """One data-parallel step on the global batch ``(x, y)``; metrics are global."""
        xr, yr, self.weight.value = self.local(x, y)
        ddp = self.wrap(model)
        optimizer = getattr(stepper, "optimizer", None)
        if self.config.optimizer == "lbfgs":
            if not isinstance(optimizer, torch.optim.LBFGS):
                raise ConfigError("this L-BFGS stepper cannot run under torchrun; use adam/sgd")
            stepper.optimizer = _GlobalLoss(optimizer, self.weight.value)
        try:
            out = stepper.step(ddp, xr, yr)
        finally:
            if optimizer is not None:
                stepper.optimizer = optimizer
        count, right = int(out["count"]), int(out["correct"])
        total, right, count = all_sum([float(out["loss"]) * count, right, count], self.comm)
        return {**out, "loss": total / count, "correct": int(right), "count": int(count)}

    def evaluate(self, model: nn.Module, x: Tensor, y: Tensor, batch_size: int) -> Evaluation:
        """:func:`~stablenet.objective.evaluate` sharded over the ranks and reduced."""
        for buffer in model.buffers():  # e.g. batch-norm running statistics of rank 0
            dist.broadcast(buffer, 0)
        start, end = shard_bounds(int(x.shape[0]), self.rank, self.world)
        ev = evaluate(model, x[start:end], y[start:end], batch_size)
        total, right, n = all_sum([ev.loss * ev.count, round(ev.accuracy * ev.count),
                                   ev.count], self.comm)
        n = int(n)
        return Evaluation(total / max(n, 1), right / max(n, 1), n)

    def agree_stop(self, stop: StopRequests) -> bool:
        """Whether any rank got a stop request (signal); then all record it and stop together."""
        flag = torch.tensor([stop.signum or 0], dtype=torch.int64, device=self.comm)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and stop.signum is None:
            stop.request(int(flag.item()))
        return bool(flag.item())

    def barrier(self) -> None:
        """Wait for every rank (e.g. for rank 0's checkpoint before exiting together)."""
        dist.barrier(device_ids=[self.device.index] if self.device.type == "cuda" else None)


def data_parallel(config: TrainConfig, n_train: int, device: torch.device) -> Parallel | None:
    """The :class:`Parallel` of a run started by torchrun (joining its group), else None."""
    if not launched():
        return None
    check_config(config, n_train, world_size())
    init(config.device)
    return Parallel(config, device)
