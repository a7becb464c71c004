"""Rendered configurations -> orchestrator jobs -> per-Einsum statistics: the evaluate stage's entry.

:func:`configuration_jobs` names one job per Einsum spec of a rendered configuration; :func:`evaluate_rendered`
runs the jobs of many rendered configurations at once through :func:`fusemax.orchestrator.run_jobs` (cache,
executor, backend) and :func:`collect` hands each configuration its statistics (:class:`Evaluated`), which the
combine stage (:mod:`fusemax.combine`) turns into rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence, TextIO

from fusemax.backends import backend_version, job_kind
from fusemax.stats import Stats

from .cache import Cache
from .executors import Executor, LocalExecutor
from .jobs import Job, make_job
from .runner import JobResults, run_jobs

if TYPE_CHECKING:  # pragma: no cover
    from fusemax.render import RenderedConfig


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
    """One rendered configuration's statistics (Einsum -> Stats), its searched mappings and what each
    Einsum's mapping keeps where (level -> tensors, as the worker read it), or the first job error."""

    rendered: "RenderedConfig"
    jobs: dict[str, Job]
    stats: dict[str, Stats] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    kept: dict[str, dict[str, list[str]]] = field(default_factory=dict)

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
        if job.key in results.kept:
            out.kept[name] = results.kept[job.key]
    return out


def evaluate_rendered(items: Sequence[tuple["RenderedConfig", dict[str, Job]]], executor: Executor | None = None,
                      cache: Cache | None = None, stream: TextIO | None = None,
                      known: JobResults | None = None) -> tuple[list[Evaluated], JobResults]:
    """Run the jobs of every ``(rendered, jobs)`` at once (shared specs run once, ``cache`` serves finished
    ones; default: in this process) and collect each configuration's statistics, in order. ``known``: the
    results of jobs run before (not run again), to which this call's are added."""
    jobs = [job for _, jobs in items for job in jobs.values()]
    if known is not None:
        jobs = [job for job in jobs if job.key not in known.stats and job.key not in known.errors]
    results = run_jobs(jobs, executor or LocalExecutor(1), cache, stream)
    if known is not None:
        known.stats.update(results.stats)
        known.mappings.update(results.mappings)
        known.errors.update(results.errors)
        known.kept.update(results.kept)
        results = known
    return [collect(rendered, jobs, results) for rendered, jobs in items], results
