"""End-to-end layer matrix multiplies (Figs. 10-11): Q, K, V, Z, FFN1, FFN2 per layer, mapped by the mapper.

Per platform (``proposal``: FuseMax, 16 MiB L3 / 16 registers; ``flat``: 32 MiB / 4) and point, each
matmul is rendered (``render("end2end", ...)``), searched by :mod:`fusemax.mapper`, and turned into DRAM
traffic (reads + updates of A, B, Z at DRAM, 2 B each), latency max(memory, compute) and energy, as the
artifact's ``MatMul`` does: K and V equal Q, a layer's latency and traffic are the sums over the six, and
the energy prices every platform on FuseMax's 2D energy tables (the artifact's Accelergy run for the
matmuls uses the FuseMax design with the platform's buffer sizes; we have FuseMax's 16 MiB table only,
so the FLAT platform's L3 is priced at 16 MiB rates).

>>> rows = end2end_rows("proposal", ["BERT"], [1024])        # doctest: +SKIP
>>> write_end2end("out", {"proposal": rows})                 # out/results/end2end-proposal.csv
"""
from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from fusemax.workload import Hardware, Workload, format_seq_len, resolve_model

from .configs import EinsumRole, TrafficRule
from .metrics import EinsumMetrics, Timing, einsum_metrics

MATMULS: tuple[str, ...] = ("Q", "K", "V", "Z", "FFN1", "FFN2")
PLATFORMS: tuple[str, ...] = ("flat", "proposal")
COLUMNS = ["model", "seq_len", "traffic", "latency", "energy"]
#: The matmul tensors (problems/matmul.yaml.j2): A (M x K) times B (K x N) gives Z; all live in DRAM.
ROLE_RULE = TrafficRule(dram=frozenset({"A", "B", "Z"}))
#: Energy tables of the matmuls: FuseMax's design (the artifact's ``MatMul.eval_energy``).
ENERGY_CONFIG = "binding"


@dataclass
class End2EndRow:
    model: str
    seq_len: str
    traffic: float     # bytes
    latency: float     # s
    energy: float      # pJ
    einsums: dict[str, EinsumMetrics]


def _einsum(platform: str, model: str, seq_len: int, name: str, models_file: str | None) -> EinsumMetrics:
    from fusemax.render import END2END_PLATFORMS, render

    from .energy import einsum_energy, erts_for
    from .sweep import timing_of
    from .unfused import mapped_einsum
    hardware = END2END_PLATFORMS[platform]
    workload = Workload(resolve_model(model, models_file), seq_len)
    rendered = render("end2end", workload, hardware)
    einsum = rendered.einsums[name]
    source = f"end2end {platform} {workload.label} {name}"
    stats, kept = mapped_einsum(einsum, source)
    role = EinsumRole(name, "2d", ROLE_RULE)
    timing: Timing = timing_of(hardware)
    m = einsum_metrics(stats, role, dict(einsum.compute_cost), timing, source)
    m.energy_pj, m.energy_breakdown = einsum_energy(ENERGY_CONFIG, name, stats, dict(einsum.compute_cost), m, False,
                                                    hardware, dict(kept), erts_for(ENERGY_CONFIG, hardware))
    return m


def _einsum_star(args: tuple) -> EinsumMetrics:
    return _einsum(*args)


def _searched(name: str, model: str, seq_len: int, models_file: str | None) -> str:
    """The matmul whose search stands for ``name`` (K and V are Q's shape, as the render's ``same_as`` says)."""
    from fusemax.render import render
    rendered = render("end2end", Workload(resolve_model(model, models_file), seq_len))
    return rendered.params.get("same_as", {}).get(name, name)


def end2end_rows(platform: str, models: Iterable[str], seq_lens: Iterable[int], *, jobs: int = 1,
                 models_file: str | None = None) -> list[End2EndRow]:
    """One row per model x length on ``platform`` (``flat`` or ``proposal``), searching in ``jobs`` processes."""
    points = [(m, n) for m in models for n in seq_lens]
    stands_for = {(m, n, e): _searched(e, m, n, models_file) for m, n in points for e in MATMULS}
    tasks = sorted({(platform, m, n, s, models_file) for (m, n, _), s in stands_for.items()},
                   key=lambda t: (points.index((t[1], t[2])), MATMULS.index(t[3])))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    if jobs == 1:
        done = list(map(_einsum_star, tasks))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(_einsum_star, tasks))
    by_task = {t[1:4]: m for t, m in zip(tasks, done)}
    rows = []
    for m, n in points:
        metrics = {e: by_task[(m, n, stands_for[(m, n, e)])] for e in MATMULS}
        rows.append(End2EndRow(
            model=m.split(":")[0], seq_len=format_seq_len(n),
            traffic=sum(x.traffic for x in metrics.values()),
            latency=sum(max(x.mem_latency, x.comp_latency) for x in metrics.values()),
            energy=sum(x.energy_pj for x in metrics.values()), einsums=metrics))
    return rows


def write_end2end(out_dir: str | Path, rows_by_platform: dict[str, list[End2EndRow]]) -> list[Path]:
    """``OUT/results/end2end-<platform>.csv`` in the artifact's columns; returns the paths written."""
    folder = Path(out_dir) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for platform, rows in rows_by_platform.items():
        path = folder / f"end2end-{platform}.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            for r in rows:
                w.writerow([r.model, r.seq_len, int(round(r.traffic)), repr(r.latency), repr(r.energy)])
        paths.append(path)
    return paths


def run_end2end(out_dir: str | Path, models: Iterable[str], seq_lens: Iterable[int], *,
                platforms: Iterable[str] = PLATFORMS, jobs: int = 1,
                models_file: str | None = None) -> dict[str, list[End2EndRow]]:
    """Both platforms' rows, written to ``OUT/results/end2end-*.csv``."""
    models, seq_lens = list(models), list(seq_lens)
    rows = {p: end2end_rows(p, models, seq_lens, jobs=jobs, models_file=models_file) for p in platforms}
    write_end2end(out_dir, rows)
    return rows


__all__ = ["COLUMNS", "End2EndRow", "Hardware", "MATMULS", "PLATFORMS", "end2end_rows", "run_end2end",
           "write_end2end"]
