"""Rendered configurations -> orchestrator jobs -> per-Einsum statistics -> one combined row each.

The one path every experiment takes (the sweep, FLAT's dataflow search, the end-to-end layers, the Pareto
sweep): :func:`configuration_jobs` names one job per Einsum spec, :func:`evaluate_rendered` runs the jobs of
many rendered configurations at once through :func:`fusemax.orchestrator.run_jobs` (cache, executor,
backend) and :func:`combine_rendered` turns one configuration's statistics into its result row.
:func:`combine_point` is the pure core (statistics in, row out).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TextIO

from fusemax.backends import backend_version, job_kind
from fusemax.configs import ResolvedHardware, get_config
from fusemax.errors import FusemaxError
from fusemax.orchestrator import Cache, Executor, Job, JobResults, LocalExecutor, make_job, run_jobs
from fusemax.render.flat_dataflow import FlatDataflow
from fusemax.stats import Stats
from fusemax.workload import Hardware, Workload, format_seq_len

from .combine import ConfigResult, combine
from .flat import flat_softmax_spill
from .metrics import EinsumMetrics, einsum_metrics
from .roles import EinsumRole, roles

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.render import RenderedConfig

#: (Einsum name, its stats, compute cost, metrics, price DRAM from traffic?) -> (pJ, pJ per component)
EnergyFn = Callable[[str, Stats, Mapping[str, int], EinsumMetrics, bool], "tuple[float, dict[str, float]]"]


def point_roles(config: str, workload: Workload, hardware: ResolvedHardware, params: Mapping[str, Any],
                stats: Mapping[str, Stats]) -> dict[str, EinsumRole]:
    """The traffic/latency roles of one rendered point; FLAT's depend on its dataflow and its QK/AV tiles,
    the baselines' softmax on what a row leaves of the L3."""
    conf = get_config(config)
    if conf.tiling == "flat":
        dataflow = FlatDataflow.from_params(params)
        spill = flat_softmax_spill(dataflow, stats["QK"], stats["AV"], hardware.l3_bytes, workload.M,
                                   hardware.word_bytes)
        return roles(conf, spill, dataflow)
    spill = params.get("softmax_spilled") or 0.0
    return roles(conf, spill)


def combine_point(config: str, workload: Workload, hardware: ResolvedHardware,
                  compute_costs: Mapping[str, Mapping[str, int]], params: Mapping[str, Any],
                  stats: Mapping[str, Stats], energy_fn: EnergyFn | None = None) -> ConfigResult:
    """Pure: one result row from the engine's per-Einsum statistics of one rendered configuration."""
    where = f"{config} {workload.label}"
    missing = [e.name for e in get_config(config).einsums if e.name not in stats]
    if missing:
        raise FusemaxError(f"no statistics for Einsum {missing[0]}", source=where)
    metrics = []
    for name, role in point_roles(config, workload, hardware, params, stats).items():
        m = einsum_metrics(stats[name], role, compute_costs[name], hardware, source=where)
        if energy_fn is not None:
            m.energy_pj, m.energy_breakdown = energy_fn(name, stats[name], compute_costs[name], m,
                                                        role.dram_energy_from_traffic)
        metrics.append(m)
    scalars = {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool))}
    return combine(config, workload.model.name, format_seq_len(workload.seq_len), metrics,
                   phase=workload.phase, pe_dim=hardware.pe_dim, pe_1d=hardware.pe_1d,
                   clock_hz=hardware.clock_hz, params=scalars)


def energy_fn_for(hardware: ResolvedHardware, kept: Mapping[str, Mapping[str, list[str]]]) -> EnergyFn:
    """Per-Einsum energy on the builtin ERTs of the configuration's energy design at ``hardware``."""
    from . import energy
    erts = energy.erts_for(hardware)

    def fn(name: str, stats: Stats, cost: Mapping[str, int], m: EinsumMetrics,
           from_traffic: bool) -> tuple[float, dict[str, float]]:
        return energy.einsum_energy(hardware, name, stats, cost, m, from_traffic, dict(kept.get(name, {})), erts)
    return fn


def configuration_jobs(rendered: "RenderedConfig", backend: str, label: str,
                       einsums: Sequence[str] | None = None) -> dict[str, Job]:
    """One job per Einsum spec of ``rendered`` (or of ``einsums`` only): an evaluation when it has a
    mapping, a mapper search when it has none; each keyed with the version of what runs it."""
    names = list(einsums) if einsums is not None else list(rendered.einsums)
    jobs = {}
    for n in names:
        files = rendered.einsums[n].files()
        jobs[n] = make_job(files, backend, backend_version(backend, job_kind(files)), f"{label} {n}")
    return jobs


@dataclass
class Evaluated:
    """One rendered configuration's statistics (Einsum -> Stats) and its searched mappings, or the first
    job error."""

    rendered: "RenderedConfig"
    jobs: dict[str, Job]
    stats: dict[str, Stats] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def mappable(self) -> bool:
        """True when every Einsum has statistics of a valid mapping."""
        return self.error is None and all(s.valid for s in self.stats.values())


def collect(rendered: "RenderedConfig", jobs: dict[str, Job], results: JobResults) -> Evaluated:
    """The statistics of ``jobs`` out of a run's results."""
    out = Evaluated(rendered, jobs)
    for name, job in jobs.items():
        if job.key in results.errors:
            out.error = f"{job.label}: {results.errors[job.key]}"
            return out
        out.stats[name] = results.stats[job.key]
        if job.key in results.mappings:
            out.mappings[name] = results.mappings[job.key]
    return out


