"""Wall and CPU time of ``write_report`` alone, cold (no ``report/`` folder) and warm (the same folder again),
each in a new process, on a copy of an experiment folder's tables (``results/`` and ``study/``, e.g. the
output of ``scripts/run_all.py``).

Run as ``python benchmarks/bench_report.py OUT [--repeat N] [--figures] [--against REPORT]``. CPU counts the
drawing workers too; on a shared machine compare CPU rather than wall time. "matplotlib" says whether the run
imported it (a warm report should not).

``--figures`` also draws the cold report once more in one process, figure after figure, and prints each
figure's CPU seconds split into its builder (data preparation and artists), the layout solve, the PNG, the
PDF and the interactive (Plotly) spec: where a cold report's time goes. ``--against REPORT`` compares the
first cold report with ``REPORT`` (e.g. one written before a change) by ``compare_reports.py``'s rules.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import compare_reports

CHILD = """
import json, os, sys, time
start, cpu = time.perf_counter(), os.times()
from fusemax.reports import write_report
write_report(sys.argv[1])
end = os.times()
print(json.dumps({"wall": time.perf_counter() - start, "matplotlib": "matplotlib" in sys.modules,
                  "cpu": sum(end[:4]) - sum(cpu[:4])}))
"""


#: The per-figure run: :func:`fusemax.reports.build` draws in this process, and the steps of
#: :func:`fusemax.reports.style.draw` are timed by wrapping the functions it calls.
FIGURES = """
import json, sys, time
from pathlib import Path
from fusemax.reports import build, interactive, style
from fusemax.reports import write_report

rows, current = {}, {}

def timed(step, fn):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            current[step] = current.get(step, 0.0) + time.process_time() - start
    return wrapper

def draw(folder, stem, *rest):
    current.clear()
    start = time.process_time()
    result = draw_one(folder, stem, *rest)
    total = time.process_time() - start
    png, pdf = current.get(".png", 0.0), current.get(".pdf", 0.0)
    rows[stem] = {"total": total, "build": total - current.get("save", 0.0) - current.get("interactive", 0.0),
                  "layout": current.get("save", 0.0) - png - pdf, "png": png, "pdf": pdf,
                  "interactive": current.get("interactive", 0.0)}
    return result

draw_one, draw_all = build.draw, build._draw_all
save_figure = style.save_figure
style.save_figure = lambda fig, path, **kw: timed(Path(path).suffix, save_figure)(fig, path, **kw)
style.save = timed("save", style.save)
interactive.to_json = timed("interactive", interactive.to_json)
build.draw = draw
build._draw_all = lambda queued, workers=None: draw_all(queued, 1)
write_report(sys.argv[1])
print(json.dumps(rows))
"""
STEPS = ("build", "layout", "png", "pdf", "interactive")


def figures(folder: Path) -> dict[str, dict[str, float]]:
    """Each figure's CPU seconds by step (:data:`STEPS` and ``total``), drawn one after another in one process."""
    child = subprocess.run([sys.executable, "-c", FIGURES, str(folder)], capture_output=True, text=True, check=True)
    return json.loads(child.stdout.splitlines()[-1])


def print_figures(rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{'figure (one process, CPU s)':<40} {'total':>6}" + "".join(f" {s:>11}" for s in STEPS))
    for stem, row in sorted(rows.items(), key=lambda item: -item[1]["total"]):
        print(f"{stem:<40} {row['total']:>6.2f}" + "".join(f" {row[s]:>11.2f}" for s in STEPS))
    sums = {key: sum(row[key] for row in rows.values()) for key in ("total", *STEPS)}
    print(f"{'all ' + str(len(rows)) + ' figures':<40} {sums['total']:>6.2f}" + "".join(f" {sums[s]:>11.2f}" for s in STEPS))


def timed(folder: Path) -> dict:
    """One ``write_report(folder)`` in a new process: wall and CPU seconds (import included)."""
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=True)
    return json.loads(child.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="an experiment folder (results/, and study/ if any)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="cold and warm runs each (default 1)")
    parser.add_argument("--figures", action="store_true", help="also each figure's CPU by step, drawn in one process")
    parser.add_argument("--against", type=Path, metavar="REPORT",
                        help="compare the first cold report with this report folder (exit 1 if they differ)")
    args = parser.parse_args(argv)
    status = 0
    print(f"{'run':<6} {'wall s':>8} {'cpu s':>8}  matplotlib")
    for k in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            copy(args.folder, Path(tmp))
            for name in ("cold", "warm"):
                t = timed(Path(tmp))
                print(f"{name:<6} {t['wall']:>8.2f} {t['cpu']:>8.2f}  {t['matplotlib']}")
                if name == "cold" and k == 0 and args.against is not None:
                    found = compare_reports.differences(args.against, Path(tmp) / "report")
                    print("\n".join(found) if found else f"cold report: the same as {args.against}")
                    status = 1 if found else 0
    if args.figures:
        with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
            copy(args.folder, Path(tmp))
            print_figures(figures(Path(tmp)))
    return status


def copy(folder: Path, to: Path) -> None:
    """An experiment folder's tables (``results/``, ``study/``) copied into ``to``."""
    for part in ("results", "study"):
        if (folder / part).is_dir():
            shutil.copytree(folder / part, to / part)


if __name__ == "__main__":
    sys.exit(main())
