"""Issue 28: dask faults end in one clear error (no traceback) and a remote scheduler needs an opt-in."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.orchestrator import DaskExecutor
from fusemax.orchestrator.executors import check_scheduler

DASK = Path(sys.executable).parent / "dask"


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tls://127.0.0.2:8786", "tcp://localhost:8786",
                                     "tls://[::1]:8786", "127.0.0.1:8786"])
def test_a_loopback_scheduler_needs_no_opt_in(address):
    check_scheduler(address, allow_remote=False)


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "tls://example.org:8786", "tcp://[2001:db8::1]:8786",
                                     "tcp://0.0.0.0:8786", "tcp://127.0.0.1.evil.org:8786"])
def test_a_remote_scheduler_is_refused_without_the_flag(address, capsys, tmp_path):
    with pytest.raises(FusemaxError, match="--allow-remote-scheduler"):
        check_scheduler(address, allow_remote=False)
    check_scheduler(address, allow_remote=True)
    assert main(["run", "--out", str(tmp_path), "--configs", "binding", "--models", "BERT", "--seq-lens", "1K",
                 "--executor", "dask", "--scheduler", address, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fusemax run: error: --scheduler: ") and len(err.strip().splitlines()) == 1


def test_the_dask_extra_brings_what_tls_needs():
    import tomllib
    extra = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert any(d.startswith("cryptography") for d in extra["project"]["optional-dependencies"]["dask"])


def test_nanny_failing_to_start_is_one_clear_error(monkeypatch):
    pytest.importorskip("distributed")
    import distributed

    def broken(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", broken)
    with pytest.raises(FusemaxError, match="cannot start the local dask cluster: Nanny failed to start"):
        list(DaskExecutor(jobs=1).run(abs, [(-1,)]))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def external_cluster():
    """A real external scheduler and one worker (no nanny) on loopback; yields (address, scheduler, worker)."""
    pytest.importorskip("distributed")
    if not DASK.exists():
        pytest.skip("no dask command line")
    address = f"tcp://127.0.0.1:{_port()}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--dashboard-address", "127.0.0.1:0"], **quiet)
    worker = subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny"], **quiet)
    try:
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address, scheduler, worker
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait()


@pytest.mark.parametrize("victim", ["scheduler", "worker"])
def test_losing_the_cluster_mid_sweep_is_one_clear_error(external_cluster, victim):
    address, scheduler, worker = external_cluster
    executor = DaskExecutor(address, jobs=1, timeout="3s")
    finished = 0
    with pytest.raises(FusemaxError) as caught:
        for _ in executor.run(time.sleep, [(0.3,)] * 30):
            finished += 1
            if finished == 2:
                (scheduler if victim == "scheduler" else worker).send_signal(signal.SIGKILL)
    assert finished >= 2 and "run the same command again to continue" in str(caught.value)
    assert ("lost the dask cluster" if victim == "scheduler" else "no workers for 3 s") in str(caught.value)
