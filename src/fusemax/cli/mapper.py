"""``fusemax mapper FILE... [--ert ERT.yaml] [--metric M ...] -o OUTDIR``: a drop-in for ``timeloop-mapper``.

FILE... hold the architecture, the problem, the constraints (``constraints: targets:``) and the mapper
settings (``mapper: optimization_metrics:``), merged like timeloopfe does. Writes the best mapping as v0.4
YAML (``OUTDIR/timeloop-mapper.map.yaml``), its statistics (``OUTDIR/stats.json`` and
``OUTDIR/timeloop-mapper.stats.txt``) and prints how the mapspace was searched (exhaustive or sampled).
Constraints that admit no legal mapping exit 2 naming the level that cannot fit.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from fusemax.energy.tables import load_ert
from fusemax.engine import loop_nests
from fusemax.errors import SpecError
from fusemax.fileio import write_text_atomic
from fusemax.mapper import METRICS, mapping_to_yaml
from fusemax.mapper.files import search_files
from fusemax.mapper.search import DEFAULT_MAX_CANDIDATES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="architecture, problem, constraints and mapper YAML files (v0.4)")
    parser.add_argument("--ert", metavar="ERT.yaml",
                        help="Accelergy energy reference table (default: estimated from the architecture)")
    parser.add_argument("--metric", nargs="+", choices=METRICS, metavar="METRIC",
                        help=f"optimization metrics in priority order ({', '.join(METRICS)}); "
                             "default: the files' mapper.optimization_metrics, else edp")
    parser.add_argument("--max-candidates", type=int, default=DEFAULT_MAX_CANDIDATES, metavar="N",
                        help="search exhaustively up to about N (>= 1) candidates, else sample factor choices evenly")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="stop searching after SECONDS once a legal mapping is found (default: no limit)")
    parser.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")


def run(args: argparse.Namespace) -> int:
    ert = load_ert(args.ert) if args.ert else None
    result = search_files(*args.files, metric=args.metric, ert=ert, max_candidates=args.max_candidates,
                          time_budget=args.time_budget)
    out = Path(args.out)
    from fusemax.statsfile import format_stats
    try:
        write_text_atomic(out / "timeloop-mapper.map.yaml", mapping_to_yaml(result.mapping, result.spec.architecture))
        info = {**result.stats.to_json(), "mapper": {"candidates_evaluated": result.candidates_evaluated,
                                                     "exhaustive": result.exhaustive, "method": result.method}}
        write_text_atomic(out / "stats.json", json.dumps(info, indent=1) + "\n")
        text = format_stats(result.stats, spec_name=" ".join(args.files), loop_nests=loop_nests(result.spec))
        write_text_atomic(out / "timeloop-mapper.stats.txt", text)
    except OSError as exc:
        raise SpecError(f"cannot write output: {exc.strerror}", source=str(out)) from None
    s = result.stats
    print(f"fusemax mapper: {result.method}")
    print(f"fusemax mapper: best {s.cycles} cycles, {s.energy_pj / 1e6:.3f} uJ, utilization {s.utilization:.2f} "
          f"-> {out / 'timeloop-mapper.map.yaml'}")
    return 0
