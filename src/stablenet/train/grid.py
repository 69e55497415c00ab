"""Experiment grids: a list of training runs (and the seeds to run each at) in one file.

``stablenet reproduce`` runs a grid; the paper's is ``configs/reproduce.toml`` (the
``--quick`` one ``configs/reproduce-quick.toml``). A grid file holds

* ``seeds`` (optional, default ``[0]``): every run is trained once per seed;
* ``[options]`` (optional): training options for every run;
* ``[[runs]]``: one table per run: ``config`` (optional) names a ``stablenet train``
  settings file, relative to the grid file; ``name`` (optional, default
  ``<dataset>-<arch>``) is the run's directory; every other key is a training option.

An option's value comes from, lowest first: the run's ``config`` file, the grid's
``[options]``, the run's own table, then the command line (``overrides``); a ``seed``
there is ignored: the grid's ``seeds`` set it.
:func:`grid_to_toml` writes a resolved grid (options inlined, no ``config`` references)
that :func:`read_grid` reads back to the same runs.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import integer
from ..configfile import read_config, to_toml, unknown_keys
from ..errors import ConfigError
from .config import TrainConfig, options_from_file

GRID_KEYS = frozenset({"seeds", "options", "runs"})
OPTIONS = frozenset(f.name for f in dataclasses.fields(TrainConfig))


@dataclass
class Run:
    """One run of a grid: its directory ``name`` and its training ``options`` (no seed)."""

    name: str
    options: dict[str, Any]


@dataclass
class Grid:
    """The runs of a grid and the seeds each is trained at."""

    runs: list[Run]
    seeds: list[int] = field(default_factory=lambda: [0])

    def select(self, keep) -> Grid:
        """The grid of the runs for which ``keep(run)`` is true."""
        return Grid([r for r in self.runs if keep(r)], list(self.seeds))

    def with_options(self, **overrides: Any) -> Grid:
        """Every run with ``overrides`` on top (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return Grid([Run(r.name, {**r.options, **given}) for r in self.runs], list(self.seeds))


def read_grid(path: str | os.PathLike) -> Grid:
    """The grid in ``path`` (see the module docstring); ConfigError naming the file and
    the entry for anything that is not a grid."""
    path = Path(path)
    data = read_config(path)
    unknown_keys(data, GRID_KEYS, path, "grid setting")
    shared = _options(data.get("options", {}), f"{path} [options]")
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{path} lists no runs: add one [[runs]] table per run (with "
                          "`config = \"FILE\"` and / or training options)")
    grid = Grid([_run(entry, i, shared, path) for i, entry in enumerate(runs, 1)],
                check_seeds(data.get("seeds", [0]), f"{path}: seeds"))
    names = [r.name for r in grid.runs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{path}: two runs are named {twice}; give each a distinct `name`")
    return grid


def _run(entry: dict[str, Any], index: int, shared: dict[str, Any], path: Path) -> Run:
    where = f"{path} run {index}"
    entry = dict(entry)
    name, config = entry.pop("name", None), entry.pop("config", None)
    options: dict[str, Any] = {}
    if config is not None:
        if not isinstance(config, str):
            raise ConfigError(f"{where}: `config` names a settings file, got {config!r}")
        options = options_from_file(path.parent / config)
    options = {**options, **shared, **_options(entry, where)}
    options.pop("seed", None)  # the grid's seeds set it
    if "dataset" not in options:
        raise ConfigError(f"{where} names no dataset (give `dataset = ...` or a `config` "
                          "file that does)")
    if name is None:
        name = f"{Path(str(options['dataset'])).stem}-{options.get('arch', 'hamiltonian')}"
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ConfigError(f"{where}: `name` is the run's directory name, got {name!r}")
    return Run(name, options)


def _options(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of training options")
    unknown_keys(table, OPTIONS, where, "training option")
    return dict(table)


def check_seeds(seeds: Any, what: str = "--seeds") -> list[int]:
    """A non-empty list of distinct non-negative integers."""
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"{what} must be a non-empty list of integers, got {seeds!r}")
    for s in seeds:
        integer(f"{what} entries", s, 0)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{what} lists a seed twice: {seeds}")
    return list(seeds)


def grid_to_toml(grid: Grid, header: str = "") -> str:
    """The grid as a TOML grid file with every run's options inline."""
    runs = [{"name": r.name, **r.options} for r in grid.runs]
    return to_toml({"seeds": grid.seeds, "runs": runs}, header)
