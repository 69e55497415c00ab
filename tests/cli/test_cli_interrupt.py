"""Ctrl-C while the command line starts (torch is imported, the commands are loaded) ends
with one line and exit code 130, never a KeyboardInterrupt traceback; a library import
keeps the caller's KeyboardInterrupt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stablenet import cli

#: a process that imports stablenet with Ctrl-C arriving during ``import torch``
INTERRUPTED_IMPORT = """
import builtins, sys
sys.argv = [sys.argv[1]]
real = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "torch":
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupted
import stablenet
"""


@pytest.mark.parametrize("argv0", ["/usr/local/bin/stablenet", "stablenet.exe"])
def test_ctrl_c_while_torch_loads_in_the_command_line(argv0):
    r = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, argv0], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 130 and r.stderr.strip() == "stablenet: interrupted", r.stderr


def test_a_library_import_keeps_the_keyboard_interrupt():
    r = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, "my_script.py"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "Traceback" in r.stderr and "KeyboardInterrupt" in r.stderr


def test_ctrl_c_while_the_commands_load(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["train", "--help"]) == 130
    assert capsys.readouterr().err == "stablenet: interrupted\n"


def test_ctrl_c_during_a_command(monkeypatch, capsys):
    from stablenet.cli import predict

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "run", interrupted)
    assert cli.main(["predict", "m.pt", "x.csv", "--out", "p.csv"]) == 130
    assert "Traceback" not in capsys.readouterr().err
