"""Finding the Python >= 3.12 interpreter and running a worker script in it (fusemax.py312)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fusemax import py312
from fusemax.errors import FusemaxError


def test_missing_interpreter_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(py312.INTERPRETER_ENV, str(tmp_path / "no-python"))
    with pytest.raises(py312.InterpreterUnavailable, match="FUSEMAX_PY312"):
        py312.find_interpreter()


def test_an_interpreter_without_the_package_is_unavailable() -> None:
    # This interpreter is 3.11 (or has no such distribution): either way it cannot run the tool.
    with pytest.raises(py312.InterpreterUnavailable, match="no-such-distribution"):
        py312.package_version(Path(sys.executable), "no-such-distribution")


def test_worker_answers_in_json(tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text("import json, sys\nrequest = json.load(sys.stdin)\njson.dump({'sum': sum(request)}, sys.stdout)\n")
    assert py312.run_worker(Path(sys.executable), worker, [1, 2, 3], timeout=60, what="the adder") == {"sum": 6}


def test_a_failing_worker_is_an_error_quoting_it(tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text("import sys\nprint('the tool broke', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(FusemaxError, match=r"the adder failed \(exit 3\): the tool broke"):
        py312.run_worker(Path(sys.executable), worker, {}, timeout=60, what="the adder")
