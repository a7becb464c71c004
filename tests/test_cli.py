"""The command line's contract: verbs exist, failures are one line and exit 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from fusemax import __version__
from fusemax.cli import VERBS, main


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_design_verb_is_present():
    # design.md names these verbs; scripts depend on them existing.
    assert {"model", "render", "run", "report", "validate", "models", "animate"} <= set(VERBS)


def test_a_verb_loads_only_its_own_module():
    # `fusemax models` must not pay for matplotlib (reports, animate): run it in a fresh interpreter.
    code = ("import sys; from fusemax.cli import main; main(['models']); "
            "print('matplotlib' in sys.modules, 'fusemax.animate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "fusemax", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "render" in out.stdout
