"""Peak memory and time of one forward + backward: store vs reversible vs checkpoint.

Memory: each configuration (scheme, memory mode, depth) runs in a fresh child process.

* CPU: the child warms up on a tiny block (lazy imports), builds the block (weights)
  and the input, reads its resident memory (``/proc/self/statm``), resets the peak
  (``/proc/self/clear_refs``), runs one forward + backward, and reports the peak
  resident memory (VmHWM) above that baseline. Allocations >= 16 KiB are served
  by mmap in that child, so the RSS follows the live tensors (see _malloc_thresholds).
* CUDA: ``torch.cuda.max_memory_allocated`` above the memory allocated before the run.
* The weight gradients (one tensor the size of the weights) are produced by every
  mode and grow with depth; the *activations* column subtracts their exact size.

Time: one more child per (scheme, depth) times every mode on the same block, round-robin
(so load changes on a shared machine hit all modes alike), median of ``--repeats``
rounds after a warm-up round; on CPU the process CPU time with ``--threads`` threads
(default 1), on CUDA wall time between synchronisations. Ratios are against store mode.

``MODE-autograd`` (e.g. ``--modes store store-autograd``) times the same block with a user's
callable tanh, which stablenet differentiates with autograd through the loop instead of
its written adjoint.

``--drift`` instead measures the float32 reconstruction drift of reversible mode and
the resulting gradient error against a float64 reference.

    python benchmarks/memory.py                 # the default sweep (a few minutes)
    python benchmarks/memory.py --quick         # a smaller one
    python benchmarks/memory.py --drift         # reconstruction drift in float32
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

import torch

import stablenet as sn
from stablenet.activations import activation_vjp
from stablenet.memory import DRIFT_TOL, Reversible
from stablenet.plotting import pyplot

MODES = ("store", "reversible", "checkpoint")
# reversible with the float64 redo forced (drift_tol=0); and each mode differentiated by
# autograd instead of the written adjoint (the block with a user's callable tanh)
EXTRA_MODES = ("reversible64", "store-autograd", "checkpoint-autograd", "reversible-autograd")
MIB = 2.0**20


def reset_peak_rss() -> None:
    """Linux: reset the peak RSS (VmHWM) to the current RSS (clear_refs 5), so
    transients of the import and the warm-up do not mask a smaller peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def rss_now() -> float:
    """Current resident set size in bytes (falls back to the peak where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def peak_rss() -> float:
    """Peak resident set size in bytes since the last reset: VmHWM, which clear_refs resets.

    Not ``ru_maxrss``: that also counts the image forked from the parent before exec, so
    under a large parent it can hide the child's own peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _malloc_thresholds(mmap_bytes: int, trim_bytes: int) -> None:
    """glibc's M_MMAP_THRESHOLD / M_TRIM_THRESHOLD (no-op elsewhere).

    For the memory run every allocation >= 16 KiB is served by mmap, so freed tensors
    leave the resident set at once and the peak RSS is the peak of live memory (with the
    default heap, fragmentation makes peaks of identical runs differ by ~25%). Timing
    children keep glibc's defaults.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, mmap_bytes)
        libc.mallopt(-1, trim_bytes)
    except (OSError, AttributeError):
        pass


def _setup(cfg: dict, mode: str, depth: int, batch: int):
    """Block and input of a configuration; ``reversible64`` forces the float64 redo."""
    torch.manual_seed(0)
    dev = torch.device(cfg["device"])
    block = sn.build_block(cfg["scheme"], cfg["width"], depth, cfg["h"] * depth).to(dev)
    _set_mode(block, mode)
    return block, torch.randn(batch, cfg["width"], device=dev, requires_grad=True)


def user_tanh(t: torch.Tensor) -> torch.Tensor:
    """tanh as a user's own callable: stablenet has no written derivative for it."""
    return torch.tanh(t)


def _set_mode(block, mode: str) -> None:
    """``mode``, ``reversible64`` or ``MODE-autograd`` (the same block, autograd's loop)."""
    base = mode.removesuffix("-autograd")
    block.set_memory(base if base in MODES else Reversible(drift_tol=0.0))
    inner = getattr(block.field, "force", block.field)  # Verlet: SecondOrder(force)
    autograd = mode.endswith("-autograd")
    inner.sigma = user_tanh if autograd else torch.tanh
    inner.sigma_vjp = None if autograd else activation_vjp(torch.tanh)
    assert block.field.has_vjp != autograd


def _step(block, x: torch.Tensor) -> None:
    """One forward + backward from scratch (gradients set to None first)."""
    block.zero_grad(set_to_none=True)
    x.grad = None
    block(x).square().mean().backward()
    if x.is_cuda:
        torch.cuda.synchronize()


