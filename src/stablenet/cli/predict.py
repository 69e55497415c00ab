"""``stablenet predict MODEL DATA --out FILE``: predictions of a trained model, in your labels.

MODEL is a ``model.pt`` or a training run's directory; DATA a ``.csv``, ``.npz`` or an
MNIST-format idx file or folder. FILE gets one row per example: ``predicted`` (the
label, in the labels of the training file), one probability column ``p_<label>`` per
class, and ``label`` when DATA has labels (then the accuracy is printed). The same as
``stablenet.predict(MODEL, DATA).to_csv(FILE)``.
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter
from pathlib import Path

from ..checks import positive_int
from ..errors import ConfigError
from ..inference import predict
from ._common import out_path, relative, say

COMMAND = "predict"
HELP = "predict the labels of a .csv, .npz or MNIST-format file with a trained model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a model.pt file or a training run directory")
    p.add_argument("data", help="a .csv, .npz or idx (MNIST-format) file, or a folder holding "
                   "t10k-images-idx3-ubyte[.gz]")
    p.add_argument("--out", type=out_path, required=True, help="the CSV file to write")
    p.add_argument("--batch-size", type=int, default=1024, help="examples per forward pass")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _check_out(out: Path, data: Path) -> None:
    if str(out) in ("", "."):
        raise ConfigError("--out needs a file name, e.g. --out predictions.csv")
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a file name such as "
                          f"{out / 'predictions.csv'}")
    if out.exists() and data.exists() and out.resolve() == data.resolve():
        raise ConfigError(f"--out {out} is the input data file; write the predictions elsewhere")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    positive_int("--batch-size", args.batch_size)
    _check_out(args.out, Path(args.data))
    if args.quiet:  # inside the warnings context of stablenet.cli.main
        warnings.simplefilter("ignore")
    pred = predict(args.model, args.data, batch_size=args.batch_size)
    pred.to_csv(args.out)
    counts = Counter(pred.labels)
    shown = ", ".join(f"{c}: {counts[c]}" for c in pred.classes)
    line = f"predicted {len(pred.labels)} examples ({shown})"
    if pred.accuracy is not None:
        line += f"; accuracy {pred.accuracy:.4f} against the labels in {args.data}"
    say(line, args.quiet)
    say(f"wrote {relative(args.out)}", args.quiet)
    return 0
