"""stablenet: stable deep network architectures as discretised ODEs (Haber & Ruthotto 2018).

Blocks map a batch of states through N layers of an ODE discretisation with h = T / N::

    import torch, stablenet
    block = stablenet.HamiltonianNet(width=4, depth=64, T=20.0)
    y_N = block(torch.randn(128, 4))

Concepts live in: ``layers`` (operators, parametrisations of K, vector fields),
``integrators`` (forward Euler, Verlet, leapfrog), ``timegrid`` (weights as functions of
time), ``memory`` (the memory modes ``Store``, ``Checkpoint``, ``Reversible`` and the
written discrete adjoint), ``blocks`` (the loop),
``schemes`` (the paper's named architectures), ``models`` / ``registry`` (classifiers,
build/save/load), ``objective``, ``analysis``, ``optim``, ``train``; the interfaces they
meet at are in ``interfaces``. The mathematics: docs/theory.md in the repository
(Haber & Ruthotto, Inverse Problems 2018, arXiv 1705.03341).
"""

import os as _os
import sys as _sys

try:  # importing torch takes seconds: Ctrl-C then must not print a traceback in the CLI
    from .blocks import StableBlock
    from .errors import CheckpointError, ConfigError, DataError, UserError
    from .inference import Prediction, predict
    from .memory import Checkpoint, Reversible, Store
    from .models import PadOpening, StableClassifier, StableImageNet
    from .registry import ARCHITECTURES, build_block, build_model, load, save
    from .schemes import (
        AntisymmetricResNet,
        ConvAntisymmetricResNet,
        ConvHamiltonianNet,
        ConvLeapfrogNet,
        ConvParabolicResNet,
        ConvResNet,
        HamiltonianNet,
        LeapfrogNet,
        ParabolicResNet,
        ResNet,
    )
except KeyboardInterrupt:
    _command = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if _command in ("stablenet", "stablenet.exe") or list(
            getattr(_sys, "orig_argv", [])[1:3]) == ["-m", "stablenet"]:
        print("stablenet: interrupted", file=_sys.stderr)
        raise SystemExit(130) from None
    raise  # a library import: the caller's KeyboardInterrupt

__version__ = "0.1.0"

__all__ = [
    "ARCHITECTURES", "AntisymmetricResNet", "Checkpoint", "CheckpointError", "ConfigError",
    "ConvAntisymmetricResNet", "ConvHamiltonianNet", "ConvLeapfrogNet", "ConvParabolicResNet",
    "ConvResNet", "DataError", "HamiltonianNet", "LeapfrogNet", "PadOpening",
    "ParabolicResNet", "Prediction", "ResNet", "Reversible", "StableBlock", "StableClassifier",
    "StableImageNet", "Store", "UserError", "build_block", "build_model", "load", "predict",
    "save",
]
