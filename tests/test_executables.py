"""Issue 28: programs only from documented absolute places, never from the current folder.

A folder the user merely stands in holds ``./.venv-accelforge/bin/python`` and ``./timeloop-model``
(scripts that leave a marker file when run); no command run there may execute them, even with the
current folder on ``PATH`` (an empty entry or ``.``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fusemax import executables, py312
from fusemax.backends.timeloop import find_tool
from fusemax.energy.accelergy import find_accelergy
from fusemax.errors import FusemaxError

SRC = Path(__file__).resolve().parent.parent / "src"


def _planted(folder: Path, relative: str) -> Path:
    """An executable at ``folder/relative`` that leaves ``folder/MARKER-<name>`` when run."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{folder}/MARKER-{path.name}'\necho 'Python 3.12.0'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    folder = tmp_path / "cwd"
    for relative in (".venv-accelforge/bin/python", "timeloop-model", "timeloop-mapper", "accelergy"):
        _planted(folder, relative)
    return folder


def _fusemax(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("FUSEMAX_PY312", "TIMELOOP_MODEL", "ACCELERGY")}
    # the current folder on PATH three ways: an empty entry, '.', and a relative entry
    environ.update(PYTHONPATH=str(SRC), PATH=f":.:bin:{os.environ.get('PATH', os.defpath)}", **env)
    return subprocess.run([sys.executable, "-c", "import sys; from fusemax.cli import main; sys.exit(main())",
                           *argv], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300)


def _markers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("MARKER-*"))


def _checkout_has_its_venv() -> bool:
    """True where the checkout has its own .venv-accelforge (as CI's has): a documented absolute place, which
    the tools then rightly use instead of failing."""
    return py312._repo_root() is not None and (py312._repo_root() / py312.DEFAULT_VENV).exists()


def test_cross_check_never_runs_a_venv_in_the_current_folder(trap, monkeypatch):
    done = _fusemax(trap, "validate", "--cross-check", "accelforge")
    assert "Traceback" not in done.stderr
    if not _checkout_has_its_venv():
        assert done.returncode == 2 and "FUSEMAX_PY312" in done.stderr
    assert _markers(trap) == []


def test_live_cacti_never_runs_a_venv_in_the_current_folder(trap):
    _fusemax(trap, "run", "--out", str(trap.parent / "out"), "--configs", "binding", "--models", "BERT",
             "--seq-lens", "1K", "--l3-bytes", "1GiB", "--quiet", FUSEMAX_LIVE_CACTI="1")
    assert _markers(trap) == []


def test_a_bare_tool_name_is_never_the_one_in_the_current_folder(trap):
    done = _fusemax(trap, "run", "--out", str(trap.parent / "out"), "--configs", "binding", "--models", "BERT",
                    "--seq-lens", "1K", "--backend", "timeloop", "--quiet", TIMELOOP_MODEL="timeloop-model",
                    ACCELERGY="accelergy")
    assert _markers(trap) == [] and "Traceback" not in done.stderr


def test_lookups_skip_the_current_folder_and_take_absolute_entries(trap, tmp_path, monkeypatch):
    monkeypatch.chdir(trap)
    real = _planted(tmp_path / "bin", "timeloop-model").parent
    _planted(tmp_path / "bin", "accelergy")
    monkeypatch.setenv("PATH", f"::.:{trap}/../cwd/..:{real}")   # '', '.', then absolute entries
    assert executables.search_path().split(os.pathsep) == [f"{trap}/../cwd/..", str(real)]
    monkeypatch.setenv("TIMELOOP_MODEL", "timeloop-model")
    assert find_tool("timeloop-model") == str(real / "timeloop-model")
    monkeypatch.delenv("TIMELOOP_MODEL")
    assert find_tool("timeloop-model") == str(real / "timeloop-model")
    monkeypatch.setenv("ACCELERGY", "accelergy")
    assert find_accelergy() == str(real / "accelergy")


@pytest.mark.parametrize("var, find", [("TIMELOOP_MODEL", lambda: find_tool("timeloop-model")),
                                       ("ACCELERGY", find_accelergy),
                                       ("FUSEMAX_PY312", py312.find_interpreter)])
def test_a_relative_path_is_refused_naming_the_variable(trap, monkeypatch, var, find):
    monkeypatch.chdir(trap)
    monkeypatch.setenv(var, "./timeloop-model")
    with pytest.raises(FusemaxError, match=f"{var}=./timeloop-model is a relative path"):
        find()


def test_the_interpreter_is_not_looked_up_in_the_current_folder(trap, monkeypatch):
    monkeypatch.chdir(trap)
    monkeypatch.delenv("FUSEMAX_PY312", raising=False)
    monkeypatch.setattr(py312, "_repo_root", lambda: None)
    with pytest.raises(py312.InterpreterUnavailable):
        py312.find_interpreter()
