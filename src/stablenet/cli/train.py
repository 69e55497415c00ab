"""``stablenet train``: train a stable network on a paper problem, MNIST or your own data.

Parses the flags into a :class:`stablenet.train.TrainConfig` and calls
:func:`stablenet.train.train`; unset flags take the dataset's defaults (see
``stablenet.train.defaults``). Writes DIR/checkpoint.pt every epoch, and DIR/model.pt,
DIR/metrics.json and DIR/figures/ at the end.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..activations import ACTIVATIONS
from ..blocks import BIAS_MODES
from ..configfile import to_toml
from ..errors import ConfigError, OutputError
from ..io import disk_full, ensure_writable_dir, output_error
from ..layers import PAPER_GAMMA
from ..memory import Checkpoint, Reversible
from ..models import OPENINGS
from ..registry import ARCHITECTURES
from ..schemes import FIRST_ORDER_INTEGRATORS
from ..timegrid import INITS
from ..train import (
    TrainConfig,
    TrainingInterrupted,
    TrainResult,
    check,
    load_checkpoint,
    resolve,
    train,
)
from ..train.checkpoint import check_resume_options
from ..train.config import options_from_file
from ..train.defaults import DEVICES, DTYPES, OPTIMIZERS, SCHEDULES
from ..train.distributed import is_main_process
from ..train.figures import plot_run
from ..train.gpu import AUTOCAST
from ..train.metric import METRICS
from ..train.setup import build, load_data
from ._common import epochs_list, int_list, out_path, relative, say
from ._train_help import epilog

COMMAND = "train"
HELP = "train a stable network (paper problems, MNIST, or a .npz/.csv file)"

#: flags that map one-to-one onto TrainConfig fields (dest -> type / choices)
CONFIG_FLAGS: dict[str, dict[str, Any]] = {
    "arch": dict(choices=ARCHITECTURES, help="architecture (default hamiltonian)"),
    "width": dict(type=int, help="features per layer of dense networks (default: 4, or the "
                  "number of input features if larger)"),
    "channels": dict(type=int_list, help="image networks: channels per stage, e.g. 16,32,64"),
    "depth": dict(type=int, help="layers N per block at the first level (h = T/N)"),
    "T": dict(type=float, help="final time T of the ODE"),
    "levels": dict(type=int, help="multilevel training: levels L (depth doubles per level)"),
    "alpha": dict(type=float, help="time-smoothness weight of R_theta"),
    "beta": dict(type=float, help="classifier weight decay"),
    "gamma": dict(type=float, help="damping of the antisymmetric network (default 0 under "
                  "the midpoint rule, its training default; 2/T under --integrator euler; "
                  f"the authors' {PAPER_GAMMA:g})"),
    "integrator": dict(choices=FIRST_ORDER_INTEGRATORS, help="time stepper of the "
                       "first-order networks (resnet, antisymmetric, parabolic): euler (the "
                       "paper's) or midpoint (y+ = y- + 2h f(y): stable on the imaginary "
                       "axis, invertible). Default: midpoint for antisymmetric (its trained "
                       "networks stay stable; damping 0), euler for resnet and parabolic"),
    "init": dict(choices=tuple(INITS), help="law of the initial K(t): smooth (default; one "
                 "random K for all t plus two small cosine modes), constant, or iid (drawn "
                 "per layer: white noise in t)"),
    "metric": dict(choices=METRICS, help="inner product the blocks' weights are optimised "
                   "in: sobolev (default; depth-independent), l2, euclidean"),
    "activation": dict(choices=tuple(ACTIVATIONS), help="activation sigma (default tanh)"),
    "opening": dict(choices=OPENINGS, help="dense input layer: zero padding or linear"),
    "bias": dict(choices=BIAS_MODES, help="one bias per layer (scalar) or per feature"),
    "optimizer": dict(choices=OPTIMIZERS, help="optimizer (2-D default lbfgs, else adam)"),
    "lr": dict(type=float, help="learning rate"),
    "momentum": dict(type=float, help="SGD momentum (default 0.9)"),
    "schedule": dict(choices=SCHEDULES, help="learning-rate schedule per level"),
    "epochs": dict(type=epochs_list, help="epochs per level: one number, or one per level "
                   "(e.g. 30,3,3)"),
    "batch_size": dict(type=int, help="mini-batch size (0 = full batch)"),
    "seed": dict(type=int, help="random seed (default 0)"),
    "data_root": dict(help="folder holding MNIST/raw/ and FashionMNIST/raw/ (default: "
                      "$STABLENET_DATA, else ./data)"),
    "limit_train": dict(type=int, help="use a random subset of this many training examples"),
    "limit_val": dict(type=int, help="use a random subset of this many validation examples"),
    "dtype": dict(choices=DTYPES, help="float32 (default) or float64"),
    "max_grad_norm": dict(type=float, help="gradient norm treated as divergence (1e6)"),
    "threads": dict(type=int, help="CPU threads (0 = torch's default; dense data: 1)"),
    "standardize": dict(choices=("features", "none"), help="standardise each input feature with "
                        "the training split's mean and std, kept in the model (default: "
                        "features for your own .csv/.npz features, none for the paper's "
                        "problems and images)"),
    "log": dict(choices=("csv", "tensorboard"), help="run logs: log_steps.csv and "
                "log_epochs.csv always; tensorboard adds TensorBoard event files in "
                "DIR/tensorboard (needs the tensorboard package)"),
    "compile": dict(nargs="?", const="inductor", metavar="BACKEND",
                    help="torch.compile the training steps (backend inductor, or the one "
                    "named); pays on long runs (compiling takes seconds per level)"),
    "autocast": dict(choices=tuple(AUTOCAST), help="run the training steps' forward under "
                     "bf16 autocast (the loss in float32; validation and evaluation in full "
                     "precision; reversible mode rebuilds in float32); with --dtype float32. "
                     "For GPUs; not yet measured on one"),
    "channels_last": dict(action="store_true", help="images: data and convolution weights "
                          "in channels-last memory format (same values; may pay on a GPU, "
                          "not yet measured on one)"),
    "cuda_graphs": dict(action="store_true", help="capture the training step in CUDA graphs "
                        "(torch.compile mode reduce-overhead; static shapes); needs --device "
                        "cuda. Not yet measured on a GPU"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="ellipses, swissroll, peaks, mnist, fashion-mnist, or a "
                   "path to a .npz / .csv file")
    p.add_argument("--config", type=Path, metavar="FILE", default=None,
                   help="read the options from a .toml / .json / .yaml file (e.g. what "
                   "--dry-run printed); flags given as well override the file")
    for dest, kw in CONFIG_FLAGS.items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, default=None, **kw)
    p.add_argument("--reversible", action="store_true", default=None,
                   help="recompute states by the exact inverse steps in backward: activation "
                   "memory independent of depth (hamiltonian, leapfrog)")
    p.add_argument("--checkpoint", type=int, metavar="K", default=None, dest="checkpoint_segment",
                   help="store every K-th state and recompute the rest in backward")
    p.add_argument("--device", choices=DEVICES, default=None, help="cpu (default) or cuda")
    p.add_argument("--out", type=out_path, default=None,
                   help="output directory (default runs/DATASET-ARCH)")
    p.add_argument("--resume", type=out_path, metavar="DIR", default=None,
                   help="continue the run in DIR from DIR/checkpoint.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even if --out already holds a run: its files "
                   "(checkpoint, model, metrics, logs, figures) are removed first")
    p.add_argument("--allow-data-change", action="store_true",
                   help="with --resume: continue although the training data differ from "
                   "those the run started on")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or status lines; warnings (how the data were read, "
                   "stability) and errors still go to stderr (2>/dev/null hides them)")
    p.add_argument("--no-plots", action="store_true", help="do not write figures")
    p.add_argument("--dry-run", action="store_true",
                   help="check the options and the data, print the resolved config as a "
                   "TOML file that --config reads back, exit")
    p.add_argument("--stop-after-epochs", type=int, default=None, help=argparse.SUPPRESS)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = epilog()


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig options given on the command line (unset flags are left out)."""
    opts = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None}
    for k in ("dataset", "device"):
        if getattr(args, k) is not None:
            opts[k] = getattr(args, k)
    if args.reversible and args.checkpoint_segment is not None:
        raise ConfigError("--reversible and --checkpoint K are two different memory modes; "
                          "choose one")
    if args.reversible:
        opts["memory"] = Reversible()
    elif args.checkpoint_segment is not None:
        try:
            opts["memory"] = Checkpoint(args.checkpoint_segment)
        except ConfigError as err:
            raise ConfigError(f"--checkpoint {args.checkpoint_segment}: {err}") from None
    return opts


