"""The speed options of a run for a GPU: bf16 autocast, channels-last images, CUDA graphs.

* ``autocast="bf16"``: the training steps' forward runs under
  ``torch.autocast(device_type, dtype=torch.bfloat16)`` (matrix products and convolutions
  in bf16, the weights stay float32), the loss in float32 (cross-entropy on the logits
  cast to float32, plus R); validation and evaluation run in full precision. Reversible
  mode rebuilds the states in the weights' float32 (its drift guard's float64 redo as
  before). Works on CPU too; refused with float64 (there is nothing to gain) and with
  ``--optimizer bcd``.
* ``channels_last``: image data and the model's 4-D convolution weights in
  ``torch.channels_last`` memory format (the stable blocks' states follow their input);
  values do not change. Refused for feature data.
* ``cuda_graphs``: the model of the training steps compiled with
  ``torch.compile(backend="inductor", mode="reduce-overhead", dynamic=False)``, which
  captures forward and backward in CUDA graphs (static shapes: each batch size, e.g. a
  smaller last batch, gets its own graph). Needs ``--device cuda``; refused with another
  ``--compile`` backend, with ``--optimizer bcd`` and under torchrun.

The training data are held on the run's device from the start (``DataSplit.to`` in the
trainer), so batches are indexed there without host-to-device copies.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from ..checks import choice
from ..data import DataSplit
from ..errors import ConfigError, ConfigTypeError

#: ``--autocast`` names and their dtypes
AUTOCAST = {"bf16": torch.bfloat16}


def check_gpu_options(c: Any) -> None:
    """ConfigError / ConfigTypeError for a bad or incompatible speed option of config ``c``
    (a :class:`~stablenet.train.config.TrainConfig`); None / False are allowed."""
    for name in ("channels_last", "cuda_graphs"):
        if not isinstance(getattr(c, name), bool):
            raise ConfigTypeError(f"--{name.replace('_', '-')} is true or false, got "
                                  f"{getattr(c, name)!r}")
    if c.autocast is not None:
        choice("autocast dtype", c.autocast, tuple(AUTOCAST), "--autocast")
        if c.dtype == "float64":
            raise ConfigError(f"--autocast {c.autocast} computes in half precision, which "
                              "--dtype float64 asks not to; use --dtype float32 with "
                              "--autocast, or drop --autocast")
        if c.optimizer == "bcd":
            raise ConfigError("--autocast does not apply to --optimizer bcd (block coordinate "
                              "descent solves its own subproblems); use adam, sgd or lbfgs")
    if c.cuda_graphs:
        _check_cuda_graphs(c)


def _check_cuda_graphs(c: Any) -> None:
    if c.device != "cuda":
        raise ConfigError("--cuda-graphs captures the training step in CUDA graphs and needs "
                          f"a GPU: add --device cuda (the run is on --device {c.device}), or "
                          "drop --cuda-graphs (it is for GPUs)")
    if c.compile is not None and c.compile != "inductor":
        raise ConfigError(f"--cuda-graphs compiles the step with the inductor backend (mode "
                          f"'reduce-overhead'); --compile {c.compile} names another backend: "
                          "drop --compile, or use --compile inductor")
    if c.optimizer == "bcd":
        raise ConfigError("--cuda-graphs does not apply to --optimizer bcd (block coordinate "
                          "descent solves its own subproblems); use adam, sgd or lbfgs")


def check_for_data(c: Any, is_image: bool) -> None:
    """ConfigError for ``channels_last`` on feature data (2-D inputs)."""
    if c.channels_last and not is_image:
        raise ConfigError(f"--channels-last is a memory format of images ([B, C, H, W]); "
                          f"{c.dataset} holds feature vectors: drop --channels-last")


def autocast_dtype(c: Any) -> torch.dtype | None:
    """The dtype the training steps' forward autocasts to (None: no autocast)."""
    return AUTOCAST[c.autocast] if c.autocast is not None else None


def to_channels_last(model: nn.Module) -> nn.Module:
    """``model`` with its 4-D parameters and buffers (convolution weights) in
    ``torch.channels_last`` format, in place (values unchanged)."""
    for t in (*model.parameters(), *model.buffers()):
        if t.dim() == 4:
            t.data = t.data.contiguous(memory_format=torch.channels_last)
    return model


def data_channels_last(split: DataSplit) -> DataSplit:
    """``split`` with its image inputs in ``torch.channels_last`` format."""
    def cl(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x

    return dataclasses.replace(split, x_train=cl(split.x_train), x_val=cl(split.x_val))


def compiled_step_model(model: nn.Module, c: Any) -> nn.Module:
    """The model the training steps call: compiled for ``cuda_graphs`` (see the module
    docstring) or with the ``compile`` backend, else ``model`` itself."""
    if c.cuda_graphs:
        return torch.compile(model, backend="inductor", mode="reduce-overhead", dynamic=False)
    if c.compile is not None:
        return torch.compile(model, backend=c.compile)
    return model


def mark_step(c: Any) -> None:
    """Tell CUDA graph trees that a new training step begins (with ``cuda_graphs``)."""
    if c.cuda_graphs:
        torch.compiler.cudagraph_mark_step_begin()
