"""Wall and CPU time of ``write_report`` alone, cold (no ``report/`` folder) and warm (the same folder again),
each in a new process, on a copy of an experiment folder's tables (``results/`` and ``study/``, e.g. the
output of ``scripts/run_all.py``).

Run as ``python benchmarks/bench_report.py OUT [--repeat N]``. CPU counts the drawing workers too; on a
shared machine compare CPU rather than wall time. "matplotlib" says whether the run imported it (a warm
report should not).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, os, sys, time
start, cpu = time.perf_counter(), os.times()
from fusemax.reports import write_report
write_report(sys.argv[1])
end = os.times()
print(json.dumps({"wall": time.perf_counter() - start, "matplotlib": "matplotlib" in sys.modules,
                  "cpu": sum(end[:4]) - sum(cpu[:4])}))
"""


def timed(folder: Path) -> dict:
    """One ``write_report(folder)`` in a new process: wall and CPU seconds (import included)."""
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=True)
    return json.loads(child.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="an experiment folder (results/, and study/ if any)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="cold and warm runs each (default 1)")
    args = parser.parse_args(argv)
    print(f"{'run':<6} {'wall s':>8} {'cpu s':>8}  matplotlib")
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            for part in ("results", "study"):
                if (args.folder / part).is_dir():
                    shutil.copytree(args.folder / part, Path(tmp) / part)
            for name in ("cold", "warm"):
                t = timed(Path(tmp))
                print(f"{name:<6} {t['wall']:>8.2f} {t['cpu']:>8.2f}  {t['matplotlib']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
