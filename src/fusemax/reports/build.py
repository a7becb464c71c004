"""The full build of a report (:func:`.report.write_report` when :mod:`.current` finds the page stale): every
figure a results folder supports, as PNG + PDF (those whose inputs are unchanged are not redrawn), and the
page's body.

Figures that need data the folder lacks (the unfused baseline, ``einsums.csv``, ``end2end-*.csv``,
``pareto.csv``) are skipped with a note on the page rather than failing the report. A study folder
(``OUT/study/results``, :mod:`.study`) adds the page's Study section.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from fusemax import results as results_io
from fusemax.combine.roofline import einsum_roofline
from fusemax.errors import FusemaxError
from fusemax.fileio import make_dirs
from fusemax.names import file_stem
from fusemax.processes import worker_init
from fusemax.workload import PREFILL

from . import frames, paper, rooflines, scaling, study
from .current import REPORT_DIR, RooflineChoice, SavedFigure, Sources
from .html import body, shown
from .style import draw, inputs_key, is_current

Sections = list[tuple[str, list[SavedFigure]]]
Tables = list[tuple[str, pd.DataFrame]]


def build_page(folder: str | Path, out_dir: Path, roofline: RooflineChoice, sources: Sources
               ) -> tuple[bytes, list[SavedFigure]]:
    """Draw every figure of the results under ``folder`` (``sources``) that ``out_dir`` lacks or holds
    stale; returns the page's body (:func:`.html.body`) and the figures it shows. Raises FusemaxError as
    :func:`.report.write_report` says."""
    study_folder = sources.study
    # a study alone makes a page of its own; otherwise the paper's results must load (their errors stand)
    res = results_io.read_paper(folder) if sources.paper is not None or study_folder is None else None
    if res is None and roofline != RooflineChoice():
        raise FusemaxError("no paper results (attn-*.csv with einsums.csv) to draw rooflines from",
                           source=roofline.flag_given())
    make_dirs(out_dir)

    queued: list[tuple] = []
    fig = _queue(out_dir, queued)
    notes: list[str] = []
    sections: Sections = []
    tables: Tables = []
    chapters: list[tuple[str, list[SavedFigure], Tables, Tables]] = []
    if res is not None:
        sections, tables = _paper(res, fig, notes, roofline)
    if study_folder is not None:
        figs, study_tables, folded, study_notes = study.section(study_folder, fig)
        notes += study_notes
        chapters.append(("Study", figs, study_tables, folded))
    _draw_all(queued)
    source = res.folder if res is not None and res.folder is not None else study_folder or Path(folder)
    page = body("fusemax report", source, sections, tables, notes, chapters=chapters)
    return page.encode("utf-8"), shown(sections, chapters)


def draw_paper_figures(folder: str | Path, out: str | Path | None = None,
                       roofline: RooflineChoice = RooflineChoice(), workers: int | None = None) -> int:
    """Draw the paper's figures of ``folder`` as :func:`write_report` would (same files, same stamps), without
    the page: a later :func:`write_report` finds them current and draws only the rest. ``run_all.py``
    draws them this way, in one process (``workers=1``), while the study runs. ``workers``: processes
    (default: every core). Returns how many figures were queued."""
    res = results_io.read_paper(folder)
    out_dir = Path(out) if out is not None else Path(folder) / REPORT_DIR
    make_dirs(out_dir)
    queued: list[tuple] = []
    _paper(res, _queue(out_dir, queued), [], roofline)
    _draw_all(queued, workers)
    return len(queued)


def _queue(out_dir: Path, queued: list[tuple]) -> study.Draw:
    """A figure function that only queues (for :func:`_draw_all`, which draws them together, in parallel:
    they are independent, and drawing, Agg + PDF, is most of a cold report); what each queued figure will
    be saved as is known at once."""
    def fig(stem: str, title: str, caption: str, builder, *args) -> SavedFigure:
        queued.append((out_dir, stem, title, caption, builder, *args))
        return SavedFigure.at(out_dir, stem, title, caption)
    return fig


def _draw_all(queued: list[tuple], workers: int | None = None) -> None:
    """:func:`.style.draw` every queued figure that is not current, on ``workers`` processes (default every
    core; a pool only pays off for figures to redraw, so current ones are not sent to it)."""
    stale = [q for q in queued if not is_current(q[0], q[1], inputs_key(q[4], tuple(q[5:])))]
    workers = min(len(stale), workers or os.cpu_count() or 1)
    if workers <= 1:
        for q in stale:
            draw(*q)
        return
    # The figures with the most input cells first (more points, panels and labels: longer to draw; the study's
    # model figure takes three times a roofline's), so that the last to finish are short ones and no core
    # waits long for one figure at the end.
    stale.sort(key=_cells, reverse=True)
    # a plain pool, not the orchestrator's executor: reports stay independent of the drivers; but its
    # workers die with this process (a `kill -9` of the report must not leave them waiting for work)
    with ProcessPoolExecutor(max_workers=workers, initializer=worker_init, initargs=(os.getpid(),)) as pool:
        for future in [pool.submit(draw, *q) for q in stale]:
            future.result()


def _cells(queued: tuple) -> int:
    """How many table cells a queued figure is drawn from (the builder's frame arguments)."""
    return sum(arg.size for arg in queued[5:] if isinstance(arg, (pd.DataFrame, pd.Series)))


def _paper(res: results_io.Results, fig: study.Draw, notes: list[str], roofline: RooflineChoice
           ) -> tuple[Sections, Tables]:
    """The paper's figures (Figs. 6-12), the rooflines and the scaling figures of ``res``, and its tables."""
    source = res.folder or Path(".")
    table = frames.attn_table(res)
    paper_figs: list[SavedFigure] = []
    prefill = table[table["phase"] == PREFILL]
    # first, so that a --roofline-* value the folder lacks fails before any figure is drawn
    roof_figs, scale_figs = _rooflines(res, table, fig, notes, roofline)

    if not prefill.empty:
        paper_figs.append(fig("fig6a", "Fig. 6a: 1D array utilization",
                              "Busy-time fraction of the 1D array (util_1d, the artifact's: compute time / "
                              "latency, however few PEs work) per model and length. The PE utilization "
                              "pe_util_1d (attn-*.csv: computes / (PEs x latency x clock)) is at most this.",
                              paper.utilization, table, "1d"))
        paper_figs.append(fig("fig6b", "Fig. 6b: 2D array utilization",
                              "Busy-time fraction of the 2D array (util_2d, the artifact's). The PE "
                              "utilization pe_util_2d (attn-*.csv: 2D computes / (PEs x latency x clock)) "
                              "is at most this.",
                              paper.utilization, table, "2d"))
        if prefill["config"].isin(paper.FIG7_CONFIGS).any():
            paper_figs.append(fig("fig7", "Fig. 7: 2D array activity per Einsum",
                                  "Each 2D Einsum's compute time / latency, stacked; FL = FLAT, +C cascade, "
                                  "+A architecture, +B binding.", paper.einsum_activity, table))
    if (prefill["config"] == "unfused").any():
        paper_figs.append(fig("fig8", "Fig. 8: attention speedup over unfused",
                              "Unfused latency / configuration latency.", paper.speedup, table))
        paper_figs.append(fig("fig9", "Fig. 9: attention energy relative to unfused",
                              "Configuration energy / unfused energy.", paper.energy, table))
    else:
        notes.append("Figs. 8-9 skipped: no unfused baseline (attn-unfused.csv) in this folder.")

    e2e = frames.end_to_end(table, res.end2end)
    if res.end2end and (e2e["config"] == "unfused").any():
        paper_figs.append(fig("fig10", "Fig. 10: end-to-end speedup over unfused",
                              "Attention plus the layer's other matrix multiplies (end2end-*.csv) on each "
                              "configuration's platform.", paper.speedup, e2e))
        paper_figs.append(fig("fig11", "Fig. 11: end-to-end energy relative to unfused",
                              "Whole-layer energy / unfused whole-layer energy.", paper.energy, e2e))
    else:
        notes.append("Figs. 10-11 skipped: no end2end-flat.csv / end2end-proposal.csv with an unfused baseline.")
    if res.pareto is not None:
        front = frames.pareto_frame(res.pareto, str(source / "pareto.csv"))
        paper_figs.append(fig("fig12", "Fig. 12: area-latency Pareto front",
                              "Attention latency against chip area over the PE-array sizes (pareto.csv).",
                              paper.pareto, front))
    else:
        notes.append("Fig. 12 skipped: no pareto.csv in this folder.")

    for point in res.run.get("failed") or []:
        notes.append(f"Failed point (absent from the figures): {point.get('point')}: {point.get('error')}")
    tables = [("Headline (means over model × length)", frames.headline_table(table)),
              ("Attention latency (s)", frames.by_point(table, "latency"))]
    return ([("Paper figures (Figs. 6-12)", paper_figs), ("Rooflines", roof_figs), ("Scaling", scale_figs)],
            [(n, t) for n, t in tables if not t.empty])


def _rooflines(res: results_io.Results, table: pd.DataFrame, fig: study.Draw, notes: list[str],
               roofline: RooflineChoice) -> tuple[list[SavedFigure], list[SavedFigure]]:
    """The roofline figures ``roofline`` picks and the scaling figures: (rooflines, scaling)."""
    if res.einsums is None or res.einsums.empty:
        if roofline != RooflineChoice():
            raise FusemaxError("no einsums.csv in this folder to draw rooflines from",
                               source=roofline.flag_given())
        notes.append("Rooflines and scaling figures skipped: no einsums.csv in this folder.")
        return [], []
    roof_figs: list[SavedFigure] = []
    scale_figs: list[SavedFigure] = []
    hardware = rooflines.hardware_of(res)
    points, chosen = rooflines.choose(einsum_roofline(res.einsums, hardware), roofline)
    phases = rooflines.phase_points(res.einsums, table, hardware)
    if not (phases["kind"] == "MLP").any():
        notes.append("Rooflines show the attention phase only: no MLP Einsums (Q, K, V, Z, FFN1, FFN2) in "
                     "einsums.csv.")
    if roofline.phase is not None:
        phases = phases[phases["phase"] == roofline.phase]
    which = f" ({roofline.phase})" if roofline.phase else ""
    for model, length in chosen:
        sel = (points["model"] == model) & (points["seq_len"] == length)
        psel = (phases["model"] == model) & (phases["seq_len"] == length)
        stem = "roofline-" + file_stem(model)
        roof_figs.append(fig(stem, f"Roofline: {model} at {length}{which}",
                             "Small markers: Einsums at their own bound; large: phases at the "
                             "configuration's latency (FLOPs of the array / DRAM bytes of the phase).",
                             rooflines.roofline, points[sel], phases[psel], hardware,
                             f"{model}, {length}{which}"))
    attention = scaling.attention_phases(res.einsums, table)
    ref = rooflines.reference_length(attention)
    scale_figs.append(fig("intensity-vs-length", "Operational intensity and throughput vs context length",
                          "Attention phase per model; dotted/dash-dotted lines: 2D/1D ridge points and peaks.",
                          scaling.intensity_vs_length, attention, hardware))
    if attention["model"].nunique() > 1 and ref is not None:
        scale_figs.append(fig("model-scaling", f"Model-size scaling at {ref}",
                              "Attention metrics across the models.", scaling.model_scaling, attention, ref))
    else:
        notes.append("Model-size scaling skipped: only one model in this folder.")
    return roof_figs, scale_figs
