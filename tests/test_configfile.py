"""Settings files (stablenet.configfile): what to_toml writes, read_config reads back to the
same values; JSON and YAML are read too; every bad file is a ConfigError naming it."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stablenet.configfile import read_config, to_toml, unknown_keys
from stablenet.errors import ConfigError

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False), st.text(max_size=20),
)
lists = st.lists(st.integers(-1000, 1000), max_size=5) | st.lists(st.floats(allow_nan=False),
                                                                  max_size=4)
flat = st.dictionaries(keys, scalars | lists, max_size=8)


@settings(max_examples=150, deadline=None)
@given(top=flat, table=flat, runs=st.lists(flat.filter(bool), max_size=3))
def test_toml_round_trip(tmp_path_factory, top, table, runs):
    data = dict(top)
    # tables come after the plain keys in TOML, so their names must not clash with them
    data.pop("options", None)
    data.pop("runs", None)
    data["options"] = table
    if runs:
        data["runs"] = runs
    path = tmp_path_factory.mktemp("toml") / "settings.toml"
    path.write_text(to_toml(data, header="a header\nof two lines"), encoding="utf-8")
    back = read_config(path)
    expected = {k: v for k, v in data.items() if not (k == "options" and not v)}
    if not table:  # an empty table is written as its header alone, and read back as {}
        expected["options"] = {}
    assert _same(back, expected)


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def test_none_values_are_left_out_and_nonfinite_floats_kept(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(to_toml({"a": None, "b": float("inf"), "c": -float("inf"), "d": 1e-6}))
    assert read_config(path) == {"b": math.inf, "c": -math.inf, "d": 1e-6}


def test_json_and_yaml_are_read(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"depth": 8, "epochs": [3, 1]}))
    assert read_config(tmp_path / "s.json") == {"depth": 8, "epochs": [3, 1]}
    pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text("depth: 8\nepochs: [3, 1]\nT: 2.5\n")
    assert read_config(tmp_path / "s.yaml") == {"depth": 8, "epochs": [3, 1], "T": 2.5}


@pytest.mark.parametrize("name, text, message", [
    ("s.ini", "depth = 8", "ends in .toml"),
    ("s.toml", "depth = = 8", "is not valid TOML"),
    ("s.json", "{depth: 8}", "is not valid JSON"),
    ("s.json", "[1, 2]", "must hold a table"),
])
def test_bad_files_are_config_errors_naming_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_missing_file_and_unknown_keys(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['depht'\]"):
        unknown_keys({"depht": 3}, {"depth"}, "f.toml")
    with pytest.raises(ConfigError, match="cannot be written"):
        to_toml({"x": object()})
