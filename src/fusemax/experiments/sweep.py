"""Evaluate configurations x models x lengths: render -> engine -> per-Einsum metrics -> combination.

:func:`combine_point` is the pure part (rendered configuration + engine statistics -> one result row).
:func:`run_sweep` renders every point (:func:`plan_point`: one job per Einsum spec), runs the jobs through
:mod:`fusemax.orchestrator` (content-addressed cache, local or dask executor, any backend) and combines each
point in order (:func:`finish_point`); :func:`evaluate_point` does one point in-process without a cache.
Energy is one call per Einsum into :mod:`fusemax.energy`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO

from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.orchestrator import Cache, Job, JobResults, LocalExecutor, RunCounts, get_executor, make_job, run_jobs
from fusemax.stats import Stats
from fusemax.workload import Hardware, Workload, format_seq_len, resolve_model

from .combine import ConfigResult, combine
from .configs import CONFIGS, ConfigPlan, cascade_plan, flat_plan, softmax_spill, unfused_plan
from .flat import choice_from_params, flat_softmax_spill
from .metrics import EinsumMetrics, Timing, einsum_metrics

DEFAULT_MODELS: tuple[str, ...] = ("BERT", "TrXL", "T5", "XLM")
DEFAULT_SEQ_LENS: tuple[str, ...] = ("1K", "4K", "16K", "64K", "256K", "1M")
#: L3 of the FLAT hardware (FLAT and unfused), used when neither the hardware nor the render says.
BASELINE_L3_BYTES = 32 * 2**20

@dataclass(frozen=True)
class Point:
    """One configuration at one workload point."""

    config: str
    model: str          # zoo name or an inline NAME:D=..,H=..,E=..,S=.. spec
    seq_len: int
    phase: str = "prefill"

    @property
    def label(self) -> str:
        return f"{self.config} {self.model.split(':')[0]} {format_seq_len(self.seq_len)} {self.phase}"


def points(configs: Iterable[str] = CONFIGS, models: Iterable[str] = DEFAULT_MODELS,
           seq_lens: Iterable[int] = (), phase: str = "prefill") -> list[Point]:
    """The cross product in the artifact's order: configuration, then model, then length."""
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise FusemaxError(f"unknown configuration {unknown[0]!r}; use {', '.join(CONFIGS)}", source="--configs")
    return [Point(c, m, n, phase) for c in configs for m in models for n in seq_lens]


def timing_of(hardware: Hardware) -> Timing:
    return Timing(clock_hz=hardware.clock_hz, dram_bandwidth=hardware.dram_bandwidth,
                  word_bytes=hardware.word_bytes)


def _param(params: Any, key: str, default: Any = None) -> Any:
    if isinstance(params, Mapping):
        return params.get(key, default)
    return getattr(params, key, default)


def baseline_l3(params: Any, hardware: Hardware) -> int:
    return int(_param(params, "l3_bytes") or hardware.l3_bytes or BASELINE_L3_BYTES)


def plan_for(config: str, workload: Workload, hardware: Hardware, params: Any,
             stats: Mapping[str, Stats]) -> ConfigPlan:
    """The traffic/latency roles of a configuration; FLAT's depend on its choice and on its QK/AV tiles."""
    if config in ("binding", "arch", "cascade"):
        return cascade_plan(config)
    if config == "flat":
        choice = choice_from_params(params)
        spill = flat_softmax_spill(choice, stats["QK"], stats["AV"], baseline_l3(params, hardware),
                                   workload.M, hardware.word_bytes)
        return flat_plan(choice, spill)
    if config == "unfused":
        return unfused_plan(softmax_spill(baseline_l3(params, hardware), workload.M, hardware.word_bytes))
    raise FusemaxError(f"unknown configuration {config!r}; use {', '.join(CONFIGS)}", source="--configs")


#: (Einsum name, its stats, compute cost, metrics, price DRAM from traffic?) -> (pJ, pJ per component)
EnergyFn = Callable[[str, Stats, dict[str, int], EinsumMetrics, bool], "tuple[float, dict]"]


