"""Time of one training step (forward + backward) of every scheme against its competitors.

One step: ``y_N = run(x)``, loss = <P, y_N> (a fixed random projection), backward to the
block's parameters K, b and to the input x. Competitors run on the block's own weights
(``benchmarks/baselines.py``): the naive and the tuned hand-written loop, torchdiffeq's
fixed-grid ``euler`` with ``step_size=h`` (regime a also: on the grid
``t=linspace(0, T, N + 1)`` for N <= 256, "tdq-grid", and ``rk4`` for reference),
torchdyn's ``euler``, and
with ``--compile`` the ``torch.compile``d block. Competitors that are not installed are
skipped; those with the same math are first checked to give the same y_N.

Regimes (``--regimes a b c``):

* a. overhead-bound: width 2-16, batch 1000, depth 64-1024 (the paper's 2-D problems);
* b. compute-bound dense: width 256-512, batch 1024, depth 64, with the achieved GEMM
  FLOP rate against the machine's own ``torch.mm`` rate on the same shapes (timed in
  the same rotation);
* c. convolutional: batch 128, 16-64 channels, 14x14 / 28x28 images, depth 8-32.

Candidates are timed interleaved (one step of each, in a seeded random order, ``--repeats``
rounds after ``--warmup`` rounds) and reported as medians. On CPU the clock is the
process CPU time with ``--threads`` threads (default 1: robust on a shared machine); on
CUDA the wall time between synchronisations.

    python benchmarks/speed.py --quick                  # a short run (minutes on 1 core)
    python benchmarks/speed.py                          # the full sweep
    python benchmarks/speed.py --device cuda --compile  # on a GPU, with torch.compile
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402

import stablenet  # noqa: E402
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS  # noqa: E402

SCHEMES = tuple(DENSE_BLOCKS)
# GEMMs per layer in forward + backward: (activation-shaped [B,n]x[n,n], weight-grad [n,B]x[B,n])
GEMMS = {"resnet": (2, 1), "antisymmetric": (2, 1), "parabolic": (4, 2),
         "hamiltonian": (4, 2), "leapfrog": (4, 2)}


@dataclass
class Config:
    regime: str
    width: int
    depth: int
    batch: int
    image: int = 0  # 0: dense; else the side of the square image

    @property
    def conv(self) -> bool:
        return self.image > 0

    def label(self) -> str:
        shape = f"C={self.width} {self.image}x{self.image}" if self.conv else f"n={self.width}"
        return f"{shape} N={self.depth} B={self.batch}"


@dataclass
class Result:
    config: Config
    scheme: str
    times: dict[str, float] = field(default_factory=dict)  # candidate -> median seconds
    notes: list[str] = field(default_factory=list)
    compile_s: float | None = None


def configs(args: argparse.Namespace) -> list[Config]:
    """The sweep: the issue's ranges; ``--quick`` a small corner of each regime."""
    cuda = args.device == "cuda"
    if args.quick:
        table = {
            "a": [Config("a", w, d, 1000) for w in (2, 16) for d in (64, 1024)],
            "b": [Config("b", 256, 16, 1024)],
            "c": [Config("c", 16, 8, 128, 14)],
        }
    else:
        table = {
            "a": [Config("a", w, d, 1000) for w in (2, 8, 16) for d in (64, 256, 1024)],
            # on a GPU widths 256-512 are launch-bound (microseconds per GEMM): 2048 is
            # the compute-bound case there
            "b": [Config("b", w, 64, 1024) for w in ((256, 512, 2048) if cuda else (256, 512))],
            "c": ([Config("c", c, d, 128, 28) for c in (16, 64) for d in (8, 32)] if cuda
                  else [Config("c", 16, 8, 128, 28), Config("c", 32, 8, 128, 14)]),
        }
    return [c for r in args.regimes for c in table[r]
            if (not args.widths or c.width in args.widths)
            and (not args.depths or c.depth in args.depths)]


def make_block(scheme: str, cfg: Config, device: torch.device):
    blocks = CONV_BLOCKS if cfg.conv else DENSE_BLOCKS
    block = blocks[scheme](cfg.width, cfg.depth, 1.0).to(device)
    with torch.no_grad():  # nonzero biases so that no term is trivially zero
        block.b.normal_(0.0, 0.1)
    return block


