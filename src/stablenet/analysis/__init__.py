"""Is my network stable? Spectra, stability margins, sensitivity and gradient norms.

Every function takes a stable block, a model with ``.blocks``, or any module that
contains stable blocks (an ``nn.Sequential``: each block at the states it receives;
trained or not, dense or convolutional) and returns one result for a block, or a list
with one result per block otherwise. Weights, buffers and inputs holding NaN or Inf are
refused first (:class:`~stablenet.errors.NonFiniteError` naming the tensor). All
computations run on a float64, eval-mode copy of the network.

* :func:`spectra`: per layer, the eigenvalues of the applied weight operator and (given
  data) of the linearised field at the states the data pass through.
* :func:`stability_margins` / :func:`check_stability`: the integrator's discrete stability
  check (forward Euler |1 + h lambda| <= 1; Verlet/leapfrog h |lambda| <= 2 on the
  imaginary axis) per layer; ``check_stability`` warns, naming the first unstable layer.
* :func:`sensitivity`: ||Y_N(x + delta) - Y_N(x)|| / ||delta|| for random delta and the
  worst case, the largest singular value of dY_N/dY_0.
* :func:`gradient_norms`: ||dL/dY_j|| for j = 0..N and ||dL/dtheta_j|| per layer.

Reports (:mod:`.report`, :mod:`.figures`) and the depth sweep (:mod:`.sweep`) build on
these; matplotlib is imported only by :mod:`.figures`.
"""

from .gradients import GradientNorms, gradient_norms
from .margins import BlockMargins, check_stability, stability_margins
from .sensitivity import Sensitivity, sensitivity
from .spectra import BlockSpectrum, spectra

__all__ = [
    "BlockMargins", "BlockSpectrum", "GradientNorms", "Sensitivity", "check_stability",
    "gradient_norms", "sensitivity", "spectra", "stability_margins",
]
