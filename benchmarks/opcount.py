"""ATen operators per layer of one training step, for stablenet and its competitors.

Where a step is overhead-bound (small widths on CPU, nearly everything on a GPU, where each
operator is a kernel launch), its cost is the number of operators it dispatches. This
count is deterministic: it shows what timing noise hides. One step is forward + backward
of loss = sum(y_N) to K, b and x (as in ``speed.py``); every ATen call is counted with a
``TorchDispatchMode``, at depths N and 2N, and the difference over N is the per-layer
count (views such as ``t`` and ``detach`` included: they cost dispatch, not kernels, and
are also listed apart).

    python benchmarks/opcount.py                 # all schemes, dense and conv
    python benchmarks/opcount.py --schemes parabolic --detail
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402

VIEWS = {"t", "transpose", "detach", "view", "expand", "select", "unbind", "as_strided",
         "alias", "_unsafe_view", "unsqueeze", "squeeze", "permute", "slice"}


class CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def step_ops(scheme: str, cfg: speed.Config, name: str) -> Counter[str]:
    """Operators of one training step of candidate ``name`` at configuration ``cfg``."""
    torch.manual_seed(0)
    block = speed.make_block(scheme, cfg, torch.device("cpu"))
    run = speed.candidates(scheme, cfg, block).get(name)
    if run is None:
        return Counter()
    shape = (cfg.batch, cfg.width, cfg.image, cfg.image) if cfg.conv else (cfg.batch, cfg.width)
    x = torch.randn(shape, requires_grad=True)
    run(x).sum().backward()  # warm: lazy initialisation is not the step's
    with CountOps() as counter:
        run(x).sum().backward()
    return counter.ops


def per_layer(scheme: str, conv: bool, name: str, depth: int = 8) -> Counter[str]:
    """Operators per layer: the count at depth 2 N minus the count at depth N, over N."""
    small, large = (step_ops(scheme, speed.Config("-", 4, n, 8, 6 if conv else 0), name)
                    for n in (depth, 2 * depth))
    return Counter({k: (large[k] - small[k]) / depth for k in large | small
                    if large[k] != small[k]})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--schemes", nargs="+", default=list(speed.SCHEMES), choices=speed.SCHEMES)
    p.add_argument("--candidates", nargs="+",
                   default=["stablenet", "naive", "tuned", "torchdiffeq", "torchdyn"])
    p.add_argument("--detail", action="store_true", help="list the operators of each count")
    args = p.parse_args()
    head = ["scheme", "block", *(f"{c} ops (views)" for c in args.candidates)]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    details = []
    for conv in (False, True):
        for scheme in args.schemes:
            cells = []
            for name in args.candidates:
                ops = per_layer(scheme, conv, name)
                if not ops:
                    cells.append("-")
                    continue
                views = sum(v for k, v in ops.items() if k in VIEWS)
                cells.append(f"{sum(ops.values()) - views:g} ({views:g})")
                details.append(f"{scheme} {'conv' if conv else 'dense'} {name}: "
                               + ", ".join(f"{k} {v:g}" for k, v in sorted(ops.items())))
            print(f"| {scheme} | {'conv' if conv else 'dense'} | " + " | ".join(cells) + " |")
    if args.detail:
        print("\n" + "\n".join(details))


if __name__ == "__main__":
    main()
