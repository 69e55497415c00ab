"""Block coordinate descent (the paper's Newton-CG / Gauss-Newton-CG) vs Adam vs L-BFGS.

On the paper's 2-D problems (ellipses, swiss roll, peaks), train the same model from the
same initialisation with each optimizer on the full training set and record, until the
validation accuracy first reaches the bar (>= 99% ellipses and swiss roll, >= 97% peaks)
or the budget runs out: iterations, forward passes (f), backward passes (g) and
Gauss-Newton products through the network, and the time. The objective is the library's:
mean cross-entropy + ``regularization(model, alpha, beta)``.

* ``bcd``: ``stablenet.optim.BlockCoordinateDescent`` (one iteration = one outer step);
  f and g count the network passes of the step (the classifier's Newton phase runs on
  fixed features and is not a network pass), "products" the Gauss-Newton products.
* ``adam``: ``torch.optim.Adam`` at each of ``--adam-lr`` (default 0.01, 0.03, 0.1; one f
  and one g per iteration).
* ``lbfgs``: ``torch.optim.LBFGS`` (history 20, strong-Wolfe line search) with
  ``--lbfgs-iters`` iterations per ``step`` (default 5; validation is checked after each
  ``step``, so its time to the bar is resolved to 5 iterations; with 1 or 2 iterations per
  ``step`` torch 2.13's L-BFGS stalls with a zero step on these problems); f/g count
  distinct closure evaluations (torch's re-evaluation at the start of each ``step``, at an
  already evaluated point, is served from a cache and not counted).

Time is the process CPU time of the optimizer's own work (validation and two warm-up
steps on a throw-away model excluded) with
``--threads`` intra-op threads (default 1: robust on a shared machine); wall time is
recorded too. Writes a JSON of all traces, prints a markdown table (medians over seeds of
the runs that reached the bar) and draws the best validation accuracy so far (what
best-validation selection keeps) versus time.

    python benchmarks/bcd_compare.py                      # 3 problems x 3 optimizers x 3 seeds
    python benchmarks/bcd_compare.py --quick              # 1 seed, shorter budget
    python benchmarks/bcd_compare.py --figure docs/figures/bcd_val_vs_time.png
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from stablenet import build_model
from stablenet.data import load_dataset
from stablenet.objective import regularization
from stablenet.optim import BlockCoordinateDescent
from stablenet.plotting import pyplot

# problem -> accuracy bar and model / regulariser settings (same for every optimizer)
PROBLEMS = {
    "ellipses": dict(bar=0.99, arch="hamiltonian", width=4, depth=16, T=20.0, alpha=5e-3,
                     beta=1e-4),
    "swissroll": dict(bar=0.99, arch="hamiltonian", width=4, depth=16, T=20.0, alpha=5e-3,
                      beta=1e-4),
    "peaks": dict(bar=0.97, arch="hamiltonian", width=8, depth=16, T=20.0, alpha=5e-3,
                  beta=1e-4),
}
OPTIMIZERS = ("bcd", "adam", "lbfgs")


@dataclass
class Trace:
    problem: str
    optimizer: str
    seed: int
    iters: list[int] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    f: list[int] = field(default_factory=list)
    g: list[int] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    val: list[float] = field(default_factory=list)

    def first_at(self, bar: float) -> int | None:
        return next((i for i, v in enumerate(self.val) if v >= bar), None)


class Clock:
    """Accumulates CPU and wall time of the timed sections only."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0

    def __enter__(self) -> Clock:
        self._c, self._w = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.cpu += time.process_time() - self._c
        self.wall += time.perf_counter() - self._w


def objective(model, x, y, alpha, beta):
    return F.cross_entropy(model(x), y) + regularization(model, alpha, beta)


