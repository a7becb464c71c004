"""The study's whole-model figure: its lines read back equal to model.csv (read with the csv module)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fusemax import results
from fusemax.experiments import study as study_run
from fusemax.orchestrator import Cache
from fusemax.reports import study
from fusemax.reports.style import SavedFigure
from fusemax.workload import parse_seq_len


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    run = study_run.run_study(models=("Pythia-14M", "BERT"), lengths=(256, 1024), batches=(1,), jobs=1,
                              cache=Cache(tmp_path_factory.mktemp("cache")))
    return results.write_study(out, run, {})


def test_ttft_tpot_figure_is_model_csv(folder):
    figures = {}

    def capture(stem, title, caption, builder, *args):
        figures[stem] = builder(*args)
        return SavedFigure(stem, title, caption, Path(f"{stem}.png"), Path(f"{stem}.pdf"))

    study.figures(study.load(folder), capture)
    lines = {ln.get_gid(): ln for ax in figures["study-model"].axes for ln in ax.get_lines() if ln.get_gid()}
    with open(folder / "model.csv", newline="") as f:
        truth = list(csv.DictReader(f))
    assert len(lines) == 2 * 3 * 2   # TTFT and TPOT x binding, FLAT, unfused x two models
    for gid, line in lines.items():
        metric, config, model, batch = gid.split()
        want = sorted((parse_seq_len(r["seq_len"]), float(r[metric])) for r in truth
                      if (r["config"], r["model"], r["batch"]) == (config, model, batch))
        assert list(zip(line.get_xdata(), line.get_ydata())) == want, gid
