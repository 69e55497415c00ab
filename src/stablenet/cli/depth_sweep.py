"""``stablenet depth-sweep``: gradient ratio and sensitivity versus depth for every scheme."""

from __future__ import annotations

import argparse
import shlex
import sys

import torch

from ..analysis.sweep import DEFAULT_DEPTHS, QUICK_DEPTHS, REGIMES, depth_sweep, sweep_bytes
from ..analysis.sweep_report import OVERFLOW, overflowed, write_sweep
from ..checks import choice, positive_int, positive_real
from ..errors import ConfigError
from ..io import ensure_writable_dir
from ..registry import ARCHITECTURES
from ..train.resources import memory_limit, size
from ._common import add_settings_arguments, out_path, print_settings, with_settings_file

COMMAND = "depth-sweep"
HELP = ("measure ||dL/dY_0|| / ||dL/dY_N|| and the forward sensitivity versus depth N at fixed "
        "h for the five architectures (identity and tanh; constant and varying weights)")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one integer, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=out_path, help="output directory")
    default_depths = ",".join(map(str, DEFAULT_DEPTHS))
    parser.add_argument("--depths", type=_int_list, default=None,
                        help=f"comma-separated depths (default {default_depths})")
    parser.add_argument("--h", type=float, default=0.1, help="step size h (T = N h); default 0.1")
    parser.add_argument("--width", type=int, default=4, help="state width (default 4)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3)")
    parser.add_argument("--samples", type=int, default=8, help="input samples (default 8)")
    parser.add_argument("--archs", default=",".join(ARCHITECTURES),
                        help="comma-separated architectures (default: all five)")
    parser.add_argument("--regimes", default=",".join(REGIMES),
                        help=f"comma-separated regimes (default: {','.join(REGIMES)})")
    parser.add_argument("--quick", action="store_true",
                        help="depths 8,16,32 and one seed (seconds)")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    add_settings_arguments(parser)


def _check(args: argparse.Namespace) -> tuple[list[int], int, list[str], list[str]]:
    depths = args.depths or list(QUICK_DEPTHS if args.quick else DEFAULT_DEPTHS)
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    regimes = [r.strip() for r in args.regimes.split(",") if r.strip()]
    for what, flag, values, allowed in (("architecture", "--archs", archs, ARCHITECTURES),
                                        ("regime", "--regimes", regimes, tuple(REGIMES))):
        if not values:
            raise ConfigError(f"{flag} names no {what}; choose from {list(allowed)}")
        for value in values:
            choice(what, value, allowed, flag)
    for depth in depths:
        positive_int("--depths entries", depth)
    positive_real("--h (the step size)", args.h)
    positive_int("--width", args.width)
    positive_int("--seeds", seeds)
    positive_int("--samples", args.samples)
    _check_fits(max(depths), args.width, args.samples)
    return sorted(set(depths)), seeds, archs, regimes


def _check_fits(depth: int, width: int, samples: int) -> None:
    """ConfigError when the deepest network of the sweep cannot fit in memory."""
    need, known = sweep_bytes(depth, width, samples), memory_limit(torch.device("cpu"))
    if known is not None and need > known[0]:
        raise ConfigError(f"the sweep's network of depth {depth} at --width {width} needs at "
                          f"least {size(need)} of memory, but {known[1]} is {size(known[0])}; "
                          "use a smaller --width, --depths or --samples")


def canonical_command(args: argparse.Namespace, depths: list[int], seeds: int,
                      archs: list[str], regimes: list[str]) -> str:
    """The command line with every setting explicit (it reproduces the run)."""
    argv = [COMMAND, "--out", str(args.out), "--depths", ",".join(map(str, depths)),
            "--h", f"{args.h:g}", "--width", str(args.width), "--seeds", str(seeds),
            "--samples", str(args.samples), "--archs", ",".join(archs),
            "--regimes", ",".join(regimes)]
    return "stablenet " + shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    args = with_settings_file(args)
    depths, seeds, archs, regimes = _check(args)
    if args.dry_run:
        print_settings({"depths": depths, "h": args.h, "width": args.width, "seeds": seeds,
                        "samples": args.samples, "archs": archs, "regimes": regimes}, COMMAND)
        return 0
    ensure_writable_dir(args.out)  # before the sweep, which takes minutes
    records = depth_sweep(depths, args.h, args.width, seeds, args.samples, archs, regimes,
                          progress=lambda line: print(line, flush=True))
    params = {
        "command": canonical_command(args, depths, seeds, archs, regimes),
        "depths": depths, "h": args.h, "width": args.width, "seeds": seeds,
        "samples": args.samples, "archs": archs, "regimes": regimes,
    }
    for path in write_sweep(records, params, args.out, figures=not args.no_figures):
        print(f"wrote {path}")
    if overflowed(records):
        print(f"stablenet depth-sweep: note: {OVERFLOW.replace('**', '')}", file=sys.stderr)
    return 0
