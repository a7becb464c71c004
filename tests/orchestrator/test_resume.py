"""A sweep killed mid-way (SIGKILL, no chance to clean up) and restarted gives byte-identical results to an
uninterrupted run, and the restart evaluates exactly the jobs the killed run had not finished."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SWEEP = ["--configs", "binding,cascade,flat,arch", "--models", "BERT,T5", "--seq-lens", "1K,4K,16K"]


def _fusemax(out: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fusemax", "run", "--out", str(out), "--cache", str(cache), *SWEEP, *extra]


def _entries(cache: Path) -> int:
    return sum(1 for _ in cache.glob("??/*.json")) if cache.is_dir() else 0


def _results(out: Path) -> dict[str, bytes]:
    """Every CSV of a results folder (run.json records timings, so it differs by design)."""
    return {p.name: p.read_bytes() for p in sorted((out / "results").glob("*.csv"))}


def _jobs(out: Path) -> dict[str, int]:
    return json.loads((out / "results" / "run.json").read_text())["jobs"]


def test_killed_sweep_resumes_without_loss_or_repeats(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reference = tmp_path / "reference"
    subprocess.run(_fusemax(reference, tmp_path / "cache-ref", "--jobs", "2", "--quiet"), check=True, env=env,
                   capture_output=True)
    total = _jobs(reference)["jobs"]
    assert total > 100

    out, cache = tmp_path / "killed", tmp_path / "cache"
    proc = subprocess.Popen(_fusemax(out, cache, "--jobs", "1", "--quiet"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _entries(cache) < total // 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _entries(cache)
    if not 0 < done < total:
        pytest.fail(f"the sweep was not killed mid-way ({done} of {total} jobs cached)")
    assert not (out / "results").exists()

    subprocess.run(_fusemax(out, cache, "--jobs", "2", "--quiet"), check=True, env=env, capture_output=True)
    counts = _jobs(out)
    assert (counts["cached"], counts["evaluated"], counts["corrupt"]) == (done, total - done, 0)
    assert _entries(cache) == total
    assert not list(cache.glob("??/.*.tmp")), "a killed write left a temporary file behind"
    assert _results(out) == _results(reference) and _results(out)
