"""``--config FILE`` / ``--dry-run`` of depth-sweep and depth-study: the printed settings
read back to the same settings, flags override the file, bad files exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {
    "depth-sweep": (["--out", "unused"], ["--quick", "--archs", "resnet,leapfrog", "--h",
                                          "0.05", "--samples", "3", "--regimes", "tanh-varying"]),
    "depth-study": ([], ["--quick", "--problems", "peaks", "--archs", "hamiltonian", "--T",
                         "3.5", "--optimizer", "adam", "--epochs", "7", "--seed", "2"]),
}


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("which", ["defaults", "flags"])
def test_dry_run_reads_back_to_the_same_settings(cli, tmp_path, command, which):
    base, flags = COMMANDS[command]
    r = cli(command, *base, *(flags if which == "flags" else []), "--dry-run")
    assert r.code == 0, r.err
    path = tmp_path / "settings.toml"
    path.write_text(r.out)
    again = cli(command, *base, "--config", path, "--dry-run")
    assert again.code == 0, again.err
    assert settings(again.out) == settings(r.out)


@pytest.mark.parametrize("command", COMMANDS)
def test_shipped_configs_are_the_defaults(cli, command):
    base, _ = COMMANDS[command]
    shipped = REPO / "configs" / f"{command}.toml"
    assert settings(cli(command, *base, "--config", shipped, "--dry-run").out) == \
        settings(cli(command, *base, "--dry-run").out)


def test_flags_override_the_file(cli, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("depths = [4, 8]\nwidth = 6\nh = 0.2\n")
    r = cli("depth-sweep", "--out", "x", "--config", path, "--width", "3", "--dry-run")
    assert r.code == 0, r.err
    assert "depths = [4, 8]" in r.out and "width = 3" in r.out and "h = 0.2" in r.out


@pytest.mark.parametrize("text, message", [
    ("depths = [0, 8]\n", "--depths entries"),
    ('h = "small"\n', "h = 'small' is not a valid --h"),
    ("widht = 3\n", "unknown setting(s) ['widht']"),
    ("quick = 1\n", "--quick is a switch"),
    ('archs = ["resnet", "resnett"]\n', "resnett"),
    ("out = 'elsewhere'\n", "unknown setting(s) ['out']"),
])
def test_bad_settings_exit_2(cli, tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    r = cli("depth-sweep", "--out", "x", "--config", path, "--dry-run")
    assert r.code == 2 and message in r.err and "Traceback" not in r.err


def test_depth_study_choice_from_file_is_checked(cli, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('tables = ["fixed-T", "fixed-N"]\n')
    r = cli("depth-study", "--config", path, "--dry-run")
    assert r.code == 2 and "fixed-N" in r.err
