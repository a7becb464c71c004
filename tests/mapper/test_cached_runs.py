"""The end-to-end and Pareto evaluations run through the orchestrator's job cache: a rerun with the same
cache folder evaluates nothing and gives the same rows as a run without a cache."""
from __future__ import annotations

import pytest

from fusemax.experiments.end2end import end2end_rows
from fusemax.experiments import pareto
from fusemax.experiments.pareto import pareto_point, pareto_rows, rows_key
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


def test_pareto_rows_rerun_takes_each_models_rows_whole(tmp_path, evaluations, monkeypatch):
    # BERT at 16x16 and 32x32, one worker: the first run renders and evaluates, the rerun only reads rows
    uncached = pareto_rows(["BERT"], pe_dims=[16, 32])
    first = pareto_rows(["BERT"], pe_dims=[16, 32], cache=tmp_path)
    evaluated = len(evaluations)
    assert evaluated > 0 and [r.pe_dim for r in first] == [16, 32]

    def no_render(*args, **kwargs):
        raise AssertionError("a cached model's rows were computed again")
    monkeypatch.setattr(pareto, "_model_rows", no_render)
    second = pareto_rows(["BERT"], pe_dims=[16, 32], cache=str(tmp_path))
    assert len(evaluations) == evaluated
    assert uncached == first == second


def test_pareto_rows_are_keyed_by_what_they_are_computed_from():
    key = rows_key("BERT", (16, 32), 262144, None, "builtin")
    assert key == rows_key("BERT", (16, 32), 262144, None, "builtin")
    # another model, array list, length or engine: another entry
    assert len({key, rows_key("T5", (16, 32), 262144, None, "builtin"), rows_key("BERT", (16,), 262144, None, "builtin"),
                rows_key("BERT", (16, 32), 65536, None, "builtin"), rows_key("BERT", (16, 32), 262144, None, "timeloop")}) == 5


def test_a_cached_entry_that_holds_no_rows_is_rejected_and_recomputed(tmp_path):
    cache = Cache(tmp_path)
    key = rows_key("BERT", (16,), 262144, None, "builtin")
    cache.put(key, {"pareto_rows": {"rows": [{"model": "BERT"}]}}, "pareto BERT", "builtin")  # checksum ok, rows not
    rows = pareto_rows(["BERT"], pe_dims=[16], cache=cache)
    assert [r.pe_dim for r in rows] == [16] and cache.corrupt == 1
    assert pareto_rows(["BERT"], pe_dims=[16], cache=Cache(tmp_path)) == rows
