"""Speed of the builtin engine on the FuseMax conformance cases (evaluations/s and ms per evaluation).

Run as ``python benchmarks/bench_engine.py [--repeat N]``. Spec loading (YAML parsing) is timed
separately from :func:`fusemax.engine.evaluate`, which is what a mapper or sweep calls repeatedly.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from fusemax.energy.tables import load_ert
from fusemax.engine import evaluate, load_spec

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="evaluations per case (default 200)")
    parser.add_argument("--set", default="fusemax", help="corpus set (fusemax, tutorials, random)")
    args = parser.parse_args()
    folder = (CORPUS / args.set).resolve()
    if not folder.is_dir():
        print(f"corpus set not found: {folder}", file=sys.stderr)
        return 2
    rows = []
    for case in sorted(p for p in folder.iterdir() if (p / "spec.yaml").is_file()):
        t0 = time.perf_counter()
        spec = load_spec(case / "spec.yaml")
        load_ms = (time.perf_counter() - t0) * 1e3
        ert = load_ert(case / "ERT.yaml")
        evaluate(spec, ert)  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            evaluate(spec, ert)
        eval_ms = (time.perf_counter() - t0) * 1e3 / args.repeat
        rows.append((case.name, load_ms, eval_ms))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'load ms':>8}  {'eval ms':>8}  {'eval/s':>8}")
    for name, load_ms, eval_ms in rows:
        print(f"{name:<{width}}  {load_ms:8.2f}  {eval_ms:8.3f}  {1e3 / eval_ms:8.0f}")
    evals = [r[2] for r in rows]
    print(f"\n{len(rows)} cases, {args.repeat} evaluations each: evaluate() mean {statistics.mean(evals):.3f} ms, "
          f"median {statistics.median(evals):.3f} ms, max {max(evals):.3f} ms "
          f"({1e3 / statistics.mean(evals):.0f} evaluations/s); spec loading mean "
          f"{statistics.mean(r[1] for r in rows):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