def run(args: argparse.Namespace) -> int:
    _quiet_unless_main_process(args)
    if args.allow_data_change and args.resume is None:
        raise ConfigError("--allow-data-change applies to --resume DIR only")
    options = given_options(args)
    if args.config is not None:
        options = _with_config_file(args.config, options, args)
    out = _out_dir(args, options.get("dataset"), options.get("arch"))
    if args.resume is not None:
        config = None  # the checkpoint's, read once by train(); the flags must agree
    else:
        if "dataset" not in options:
            raise ConfigError("--dataset is required (or --resume DIR to continue a run)")
        config = TrainConfig.from_dict(options)
    if args.dry_run:
        return _dry_run(config, out, args, options)
    try:
        result = train(config, out, resume=args.resume is not None, overwrite=args.overwrite,
                       expect=options if args.resume is not None else None,
                       progress=not args.quiet, callback=_stopper(args.stop_after_epochs),
                       device=args.device, allow_data_change=args.allow_data_change)
    except TrainingInterrupted as exc:
        print(f"stablenet train: {exc}", flush=True)
        return exc.exit_code
    except OSError as exc:  # a full disk: the last checkpoint is whole
        if not isinstance(exc, OutputError) and not disk_full(exc):
            raise
        if not isinstance(exc, OutputError):  # from a writer other than stablenet.io's
            exc = output_error(Path(exc.filename or out / "checkpoint.pt"), exc, False)
        if (out / "checkpoint.pt").is_file():
            raise OutputError(f"{exc}. Once it can be written, continue the run with: "
                              f"stablenet train --resume {out}") from None
        raise exc from None
    if result.out is not None:  # None on torchrun ranks other than 0
        _report(result, args)
    return 0


