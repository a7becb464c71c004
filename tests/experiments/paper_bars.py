"""Bar heights read from the paper's vector figures (the artifact's ``figs/fig6a|6b|8|9.pdf``).

Each of these figures has one panel per model (BERT, TrXL, T5, XLM, left to right), six length groups per
panel and five bars per group (Unfused, FLAT, +Cascade, +Architecture, +Binding, left to right). The bars
are filled rectangles whose coordinates the PDF stores to 1e-4 pt, so heights are exact to about 1e-5.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

MODELS = ("BERT", "TrXL", "T5", "XLM")
LENGTHS = ("1K", "4K", "16K", "64K", "256K", "1M")
CONFIGS = ("unfused", "flat", "cascade", "arch", "binding")


def _colour(rect: dict) -> tuple[float, ...]:
    colour = rect["non_stroking_color"]  # a grey level or an RGB tuple
    return tuple(colour) if isinstance(colour, (tuple, list)) else (float(colour),)


def bar_heights(pdf: Path) -> dict[tuple[str, str, str], float]:
    """(model, length, config) -> bar height in points above the panel's baseline."""
    pdfplumber = pytest.importorskip("pdfplumber", reason="pdfplumber reads the paper's figures (test extra)")
    with pdfplumber.open(pdf) as doc:
        rects = doc.pages[0].rects
    panels = sorted((r for r in rects if _colour(r) == (1.0,) and r["x0"] > 0),
                    key=lambda r: r["x0"])  # the white axes backgrounds, not the page
    assert len(panels) == len(MODELS), f"{pdf}: expected {len(MODELS)} panels, found {len(panels)}"
    bars = defaultdict(list)
    for r in rects:
        for model, panel in zip(MODELS, panels):
            # legend swatches sit right of the last panel; bars stand on the panel's bottom edge
            if panel["x0"] <= r["x0"] < panel["x1"] and abs(r["bottom"] - panel["bottom"]) < 1e-3 and r is not panel:
                bars[model].append(r)
    out = {}
    for model in MODELS:
        row = sorted(bars[model], key=lambda r: r["x0"])
        assert len(row) == len(LENGTHS) * len(CONFIGS), f"{pdf}: {len(row)} bars in the {model} panel"
        colours = [_colour(r) for r in row]
        assert colours == colours[:len(CONFIGS)] * len(LENGTHS), f"{pdf}: bars out of the legend's order"
        for i, r in enumerate(row):
            out[(model, LENGTHS[i // len(CONFIGS)], CONFIGS[i % len(CONFIGS)])] = r["bottom"] - r["top"]
    return out