def child_memory(cfg: dict) -> dict:
    """Peak memory of the first forward + backward of one (scheme, mode, depth)."""
    torch.set_num_threads(cfg["threads"])
    warnings.simplefilter("ignore", RuntimeWarning)  # the forced float64 redo warns
    cuda = cfg["device"] == "cuda"
    if not cuda:
        _malloc_thresholds(16 * 1024, 128 * 1024)
    # warm-up at a tiny size: lazy imports (checkpoint imports torch._dynamo, ~70 MiB)
    # and kernel initialisation must not count as the mode's memory
    _step(*_setup(cfg, cfg["mode"], 4, 2))
    block, x = _setup(cfg, cfg["mode"], cfg["depth"], cfg["batch"])
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        _step(block, x)
        peak = torch.cuda.max_memory_allocated() - base
    else:
        base = rss_now()
        reset_peak_rss()
        _step(block, x)
        peak = peak_rss() - base
    grads = sum(t.numel() * t.element_size() for t in [*block.parameters(), x])
    return dict(cfg, peak_mib=peak / MIB, grad_mib=grads / MIB, act_mib=(peak - grads) / MIB)


def child_timing(cfg: dict) -> dict:
    """Median time of each mode in ``cfg["modes"]`` on the same block, interleaved
    round-robin so that load changes on a shared machine hit every mode alike."""
    torch.set_num_threads(cfg["threads"])
    warnings.simplefilter("ignore", RuntimeWarning)
    block, x = _setup(cfg, "store", cfg["depth"], cfg["batch"])
    cpu = {m: [] for m in cfg["modes"]}
    wall = {m: [] for m in cfg["modes"]}
    for rep in range(cfg["repeats"] + 1):  # round 0 warms up
        for mode in cfg["modes"]:
            _set_mode(block, mode)
            t0, c0 = time.perf_counter(), time.process_time()
            _step(block, x)
            if rep:
                wall[mode].append(time.perf_counter() - t0)
                cpu[mode].append(time.process_time() - c0)
    return {m: dict(cpu_s=statistics.median(cpu[m]), wall_s=statistics.median(wall[m]))
            for m in cfg["modes"]}


def spawn(kind: str, cfg: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(cfg)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep(args: argparse.Namespace) -> list[dict]:
    rows = []
    for scheme in args.schemes:
        for depth in args.depths:
            cfg = dict(scheme=scheme, depth=depth, width=args.width, batch=args.batch,
                       h=args.h, repeats=args.repeats, threads=args.threads,
                       device=args.device)
            times = spawn("timing", dict(cfg, modes=args.modes))
            for mode in args.modes:
                rows.append(dict(spawn("memory", dict(cfg, mode=mode)), **times[mode]))
                r = rows[-1]
                print(f"  {scheme} {mode:12s} N={depth:5d} act={r['act_mib']:9.1f} MiB "
                      f"cpu={r['cpu_s']:.3f}s wall={r['wall_s']:.3f}s", file=sys.stderr)
    return rows


def table(rows: list[dict], time_key: str) -> str:
    store = {(r["scheme"], r["depth"]): r for r in rows if r["mode"] == "store"}
    lines = [
        f"| scheme | depth | mode | peak - baseline (MiB) | weight grads (MiB) "
        f"| activations (MiB) | {time_key} (s) | time / store |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ref = store.get((r["scheme"], r["depth"]))
        ratio = f"{r[time_key] / ref[time_key]:.2f}" if ref else "-"
        lines.append(
            f"| {r['scheme']} | {r['depth']} | {r['mode']} | {r['peak_mib']:.1f} | "
            f"{r['grad_mib']:.1f} | {r['act_mib']:.1f} | {r[time_key]:.3f} | {ratio} |"
        )
    return "\n".join(lines)


def bars(rows: list[dict], time_key: str) -> str:
    """The bars: reversible memory flat in depth, time within 1.3x of store; and the written
    adjoint against autograd's loop in each mode."""
    out = []
    for scheme in sorted({r["scheme"] for r in rows}):
        by = {(r["mode"], r["depth"]): r for r in rows if r["scheme"] == scheme}
        depths = sorted({d for _, d in by})
        lo, hi = (64 if 64 in depths else depths[0]), depths[-1]
        if ("reversible", hi) in by and ("reversible", lo) in by:
            a, b = by["reversible", hi]["act_mib"], by["reversible", lo]["act_mib"]
            s_hi, s_lo = by["store", hi]["act_mib"], by["store", lo]["act_mib"]
            out.append(
                f"- {scheme}: reversible activations N={hi} / N={lo}: {a:.1f} / {b:.1f} MiB = "
                f"{a / b:.2f}x (bar 1.5x); store: {s_hi:.1f} / {s_lo:.1f} MiB = "
                f"{s_hi / s_lo:.1f}x (depth ratio {hi / lo:.0f}x)"
            )
            worst = max(by["reversible", d][time_key] / by["store", d][time_key] for d in depths)
            out.append(f"- {scheme}: reversible time / store, worst over depths: {worst:.2f}x "
                       "(bar 1.3x)")
        for mode in MODES:
            pairs = [(by[mode, d][time_key], by[f"{mode}-autograd", d][time_key])
                     for d in depths if (mode, d) in by and (f"{mode}-autograd", d) in by]
            if pairs:
                ratios = [a / b for a, b in pairs]
                out.append(f"- {scheme}: {mode} written adjoint / autograd: "
                           f"{min(ratios):.2f}-{max(ratios):.2f}x over depths")
    return "\n".join(out)


def plot(rows: list[dict], path: str, time_key: str) -> None:
    plt = pyplot()

    fig, (ax_m, ax_t) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"store": "o-", "reversible": "s-", "checkpoint": "^--", "reversible64": "s:",
              "store-autograd": "o:", "checkpoint-autograd": "^:", "reversible-autograd": "s-."}
    for scheme in sorted({r["scheme"] for r in rows}):
        for mode in MODES + EXTRA_MODES:
            sel = sorted((r for r in rows if (r["scheme"], r["mode"]) == (scheme, mode)),
                         key=lambda r: r["depth"])
            if not sel:
                continue
            d = [r["depth"] for r in sel]
            label = f"{scheme} {mode}"
            ax_m.loglog(d, [max(r["act_mib"], 0.1) for r in sel], styles[mode], label=label)
            ax_t.loglog(d, [r[time_key] for r in sel], styles[mode], label=label)
    ax_m.set(xlabel="depth N", ylabel="activation memory (MiB)", title="peak memory")
    ylabel = {"cpu_s": "CPU time (s)", "wall_s": "wall time (s)"}[time_key]
    ax_t.set(xlabel="depth N", ylabel=ylabel, title="forward + backward time")
    for ax in (ax_m, ax_t):
        ax.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)


