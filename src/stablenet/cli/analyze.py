"""``stablenet analyze``: is my network stable? A report with verdicts and figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ..analysis import figures as fig
from ..analysis.report import analyze, markdown, summary
from ..checks import nonnegative_int, positive_int, positive_real
from ..data import load_dataset
from ..errors import CheckpointError, ConfigError, DataError
from ..io import ensure_writable_dir, save_text
from ..registry import load, model_file
from ._common import out_path

COMMAND = "analyze"
HELP = ("stability report of a saved model (RUN_DIR or model.pt): eigenvalues and stability "
        "regions, stability margins, gradient norms versus layer, sensitivity")

FIGURES = {
    "eigenvalues": "stability_eigenvalues.png",
    "margins": "stability_margins.png",
    "gradients": "stability_gradients.png",
    "sensitivity": "stability_sensitivity.png",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a training run directory (with model.pt) or a model file")
    parser.add_argument("--data", default=None,
                        help="dataset name (ellipses, swissroll, peaks, mnist, ...) or a .npz/.csv "
                        "path; without it the inputs are random N(0, 1)")
    parser.add_argument("--data-root", default=None, help="root directory of MNIST-type data")
    parser.add_argument("--out", required=True, type=out_path,
                        help="output directory for report.md etc.")
    parser.add_argument("--samples", type=int, default=64,
                        help="validation samples for sensitivity and gradients (default 64)")
    parser.add_argument("--spectra-samples", type=int, default=8,
                        help="samples whose states give the Jacobian spectra (default 8)")
    parser.add_argument("--image-size", type=int, default=8,
                        help="image size for conv weight spectra without data (default 8)")
    parser.add_argument("--threshold", type=float, default=100.0,
                        help="ratio above which gradients explode / below 1/threshold vanish")
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs/directions")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines (on stderr) while the checks run")


def model_path(path: str) -> Path:
    p = model_file(path)
    if not p.exists():
        raise CheckpointError(f"model file {path} does not exist")
    return p


def load_inputs(args: argparse.Namespace, input_shape: tuple[int, ...]):
    """(x, labels or None, description) from --data, else random N(0, 1) inputs."""
    if args.data is None:
        gen = torch.Generator().manual_seed(args.seed)
        x = torch.randn((args.samples, *input_shape), generator=gen)
        return x, None, f"{args.samples} random N(0, 1) inputs (seed {args.seed}); no labels"
    split = load_dataset(args.data, data_root=args.data_root, seed=args.seed)
    if tuple(split.input_shape) != tuple(input_shape):
        raise DataError(
            f"dataset {args.data!r} has inputs of shape {tuple(split.input_shape)} but the model "
            f"expects {tuple(input_shape)}; analyse it with the data it was trained on"
        )
    n = min(args.samples, len(split.x_val))
    return (split.x_val[:n], split.y_val[:n],
            f"{n} validation samples of {split.name} (with labels)")


def check_args(args: argparse.Namespace) -> None:
    """ConfigError naming the first numeric flag with a bad value (checked here only)."""
    for flag in ("samples", "spectra_samples", "image_size"):
        positive_int("--" + flag.replace("_", "-"), getattr(args, flag))
    positive_real("--threshold", args.threshold)
    nonnegative_int("--seed", args.seed)


def run(args: argparse.Namespace) -> int:
    check_args(args)
    path = model_path(args.model)
    model = load(path)
    if not hasattr(model, "config"):  # a single saved block: its own input shape
        raise ConfigError(f"{path} holds a single block; `stablenet analyze` takes a model "
                          "(use stablenet.analysis on a block from Python)")
    x, labels, described = load_inputs(args, tuple(model.config["input_shape"]))
    out = ensure_writable_dir(args.out)  # before the analysis, which can take minutes
    result = analyze(model, x, labels, data=described, spectra_samples=args.spectra_samples,
                     seed=args.seed, threshold=args.threshold, image_size=args.image_size,
                     progress=None if args.quiet else _progress)
    result.extra = {"model": str(path), "architecture": model.config.get("arch", "?")}
    if not (args.no_figures or args.quiet):
        _progress("figures ...")
    figures = {} if args.no_figures else write_figures(result, out)
    save_text(markdown(result, figures, f"Stability report: {path}"), out / "report.md")
    save_text(json.dumps(summary(result), indent=1), out / "summary.json")
    for line in summary(result)["verdicts"]:
        print(line.replace("**", ""))
    print(f"wrote {out / 'report.md'}, {out / 'summary.json'} and {len(figures)} figures")
    return 0


def _progress(line: str) -> None:
    """A progress line of the analysis, on stderr (the verdicts go to stdout)."""
    print(f"stablenet analyze: {line}", file=sys.stderr, flush=True)


def write_figures(result, out: Path) -> dict[str, str]:
    fig.plot_eigenvalues(result.spectra, out / FIGURES["eigenvalues"])
    fig.plot_margins(result.margins_weights, result.margins_data, out / FIGURES["margins"])
    fig.plot_gradients(result.gradients, out / FIGURES["gradients"])
    fig.plot_sensitivity(result.sensitivity, out / FIGURES["sensitivity"])
    return dict(FIGURES)
