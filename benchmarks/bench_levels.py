"""How the builtin engine's cost grows with the number of storage levels (issue 28: linear, not quadratic).

Run as ``python benchmarks/bench_levels.py [--levels 1000,3000,10000,30000]``. Each spec is a chain of N
register files over one MAC computing a 3-tap Conv1D (R=3, P=16), every level but the outermost holding
loops of bound 1. Prints, per N, the seconds to load the spec (YAML) and to evaluate it, and the seconds
per thousand levels, which stay about flat when the cost is linear.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from fusemax.engine import evaluate, load_spec


def chain_spec(levels: int) -> str:
    """The spec text of ``levels`` register files in a chain (the outermost holds the whole problem)."""
    lines = ["architecture:", "  version: 0.4", "  nodes:", "  - !Container {name: system}"]
    lines += [f"  - !Component {{name: L{i}, class: regfile, attributes: {{depth: 64, width: 8, datawidth: 8}}}}"
              for i in range(levels)]
    lines += ["  - !Component {name: MACC, class: intmac, attributes: {width: 8}}",
              "problem:", "  version: 0.4", "  shape:", "    name: Conv1D", "    dimensions: [R, P]",
              "    data_spaces:", "    - {name: Weights, projection: [[[R]]]}",
              "    - {name: Inputs, projection: [[[R], [P]]]}",
              "    - {name: Outputs, projection: [[[P]]], read_write: true}", "  instance: {R: 3, P: 16}", "mapping:"]
    lines += [f"  - {{target: L{i}, type: temporal, factors: {'R=3 P=16' if i == 0 else 'R=1 P=1'}, permutation: RP}}"
              for i in range(levels)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1000,3000,10000,30000", help="comma-separated level counts")
    args = parser.parse_args()
    print(f"{'levels':>7}  {'load s':>7}  {'eval s':>7}  {'eval s/1K levels':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.levels.split(",")):
            path = Path(tmp) / f"chain{n}.yaml"
            path.write_text(chain_spec(n))
            t0 = time.perf_counter()
            spec = load_spec(path)
            t1 = time.perf_counter()
            stats = evaluate(spec)
            t2 = time.perf_counter()
            assert stats.valid and stats.computes == 48, stats.error
            print(f"{n:>7}  {t1 - t0:7.2f}  {t2 - t1:7.2f}  {(t2 - t1) / n * 1e3:16.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
