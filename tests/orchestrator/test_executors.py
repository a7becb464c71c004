"""Local and dask executors give identical results; the LocalCluster listens on loopback only."""
from __future__ import annotations

import pytest

from fusemax.cli.run import execute
from fusemax.errors import FusemaxError
from fusemax.orchestrator import DaskExecutor, LocalExecutor, get_executor

SWEEP = (["binding", "flat", "unfused"], ["BERT"], ["1K", "4K"])


def _csvs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_local_and_dask_localcluster_give_identical_csvs(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fusemax[dask]')")
    _, serial = execute(str(tmp_path / "serial"), *SWEEP, jobs=1, quiet=True)
    _, local = execute(str(tmp_path / "local"), *SWEEP, jobs=2, quiet=True)
    _, dask = execute(str(tmp_path / "dask"), *SWEEP, jobs=2, quiet=True, executor="dask")
    assert _csvs(serial) and _csvs(local) == _csvs(serial) == _csvs(dask)


def _whoami(_):
    from distributed import get_worker
    return get_worker().address


def test_localcluster_binds_to_loopback():
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fusemax[dask]')")
    executor = DaskExecutor(jobs=2)
    addresses = {address for _, address in executor.run(_whoami, [(i,) for i in range(4)])}
    assert addresses and all(a.startswith("tls://127.0.0.1:") for a in addresses)
    assert executor.address.startswith("tls://127.0.0.1:")


def test_localcluster_refuses_clients_without_its_credentials():
    """What another local user could try: connect to the scheduler's port, in the clear or over TLS with
    credentials of their own. Neither may submit work; the run's own credentials can."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fusemax[dask]')")
    from distributed import Client
    from distributed.security import Security

    from fusemax.orchestrator.executors import local_cluster
    with local_cluster(1) as (cluster, security):
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        # in the clear, and over TLS with a certificate of one's own (dask refuses TLS without any by itself)
        for intruder, creds in ((address.replace("tls://", "tcp://"), None), (address, Security.temporary())):
            with pytest.raises((OSError, TimeoutError)):
                client = Client(intruder, security=creds, timeout="3s")
                client.submit(abs, -1).result(timeout=3)
        with Client(address, security=security, timeout="10s") as owner:
            assert owner.submit(abs, -1).result() == 1


def test_localcluster_serves_no_dashboard():
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fusemax[dask]')")
    import urllib.error
    import urllib.request

    from fusemax.orchestrator.executors import local_cluster
    with local_cluster(1) as (cluster, _):
        # dask always runs an HTTP server (it calls it "dashboard"); it must be off 8787 and serve nothing
        host, port = next(iter(cluster.scheduler.http_server._sockets.values())).getsockname()[:2]
        assert host == "127.0.0.1" and port != 8787
        for path in ("/status", "/metrics", "/api/v1"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)


def test_unreachable_scheduler_is_one_clear_error():
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fusemax[dask]')")
    with pytest.raises(FusemaxError, match="cannot reach the dask scheduler"):
        list(DaskExecutor("tcp://127.0.0.1:9", jobs=1, timeout="2s").run(abs, [(-1,)]))


def test_local_results_come_back_for_every_job_whatever_the_order():
    got = dict(LocalExecutor(2).run(pow, [(i, 2) for i in range(50)]))
    assert got == {i: i * i for i in range(50)}


def test_scheduler_needs_dask():
    with pytest.raises(FusemaxError, match="--scheduler needs --executor dask"):
        get_executor("local", scheduler="tcp://x:1")


def test_jobs_are_capped_per_core():
    from fusemax.orchestrator.executors import MAX_JOBS_PER_CORE, default_jobs
    assert LocalExecutor(10_000).jobs == MAX_JOBS_PER_CORE * default_jobs()
    assert LocalExecutor(0).jobs == default_jobs() and LocalExecutor(1).jobs == 1
