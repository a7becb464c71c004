"""Workers die with their parent (even after SIGKILL); SIGTERM is handled like Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")

# A parent that starts a 2-process pool on jobs that sleep, prints the workers' PIDs, then waits.
PARENT = textwrap.dedent("""
    import os, sys, time
    from fusemax.orchestrator import LocalExecutor
    def job(i):
        time.sleep(i)
        return os.getpid()
    run = LocalExecutor(2).run(job, [(0,), (0,)] + [(30,)] * 6)
    pids = {next(run)[1], next(run)[1]}
    print(" ".join(map(str, sorted(pids))), flush=True)
    for _ in run:
        pass
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start(code: str) -> tuple[subprocess.Popen, list[int]]:
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) >= 1, parent.stderr.read()
    return parent, workers


def _wait_gone(pids: list[int], seconds: float = 20.0) -> list[int]:
    # polls until the workers have exited; the bound only keeps a broken build from hanging the suite
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_workers_die_when_their_parent_is_killed_with_sigkill():
    parent, workers = _start(PARENT)
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _wait_gone(workers) == []
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_sigterm_is_handled_like_ctrl_c():
    code = ("import sys\nfrom fusemax.cli import sigterm_as_interrupt\nsigterm_as_interrupt()\ntry:\n"
            + textwrap.indent(PARENT, "    ") + "\nexcept KeyboardInterrupt:\n    print('interrupted', file=sys.stderr)\n"
            "    sys.exit(130)\n")
    parent, workers = _start(code)
    try:
        os.kill(parent.pid, signal.SIGTERM)
        _, err = parent.communicate(timeout=120)
        assert parent.returncode == 130 and "interrupted" in err and "Traceback" not in err
        assert _wait_gone(workers) == []
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
