"""Where jobs run: ``local`` (a process pool on this machine) or ``dask`` (a dask.distributed cluster).

Both yield ``(index, result)`` pairs as jobs finish, in whatever order they finish; the runner puts results
back in plan order, so the output never depends on the executor or on timing.

Security: without ``--scheduler`` the dask executor starts a LocalCluster whose scheduler and workers
listen on 127.0.0.1 only and speak TLS with credentials made for this run (``Security.temporary()``), held
in memory only: another local user, or any client without them, cannot submit code to it. It serves no
dashboard and no HTTP routes. With ``--scheduler``, the client takes its credentials from dask's own
configuration (``DASK_DISTRIBUTED__COMM__TLS__*``, see the README); pass an address only for a cluster
you control.
"""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Protocol, Sequence

from fusemax.errors import FusemaxError
from fusemax.processes import worker_init

EXECUTORS = ("local", "dask")


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is 0 or unset: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: More worker processes than this many per core only add memory and start-up time (jobs are CPU-bound).
MAX_JOBS_PER_CORE = 4


def worker_count(jobs: int) -> int:
    """``--jobs``: 0 means every core; larger requests are capped at :data:`MAX_JOBS_PER_CORE` per core."""
    return min(jobs or default_jobs(), MAX_JOBS_PER_CORE * default_jobs())


class Executor(Protocol):
    name: str

    def run(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """Call ``fn(*args[i])`` for every i; yield ``(i, result)`` as each finishes."""


class LocalExecutor:
    """``jobs`` processes (1: in this process, no pool)."""

    name = "local"

    def __init__(self, jobs: int = 0):
        self.jobs = worker_count(jobs)

    def describe(self) -> str:
        return f"local, {self.jobs} process{'es' if self.jobs > 1 else ''}"

    def run(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        if self.jobs == 1 or len(args) <= 1:
            for i, a in enumerate(args):
                yield i, fn(*a)
            return
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(args)), initializer=worker_init,
                                   initargs=(os.getpid(),))
        try:
            # Keep only a few jobs queued per worker: an interrupt then abandons little work.
            pending: dict[Any, int] = {}
            todo = iter(enumerate(args))
            for i, a in todo:
                pending[pool.submit(fn, *a)] = i
                if len(pending) >= 4 * self.jobs:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(fn, *nxt[1])] = nxt[0]
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or failed: the running jobs are lost either way, so stop the
            # workers now rather than wait for them (a mapper search can take minutes). The pool has no
            # public way to do this.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def local_cluster(jobs: int) -> Iterator[tuple[Any, Any]]:
    """A LocalCluster of ``jobs`` single-threaded worker processes on 127.0.0.1, TLS with temporary
    credentials, without dashboard or HTTP routes; yields ``(cluster, security)``."""
    import dask
    from distributed import LocalCluster
    from distributed.security import Security
    security = Security.temporary()
    # The scheduler and workers always start an HTTP server; without routes it serves nothing (the
    # default routes include metrics and an API, unauthenticated), and port 0 keeps it off 8787.
    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               protocol="tls://", security=security, dashboard_address="127.0.0.1:0",
                               scheduler_kwargs={"dashboard": False}, silence_logs=40)
    try:
        yield cluster, security
    finally:
        cluster.close()


