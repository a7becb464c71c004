"""The study runner: every point of its grid, whole layer, both phases and batches in one folder."""
from __future__ import annotations

import pytest

from fusemax import results
from fusemax.experiments import study
from fusemax.orchestrator import Cache

GRID = {"models": ("Pythia-14M",), "lengths": (1, 256), "phases": ("prefill", "decode"), "batches": (1, 4)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return study.run_study(**GRID, jobs=1, cache=Cache(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def written(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    folder = results.write_study(out, run, {"note": "test"})
    return out, folder, results.load_study(out / "study")


def test_every_point_has_its_whole_layer(run, written):
    layer = written[2].layer
    assert run.failed == []
    assert len(layer) == len(study.CONFIGS) * 2 * 2 * 2
    keys = set(zip(layer.config, layer.seq_len, layer.phase, layer.batch))
    assert len(keys) == len(layer)  # no point twice
    # the layer's FLOPs grow with the batch: 4 sequences do 4x one sequence's work, in either phase
    by = layer.set_index(["config", "seq_len", "phase", "batch"])["flops"]
    for config in study.CONFIGS:
        for phase in GRID["phases"]:
            assert by[(config, "256", phase, 4)] == 4 * by[(config, "256", phase, 1)]


def test_einsums_and_rooflines_keep_both_batches(written):
    loaded = written[2]
    assert set(loaded.einsums.batch) == {1, 4} and set(loaded.roofline.batch) == {1, 4}
    groups = set(loaded.einsums.group)
    assert {"attention", "projection", "mlp", "elementwise"} <= groups


def test_written_folder_loads_and_the_headline_is_per_phase(run, written):
    out, folder, loaded = written
    assert folder == out / "study" / "results"
    assert len(loaded.layer) == len(run.layer) and loaded.run["note"] == "test"
    text = study.format_study_headline(run.layer, lengths=(1, 256))
    assert "binding over flat (decode)" in text and "binding over flat " in text
    assert "batch 1 " in text and "batch 4 " in text
