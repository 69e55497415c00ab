"""The training objective J = mean cross-entropy + R, below both ``train`` and ``optim``.

    J(theta) = 1/s sum_i CE(softmax(W^T y_N(x_i) + mu), c_i) + R(theta)

* :mod:`.regularizers`: R = the time smoothness of every block's stacked weights plus the
  classifier's weight decay;
* :mod:`.loss`: J on a batch, and evaluation (mean cross-entropy and accuracy, no R).

The first-order trainer (:mod:`stablenet.train`) and the paper's second-order optimizer
(:mod:`stablenet.optim`) both minimise this one objective.
"""

from .loss import Evaluation, correct, evaluate, objective, predict
from .regularizers import regularization, smoothness, weight_decay

__all__ = [
    "Evaluation", "correct", "evaluate", "objective", "predict", "regularization",
    "smoothness", "weight_decay",
]
