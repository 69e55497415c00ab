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
#: the narrowest default width of a user's feature-vector network (see :func:`user_width`)
USER_MIN_WIDTH = 32
#: defaults for a user's feature-vector data (.npz / .csv with 2-D x), chosen on the
#: benchmark of user-style problems (``python benchmarks/userdata.py``; BENCHMARKS.md, "User
#: data defaults"): scikit-learn's tables and generators with 2-30 features, 2-4 classes and
#: 150-1000 rows, every stable architecture against an MLP and a logistic regression fitted
#: in the same run, 10 seeds; a held-out set (up to 64 features, 10 classes) was run once, at
#: the end (3 of its 5 problems within 2 points).
#: What changed from width max(4, F), T = 5, batch 256, and why:
#: * batch 32: with 256 a table of 150 rows gets one Adam step per epoch (100 in all) and
#:   underfits (iris 3 points short); 32 gives 4-30 steps per epoch on these tables.
#: * width max(32, F) (:func:`user_width`): zero-padding to 32 gives 2-feature problems room
#:   to untangle (augmentation) and lets 20-feature problems generalise like the 64-unit MLP
#:   (width F overfits them: classification 4-6 points short); wider (64) left leapfrog
#:   stuck at chance on a 2-feature problem in 2 of 5 seeds (a weak start, K y ~ sqrt(F/width)).
#: * T = 2 with depth 16 (h = 0.125): a first-order flow (antisymmetric) moves features by
#:   about T |f|, a second-order one (leapfrog, and y in the Hamiltonian pair, from rest) by
#:   about T^2 / 2 |f|; T = 2 is where the two agree. T = 5 and 10 overfit the 20-feature
#:   problem (antisymmetric 6-9 points short), T = 1.25 leaves leapfrog too little motion.
#:   h |lambda| of the trained Verlet / leapfrog networks stays <= 0.65 (inside [0, 2]).
#: * kept: Adam lr 1e-2 with a cosine schedule, 100 epochs (best-validation weights are
#:   kept, the best epoch is typically 20-60), alpha 1e-3, beta 1e-4 (1e-3 did not help),
#:   one scalar bias per layer (per-feature biases did not help). Full-batch L-BFGS (the 2-D
#:   default) overfits the tables and pushed trained leapfrog weights out of the region.
DEFAULTS_USER: dict[str, Any] = dict(
    width=None, depth=16, T=2.0, levels=1, alpha=1e-3, beta=1e-4, optimizer="adam", lr=1e-2,
    schedule="cosine", epochs=100, batch_size=32, threads=1, bias="scalar",
)


def user_width(n_features: int) -> int:
    """The default width of a user's feature-vector network: max(USER_MIN_WIDTH, F)."""
    return max(USER_MIN_WIDTH, int(n_features))


#: the integrator a training run uses when none is given, where it is not the
#: architecture's own (ARCH_TABLE): the antisymmetric network integrates with the midpoint
#: rule, whose region (the imaginary axis, h |w| < 1) holds the trained network at the
#: default depths; under the paper's forward Euler (``--integrator euler``) training moves
#: it to the edge of its region at every depth (docs/depth.md, "Why forward Euler cannot
#: hold the trained antisymmetric network"). The blocks (``AntisymmetricResNet``,
#: ``build_model``) keep the paper's forward Euler.
DEFAULT_INTEGRATOR = {"antisymmetric": "midpoint"}

#: the learning rate each optimizer gets when neither the dataset nor the user sets one
DEFAULT_LR = {"adam": 1e-2, "sgd": 0.1, "lbfgs": 1.0, "bcd": 1.0}
