"""The sweep driver: configurations x models x lengths through the pipeline's stages (:mod:`fusemax.pipeline`).

:func:`run_points` runs them in order for a list of points: :func:`resolve` (each point's workload, its dense
rectangles under a mask, its configuration's resolved hardware, which carries the configuration's record: a
point names its configuration, resolve looks the name up once and render and the combination take the
record); the points whose whole result the cache holds
are served as they are; :func:`select` (FLAT's dataflows, one search job per attention group); render
(:func:`render_point`, one job per Einsum spec; a point that cannot be rendered stops the sweep before any job
runs); evaluate (all jobs at once through :mod:`fusemax.orchestrator`: content-addressed cache, local or dask
executor, any backend); combine (:func:`finish_point`, each point in order, its result cached whole).
:func:`plan_points` stops after render (``fusemax run`` renders every variant first); :func:`evaluate_point`
does one point in-process without a cache.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from fusemax import paper
from fusemax.backends.names import DEFAULT_BACKEND
from fusemax.combine.point import combine_rendered
from fusemax.combine.schedule import ConfigResult, merge_rectangles
from fusemax.configs import ATTENTION_CONFIGS, ResolvedHardware, get_config, resolve_hardware
from fusemax.errors import FusemaxError, ToolNotFoundError
from fusemax.orchestrator import Cache, Executor, JobResults, Progress, RunCounts, get_executor
from fusemax.orchestrator.keys import result_key
from fusemax.orchestrator.rendered import collect, configuration_jobs, evaluate_rendered
from fusemax.pipeline import cached_result, store_result
from fusemax.select.flat import Selected, select_dataflows
from fusemax.workload import DECODE, DEFAULT_BATCH, PREFILL, Hardware, Workload, format_seq_len, mask_label, parse_mask, resolve_model


@dataclass(frozen=True)
class Point:
    """One configuration at one workload point."""

    config: str
    model: str          # zoo name or an inline NAME:D=..,H=..,E=..,S=.. spec
    seq_len: int
    phase: str = PREFILL
    batch: int = DEFAULT_BATCH
    #: ``--mask`` (none, causal, window:N) over the model's own mask; None keeps the model's
    mask: str | None = None

    def workload(self, models_file: str | None = None) -> Workload:
        """The point's workload: its model (from the zoo, ``models_file`` or inline) under its mask."""
        model = resolve_model(self.model, models_file)
        if self.mask is not None:
            kind, window = parse_mask(self.mask)
            model = replace(model, mask=kind, window=window)
        return Workload(model, self.seq_len, self.phase, self.batch)

    @property
    def label(self) -> str:
        # the paper's batch is left out so the labels (and progress lines) of its points stay as they were
        batch = "" if self.batch == DEFAULT_BATCH else f" batch {self.batch}"
        return f"{self.config} {self.model.split(':')[0]} {format_seq_len(self.seq_len)} {self.phase}{batch}"


def points(configs: Iterable[str] = ATTENTION_CONFIGS, models: Iterable[str] = paper.MODELS,
           seq_lens: Iterable[int] = (), phase: str = PREFILL, batch: int = DEFAULT_BATCH,
           mask: str | None = None) -> list[Point]:
    """The cross product in the artifact's order: configuration, then model, then length (all at one
    ``batch``)."""
    unknown = [c for c in configs if c not in ATTENTION_CONFIGS]
    if unknown:
        raise FusemaxError(f"unknown configuration {unknown[0]!r}; use {', '.join(ATTENTION_CONFIGS)}",
                           source="--configs")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise FusemaxError(f"batch must be a positive integer, got {batch!r}", source="--batch")
    if mask is not None:
        parse_mask(mask)  # one clear error before any point
    return [Point(c, m, n, phase, batch, mask) for c in configs for m in models for n in seq_lens]


@dataclass
class PointOutcome:
    point: Point
    result: ConfigResult | None = None
    error: str | None = None
    seconds: float = 0.0
    workload: Workload | None = None


@dataclass
class Rectangle:
    """One dense rectangle of a masked point (:mod:`fusemax.render.mask`): its weight in the point's sums,
    its rendering (of the rectangle's span) and its jobs."""

    weight: float
    rendered: Any
    jobs: dict


@dataclass
class PlannedPoint:
    """A rendered point and its jobs (Einsum name -> job); ``error`` when it could not be rendered. A masked
    point is its ``rectangles`` (``rendered`` and ``jobs`` are then its largest one's)."""

    point: Point
    workload: Workload | None = None
    rendered: Any = None
    jobs: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    rectangles: list[Rectangle] = field(default_factory=list)

    def specs(self) -> list[tuple[Any, dict]]:
        """Every (rendered configuration, its jobs) this point needs evaluated."""
        if self.rectangles:
            return [(r.rendered, r.jobs) for r in self.rectangles]
        return [(self.rendered, self.jobs)]


