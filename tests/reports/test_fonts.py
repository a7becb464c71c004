"""The PDF font-subset memo (:mod:`fusemax.reports.fonts`): the PDFs are matplotlib's own, byte for byte, and a
glyph set is subset once per process.

Truth: the PDF matplotlib writes with no memo active, and fontTools' own count of subsetting runs.
"""
from __future__ import annotations

import io
import re

import matplotlib
import pytest
from fontTools import subset
from matplotlib.backends import _backend_pdf_ps
from matplotlib.figure import Figure

from fusemax.reports import fonts
from fusemax.reports.style import RC

pytestmark = pytest.mark.skipif(fonts._ORIGINAL is None, reason="matplotlib < 3.11 subsets without the memo")


def pdf(title: str) -> bytes:
    """A small report-style figure as PDF (TrueType fonts embedded), its creation date blanked."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(3, 2))
        ax = fig.subplots()
        ax.plot([1, 10, 100], [3, 1, 2])
        ax.set_xscale("log")
        ax.set_title(title)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf")
    return re.sub(rb"/CreationDate \(D:[^)]*\)", b"", buffer.getvalue())


@pytest.fixture
def subset_runs(monkeypatch) -> list[int]:
    """One entry per fontTools subsetting run, from a clean memo."""
    runs: list[int] = []
    original = subset.Subsetter.subset

    def counted(self, font):
        runs.append(1)
        return original(self, font)
    monkeypatch.setattr(subset.Subsetter, "subset", counted)
    fonts._subset.cache_clear()
    return runs


def test_memoized_pdfs_are_matplotlibs_own(subset_runs):
    plain = pdf("Speedup over unfused, 1K-1M")
    assert b"/FontFile2" in plain   # TrueType embedded: the subset the memo serves
    with fonts.memoized_subsets():
        first = pdf("Speedup over unfused, 1K-1M")    # cut, and kept
        second = pdf("Speedup over unfused, 1K-1M")   # served from the memo
    assert first == plain and second == plain


def test_a_glyph_set_is_subset_once(subset_runs):
    with fonts.memoized_subsets():
        pdf("Energy 10K")
        after_first = len(subset_runs)
        pdf("Energy 10K")         # the same glyphs: no new run
        assert len(subset_runs) == after_first >= 1
        pdf("Latency")            # other glyphs: cut anew
        assert len(subset_runs) > after_first
    # the memo is scoped: matplotlib's own subsetter is back
    assert _backend_pdf_ps.get_glyphs_subset is fonts._ORIGINAL
    pdf("Energy 10K")
    assert len(subset_runs) > after_first + 1
