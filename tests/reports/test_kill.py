"""Issue 28: `kill -9` of `fusemax report` while it draws leaves no drawing worker behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _children(pid: int) -> set[int]:
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
                    reason="needs Linux /proc and two cores (one core draws without a pool)")
def test_kill_9_of_report_while_drawing_takes_its_workers_with_it(run_dir, tmp_path):
    report = subprocess.Popen([sys.executable, "-c", "import sys; from fusemax.cli import main; sys.exit(main())",
                               "report", str(run_dir), "-o", str(tmp_path / "rep")],
                              env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and time.monotonic() < deadline and report.poll() is None:
        workers = _children(report.pid)
        time.sleep(0.05)
    assert workers, "the report never started its drawing workers"
    os.kill(report.pid, signal.SIGKILL)
    report.wait()
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if _alive(w)]
    for w in left:   # do not leave them to the next test
        os.kill(w, signal.SIGKILL)
    assert left == []