class DaskExecutor:
    """A dask.distributed cluster: ``scheduler`` (``tls://host:8786``; credentials from dask's config), or
    a LocalCluster of ``jobs`` single-threaded worker processes on 127.0.0.1 (see :func:`local_cluster`)."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, jobs: int = 0, timeout: str = "30s"):
        self.scheduler = scheduler
        self.jobs = worker_count(jobs)
        self.timeout = timeout
        self.address: str | None = None   # the scheduler's address once connected

    def describe(self) -> str:
        return f"dask, scheduler {self.scheduler}" if self.scheduler else f"dask, LocalCluster of {self.jobs}"

    def run(self, fn: Callable[..., Any], args: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        try:
            from distributed import Client
            from distributed.security import Security  # noqa: F401  TLS needs `cryptography` (the [dask] extra)
        except ImportError as exc:
            raise FusemaxError(f"the dask executor needs dask.distributed with TLS ({exc}): "
                               "pip install 'fusemax[dask]'", source="--executor") from None
        where = self.scheduler or "--executor dask"
        with contextlib.ExitStack() as stack:
            try:
                if self.scheduler:
                    client = Client(self.scheduler, timeout=self.timeout)
                else:
                    cluster, security = stack.enter_context(local_cluster(self.jobs))
                    client = Client(cluster, security=security)
            except (OSError, TimeoutError, ValueError, RuntimeError, ImportError) as exc:
                # RuntimeError: "Nanny failed to start" (a worker killed while the local cluster starts)
                raise FusemaxError(f"cannot {'reach the dask scheduler' if self.scheduler else 'start the local dask cluster'}"
                                   f": {_first_line(exc)}", source=where) from None
            stack.callback(client.close)
            self.address = client.scheduler.address
            futures = {client.submit(fn, *a, pure=False): i for i, a in enumerate(args)}
            yield from self._results(client, futures, where)

    def _results(self, client: Any, futures: dict[Any, int], where: str) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` as the futures finish. A lost scheduler, a worker the scheduler gave up on
        (``KilledWorker``) or a cluster left without workers for :attr:`timeout` ends the run with one
        :class:`FusemaxError`; the jobs finished so far are already in the cache, so a rerun resumes."""
        from concurrent.futures import CancelledError

        from dask.utils import parse_timedelta
        from distributed import wait as dask_wait
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        grace = float(parse_timedelta(self.timeout))
        pending = set(futures)
        idle_since: float | None = None
        try:
            while pending:
                try:
                    done, pending = dask_wait(pending, timeout=min(grace, 5.0), return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                for future in done:
                    yield futures[future], future.result()
                if done or client.scheduler_info().get("workers"):
                    idle_since = None
                    continue
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > grace:
                    raise FusemaxError(f"the dask cluster has had no workers for {grace:g} s; "
                                       f"{len(pending)} jobs were left. {RESUME}", source=where)
        except (CancelledError, CommClosedError, KilledWorker, OSError) as exc:
            raise FusemaxError(f"lost the dask cluster mid-sweep ({type(exc).__name__}: {_first_line(exc)}). "
                               f"{RESUME}", source=where) from None


#: What a user does after a cluster is lost: the finished jobs are cached, so the same command resumes.
RESUME = "Finished jobs are kept in the cache: run the same command again to continue"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_scheduler(address: str | None, allow_remote: bool) -> None:
    """Refuse a ``--scheduler`` address that is not on this machine unless ``allow_remote``: fusemax
    sends that scheduler code to run (its jobs), and takes back what it answers, so a remote one must be a
    deliberate choice (``--allow-remote-scheduler``). Loopback means ``localhost``, 127.0.0.0/8 or ``::1``;
    any other host name counts as remote (it may resolve anywhere)."""
    import ipaddress
    if address is None or allow_remote:
        return
    rest = address.split("://", 1)[-1]
    if rest.startswith("["):
        host = rest[1:].split("]", 1)[0]
    else:
        host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    host = host.strip("/")
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise FusemaxError(f"{address} is not on this machine (loopback); fusemax would send it the sweep's jobs "
                           "to run. Pass --allow-remote-scheduler if it is your cluster", source="--scheduler")


def get_executor(name: str, jobs: int = 0, scheduler: str | None = None) -> Executor:
    if scheduler and name != "dask":
        raise FusemaxError("--scheduler needs --executor dask", source="--scheduler")
    if name == "local":
        return LocalExecutor(jobs)
    if name == "dask":
        return DaskExecutor(scheduler, jobs)
    raise FusemaxError(f"unknown executor {name!r}; use {', '.join(EXECUTORS)}", source="--executor")
