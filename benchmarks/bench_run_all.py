"""Wall and CPU time of each stage of ``scripts/run_all.py``, cold (an empty output folder and job cache) and
warm (the same folder again, everything cached). CPU time counts the main process and its worker processes
(a stage's pool is counted when its workers end), so CPU above wall means the cores worked in parallel.
The painter, which draws the paper's figures while the study runs and then the report, ends in the report
stage: its CPU, the paper's figures included, counts there.

Run as ``python benchmarks/bench_run_all.py [--jobs N] [--no-study] [--keep DIR]``. It runs
``run_all.main`` (its stages are :data:`run_all.STAGES`) in a temporary folder, twice, each time in a new
process (so the warm run, like a real rerun, starts without the memos of the cold one), with its output
silenced, and prints one row per stage. Timings on a shared machine are noisy: compare runs made under
the same load.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

RUN_ALL = Path(__file__).resolve().parent.parent / "scripts" / "run_all.py"


def _run_all() -> ModuleType:
    # scripts/ is not a package: load run_all.py by path, so the stages timed are exactly the script's
    spec = importlib.util.spec_from_file_location("run_all", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Timings = dict[str, tuple[float, float]]


def timed_run(run_all: ModuleType, argv: list[str]) -> tuple[Timings, tuple[float, float], int]:
    """(stage -> (wall, CPU seconds), the whole run's, exit status) of one ``run_all.main(argv)``, its output
    silenced."""
    timings: Timings = {}
    start, cpu = time.perf_counter(), run_all._cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = run_all.main(argv, timings)
    return timings, (time.perf_counter() - start, run_all._cpu_seconds() - cpu), status


def fresh_run(run_argv: list[str]) -> tuple[Timings, tuple[float, float], int]:
    """:func:`timed_run` in a new Python process."""
    child = subprocess.run([sys.executable, __file__, "--one-run", json.dumps(run_argv)], capture_output=True,
                           text=True, check=True)
    timings, total, status = json.loads(child.stdout.splitlines()[-1])
    return timings, total, status


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--one-run"]:  # the child of fresh_run
        print(json.dumps(timed_run(_run_all(), json.loads(sys.argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (0 = all cores)")
    parser.add_argument("--no-study", action="store_true", help="the paper only")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR (must be absent or empty) and keep it")
    args = parser.parse_args(argv)
    run_all = _run_all()  # for its STAGES
    with contextlib.ExitStack() as stack:
        out = args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-run-all-"))
        run_argv = ["--out", str(out), "--jobs", str(args.jobs)] + (["--no-study"] if args.no_study else [])
        before = ' '.join(f'{x:.2f}' for x in os.getloadavg())
        cold, cold_total, status = fresh_run(run_argv)
        warm, warm_total, warm_status = fresh_run(run_argv)
    print(f"{'stage':<20} {'cold wall':>10} {'cold CPU':>9} {'warm wall':>10} {'warm CPU':>9}   (seconds)")
    nan = (float("nan"), float("nan"))
    for name in run_all.STAGES:
        if name in cold or name in warm:
            (cw, cc), (ww, wc) = cold.get(name, nan), warm.get(name, nan)
            print(f"{name:<20} {cw:>10.1f} {cc:>9.1f} {ww:>10.1f} {wc:>9.1f}")
    print(f"{'total':<20} {cold_total[0]:>10.1f} {cold_total[1]:>9.1f} {warm_total[0]:>10.1f} {warm_total[1]:>9.1f}")
    print(f"load average before / after: {before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    if status or warm_status:
        print(f"run_all exited with {status} (cold) and {warm_status} (warm)", file=sys.stderr)
    return status or warm_status


if __name__ == "__main__":
    sys.exit(main())
