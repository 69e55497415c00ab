"""What a run needs of the machine: memory (refused up front when it cannot fit) and threads.

:func:`estimate` is a lower bound on the memory of a resolved configuration at its
finest level (depth ``depth * 2**(levels - 1)``), computed from the configuration alone,
before anything is allocated:

* the parameters P (counted exactly, as :func:`stablenet.build_model` creates them), held
  ``3 + s`` times: the weights, their gradients, the best-validation copy, and ``s``
  optimizer states per parameter (Adam 2, SGD 1, L-BFGS 2 x 20 history pairs + 2, BCD 4);
* the activations autograd keeps for one training batch of B examples: per stored layer
  the state and its pre-activation (2 x B x the state's size, times 2 for the (z, y) state
  of Verlet), for N + 1 layers (``memory="store"``), N / k + k (``checkpoint``) or 2
  (``reversible``); image stages halve the resolution after each stage.

:func:`check_fits` raises :class:`~stablenet.errors.ConfigError` with the numbers when the
estimate exceeds the device's memory (physical memory or the cgroup limit; a GPU's total
memory), so a configuration that cannot run is refused in a second instead of failing
minutes later in an allocation. :func:`thread_count` caps ``--threads`` at the CPUs.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import torch

from ..data import DataSplit
from ..errors import ConfigError
from ..memory import Checkpoint, Reversible, as_memory, segment_length
from .config import TrainConfig
from .multilevel import level_depth

#: optimizer states per parameter (L-BFGS: torch's history of 20 (s, y) pairs + 2 buffers)
OPTIMIZER_STATES = {"adam": 2, "sgd": 1, "lbfgs": 42, "bcd": 4}


@dataclass(frozen=True)
class Estimate:
    """``parameters`` (a count), and the bytes of the parameters with their copies and of
    the activations of one batch; ``total`` = their sum (a lower bound)."""

    parameters: int
    parameter_bytes: int
    activation_bytes: int
    batch: int

    @property
    def total(self) -> int:
        return self.parameter_bytes + self.activation_bytes


def parameter_count(config: TrainConfig, split: DataSplit, depth: int) -> int:
    """The parameters of the model :func:`stablenet.build_model` builds for ``config`` at
    ``depth`` layers per block."""
    per_layer_bias = config.bias == "feature"
    C = split.num_classes
    if not split.is_image:
        w, n = config.width, split.n_features
        opening = n * w + w if config.opening == "linear" else 0
        return depth * (w * w + (w if per_layer_bias else 1)) + opening + w * C + C
    cs = list(config.channels)
    total = split.input_shape[0] * cs[0] * 9 + 2 * cs[0]  # opening conv + batch norm
    for c in cs:
        total += depth * (c * c * 9 + (c if per_layer_bias else 1))
    total += sum(a * b + b for a, b in zip(cs[:-1], cs[1:], strict=True))  # 1x1 connectors
    return total + cs[-1] * C + C


def stored_layers(config: TrainConfig, depth: int) -> int:
    """How many layers' activations backward keeps in the config's memory mode."""
    mode = as_memory(config.memory)
    if isinstance(mode, Reversible):
        return 2
    if isinstance(mode, Checkpoint):
        k = segment_length(depth, mode.every)
        return math.ceil(depth / k) + k
    return depth + 1


def estimate(config: TrainConfig, split: DataSplit) -> Estimate:
    """The lower bound of the module docstring for a resolved ``config`` on ``split``."""
    depth = level_depth(config.depth, config.levels - 1)
    size = torch.finfo(getattr(torch, config.dtype)).bits // 8
    P = parameter_count(config, split, depth)
    copies = 3 + OPTIMIZER_STATES.get(config.optimizer, 2)
    n = split.n_train
    B = n if config.batch_size == 0 or config.batch_size >= n else config.batch_size
    components = 2 if config.arch == "hamiltonian" else 1
    if split.is_image:
        _, H, W = split.input_shape
        state = 0
        for c in config.channels:
            state += c * H * W
            H, W = max(H // 2, 1), max(W // 2, 1)
    else:
        state = config.width
    activations = 2 * components * B * state * stored_layers(config, depth)
    return Estimate(P, P * copies * size, activations * size, B)


def memory_limit(device: torch.device) -> tuple[int, str] | None:
    """(bytes, what they are) of the memory a run on ``device`` can use, or None if unknown."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return props.total_memory, f"the GPU memory of the {props.name}"
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return None
    limit, what = physical, "the memory of this machine"
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                value = int(f.read().strip())
        except (OSError, ValueError):  # absent, or "max"
            continue
        if value < limit:
            limit, what = value, "the memory limit of this container"
    return limit, what


def size(n: float) -> str:
    """Bytes in readable units (kB = 1000 B)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_fits(config: TrainConfig, split: DataSplit, device: torch.device) -> Estimate:
    """ConfigError when the :func:`estimate` of ``config`` exceeds ``device``'s memory."""
    est = estimate(config, split)
    known = memory_limit(device)
    if known is None or est.total <= known[0]:
        return est
    limit, what = known
    depth = level_depth(config.depth, config.levels - 1)
    shape = "--channels" if split.is_image else "--width"
    fixes = [f"a smaller {shape}, --depth or --levels (parameters)"]
    if est.activation_bytes > est.parameter_bytes:
        fixes.insert(0, "a smaller --batch-size, or --checkpoint K / --reversible (activations)")
    raise ConfigError(
        f"this configuration needs at least {size(est.total)} of memory, but {what} is "
        f"{size(limit)}: {est.parameters:,} parameters at depth {depth} take "
        f"{size(est.parameter_bytes)} with their gradients, best copy and {config.optimizer} "
        f"state, and the activations of a batch of {est.batch} take "
        f"{size(est.activation_bytes)}; use " + ", or ".join(fixes)
    )


def thread_count(n: int) -> int:
    """``n`` torch threads, at most the CPUs this process may use (with a warning)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    if n > cpus:
        warnings.warn(f"--threads {n} is more than the {cpus} CPUs this process can use; "
                      f"using {cpus}", RuntimeWarning, stacklevel=2)
        return cpus
    return n