class Counted:
    """Closure for Adam / L-BFGS: f + g, counting distinct evaluations (cached by point)."""

    def __init__(self, model, x, y, alpha, beta, cache: int = 0) -> None:
        self.model, self.args = model, (x, y, alpha, beta)
        self.params = list(model.parameters())
        self.evals, self.cache, self.size = 0, [], cache

    def __call__(self) -> torch.Tensor:
        point = torch.cat([p.detach().reshape(-1) for p in self.params])
        for key, loss, grads in self.cache:
            if torch.equal(key, point):
                for p, gr in zip(self.params, grads, strict=True):
                    p.grad = gr.clone()
                return loss
        for p in self.params:
            p.grad = None
        loss = objective(self.model, *self.args)
        loss.backward()
        self.evals += 1
        if self.size:
            grads = [p.grad.detach().clone() for p in self.params]
            self.cache = ([(point, loss.detach(), grads)] + self.cache)[: self.size]
        return loss


def make_stepper(name: str, model, data, cfg, args) -> Callable[[], tuple[int, ...]]:
    """A function doing one ``step`` and returning the (f, g, products, iterations) it cost
    (L-BFGS: ``--lbfgs-iters`` iterations per ``step``, fewer if it stops early)."""
    x, y, alpha, beta = data.x_train, data.y_train, cfg["alpha"], cfg["beta"]
    if name == "bcd":
        opt = BlockCoordinateDescent(model, alpha, beta, seed=0, **args.bcd)

        def step():
            info = opt.step(model, x, y)
            return (info["network_function_evals"], info["network_gradient_evals"],
                    info["network_cg_iters"], 1)

        return step
    if name.startswith("adam"):
        adam = torch.optim.Adam(model.parameters(), lr=float(name.split("=")[1]))
        closure = Counted(model, x, y, alpha, beta)

        def step():
            adam.step(closure)
            return 1, 1, 0, 1

        return step
    lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=args.lbfgs_iters,
                              history_size=20, line_search_fn="strong_wolfe")
    closure = Counted(model, x, y, alpha, beta, cache=32)
    state = lbfgs.state[lbfgs.param_groups[0]["params"][0]]

    def step():
        before, iters = closure.evals, state.get("n_iter", 0)
        lbfgs.step(closure)
        evals = closure.evals - before
        return evals, evals, 0, state["n_iter"] - iters

    return step


def _model(cfg, data, seed: int):
    torch.manual_seed(seed)
    return build_model(cfg["arch"], (2,), data.num_classes, width=cfg["width"],
                       depth=cfg["depth"], T=cfg["T"])


def run(problem: str, name: str, seed: int, data, args) -> Trace:
    cfg = PROBLEMS[problem]
    warm = make_stepper(name, _model(cfg, data, seed + 1000), data, cfg, args)
    for _ in range(2):  # one-time costs (lazy initialisation, allocator) are not timed
        warm()
    model = _model(cfg, data, seed)
    step = make_stepper(name, model, data, cfg, args)
    trace, clock, totals = Trace(problem, name, seed), Clock(), [0, 0, 0, 0]
    for _ in range(args.max_steps):
        with clock:
            cost = step()
        totals = [a + b for a, b in zip(totals, cost, strict=True)]
        with torch.no_grad():
            val = (model(data.x_val).argmax(1) == data.y_val).double().mean().item()
        trace.iters.append(totals[3])
        trace.cpu_s.append(clock.cpu)
        trace.wall_s.append(clock.wall)
        trace.f.append(totals[0])
        trace.g.append(totals[1])
        trace.products.append(totals[2])
        trace.val.append(val)
        if val >= cfg["bar"] or clock.cpu > args.budget:
            break
    return trace


def summarise(traces: list[Trace]) -> list[dict]:
    rows = []
    for problem in dict.fromkeys(t.problem for t in traces):
        bar = PROBLEMS[problem]["bar"]
        for name in dict.fromkeys(t.optimizer for t in traces if t.problem == problem):
            group = [t for t in traces if t.problem == problem and t.optimizer == name]
            hits = [(t, t.first_at(bar)) for t in group]
            hits = [(t, i) for t, i in hits if i is not None]

            def med(attr, hits=hits):
                return statistics.median(getattr(t, attr)[i] for t, i in hits) if hits else None

            rows.append(dict(
                problem=problem, bar=bar, optimizer=name, reached=f"{len(hits)}/{len(group)}",
                iters=med("iters"), f=med("f"), g=med("g"), products=med("products"),
                cpu_s=med("cpu_s"), wall_s=med("wall_s"),
                best_val=statistics.median(max(t.val) for t in group),
            ))
    return rows


