"""Everything a run needs before the first step: data, resolved config, device, model.

* :func:`load_data`: the dataset of ``config.dataset`` via :func:`stablenet.data.load_dataset`
  (seeded), cut to a seeded random subset when ``limit_train`` / ``limit_val`` are set
  (:func:`stablenet.data.subsample`, which checks the subset again).
* :func:`torch_setup`: the ``torch.device`` and dtype of the config (CUDA checked).
* :func:`build`: the model of the config at level ``level`` (depth ``depth * 2**level``),
  its input standardisation fitted on the training split (channels-last with
  ``--channels-last``).
* :func:`stability_warnings`: the stability analysis' warnings on the initial weights.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ..analysis import check_stability
from ..data import DataSplit, load_dataset, subsample
from ..data.split import note
from ..errors import ConfigError
from ..interfaces import StableModel
from ..preprocessing import fit_preprocess
from ..registry import build_model
from .config import TrainConfig
from .distributed import local_device
from .gpu import to_channels_last
from .multilevel import level_depth
from .resources import check_fits


def load_data(config: TrainConfig) -> DataSplit:
    """Load (and optionally subsample) the data of ``config``."""
    split = load_dataset(config.dataset, data_root=config.data_root, seed=config.seed)
    return subsample(split, config.limit_train, config.limit_val, config.seed)


def torch_setup(config: TrainConfig) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of ``config``; ConfigError when CUDA is asked for but missing."""
    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was given but CUDA is not available; use --device cpu")
    # under torchrun each rank drives its own GPU, cuda:LOCAL_RANK
    return torch.device(local_device(config.device)), getattr(torch, config.dtype)


def model_kwargs(config: TrainConfig, split: DataSplit, level: int = 0) -> dict[str, Any]:
    """The keyword arguments of :func:`stablenet.build_model` for ``config`` at ``level``."""
    depth = level_depth(config.depth, level)
    kwargs: dict[str, Any] = dict(
        arch=config.arch, input_shape=split.input_shape, num_classes=split.num_classes,
        width=list(config.channels) if split.is_image else config.width, depth=depth,
        T=config.T, activation=config.activation, bias=config.bias, gamma=config.gamma,
        opening="pad" if split.is_image else config.opening, memory=config.memory,
        init=config.init, integrator=config.integrator,
        standardize=config.standardize or "none", data_info=split.data_info(),
    )
    return kwargs


def build(config: TrainConfig, split: DataSplit, level: int = 0) -> StableModel:
    """The model of ``config`` at ``level``, on the config's device and dtype (refused
    first when the configuration cannot fit in memory: :func:`.resources.check_fits`)."""
    device, dtype = torch_setup(config)
    check_fits(config, split, device)
    model = build_model(**model_kwargs(config, split, level))
    constant = fit_preprocess(model, split.x_train)
    if constant:
        names = split.feature_names or [f"column {j + 1}" for j in range(split.n_features)]
        shown = ", ".join(repr(names[j]) for j in constant[:8]) + (", ..." * (len(constant) > 8))
        note(f"feature(s) {shown} are constant in the training split; they are centred, not "
             "scaled (their std is taken as 1)")
    model = model.to(device=device, dtype=dtype)
    return to_channels_last(model) if config.channels_last else model


def stability_warnings(model: StableModel, x: torch.Tensor) -> list[str]:
    """Messages of ``stablenet.analysis.check_stability`` on the initial ``model``.

    Dense models are checked along the states of a few examples of ``x``; image models
    on their weights alone, by a short Arnoldi iteration on 4 x 4 images (the exact
    Jacobians of conv layers cost seconds to minutes).
    """
    image = x.dim() == 4
    kwargs: dict[str, Any] = dict(image_size=4, arnoldi_steps=20, exact_max=0) if image else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_stability(model, None if image else x, **kwargs)
    return [str(w.message) for w in caught]
