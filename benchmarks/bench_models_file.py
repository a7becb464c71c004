"""Cost of reading a big models file (issue 17: 1.3 M models, 56 MB, must load well within a minute).

Run as ``python benchmarks/bench_models_file.py [--sizes 100000,1300000]``. For each size it writes a
models file like the bad-input probe's (``  M123: {D: 768, H: 12, E: 64, S: 3072}`` per line) and prints
the seconds of the YAML load alone (:func:`fusemax.yamlio.load`), of the models it yields
(:func:`fusemax.workload.load_models`, YAML included, in a fresh process so no memo helps) and of the
whole ``fusemax models --models-file`` command with its peak memory.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_models(path: Path, n: int) -> None:
    with path.open("w") as handle:
        handle.write("models:\n")
        for start in range(0, n, 10_000):
            handle.write("".join(f"  M{i}: {{D: 768, H: 12, E: 64, S: 3072}}\n"
                                 for i in range(start, min(n, start + 10_000))))


def seconds_in_fresh_process(statement: str, path: Path) -> float:
    """The seconds ``statement`` (with ``path`` bound to the file) takes in a new interpreter."""
    code = (f"import time; from pathlib import Path; from fusemax import yamlio, workload; path = Path({str(path)!r}); "
            f"t = time.perf_counter(); {statement}; print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1300000", help="comma list of model counts")
    args = parser.parse_args(argv)
    print(f"{'models':>9} {'MB':>6} {'yaml s':>7} {'models s':>9} {'command s':>10} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(size) for size in args.sizes.split(",")):
            path = Path(tmp) / f"models-{n}.yaml"
            write_models(path, n)
            load = seconds_in_fresh_process("yamlio.load(path)", path)
            models = seconds_in_fresh_process("workload.load_models(path)", path)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fusemax", "models", "--models-file", str(path)],
                           stdout=subprocess.DEVNULL, check=True)
            command = time.perf_counter() - start
            # ru_maxrss of the children: the largest of them, i.e. the command's (it builds the most)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{n:>9} {path.stat().st_size / 1e6:>6.1f} {load:>7.2f} {models:>9.2f} {command:>10.2f} "
                  f"{peak:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
