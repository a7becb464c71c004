"""Start-up of ``fusemax model`` as a drop-in for ``timeloop-model``: process time against in-process time.

Run as ``python benchmarks/bench_cli_start.py [--repeat N]``. Renders BERT 1K (binding) with
``--for-timeloop`` into a temporary folder, then times, best of N (the machine's other load only adds), in
wall-clock and CPU seconds:

* one ``fusemax model input.yaml --ert ERT.yaml --art ART.yaml`` process on one spec, cold (a new
  interpreter; its byte code compiled once beforehand, as after any first run);
* the same evaluation in this process (:func:`fusemax.engine.evaluate` on the loaded spec);
* one ``fusemax model DIR...`` process on every Einsum folder (several specs, one start-up);
* ``python -c pass``, the interpreter's own start-up, the floor of any Python tool;
* ``timeloop-model`` on the same input, when it is installed (``$TIMELOOP_MODEL`` or PATH).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fusemax.cli import main as fusemax_main
from fusemax.energy.tables import load_art, load_ert
from fusemax.engine import evaluate, load_spec


def _best(cmd: list[str], repeat: int, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``cmd``, each the best of ``repeat`` runs: on a shared machine the
    CPU time (user + system of the process) is the steadier of the two."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall, after = min(wall, time.perf_counter() - start), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command; the best counts (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fusemax-bench-start-") as tmp:
        work = Path(tmp)
        # Byte code goes to the temporary folder, compiled by the warm-up run, whatever the caller's settings.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        with contextlib.redirect_stdout(io.StringIO()):
            fusemax_main(["render", "--config", "binding", "--model", "BERT", "--seq-len", "1K", "-o",
                          str(work / "v04"), "--for-timeloop", str(work / "tl"), "--timeloop-keys", "v3.0.3"])
        folders = sorted(p for p in (work / "tl").iterdir() if p.is_dir())
        qk = work / "tl" / "qk"
        one = [sys.executable, "-m", "fusemax", "model", "input.yaml", "--ert", "ERT.yaml", "--art", "ART.yaml",
               "-o", str(work / "out")]
        several = [sys.executable, "-m", "fusemax", "model", *map(str, folders), "-o", str(work / "out-all")]
        subprocess.run(one, env=env, cwd=qk, check=True, stdout=subprocess.DEVNULL)  # compiles the byte code
        rows = [("python -c pass (interpreter start-up)", _best([sys.executable, "-c", "pass"], args.repeat, env, qk)),
                ("fusemax model, one spec (process)", _best(one, args.repeat, env, qk))]
        spec, ert, art = load_spec(qk / "input.yaml"), load_ert(qk / "ERT.yaml"), load_art(qk / "ART.yaml")
        evaluate(spec, ert, art)
        start, cpu_start, n = time.perf_counter(), time.process_time(), 1000
        for _ in range(n):
            evaluate(spec, ert, art)
        rows.append(("fusemax evaluation, one spec (in process)", ((time.perf_counter() - start) / n,
                                                                   (time.process_time() - cpu_start) / n)))
        many = _best(several, max(1, args.repeat // 4), env, qk)
        rows.append((f"fusemax model, {len(folders)} specs in one call (process)", many))
        rows.append(("  per spec", (many[0] / len(folders), many[1] / len(folders))))
        tool = os.environ.get("TIMELOOP_MODEL") or shutil.which("timeloop-model")
        if tool:
            rows.append(("timeloop-model, one spec (process)",
                         _best([tool, "input.yaml", "ERT.yaml", "ART.yaml"], args.repeat, env, qk)))
    width = max(len(r[0]) for r in rows)
    print(f"best of {args.repeat} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'what':<{width}}  {'wall s':>10}  {'CPU s':>10}")
    for what, (wall, cpu) in rows:
        print(f"{what:<{width}}  {wall:10.6f}  {cpu:10.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
