"""The content-addressed cache: checksummed entries, corrupt ones recomputed (never used), atomic writes,
permissions from the umask and never world-writable."""
from __future__ import annotations

import json
import os
import stat

import pytest

from fusemax.experiments import sweep
from fusemax.orchestrator import Cache, LocalExecutor, job_key, make_job, run_jobs

POINT = sweep.points(["binding"], ["BERT"], [1024])[0]


@pytest.fixture(scope="module")
def jobs():
    return list(sweep.plan_point(POINT).jobs.values())


def test_key_covers_spec_backend_and_version():
    files = {"arch.yaml": "a", "problem.yaml": "p", "mapping.yaml": "m"}
    key = job_key(files, "builtin", "v1")
    assert key == job_key(dict(reversed(list(files.items()))), "builtin", "v1")  # order of files is irrelevant
    assert len({key, job_key({**files, "mapping.yaml": "m2"}, "builtin", "v1"),
                job_key(files, "timeloop", "v1"), job_key(files, "builtin", "v2")}) == 4


def _corrupt_ways(path):
    entry = json.loads(path.read_text())
    flipped = json.loads(path.read_text())
    flipped["result"]["stats"]["cycles"] += 1           # a changed number: the checksum no longer matches
    return {
        "truncated": path.read_text()[: len(path.read_text()) // 2],
        "bit flip": json.dumps(flipped),
        "wrong key": json.dumps({**entry, "key": "0" * 64}),  # a valid entry filed under another name
        "not json": "\x00\x01garbage",
    }


@pytest.mark.parametrize("how", ["truncated", "bit flip", "wrong key", "not json"])
def test_corrupt_entry_is_detected_and_recomputed(how, jobs, tmp_path):
    cache = Cache(tmp_path)
    fresh = run_jobs(jobs, LocalExecutor(1), cache)
    victim = jobs[3]
    path = cache.path(victim.key)
    path.write_text(_corrupt_ways(path)[how])

    again = run_jobs(jobs, LocalExecutor(1), cache)
    assert (again.counts.corrupt, again.counts.evaluated, again.counts.cached) == (1, 1, len(jobs) - 1)
    assert again.stats[victim.key] == fresh.stats[victim.key]
    assert cache.get(victim.key) is not None  # repaired


def test_cached_results_equal_fresh_ones(jobs, tmp_path):
    cache = Cache(tmp_path)
    fresh = run_jobs(jobs, LocalExecutor(2), cache)
    assert fresh.counts.evaluated == len(jobs) == cache.entries()
    warm = run_jobs(jobs, LocalExecutor(2), cache)
    assert (warm.counts.cached, warm.counts.evaluated) == (len(jobs), 0)
    assert warm.stats == fresh.stats
    assert not list(tmp_path.glob("??/.*.tmp"))


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o000, 0o664)])
def test_files_follow_the_umask_and_are_never_world_writable(umask, mode, jobs, tmp_path):
    old = os.umask(umask)
    try:
        path = Cache(tmp_path / "c").put(jobs[0].key, {"stats": {"valid": True}}, "x", "builtin")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert not path.parent.stat().st_mode & stat.S_IWOTH


def test_unwritable_cache_is_one_clear_error(jobs, tmp_path):
    from fusemax.errors import FusemaxError
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(FusemaxError, match="cannot write the cache"):
        Cache(blocker).put(jobs[0].key, {"stats": {}})


def test_duplicate_jobs_run_once(jobs, tmp_path):
    from fusemax.backends import get_backend
    version = get_backend("builtin").version()
    relabelled = [make_job(j.files, j.backend, version, "same spec, other point") for j in jobs]
    assert [j.key for j in relabelled] == [j.key for j in jobs]
    out = run_jobs(jobs + relabelled, LocalExecutor(1), Cache(tmp_path))
    assert out.counts.jobs == out.counts.evaluated == len({j.key for j in jobs})


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    folder = tmp_path / "ab"
    folder.mkdir()
    stale = folder / f".ab12.{int(dead.stdout)}.tmp"   # its writer has exited: a killed write's leftover
    live = folder / f".ab34.{os.getpid()}.tmp"          # this process is alive: maybe mid-write
    stale.write_text("{")
    live.write_text("{")
    assert Cache(tmp_path).remove_stale_temporaries() == 1
    assert not stale.exists() and live.exists()