def attention_workloads(workload: Workload, hardware: ResolvedHardware) -> list[tuple[float, Workload]]:
    """The dense workloads that make up ``workload`` with their weights: the workload itself without a mask,
    else one per rectangle to evaluate (:func:`fusemax.render.mask.evaluation_weights`, blocks of the 2D
    array's side)."""
    from fusemax.render.mask import evaluation_weights, is_masked, pieces
    if not is_masked(workload):
        return [(1.0, workload)]
    block = hardware.pe_dim
    return [(weight, replace(workload, span=(piece.queries, piece.keys)))
            for piece, weight in evaluation_weights(pieces(workload, block), block)]


@dataclass
class Resolved:
    """The resolve stage's record of one point: its workload and the dense workloads (with their weights)
    it is evaluated as, or why it does not resolve."""

    point: Point
    workload: Workload | None = None
    dense: list[tuple[float, Workload]] = field(default_factory=list)
    error: str | None = None
    hardware: ResolvedHardware | None = None


def resolve(point: Point, hardware: Hardware, models_file: str | None = None) -> Resolved:
    """Resolve stage: ``point``'s workload (model from the zoo, ``models_file`` or inline, under its mask),
    its configuration's hardware (every default applied, once: render and the combination read it, and the
    configuration's record with it) and its dense rectangles; errors are captured, not raised."""
    try:
        workload = point.workload(models_file)
        resolved = resolve_hardware(get_config(point.config), hardware)
        return Resolved(point, workload, attention_workloads(workload, resolved), hardware=resolved)
    except FusemaxError as exc:
        return Resolved(point, error=str(exc))


def select(resolved: Iterable[Resolved], hardware: Hardware, executor: Executor | None = None,
           cache: Cache | None = None) -> Selected:
    """Select stage: FLAT's dataflow for every FLAT point's dense workloads (:func:`.select.flat.select_dataflows`,
    one job per attention group on ``executor``, kept in ``cache``)."""
    flat = [(r.hardware.config, r.dense) for r in resolved
            if r.hardware is not None and r.hardware.config.tiling == "flat"]
    if not flat:
        return Selected()
    return select_dataflows(flat[0][0], [dense for _, rectangles in flat for _, dense in rectangles], hardware,
                            executor, cache)


def render_point(resolved: Resolved, selected: Selected, backend: str = DEFAULT_BACKEND) -> PlannedPoint:
    """Render stage: one job per Einsum spec of each of the point's dense rectangles (an evaluation when it
    has a mapping, a mapper search when it has none) on the hardware resolve gave it, FLAT's dataflow read
    from ``selected``. Errors are captured, not raised."""
    from fusemax.render import render
    start = time.perf_counter()
    point = resolved.point
    try:
        if resolved.error is not None or resolved.hardware is None:
            raise FusemaxError(resolved.error or "internal: a resolved point without its hardware")
        rectangles = []
        for weight, dense in resolved.dense:
            conf = resolved.hardware.config
            flat = selected.choice(dense) if conf.tiling == "flat" else None
            rendered = render(conf, dense, resolved.hardware, flat_dataflow=flat)
            label = point.label if dense.span is None else f"{point.label} [{dense.P} x {dense.M}]"
            rectangles.append(Rectangle(weight, rendered, configuration_jobs(rendered, backend, label)))
        largest = rectangles[-1]
        return PlannedPoint(point, resolved.workload, largest.rendered, largest.jobs,
                            seconds=time.perf_counter() - start,
                            rectangles=rectangles if largest.rendered.workload.span is not None else [])
    except ToolNotFoundError:
        raise  # the setup, not this point: one clear error for the whole run
    except FusemaxError as exc:
        return PlannedPoint(point, error=str(exc), seconds=time.perf_counter() - start)


def plan_point(point: Point, hardware: Hardware = Hardware(), models_file: str | None = None,
               backend: str = DEFAULT_BACKEND, cache: Cache | None = None) -> PlannedPoint:
    """Resolve, select and render one point in this process (FLAT's search served from and stored in
    ``cache``). Errors are captured, not raised."""
    resolved = resolve(point, hardware, models_file)
    try:
        selected = select([resolved], hardware, cache=cache)
    except FusemaxError as exc:
        return PlannedPoint(point, error=str(exc))
    return render_point(resolved, selected, backend)


