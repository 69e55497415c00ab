"""Predictions of a trained model, in the user's own labels: ``stablenet.predict``.

``predict(model, data)`` takes a model (a module, a ``model.pt`` or a run directory) and
inputs (a tensor or array ``[N, *input_shape]``, or a ``.csv`` / ``.npz`` / idx file or
folder, read as :func:`stablenet.data.inputs.read_inputs` says) and returns a
:class:`Prediction`: per example the most probable class and softmax(logits), with the
class names stored in the model (``model.config["data_info"]["classes"]``, else the class
indices). The model's own first stage applies its input standardisation. ``stablenet
predict MODEL DATA --out FILE`` is this call followed by :meth:`Prediction.to_csv`.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checks import positive_int
from .data.inputs import InputSpec, as_inputs, read_inputs
from .data.split import DataWarning
from .errors import CheckpointError
from .io import save_text
from .preprocessing import class_names
from .registry import load, model_file


@dataclass
class Prediction:
    """``index[i]``: predicted class of example i; ``probabilities[i, k]``: P(class k);
    ``classes[k]``: the user's label of class k; ``true``: the inputs' own labels (or None)."""

    classes: list[Any]
    index: torch.Tensor
    probabilities: torch.Tensor
    true: list[Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[Any]:
        """The predicted label of every example, in the user's labels."""
        return [self.classes[k] for k in self.index.tolist()]

    @property
    def accuracy(self) -> float | None:
        """The fraction of examples whose known label is predicted (None without labels)."""
        if self.true is None:
            return None
        known = [(p, t) for p, t in zip(self.labels, self.true, strict=True) if t in self.classes]
        return sum(p == t for p, t in known) / len(known) if known else None

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write ``predicted, p_<class>..., [label]``, one row per example (atomically)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        head = ["predicted", *(f"p_{c}" for c in self.classes)]
        writer.writerow(head + (["label"] if self.true is not None else []))
        probs = self.probabilities.tolist()
        for i, label in enumerate(self.labels):
            row = [label, *(f"{p:.6g}" for p in probs[i])]
            writer.writerow(row + ([self.true[i]] if self.true is not None else []))
        return save_text(buf.getvalue(), path)


def load_model(model: nn.Module | str | os.PathLike) -> nn.Module:
    """``model`` itself, or the model of a ``model.pt`` file or a run directory."""
    if isinstance(model, nn.Module):
        return model
    path = model_file(model)
    loaded = load(path)
    if not hasattr(loaded, "config"):
        raise CheckpointError(f"{path} holds a single block, not a classifier; predictions "
                              "need a model of stablenet.build_model or a training run")
    return loaded


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """softmax(model(x)) ``[N, C]`` in eval mode (float64 for the output), batch by batch."""
    positive_int("batch_size", batch_size)
    p = next(model.parameters())
    was = model.training
    model.eval()
    try:
        out = [torch.softmax(model(x[i:i + batch_size].to(p.device, p.dtype)).double(), dim=1).cpu()
               for i in range(0, x.shape[0], batch_size)]
    finally:
        model.train(was)
    return torch.cat(out) if out else torch.zeros(0, int(model.config["num_classes"]))


def predict(model: nn.Module | str | os.PathLike, data: Any,
            batch_size: int = 1024) -> Prediction:
    """Predict ``data`` (array or file) with ``model`` (module or file); see the module doc.

    What had to be interpreted (a column order, a scaling) is issued as a DataWarning and
    kept in ``Prediction.notes``.
    """
    model = load_model(model)
    spec = InputSpec.from_config(model.config)
    if isinstance(data, (str, os.PathLike)):
        inputs = read_inputs(data, spec)
        x, true, notes = inputs.x, inputs.labels, inputs.notes
    else:
        x, notes = as_inputs(data, spec)
        true = None
    for n in notes:
        warnings.warn(n, DataWarning, stacklevel=2)
    probs = predict_proba(model, x, batch_size)
    return Prediction(class_names(model), probs.argmax(1), probs, true, notes)
