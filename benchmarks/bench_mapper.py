"""Speed of the builtin mapper, and the full unfused + end-to-end reproduction against the published rows.

Run as ``python benchmarks/bench_mapper.py [--full] [--jobs N] [--record FILE] [--replay FILE]``.

The first table times single searches (unfused QK at 1K and 64K and end-to-end FFN1 at 4K for BERT,
the study's layer FFN1 for OPT-66B at 4K tokens x batch 64, on the rendered constraints with
``optimization_metrics: [edp]``): wall time and candidates scored with the lower bound (the default) and
without it, and engine evaluations. For comparison, the real ``timeloop-mapper`` with the artifact's ``mapper.yaml`` did not
finish one unfused QK search (BERT, 1K) within 10 minutes on this machine class.

``--full`` then reproduces the paper's 24 points (BERT, TrXL, T5, XLM x 1K..1M) for the unfused
configuration and the end-to-end matmuls on both platforms, prints the wall time, and a table of our
latency / traffic / energy over the published ones (XLM has no published rows).

``--record FILE`` runs ``scripts/run_all.py`` cold (a temporary output folder and cache) and saves every
mapper search it makes, in the pool workers too (about 1,450: the paper's unfused and end-to-end matmuls,
the study's unfused and layer matmuls), to FILE (a pickle). ``--replay FILE`` runs them again in this
process and prints their CPU seconds and a digest of every result (mapping and statistics): the same
digest before and after a change to the mapper means the change leaves every search's result alone.
"""
from __future__ import annotations

import argparse
import csv
import json
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


#: Loaded in every process of the recorded run (as ``sitecustomize``): saves each search's arguments, one
#: pickle per call appended to a file per process id.
_RECORDER = """
import os, pickle
import fusemax.mapper.files as files
_search_texts = files.search_texts
def _recorded(texts, source="<spec>", **kwargs):
    with open(os.path.join(os.environ["FUSEMAX_BENCH_RECORD"], f"{os.getpid()}.pkl"), "ab") as fh:
        pickle.dump((dict(texts), source, kwargs), fh)
    return _search_texts(texts, source, **kwargs)
files.search_texts = _recorded
"""


def _record(path: Path) -> None:
    """Run ``scripts/run_all.py`` cold with :data:`_RECORDER` loaded and save its searches to ``path``."""
    import os
    import pickle
    import subprocess
    import tempfile
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="bench-mapper-") as tmp:
        hook, calls = Path(tmp, "hook"), Path(tmp, "calls")
        hook.mkdir()
        calls.mkdir()
        (hook / "sitecustomize.py").write_text(_RECORDER)
        env = {k: v for k, v in os.environ.items() if k != "FUSEMAX_CACHE"}
        env["PYTHONPATH"] = os.pathsep.join([str(hook), str(repo / "src")] + env.get("PYTHONPATH", "").split(os.pathsep))
        env["FUSEMAX_BENCH_RECORD"] = str(calls)
        subprocess.run([sys.executable, str(repo / "scripts" / "run_all.py"), "--out", str(Path(tmp, "out"))],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        searches = []
        for part in sorted(calls.iterdir()):
            with part.open("rb") as fh:
                while True:
                    try:
                        searches.append(pickle.load(fh))
                    except EOFError:
                        break
    with path.open("wb") as fh:
        pickle.dump(sorted(searches, key=lambda s: s[1]), fh)
    print(f"recorded {len(searches)} searches to {path}")


def _replay(path: Path) -> None:
    """Every search of ``path`` (from :func:`_record`) in this process: CPU seconds and a digest."""
    import hashlib
    import pickle

    from fusemax.mapper import mapping_to_yaml
    with path.open("rb") as fh:
        searches = pickle.load(fh)
    digest = hashlib.sha256()
    cpu = 0.0
    candidates = 0
    for texts, source, kwargs in searches:
        start = time.process_time()
        result = search_texts(texts, source, **kwargs)
        cpu += time.process_time() - start
        candidates += result.candidates_evaluated
        digest.update((source + mapping_to_yaml(result.mapping, result.spec.architecture)
                       + json.dumps(result.stats.to_json(), sort_keys=True)).encode())
    print(f"{len(searches)} searches: {cpu:.2f} CPU-s, {candidates} candidates scored, "
          f"results digest {digest.hexdigest()[:16]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time the 24-point unfused + end-to-end run")
    parser.add_argument("--jobs", type=int, default=2, help="processes for --full (default 2)")
    parser.add_argument("--record", type=Path, metavar="FILE", help="save a cold run_all's mapper searches to FILE")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="replay the searches saved in FILE")
    args = parser.parse_args()
    if args.record or args.replay:
        if args.record:
            _record(args.record)
        if args.replay:
            _replay(args.replay)
        return 0
    _search_table()
    if args.full:
        _full(max(1, args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
