"""The training configuration: every option of ``stablenet train``, checked and resolved.

:class:`TrainConfig` holds the options as given (``None`` = "use the default");
:func:`resolve` fills the defaults for a dataset (see :data:`DEFAULTS_2D`,
:data:`DEFAULTS_IMAGE`, :data:`DEFAULTS_USER`) and :func:`check` raises
:class:`~stablenet.errors.ConfigError` / ``ConfigTypeError`` with a clear message for a
bad value. ``epochs`` counts epochs *per level* of multilevel training (one number for
every level, or a list with one per level).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from ..activations import ACTIVATIONS
from ..blocks import BIAS_MODES
from ..checks import at_most, choice, integer, nonnegative_real, positive_real, shown
from ..configfile import read_config, unknown_keys
from ..errors import ConfigError, ConfigTypeError
from ..layers import default_gamma
from ..memory import MemorySpec, as_memory, from_legacy
from ..models import OPENINGS
from ..preprocessing import STANDARDIZE
from ..registry import ARCHITECTURES
from ..schemes import integrator_for
from ..timegrid import INITS
from .defaults import (
    DEFAULT_INTEGRATOR,
    DEFAULT_LR,
    DEFAULTS_2D,
    DEFAULTS_IMAGE,
    DEFAULTS_USER,
    DEVICES,
    DTYPES,
    IMAGE_DATASETS,
    OPTIMIZERS,
    PAPER_PROBLEMS,
    SCHEDULES,
    user_width,
)
from .gpu import check_for_data, check_gpu_options
from .metric import METRICS

#: run-log formats (``log``): the CSV logs are always written, TensorBoard's on request
LOGS = ("csv", "tensorboard")


@dataclass
class TrainConfig:
    """Options of a training run; ``None`` fields are filled by :func:`resolve`.

    ``width`` is the feature width of dense networks (the inputs are zero-padded to it),
    ``channels`` the per-stage channels of image networks. ``batch_size`` 0 means full
    batch. ``limit_train`` / ``limit_val`` keep a seeded random subset of the data.
    ``max_grad_norm``: a gradient norm above it counts as divergence. ``memory`` is the
    blocks' activation-memory mode: ``Store()``, ``Checkpoint(every=k)``, ``Reversible()``
    (see ``stablenet.memory``) or a mode's name, held in the readable form
    ``{"mode": "checkpoint", "every": k}`` (what checkpoints and metrics.json record).
    ``threads``: torch CPU threads during the run (0 = leave torch's setting); small dense
    networks run far faster on 1 thread (no waiting on busy cores), their default.
    ``compile``: a ``torch.compile`` backend (``"inductor"``, the CLI's ``--compile``) for
    the training steps (adam, sgd, lbfgs; evaluation stays eager); None: eager.
    ``autocast`` (``"bf16"``), ``channels_last``, ``cuda_graphs``: the speed options for a
    GPU of :mod:`stablenet.train.gpu` (bf16 forward in the training steps, channels-last
    images, the step captured in CUDA graphs).
    ``log``: the run directory always gets ``log_steps.csv`` and ``log_epochs.csv``
    (:mod:`stablenet.train.runlog`); ``"tensorboard"`` adds TensorBoard event files in
    ``DIR/tensorboard`` (needs the ``tensorboard`` package).
    ``standardize``: ``"features"`` standardises each input feature with the training
    split's mean and std, stored in the model (the default for a user's feature data);
    ``"none"`` (the default for the paper's problems, whose results it would change, and
    for images, which are scaled to [0, 1] instead).
    """

    dataset: str = "ellipses"
    arch: str = "hamiltonian"
    width: int | None = None
    channels: list[int] | None = None
    depth: int | None = None
    T: float | None = None
    levels: int | None = None
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    integrator: str | None = None
    init: str = "smooth"
    metric: str = "sobolev"
    activation: str = "tanh"
    opening: str = "pad"
    bias: str | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float = 0.9
    schedule: str | None = None
    epochs: int | list[int] | None = None
    batch_size: int | None = None
    seed: int = 0
    data_root: str | None = None
    limit_train: int | None = None
    limit_val: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    max_grad_norm: float = 1e6
    memory: MemorySpec = "store"
    threads: int | None = None
    compile: str | None = None
    autocast: str | None = None
    channels_last: bool = False
    cuda_graphs: bool = False
    standardize: str | None = None
    log: str = "csv"

    def __post_init__(self) -> None:
        try:  # keep the memory mode in its readable form, {"mode": "checkpoint", "every": k}
            self.memory = as_memory(self.memory).to_config()
        except (ConfigError, ConfigTypeError):
            pass  # left as given: check() reports it with the flags' names

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def epochs_at(self, level: int) -> int:
        """Epochs of level ``level`` (0-based): ``epochs``, or its entry for that level."""
        e = self.epochs
        return e[min(level, len(e) - 1)] if isinstance(e, (list, tuple)) else e

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config of :meth:`to_dict`; also reads checkpoints written before the memory
        mode was one option (``memory`` a name, the segment length ``checkpoint_segment``)."""
        data = dict(data)
        if "checkpoint_segment" in data:
            data["memory"] = from_legacy(data.get("memory", "store"),
                                         data.pop("checkpoint_segment")).to_config()
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(names)}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """The config in a settings file (TOML, JSON or YAML, see
        :mod:`stablenet.configfile`; e.g. what ``stablenet train --dry-run`` printed),
        with ``overrides`` on top."""
        return cls.from_dict({**options_from_file(path), **overrides})