def candidates(scheme: str, cfg: Config, block) -> dict[str, Callable]:
    """name -> run(x) -> y_N, the competitors that apply (and are installed)."""
    out = {
        "stablenet": block,
        "fallback": baselines.autograd_fallback(block),
        "naive": baselines.handwritten(scheme, cfg.conv, block),
        "tuned": baselines.handwritten(scheme, cfg.conv, block, tuned=True),
    }
    if scheme in baselines.EULER_SCHEMES:
        for name, run in (
            ("torchdiffeq", baselines.torchdiffeq_solver(scheme, cfg.conv, block)),
            ("torchdyn", baselines.torchdyn_solver(scheme, cfg.conv, block)),
            ("rk4", baselines.torchdiffeq_solver(scheme, cfg.conv, block, "rk4")
             if cfg.regime == "a" else None),
            ("tdq-grid", baselines.torchdiffeq_solver(scheme, cfg.conv, block, grid=True)
             if cfg.regime == "a" and cfg.depth <= 256 else None),
        ):
            if run is not None:
                out[name] = run
    return out


def check_same_math(runs: dict[str, Callable], block, x: torch.Tensor, notes: list[str]) -> None:
    """Same-math competitors must give the block's y_N; checked in float64 (in float32 the
    leapfrog rounding error alone grows like N^2 eps)."""
    block.double()
    try:
        with torch.no_grad():
            x = x.double()
            ref = runs["stablenet"](x)
            for name, run in runs.items():
                if name in ("stablenet", "rk4"):
                    continue
                err = float((run(x) - ref).norm() / ref.norm().clamp_min(1e-300))
                if not err < 1e-9:
                    raise AssertionError(f"{name} disagrees with stablenet: relative error {err}")
    finally:
        block.float()
    notes.append("same y_N in float64")


def gemm_reference(cfg: Config, scheme: str, device: torch.device) -> Callable:
    """The step's GEMMs alone (same shapes and count, torch.mm): the machine's mm rate."""
    n_act, n_wgt = GEMMS[scheme]
    gen = torch.Generator(device="cpu").manual_seed(1)
    a, g = (torch.randn(cfg.batch, cfg.width, generator=gen).to(device) for _ in range(2))
    W = torch.randn(cfg.width, cfg.width, generator=gen).to(device)

    def run() -> None:
        for _ in range(cfg.depth):
            for _ in range(n_act):
                torch.mm(a, W)
            for _ in range(n_wgt):
                torch.mm(a.t(), g)

    return run


def gemm_flops(cfg: Config, scheme: str) -> float:
    return 2.0 * cfg.batch * cfg.width**2 * sum(GEMMS[scheme]) * cfg.depth


def timer(device: torch.device) -> Callable[[Callable[[], None]], float]:
    if device.type == "cuda":
        def wall(fn: Callable[[], None]) -> float:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            return time.perf_counter() - t0
        return wall

    def cpu(fn: Callable[[], None]) -> float:
        t0 = time.process_time()
        fn()
        return time.process_time() - t0

    return cpu


def training_step(run: Callable, block, x: torch.Tensor, P: torch.Tensor) -> Callable:
    def step() -> None:
        block.K.grad = block.b.grad = x.grad = None
        (run(x) * P).sum().backward()
    return step


def measure(scheme: str, cfg: Config, args) -> Result:
    device = torch.device(args.device)
    torch.manual_seed(0)
    block = make_block(scheme, cfg, device)
    shape = (cfg.batch, cfg.width, cfg.image, cfg.image) if cfg.conv else (cfg.batch, cfg.width)
    x = torch.randn(shape, device=device, requires_grad=True)
    P = torch.randn(shape, device=device)
    res = Result(cfg, scheme)
    runs = {k: v for k, v in candidates(scheme, cfg, block).items() if k not in args.exclude}
    check_same_math(runs, block, x.detach(), res.notes)
    clock = timer(device)
    steps = {name: training_step(run, block, x, P) for name, run in runs.items()}
    if args.compile and cfg.depth <= args.compile_max_depth:
        torch._dynamo.reset()  # a fresh cache per block: no recompile limit across configs
        compiled = torch.compile(block, mode=args.compile_mode)
        steps["compiled"] = training_step(compiled, block, x, P)
        t0 = time.perf_counter()
        steps["compiled"]()  # the first call compiles (wall time: inductor uses subprocesses)
        if device.type == "cuda":
            torch.cuda.synchronize()
        res.compile_s = time.perf_counter() - t0
    if cfg.regime == "b":
        steps["mm"] = gemm_reference(cfg, scheme, device)
    names = list(steps)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.warmup + args.repeats):
        # a fresh order every round: with a fixed cyclic rotation each candidate would
        # always follow the same one, whose allocations and cache footprint it inherits
        order = random.Random(r).sample(names, len(names))
        for name in order:
            t = clock(steps[name])
            if r >= args.warmup:
                samples[name].append(t)
    res.times = {name: statistics.median(s) for name, s in samples.items()}
    return res


