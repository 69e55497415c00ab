"""User-style problems: stablenet with its defaults against plain references, same run.

What a new user does with their own table, measured: each problem is written to a CSV
(features, and the label as the user has it: iris as its species names), and
``stablenet.train.train(TrainConfig(dataset=CSV, arch=A, seed=s))`` runs with every other
option at its default (the CSV is split into training and validation by the library
itself; the reported model is the best-validation one). A test set that neither side sees
in training (25%, stratified, drawn by the seed s) gives the accuracy of
``stablenet.predict(model, x_test)`` and of the references fitted on the same rows in the
same process: scikit-learn's ``MLPClassifier`` (one hidden layer of 64, adam, max_iter
2000) and ``LogisticRegression``, both on ``StandardScaler``-ed inputs. The reference of
a problem is the better of the two (mean test accuracy over the seeds).

Problems (``userdata_problems.py``) come in two sets: ``tuning`` (the defaults were chosen
on them) and ``held-out`` (reported separately: how the defaults generalise). The tables
give the mean test accuracy over the seeds and the worst architecture's gap to the
reference in points; the summary counts the problems where every architecture is within
``--target`` points (default 2). Stability, for every run: whether ``train`` warned that
the initial network is unstable (``init warn``), and the smallest stability margin of the
trained network at test data (``stablenet.analysis.stability_margins``: 2 - h |lambda| for
Verlet / leapfrog, 1 - |1 + h lambda| for forward Euler; < 0 is unstable).

    pip install -e ".[bench]"                        # scikit-learn, benchmark-only
    python benchmarks/userdata.py --quick            # 5 problems, 1 seed (about a minute)
    python benchmarks/userdata.py                    # 11 problems x 3 architectures x 10 seeds
    python benchmarks/userdata.py --problems iris moons --archs hamiltonian --seeds 0
    python benchmarks/userdata.py --set depth=32 T=5 "width=max(8, 2 * f)"   # try a change
    python benchmarks/userdata.py --markdown report.md --json runs.json

``--set KEY=VALUE`` overrides TrainConfig options for every stablenet run (to try other
defaults; ``width`` may be an expression of the feature count ``f``). Time: the process
CPU time of each fit (one torch thread), for scale only.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from userdata_problems import QUICK, SETS, problems  # noqa: E402
from userdata_report import accuracy_table, cpu_line, stability_table  # noqa: E402

ARCHS = ("hamiltonian", "antisymmetric", "leapfrog")


@dataclass
class Row:
    problem: str
    set: str
    seed: int
    method: str
    n: int
    features: int
    classes: int
    test_accuracy: float
    cpu_s: float
    init_warning: bool | None = None  # train() warned that the initial network is unstable
    trained_margin: float | None = None  # min stability margin of the trained net at data
    best_epoch: int | None = None


def _cpu() -> float:
    return time.process_time()


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    head = ",".join([f"f{j}" for j in range(x.shape[1])] + ["label"])
    lines = [head] + [",".join([*(f"{v:.9g}" for v in row), str(lab)])
                      for row, lab in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def references(x_tr, y_tr, x_te, y_te) -> dict[str, tuple[float, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {}
    for name, clf in (("mlp", MLPClassifier((64,), max_iter=2000, random_state=0)),
                      ("logistic", LogisticRegression(max_iter=5000))):
        t0 = _cpu()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make_pipeline(StandardScaler(), clf).fit(x_tr, y_tr)
        out[name] = (float(np.mean(model.predict(x_te) == y_te)), _cpu() - t0)
    return out


def config_overrides(settings: dict[str, Any], n_features: int) -> dict[str, Any]:
    """``--set`` values for one problem: ``width`` given as text is evaluated with f = F."""
    out = dict(settings)
    if isinstance(out.get("width"), str):
        out["width"] = int(eval(out["width"], {"__builtins__": {}},  # noqa: S307
                                {"f": n_features, "max": max, "min": min, "round": round}))
    return out


def trained_margin(model: torch.nn.Module, x: np.ndarray) -> float:
    """The smallest stability margin over the layers of the trained model, at 8 test rows."""
    from stablenet.analysis import stability_margins

    p = next(model.parameters())
    xs = torch.as_tensor(x[:8], dtype=p.dtype)
    return min(m.min_margin for m in stability_margins(model, xs))


def stablenet_run(arch: str, csv: Path, x_te, y_te, seed: int,
                  settings: dict[str, Any]) -> dict[str, Any]:
    import stablenet
    from stablenet.train import TrainConfig, train

    t0 = _cpu()
    config = TrainConfig(dataset=str(csv), arch=arch, seed=seed,
                         **config_overrides(settings, x_te.shape[1]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(config)
        pred = stablenet.predict(result.model, x_te.astype(np.float32))
    seconds = _cpu() - t0
    init_warn = any(issubclass(w.category, RuntimeWarning) and "unstable" in str(w.message)
                    for w in caught)
    truth = [v.item() if hasattr(v, "item") else v for v in y_te]
    acc = float(np.mean([p == t for p, t in zip(pred.labels, truth, strict=True)]))
    return dict(test_accuracy=acc, cpu_s=seconds, init_warning=init_warn,
                trained_margin=trained_margin(result.model, x_te),
                best_epoch=result.metrics["best_epoch"])


def run_problem(name: str, which: str, seed: int, archs, tmp: Path,
                settings: dict[str, Any]) -> list[Row]:
    from sklearn.model_selection import train_test_split

    x, y = problems()[name](seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y,
                                              random_state=seed)
    meta = dict(problem=name, set=which, seed=seed, n=len(y), features=x.shape[1],
                classes=len(set(y.tolist())))
    rows = [Row(method=m, test_accuracy=a, cpu_s=t, **meta)
            for m, (a, t) in references(x_tr, y_tr, x_te, y_te).items()]
    csv = tmp / f"{name}-{seed}.csv"
    write_csv(csv, x_tr, y_tr)
    for arch in archs:
        out = stablenet_run(arch, csv, x_te, y_te, seed, settings)
        rows.append(Row(method=arch, **out, **meta))
        print(f"  {name} seed {seed} {arch}: {out['test_accuracy']:.3f} "
              f"({out['cpu_s']:.1f} s, best epoch {out['best_epoch']}, margin "
              f"{out['trained_margin']:.3g}{', init warning' if out['init_warning'] else ''})",
              flush=True)
    return rows


def header(args: argparse.Namespace) -> list[str]:
    import sklearn

    return ["# User-style problems: stablenet defaults against scikit-learn", "",
            "Command: `python benchmarks/userdata.py " + " ".join(args.argv) + "`", "",
            f"Machine: {platform.machine()}, {platform.system()}, 1 torch thread; python "
            f"{platform.python_version()}, torch {torch.__version__}, scikit-learn "
            f"{sklearn.__version__}", "",
            "Test accuracy in % (mean over seeds "
            f"{', '.join(map(str, args.seeds))}); mlp and logistic: scikit-learn on "
            "standardised inputs; the architectures: `stablenet train` defaults"
            + (f" with {args.set}" if args.set else "") + ".", ""]


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that is a Python literal is read as one, else as text."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problems", nargs="+", default=[n for s in SETS.values() for n in s])
    p.add_argument("--archs", nargs="+", default=list(ARCHS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    p.add_argument("--quick", action="store_true",
                   help=f"problems {', '.join(QUICK)} with seed 0 (about a minute)")
    p.add_argument("--sets", nargs="+", choices=list(SETS), help="only these problem sets")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="TrainConfig overrides for every stablenet run (width may use f)")
    p.add_argument("--target", type=float, default=2.0, help="points from the reference")
    p.add_argument("--markdown", type=Path, help="also write the report here")
    p.add_argument("--json", type=Path, help="write every run here")
    args = p.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    if args.quick:
        args.problems, args.seeds = list(QUICK), [0]
    if args.sets:
        args.problems = [n for n in args.problems if any(n in SETS[s] for s in args.sets)]
    known = [n for s in SETS.values() for n in s]
    unknown = [n for n in args.problems if n not in known]
    if unknown:
        p.error(f"unknown problem(s) {unknown}; choose from {known}")
    args.settings = parse_settings(args.set)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    torch.set_num_threads(1)
    which = {n: s for s, names in SETS.items() for n in names}
    rows: list[Row] = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.problems:
            for seed in args.seeds:
                rows += run_problem(name, which[name], seed, args.archs, Path(tmp),
                                    args.settings)
    report = header(args)
    for s in SETS:
        if any(r.set == s for r in rows):
            report += accuracy_table(rows, args.archs, s, args.target)
            report += stability_table(rows, args.archs, s)
    report += [cpu_line(rows, args.archs) + f" Wall time {time.time() - t0:.0f} s.", ""]
    text = "\n".join(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
