"""User-style problems: stablenet with its defaults against a plain reference, same run.

What a new user does with their own table, measured: each problem is written to a CSV
(features, and the label as the user has it: iris as its species names), and
``stablenet.train.train(TrainConfig(dataset=CSV, arch=A, seed=0))`` runs with every
other option at its default (the CSV is split into training and validation by the
library itself; the reported model is the best-validation one). A test set that neither
side sees in training (25%, stratified, by ``--seeds``) gives the accuracy of
``stablenet.predict(model, x_test)``, and of the references fitted on the same rows in
the same process: scikit-learn's ``MLPClassifier`` (one hidden layer of 64, adam,
max_iter 2000) and ``LogisticRegression``, both on ``StandardScaler``-ed inputs.

Problems (scikit-learn's bundled tables and 2-D generators), in two sets: ``tuning``
(the problems defaults may be chosen on) and ``held-out`` (reported separately: how the
defaults generalise). The table gives test accuracy (median over seeds) and the gap to
the MLP in points; the summary counts the problems where every architecture is within
``--target`` points (default 2) of the reference.

    pip install scikit-learn                         # benchmark-only, not a dependency
    python benchmarks/userdata.py                    # every problem, 3 architectures
    python benchmarks/userdata.py --problems iris moons --archs hamiltonian --seeds 0
    python benchmarks/userdata.py --markdown report.md --json runs.json

Time: the process CPU time of each fit (one torch thread), for scale only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

import stablenet
from stablenet.train import TrainConfig, train

ARCHS = ("hamiltonian", "antisymmetric", "leapfrog")


def _tables() -> dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]]:
    from sklearn import datasets as d  # lazily: scikit-learn is optional (stablenet[bench])

    def iris(seed):
        data = d.load_iris()
        return data.data, data.target_names[data.target]  # text labels, as a user has them

    def digits(seed):  # 8 x 8 images as 64 tabular features (0..16)
        return d.load_digits(return_X_y=True)

    def scaled_classification(seed):  # 20 features, 6 informative, scales 1e-2 .. 1e3
        x, y = d.make_classification(600, 20, n_informative=6, n_classes=3,
                                     random_state=100 + seed)
        return x * np.logspace(-2, 3, 20), y + 1  # labels 1, 2, 3

    return {
        "iris": iris,
        "wine": lambda seed: d.load_wine(return_X_y=True),
        "breast_cancer": lambda seed: d.load_breast_cancer(return_X_y=True),
        "moons": lambda seed: d.make_moons(500, noise=0.25, random_state=100 + seed),
        "circles": lambda seed: d.make_circles(500, noise=0.1, factor=0.5,
                                               random_state=100 + seed),
        "digits": digits,
        "blobs": lambda seed: d.make_blobs(600, centers=4, cluster_std=2.0,
                                           random_state=100 + seed),
        "scaled_classification": scaled_classification,
        "quantiles": lambda seed: d.make_gaussian_quantiles(n_samples=500, n_features=2,
                                                            n_classes=3,
                                                            random_state=100 + seed),
    }


SETS = {"tuning": ("iris", "wine", "breast_cancer", "moons", "circles"),
        "held-out": ("digits", "blobs", "scaled_classification", "quantiles")}


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


def _cpu() -> float:
    return time.process_time()


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    head = ",".join([f"f{j}" for j in range(x.shape[1])] + ["label"])
    lines = [head] + [",".join([*(f"{v:.9g}" for v in row), str(lab)])
                      for row, lab in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def references(x_tr, y_tr, x_te, y_te) -> dict[str, tuple[float, float]]:
    from sklearn.linear_model import (
        LogisticRegression,  # lazily: scikit-learn is optional (stablenet[bench])
    )
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


def stablenet_run(arch: str, csv: Path, x_te, y_te) -> tuple[float, float]:
    t0 = _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train(TrainConfig(dataset=str(csv), arch=arch, seed=0)).model
        pred = stablenet.predict(model, x_te.astype(np.float32))
    truth = [v.item() if hasattr(v, "item") else v for v in y_te]
    return float(np.mean([p == t for p, t in zip(pred.labels, truth, strict=True)])), _cpu() - t0


def run_problem(name: str, which: str, seed: int, archs, tmp: Path) -> list[Row]:
    from sklearn.model_selection import (
        train_test_split,  # lazily: scikit-learn is optional (stablenet[bench])
    )

    x, y = _tables()[name](seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y,
                                              random_state=seed)
    meta = dict(problem=name, set=which, seed=seed, n=len(y), features=x.shape[1],
                classes=len(set(y.tolist())))
    rows = [Row(method=m, test_accuracy=a, cpu_s=t, **meta)
            for m, (a, t) in references(x_tr, y_tr, x_te, y_te).items()]
    csv = tmp / f"{name}-{seed}.csv"
    write_csv(csv, x_tr, y_tr)
    for arch in archs:
        acc, t = stablenet_run(arch, csv, x_te, y_te)
        rows.append(Row(method=arch, test_accuracy=acc, cpu_s=t, **meta))
        print(f"  {name} seed {seed} {arch}: {acc:.3f} ({t:.1f} s)", flush=True)
    return rows


def table(rows: list[Row], archs, which: str, target: float) -> list[str]:
    methods = ["mlp", "logistic", *archs]
    lines = [f"### {which} problems", "",
             "| problem | n | features | classes | " + " | ".join(methods)
             + " | worst gap to mlp (points) |",
             "|---" * (len(methods) + 5) + "|"]
    met = total = 0
    for problem in dict.fromkeys(r.problem for r in rows if r.set == which):
        mine = [r for r in rows if r.problem == problem]
        acc = {m: statistics.median(r.test_accuracy for r in mine if r.method == m)
               for m in methods}
        gap = max(100 * (acc["mlp"] - acc[a]) for a in archs) if archs else 0.0
        met, total = met + (gap <= target), total + 1
        r0 = mine[0]
        lines.append(f"| {problem} | {r0.n} | {r0.features} | {r0.classes} | "
                     + " | ".join(f"{100 * acc[m]:.1f}" for m in methods) + f" | {gap:+.1f} |")
    lines += ["", f"Every architecture within {target:g} points of the MLP on {met} of {total} "
              f"{which} problems.", ""]
    return lines


def header(args: argparse.Namespace) -> list[str]:
    import sklearn  # lazily: scikit-learn is optional (stablenet[bench])

    return ["# User-style problems: stablenet defaults against scikit-learn", "",
            "Command: `python benchmarks/userdata.py " + " ".join(args.argv) + "`", "",
            f"Machine: {platform.processor() or platform.machine()}, 1 torch thread; python "
            f"{platform.python_version()}, torch {torch.__version__}, scikit-learn "
            f"{sklearn.__version__}", "",
            "Test accuracy in % (median over seeds "
            f"{', '.join(map(str, args.seeds))}); mlp and logistic: scikit-learn on "
            "standardised inputs; the architectures: `stablenet train` defaults.", ""]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problems", nargs="+", default=[n for s in SETS.values() for n in s])
    p.add_argument("--archs", nargs="+", default=list(ARCHS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--target", type=float, default=2.0, help="points from the reference")
    p.add_argument("--markdown", type=Path, help="also write the report here")
    p.add_argument("--json", type=Path, help="write every run here")
    args = p.parse_args(argv)
    args.argv = argv if argv is not None else __import__("sys").argv[1:]
    torch.set_num_threads(1)
    which = {n: s for s, names in SETS.items() for n in names}
    unknown = [n for n in args.problems if n not in which]
    if unknown:
        p.error(f"unknown problem(s) {unknown}; choose from {list(which)}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.problems:
            for seed in args.seeds:
                rows += run_problem(name, which[name], seed, args.archs, Path(tmp))
    report = header(args)
    for s in SETS:
        if any(r.set == s for r in rows):
            report += table(rows, args.archs, s, args.target)
    text = "\n".join(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