def options_from_file(path: str | os.PathLike) -> dict[str, Any]:
    """The training options in a settings file, their names checked (ConfigError naming
    the file and the unknown ones); the values are checked by :func:`check`."""
    data = read_config(path)
    known = {f.name for f in dataclasses.fields(TrainConfig)} | {"checkpoint_segment"}
    unknown_keys(data, known, path, "training option")  # (checkpoint_segment: older files)
    return data


#: the command-line flag of each option checked here (the name every message uses)
FLAGS = {"T": "--T (the final time)", "memory": "--reversible / --checkpoint K"}
#: options that are choices from a table: (what the value is, the table)
CHOICES: dict[str, tuple[str, tuple]] = {
    "arch": ("architecture", ARCHITECTURES), "activation": ("activation", tuple(ACTIVATIONS)),
    "init": ("initialisation", tuple(INITS)), "metric": ("metric", METRICS),
    "opening": ("opening", OPENINGS), "bias": ("bias", BIAS_MODES),
    "optimizer": ("optimizer", OPTIMIZERS), "schedule": ("learning-rate schedule", SCHEDULES),
    "device": ("device", DEVICES), "dtype": ("dtype", DTYPES),
    "standardize": ("standardization", STANDARDIZE), "log": ("log format", LOGS),
}
#: integer options and their smallest allowed value
INTEGERS = {"width": 1, "depth": 1, "levels": 1, "limit_train": 1,
            "limit_val": 1, "batch_size": 0, "seed": 0, "threads": 0}
#: integer options and their largest allowed value (a seed is a signed 64-bit integer)
MAXIMA = {"seed": 2**63 - 1}
POSITIVE_REALS = ("T", "lr", "max_grad_norm")
#: the deepest network multilevel training may reach: depth * 2^(levels - 1)
MAX_DEPTH = 2**16
NONNEGATIVE_REALS = ("alpha", "beta", "gamma", "momentum")


