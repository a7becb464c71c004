"""pe_util_2d / pe_util_1d: PE-cycles that worked over PE-cycles available, against einsums.csv and the
physical bounds (never above the busy fraction util_*, which counts a cycle busy however few PEs work)."""
from __future__ import annotations

import pandas as pd
import pytest

from fusemax.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("peutil")
    assert main(["run", "--out", str(out), "--configs", "binding,unfused", "--models", "BERT", "--seq-lens", "1K",
                 "--phase", "decode", "--quiet", "--jobs", "1"]) == 0
    return out / "results"


@pytest.mark.parametrize("config", ["binding", "unfused"])
def test_pe_util_is_computes_over_pe_cycles(run, config):
    row = pd.read_csv(run / f"attn-{config}-decode.csv").iloc[0]
    einsums = pd.read_csv(run / "einsums.csv").query("config == @config")
    for array, pes, busy in (("2d", 256 * 256, "util_2d"), ("1d", 256, "util_1d")):
        computes = einsums.loc[einsums["array"] == array, "computes"].sum()
        assert row[f"pe_util_{array}"] == pytest.approx(computes / (pes * row["latency"] * 940e6), rel=1e-9)
        assert 0 <= row[f"pe_util_{array}"] <= row[busy] + 1e-12 and row[f"pe_util_{array}"] <= 1
    # the artifact's columns come first, the PE utilizations last
    assert list(row.index[:7]) == ["model", "seq_len", "traffic", "latency", "energy", "util_2d", "util_1d"]
    assert list(row.index[-2:]) == ["pe_util_2d", "pe_util_1d"]
