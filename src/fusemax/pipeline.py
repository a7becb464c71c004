"""The pipeline's spine: the stages every result passes through, in order (:data:`STAGES`).

    resolve    workload + hardware, once      fusemax.workload, fusemax.configs
    select     dataflows (FLAT's search)      fusemax.select       (orchestrator jobs; a table render reads)
    render     Timeloop v0.4 specs            fusemax.render
    evaluate   per-Einsum statistics          fusemax.orchestrator (jobs, cache, executors) -> backends -> engine
    combine    rows: roles, metrics, schedule fusemax.combine      (pure: statistics in, rows out)
    results    CSVs and run.json              fusemax.results
    reports    figures, the HTML report       fusemax.reports

A stage's modules import only earlier stages' (``tests/test_pipeline_stages.py``), so data flows one way.
The one exception is select: FLAT's search evaluates its candidates through render, evaluate and combine,
a small pipeline of its own run as one job per attention group.

The drivers (:mod:`fusemax.experiments`: sweep, study, end2end, pareto, the layer and the whole model) are
built on the stages; :func:`fusemax.experiments.sweep.run_points` runs them in order for a sweep's points.
Whole results are cached under :func:`fusemax.orchestrator.keys.result_key`, made before anything is
rendered (:func:`store_result`, :func:`cached_result`); :func:`platform_results` runs render -> evaluate ->
combine for whole results of the layer's rest and the LM head.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, TextIO

from fusemax.combine.point import combine_rendered
from fusemax.combine.schedule import ConfigResult
from fusemax.orchestrator import Cache, Executor
from fusemax.orchestrator.rendered import configuration_jobs, evaluate_rendered

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.render import RenderedConfig


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: its name and the modules (packages) that make it up."""

    name: str
    modules: tuple[str, ...]


#: The stages in the order data flows through them.
STAGES: tuple[Stage, ...] = (
    Stage("resolve", ("fusemax.workload", "fusemax.configs")),
    Stage("select", ("fusemax.select",)),
    Stage("render", ("fusemax.render",)),
    Stage("evaluate", ("fusemax.orchestrator", "fusemax.backends", "fusemax.engine", "fusemax.mapper")),
    Stage("combine", ("fusemax.combine",)),
    Stage("results", ("fusemax.results",)),
    Stage("reports", ("fusemax.reports",)),
)


def store_result(cache: Cache, key: str, result: ConfigResult, label: str, backend: str) -> ConfigResult:
    """Put ``result`` in ``cache`` and return it as a warm run will read it back (the same JSON path,
    so cold and warm runs write the same bytes)."""
    data = json.loads(json.dumps(result.to_json()))
    cache.put(key, {"config_result": data}, label, backend)
    return ConfigResult.from_json(data)


def cached_result(cache: Cache, key: str) -> ConfigResult | None:
    """The result :func:`store_result` put under ``key``, or None; an entry that passes its checksum yet is
    not a result counts as corrupt (rejected, to be recomputed)."""
    return cache.parsed(key, "config_result", lambda hit: ConfigResult.from_json(hit["config_result"]))


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

