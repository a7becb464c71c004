"""``write_report`` redraws only the figures whose inputs changed; ``index.html`` is always rewritten."""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

from fusemax.reports import write_report

OLD = 1_000_000_000  # an mtime (2001) that any rewrite replaces


def _age(folder: Path) -> None:
    for path in folder.iterdir():
        os.utime(path, (OLD, OLD))


def _rewritten(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.stat().st_mtime != OLD}


def test_unchanged_inputs_redraw_nothing_and_a_changed_value_redraws_its_figures(run_dir, tmp_path):
    shutil.copytree(run_dir / "results", tmp_path / "results")
    index = write_report(tmp_path)
    report = index.parent
    figures = {p.stem for p in report.glob("*.png")}
    assert {"fig8", "roofline-BERT", "roofline-XLM"} <= figures

    _age(report)
    write_report(tmp_path)
    assert _rewritten(report) == {"index.html"}

    # Double XLM's unfused latency at 4K: Fig. 8 (speedup over unfused) changes; BERT's roofline does not.
    path = tmp_path / "results" / "attn-unfused.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if (row["model"], row["seq_len"]) == ("XLM", "4K"):
            row["latency"] = repr(2 * float(row["latency"]))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    # a table edited by hand no longer matches the run's manifest: say so by dropping it (see the README)
    info = json.loads((tmp_path / "results" / "run.json").read_text())
    del info["manifest"]
    (tmp_path / "results" / "run.json").write_text(json.dumps(info))
    _age(report)
    write_report(tmp_path)
    rewritten = _rewritten(report)
    assert {"fig8.png", "fig8.pdf", "index.html"} <= rewritten
    assert not {"roofline-BERT.png", "roofline-BERT.pdf"} & rewritten


def test_a_missing_file_is_redrawn(run_dir, tmp_path):
    shutil.copytree(run_dir / "results", tmp_path / "results")
    report = write_report(tmp_path).parent
    (report / "fig6a.pdf").unlink()
    _age(report)
    write_report(tmp_path)
    assert {"fig6a.png", "fig6a.pdf"} <= _rewritten(report)
    assert "fig6b.png" not in _rewritten(report)


def test_paper_figures_drawn_ahead_are_current_for_the_report(run_dir, tmp_path):
    """run_all draws the paper's figures while the study runs (draw_paper_figures): they are the very files
    write_report draws, so the report then redraws none of them, and writes the page."""
    from fusemax.reports import draw_paper_figures
    shutil.copytree(run_dir / "results", tmp_path / "results")
    queued = draw_paper_figures(tmp_path)
    report = tmp_path / "report"
    drawn = {p.stem for p in report.glob("*.png")}
    assert queued == len(drawn) and {"fig8", "roofline-BERT"} <= drawn and not (report / "index.html").exists()
    _age(report)
    write_report(tmp_path)
    assert _rewritten(report) == {"index.html"}
    assert {p.stem for p in report.glob("*.png")} == drawn