def drift(args: argparse.Namespace) -> str:
    """float32 reconstruction drift and gradient errors against a float64 store reference."""
    torch.set_num_threads(args.threads)
    lines = [
        "| scheme | depth | h | \\|y_N\\| / \\|x\\| | drift (float32) | grad error: store f32 | "
        "reversible f32 unguarded | reversible f32 guarded | guard used |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scheme in args.schemes:
        for depth in args.drift_depths:
            for h in args.drift_h:
                torch.manual_seed(0)
                block = sn.build_block(scheme, args.width, depth, h * depth, bias="feature")
                x = torch.randn(args.drift_batch, args.width)
                with torch.no_grad():
                    growth = float(block(x).norm() / x.norm())
                ref = _grad(block.double(), x.double(), "store", DRIFT_TOL)
                block.float()
                err = {}
                for name, mode, tol in [("store", "store", DRIFT_TOL),
                                        ("free", "reversible", float("inf")),
                                        ("guard", "reversible", DRIFT_TOL)]:
                    err[name] = float((_grad(block, x, mode, tol) - ref).norm() / ref.norm())
                used = "yes" if block.last_drift > DRIFT_TOL else "no"
                lines.append(
                    f"| {scheme} | {depth} | {h:g} | {growth:.1f} | {block.last_drift:.1e} | "
                    f"{err['store']:.1e} | {err['free']:.1e} | {err['guard']:.1e} | {used} |"
                )
                print(lines[-1], file=sys.stderr)
    return "\n".join(lines)


def _grad(block, x: torch.Tensor, mode: str, tol: float) -> torch.Tensor:
    block.set_memory(Reversible(drift_tol=tol) if mode == "reversible" else mode)
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        block(x).square().mean().backward()
    return torch.cat([g.flatten().double() for g in (x.grad, block.K.grad, block.b.grad)])


def header(args: argparse.Namespace) -> str:
    dev = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor()
    return (
        f"`{' '.join(['python', 'benchmarks/memory.py', *sys.argv[1:]])}` on {dev or 'cpu'} "
        f"({os.cpu_count()} cores visible, {args.threads} torch thread(s)), Python "
        f"{platform.python_version()}, torch {torch.__version__}, {platform.platform()}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sweep (depths <= 1024)")
    p.add_argument("--depths", type=int, nargs="+", default=[16, 64, 256, 1024, 4096])
    p.add_argument("--schemes", nargs="+", default=["hamiltonian", "leapfrog"])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES + EXTRA_MODES,
                   help="reversible64: reversible with the float64 redo of the drift guard "
                   "forced, to measure its cost")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--h", type=float, default=0.01, help="step size; T = h * depth")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--plot", default="docs/figures/memory.png")
    p.add_argument("--markdown", help="also write the tables to this file")
    p.add_argument("--drift", action="store_true", help="measure float32 drift instead")
    p.add_argument("--drift-depths", type=int, nargs="+", default=[1024, 4096])
    p.add_argument("--drift-h", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2])
    p.add_argument("--drift-batch", type=int, default=64)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, cfg = args.child
        run = child_memory if kind == "memory" else child_timing
        print(json.dumps(run(json.loads(cfg))))
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available")
    if args.quick:
        args.depths, args.schemes, args.repeats = [16, 64, 256, 1024], ["hamiltonian"], 2
        args.drift_depths, args.drift_h = [1024], [0.05]
    if args.drift:
        text = header(args) + "\n\n" + drift(args)
    else:
        rows = sweep(args)
        tkey = "wall_s" if args.device == "cuda" else "cpu_s"
        text = f"{header(args)}\n\n{table(rows, tkey)}\n\n{bars(rows, tkey)}"
        if args.plot:
            plot(rows, args.plot, tkey)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
