"""workspace/notebooks/redraw.ipynb runs top to bottom on a results folder and shows its two figures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "workspace" / "notebooks" / "redraw.ipynb"


def test_redraw_notebook_executes(run_dir, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra")
    pytest.importorskip("ipykernel", reason="ipykernel is in the test extra")
    monkeypatch.setenv("FUSEMAX_RESULTS", str(run_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert "unfused" in outputs[0]["text"] and os.fspath(run_dir) in outputs[0]["text"]
