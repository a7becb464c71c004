"""Rendered specs are accepted by the builtin engine; at the placeholder sizes they give real Timeloop's
numbers (the conformance corpus ran timeloop-model on the artifact's files, which we render exactly)."""
from __future__ import annotations

import json
import math

import pytest

from fusemax.render import render, write_rendered
from fusemax.workload import Workload, get_model

from .conftest import load_plain, shared_dir
from .test_artifact_inputs import PLACEHOLDER, PLACEHOLDER_FLAT

engine = pytest.importorskip("fusemax.engine")


def _evaluate(folder):
    return engine.evaluate(engine.load_spec(folder / "arch.yaml", folder / "problem.yaml", folder / "mapping.yaml"))


@pytest.mark.parametrize("config", ["binding", "cascade", "flat"])
@pytest.mark.parametrize("workload", [Workload(get_model("BERT"), 4096),
                                      Workload(get_model("Pythia-14M"), 2048, phase="decode")],
                         ids=["BERT-4K", "Pythia-2K-decode"])
def test_rendered_specs_evaluate(config, workload, tmp_path):
    rendered = render(config, workload)
    for folder, einsum in zip(write_rendered(rendered, tmp_path), rendered.einsums.values()):
        stats = _evaluate(folder)
        assert stats.valid, (einsum.name, stats.error)
        instance = load_plain(einsum.problem_yaml)["problem"]["instance"]
        dims = load_plain(einsum.problem_yaml)["problem"]["shape"]["dimensions"]
        assert stats.computes == math.prod(instance[d] for d in dims), einsum.name


@pytest.mark.parametrize("case, config, einsum", [
    ("proposal__qk__arch-2d", "binding", "QK"), ("proposal__rnv__arch-1d", "binding", "RNV"),
    ("proposal-flatpe__lm__flat_arch-1d", "cascade", "LM"), ("baselines-flat__qk__arch-2d", "flat", "QK"),
])
def test_placeholder_rendering_matches_timeloop(case, config, einsum, tmp_path):
    expected_file = shared_dir() / "conformance" / "fusemax" / case / "expected.json"
    if not expected_file.is_file():
        pytest.skip(f"conformance case {case} not found")
    expected = json.loads(expected_file.read_text())
    rendered = render(config, PLACEHOLDER, flat_dataflow=PLACEHOLDER_FLAT if config == "flat" else None)
    folder = write_rendered(rendered, tmp_path)[list(rendered.einsums).index(einsum)]
    stats = _evaluate(folder)
    assert stats.valid and (stats.computes, stats.cycles) == (expected["computes"], expected["cycles"])