def combine_point(config: str, workload: Workload, hardware: Hardware, compute_costs: Mapping[str, dict],
                  params: Any, stats: Mapping[str, Stats], energy_fn: EnergyFn | None = None) -> ConfigResult:
    """Pure: one result row from the engine's per-Einsum statistics of one rendered configuration."""
    plan = plan_for(config, workload, hardware, params, stats)
    timing = timing_of(hardware)
    metrics = []
    for name, role in plan.roles.items():
        if name not in stats:
            raise FusemaxError(f"no statistics for Einsum {name}", source=f"{config} {workload.label}")
        m = einsum_metrics(stats[name], role, compute_costs[name], timing, source=f"{config} {workload.label}")
        if energy_fn is not None:
            m.energy_pj, m.energy_breakdown = energy_fn(name, stats[name], compute_costs[name], m,
                                                        role.dram_energy_from_traffic)
        metrics.append(m)
    flat_params = {k: v for k, v in (params.items() if isinstance(params, Mapping) else vars(params).items())
                   if isinstance(v, (int, float, str, bool))} if params is not None else {}
    return combine(config, workload.model.name, format_seq_len(workload.seq_len), metrics,
                   phase=workload.phase, pe_dim=hardware.pe_dim, params=flat_params)


# --- the impure edges: render, engine, energy -------------------------------------------------------------

def energy_fn_for(config: str, hardware: Hardware, kept: Mapping[str, dict]) -> EnergyFn:
    """Per-Einsum energy of ``config`` on the builtin ERTs of its platform at ``hardware``."""
    from . import energy
    erts = energy.erts_for(config, hardware)

    def fn(name: str, stats: Stats, cost: dict[str, int], m: EinsumMetrics, from_traffic: bool):
        return energy.einsum_energy(config, name, stats, cost, m, from_traffic, hardware,
                                    dict(kept.get(name, {})), erts)
    return fn


@dataclass
class PointOutcome:
    point: Point
    result: ConfigResult | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class PlannedPoint:
    """A rendered point and its jobs (Einsum name -> job); ``error`` when it could not be rendered."""

    point: Point
    workload: Workload | None = None
    rendered: Any = None
    jobs: dict[str, Job] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


def plan_point(point: Point, hardware: Hardware = Hardware(), models_file: str | None = None,
               backend: str = "builtin") -> PlannedPoint:
    """Render one point into one job per Einsum spec: an evaluation when it has a mapping, a mapper search
    (constraints + mapper settings) when it has none. Errors are captured, not raised."""
    from fusemax.backends import get_backend
    from fusemax.render import render

    from .flat_search import dataflow_for
    start = time.perf_counter()
    try:
        engine = get_backend(backend)
        workload = Workload(resolve_model(point.model, models_file), point.seq_len, point.phase)
        # FLAT: the paper's table for its models, FLAT's own search for any other workload
        searched = dataflow_for(workload, hardware) if point.config == "flat" else None
        rendered = render(point.config, workload, hardware, flat_dataflow=searched)
        # keyed by the version of what runs the job (e.g. timeloop-mapper's binary for a search)
        jobs = {name: make_job(einsum.files(), backend, engine.version(search=einsum.needs_mapper),
                               f"{point.label} {name}")
                for name, einsum in rendered.einsums.items()}
        return PlannedPoint(point, workload, rendered, jobs, seconds=time.perf_counter() - start)
    except ToolNotFoundError:
        raise  # the setup, not this point: one clear error for the whole run
    except FusemaxError as exc:
        return PlannedPoint(point, error=str(exc), seconds=time.perf_counter() - start)


def finish_point(planned: PlannedPoint, results: JobResults, hardware: Hardware = Hardware(),
                 with_energy: bool = True) -> PointOutcome:
    """Combine one planned point from its jobs' statistics; errors are captured, not raised."""
    from .energy import kept_from_mapping
    point = planned.point
    start = time.perf_counter()
    try:
        if planned.error is not None:
            raise FusemaxError(planned.error)
        workload, rendered = planned.workload, planned.rendered
        stats, costs, kept = {}, {}, {}
        for name, einsum in rendered.einsums.items():
            costs[name] = dict(einsum.compute_cost)
            kept[name] = kept_from_mapping(einsum.mapping_yaml, f"{point.label} {name}")
            job = planned.jobs[name]
            if job.key in results.errors:
                raise FusemaxError(results.errors[job.key], source=f"{point.label} {name}")
            stats[name] = results.stats[job.key]
            if job.key in results.mappings:  # a mapper search: price what its best mapping keeps
                kept[name] = kept_from_mapping(results.mappings[job.key], f"{point.label} {name}")
        fn = energy_fn_for(point.config, hardware, kept) if with_energy else None
        result = combine_point(point.config, workload, hardware, costs, rendered.params, stats, fn)
        return PointOutcome(point, result, seconds=planned.seconds + time.perf_counter() - start)
    except FusemaxError as exc:
        return PointOutcome(point, error=str(exc), seconds=planned.seconds + time.perf_counter() - start)


