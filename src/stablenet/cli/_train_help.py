"""The epilog of ``stablenet train --help``: the per-dataset defaults (read from the tables
of :mod:`stablenet.train.defaults`, so they cannot drift) and what a run checks."""

from __future__ import annotations

from typing import Any

from ..train.defaults import DEFAULTS_2D, DEFAULTS_IMAGE, DEFAULTS_USER

#: the options shown, in this order
SHOWN = ("width", "channels", "depth", "T", "levels", "alpha", "beta", "optimizer", "lr",
         "schedule", "epochs", "batch_size", "bias", "threads", "standardize")
COLUMNS = (("2-D problems", DEFAULTS_2D, "none"), ("images (MNIST...)", DEFAULTS_IMAGE, "none"),
           ("your .npz / .csv", DEFAULTS_USER, "features"))
SPECIAL = {("width", "your .npz / .csv"): "max(4, features)", ("batch_size", None): "0 = full",
           ("threads", None): "0 = torch's"}

CHECKS = """\
what a run checks and keeps safe:
  every option and the data are checked before anything is written (a mistake
  exits with code 2 and a message); a configuration that cannot fit in memory is
  refused with the numbers. One run per --out at a time: a second run into the same
  directory is refused, naming the process that holds it (the lock goes when that
  process ends, also when it is killed). --overwrite removes the previous run's
  files (checkpoint.pt, model.pt, metrics.json, logs, figures; nothing else) before
  the new run writes. --resume checks that the training data are those the run
  started on (--allow-data-change to continue anyway). Checkpoints are written
  atomically; Ctrl-C or SIGTERM ends with a checkpoint and the resume command."""


def _cell(name: str, column: str, table: dict[str, Any], standardize: str) -> str:
    value = table.get(name, standardize if name == "standardize" else None)
    if (name, column) in SPECIAL:
        return SPECIAL[(name, column)]
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if (name, None) in SPECIAL and value == 0:
        return SPECIAL[(name, None)]
    return f"{value:g}" if isinstance(value, float) else str(value)


def defaults_table() -> str:
    """The per-dataset defaults as a plain-text table, one row per option."""
    rows = [["", *(c for c, _, _ in COLUMNS)]]
    for name in SHOWN:
        rows.append(["--" + name.replace("_", "-"),
                     *(_cell(name, c, t, s) for c, t, s in COLUMNS)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    return "\n".join(lines)


def epilog() -> str:
    """The text after the options of ``stablenet train --help``."""
    return ("defaults per dataset (a flag that is not given takes these):\n"
            f"{defaults_table()}\n\n{CHECKS}")
