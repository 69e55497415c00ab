"""Names the training options accept and the per-dataset defaults of :func:`resolve`.

Chosen by small experiments (see docs/results.md and docs/depth.md): the paper's 2-D
problems use tanh, T = 10 and 64 layers (h = 0.156, inside the Verlet / leapfrog stability
region h |lambda| <= 2 for the trained weights too) with full-batch L-BFGS in the Sobolev
metric; the same settings train at any depth (see docs/depth.md). Image data use conv stages
trained by Adam on mini-batches with a cosine learning-rate schedule.
"""

from __future__ import annotations

from typing import Any

OPTIMIZERS = ("adam", "sgd", "lbfgs", "bcd")
SCHEDULES = ("cosine", "step", "none")
DTYPES = ("float32", "float64")
DEVICES = ("cpu", "cuda")
PAPER_PROBLEMS = ("ellipses", "swissroll", "peaks")
IMAGE_DATASETS = ("mnist", "fashion-mnist")

#: defaults for the paper's 2-D problems (the authors' alpha and beta; T and depth: see above)
DEFAULTS_2D: dict[str, Any] = dict(
    width=4, depth=64, T=10.0, levels=1, alpha=5e-3, beta=1e-3, optimizer="lbfgs", lr=1.0,
    schedule="none", epochs=30, batch_size=0, threads=1, bias="scalar",
)
#: defaults for image data (MNIST-like): conv stages, Adam on mini-batches, cosine lr
DEFAULTS_IMAGE: dict[str, Any] = dict(  # 4 layers a stage: h = 0.5 (docs/depth.md, images)
    channels=[16, 32, 64], depth=4, T=2.0, levels=1, alpha=1e-4, beta=1e-4, optimizer="adam",
    lr=3e-3, schedule="cosine", epochs=6, batch_size=64, threads=0, bias="feature",
)
#: defaults for a user's feature-vector data (.npz / .csv with 2-D x)
DEFAULTS_USER: dict[str, Any] = dict(
    width=None, depth=16, T=5.0, levels=1, alpha=1e-3, beta=1e-4, optimizer="adam", lr=1e-2,
    schedule="cosine", epochs=100, batch_size=256, threads=1, bias="scalar",
)
#: the learning rate each optimizer gets when neither the dataset nor the user sets one
DEFAULT_LR = {"adam": 1e-2, "sgd": 0.1, "lbfgs": 1.0, "bcd": 1.0}
