"""The end-to-end and Pareto evaluations run through the orchestrator's job cache: a rerun with the same
cache folder evaluates nothing and gives the same rows as a run without a cache."""
from __future__ import annotations

import pytest

from fusemax.experiments.end2end import end2end_rows
from fusemax.experiments.pareto import pareto_point
from fusemax.orchestrator import Cache, runner


@pytest.fixture
def evaluations(monkeypatch) -> list[str]:
    """Labels of the jobs evaluated (in this process: the runs below use one worker)."""
    done: list[str] = []
    real = runner.evaluate_job

    def counting(backend, files, label):
        done.append(label)
        return real(backend, files, label)
    monkeypatch.setattr(runner, "evaluate_job", counting)
    return done


def test_end2end_rerun_takes_every_search_from_the_cache(tmp_path, evaluations):
    uncached = end2end_rows("proposal", ["BERT"], [1024])
    searches = len(evaluations)
    # K and V are Q's shape: at most Q, Z, FFN1 and FFN2 are searched.
    assert 1 <= searches <= 4 and all(" K" not in e and " V" not in e for e in evaluations)
    first = end2end_rows("proposal", ["BERT"], [1024], cache=tmp_path)
    assert len(evaluations) == 2 * searches and Cache(tmp_path).entries() == searches
    second = end2end_rows("proposal", ["BERT"], [1024], cache=tmp_path)
    assert len(evaluations) == 2 * searches  # nothing evaluated
    assert uncached == first == second


def test_pareto_rerun_evaluates_nothing(tmp_path, evaluations):
    uncached = pareto_point("BERT", 64)
    evaluated = len(evaluations)
    first = pareto_point("BERT", 64, cache=tmp_path)
    assert len(evaluations) == 2 * evaluated
    second = pareto_point("BERT", 64, cache=str(tmp_path))
    assert len(evaluations) == 2 * evaluated
    assert uncached == first == second
