"""``write_report``: every figure a results folder supports, as PNG + PDF, and ``report/index.html``.

This module imports neither matplotlib nor the figure modules: a report whose inputs are unchanged
(:mod:`.current`) is refreshed without them, and :mod:`.build` is imported only when something must be drawn
or the page's body built again.
"""
from __future__ import annotations

from pathlib import Path

from fusemax.fileio import write_bytes_atomic

from . import current
from .current import REPORT_DIR, RooflineChoice
from .html import tail


def write_report(folder: str | Path, out: str | Path | None = None,
                 roofline: RooflineChoice = RooflineChoice()) -> Path:
    """Draw every figure of the results under ``folder`` into ``out`` (default ``folder/report``) and
    write ``index.html`` there; returns the page's path.

    ``roofline`` picks the roofline figures' model, length and phase (default: every model at the length
    most of them have, both phases). A study folder (``folder/study/results/layer.csv``, or ``folder``
    being one) adds the Study section; a study alone makes a page of that section only. A figure whose
    input frame and style are unchanged since ``out`` last got it is not redrawn (:func:`.style.draw`); the
    page is always rewritten, and when no table, option or figure changed since it was written
    (:func:`.current.current_body`), only its Parameters table is built again, from the newest
    ``run.json``. Raises FusemaxError when ``folder`` holds neither ``attn-*.csv`` results nor a study, or
    when ``roofline`` names a model, length or phase the folder lacks."""
    out_dir = Path(out) if out is not None else Path(folder) / REPORT_DIR
    index = out_dir / "index.html"
    sources = current.sources(folder, roofline)
    kept = current.current_body(index, sources.key)
    if kept is not None:
        body, stamp = kept
    else:
        from .build import build_page  # matplotlib and the figure modules: only when something is built
        body, figures = build_page(folder, out_dir, roofline, sources)
        stamp = current.page_stamp(sources.key, body, figures)
    write_bytes_atomic(index, body + tail(sources.run, stamp).encode("utf-8"))
    return index


def draw_paper_figures(folder: str | Path, out: str | Path | None = None,
                       roofline: RooflineChoice = RooflineChoice(), workers: int | None = None) -> int:
    """:func:`.build.draw_paper_figures`, the paper's figures without the page (``run_all.py`` draws them while
    the study runs); returns how many were queued: none when ``out`` holds a current report of ``folder``
    (:func:`.current.current_body`), whose figures are then current too."""
    out_dir = Path(out) if out is not None else Path(folder) / REPORT_DIR
    if current.current_body(out_dir / "index.html", current.sources(folder, roofline).key) is not None:
        return 0
    from .build import draw_paper_figures as draw
    return draw(folder, out, roofline, workers)
