"""Run jobs: take what the cache has, evaluate the rest on an executor, store each result as it arrives.

Every finished job is in the cache before the next one is reported, so an interrupted or killed sweep
loses only the jobs that were running; the next run evaluates exactly the jobs without a valid entry.
Results are keyed by job key, never by arrival order: the same jobs give the same results on any executor.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Sequence, TextIO

from fusemax.stats import Stats

from .cache import Cache
from .executors import Executor
from .jobs import Job, evaluate_job
from .progress import Progress


@dataclass
class RunCounts:
    """How the jobs of a run were served: ``jobs`` distinct specs, of which ``cached`` came from the cache,
    ``evaluated`` ran now (``failed`` of them with an error) and ``corrupt`` entries were rejected (their
    paths in ``corrupt_entries``)."""

    jobs: int = 0
    cached: int = 0
    evaluated: int = 0
    failed: int = 0
    corrupt: int = 0
    corrupt_entries: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, int | list[str]]:
        return asdict(self)


@dataclass
class JobResults:
    stats: dict[str, Stats]      # job key -> statistics
    mappings: dict[str, str]     # job key -> best mapping (v0.4 YAML) of a mapper search
    errors: dict[str, str]       # job key -> error message (not cached)
    counts: RunCounts
    #: job key -> level -> tensors its mapping keeps (entries cached before it was recorded have none)
    kept: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, key: str, result: dict) -> None:
        self.stats[key] = Stats.from_json(result["stats"])
        if result.get("mapping"):
            self.mappings[key] = result["mapping"]
        if "kept" in result:
            self.kept[key] = {str(level): [str(t) for t in tensors] for level, tensors in result["kept"].items()}


def run_jobs(jobs: Sequence[Job], executor: Executor, cache: Cache | None = None,
             stream: TextIO | None = None) -> JobResults:
    """Evaluate ``jobs`` (duplicates by key run once). ``stream`` gets the progress; None is silent."""
    unique: dict[str, Job] = {}
    for job in jobs:
        unique.setdefault(job.key, job)
    out = JobResults({}, {}, {}, RunCounts(jobs=len(unique)))
    corrupt_before = cache.corrupt if cache is not None else 0
    for key in unique:
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            try:
                out.add(key, hit)
            except (KeyError, TypeError, ValueError, AttributeError):  # checksummed, yet not statistics
                out.stats.pop(key, None)
                cache.reject(key)  # type: ignore[union-attr]  # a hit comes from a cache
    # Mapper searches (no mapping.yaml) take far longer than evaluations. The builtin backend starts them
    # first so that no worker is left with a long search at the end; real Timeloop runs the quick model
    # jobs first, so that results (and errors of the setup) arrive before hour-long searches.
    from fusemax.backends import get_backend, job_kind
    first = {name: get_backend(name).searches_first for name in {job.backend for job in unique.values()}}
    missing = sorted((job for key, job in unique.items() if key not in out.stats),
                     key=lambda job: ("mapping.yaml" in job.files) == first[job.backend])
    counts = out.counts
    counts.cached, counts.evaluated = len(out.stats), len(missing)
    if cache is not None:
        counts.corrupt_entries = [str(p) for p in cache.rejected[corrupt_before:]]
        counts.corrupt = len(counts.corrupt_entries)
    if stream is not None:
        where = getattr(executor, "describe", lambda: executor.name)()
        print(f"{counts.jobs} jobs: {counts.cached} cached, {counts.evaluated} to evaluate ({where})"
              + (f"; {counts.corrupt} corrupt cache entries rejected" if counts.corrupt else ""),
              file=stream, flush=True)
    if not missing:
        return out
    kinds = [job_kind(job.files) for job in missing]
    progress = Progress(len(missing), stream, desc="evaluating", kinds=kinds)
    batches = _batches(kinds, getattr(executor, "jobs", 1))
    warned = False
    try:
        for b, results in executor.run(_evaluate_batch, [([(missing[i].backend, missing[i].files, missing[i].label)
                                                           for i in batch],) for batch in batches]):
            for i, result in zip(batches[b], results):
                job = missing[i]
                if "error" in result:
                    out.errors[job.key] = result["error"]
                    counts.failed += 1
                else:
                    if cache is not None and cache.put(job.key, result, job.label, job.backend) is None \
                            and not warned:
                        # A read-only (e.g. shared) cache still serves its hits; say once that nothing is stored.
                        warned = True
                        print(f"fusemax: warning: {cache.root}: the cache is read-only; results are computed "
                              f"but not stored", file=stream or sys.stderr, flush=True)
                    # Cached and fresh results take the same JSON path, so a rerun reproduces them bit for bit.
                    out.add(job.key, result)
                progress.update(kind=kinds[i])
    finally:
        progress.close()
    return out


#: Most evaluations (jobs with a mapping) sent to a worker in one task.
MAX_BATCH = 32


def _batches(kinds: Sequence[str], workers: int) -> list[list[int]]:
    """The indices of jobs of ``kinds`` (:func:`~fusemax.backends.job_kind`) grouped into tasks, in order: a
    mapper search alone (it takes up to seconds), and evaluations ("model": about a millisecond each, less than
    a task's round trip to a worker process) in runs of consecutive ones, at most :data:`MAX_BATCH`, small
    enough to leave each worker about eight tasks."""
    size = max(1, min(MAX_BATCH, kinds.count("model") // (8 * max(workers, 1))))
    batches: list[list[int]] = []
    for i, kind in enumerate(kinds):
        if kind == "model" and batches and len(batches[-1]) < size and kinds[batches[-1][0]] == "model":
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _evaluate_batch(specs: Sequence[tuple[str, dict, str]]) -> list[dict]:
    """Worker entry point of one task: :func:`evaluate_job` of each ``(backend, files, label)``, in order
    (each error stays its job's own, as data)."""
    return [evaluate_job(*spec) for spec in specs]