def evaluate_rendered(items: Sequence[tuple["RenderedConfig", dict[str, Job]]], executor: Executor | None = None,
                      cache: Cache | None = None, stream: TextIO | None = None) -> tuple[list[Evaluated], JobResults]:
    """Run the jobs of every ``(rendered, jobs)`` at once (shared specs run once, ``cache`` serves finished
    ones; default: in this process) and collect each configuration's statistics, in order."""
    results = run_jobs([job for _, jobs in items for job in jobs.values()], executor or LocalExecutor(1),
                       cache, stream)
    return [collect(rendered, jobs, results) for rendered, jobs in items], results


def kept_levels(evaluated: Evaluated) -> dict[str, dict[str, list[str]]]:
    """Level -> tensors each Einsum's mapping keeps (a mapper search's best mapping when it searched)."""
    from .energy import kept_from_mapping
    kept = {}
    for name, job in evaluated.jobs.items():
        mapping = evaluated.mappings.get(name, evaluated.rendered.einsums[name].mapping_yaml)
        kept[name] = kept_from_mapping(mapping, job.label)
    return kept


def combine_rendered(evaluated: Evaluated, with_energy: bool = True) -> ConfigResult:
    """One configuration's row from its evaluated statistics (energy priced on what its mappings keep)."""
    if evaluated.error is not None:
        raise FusemaxError(evaluated.error)
    rendered = evaluated.rendered
    costs = {name: e.compute_cost for name, e in rendered.einsums.items()}
    fn = energy_fn_for(rendered.hardware, kept_levels(evaluated)) if with_energy else None
    return combine_point(rendered.config, rendered.workload, rendered.hardware, costs, rendered.params,
                         evaluated.stats, fn)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of fusemax's code (all of it: render, the combination, ...; a stale result is worse than a
    repeated one) and of the templates specs are rendered from."""
    from fusemax.backends.builtin import files_fingerprint
    from fusemax.templates import template_root
    package = Path(__file__).resolve().parent.parent
    files = [(str(p.relative_to(package)), p) for p in sorted(package.rglob("*.py"))]
    root = template_root()
    files += [(str(p.relative_to(root)), p) for d in ("arch", "problems", "mappings")
              for p in sorted((root / d).rglob("*")) if p.is_file()]
    return files_fingerprint(files)


def result_key(kind: str, workload: Workload, hardware: Hardware, backend: str, *,
               kinds: Sequence[str] = ("model", "mapper"), **fields: Any) -> str:
    """Cache key of a result computed from ``workload`` on ``hardware`` without rendering it first: the
    workload's numbers (not where its model was read from), the hardware, the versions of ``backend``'s
    job ``kinds`` (for real Timeloop: its binaries), :func:`code_fingerprint` and ``fields``."""
    model = {k: v for k, v in asdict(workload.model).items() if k != "source"}
    canonical = json.dumps({"kind": kind, "version": [backend_version(backend, k) for k in kinds],
                            "code": code_fingerprint(), "model": model, "seq_len": workload.seq_len,
                            "phase": workload.phase, "batch": workload.batch, "span": workload.span,
                            "hardware": asdict(hardware),
                            "backend": backend, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_result(cache: Cache, key: str, result: ConfigResult, label: str, backend: str) -> ConfigResult:
    """Put ``result`` in ``cache`` and return it as a warm run will read it back (the same JSON path,
    so cold and warm runs write the same bytes)."""
    data = json.loads(json.dumps(result.to_json()))
    cache.put(key, {"config_result": data}, label, backend)
    return ConfigResult.from_json(data)


def cached_result(cache: Cache, key: str) -> ConfigResult | None:
    """The result :func:`store_result` put under ``key``, or None; an entry that passes its checksum yet is
    not a result counts as corrupt (rejected, to be recomputed)."""
    hit = cache.get(key, holds="config_result")
    if hit is None:
        return None
    try:
        return ConfigResult.from_json(hit["config_result"])
    except (KeyError, TypeError, ValueError):
        cache.reject(key)
        return None


@dataclass(frozen=True)
class PlatformTask:
    """One whole result to compute on a platform (the layer's rest, an LM head): its cache key, how to
    render it, its jobs' label and the label it is stored under."""

    key: str
    render: Callable[[], "RenderedConfig"]
    label: str
    platform: str


def platform_results(tasks: Mapping[Any, PlatformTask], backend: str, executor: Executor | None = None,
                     cache: Cache | None = None, stream: TextIO | None = None) -> dict[Any, ConfigResult]:
    """Each task's result (its ``config`` set to its platform's name): from ``cache`` when it holds it,
    else rendered, evaluated together with the others (one pool of jobs) and stored there."""
    found = {at: cached_result(cache, task.key) if cache is not None else None for at, task in tasks.items()}
    todo = [at for at, result in found.items() if result is None]
    items = []
    for at in todo:
        rendered = tasks[at].render()
        items.append((rendered, configuration_jobs(rendered, backend, tasks[at].label)))
    evaluated, _ = evaluate_rendered(items, executor, cache, stream)
    for at, ev in zip(todo, evaluated):
        result = combine_rendered(ev)
        result.config = tasks[at].platform
        found[at] = store_result(cache, tasks[at].key, result, tasks[at].label, backend) if cache is not None else result
    return {at: result for at, result in found.items() if result is not None}

