"""base += alpha u K on CPU: one ``addmm_`` against ``mm`` then ``add_``, by width.

The written backward updates each cotangent as g += alpha u K (the dense VJPs of
``stablenet.layers.fields``), with g and u of shape [B, n] and K [n, n]. ``addmm_`` is
one kernel instead of two, but CPU BLAS (MKL here) takes a slow path for C += alpha A B
unless C's rows are whole 64-byte lines; this script measures where, so that
``stablenet.layers.operators.fused_rows`` can be checked on another machine. Medians of
process CPU time per call, one thread.

    python benchmarks/addmm_rows.py
    python benchmarks/addmm_rows.py --batch 1024 --widths 8 16 24 32
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from stablenet.layers.operators import fused_rows


def per_call(fn, calls: int = 2000, rounds: int = 7) -> float:
    for _ in range(calls // 10):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        for _ in range(calls):
            fn()
        times.append((time.process_time() - t0) / calls)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--widths", type=int, nargs="+", default=[2, 4, 8, 12, 16, 24, 32, 64])
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, batch {args.batch}, 1 thread; us per call\n")
    print("| dtype | width | mm + add_ | addmm_ | addmm_ / (mm + add_) | fused_rows |")
    print("|---|---|---|---|---|---|")
    for dtype in (torch.float32, torch.float64):
        for n in args.widths:
            gen = torch.Generator().manual_seed(0)
            u, base = (torch.randn(args.batch, n, generator=gen, dtype=dtype) for _ in range(2))
            K = 1e-6 * torch.randn(n, n, generator=gen, dtype=dtype)
            two = per_call(lambda b=base, u=u, K=K: b.add_(torch.mm(u, K), alpha=0.5))
            one = per_call(lambda b=base, u=u, K=K: b.addmm_(u, K, alpha=0.5))
            print(f"| {str(dtype).removeprefix('torch.')} | {n} | {1e6 * two:.2f} | "
                  f"{1e6 * one:.2f} | {one / two:.2f} | {fused_rows(base)} |")


if __name__ == "__main__":
    main()
