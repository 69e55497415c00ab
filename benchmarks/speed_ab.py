"""Before / after of the issue-7 hot-path change, interleaved in one process.

"Before" is the integrators' original step rules (``y + h * f``, ``z + h * dz``,
``2 y - y_prev + h^2 F``: separate scaling, negation and addition kernels), patched onto
the integrator classes; "after" is the current code (``torch.add(base, f, alpha=...)``
through the fields' fused ``add_scaled``; for leapfrog also the later ``lerp``). One
training step (forward + backward to K, b and the input) of the same block alternates
between the two; medians of process CPU time, one thread.

    python benchmarks/speed_ab.py                       # the default configurations
    python benchmarks/speed_ab.py resnet,2,256,1000,0   # scheme,width,depth,batch,image

``--change lerp``: the later leapfrog change alone, "before" = ``2.0 * y - y_prev`` (a
multiplication and a subtraction) into the fused update, "after" = ``lerp(y_prev, y, 2)``:

    python benchmarks/speed_ab.py --change lerp leapfrog,2,64,1000,0 leapfrog,16,256,1000,0
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from stablenet.integrators import ForwardEuler, Leapfrog, Verlet
from stablenet.layers.fields import add_scaled
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

DEFAULT = ["resnet,2,256,1000,0", "hamiltonian,2,256,1000,0", "leapfrog,2,256,1000,0",
           "parabolic,2,256,1000,0", "resnet,256,16,1024,0", "parabolic,256,16,1024,0",
           "hamiltonian,16,8,128,14", "parabolic,16,8,128,14"]


def euler_before(self, field, w, h, state):
    (y,) = state
    return (y + h * field(w, y),)


def verlet_before(self, field, w, h, state):
    z, y = state
    z = z + h * field.dz(w, y)
    return (z, y + h * field.dy(w, z))


def leapfrog_before(self, field, w, h, state):
    y_prev, y = state
    return (y, 2.0 * y - y_prev + (h * h) * field(w, y))


def leapfrog_mul_sub(self, field, w, h, state):
    y_prev, y = state
    return (y, add_scaled(field, 2.0 * y - y_prev, h * h, w, y))


CHANGES = {
    "fused-add": {ForwardEuler: euler_before, Verlet: verlet_before, Leapfrog: leapfrog_before},
    "lerp": {Leapfrog: leapfrog_mul_sub},
}
AFTER = {cls: cls.step for cls in CHANGES["fused-add"]}


def use(table) -> None:
    for cls, step in table.items():
        cls.step = step


def ab(before: dict, scheme: str, width: int, depth: int, batch: int, image: int,
       repeats: int = 7) -> str:
    torch.manual_seed(0)
    block = (CONV_BLOCKS if image else DENSE_BLOCKS)[scheme](width, depth, 1.0)
    shape = (batch, width, image, image) if image else (batch, width)
    x, P = torch.randn(shape, requires_grad=True), torch.randn(shape)
    samples: dict[str, list[float]] = {"before": [], "after": []}
    for r in range(repeats + 1):  # round 0 warms up
        for name in (("before", "after") if r % 2 else ("after", "before")):
            use(before if name == "before" else AFTER)
            block.zero_grad(set_to_none=True)
            x.grad = None
            t0 = time.process_time()
            (block(x) * P).sum().backward()
            if r:
                samples[name].append(time.process_time() - t0)
    use(AFTER)
    b, a = (statistics.median(samples[k]) for k in ("before", "after"))
    cfg = f"C={width} {image}x{image}" if image else f"n={width}"
    return f"| {scheme} | {cfg} N={depth} B={batch} | {1e3 * b:.2f} | {1e3 * a:.2f} | {a / b:.2f} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("configs", nargs="*", help="scheme,width,depth,batch,image")
    p.add_argument("--change", default="fused-add", choices=CHANGES)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| scheme | config | before ms | after ms | after / before |\n|---|---|---|---|---|")
    for arg in args.configs or DEFAULT:
        scheme, *nums = arg.split(",")
        print(ab(CHANGES[args.change], scheme, *map(int, nums)), flush=True)


if __name__ == "__main__":
    main()