# ----------------------------------------------------------------------------- reporting

COLUMNS = ("fallback", "tuned", "torchdiffeq", "tdq-grid", "torchdyn", "rk4", "compiled")


def ratio(res: Result, num: str, den: str) -> float:
    t = res.times
    return t[num] / t[den] if num in t and den in t else math.nan


def fmt(v: float, spec: str = ".2f", suffix: str = "x") -> str:
    return "-" if math.isnan(v) else f"{v:{spec}}{suffix}"


def table(results: list[Result]) -> str:
    """Markdown: stablenet's time, and every candidate's time relative to the naive loop."""
    regime_b = any(r.config.regime == "b" for r in results)
    head = ["regime", "config", "scheme", "stablenet ms", "stablenet / naive",
            *(f"{c} / naive" for c in COLUMNS), "stablenet / fallback",
            "torchdiffeq / stablenet"]
    if regime_b:
        head += ["GEMM GFLOP/s", "mm GFLOP/s", "% of mm"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r.config.regime, r.config.label(), r.scheme,
               f"{1e3 * r.times['stablenet']:.2f}", fmt(ratio(r, "stablenet", "naive")),
               *(fmt(ratio(r, c, "naive")) for c in COLUMNS),
               fmt(ratio(r, "stablenet", "fallback")),
               fmt(ratio(r, "torchdiffeq", "stablenet"))]
        if regime_b:
            row += flop_columns(r)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def flop_columns(r: Result) -> list[str]:
    if r.config.regime != "b":
        return ["", "", ""]
    flops = gemm_flops(r.config, r.scheme)
    got, mm = flops / r.times["stablenet"] / 1e9, flops / r.times["mm"] / 1e9
    return [f"{got:.1f}", f"{mm:.1f}", f"{100 * got / mm:.0f}%"]


def bars(results: list[Result]) -> str:
    """The issue's three bars, each with its worst case over the sweep."""
    def worst(values: list[tuple[float, Result]], worst_is_max: bool) -> str:
        values = [(v, r) for v, r in values if not math.isnan(v)]
        if not values:
            return "not measured"
        v, r = (max if worst_is_max else min)(values, key=lambda p: p[0])
        return f"{v:.2f} ({r.scheme}, {r.config.regime}: {r.config.label()})"

    def met(ok: bool, values: list[tuple[float, Result]]) -> str:
        return "-" if all(math.isnan(v) for v, _ in values) else ("yes" if ok else "NO")

    lines = ["| bar | worst case | met |", "|---|---|---|"]
    for den in ("naive", "tuned"):
        vals = [(ratio(r, "stablenet", den), r) for r in results]
        ok = all(v <= 1.10 for v, _ in vals if not math.isnan(v))
        lines.append(f"| stablenet / {den} loop <= 1.10 | {worst(vals, True)} | "
                     f"{met(ok, vals)} |")
    vals = [(ratio(r, "torchdiffeq", "stablenet"), r) for r in results if r.config.regime == "a"]
    ok = all(v >= 1.5 for v, _ in vals if not math.isnan(v))
    lines.append(f"| torchdiffeq euler (step_size=h) / stablenet >= 1.5 (regime a) | "
                 f"{worst(vals, False)} | {met(ok, vals)} |")
    vals = [(ratio(r, "tdq-grid", "stablenet"), r) for r in results if r.config.regime == "a"]
    ok = all(v >= 1.5 for v, _ in vals if not math.isnan(v))
    lines.append(f"| torchdiffeq euler (t=linspace grid) / stablenet >= 1.5 (regime a) | "
                 f"{worst(vals, False)} | {met(ok, vals)} |")
    vals = [(ratio(r, "mm", "stablenet"), r) for r in results if r.config.regime == "b"]
    ok = all(v >= 0.70 for v, _ in vals)
    lines.append(f"| GEMM rate >= 70% of torch.mm (regime b) | {worst(vals, False)} | "
                 f"{met(ok, vals)} |")
    return "\n".join(lines + adjoint_bars(results, worst, met))