def plan_points(pts: list[Point], hardware: Hardware = Hardware(), models_file: str | None = None,
                backend: str = DEFAULT_BACKEND, stream: TextIO | None = None,
                cache: "Cache | str | Path | None" = None, executor: Executor | None = None) -> list[PlannedPoint]:
    """Resolve every point, select FLAT's dataflows (all searches at once on ``executor``; None: one after
    the other in this process) and render every point, in order, with a progress line on ``stream``.

    Fails fast: the first point that cannot be rendered (an L3 too small for its tiles, a workload no
    mapping serves) raises one :class:`FusemaxError` naming the point and the reason, before the rest is
    rendered or any job runs -- a sweep with a hole in it is not what was asked for.
    """
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    resolved = [resolve(point, hardware, models_file) for point in pts]
    return _render_all(resolved, select(resolved, hardware, executor, cache), backend, stream)


def _render_all(resolved: list[Resolved], selected: Selected, backend: str,
                stream: TextIO | None) -> list[PlannedPoint]:
    """:func:`render_point` for every point, in order, failing fast (see :func:`plan_points`)."""
    progress = Progress(len(resolved), stream, desc="planning", unit="point")
    planned = []
    try:
        for r in resolved:
            pp = render_point(r, selected, backend)
            if pp.error is not None:
                raise FusemaxError(pp.error, source=f"point {r.point.label}")
            planned.append(pp)
            progress.update()
    finally:
        progress.close()
    return planned


def finish_point(planned: PlannedPoint, results: JobResults, with_energy: bool = True) -> PointOutcome:
    """Combine one planned point from its jobs' statistics; errors are captured, not raised."""
    start = time.perf_counter()
    try:
        if planned.error is not None:
            raise FusemaxError(planned.error)
        if planned.rectangles:
            result = _combine_rectangles(planned, results, with_energy)
        else:
            result = combine_rendered(collect(planned.rendered, planned.jobs, results), with_energy)
        return PointOutcome(planned.point, result, seconds=planned.seconds + time.perf_counter() - start,
                            workload=planned.workload)
    except FusemaxError as exc:
        return PointOutcome(planned.point, error=str(exc), seconds=planned.seconds + time.perf_counter() - start)


def _combine_rectangles(planned: PlannedPoint, results: JobResults, with_energy: bool) -> ConfigResult:
    """A masked point from its rectangles' results (:func:`.combine.merge_rectangles`)."""
    from fusemax.render.mask import live_pairs, pieces
    parts = [(r.weight, r.rendered.workload.P * r.rendered.workload.M,
              combine_rendered(collect(r.rendered, r.jobs, results), with_energy)) for r in planned.rectangles]
    workload, hw = planned.workload, planned.rendered.hardware
    assert workload is not None
    params = {**parts[-1][2].params, "P": workload.P, "M": workload.M,
              "rectangles": len(pieces(workload, hw.pe_dim)), "rectangles_evaluated": len(planned.rectangles)}
    return merge_rectangles(planned.rendered.config, parts, live_pairs(workload), pe_dim=hw.pe_dim, pe_1d=hw.pe_1d,
                            clock_hz=hw.clock_hz, params=params)


def evaluate_point(point: Point, hardware: Hardware = Hardware(), models_file: str | None = None,
                   with_energy: bool = True, backend: str = DEFAULT_BACKEND) -> PointOutcome:
    """Render, evaluate every Einsum and combine one point in this process, without a cache."""
    planned = plan_point(point, hardware, models_file, backend)
    if planned.error is not None:
        return PointOutcome(point, error=planned.error, seconds=planned.seconds)
    _, results = evaluate_rendered(planned.specs())
    return finish_point(planned, results, with_energy)


@dataclass
class SweepRun:
    """The outcomes of a sweep in point order, how its jobs were served, and how many points came whole
    from the cache (their jobs are not counted)."""

    outcomes: list[PointOutcome]
    counts: RunCounts
    cached_points: int = 0


def point_key(point: Point, workload: Workload, hardware: Hardware, backend: str) -> str:
    """Cache key of ``point``'s combined result: its configuration and workload, the hardware, the
    backend's versions and fusemax's code and templates (:func:`.evaluate.result_key`), all known before
    rendering, so a warm run serves the point without rendering it."""
    return result_key("config-result", workload, hardware, backend, config=point.config)


def cached_results(resolved: list[Resolved], hardware: Hardware, backend: str, cache: Cache) -> dict[int, PointOutcome]:
    """The points (by index) whose combined result ``cache`` holds; the rest must be selected, rendered and
    run."""
    served = {}
    for i, r in enumerate(resolved):
        if r.workload is None:
            continue  # rendering reports it, in order
        result = cached_result(cache, point_key(r.point, r.workload, hardware, backend))
        if result is not None:
            served[i] = PointOutcome(r.point, result, workload=r.workload)
    return served


