"""Binding's latency over its physical bound across short contexts, decode and GQA/MQA (issue 13).

Run as ``python benchmarks/bench_shapes.py [--configs binding] [--jobs 2] [--cache DIR]``. For each model,
phase and length of the grid it prints ``latency / bound`` where

    bound = max(compulsory DRAM bytes / bandwidth, (QK + AV MACs) / (PE^2 x clock))

with the compulsory bytes Q, K, V and the output read or written once (K and V once per KV head, 2 bytes a
word) and QK + AV = B x H x (query-key pairs the model's mask leaves) x (E + F) MACs: no mapping can beat
it, so 1.0 is ideal. It also says where latency decreases as length grows (it never should) and times the
sweep (the cost of the mapping choice per point).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

from fusemax.experiments import sweep
from fusemax.render.mask import live_pairs
from fusemax.workload import Hardware, Workload, parse_seq_len, resolve_model

MODELS = ("BERT", "Pythia-14M", "OPT-66B", "GQA8:D=4096,H=32,E=128,S=14336,KV=8",
          "MQA:D=4544,H=71,E=64,S=18176,KV=1")
LENGTHS = ("1", "16", "64", "128", "256", "300", "1000", "1K", "4K")
PHASES = ("prefill", "decode")


def bound(workload: Workload, hardware: Hardware = Hardware()) -> float:
    """The physical lower bound on attention latency in seconds (see the module doc)."""
    m, b, w = workload.model, workload.batch, hardware.word_bytes
    kv = m.kv_heads or m.H
    words = b * (m.H * workload.P * m.E + kv * workload.M * (m.E + m.F) + m.H * workload.P * m.F)
    macs = b * m.H * live_pairs(workload) * (m.E + m.F)   # the pairs each model's mask leaves
    return max(words * w / hardware.dram_bandwidth, macs / (hardware.pe_dim ** 2 * hardware.clock_hz))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="binding", help="comma list (default binding)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", help="job cache (default: a fresh temporary folder, i.e. cold)")
    args = parser.parse_args(argv)
    configs = args.configs.split(",")
    lengths = [parse_seq_len(s) for s in LENGTHS]
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for phase in PHASES:
            pts = sweep.points(configs, MODELS, lengths, phase)
            start = time.perf_counter()
            outcomes = sweep.run_sweep(pts, jobs=args.jobs, cache=args.cache or tmp)
            seconds = time.perf_counter() - start
            print(f"\n{phase}: {len(pts)} points in {seconds:.1f}s ({1e3 * seconds / len(pts):.0f} ms a point); "
                  f"latency / bound")
            print(f"{'config':<8} {'model':<11}" + "".join(f"{s:>9}" for s in LENGTHS))
            for config in configs:
                for model in MODELS:
                    row, previous = [], 0.0
                    for o in outcomes:
                        p = o.point
                        if (p.config, p.model) != (config, model):
                            continue
                        if o.error:
                            row.append("error")
                            print(f"  {p.label}: {o.error}", file=sys.stderr)
                            status = 1
                            continue
                        workload = Workload(resolve_model(model), p.seq_len, phase)
                        mark = "!" if o.result.latency < previous else ""  # latency fell as length grew
                        previous = o.result.latency
                        row.append(f"{o.result.latency / bound(workload):.2f}{mark}")
                    print(f"{config:<8} {model.split(':')[0]:<11}" + "".join(f"{c:>9}" for c in row))
    print("\n'!': latency lower than at the previous (shorter) length")
    return status


if __name__ == "__main__":
    sys.exit(main())
