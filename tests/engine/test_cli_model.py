"""``fusemax model``: outputs and exit status."""
from __future__ import annotations

import json

import pytest

from fusemax.cli import main
from fusemax.energy.tables import load_ert
from fusemax.engine import evaluate, load_spec
from tests.shared_data import shared_dir

from .test_engine_units import CONV1D


def test_model_writes_stats_json_and_txt(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D)
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["valid"] and stats["computes"] == 48
    assert "Buffer" in (tmp_path / "out" / "timeloop-model.stats.txt").read_text()


def test_model_invalid_mapping_exits_2(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("depth: 64", "depth: 8"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 2
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["valid"] is False and "exceeds buffer capacity" in stats["error"]


def test_model_malformed_spec_is_one_line_error(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("target: Buffer", "target: Nowhere"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown level 'Nowhere'" in err and str(spec) in err


def test_without_ert_energy_comes_from_the_architecture_like_accelergy(tmp_path):
    # The artifact's check run priced this architecture (proposal arch-2d, 16 nm) with real Accelergy; with
    # no --ert, `fusemax model` must estimate the same tables and so the same energy.
    case = shared_dir("conformance", "fusemax", "proposal__qk__arch-2d")
    ert = load_ert(shared_dir("reference", "fusemax-artifact", "check", "timeloop", "timeloop-model.ERT.yaml"))
    assert main(["model", str(case / "spec.yaml"), "-o", str(tmp_path)]) == 0
    ours = json.loads((tmp_path / "stats.json").read_text())["energy_pj"]
    assert ours == pytest.approx(evaluate(load_spec(case / "spec.yaml"), ert).energy_pj, rel=1e-9)


def test_unpriceable_architecture_warns_and_still_counts(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CONV1D.replace("class: regfile", "class: mystery_memory"))
    assert main(["model", str(spec), "-o", str(tmp_path / "out")]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["computes"] == 48 and stats["energy_pj"] == 0
    err = capsys.readouterr().err
    assert "warning: energies and areas are reported as 0" in err and "mystery_memory" in err
