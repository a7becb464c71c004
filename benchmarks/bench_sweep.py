"""Cold and warm wall time and peak memory of the full reproduction and of its sweep stage.

Run as ``python benchmarks/bench_sweep.py [--jobs 2] [--only sweep|run_all]``. Each command runs twice in a
fresh output folder with a fresh job cache (``FUSEMAX_CACHE``): cold (every job evaluated) then warm (every
job cached). Rows:

* ``run_all.py``: ``python scripts/run_all.py --jobs N`` -- the sweep, validation, report and figures;
  targets cold < 60 s and warm < 5 s on 2 cores (the artifact needs about 9 hours);
* ``fusemax run``: the sweep stage alone (120 points, render -> jobs -> combine -> CSVs).

The ``jobs`` column counts the attention sweep's jobs (``results/run.json``); run_all.py serves the
end-to-end searches, the Pareto evaluations and the figures from the same cache / the report folder too.

Peak memory is the largest resident set of any one process of the run (the parent or a worker), as the
kernel reports it for the reaped process tree (``wait4`` ``ru_maxrss``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {("run_all.py", "cold"): 60.0, ("run_all.py", "warm"): 5.0}


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit status) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: ran, but validation or some point failed -- still timed
        sys.stderr.write(proc.stderr.read().decode()[-2000:])
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024, proc.returncode


def _jobs_line(out: Path) -> str:
    try:
        jobs = json.loads((out / "results" / "run.json").read_text())["jobs"]
    except (OSError, KeyError, ValueError):
        return "?"
    return f"{jobs['jobs']} jobs, {jobs['evaluated']} evaluated, {jobs['cached']} cached"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", choices=("sweep", "run_all"), help="run one of the two rows only")
    args = parser.parse_args()
    commands = {
        "run_all.py": lambda out: [sys.executable, "scripts/run_all.py", "--out", str(out), "--jobs", str(args.jobs)],
        "fusemax run": lambda out: [sys.executable, "-m", "fusemax", "run", "--out", str(out), "--jobs",
                                    str(args.jobs), "--quiet"],
    }
    if args.only:
        commands = {k: v for k, v in commands.items() if (k == "run_all.py") == (args.only == "run_all")}
    rows = []
    for name, make in commands.items():
        with tempfile.TemporaryDirectory(prefix="fusemax-bench-") as tmp:
            out = Path(tmp) / "out"
            env = {**os.environ, "FUSEMAX_CACHE": str(Path(tmp) / "cache")}
            for phase in ("cold", "warm"):
                wall, rss, status = _timed(make(out), env)
                rows.append((name, phase, wall, rss, status, _jobs_line(out)))
                print(f"  {name} {phase}: {wall:.1f} s", file=sys.stderr, flush=True)
    print(f"\n{'command':<12} {'cache':<5} {'wall s':>8} {'peak MiB':>9} {'target':>8} {'exit':>4}  sweep jobs")
    for name, phase, wall, rss, status, jobs in rows:
        target = TARGETS.get((name, phase))
        mark = "" if target is None else (f"<{target:g} s" + (" ok" if wall < target else " MISS"))
        print(f"{name:<12} {phase:<5} {wall:8.1f} {rss:9.0f} {mark:>8} {status:>4}  {jobs}")
    print(f"\n{args.jobs} worker processes; {os.cpu_count()} CPUs visible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
