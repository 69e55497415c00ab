"""Worker of tests/train/test_distributed.py (not a test module).

Under ``torchrun --nproc_per_node=2 ddp_worker.py OUT`` every rank trains the runs of
:data:`RUNS` and saves its weights to ``OUT/NAME-rankR.pt`` (``final``, and
``first`` after epoch 1); the test calls
:func:`run_all` in its own process (``tag="single"``) for the one-process reference. Then,
when ``STABLENET_TEST_FAIL_STEP=k`` is set (read only here), rank 1 raises at its k-th
step of one more run, so the job must end with an error instead of hanging
(``ddp_worker.py OUT hang``: rank 1 stops responding instead).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from stablenet.train import TrainConfig, TrainingInterrupted, train

COMMON: dict[str, Any] = dict(dataset="ellipses", limit_val=21, dtype="float64", depth=4,
                              T=1.0, seed=3)
RUNS: dict[str, dict[str, Any]] = {
    # 45 examples, global batch 10: slices 5/5 and, in the last batch, 3/2 (unequal weights);
    # two levels (a new DDP wrapper after prolongation)
    "adam": dict(COMMON, limit_train=45, optimizer="adam", lr=0.05, batch_size=10, epochs=2,
                 levels=2),
    # full-batch L-BFGS with the all-reduced objective in its closure; 41 examples: 21/20
    "lbfgs": dict(COMMON, limit_train=41, optimizer="lbfgs", batch_size=0, epochs=2, levels=1),
}
#: under torchrun: stopped mid-epoch (level 1, step 3), then resumed from the checkpoint
RESUMED: dict[str, Any] = dict(COMMON, limit_train=45, optimizer="sgd", lr=0.05,
                               batch_size=10, epochs=2, levels=2)


class LastWeights:
    """Callback keeping a copy of the weights after every epoch (the final ones at the end);
    with ``stop_at=(level, step)`` it asks the trainer to stop after that step."""

    def __init__(self, stop_at: tuple[int, int] | None = None) -> None:
        self.state: dict[str, torch.Tensor] = {}
        self.first: dict[str, torch.Tensor] = {}  # after the first epoch
        self.stop_at = stop_at

    def __call__(self, trainer: Any, event: str) -> None:
        if event == "epoch":
            self.state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            self.first = self.first or self.state
        elif (trainer.level, trainer.step_k) == self.stop_at:
            trainer.stop.request()


def run_all(out: Path, tag: str) -> None:
    """Train every run of RUNS and RESUMED; save the final weights to ``out/NAME-TAG.pt``.

    Each run writes to ``out/NAME-TAG/``; under torchrun (tag ``rankR``) RESUMED shares
    ``out/resumed-shared/`` and is interrupted and resumed, in one process (tag
    ``single``) it runs through.
    """
    for name, options in RUNS.items():
        last = LastWeights()
        train(TrainConfig(**options), out / f"{name}-{tag}", callback=last)
        torch.save({"final": last.state, "first": last.first}, out / f"{name}-{tag}.pt")
    last = LastWeights()
    if tag == "single":
        train(TrainConfig(**RESUMED), out / "resumed-single", callback=last)
    else:
        try:
            train(TrainConfig(**RESUMED), out / "resumed-shared", callback=LastWeights((1, 3)))
            raise AssertionError("the run was not interrupted")
        except TrainingInterrupted:
            pass
        train(None, out / "resumed-shared", resume=True, callback=last)  # type: ignore[arg-type]
    torch.save({"final": last.state, "first": last.first}, out / f"resumed-{tag}.pt")


def fail_on_rank_1(step: int, hang: bool = False) -> None:
    """One more run in which rank 1 raises (``hang``: sleeps) after its ``step``-th step."""

    def callback(trainer: Any, event: str) -> None:
        if event == "step" and trainer.parallel.rank == 1 and trainer.step_k == step:
            if hang:
                time.sleep(600)  # the other rank's collective times out first
            raise RuntimeError(f"rank 1 fails on purpose at step {step}")

    train(TrainConfig(**RUNS["adam"]), callback=callback)


def main(out: Path, mode: str) -> None:
    """``all``: :func:`run_all`, then the failing run if STABLENET_TEST_FAIL_STEP is set;
    ``hang``: only a run in which rank 1 stops responding at step 2."""
    if mode == "hang":
        fail_on_rank_1(2, hang=True)
        return
    rank = int(os.environ["RANK"])
    run_all(out, f"rank{rank}")
    (out / f"done-rank{rank}").touch()
    if "STABLENET_TEST_FAIL_STEP" in os.environ:
        fail_on_rank_1(int(os.environ["STABLENET_TEST_FAIL_STEP"]))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "all")
