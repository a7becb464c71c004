"""Speed and outcome of FLAT's own dataflow search: pruned against every candidate evaluated, and against
the paper's published choice.

Run as ``python benchmarks/bench_flat_search.py [--study | --run]``. Per point: CPU seconds of one search
pruned by its lower bound (as every run does) and of one evaluating every candidate, how many candidates the
pruned one evaluated of all, whether both pick the same dataflow, and the searched latency over the latency
of the paper's choice (``mappings/flat_dataflows.yaml``) through the same pipeline (at most 1.0: no slower).
``--study``: the same totals over every search of ``run_all.py``'s study (121 attention groups).
``--run``: only the study's searches as the run does them, one after another in one process (as a select
job's worker runs them, its memos shared): CPU seconds, candidates evaluated and a digest of every selection
(what the job cache stores of each search), to compare a change of the search before and after it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

from fusemax.configs import REGISTRY, Configuration
from fusemax.orchestrator import JobResults
from fusemax.render.flat_dataflow import FlatDataflow, flat_dataflow
from fusemax.select import flat
from fusemax.workload import Hardware, Workload, get_model, parse_seq_len

FLAT = REGISTRY["flat"]
POINTS = [("BERT", "1K"), ("BERT", "64K"), ("XLM", "64K"), ("T5", "1M"), ("Llama-2-7B", "16K"),
          ("Llama-3-8B", "4K"), ("Falcon-7B", "4K")]  # the last two: grouped-query, the search also tries
          # a K/V group per tile (twice the candidates)


def timed(group: Workload, hardware: Hardware, prune: bool) -> tuple[float, flat.Candidate, int]:
    """(CPU seconds, choice, candidates evaluated) of one search of ``group``, in a new process (so neither
    search finds the other's renderings and parses in the process's memos)."""
    with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1) as pool:
        return pool.submit(_timed, group, hardware, prune).result()


def _timed(group: Workload, hardware: Hardware, prune: bool) -> tuple[float, flat.Candidate, int]:
    with _counted() as evaluated:
        start = time.process_time()
        best, _ = flat._search(FLAT, group, hardware, prune=prune)
        return time.process_time() - start, best, len(evaluated)


@contextlib.contextmanager
def _counted() -> Iterator[list[None]]:
    """A list that grows by one for every candidate the searches evaluate while the context is open."""
    evaluated: list[None] = []
    real = flat._evaluate

    def counting(flat_: Configuration, workload: Workload, hardware: Hardware, dataflows: list[FlatDataflow],
                 known: JobResults | None = None) -> list:
        evaluated.extend([None] * len(dataflows))
        return real(flat_, workload, hardware, dataflows, known)

    flat._evaluate = counting
    try:
        yield evaluated
    finally:
        flat._evaluate = real


def run_searches(hardware: Hardware) -> None:
    """The study's searches in this process, in the select stage's order (longest first): CPU seconds,
    candidates evaluated, and a digest of what the job cache stores of each (:func:`flat.cache_entry`)."""
    groups = sorted(study_groups(hardware), key=lambda w: -len(flat.p1_options(w.P, hardware.pe_dim)))
    digest = hashlib.sha256()
    with _counted() as evaluated:
        start = time.process_time()
        for group in groups:
            entry = flat.cache_entry(flat.search(FLAT, group, hardware))
            digest.update(json.dumps([group.label, entry], sort_keys=True).encode())
        seconds = time.process_time() - start
    print(f"the study's {len(groups)} searches in one process: {seconds:.2f} CPU-s, {len(evaluated)} candidates "
          f"evaluated; selections' digest {digest.hexdigest()[:16]}")


def study_groups(hardware: Hardware) -> list[Workload]:
    from fusemax.experiments import study, sweep
    pts = [p for phase in study.PHASES for batch in study.BATCHES
           for p in sweep.points(["flat"], list(study.MODELS), list(study.LENGTHS), phase, batch)]
    dense = [d for p in pts for _, d in sweep.resolve(p, hardware).dense if not flat.uses_table(d)]
    return list(dict.fromkeys(flat.per_group(d) for d in dense))


def main() -> None:
    hardware = Hardware()
    if "--run" in sys.argv[1:]:
        run_searches(hardware)
        return
    print(f"{'point':<18} {'pruned s':>9} {'every s':>8} {'evaluated':>13} {'same':>5} {'vs paper':>9}")
    for model, length in POINTS:
        group = flat.per_group(Workload(get_model(model), parse_seq_len(length)))
        pruned, best, n = timed(group, hardware, True)
        every, truth, total = timed(group, hardware, False)
        # the search's latency is its attention group's (one sequence, one KV group): compare like with like
        (paper,) = flat.evaluate_dataflows(FLAT, group, hardware, [flat_dataflow(group.model.E, group.M)])
        print(f"{model + ' ' + length:<18} {pruned:>9.2f} {every:>8.2f} {f'{n}/{total}':>13} "
              f"{best == truth!s:>5} {best.latency / paper.latency:>9.4f}")
    if "--study" in sys.argv[1:]:
        totals = [0.0, 0.0, 0, 0, 0]
        groups = study_groups(hardware)
        for group in groups:
            pruned, best, n = timed(group, hardware, True)
            every, truth, total = timed(group, hardware, False)
            totals = [totals[0] + pruned, totals[1] + every, totals[2] + n, totals[3] + total,
                      totals[4] + (best != truth)]
        print(f"\nthe study's {len(groups)} searches: pruned {totals[0]:.1f} CPU-s, every candidate "
              f"{totals[1]:.1f} CPU-s; evaluated {totals[2]} of {totals[3]}; different choices: {totals[4]}")


if __name__ == "__main__":
    main()
