"""Evaluations travel to the workers in batches, mapper searches alone; each job keeps its own result."""
from __future__ import annotations

from fusemax.backends import job_kind
from fusemax.orchestrator.jobs import Job
from fusemax.orchestrator.runner import MAX_BATCH, _batches, _evaluate_batch


def _job(i: int, search: bool) -> Job:
    files = {"arch.yaml": "", "problem.yaml": ""} if search else {"arch.yaml": "", "mapping.yaml": ""}
    return Job(key=str(i), label=f"job {i}", backend="builtin", files=files)


def test_searches_go_alone_and_evaluations_in_order_in_bounded_runs():
    kinds = [True] * 3 + [False] * 1000 + [True] + [False] * 5
    jobs = [_job(i, search) for i, search in enumerate(kinds)]
    batches = _batches([job_kind(job.files) for job in jobs], workers=2)
    assert [i for b in batches for i in b] == list(range(len(jobs)))  # every job once, in order
    for batch in batches:
        if kinds[batch[0]]:
            assert len(batch) == 1  # a search never waits behind others in its task
        assert all(kinds[i] == kinds[batch[0]] for i in batch)
        assert len(batch) <= MAX_BATCH
    # 1005 evaluations over 2 workers: 1005 // 16 = 62 > MAX_BATCH, so full batches of MAX_BATCH
    assert max(len(b) for b in batches) == MAX_BATCH


def test_few_evaluations_still_leave_every_worker_several_tasks():
    kinds = [job_kind(_job(i, False).files) for i in range(40)]
    assert all(len(b) == 1 for b in _batches(kinds, workers=8))   # 40 // 64 = 0 -> one job per task
    assert {len(b) for b in _batches(kinds, workers=1)} == {5}    # 40 // 8 = 5


def test_a_failing_job_in_a_batch_fails_alone_and_the_others_match_their_own_evaluation():
    from fusemax.experiments import sweep
    from fusemax.orchestrator.jobs import evaluate_job
    point = sweep.points(["binding"], ["BERT"], [1024])[0]
    good = [job for job in sweep.plan_point(point).jobs.values() if "mapping.yaml" in job.files][:2]
    bad = {**good[0].files, "mapping.yaml": "mapping: [\n"}
    results = _evaluate_batch([("builtin", good[0].files, "a"), ("builtin", bad, "bad"),
                               ("builtin", good[1].files, "b")])
    assert "malformed YAML" in results[1]["error"]
    assert results[0] == evaluate_job("builtin", good[0].files, "a") and "error" not in results[0]
    assert results[2] == evaluate_job("builtin", good[1].files, "b") and "error" not in results[2]
