"""Cost of the rest of the layer (``fusemax run --layer``) per platform and workload.

Run as ``python benchmarks/bench_layer.py``. Per point: wall time to render, search the six matmuls'
mappings (K may split across DRAM tiles) and evaluate the element-wise Einsums, cold, in this process
without a cache; and what the point costs the whole layer (its latency and traffic).
"""
from __future__ import annotations

import time

from fusemax.combine.point import combine_rendered
from fusemax.experiments.layer import platform_hardware
from fusemax.orchestrator.rendered import configuration_jobs, evaluate_rendered
from fusemax.render import render
from fusemax.workload import Workload, get_model, parse_seq_len

POINTS = [("Pythia-14M", "256", "prefill"), ("BERT", "1K", "prefill"), ("BERT", "4K", "decode"),
          ("OPT-66B", "2K", "prefill"), ("OPT-66B", "4K", "decode")]


def main() -> None:
    print(f"{'point':<28} {'platform':<9} {'wall s':>7} {'jobs':>5} {'latency s':>10} {'traffic GB':>11}")
    for model, length, phase in POINTS:
        workload = Workload(get_model(model), parse_seq_len(length), phase)
        for platform in ("proposal", "flat"):
            t0 = time.perf_counter()
            rendered = render("layer", workload, platform_hardware(platform))
            jobs = configuration_jobs(rendered, "builtin", f"{platform} {workload.label}")
            [evaluated], _ = evaluate_rendered([(rendered, jobs)])
            result = combine_rendered(evaluated)
            dt = time.perf_counter() - t0
            print(f"{workload.label:<28} {platform:<9} {dt:>7.2f} {len(jobs):>5} {result.latency:>10.4g} "
                  f"{result.traffic / 1e9:>11.3f}")


if __name__ == "__main__":
    main()
