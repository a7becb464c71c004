"""Speed of the builtin mapper, and the full unfused + end-to-end reproduction against the published rows.

Run as ``python benchmarks/bench_mapper.py [--full] [--jobs N]``.

The first table times single searches (unfused QK at 1K and 64K, FFN1 at 4K, BERT, on the rendered
constraints with ``optimization_metrics: [edp]``): wall time, candidates scored per second and engine
evaluations. For comparison, the real ``timeloop-mapper`` with the artifact's ``mapper.yaml`` did not
finish one unfused QK search (BERT, 1K) within 10 minutes on this machine class.

``--full`` then reproduces the paper's 24 points (BERT, TrXL, T5, XLM x 1K..1M) for the unfused
configuration and the end-to-end matmuls on both platforms, prints the wall time, and a table of our
latency / traffic / energy over the published ones (XLM has no published rows).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fusemax.mapper.files import search_texts
from fusemax.configs import PLATFORMS
from fusemax.render import render
from fusemax.workload import Workload, format_seq_len, get_model

RESULTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "fusemax-artifact" / "results"
MODELS = ("BERT", "TrXL", "T5", "XLM")
LENGTHS = tuple(2 ** k for k in (10, 12, 14, 16, 18, 20))
SEARCHES = [("unfused QK BERT 1K", "unfused", "QK", 1024, None),
            ("unfused QK BERT 64K", "unfused", "QK", 65536, None),
            ("end2end FFN1 BERT 4K", "end2end", "FFN1", 4096, "proposal")]


def _search_table() -> None:
    print(f"{'search':<22} {'wall s':>8} {'candidates':>11} {'cand/s':>9} {'engine evals':>13} {'exhaustive':>10}")
    for label, config, einsum, n, platform in SEARCHES:
        hardware = PLATFORMS[platform] if platform else None
        rendered = render(config, Workload(get_model("BERT"), n), *([hardware] if hardware else []))
        files = rendered.einsums[einsum].files()
        search_texts(files, label)  # warm the ERT estimate and imports
        t0 = time.perf_counter()
        result = search_texts(files, label)
        dt = time.perf_counter() - t0
        evals = result.method.split(" with ")[1].split(" engine")[0]
        print(f"{label:<22} {dt:>8.2f} {result.candidates_evaluated:>11} {result.candidates_evaluated / dt:>9.0f} "
              f"{evals:>13} {str(result.exhaustive):>10}")


def _unfused_point(args: tuple) -> tuple:
    from fusemax.experiments.sweep import Point, evaluate_point
    model, n = args
    o = evaluate_point(Point("unfused", model, n))
    if o.error:
        raise SystemExit(f"unfused {model} {n}: {o.error}")
    return model, format_seq_len(n), o.result.latency, o.result.traffic, o.result.energy


def _published(name: str) -> dict:
    path = RESULTS / name
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {(r["model"], r["seq_len"]): r for r in csv.DictReader(fh)}


def _compare(title: str, rows: list[tuple], published: dict) -> None:
    print(f"\n{title}: ours / published (latency < 1 means ours is better)")
    print(f"{'model':<6} {'len':>5} {'latency':>9} {'traffic':>9} {'energy':>9}")
    for model, length, lat, traffic, energy in rows:
        p = published.get((model, length))
        if p is None:
            print(f"{model:<6} {length:>5} {'(no published row)':>29}")
            continue
        print(f"{model:<6} {length:>5} {lat / float(p['latency']):>9.4f} {traffic / float(p['traffic']):>9.4f} "
              f"{energy / float(p['energy']):>9.4f}")


def _full(jobs: int) -> None:
    from fusemax.experiments.end2end import end2end_rows
    t0 = time.perf_counter()
    points = [(m, n) for m in MODELS for n in LENGTHS]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        unfused = list(pool.map(_unfused_point, points))
    t_unfused = time.perf_counter() - t0
    e2e = {p: end2end_rows(p, MODELS, LENGTHS, jobs=jobs) for p in ("flat", "proposal")}
    total = time.perf_counter() - t0
    print(f"\nfull reproduction on {jobs} processes: unfused {len(points)} points {t_unfused:.1f} s, "
          f"end-to-end 2 x {len(points)} points {total - t_unfused:.1f} s, total {total:.1f} s")
    _compare("unfused", unfused, _published("attn-unfused.csv"))
    for p, rows in e2e.items():
        _compare(f"end2end {p}", [(r.model, r.seq_len, r.latency, r.traffic, r.energy) for r in rows],
                 _published(f"end2end-{p}.csv"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time the 24-point unfused + end-to-end run")
    parser.add_argument("--jobs", type=int, default=2, help="processes for --full (default 2)")
    args = parser.parse_args()
    _search_table()
    if args.full:
        _full(max(1, args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
