"""End-to-end layer matrix multiplies (Figs. 10-11): Q, K, V, Z, FFN1, FFN2 per layer, mapped by the mapper.

Per platform (``proposal``: FuseMax, 16 MiB L3 / 16 registers; ``flat``: 32 MiB / 4) and point, each
matmul is rendered (``render("end2end", ...)``), searched by :mod:`fusemax.mapper` as an orchestrator job
(cached by content when given a cache folder), and turned into DRAM
traffic (reads + updates of A, B, Z at DRAM, 2 B each), latency max(memory, compute) and energy, as the
artifact's ``MatMul`` does: K and V equal Q, a layer's latency and traffic are the sums over the six, and
the energy prices every platform on FuseMax's energy design with the platform's buffer sizes (the
artifact's Accelergy run for the matmuls).

>>> rows = end2end_rows("proposal", ["BERT"], [1024])        # doctest: +SKIP
>>> fusemax.results.write_end2end("out", {"proposal": rows})  # out/results/end2end-proposal.csv
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine.metrics import EinsumMetrics, einsum_metrics
from fusemax.combine.point import energy_fn_for, kept_levels
from fusemax.combine.roles import roles
from fusemax.configs import MATMULS, PLATFORMS
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Cache, get_executor
from fusemax.orchestrator.rendered import Evaluated, configuration_jobs, evaluate_rendered
from fusemax.workload import Workload, format_seq_len, resolve_model

CONFIG = "end2end"


@dataclass
class End2EndRow:
    model: str
    seq_len: str
    traffic: float     # bytes
    latency: float     # s
    energy: float      # pJ
    einsums: dict[str, EinsumMetrics]


def _row(model: str, evaluated: Evaluated, stands_for: dict[str, str]) -> End2EndRow:
    """One layer's row from its searched matmuls (K and V take Q's numbers when they have its shape)."""
    if evaluated.error is not None:
        raise FusemaxError(evaluated.error)
    rendered = evaluated.rendered
    hardware = rendered.hardware
    energy = energy_fn_for(hardware, kept_levels(evaluated))
    searched = {}
    for name, role in roles(rendered.config).items():
        if name not in evaluated.stats:
            continue
        cost = rendered.einsums[name].compute_cost
        m = einsum_metrics(evaluated.stats[name], role, cost, hardware, evaluated.jobs[name].label)
        m.energy_pj, m.energy_breakdown = energy(name, evaluated.stats[name], cost, m, False)
        searched[name] = m
    metrics = {e: searched[stands_for[e]] for e in MATMULS}
    return End2EndRow(
        model=model.split(":")[0], seq_len=format_seq_len(rendered.workload.seq_len),
        traffic=sum(x.traffic for x in metrics.values()),
        latency=sum(max(x.mem_latency, x.comp_latency) for x in metrics.values()),
        energy=sum(x.energy_pj for x in metrics.values()), einsums=metrics)


def end2end_rows(platform: str, models: Iterable[str], seq_lens: Iterable[int], *, jobs: int = 1,
                 models_file: str | None = None, executor: str = "local", scheduler: str | None = None,
                 cache: Cache | str | Path | None = None, backend: str = DEFAULT_BACKEND) -> list[End2EndRow]:
    """One row per model x length on ``platform`` (``flat`` or ``proposal``).

    Each distinct matmul is one mapper-search job of :mod:`fusemax.orchestrator` on ``backend``, run on ``executor`` with
    ``jobs`` processes (0: all cores); with a ``cache`` folder a rerun takes every search from it. K and V
    are Q's shape when the model has as many KV heads as heads (the render's ``same_as``): only Q, Z, FFN1
    and FFN2 are searched then."""
    from fusemax.render import render
    points = [(m, n) for m in models for n in seq_lens]
    items, stands = [], []
    for m, n in points:
        workload = Workload(resolve_model(m, models_file), n)
        rendered = render(CONFIG, workload, PLATFORMS[platform])
        same_as = rendered.params.get("same_as", {})
        stands_for = {e: same_as.get(e, e) for e in MATMULS}
        items.append((rendered, configuration_jobs(rendered, backend, f"end2end {platform} {workload.label}",
                                                   list(dict.fromkeys(stands_for.values())))))
        stands.append(stands_for)
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    evaluated, _ = evaluate_rendered(items, get_executor(executor, jobs, scheduler), cache)
    return [_row(m, ev, st) for (m, _), ev, st in zip(points, evaluated, stands)]
