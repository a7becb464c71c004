"""Log-axis tick labels read as powers (issue ticks26): with ``text.parse_math`` off, matplotlib's default
log formatter printed its mathtext source (``$\\mathdefault{10^{14}}$``) on every log axis of the report."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fusemax.reports import study
from fusemax.reports.style import new_figure, save, styled


@styled
def _log_panel(lo: float, hi: float, base: float = 10) -> Figure:
    """A figure as a report builder draws one: a line from ``lo`` to ``hi`` on log axes of ``base``."""
    fig, ax = new_figure((4.0, 3.0))
    ax.plot([lo, hi], [lo, hi])
    ax.set_xscale("log", base=base)
    ax.set_yscale("log", base=base)
    return fig


def _labels(fig, which: str) -> dict[float, str]:
    """Tick value -> label text of the first axes' ``which`` axis as drawn (major and minor, labelled ones)."""
    FigureCanvasAgg(fig).draw()
    axis = fig.axes[0].xaxis if which == "x" else fig.axes[0].yaxis
    coord = 0 if which == "x" else 1
    return {float(t.get_position()[coord]): t.get_text() for t in axis.get_ticklabels(which="both")
            if t.get_text()}


@pytest.mark.parametrize(("lo", "hi", "base", "want"), [
    (1e10, 1e14, 10, {1e10: "10¹⁰", 1e11: "10¹¹", 1e12: "10¹²", 1e13: "10¹³", 1e14: "10¹⁴"}),
    (0.3, 30.0, 10, {0.1: "10⁻¹", 1.0: "10⁰", 10.0: "10¹"}),
    # less than a decade: matplotlib labels some minor ticks too, as coefficient x power
    (2e-3, 8e-3, 10, {2e-3: "2×10⁻³", 4e-3: "4×10⁻³"}),
    # the study's context-length axes (log base 2)
    (2 ** 10, 2 ** 12, 2, {1024.0: "2¹⁰", 2048.0: "2¹¹", 4096.0: "2¹²"}),
])
def test_log_ticks_are_plain_powers(lo, hi, base, want):
    fig = _log_panel(lo, hi, base)
    for which in ("x", "y"):
        labels = _labels(fig, which)
        assert not [text for text in labels.values() if "$" in text or "\\" in text], labels
        for value, text in want.items():
            assert [t for v, t in labels.items() if v == pytest.approx(value)] == [text], (which, labels)


def test_a_builders_own_tick_labels_are_kept():
    @styled
    def lengths():
        fig, ax = new_figure((4.0, 3.0))
        ax.plot([1024, 4096], [1.0, 2.0])
        ax.set_xscale("log", base=2)
        ax.set_xticks([1024, 4096], ["1K", "4K"])
        ax.minorticks_off()
        return fig
    assert _labels(lengths(), "x") == {1024.0: "1K", 4096.0: "4K"}


def test_report_pdfs_show_powers_in_truetype_fonts(report_index):
    """The roofline (2D peak 1.23e14 FLOP/s, so a 10^14 tick) as written to PDF: its text has the powers and no
    mathtext source, and every font it embeds is TrueType (Type 42); submission systems refuse Type 3."""
    pdfplumber = pytest.importorskip("pdfplumber", reason="pdfplumber reads the report's PDFs (test extra)")
    from pdfminer.pdftypes import resolve1  # pdfplumber's PDF parser
    with pdfplumber.open(report_index.parent / "roofline-BERT.pdf") as doc:
        page = doc.pages[0]
        text = page.extract_text()
        fonts = [resolve1(font) for font in resolve1(page.page_obj.resources["Font"]).values()]
        subtypes = {font["Subtype"].name for font in fonts}
        descendants = {resolve1(d)["Subtype"].name for font in fonts
                       for d in resolve1(font.get("DescendantFonts", []))}
    assert "10¹⁴" in text and "10¹²" in text
    assert "$" not in text and "mathdefault" not in text
    assert subtypes and subtypes <= {"Type0", "TrueType"}, subtypes
    assert descendants <= {"CIDFontType2"}, descendants   # Type0 over TrueType outlines, never Type3


def test_whole_model_figure_keeps_its_layout(tmp_path):
    """The report's study-model figure (six models, TPOT within a decade: labels such as 4.55e-3 on each
    panel's y axis): its mathtext source took the 3.2-inch panels' width and matplotlib gave up the constrained
    layout ("axes sizes collapsed to zero"). Plain powers fit."""
    lengths = ["1K", "2K", "4K", "8K"]
    rows = [(model, config, n, 1, 10.0 ** (i - 5 + j) * (1 + k), 4.55e-3 * 10 ** i * (1 + 0.02 * j + 0.01 * k))
            for i, model in enumerate(["A", "B", "C", "D", "E", "F"])
            for k, config in enumerate(["unfused", "flat", "binding"]) for j, n in enumerate(lengths)]
    fig = study.ttft_tpot(pd.DataFrame(rows, columns=["model", "config", "seq_len", "batch", "ttft", "tpot"]),
                          "whole model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the collapse is only a warning
        save(fig, tmp_path, "study-model", "whole model")
    tpot_a = [t.get_text() for t in fig.axes[6].yaxis.get_ticklabels(which="both")]   # model A's TPOT panel
    assert any(text.endswith("×10⁻³") for text in tpot_a), tpot_a   # the long labels are there, and fit
    assert min(ax.get_position().width for ax in fig.axes) > 0.05


def test_interactive_log_axes_use_si_prefixes_not_billions():
    """plotly writes 1e11 on a log axis as "100B" by default (B = billion), which on a FLOP/s or bytes axis reads
    as a unit; the interactive spec asks for SI prefixes ("100G") on log axes, and leaves linear axes alone."""
    from matplotlib.figure import Figure

    from fusemax.reports.interactive import spec
    fig = Figure()
    log_ax, lin_ax = fig.subplots(1, 2)
    log_ax.loglog([1e9, 1e13], [1e10, 1e14])
    lin_ax.plot([1, 2], [3, 4])
    layout = spec(fig, "t")["layout"]
    log_axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and v.get("type") == "log"]
    linear = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and v.get("type") == "linear"]
    assert len(log_axes) == 2 and all(a["exponentformat"] == "SI" for a in log_axes)
    assert len(linear) == 2 and all("exponentformat" not in a for a in linear)