def run_points(pts: list[Point], hardware: Hardware = Hardware(), jobs: int = 0, models_file: str | None = None,
               progress: Callable[[PointOutcome], None] | None = None, *, backend: str = DEFAULT_BACKEND,
               executor: str = "local", scheduler: str | None = None, cache: "Cache | str | Path | None" = None,
               stream: TextIO | None = None, planned: list[PlannedPoint] | None = None) -> SweepRun:
    """Evaluate all points through the pipeline's stages, in order (:mod:`fusemax.pipeline`): resolve each
    point's workload; serve the points whose combined result ``cache`` holds (:func:`point_key`); select
    FLAT's dataflows; render the rest (raising on a point it cannot render); evaluate their Einsum jobs
    through the orchestrator (``cache`` skips done jobs; ``jobs`` = 0 uses every core); combine each point
    in order and keep its result in ``cache``.

    ``progress`` is called with each point's outcome; ``stream`` receives the planning and job progress
    (None: silent). ``planned``: the points already rendered by :func:`plan_points` (``pts`` is then unused;
    a caller that rendered every point first, to fail fast, takes only the jobs from the cache).
    """
    if cache is not None and not isinstance(cache, Cache):
        cache = Cache(Path(cache))
    runner = get_executor(executor, jobs, scheduler)
    whole = cache if planned is None else None
    served: dict[int, PointOutcome] = {}
    if planned is None:
        resolved = [resolve(point, hardware, models_file) for point in pts]                   # resolve
        served = cached_results(resolved, hardware, backend, whole) if whole is not None else {}
        todo = [r for i, r in enumerate(resolved) if i not in served]
        selected = select(todo, hardware, runner, cache)                                      # select
        planned = _render_all(todo, selected, backend, stream)                                # render
    if cache is not None:
        cache.remove_stale_temporaries()
    _, results = evaluate_rendered([spec for pp in planned for spec in pp.specs()], runner, cache, stream)  # evaluate
    fresh = iter(planned)
    outcomes = []
    for i in range(len(served) + len(planned)):                                               # combine
        outcome = served.get(i)
        if outcome is None:
            pp = next(fresh)
            outcome = finish_point(pp, results)
            if whole is not None and outcome.result is not None and outcome.workload is not None:
                outcome.result = store_result(whole, point_key(pp.point, outcome.workload, hardware, backend),
                                              outcome.result, pp.point.label, backend)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return SweepRun(outcomes, results.counts, len(served))


def run_sweep(pts: list[Point], hardware: Hardware = Hardware(), jobs: int = 0, models_file: str | None = None,
              progress: Callable[[PointOutcome], None] | None = None, **options: Any) -> list[PointOutcome]:
    """:func:`run_points` without the job counts (same options)."""
    return run_points(pts, hardware, jobs, models_file, progress, **options).outcomes


#: What every ``run.json`` states it modelled (README "Modelling assumptions"; the flags that change it).
ASSUMPTIONS: dict[str, str] = {
    "mask": "each model's own (masks: below) unless --mask; a masked prefill is dense rectangles of query blocks of "
            "the 2D array's side, each reading only the key blocks it needs, partly masked ones in full, and "
            "streaming its own K/V from DRAM",
    "gqa": "K/V shared by each KV group's query heads in every configuration (read once per KV head where the "
           "dataflow keeps them on chip)",
    DECODE: "one new token per sequence: reads the query and the K/V cache (the window's part under a sliding "
              "window), writes the output",
    "layer_fusion": "with --layer: fused (default) or none, recorded as layer_fusion",
}


def run_info(outcomes: list[PointOutcome], hardware: Hardware, extra: dict[str, Any] | None = None) -> dict:
    """What ``run.json`` records next to the results: versions, parameters, failures."""
    import platform as _platform

    from fusemax import __version__
    info = {
        "fusemax": __version__, "python": _platform.python_version(),
        "hardware": {k: getattr(hardware, k) for k in vars(hardware)},
        "hardware_units": {"l3_bytes": "B", "dram_bandwidth": "B/s", "clock_hz": "Hz"},
        "points": len(outcomes), "failed": [{"point": o.point.label, "error": o.error}
                                            for o in outcomes if o.error],
        "seconds": round(sum(o.seconds for o in outcomes), 3),
        "assumptions": ASSUMPTIONS,
        "masks": {o.workload.model.name: mask_label(o.workload.model) for o in outcomes if o.workload is not None},
    }
    import subprocess

    from fusemax.executables import which
    git = which("git")
    try:
        rev = subprocess.run([git, "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=os.path.dirname(__file__), timeout=5) if git else None
        if rev is not None and rev.returncode == 0:
            info["git"] = rev.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    info.update(extra or {})
    return info
