"""The training configuration: every option of ``stablenet train``, checked and resolved.

:class:`TrainConfig` holds the options as given (``None`` = "use the default");
:func:`resolve` fills the defaults for a dataset (see :data:`DEFAULTS_2D`,
:data:`DEFAULTS_IMAGE`, :data:`DEFAULTS_USER`) and :func:`check` raises
:class:`~stablenet.errors.ConfigError` / ``ConfigTypeError`` with a clear message for a
bad value. ``epochs`` counts epochs *per level* of multilevel training.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..activations import ACTIVATIONS
from ..errors import ConfigError, ConfigTypeError
from ..models import OPENINGS
from ..preprocessing import STANDARDIZE
from ..registry import ARCHITECTURES
from ..timegrid import INITS
from .defaults import (
    BIASES,
    DEFAULT_LR,
    DEFAULTS_2D,
    DEFAULTS_IMAGE,
    DEFAULTS_USER,
    DEVICES,
    DTYPES,
    IMAGE_DATASETS,
    MEMORY,
    OPTIMIZERS,
    PAPER_PROBLEMS,
    SCHEDULES,
    user_width,
)
from .metric import METRICS


@dataclass
class TrainConfig:
    """Options of a training run; ``None`` fields are filled by :func:`resolve`.

    ``width`` is the feature width of dense networks (the inputs are zero-padded to it),
    ``channels`` the per-stage channels of image networks. ``batch_size`` 0 means full
    batch. ``limit_train`` / ``limit_val`` keep a seeded random subset of the data.
    ``max_grad_norm``: a gradient norm above it counts as divergence. ``memory`` and
    ``checkpoint_segment`` choose the blocks' activation-memory mode ("store",
    "reversible", or "checkpoint" keeping every k-th state; see ``stablenet.memory``).
    ``threads``: torch CPU threads during the run (0 = leave torch's setting); small dense
    networks run far faster on 1 thread (no waiting on busy cores), their default.
    ``compile``: a ``torch.compile`` backend (``"inductor"``, the CLI's ``--compile``) for
    the training steps (adam, sgd, lbfgs; evaluation stays eager); None: eager.
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
    gamma: float = 2e-4
    init: str = "smooth"
    metric: str = "sobolev"
    activation: str = "tanh"
    opening: str = "pad"
    bias: str | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float = 0.9
    schedule: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    data_root: str | None = None
    limit_train: int | None = None
    limit_val: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    max_grad_norm: float = 1e6
    memory: str = "store"
    checkpoint_segment: int | None = None
    threads: int | None = None
    compile: str | None = None
    standardize: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(names)}")
        return cls(**data)


def _choice(name: str, value: object, choices: tuple, flag: str) -> None:
    if value is not None and value not in choices:
        raise ConfigError(f"unknown {name} {value!r} for {flag}; choose one of {list(choices)}")


def _int(name: str, value: object, minimum: int = 1) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigTypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ConfigError(f"{name} must be {kind}, got {value}")


def _real(name: str, value: object, positive: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigTypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")


def check(config: TrainConfig) -> TrainConfig:
    """Raise ConfigError / ConfigTypeError naming the first bad option; ``None`` is allowed."""
    c = config
    if not isinstance(c.dataset, str) or not c.dataset.strip():
        raise ConfigError("--dataset must name a dataset or a .npz / .csv file")
    _choice("architecture", c.arch, ARCHITECTURES, "--arch")
    _choice("activation", c.activation, tuple(ACTIVATIONS), "--activation")
    _choice("initialisation", c.init, tuple(INITS), "--init")
    _choice("metric", c.metric, METRICS, "--metric")
    _choice("opening", c.opening, OPENINGS, "--opening")
    _choice("bias", c.bias, BIASES, "--bias")
    _choice("optimizer", c.optimizer, OPTIMIZERS, "--optimizer")
    _choice("learning-rate schedule", c.schedule, SCHEDULES, "--schedule")
    _choice("device", c.device, DEVICES, "--device")
    _choice("dtype", c.dtype, DTYPES, "--dtype")
    _choice("memory mode", c.memory, MEMORY, "--memory")
    _choice("standardization", c.standardize, STANDARDIZE, "--standardize")
    for name in ("width", "depth", "levels", "epochs", "limit_train", "limit_val"):
        _int(f"--{name.replace('_', '-')}", getattr(c, name))
    _int("--batch-size", c.batch_size, minimum=0)
    _int("--seed", c.seed, minimum=0)
    _int("--threads", c.threads, minimum=0)
    _int("--checkpoint", c.checkpoint_segment)
    if c.channels is not None:
        if not isinstance(c.channels, (list, tuple)) or not c.channels:
            raise ConfigError(f"--channels must be a non-empty list of integers, got {c.channels}")
        for ch in c.channels:
            _int("--channels entries", ch)
    _real("--T (the final time)", c.T, positive=True)
    _real("--lr", c.lr, positive=True)
    _real("--max-grad-norm", c.max_grad_norm, positive=True)
    for name in ("alpha", "beta", "gamma", "momentum"):
        _real(f"--{name}", getattr(c, name))
    if c.momentum is not None and c.momentum >= 1:
        raise ConfigError(f"--momentum must be in [0, 1), got {c.momentum}")
    if c.compile is not None:
        _check_compile(c)
    if c.levels is not None and c.depth is not None and c.depth * 2 ** (c.levels - 1) > 2**16:
        raise ConfigError(
            f"--depth {c.depth} with --levels {c.levels} would reach depth "
            f"{c.depth * 2 ** (c.levels - 1)}; keep depth * 2^(levels-1) <= 65536"
        )
    return config


def _check_compile(c: TrainConfig) -> None:
    if not isinstance(c.compile, str):
        raise ConfigTypeError(f"--compile takes a torch.compile backend name, got {c.compile!r}")
    if c.optimizer == "bcd":
        raise ConfigError("--compile does not apply to --optimizer bcd (block coordinate "
                          "descent solves its own subproblems); use adam, sgd or lbfgs")
    import torch._dynamo  # lazily: importing dynamo costs about a second

    backends = torch._dynamo.list_backends(exclude_tags=())
    _choice("torch.compile backend", c.compile, tuple(backends), "--compile")


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
    ``"none"`` (L-BFGS, BCD) or ``"cosine"`` (Adam, SGD).
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
    resolved = check(TrainConfig.from_dict(values))
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
