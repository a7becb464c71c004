"""End-to-end layer matrix multiplies (Figs. 10-11): Q, K, V, Z, FFN1, FFN2 per layer, mapped by the mapper.

Per platform (``proposal``: FuseMax, 16 MiB L3 / 16 registers; ``flat``: 32 MiB / 4) and point, each
matmul is rendered (``render("end2end", ...)``), searched by :mod:`fusemax.mapper` as an orchestrator job
(cached by content when given a cache folder), and turned into DRAM
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
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fusemax.errors import FusemaxError
from fusemax.fileio import write_text_atomic
from fusemax.orchestrator import Cache, Job, JobResults, get_executor, make_job, run_jobs
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


def _planned_jobs(platform: str, model: str, seq_len: int, models_file: str | None,
                  version: str) -> tuple[Any, dict[str, str], dict[str, Job]]:
    """(rendered layer, matmul -> the matmul whose search stands for it, searched matmul -> its job).

    K and V are Q's shape (the render's ``same_as``), so only Q, Z, FFN1 and FFN2 are searched."""
    from fusemax.render import END2END_PLATFORMS, render
    workload = Workload(resolve_model(model, models_file), seq_len)
    rendered = render("end2end", workload, END2END_PLATFORMS[platform])
    same_as = rendered.params.get("same_as", {})
    stands_for = {e: same_as.get(e, e) for e in MATMULS}
    jobs = {s: make_job(rendered.einsums[s].files(), "builtin", version, f"end2end {platform} {workload.label} {s}")
            for s in dict.fromkeys(stands_for.values())}
    return rendered, stands_for, jobs


def _metrics(platform: str, rendered: Any, name: str, job: Job, results: JobResults) -> EinsumMetrics:
    """Traffic, latency and energy of one searched matmul from its best mapping's statistics."""
    from fusemax.render import END2END_PLATFORMS

    from .energy import einsum_energy, erts_for, kept_from_mapping
    from .sweep import timing_of
    if job.key in results.errors:
        raise FusemaxError(results.errors[job.key], source=job.label)
    hardware = END2END_PLATFORMS[platform]
    einsum, stats = rendered.einsums[name], results.stats[job.key]
    kept = kept_from_mapping(results.mappings[job.key], job.label)
    role = EinsumRole(name, "2d", ROLE_RULE)
    timing: Timing = timing_of(hardware)
    m = einsum_metrics(stats, role, dict(einsum.compute_cost), timing, job.label)
    m.energy_pj, m.energy_breakdown = einsum_energy(ENERGY_CONFIG, name, stats, dict(einsum.compute_cost), m, False,
                                                    hardware, dict(kept), erts_for(ENERGY_CONFIG, hardware))
    return m


def end2end_rows(platform: str, models: Iterable[str], seq_lens: Iterable[int], *, jobs: int = 1,
                 models_file: str | None = None, executor: str = "local", scheduler: str | None = None,
                 cache: Cache | str | Path | None = None) -> list[End2EndRow]:
    """One row per model x length on ``platform`` (``flat`` or ``proposal``).

    Each distinct matmul is one mapper-search job of :mod:`fusemax.orchestrator`, run on ``executor`` with
    ``jobs`` processes (0: all cores); with a ``cache`` folder a rerun takes every search from it."""
    from fusemax.backends import get_backend
    version = get_backend("builtin").version()
    points = [(m, n) for m in models for n in seq_lens]
    planned = {(m, n): _planned_jobs(platform, m, n, models_file, version) for m, n in points}
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    results = run_jobs([job for _, _, js in planned.values() for job in js.values()],
                       get_executor(executor, jobs, scheduler), cache)
    rows = []
    for (m, n), (rendered, stands_for, js) in planned.items():
        searched = {s: _metrics(platform, rendered, s, job, results) for s, job in js.items()}
        metrics = {e: searched[stands_for[e]] for e in MATMULS}
        rows.append(End2EndRow(
            model=m.split(":")[0], seq_len=format_seq_len(n),
            traffic=sum(x.traffic for x in metrics.values()),
            latency=sum(max(x.mem_latency, x.comp_latency) for x in metrics.values()),
            energy=sum(x.energy_pj for x in metrics.values()), einsums=metrics))
    return rows


def write_end2end(out_dir: str | Path, rows_by_platform: dict[str, list[End2EndRow]]) -> list[Path]:
    """``OUT/results/end2end-<platform>.csv`` in the artifact's columns; returns the paths written."""
    folder = Path(out_dir) / "results"
    paths = []
    for platform, rows in rows_by_platform.items():
        path = folder / f"end2end-{platform}.csv"
        fh = io.StringIO()
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.model, r.seq_len, int(round(r.traffic)), repr(r.latency), repr(r.energy)])
        write_text_atomic(path, fh.getvalue())
        paths.append(path)
    return paths


def run_end2end(out_dir: str | Path, models: Iterable[str], seq_lens: Iterable[int], *,
                platforms: Iterable[str] = PLATFORMS, jobs: int = 1, models_file: str | None = None,
                executor: str = "local", scheduler: str | None = None,
                cache: Cache | str | Path | None = None) -> dict[str, list[End2EndRow]]:
    """Both platforms' rows, written to ``OUT/results/end2end-*.csv`` (options as :func:`end2end_rows`)."""
    models, seq_lens = list(models), list(seq_lens)
    rows = {p: end2end_rows(p, models, seq_lens, jobs=jobs, models_file=models_file, executor=executor,
                            scheduler=scheduler, cache=cache) for p in platforms}
    write_end2end(out_dir, rows)
    return rows


__all__ = ["COLUMNS", "End2EndRow", "Hardware", "MATMULS", "PLATFORMS", "end2end_rows", "run_end2end",
           "write_end2end"]