def adjoint_bars(results: list[Result], worst: Callable, met: Callable) -> list[str]:
    """The written adjoint's bars: regime a against the naive loop (median and every row)
    and against the autograd fallback (median); regime c no slower than the fallback, which
    is exactly the code before the written adjoint for convolutions."""
    a = [r for r in results if r.config.regime == "a"]
    out = []
    for num, den, bar in (("stablenet", "naive", 0.50), ("stablenet", "fallback", 0.75)):
        vals = [(ratio(r, num, den), r) for r in a]
        got = [v for v, _ in vals if not math.isnan(v)]
        median = statistics.median(got) if got else math.nan
        out.append(f"| {num} / {den}, median over regime a <= {bar:.2f} | "
                   f"{fmt(median, '.2f', '')} (over {len(got)} rows) | "
                   f"{met(median <= bar, vals)} |")
    vals = [(ratio(r, "stablenet", "naive"), r) for r in a]
    ok = all(v <= 0.70 for v, _ in vals if not math.isnan(v))
    out.append(f"| stablenet / naive <= 0.70 in every row of regime a | {worst(vals, True)} | "
               f"{met(ok, vals)} |")
    vals = [(ratio(r, "stablenet", "fallback"), r) for r in results if r.config.regime == "c"]
    ok = all(v <= 1.03 for v, _ in vals if not math.isnan(v))
    out.append(f"| stablenet / fallback <= 1.03 in every row of regime c | "
               f"{worst(vals, True)} | {met(ok, vals)} |")
    return out


def compile_report(results: list[Result]) -> str:
    rows = [r for r in results if r.compile_s is not None]
    if not rows:
        return ""
    lines = ["| config | scheme | compile s (first step, wall) | eager ms | compiled ms | pays |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        e, c = r.times["stablenet"], r.times["compiled"]
        lines.append(f"| {r.config.regime}: {r.config.label()} | {r.scheme} | "
                     f"{r.compile_s:.1f} | {1e3 * e:.2f} | {1e3 * c:.2f} | "
                     f"{'yes' if c < e else 'no'} (x{e / c:.2f}) |")
    return "\n".join(lines)


def header(args: argparse.Namespace) -> str:
    dev = (torch.cuda.get_device_name() if args.device == "cuda"
           else f"{platform.processor() or platform.machine()}, {args.threads} thread(s)")
    v = baselines.versions()
    clock = "wall time (CUDA synchronised)" if args.device == "cuda" else "process CPU time"
    if args.device == "cuda":  # float32 matmuls / convolutions may run in TF32 on the GPU
        clock += (f"; TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
                  f"cuDNN {torch.backends.cudnn.allow_tf32}")
    return (
        f"command: `python {' '.join(sys.argv)}`  \n"
        f"machine: {dev}; python {platform.python_version()}, torch {torch.__version__}, "
        f"stablenet {stablenet.__version__}, torchdiffeq {v['torchdiffeq']}, "
        f"torchdyn {v['torchdyn']}  \n"
        f"clock: {clock}; median of {args.repeats} interleaved repeats after "
        f"{args.warmup} warm-up round(s)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a short run: a corner of each regime")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--regimes", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    p.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    p.add_argument("--widths", type=int, nargs="+", help="only the configs of these widths")
    p.add_argument("--depths", type=int, nargs="+", help="only the configs of these depths")
    p.add_argument("--exclude", nargs="+", default=[], choices=COLUMNS[:-1],
                   help="competitors not to time (e.g. rk4, the slowest, for a short GPU run)")
    p.add_argument("--repeats", type=int, help="timed rounds (default 7, quick 3)")
    p.add_argument("--warmup", type=int, help="untimed rounds (default 2, quick 1)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile(block)")
    p.add_argument("--compile-mode", default=None, help="torch.compile mode, e.g. max-autotune")
    p.add_argument("--compile-max-depth", type=int, default=64,
                   help="compile only blocks this deep or shallower (compile time grows with N)")
    p.add_argument("--markdown", help="also write the report to this file")
    args = p.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available")
    torch.set_num_threads(args.threads)

    results = []
    for cfg in configs(args):
        for scheme in args.schemes:
            res = measure(scheme, cfg, args)
            results.append(res)
            print(f"{cfg.regime} {cfg.label():28s} {scheme:14s} "
                  + " ".join(f"{k}={1e3 * v:.2f}ms" for k, v in res.times.items()),
                  file=sys.stderr, flush=True)
            if args.markdown:  # rewritten after every row: a run cut short keeps its rows
                Path(args.markdown).write_text(report(args, results) + "\n")
    print(report(args, results))


def report(args: argparse.Namespace, results: list[Result]) -> str:
    parts = (header(args), table(results), bars(results), compile_report(results))
    return "\n\n".join(s for s in parts if s)


if __name__ == "__main__":
    main()
