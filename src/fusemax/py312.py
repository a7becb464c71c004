"""The Python >= 3.12 interpreter that runs the tools fusemax (Python 3.11) cannot import.

AccelForge (the cross-check of :mod:`fusemax.crosscheck.accelforge`) and hwcomponents-cacti (live CACTI,
:mod:`fusemax.energy.cacti`) need Python >= 3.12. Both live in one virtual environment, ``.venv-accelforge``
(hwcomponents-cacti is one of AccelForge's dependencies), which ``.ci/run`` creates; fusemax runs a worker
script of its own there (:func:`run_worker`) that imports nothing from fusemax and talks JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.executables import resolve

#: The environment variable naming a Python >= 3.12 interpreter with the tools installed.
INTERPRETER_ENV = "FUSEMAX_PY312"
#: Where ``.ci/run`` (and the README's setup) put that interpreter, relative to the repository root.
DEFAULT_VENV = Path(".venv-accelforge")
#: What ``.ci/run`` installs there (the versions the tests were run with).
SETUP = "accelforge==1.0.467 hwcomponents-cacti==1.0.40"


class InterpreterUnavailable(FusemaxError):
    """No Python >= 3.12 interpreter with the tool was found."""


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    return next((p for p in here.parents if (p / "pyproject.toml").is_file()), None)


def find_interpreter() -> Path:
    """``$FUSEMAX_PY312`` (an absolute path, or a name looked up on PATH), else
    ``.venv-accelforge/bin/python`` at the root of the repository fusemax runs from. Never the current
    folder: a ``.venv-accelforge`` there is someone else's code (:mod:`fusemax.executables`). Raises
    :class:`InterpreterUnavailable` saying how to set one up."""
    env = os.environ.get(INTERPRETER_ENV)
    if env:
        try:
            return Path(resolve(env, INTERPRETER_ENV))
        except ToolNotFoundError as exc:
            raise InterpreterUnavailable(exc.reason, source=exc.source) from None
    root = _repo_root()
    if root is not None and (root / DEFAULT_VENV / "bin" / "python").is_file():
        return root / DEFAULT_VENV / "bin" / "python"
    raise InterpreterUnavailable(
        f"no Python >= 3.12 for AccelForge and live CACTI: set ${INTERPRETER_ENV} to one with them installed, "
        f"or create {DEFAULT_VENV} at the repository root (python3.12 -m venv {DEFAULT_VENV} && "
        f"{DEFAULT_VENV}/bin/pip install {SETUP})")


def package_version(python: Path, distribution: str) -> str:
    """``distribution``'s version under ``python``; raises :class:`InterpreterUnavailable` if ``python`` is
    not a Python >= 3.12 that has it."""
    probe = f"import sys, importlib.metadata as m; assert sys.version_info >= (3, 12); print(m.version({distribution!r}))"
    try:
        out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InterpreterUnavailable(f"{python} does not run: {exc}") from None
    if out.returncode != 0:
        raise InterpreterUnavailable(f"{python} is not a Python >= 3.12 with {distribution} installed: "
                                     f"{(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return out.stdout.strip()


def run_worker(python: Path, worker: Path, request: Any, timeout: float, what: str) -> Any:
    """Run the script ``worker`` under ``python`` with ``request`` as JSON on standard input; its JSON
    answer. Raises :class:`FusemaxError` (naming ``what`` and quoting the worker's last lines) if it fails."""
    # -P: the worker's folder (a fusemax package) must not shadow the tools' own packages.
    cmd = [str(python), "-P", str(worker)]
    try:
        out = subprocess.run(cmd, input=json.dumps(request), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FusemaxError(f"{what} did not finish in {timeout:g} s", source=str(python)) from None
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise FusemaxError(f"{what} failed (exit {out.returncode}): {tail}", source=str(python))
    return json.loads(out.stdout)
