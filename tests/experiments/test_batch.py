"""``--batch``: the batch reaches the workload, run.json, einsums.csv and roofline.csv, and scales the work."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.orchestrator import load_sweep_file


def _run(tmp_path, name: str, *extra: str) -> pd.DataFrame:
    out = tmp_path / name
    assert main(["run", "--out", str(out), "--configs", "binding", "--models", "BERT", "--seq-lens", "1K",
                 "--quiet", "--jobs", "1", "--cache", str(tmp_path / "cache"), *extra]) == 0
    return out / "results"


def test_batch_is_recorded_and_scales_the_work(tmp_path):
    eight, one = _run(tmp_path, "b8", "--batch", "8"), _run(tmp_path, "b1", "--batch", "1")
    assert json.loads((eight / "run.json").read_text())["batch"] == 8
    e8, e1 = pd.read_csv(eight / "einsums.csv"), pd.read_csv(one / "einsums.csv")
    assert set(e8["batch"]) == {8} and set(e1["batch"]) == {1}
    assert set(pd.read_csv(eight / "roofline.csv")["batch"]) == {8}
    # B is an independent rank: 8 batches do exactly 8x the computes of one (BERT QK: 12 heads x 1K^2 x E=64)
    qk8, qk1 = (f.set_index("einsum").loc["QK", "computes"] for f in (e8, e1))
    assert qk1 == 12 * 1024 * 1024 * 64 and qk8 == 8 * qk1


def test_sweep_file_batch(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("batch: 4\n")
    assert load_sweep_file(path).batch == 4
    path.write_text("batch: four\n")
    with pytest.raises(FusemaxError, match="positive integer"):
        load_sweep_file(path)
