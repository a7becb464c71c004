"""The orchestrator: plan a sweep into jobs, serve them from a content-addressed cache, run the rest.

>>> from fusemax.orchestrator import Cache, get_executor, run_jobs
>>> out = run_jobs(jobs, get_executor("local", jobs=0), Cache("workspace/cache"), stream=sys.stderr)
>>> out.counts            # RunCounts(jobs=1152, cached=1000, evaluated=152, failed=0, corrupt=0)

* :mod:`.plan` -- the sweep description (``fusemax run`` flags or a YAML sweep file);
* :mod:`.jobs` -- one job per rendered Einsum spec, keyed by SHA-256 of spec texts + backend + version;
* :mod:`.cache` -- checksummed, atomically written stats JSON per key (resume = rerun the same command);
* :mod:`.executors` -- ``local`` process pool (default: all cores) or ``dask`` (scheduler address, or a
  LocalCluster on 127.0.0.1);
* :mod:`.progress` -- tqdm on a terminal, plain log lines otherwise;
* :mod:`.runner` -- :func:`run_jobs`, tying them together;
* :mod:`.rendered` -- the evaluate stage's entry: one job per Einsum spec of a rendered configuration, and
  each configuration's statistics (and what its mappings keep) collected back;
* :mod:`.keys` -- cache keys of whole results (a point's row, FLAT's search), made before rendering.

The drivers build jobs from rendered configurations (:func:`fusemax.experiments.sweep.run_points`) and
combine the statistics afterwards (:mod:`fusemax.combine`), in plan order, so results never depend on the
executor.
"""
from .cache import Cache
from .executors import EXECUTORS, DaskExecutor, Executor, LocalExecutor, default_jobs, get_executor
from .jobs import Job, evaluate_job, job_key, make_job
from .plan import SweepSpec, load_sweep_file
from .progress import Progress
from .runner import JobResults, RunCounts, run_jobs

__all__ = [
           "EXECUTORS",
           "Cache",
           "DaskExecutor",
           "Executor",
           "Job",
           "JobResults",
           "LocalExecutor",
           "Progress",
           "RunCounts",
           "SweepSpec",
           "default_jobs",
           "evaluate_job",
           "get_executor",
           "job_key",
           "load_sweep_file",
           "make_job",
           "run_jobs",
]
