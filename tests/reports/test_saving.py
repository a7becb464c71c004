"""How :func:`fusemax.reports.style.save` renders: the layout and the PNG share one Agg renderer (each string is
measured once), and the PNG is the one matplotlib draws on a figure laid out on its own renderer.

Truth: matplotlib's own path (layout solved with the renderer matplotlib picks for a bare figure, then
``savefig``), and the renderer matplotlib hands each text measurement.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import RendererAgg

from fusemax.reports.style import RC, new_figure, save, styled


@styled
def bars():
    fig, ax = new_figure((4.0, 2.5))
    ax.bar([0, 1, 2], [3.0, 1.0, 2.0], label="FLAT")
    ax.set_xticks([0, 1, 2], ["1K", "4K", "16K"])
    ax.set_ylabel("Speedup over unfused")
    ax.set_title("Fig. 8 in small")
    fig.legend(loc="outside right center")
    return fig


def test_png_is_matplotlibs_own(tmp_path):
    saved = save(bars(), tmp_path, "fig", "Fig")
    fig = bars()
    with matplotlib.rc_context(RC):
        fig.get_layout_engine().execute(fig)   # on the renderer matplotlib makes for a bare figure
        fig.set_layout_engine(None)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    assert saved.png.read_bytes() == buffer.getvalue()


def test_layout_and_png_measure_text_with_one_renderer(tmp_path: Path, monkeypatch):
    measured: list[tuple[int, str]] = []
    original = RendererAgg.get_text_width_height_descent

    def counted(self, s, prop, ismath):
        measured.append((id(self), s))
        return original(self, s, prop, ismath)
    monkeypatch.setattr(RendererAgg, "get_text_width_height_descent", counted)
    save(bars(), tmp_path, "fig", "Fig")
    assert {s for _, s in measured} >= {"1K", "Speedup over unfused", "Fig. 8 in small"}
    assert len({renderer for renderer, _ in measured}) == 1
    assert len(measured) == len(set(measured))   # no string measured twice