def _with_config_file(path: Path, flags: dict[str, Any],
                      args: argparse.Namespace) -> dict[str, Any]:
    """The options of the settings file ``path`` with the flags' on top (a memory mode
    given by flag replaces the file's, segment length included)."""
    if args.resume is not None:
        raise ConfigError("--config applies to a new run; a resumed run keeps the config of "
                          "its checkpoint (drop --config)")
    options = options_from_file(path)
    if "memory" in flags:
        options.pop("checkpoint_segment", None)
    return {**options, **flags}


def summary_line(m: dict[str, Any]) -> str:
    """The accuracies of the best-validation weights (the ones model.pt holds) first, then
    those of the last weights."""
    best_train = m.get("best_train_accuracy", m["train_accuracy"])
    return (f"val accuracy {m['best_val_accuracy']:.4f}, train accuracy {best_train:.4f} "
            f"(model.pt: the best validation, level {m['best_level'] + 1} epoch "
            f"{m['best_epoch']}; last epoch: val {m['val_accuracy']:.4f}, train "
            f"{m['train_accuracy']:.4f}), {m['n_parameters']} parameters, {m['seconds']:.1f} s")


def _quiet_unless_main_process(args: argparse.Namespace) -> None:
    """Under torchrun, ranks other than 0 print no progress or warnings and draw no figures."""
    if not is_main_process():
        args.quiet, args.no_plots = True, True
        warnings.simplefilter("ignore")


def _out_dir(args: argparse.Namespace, dataset: str | None, arch: str | None) -> Path:
    if args.resume is not None:
        if args.out is not None and args.out.resolve() != args.resume.resolve():
            raise ConfigError(f"--out {args.out} and --resume {args.resume} differ; a resumed "
                              "run writes to the directory it resumes from")
        return args.resume
    if args.out is not None:
        return args.out
    name = Path(dataset or "run").stem
    return Path("runs") / f"{name}-{arch or 'hamiltonian'}"


def _stopper(epochs: int | None):
    if epochs is None:
        return None

    def callback(trainer, event: str) -> None:
        done = sum(1 for r in trainer.history if r["epoch"] > 0)
        if event == "epoch" and done >= epochs:
            trainer.stop.request()

    return callback


def _dry_run(config: TrainConfig | None, out: Path, args: argparse.Namespace,
             options: dict[str, Any]) -> int:
    if config is None:
        path = out / "checkpoint.pt"
        check_resume_options(load_checkpoint(path)["config"], options, path)
        say(f"would resume the run in {relative(out)}", args.quiet)
        return 0
    check(config)
    split = load_data(config)
    resolved = resolve(config, split.is_image, split.n_features)
    model = build(resolved, split)
    ensure_writable_dir(out)
    n = sum(p.numel() for p in model.parameters())
    header = (f"stablenet train, resolved options: `stablenet train --config FILE` trains this "
              f"run\n{split!r}; {n} parameters; output directory {relative(out)}")
    say(to_toml(resolved.to_dict(), header).rstrip("\n"), args.quiet)
    return 0


def _report(result: TrainResult, args: argparse.Namespace) -> None:
    m, out = result.metrics, result.out
    if result.finished_before:
        say(f"the run in {relative(out)} had already finished: nothing was trained or "
            f"written. {summary_line(m)}. To train further, start a new run (--overwrite, "
            "or another --out)", args.quiet)
        return
    say(summary_line(m), args.quiet)
    if m.get("verdict"):
        say(f"note: {m['verdict']}", args.quiet)
    say(f"wrote {relative(out / 'model.pt')} and {relative(out / 'metrics.json')}", args.quiet)
    if not args.no_plots:
        paths = plot_run(out, model=result.model, split=result.split)
        if paths:
            say(f"figures in {relative(paths[0].parent)}/", args.quiet)