def markdown(rows: list[dict]) -> str:
    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    lines = ["| problem (bar) | optimizer | reached | iterations | f | g | GN products | "
             "CPU s | wall s | median best val |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['problem']} ({r['bar']:.0%}) | {r['optimizer']} | {r['reached']} | "
            f"{fmt(r['iters'], '.0f')} | {fmt(r['f'], '.0f')} | {fmt(r['g'], '.0f')} | "
            f"{fmt(r['products'], '.0f')} | {fmt(r['cpu_s'], '.2f')} | "
            f"{fmt(r['wall_s'], '.2f')} | {r['best_val']:.3f} |"
        )
    return "\n".join(lines)


def figure(traces: list[Trace], path: Path) -> None:
    plt = pyplot()

    problems = list(dict.fromkeys(t.problem for t in traces))
    names = list(dict.fromkeys(t.optimizer for t in traces))
    blues = iter(["#9ecae1", "#4292c6", "#08519c", "#08306b"])
    colors = {n: "tab:red" if n == "bcd" else "tab:green" if n == "lbfgs" else next(blues, "b")
              for n in names}
    fig, axes = plt.subplots(1, len(problems), figsize=(4.2 * len(problems), 3.4), squeeze=False)
    for ax, problem in zip(axes[0], problems, strict=True):
        for t in (t for t in traces if t.problem == problem):
            label = t.optimizer if t.seed == min(s.seed for s in traces) else None
            best = [max(t.val[: i + 1]) for i in range(len(t.val))]
            ax.step(t.cpu_s, best, where="post", color=colors[t.optimizer], lw=1.3, alpha=0.85,
                    label=label)
        ax.axhline(PROBLEMS[problem]["bar"], color="k", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_ylim(0.4, 1.0)
        ax.set_title(f"{problem} (bar {PROBLEMS[problem]['bar']:.0%})")
        ax.set_xlabel("CPU time of the optimizer [s]")
    axes[0][0].set_ylabel("best validation accuracy so far")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def _keywords(text: str) -> dict[str, float | int | None]:
    out = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        out[key] = None if value == "None" else (float(value) if "." in value or "e" in value
                                                 else int(value))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=OPTIMIZERS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0, help="CPU seconds per run")
    parser.add_argument("--adam-lr", type=float, nargs="+", default=[1e-2, 3e-2, 1e-1],
                        help="Adam learning rates (each is run as its own optimizer)")
    parser.add_argument("--bcd", type=_keywords, default={},
                        help="BlockCoordinateDescent keywords, e.g. cg_iters=10,gn_iters=1")
    parser.add_argument("--lbfgs-iters", type=int, default=5,
                        help="L-BFGS iterations per step (validation is checked per step)")
    parser.add_argument("--max-steps", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 seed, 20 s budget")
    parser.add_argument("--json", type=Path, default=Path("bcd_compare.json"))
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget = 1, 20.0
    torch.set_num_threads(args.threads)
    traces = []
    for problem in args.problems:
        data = load_dataset(problem, seed=0)
        for seed in range(args.seeds):
            names = [n for o in args.optimizers for n in (
                [f"adam lr={lr:g}" for lr in args.adam_lr] if o == "adam" else [o])]
            for name in names:
                trace = run(problem, name, seed, data, args)
                i = trace.first_at(PROBLEMS[problem]["bar"])
                print(f"{problem:9s} {name:12s} seed {seed}: best val {max(trace.val):.3f}, "
                      + (f"bar at iter {trace.iters[i]}, {trace.cpu_s[i]:.2f} CPU s"
                         if i is not None else "bar not reached"), flush=True)
                traces.append(trace)
    rows = summarise(traces)
    print(f"\ntorch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.threads} thread(s), budget {args.budget} CPU s, adam lr {args.adam_lr}, "
          f"bcd {args.bcd or 'defaults'}\n")
    print(markdown(rows))
    args.json.write_text(json.dumps(
        {"rows": rows, "traces": [asdict(t) for t in traces], "args": {
            k: v for k, v in vars(args).items() if k not in ("json", "figure")}},
        default=str, indent=1))
    if args.figure is not None:
        figure(traces, args.figure)


if __name__ == "__main__":
    main()
