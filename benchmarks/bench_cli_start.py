"""Start-up of ``fusemax model`` as a drop-in for ``timeloop-model``: process time against in-process time.

Run as ``python benchmarks/bench_cli_start.py [--repeat N]``. Renders BERT 1K (binding) with
``--for-timeloop`` into a temporary folder, then times, best of N (the machine's other load only adds):

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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fusemax.cli import main as fusemax_main
from fusemax.energy.tables import load_art, load_ert
from fusemax.engine import evaluate, load_spec


def _best(cmd: list[str], repeat: int, env: dict[str, str], cwd: Path) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


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
        start, n = time.perf_counter(), 1000
        for _ in range(n):
            evaluate(spec, ert, art)
        rows.append(("fusemax evaluation, one spec (in process)", (time.perf_counter() - start) / n))
        many = _best(several, max(1, args.repeat // 4), env, qk)
        rows.append((f"fusemax model, {len(folders)} specs in one call (process)", many))
        rows.append(("  per spec", many / len(folders)))
        tool = os.environ.get("TIMELOOP_MODEL") or shutil.which("timeloop-model")
        if tool:
            rows.append(("timeloop-model, one spec (process)",
                         _best([tool, "input.yaml", "ERT.yaml", "ART.yaml"], args.repeat, env, qk)))
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'seconds':>10}")
    for what, seconds in rows:
        print(f"{what:<{width}}  {seconds:10.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
