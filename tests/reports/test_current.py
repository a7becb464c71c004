"""Issue 26 (speed): a figure is drawn once per format, and a report whose inputs are unchanged is refreshed
without matplotlib: only its Parameters table (the newest run.json) is built again."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from fusemax.reports import style, write_report

SRC = Path(__file__).resolve().parents[2] / "src"
PARAMS = "<h2>Parameters and versions (run.json)</h2>"


def test_save_draws_a_figure_once_per_format_with_its_constrained_layout(tmp_path, monkeypatch):
    draws = []
    real = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: (draws.append(type(renderer).__name__),
                                                               real(fig, renderer))[1])
    fig, ax = style.new_figure((4.0, 3.0))
    ax.plot([1, 2, 3], [4, 5, 6])
    ax.set_ylabel("a long label that the layout makes room for\nover two lines")
    saved = style.save(fig, tmp_path, "f", "title")
    # savefig with a layout engine draws the whole figure silently before each format's draw: four draws
    assert len(draws) == 2
    # the layout was solved all the same: the axes moved right of matplotlib's default left edge (0.125)
    # to fit the two-line label, and the PNG keeps the figure's own size
    assert ax.get_position().x0 > 0.125 + 0.02
    assert saved.png.read_bytes()[16:24] == (400).to_bytes(4, "big") + (300).to_bytes(4, "big")
    assert saved.pdf.read_bytes().startswith(b"%PDF")


def _report(run_dir: Path, tmp_path: Path) -> Path:
    shutil.copytree(run_dir / "results", tmp_path / "results")
    return write_report(tmp_path)


def _body(index: Path) -> str:
    return index.read_text().split(PARAMS)[0]


def _run_json(folder: Path, change) -> None:
    path = folder / "results" / "run.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def test_a_new_run_of_the_same_results_refreshes_the_parameters_without_matplotlib(run_dir, tmp_path):
    index = _report(run_dir, tmp_path)
    body = _body(index)
    # what a warm rerun of the same points changes: a new run id, timings and job counts
    _run_json(tmp_path, lambda info: info.update(run_id="feedfacecafe0026", seconds=12.5,
                                                  jobs={**info["jobs"], "cached": 424242}))
    code = ("import sys; from fusemax.reports import write_report; write_report(sys.argv[1]); "
            "print(sorted(m for m in ('matplotlib', 'plotly') if m in sys.modules))")
    child = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(SRC)})
    assert child.stdout.strip() == "[]"
    text = index.read_text()
    assert "feedfacecafe0026" in text and "424242" in text
    assert _body(index) == body


def test_a_changed_hardware_redraws_the_rooflines(run_dir, tmp_path):
    index = _report(run_dir, tmp_path)
    roofline = (index.parent / "roofline-BERT.png").read_bytes()
    _run_json(tmp_path, lambda info: info["hardware"].update(dram_bandwidth=info["hardware"]["dram_bandwidth"] / 8))
    write_report(tmp_path)
    assert (index.parent / "roofline-BERT.png").read_bytes() != roofline
    assert base64.b64encode((index.parent / "roofline-BERT.png").read_bytes()).decode() in index.read_text()


@pytest.mark.parametrize("damage", ["figure replaced", "page edited", "stamp removed"])
def test_a_page_whose_figures_or_body_changed_is_built_again(run_dir, tmp_path, damage):
    index = _report(run_dir, tmp_path)
    fresh = index.read_text()
    report = index.parent
    if damage == "figure replaced":   # its inputs stamp still matches: the page must show the file there now
        shutil.copyfile(report / "fig9.png", report / "fig8.png")
    elif damage == "page edited":
        index.write_text(fresh.replace("Headline", "Headlime", 1))
    else:
        index.write_text(fresh[:fresh.index("<!-- fusemax report stamp:")] + "</body></html>")
    write_report(tmp_path)
    text = index.read_text()
    fig8 = base64.b64encode((report / "fig8.png").read_bytes()).decode()
    assert f'src="data:image/png;base64,{fig8}" alt="Fig. 8' in text
    assert "Headlime" not in text
    if damage != "figure replaced":
        assert text == fresh


def test_paper_figures_ahead_of_a_current_report_draw_nothing(run_dir, tmp_path):
    from fusemax.reports import draw_paper_figures
    index = _report(run_dir, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in index.parent.iterdir()}
    assert draw_paper_figures(tmp_path) == 0
    assert {p.name: p.stat().st_mtime_ns for p in index.parent.iterdir()} == before


def test_a_damaged_run_json_is_refused_not_served_from_the_stamp(run_dir, tmp_path):
    from fusemax.errors import FusemaxError
    _report(run_dir, tmp_path)
    (tmp_path / "results" / "run.json").write_text("[1, 2]")
    with pytest.raises(FusemaxError, match="expected a JSON object"):
        write_report(tmp_path)
