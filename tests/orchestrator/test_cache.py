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
    stale = folder / f".ab12.json.{int(dead.stdout)}.0f1e.tmp"   # its writer has exited: a killed write's leftover
    live = folder / f".ab34.json.{os.getpid()}.0f1e.tmp"          # this process is alive: maybe mid-write
    stale.write_text("{")
    live.write_text("{")
    assert Cache(tmp_path).remove_stale_temporaries() == 1
    assert not stale.exists() and live.exists()


@pytest.mark.parametrize("how", ["not utf-8", "folder", "symlink", "unreadable"])
def test_unreadable_entry_is_corrupt_named_and_recomputed(how, jobs, tmp_path):
    cache = Cache(tmp_path / "c")
    fresh = run_jobs(jobs, LocalExecutor(1), cache)
    victim = jobs[2]
    path = cache.path(victim.key)
    target = tmp_path / "not-an-entry.txt"
    if how == "not utf-8":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] = 0xFF
        path.write_bytes(bytes(data))
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "symlink":
        target.write_text("a file the link points at\n")
        path.unlink()
        path.symlink_to(target)
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads mode-000 files")
        os.chmod(path, 0)
        os.chmod(path.parent, 0o555)  # and it cannot be removed either
    try:
        again = run_jobs(jobs, LocalExecutor(1), Cache(tmp_path / "c"))
    finally:
        os.chmod(path.parent, 0o755)
    assert (again.counts.corrupt, again.counts.evaluated) == (1, 1)
    assert again.counts.corrupt_entries == [str(path)]
    assert again.stats[victim.key] == fresh.stats[victim.key]
    if how == "symlink":  # the link was replaced, its target left alone
        assert not path.is_symlink() and target.read_text() == "a file the link points at\n"


def test_nested_cache_folders_are_never_world_writable_under_umask_000(jobs, tmp_path):
    old = os.umask(0)
    try:
        path = Cache(tmp_path / "a" / "b" / "c").put(jobs[0].key, {"stats": {"valid": True}}, "x", "builtin")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c", path.parent):
        assert not folder.stat().st_mode & stat.S_IWOTH, folder


def test_temporary_file_is_opened_exclusively_and_never_through_a_link(jobs, tmp_path, monkeypatch):
    flags = []
    real_open = os.open

    def spy(path, flag, *args, **kwargs):
        if str(path).endswith(".tmp"):
            flags.append(flag)
        return real_open(path, flag, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    Cache(tmp_path).put(jobs[0].key, {"stats": {}})
    assert flags and all(f & os.O_EXCL and f & os.O_NOFOLLOW for f in flags)


def test_read_only_cache_serves_hits_and_computes_the_rest_with_one_warning(jobs, tmp_path, capsys, monkeypatch):
    import errno

    from fusemax.orchestrator import cache as cache_module
    root = tmp_path / "shared"
    run_jobs(jobs[:2], LocalExecutor(1), Cache(root))

    def read_only_mount(path, text, mode=0):  # what a read-only mount (or another user's folder) answers
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(cache_module, "write_text_atomic", read_only_mount)
    out = run_jobs(jobs, LocalExecutor(1), Cache(root))
    assert (out.counts.cached, out.counts.evaluated, out.counts.failed) == (2, len(jobs) - 2, 0)
    assert capsys.readouterr().err.count("read-only") == 1
    assert Cache(root).entries() == 2


def test_entry_with_valid_checksum_but_no_statistics_is_rejected_and_recomputed(jobs, tmp_path):
    from fusemax.orchestrator.cache import entry_text
    cache = Cache(tmp_path)
    fresh = run_jobs(jobs, LocalExecutor(1), cache)
    path = cache.path(jobs[1].key)
    path.write_text(entry_text(jobs[1].key, {"stats": {"hello": 1}}))  # a checksum that matches
    again = run_jobs(jobs, LocalExecutor(1), Cache(tmp_path))
    assert (again.counts.corrupt, again.counts.evaluated) == (1, 1)
    assert again.stats == fresh.stats


def test_entry_of_the_earlier_format_is_recomputed_and_replaced_without_counting_as_corrupt(jobs, tmp_path):
    """Format 1 checksummed the result's sorted JSON; such an entry (an older fusemax's cache) is a miss, not
    damage: the job runs again and its entry is rewritten in the current format."""
    import hashlib

    from fusemax.orchestrator.cache import FORMAT
    cache = Cache(tmp_path)
    fresh = run_jobs(jobs, LocalExecutor(1), cache)
    path = cache.path(jobs[0].key)
    entry = json.loads(path.read_text())
    entry["format"] = 1
    entry["checksum"] = hashlib.sha256(json.dumps(entry["result"], sort_keys=True,
                                                  separators=(",", ":")).encode()).hexdigest()
    path.write_text(json.dumps(entry))
    again = run_jobs(jobs, LocalExecutor(1), Cache(tmp_path))
    assert (again.counts.corrupt, again.counts.evaluated, again.counts.cached) == (0, 1, len(jobs) - 1)
    assert again.stats == fresh.stats
    assert json.loads(path.read_text())["format"] == FORMAT


def test_entry_checksum_covers_the_stored_result_text(jobs, tmp_path):
    """The checksum is the SHA-256 of the result exactly as stored (compact JSON, the result's key order): a
    reader can verify an entry with nothing but the file."""
    import hashlib
    cache = Cache(tmp_path)
    run_jobs(jobs, LocalExecutor(1), cache)
    text = cache.path(jobs[0].key).read_text()
    entry = json.loads(text)
    stored = text[text.index('"result": ') + len('"result": '):-1]
    assert json.loads(stored) == entry["result"]
    assert hashlib.sha256(stored.encode()).hexdigest() == entry["checksum"]


def test_an_entry_reformatted_by_hand_counts_as_corrupt_even_with_its_content_unchanged(jobs, tmp_path):
    """The checksum covers the stored text; an entry written again in another layout (indented, keys moved)
    cannot be checked and is recomputed, never trusted."""
    cache = Cache(tmp_path)
    fresh = run_jobs(jobs, LocalExecutor(1), cache)
    path = cache.path(jobs[0].key)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    again = run_jobs(jobs, LocalExecutor(1), Cache(tmp_path))
    assert (again.counts.corrupt, again.counts.evaluated) == (1, 1)
    assert again.stats == fresh.stats
