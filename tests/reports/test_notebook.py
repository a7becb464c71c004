"""workspace/notebooks/redraw.ipynb runs top to bottom on a results folder and shows its two figures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "workspace" / "notebooks" / "redraw.ipynb"


def execute(notebook: Path) -> list:
    """Run ``notebook`` top to bottom in its folder; its code cells' outputs, none of them an error."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra")
    pytest.importorskip("ipykernel", reason="ipykernel is in the test extra")
    nb = nbformat.read(notebook, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def test_redraw_notebook_executes(run_dir, monkeypatch):
    monkeypatch.setenv("FUSEMAX_RESULTS", str(run_dir))
    outputs = execute(NOTEBOOK)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert "unfused" in outputs[0]["text"] and os.fspath(run_dir) in outputs[0]["text"]


STUDY_NOTEBOOK = NOTEBOOK.with_name("study.ipynb")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """A small study (BERT and Pythia-14M at 256 and 1K, both phases, batch 1) as run_all.py writes it."""
    from fusemax import results
    from fusemax.experiments import study, sweep
    from fusemax.orchestrator import Cache
    from fusemax.workload import Hardware
    out = tmp_path_factory.mktemp("study-out")
    run = study.run_study(models=("BERT", "Pythia-14M"), lengths=(256, 1024), batches=(1,), jobs=1,
                          cache=Cache(out / "cache"))
    results.write_study(out, run, sweep.run_info([], Hardware(), {}))
    return out / "study"


def test_study_notebook_redraws_the_study_and_the_seed_plots(study_dir, monkeypatch):
    monkeypatch.setenv("FUSEMAX_STUDY", str(study_dir))
    outputs = execute(STUDY_NOTEBOOK)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"{study_dir}: 2 models, 2 lengths, phases ['decode', 'prefill'], batches [1]" in text
    # the small study has BERT at 256 and 1K only: seed plots 3 (2K) says so; the other eight figures draw
    assert "3. OPT-66B and Pythia-14M components at 2K (FuseMax): no such points in this study" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 8
