"""Speed of the builtin mapper, and the full unfused + end-to-end reproduction against the published rows.

Run as ``python benchmarks/bench_mapper.py [--full] [--jobs N]``.

The first table times single searches (unfused QK at 1K and 64K and end-to-end FFN1 at 4K for BERT,
the study's layer FFN1 for OPT-66B at 4K tokens x batch 64, on the rendered constraints with
``optimization_metrics: [edp]``): wall time and candidates scored with the lower bound (the default) and
without it, and engine evaluations. For comparison, the real ``timeloop-mapper`` with the artifact's ``mapper.yaml`` did not
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
            ("end2end FFN1 BERT 4K", "end2end", "FFN1", 4096, "proposal"),
            ("layer FFN1 OPT 4Kx64", "layer", "FFN1", 4096, "proposal")]  # 4K tokens x batch 64


def _timed(files: dict, label: str, prune: bool):
    import fusemax.mapper.files as files_module
    real = files_module.search
    files_module.search = lambda *a, **k: real(*a, **k, prune=prune)
    try:
        t0 = time.perf_counter()
        result = search_texts(files, label)
        return result, time.perf_counter() - t0
    finally:
        files_module.search = real


def _search_table() -> None:
    """Each search with the lower bound (the default) and without it (every candidate scored)."""
    print(f"{'search':<22} {'wall s':>8} {'unpruned s':>10} {'candidates':>11} {'unpruned':>9} "
          f"{'engine evals':>13} {'exhaustive':>10}")
    for label, config, einsum, n, platform in SEARCHES:
        hardware = PLATFORMS[platform] if platform else None
        model = "OPT-66B" if config == "layer" else "BERT"  # the layer at the study's largest: batch 64
        rendered = render(config, Workload(get_model(model), n, "prefill", 64), *([hardware] if hardware else []))
        files = rendered.einsums[einsum].files()
        search_texts(files, label)  # warm the ERT estimate and imports
        result, dt = _timed(files, label, True)
        every, dt_every = _timed(files, label, False)
        evals = result.method.split(" with ")[1].split(" engine")[0]
        print(f"{label:<22} {dt:>8.2f} {dt_every:>10.2f} {result.candidates_evaluated:>11} "
              f"{every.candidates_evaluated:>9} {evals:>13} {str(result.exhaustive):>10}")


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
