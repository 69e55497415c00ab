"""Models around the stable blocks: opening layer -> block(s) -> classifier.

* :class:`StableClassifier` (feature vectors ``[B, n_in]``): opening (zero padding of the
  features to the width, as in the authors' code, or a learned linear layer), one stable
  block, and a linear classifier whose logits go to softmax cross-entropy
  (softmax(W^T y_N + mu), docs/theory.md 1).
* :class:`StableImageNet` (images ``[B, C, H, W]``, docs/theory.md 3.6): opening 3x3 conv +
  batch norm + ReLU, then stages [stable conv block, 1x1 connector conv widening the
  channels, 2x2 average pool] joined in sequence, global average pool, linear classifier.

Both are :class:`StableModelBase` s and so satisfy :class:`stablenet.interfaces.StableModel`:
``preprocess`` (the input standardisation of :mod:`stablenet.preprocessing`, or the
identity), ``opening``, ``blocks`` (an ``nn.ModuleList`` of their stable blocks),
``connectors``, ``classifier``, ``config`` (the keyword arguments of
:func:`stablenet.registry.build_model` that rebuild them), ``embed(x)`` =
opening(preprocess(x)) (the first block's input Y_0), ``connect`` and ``features``; the
pipeline is written once, there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import StableBlock
from .checks import choice, positive_int
from .errors import ConfigError

OPENINGS = ("pad", "linear")


class PadOpening(nn.Module):
    """Zero-pad the features of ``[B, n_in]`` to ``[B, width]`` (no parameters)."""

    def __init__(self, in_features: int, width: int) -> None:
        super().__init__()
        if width < in_features:
            raise ConfigError(
                f"width {width} is smaller than the {in_features} input features; the 'pad' "
                f"opening needs width >= {in_features} (or use opening='linear')"
            )
        self.in_features, self.width = in_features, width

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, (0, self.width - self.in_features))

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.width}"


class StableModelBase(nn.Module):
    """What both models share, the :class:`~stablenet.interfaces.StableModel` pipeline:

        features(x) = pool(connect(L-1, blocks[L-1](... connect(0, blocks[0](embed(x))))))
        embed(x)    = opening(preprocess(x))
        forward(x)  = classifier(features(x))

    Subclasses set ``preprocess``, ``opening``, ``blocks``, ``connectors``, ``classifier``
    and ``config`` and may override :meth:`connect` (what follows block i) and :meth:`pool`.
    """

    preprocess: nn.Module
    opening: nn.Module
    blocks: nn.ModuleList
    connectors: nn.ModuleList
    classifier: nn.Linear
    config: dict[str, Any]

    def connect(self, i: int, y: Tensor) -> Tensor:
        """The map between block i and block i + 1 (the identity here)."""
        return y

    def pool(self, y: Tensor) -> Tensor:
        """The map from the last block's output to the classifier's input (identity here)."""
        return y

    def check_input(self, x: Tensor) -> None:
        """ConfigError when ``x`` is not an input this model takes (see the subclasses)."""

    def embed(self, x: Tensor) -> Tensor:
        """Y_0 = opening(preprocess(x)), the input of the first stable block."""
        self.check_input(x)
        return self.opening(self.preprocess(x))

    def features(self, x: Tensor) -> Tensor:
        """The features the classifier sees."""
        y = self.embed(x)
        for i, block in enumerate(self.blocks):
            y = self.connect(i, block(y))
        return self.pool(y)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class StableClassifier(StableModelBase):
    """logits = W^T Y_N + mu with Y_N = block(embed(x)) (no connectors)."""

    def __init__(
        self, block: StableBlock, in_features: int, num_classes: int, opening: str = "pad",
        config: dict[str, Any] | None = None, preprocess: nn.Module | None = None,
    ) -> None:
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("num_classes", num_classes)
        choice("opening", opening, OPENINGS)
        self.preprocess = preprocess if preprocess is not None else nn.Identity()
        if opening == "pad":
            self.opening: nn.Module = PadOpening(in_features, block.width)
        else:
            self.opening = nn.Linear(in_features, block.width)
        self.blocks = nn.ModuleList([block])
        self.connectors = nn.ModuleList()
        self.classifier = nn.Linear(block.width, num_classes)
        self.config = dict(config or {})
        self.in_features = in_features

    def check_input(self, x: Tensor) -> None:
        """Feature vectors ``[batch, in_features]`` (or one vector ``[in_features]``)."""
        if x.dim() not in (1, 2) or x.shape[-1] != self.in_features:
            raise ConfigError(
                f"the model takes inputs [batch, {self.in_features}] ({self.in_features} "
                f"features), got shape {tuple(x.shape)}"
            )

    @property
    def block(self) -> StableBlock:
        return self.blocks[0]


class StableImageNet(StableModelBase):
    """Image network of Ruthotto & Haber, JMIV 2020 (docs/theory.md 3.6), built from conv
    stable blocks, one per stage.

    ``blocks[i]`` acts on ``channels[i]`` channels; between stages (:meth:`connect`) a 1x1
    conv widens ``channels[i] -> channels[i + 1]`` and a 2x2 average pool halves the
    resolution; :meth:`pool` is the global average over the image.
    """

    def __init__(
        self, blocks: Sequence[StableBlock], in_channels: int, num_classes: int,
        config: dict[str, Any] | None = None, preprocess: nn.Module | None = None,
    ) -> None:
        super().__init__()
        positive_int("in_channels", in_channels)
        positive_int("num_classes", num_classes)
        self.preprocess = preprocess if preprocess is not None else nn.Identity()
        channels = [blk.width for blk in blocks]  # a conv block's width is its channels
        if not channels:
            raise ConfigError("StableImageNet needs at least one stage")
        self.opening = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(),
        )
        self.blocks = nn.ModuleList(blocks)
        self.connectors = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=False)
        )
        self.classifier = nn.Linear(channels[-1], num_classes)
        self.config = dict(config or {})
        self.in_channels = in_channels

    def check_input(self, x: Tensor) -> None:
        """Images ``[batch, in_channels, H, W]`` with H, W >= 2^(stages - 1): each of the
        2x2 pools between stages halves them, and the last stage needs at least one pixel."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"the model takes images [batch, {self.in_channels}, height, width] "
                f"({self.in_channels} channel(s)), got shape {tuple(x.shape)}"
            )
        least = 2 ** len(self.connectors)
        if min(x.shape[-2:]) < least:
            raise ConfigError(
                f"images of {x.shape[-2]} x {x.shape[-1]} pixels are too small for "
                f"{len(self.blocks)} stages: each 2x2 pool between stages halves them, so "
                f"they need at least {least} x {least} (or fewer stages)"
            )

    def connect(self, i: int, y: Tensor) -> Tensor:
        """avg_pool_2x2(connector_i(y)) between stages; the identity after the last."""
        return F.avg_pool2d(self.connectors[i](y), 2) if i < len(self.connectors) else y

    def pool(self, y: Tensor) -> Tensor:
        """Global average pooling ``[B, C, H, W] -> [B, C]``."""
        return y.mean(dim=(-2, -1))


Model = StableClassifier | StableImageNet
