"""A small results folder (BERT and XLM at 1K and 4K, four configurations) and its report, built once."""
from __future__ import annotations

from pathlib import Path

import pytest

from fusemax.cli import main

CONFIGS = "unfused,flat,cascade,binding"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    status = main(["run", "--out", str(out), "--configs", CONFIGS, "--models", "BERT,XLM",
                   "--seq-lens", "1K,4K", "--quiet"])
    assert status == 0
    return out


@pytest.fixture(scope="session")
def report_index(run_dir) -> Path:
    """The report written by the CLI (``fusemax report DIR``), as a user would."""
    assert main(["report", str(run_dir)]) == 0
    return run_dir / "report" / "index.html"
