"""Speed and outcome of FLAT's own dataflow search against the paper's published choice.

Run as ``python benchmarks/bench_flat_search.py``. Per point: wall time of one search (cold, in this
process), mappable candidates compared, and the searched latency over the latency of the paper's choice
(``mappings/flat_dataflows.yaml``) through the same pipeline; at most 1.0 means the search is no slower.
"""
from __future__ import annotations

import time

from fusemax.render.flat_dataflow import flat_dataflow
from fusemax.select.flat import evaluate_dataflows, per_group, search
from fusemax.workload import Hardware, Workload, get_model, parse_seq_len

POINTS = [("BERT", "1K"), ("BERT", "64K"), ("XLM", "64K"), ("T5", "1M"), ("Llama-2-7B", "16K"),
          ("Llama-3-8B", "4K"), ("Falcon-7B", "4K")]  # the last two: grouped-query, the search also tries
          # a K/V group per tile (twice the candidates)


def main() -> None:
    hardware = Hardware()
    print(f"{'point':<18} {'wall s':>7} {'candidates':>11} {'cand/s':>7} {'spilled':>8} {'vs paper':>9}")
    for model, length in POINTS:
        workload = Workload(get_model(model), parse_seq_len(length))
        t0 = time.perf_counter()
        best, evaluated = search(workload, hardware)
        dt = time.perf_counter() - t0
        # the search's latency is its attention group's (one sequence, one KV group): compare like with like
        (paper,) = evaluate_dataflows(per_group(workload), hardware, [flat_dataflow(workload.model.E, workload.M)])
        print(f"{model + ' ' + length:<18} {dt:>7.2f} {evaluated:>11} {evaluated / dt:>7.0f} "
              f"{best.spilled:>8.4f} {best.latency / paper.latency:>9.4f}")


if __name__ == "__main__":
    main()
