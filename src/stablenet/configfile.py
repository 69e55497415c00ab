"""Settings files: read TOML, JSON or YAML into a dict; write TOML that reads back unchanged.

The commands that take settings (``stablenet train``, ``reproduce``, ``depth-sweep``,
``depth-study``) accept ``--config FILE``; flags given with it override the file, and
``--dry-run`` prints the resolved settings in the format this module writes, so that

    stablenet train --dataset peaks --depth 128 --dry-run > peaks.toml
    stablenet train --config peaks.toml

trains the run the first command describes. The format is chosen by the file's suffix:
``.toml`` (read with the standard library's ``tomllib``, Python >= 3.11; on 3.10 the
``tomli`` backport, installed with ``stablenet[cli]``), ``.json``, or ``.yaml`` / ``.yml``
(needs PyYAML: ``pip install stablenet[yaml]``). A value ``None`` ("the default") has no
TOML form: :func:`to_toml` leaves the key out, which reads back as "not given".
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

SUFFIXES = (".toml", ".json", ".yaml", ".yml")


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in ``path`` (a table at the top level); ConfigError naming the file
    when it is missing, unreadable, of an unknown format or not a table."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"{path}: a settings file ends in {', '.join(SUFFIXES)}; got "
                          f"{path.suffix or 'no suffix'}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc.strerror or exc}") from None
    try:
        data = _parse(text, suffix)
    except ConfigError:
        raise
    except Exception as exc:  # each parser has its own error class
        raise ConfigError(f"{path} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a table of settings (name = value), got "
                          f"{type(data).__name__}")
    return data


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".json":
        return json.loads(text)
    if suffix == ".toml":
        return _toml_module().loads(text)
    try:  # lazily: PyYAML is an optional dependency (stablenet[yaml])
        import yaml
    except ImportError:
        raise ConfigError("reading a YAML settings file needs PyYAML: pip install pyyaml "
                          "(or stablenet[yaml]); or use a .toml file") from None
    return yaml.safe_load(text) or {}


def _toml_module() -> Any:
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # lazily: the tomli backport, an optional dependency on 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError("reading a TOML settings file needs Python >= 3.11 or the "
                              "tomli package: pip install tomli") from None
    return tomllib


def to_toml(settings: Mapping[str, Any], header: str = "") -> str:
    """``settings`` as TOML: scalars and lists first, then tables (``dict`` values) and
    arrays of tables (lists of dicts). ``None`` values are left out; ``header`` becomes
    leading ``#`` comment lines. ConfigError for a value TOML cannot hold."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(settings, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(settings: Mapping[str, Any], prefix: tuple[str, ...], lines: list[str]) -> None:
    tables = []
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, Mapping) or _is_table_array(value):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value, key)}")
    for key, value in tables:
        name = ".".join(_key(k) for k in (*prefix, key))
        for table in ([value] if isinstance(value, Mapping) else value):
            lines += ["", f"[[{name}]]" if not isinstance(value, Mapping) else f"[{name}]"]
            _table(table, (*prefix, key), lines)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(v, Mapping) for v in value)


def _key(key: Any) -> str:
    key = str(key)
    bare = key and all(c.isalnum() or c in "_-" for c in key) and key.isascii()
    return key if bare else _string(key)


def _value(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        if any(v is None for v in value):
            raise ConfigError(f"setting {key!r}: a list with an unset (None) entry has no "
                              "TOML form")
        return "[" + ", ".join(_value(v, key) for v in value) + "]"
    if isinstance(value, os.PathLike):
        return _string(os.fspath(value))
    raise ConfigError(f"setting {key!r} = {value!r} ({type(value).__name__}) cannot be "
                      "written to a settings file")


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def unknown_keys(settings: Mapping[str, Any], known: set[str] | frozenset[str], path: Any,
                 what: str = "setting") -> None:
    """ConfigError naming the keys of ``settings`` (read from ``path``) not in ``known``."""
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown {what}(s) {unknown}; known: {sorted(known)}")
