"""Attention under each model's mask: latency over its physical bound, and what masking costs per point.

Run as ``python benchmarks/bench_mask.py [--configs binding,flat] [--lengths 1,256,1000,4K,32K,128K]``.

The first table prints ``latency / bound`` for BERT (no mask), Llama-3-8B (causal), Mistral-7B (window 4,096)
and Falcon-7B (MQA, causal), prefill and decode, batch 1 and 16, where

    bound = max(compulsory DRAM bytes / bandwidth, masked (QK + AV) MACs / (PE^2 x clock))

with Q and the output once, K and V once per KV head (the window's K/V in decode), 2 bytes a word, and the
MACs of the query-key pairs the mask leaves. The second times one point (render + evaluate + combine,
no result cache, FLAT's searches forgotten) with the model's mask and with ``--mask none``: the cost of the
rectangles (:mod:`fusemax.render.mask`).
"""
from __future__ import annotations

import argparse
import time

from fusemax.experiments import sweep
from fusemax.render.mask import live_pairs
from fusemax.workload import Hardware, Workload, format_seq_len, parse_seq_len

MODELS = ("BERT", "Llama-3-8B", "Mistral-7B", "Falcon-7B")


def bound(workload: Workload, hardware: Hardware = Hardware()) -> float:
    """The physical lower bound on attention latency in seconds (see the module doc)."""
    m, b = workload.model, workload.batch
    words = b * (m.H * workload.P * (m.E + m.F) + m.KV * workload.M * (m.E + m.F))
    macs = b * m.H * live_pairs(workload) * (m.E + m.F)
    return max(words * hardware.word_bytes / hardware.dram_bandwidth, macs / (hardware.pe_dim ** 2 * hardware.clock_hz))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="binding,flat", help="comma list (default binding,flat)")
    parser.add_argument("--lengths", default="1,256,1000,4K,32K,128K", help="comma list")
    args = parser.parse_args(argv)
    configs = args.configs.split(",")
    lengths = [parse_seq_len(n) for n in args.lengths.split(",")]
    print("latency / bound (" + ", ".join(configs) + ")")
    print(f"{'model':11s} {'phase':7s} {'batch':>5s} " + " ".join(f"{format_seq_len(n):>15s}" for n in lengths))
    for model in MODELS:
        for phase in ("prefill", "decode"):
            for batch in (1, 16):
                cells = []
                for n in lengths:
                    ratios = []
                    for config in configs:
                        point = sweep.Point(config, model, n, phase, batch)
                        outcome = sweep.evaluate_point(point, with_energy=False)
                        ratios.append("err" if outcome.result is None
                                      else f"{outcome.result.latency / bound(point.workload()):.2f}")
                    cells.append("/".join(ratios))
                print(f"{model:11s} {phase:7s} {batch:5d} " + " ".join(f"{c:>15s}" for c in cells), flush=True)
    print("\nseconds per point, prefill batch 1, no cache (model's mask vs --mask none; rectangles evaluated)")
    for config in configs:
        for model in ("Llama-3-8B", "Mistral-7B"):
            for n in lengths[-3:]:
                row = []
                for mask in (None, "none"):
                    start = time.perf_counter()
                    outcome = sweep.evaluate_point(sweep.Point(config, model, n, "prefill", 1, mask))
                    seconds = time.perf_counter() - start
                    evaluated = outcome.result.params.get("rectangles_evaluated", 1) if outcome.result else "-"
                    row.append(f"{seconds:6.2f} s ({evaluated})")
                print(f"{config:8s} {model:11s} {format_seq_len(n):>5s}  masked {row[0]}   none {row[1]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