def flag(name: str) -> str:
    """The command-line flag of the option ``name`` (``batch_size`` -> ``--batch-size``)."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def check(config: TrainConfig) -> TrainConfig:
    """Raise ConfigError / ConfigTypeError naming the first bad option by its flag; ``None``
    is allowed. This is where every option of ``stablenet train`` is checked."""
    c = config
    if not isinstance(c.dataset, str) or not c.dataset.strip():
        raise ConfigError("--dataset must name a dataset or a .npz / .csv file")
    for name, (what, table) in CHOICES.items():
        if getattr(c, name) is not None:
            choice(what, getattr(c, name), table, flag(name))
    for name, minimum in INTEGERS.items():
        if getattr(c, name) is not None:
            integer(flag(name), getattr(c, name), minimum, MAXIMA.get(name))
    if c.epochs is not None:
        _check_epochs(c)
    try:
        as_memory(c.memory)
    except (ConfigError, ConfigTypeError) as err:
        raise type(err)(f"the memory mode ({flag('memory')}): {err}") from None
    if c.channels is not None:
        if not isinstance(c.channels, (list, tuple)) or not c.channels:
            raise ConfigError(f"--channels must be a non-empty list of integers, got {c.channels}")
        for ch in c.channels:
            integer("--channels entries", ch, 1)
    for name in POSITIVE_REALS:
        if getattr(c, name) is not None:
            positive_real(flag(name), getattr(c, name))
    for name in NONNEGATIVE_REALS:
        if getattr(c, name) is not None:
            nonnegative_real(flag(name), getattr(c, name))
    if c.integrator is not None and isinstance(c.arch, str):
        try:
            integrator_for(c.arch, c.integrator)
        except ConfigError as err:
            raise ConfigError(f"--integrator: {err}") from None
    if c.momentum is not None and c.momentum >= 1:
        raise ConfigError(f"--momentum must be in [0, 1), got {c.momentum}")
    if c.compile is not None:
        _check_compile(c)
    check_gpu_options(c)
    if c.log == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("--log tensorboard needs the tensorboard package: pip install "
                          "tensorboard (or stablenet[tensorboard]); the CSV logs are written "
                          "without it")
    _check_sizes(c)
    return config


def _check_sizes(c: TrainConfig) -> None:
    """The finest depth within MAX_DEPTH (without computing 2^levels for a huge --levels),
    and every real option representable in the run's dtype (a larger one overflows in the
    first step, e.g. Adam's update with --lr 1e39 in float32)."""
    most = int(math.log2(MAX_DEPTH)) + 1  # levels that reach MAX_DEPTH from depth 1
    if c.levels is not None and c.levels > most:
        raise ConfigError(f"--levels {shown(c.levels)} would double the depth "
                          f"{shown(c.levels - 1)} times; keep depth * 2^(levels-1) <= "
                          f"{MAX_DEPTH} (--levels {most} at most)")
    if c.levels is not None and c.depth is not None and c.depth * 2 ** (c.levels - 1) > MAX_DEPTH:
        raise ConfigError(
            f"--depth {shown(c.depth)} with --levels {c.levels} would reach depth "
            f"{shown(c.depth * 2 ** (c.levels - 1))}; keep depth * 2^(levels-1) <= {MAX_DEPTH}"
        )
    dtype = c.dtype if c.dtype in DTYPES else "float32"
    largest = torch.finfo(getattr(torch, dtype)).max
    why = f" (the largest {dtype}; a larger value overflows at the first step)"
    for name in POSITIVE_REALS + NONNEGATIVE_REALS:
        if getattr(c, name) is not None:
            at_most(flag(name), getattr(c, name), largest, why)
    if c.T is not None:  # the layer times j T / N of the weights K(t) must stay finite
        at_most(flag("T"), c.T, largest / MAX_DEPTH, f" (the largest {dtype} over "
                f"{MAX_DEPTH} layers, so that the layer times j T / N are representable)")
    if c.arch == "leapfrog" and c.T is not None and c.depth is not None and (
            (c.T / c.depth) ** 2 > largest):
        raise ConfigError(f"--T (the final time) {c.T:g} at --depth {c.depth} gives h^2 = "
                          f"{(c.T / c.depth) ** 2:.3g}, which leapfrog's update h^2 K^T "
                          f"sigma(K y + b) cannot represent in {dtype}; use a smaller --T")


def _check_epochs(c: TrainConfig) -> None:
    """An integer, or one integer per level (``--epochs 30,3,3``), each positive."""
    if not isinstance(c.epochs, (list, tuple)):
        integer("--epochs", c.epochs, 1)
        return
    if not c.epochs:
        raise ConfigError("--epochs must be a positive integer or one per level, got []")
    for e in c.epochs:
        integer("--epochs entries", e, 1)
    if c.levels is not None and len(c.epochs) != c.levels:
        raise ConfigError(f"--epochs lists {len(c.epochs)} values for --levels {c.levels}; "
                          "give one value (every level) or one per level")


