"""Preprocessing that belongs to the model: input standardisation and what a model knows
about its data.

:class:`Standardize` is the first stage of a dense model (``model.preprocess``):
x -> (x - mu) / s per feature, with mu and s the mean and standard deviation of the
*training* split (:meth:`Standardize.fit`), held as buffers so that ``state_dict``,
:func:`stablenet.save` / :func:`stablenet.load`, checkpoints and every command that
evaluates or analyses the model apply them. A feature that is constant in the training
split (s <= 1e-6 max |x_j|, i.e. at float32 resolution) gets s = 1: it is centred, not
blown up. Images keep their own normalisation (8-bit values divided by 255 into [0, 1]
when read; the image network's opening has batch norm); that scaling is recorded in the
model's ``data_info["input_scaling"]``.

``data_info`` (a JSON-ready dict in ``model.config``): ``classes`` (the user's label of
each class index, or None), ``feature_names`` and ``label_name`` (of a CSV table with a
header), ``input_scaling`` (``"uint8/255"`` or None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .errors import ConfigError

#: values of ``standardize``: per-feature standardisation, or none
STANDARDIZE = ("features", "none")
#: a feature whose std is at most this fraction of its largest |value| counts as constant
CONSTANT_TOLERANCE = 1e-6
DATA_INFO_KEYS = ("classes", "feature_names", "label_name", "input_scaling")
INPUT_SCALINGS = (None, "uint8/255")


class Standardize(nn.Module):
    """y = (x - mean) / std over the last axis; ``mean``, ``std``: buffers ``[F]``.

    Until :meth:`fit` is called it is the identity (mean 0, std 1).
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    @torch.no_grad()
    def fit(self, x: Tensor) -> list[int]:
        """Set mean and (population) std from ``x: [N, F]`` (computed in float64); return
        the indices of the constant features, whose std is set to 1."""
        if x.dim() != 2 or x.shape[1] != self.mean.numel() or x.shape[0] == 0:
            raise ConfigError(f"Standardize.fit needs [N >= 1, {self.mean.numel()}] inputs, "
                              f"got {tuple(x.shape)}")
        x64 = x.detach().to(device="cpu", dtype=torch.float64)
        mean, std = x64.mean(0), x64.std(0, correction=0)
        scale = x64.abs().amax(0)
        constant = std <= CONSTANT_TOLERANCE * scale
        std = torch.where(constant, torch.ones_like(std), std)
        self.mean.copy_(mean)
        self.std.copy_(std)
        return constant.nonzero().flatten().tolist()

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"{self.mean.numel()} features"


def make_preprocess(standardize: str, input_shape: Sequence[int]) -> nn.Module:
    """The ``preprocess`` stage of a model: :class:`Standardize` or the identity."""
    if standardize not in STANDARDIZE:
        raise ConfigError(f"unknown standardize {standardize!r}; choose one of {STANDARDIZE}")
    if standardize == "none":
        return nn.Identity()
    if len(input_shape) != 1:
        raise ConfigError(
            "standardize='features' applies to feature vectors [N, F]; images keep their own "
            "scaling ([0, 1]) and the image network's batch norm. Use standardize='none'"
        )
    return Standardize(int(input_shape[0]))


def fit_preprocess(model: nn.Module, x_train: Tensor) -> list[int]:
    """Fit ``model.preprocess`` on the training inputs (a no-op unless it is Standardize);
    return the constant features."""
    pre = getattr(model, "preprocess", None)
    return pre.fit(x_train) if isinstance(pre, Standardize) else []


def check_data_info(info: Any, num_classes: int, input_shape: Sequence[int]) -> dict | None:
    """``info`` checked (ConfigError naming the bad entry) and normalised; None stays None."""
    if info is None:
        return None
    if not isinstance(info, dict) or set(info) - set(DATA_INFO_KEYS):
        raise ConfigError(f"data_info must be a dict with keys among {DATA_INFO_KEYS}, got "
                          f"{info!r}")
    out = {k: info.get(k) for k in DATA_INFO_KEYS}
    classes = out["classes"]
    if classes is not None:
        ok = isinstance(classes, (list, tuple)) and len(classes) == num_classes and all(
            isinstance(c, (int, str)) and not isinstance(c, bool) for c in classes)
        if not ok or len(set(classes)) != len(classes):
            raise ConfigError(f"data_info['classes'] must be {num_classes} distinct int or str "
                              f"labels, got {classes!r}")
        out["classes"] = list(classes)
    names = out["feature_names"]
    if names is not None:
        if (not isinstance(names, (list, tuple)) or len(input_shape) != 1
                or len(names) != input_shape[0] or not all(isinstance(n, str) for n in names)):
            raise ConfigError(f"data_info['feature_names'] must be {list(input_shape)} strings, "
                              f"got {names!r}")
        out["feature_names"] = list(names)
    if out["label_name"] is not None and not isinstance(out["label_name"], str):
        raise ConfigError(f"data_info['label_name'] must be a string, got {out['label_name']!r}")
    if out["input_scaling"] not in INPUT_SCALINGS:
        raise ConfigError(f"data_info['input_scaling'] must be one of {INPUT_SCALINGS}, got "
                          f"{out['input_scaling']!r}")
    return out


def class_names(model: nn.Module) -> list[int | str]:
    """The user's label of each class of ``model`` (the class indices when it has none)."""
    config = getattr(model, "config", {}) or {}
    info = config.get("data_info") or {}
    classes = info.get("classes")
    return list(classes) if classes is not None else list(range(int(config["num_classes"])))
