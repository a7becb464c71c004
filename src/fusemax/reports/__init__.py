"""Reports: the paper's Figures 6-12, rooflines, intensity-vs-length and model-size scaling, and an HTML
page, all drawn from a results folder's CSVs (never by re-running the engine).

    from fusemax.reports import write_report
    write_report("workspace/outputs/paper")       # -> workspace/outputs/paper/report/index.html

Modules: :mod:`.style` (the one plot style), :mod:`.frames` (CSV -> plotted tables), :mod:`.bars`,
:mod:`.paper` (Figs. 6-12), :mod:`.rooflines`, :mod:`.scaling`, :mod:`.study` (the study folder
``OUT/study/results``: the whole layer across models, lengths and phases), :mod:`.html`, :mod:`.build`
(draws), :mod:`.current` (what is already drawn) and :mod:`.report` (the entry points; importing this
package imports no matplotlib). Figure builders return matplotlib figures (Agg backend) so notebooks can
redraw them.
"""
from .current import RooflineChoice
from .report import draw_paper_figures, write_report

__all__ = ["RooflineChoice", "draw_paper_figures", "write_report"]