def _check_compile(c: TrainConfig) -> None:
    if not isinstance(c.compile, str):
        raise ConfigTypeError(f"--compile takes a torch.compile backend name, got {c.compile!r}")
    if c.optimizer == "bcd":
        raise ConfigError("--compile does not apply to --optimizer bcd (block coordinate "
                          "descent solves its own subproblems); use adam, sgd or lbfgs")
    import torch._dynamo  # lazily: importing dynamo costs about a second

    backends = torch._dynamo.list_backends(exclude_tags=())
    choice("torch.compile backend", c.compile, tuple(backends), "--compile")


def dataset_kind(dataset: str, is_image: bool) -> str:
    """``"2d"`` for the paper's problems, ``"image"`` for image data, else ``"user"``."""
    if dataset in PAPER_PROBLEMS:
        return "2d"
    return "image" if is_image or dataset in IMAGE_DATASETS else "user"


def defaults_for(dataset: str, is_image: bool, n_features: int) -> dict[str, Any]:
    """The defaults for a dataset (see the module docstring); ``width`` fits the features."""
    kind = dataset_kind(dataset, is_image)
    table = {"2d": DEFAULTS_2D, "image": DEFAULTS_IMAGE, "user": DEFAULTS_USER}[kind]
    out = dict(table)
    if kind != "image" and out.get("width") is None:
        out["width"] = user_width(n_features)
    out.setdefault("standardize", "features" if kind == "user" else "none")
    return out


def resolve(config: TrainConfig, is_image: bool, n_features: int) -> TrainConfig:
    """Fill every ``None`` option from :func:`defaults_for` and :func:`check` the result.

    A learning rate or schedule left unset follows the optimizer: the dataset's default
    when the optimizer is the dataset's default one, else :data:`DEFAULT_LR` and
    ``"none"`` (L-BFGS, BCD) or ``"cosine"`` (Adam, SGD). An unset ``gamma`` is
    :func:`stablenet.layers.default_gamma` of the resolved T and the integrator (2 / T; 0
    under the midpoint rule); an unset ``integrator`` is :data:`DEFAULT_INTEGRATOR`'s
    (midpoint for the antisymmetric network), else the architecture's own.
    """
    check(config)
    defaults = defaults_for(config.dataset, is_image, n_features)
    values = config.to_dict()
    optimizer = values["optimizer"] = config.optimizer or defaults["optimizer"]
    if optimizer != defaults["optimizer"]:
        defaults["lr"] = DEFAULT_LR[optimizer]
        defaults["schedule"] = "none" if optimizer in ("lbfgs", "bcd") else "cosine"
    if is_image and config.width is not None:
        defaults["channels"] = [config.width]  # --width W on images: one stage of W channels
    for key, value in defaults.items():
        if values.get(key) is None:
            values[key] = value
    if values["integrator"] is None:
        values["integrator"] = DEFAULT_INTEGRATOR.get(config.arch,
                                                      integrator_for(config.arch).name)
    if values["gamma"] is None:  # the antisymmetric damping follows T and the integrator
        stepper = integrator_for(config.arch, values["integrator"])
        values["gamma"] = default_gamma(values["T"],
                                        stepper if config.arch == "antisymmetric" else None)
    resolved = check(TrainConfig.from_dict(values))
    check_for_data(resolved, is_image)
    if is_image and resolved.standardize == "features":
        raise ConfigError("--standardize features applies to feature vectors; images are "
                          "scaled to [0, 1] and normalised by the network's batch norm "
                          "(use --standardize none)")
    if not is_image and resolved.opening == "pad" and resolved.width < n_features:
        raise ConfigError(
            f"width {resolved.width} is smaller than the {n_features} input features; the "
            f"'pad' opening needs --width >= {n_features} (or use --opening linear)"
        )
    return resolved
