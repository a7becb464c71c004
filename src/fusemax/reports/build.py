"""``write_report``: every figure a results folder supports, as PNG + PDF, and ``report/index.html``.

Figures that need data the folder lacks (the unfused baseline, ``einsums.csv``, ``end2end-*.csv``,
``pareto.csv``) are skipped with a note on the page rather than failing the report.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from fusemax import results as results_io
from fusemax.experiments.headline import headline
from fusemax.experiments.roofline import einsum_roofline

from . import frames, paper, rooflines, scaling
from .html import page
from .style import SavedFigure, draw

REPORT_DIR = "report"


def headline_table(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's headline (mean speedup and energy ratio of each FuseMax step over FLAT and unfused)."""
    rows = [SimpleNamespace(**r) for r in table[["config", "model", "seq_len", "phase", "latency", "energy"]]
            .to_dict("records")]
    out = []
    for config in ("cascade", "arch", "binding"):
        for h in headline(rows, config=config):
            out.append({"configuration": h.config, "baseline": h.baseline, "phase": h.phase, "points": h.points,
                        "mean speedup": h.mean_speedup, "mean energy ratio": h.mean_energy_ratio})
    return pd.DataFrame(out).set_index("configuration") if out else pd.DataFrame()


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Draw every figure of the results under ``folder`` into ``out`` (default ``folder/report``) and
    write ``index.html`` there; returns the page's path. A figure whose input frame and style are unchanged
    since ``out`` last got it is not redrawn (:func:`.style.draw`); the page is always rewritten. Raises
    FusemaxError when ``folder`` holds no ``attn-*.csv`` results."""
    res = results_io.load(folder)
    source = res.folder or Path(folder)
    out_dir = Path(out) if out is not None else Path(folder) / REPORT_DIR
    table = frames.attn_table(res)
    notes: list[str] = []
    paper_figs: list[SavedFigure] = []
    roof_figs: list[SavedFigure] = []
    scale_figs: list[SavedFigure] = []
    prefill = table[table["phase"] == "prefill"]
    out_dir.mkdir(parents=True, exist_ok=True)

    def fig(stem: str, title: str, caption: str, builder, *args) -> SavedFigure:
        return draw(out_dir, stem, title, caption, builder, *args)[0]

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

    if res.einsums is not None and not res.einsums.empty:
        hardware = rooflines.hardware_of(res)
        points = einsum_roofline(res.einsums, hardware)
        phases = rooflines.phase_points(res.einsums, table, hardware)
        if not (phases["kind"] == "MLP").any():
            notes.append("Rooflines show the attention phase only: no MLP Einsums (Q, K, V, Z, FFN1, FFN2) in "
                         "einsums.csv.")
        attention = scaling.attention_phases(res.einsums, table)
        ref = scaling.reference_length(attention)
        for model in dict.fromkeys(points["model"]):
            sel = (points["model"] == model) & (points["seq_len"] == ref)
            if not sel.any():
                continue
            psel = (phases["model"] == model) & (phases["seq_len"] == ref)
            stem = "roofline-" + "".join(ch if ch.isalnum() else "_" for ch in model)
            roof_figs.append(fig(stem, f"Roofline: {model} at {ref}",
                                 "Small markers: Einsums at their own bound; large: phases at the "
                                 "configuration's latency (FLOPs of the array / DRAM bytes of the phase).",
                                 rooflines.roofline, points[sel], phases[psel], hardware, f"{model}, {ref}"))
        scale_figs.append(fig("intensity-vs-length", "Operational intensity and throughput vs context length",
                              "Attention phase per model; dotted/dash-dotted lines: 2D/1D ridge points and peaks.",
                              scaling.intensity_vs_length, attention, hardware))
        if attention["model"].nunique() > 1:
            scale_figs.append(fig("model-scaling", f"Model-size scaling at {ref}",
                                  "Attention metrics across the models.", scaling.model_scaling, attention, ref))
        else:
            notes.append("Model-size scaling skipped: only one model in this folder.")
    else:
        notes.append("Rooflines and scaling figures skipped: no einsums.csv in this folder.")
    for point in res.run.get("failed") or []:
        notes.append(f"Failed point (absent from the figures): {point.get('point')}: {point.get('error')}")

    tables = [("Headline (means over model × length)", headline_table(table)),
              ("Attention latency (s)", frames.by_point(table, "latency"))]
    index = out_dir / "index.html"
    index.write_text(page("fusemax report", source, [("Paper figures (Figs. 6-12)", paper_figs),
                                                           ("Rooflines", roof_figs),
                                                           ("Scaling", scale_figs)],
                          [(n, t) for n, t in tables if not t.empty], notes, res.run), encoding="utf-8")
    return index