def evaluate_point(point: Point, hardware: Hardware = Hardware(), models_file: str | None = None,
                   with_energy: bool = True, backend: str = "builtin") -> PointOutcome:
    """Render, evaluate every Einsum and combine one point in this process, without a cache."""
    planned = plan_point(point, hardware, models_file, backend)
    results = run_jobs(list(planned.jobs.values()), LocalExecutor(1))
    return finish_point(planned, results, hardware, with_energy)


@dataclass
class SweepRun:
    """The outcomes of a sweep in point order, and how its jobs were served."""

    outcomes: list[PointOutcome]
    counts: RunCounts


def run_points(pts: list[Point], hardware: Hardware = Hardware(), jobs: int = 0, models_file: str | None = None,
               progress: Callable[[PointOutcome], None] | None = None, *, backend: str = "builtin",
               executor: str = "local", scheduler: str | None = None, cache: "Cache | str | Path | None" = None,
               stream: TextIO | None = None) -> SweepRun:
    """Evaluate all points: render them, run their Einsum jobs through the orchestrator (``cache`` skips
    done work; ``jobs`` = 0 uses every core), then combine each point in order.

    ``progress`` is called with each point's outcome; ``stream`` receives the job progress (None: silent).
    """
    planned = [plan_point(p, hardware, models_file, backend) for p in pts]
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    if cache is not None:
        cache.remove_stale_temporaries()
    all_jobs = [job for pp in planned for job in pp.jobs.values()]
    results = run_jobs(all_jobs, get_executor(executor, jobs, scheduler), cache, stream)
    outcomes = []
    for pp in planned:
        outcomes.append(finish_point(pp, results, hardware))
        if progress:
            progress(outcomes[-1])
    return SweepRun(outcomes, results.counts)


def run_sweep(pts: list[Point], hardware: Hardware = Hardware(), jobs: int = 0, models_file: str | None = None,
              progress: Callable[[PointOutcome], None] | None = None, **options: Any) -> list[PointOutcome]:
    """:func:`run_points` without the job counts (same options)."""
    return run_points(pts, hardware, jobs, models_file, progress, **options).outcomes


@dataclass
class Headline:
    """Mean speedup and energy ratio of one configuration over a baseline, over the points both have."""

    config: str
    baseline: str
    points: int
    mean_speedup: float
    mean_energy_ratio: float


def headline(results: list[ConfigResult], config: str = "binding",
             baselines: tuple[str, ...] = ("flat", "unfused")) -> list[Headline]:
    """The paper's headline: arithmetic means over model x length of baseline latency / our latency and of
    our energy / baseline energy."""
    by_key = {(r.config, r.model, r.seq_len, r.phase): r for r in results}
    out = []
    for base in baselines:
        pairs = [(r, by_key[(base, r.model, r.seq_len, r.phase)]) for r in results
                 if r.config == config and (base, r.model, r.seq_len, r.phase) in by_key]
        if not pairs:
            continue
        out.append(Headline(config, base, len(pairs),
                            sum(b.latency / r.latency for r, b in pairs) / len(pairs),
                            sum(r.energy / b.energy for r, b in pairs) / len(pairs)))
    return out


def format_headline(rows: list[Headline]) -> str:
    lines = [f"{'':<22} {'points':>6} {'mean speedup':>13} {'energy ratio':>13}"]
    for h in rows:
        lines.append(f"{h.config + ' over ' + h.baseline:<22} {h.points:>6} {h.mean_speedup:>12.2f}x "
                     f"{h.mean_energy_ratio:>12.1%}")
    return "\n".join(lines)


def run_info(outcomes: list[PointOutcome], hardware: Hardware, extra: dict[str, Any] | None = None) -> dict:
    """What ``run.json`` records next to the results: versions, parameters, failures."""
    import platform as _platform

    from fusemax import __version__
    info = {
        "fusemax": __version__, "python": _platform.python_version(),
        "hardware": {k: getattr(hardware, k) for k in vars(hardware)},
        "points": len(outcomes), "failed": [{"point": o.point.label, "error": o.error}
                                            for o in outcomes if o.error],
        "seconds": round(sum(o.seconds for o in outcomes), 3),
    }
    try:
        import subprocess
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=os.path.dirname(__file__), timeout=5)
        if rev.returncode == 0:
            info["git"] = rev.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    info.update(extra or {})
    return info
