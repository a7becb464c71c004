"""``fusemax model``: outputs and exit status."""
from __future__ import annotations

import json

from fusemax.cli import main

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
