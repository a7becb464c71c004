"""The PDFs' font subsets (:mod:`fusemax.reports.fonts`): cut to fixed glyph sets once per process, a PDF's bytes
depend on its own text only, and readers see matplotlib's own PDF.

Truth: the PDF matplotlib writes with no memo active, rasterized by pdfium and read back by pdfplumber;
fontTools' own count of subsetting runs; the PDF's font dictionaries.
"""
from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pdfplumber
import pypdfium2
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


def pixels(data: bytes, dpi: int) -> np.ndarray:
    document = pypdfium2.PdfDocument(data)
    try:
        return document[0].render(scale=dpi / 72).to_numpy()
    finally:
        document.close()


def text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as document:
        return document.pages[0].extract_text()


def embedded_fonts(data: bytes) -> list[bytes]:
    """Each font dictionary's subtype and, for a Type 0 font, its descendant's (matplotlib writes them plain)."""
    return re.findall(rb"/Subtype /(Type0|Type3|Type1|TrueType|CIDFontType[02])", data)


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


# "ﬁ" is shaped from "fi" (a ligature: a subset of its own); "é" and "Ω" are outside the fixed sets
TITLES = ["Speedup over unfused, 1K-1M", "Latency × 10⁻³ s, 4 configs", "Fine-tuned café", "Ω per µs"]


@pytest.mark.parametrize("title", TITLES)
def test_readers_see_matplotlibs_own_pdf(subset_runs, title):
    plain = pdf(title)
    with fonts.memoized_subsets():
        pdf("Energy relative to unfused")   # something else first: it must not matter
        memo = pdf(title)
    for dpi in (100, 200):
        assert np.array_equal(pixels(memo, dpi), pixels(plain, dpi))
    assert text(memo) == text(plain)
    assert title.replace("fi", "ﬁ") in text(memo) or title in text(memo)
    # TrueType only (pdf.fonttype 42): Type 0 fonts with TrueType (CIDFontType2) descendants
    assert set(embedded_fonts(memo)) == {b"Type0", b"CIDFontType2"}
    assert b"/FontFile2" in memo


def test_a_pdf_depends_on_its_own_text_only(subset_runs):
    with fonts.memoized_subsets():
        alone = pdf(TITLES[0])
    fonts._subset.cache_clear()
    with fonts.memoized_subsets():
        for title in reversed(TITLES[1:]):   # other glyphs, other fixed sets and exact subsets cut before
            pdf(title)
        after = pdf(TITLES[0])
    assert after == alone


def test_the_fixed_sets_are_cut_once(subset_runs):
    with fonts.memoized_subsets():
        pdf("Energy 10K, 10⁻³")      # characters below U+0100 and above: the two fixed sets
        assert len(subset_runs) == 2
        pdf("Speedup × 4, fine")     # other glyphs, all in those sets: no new cut
        pdf("Latency − 2¹⁰")
        assert len(subset_runs) == 2
        pdf("Café")                  # é is in neither: an exact subset of its own
        assert len(subset_runs) == 3
    # the memo is scoped: matplotlib's own subsetter is back
    assert _backend_pdf_ps.get_glyphs_subset is fonts._ORIGINAL
    pdf("Energy 10K")
    assert len(subset_runs) > 3


def test_fixed_sets_cover_the_reports_characters():
    superscripts = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"   # every log-axis exponent (style.PowerFormatter)
    covered = "".join(fonts.SUPERSETS)
    assert all(c in covered for c in superscripts + "×−" + "".join(map(chr, range(0x20, 0x7F))))


def png(title: str) -> bytes:
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(3, 2))
        ax = fig.subplots()
        ax.plot([1, 10, 100], [3, 1, 2])
        ax.set_title(title)
        ax.legend(["two\nlines"])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture
def table_reads(monkeypatch) -> list[str]:
    """The name of every font table matplotlib's text layout reads from FreeType, from a clean memo."""
    reads: list[str] = []

    class Counted:
        def __init__(self, font):
            self.font = font

        def get_sfnt_table(self, name):
            reads.append(name)
            return self.font.get_sfnt_table(name)

        def __getattr__(self, name):
            return getattr(self.font, name)
    real, counted = fonts._GET_FONT, {}

    def get_font(*args, **kwargs):   # one per font, as matplotlib's get_font keeps one per font file
        font = real(*args, **kwargs)
        return counted.setdefault(font, Counted(font))
    monkeypatch.setattr(fonts, "_GET_FONT", get_font)
    monkeypatch.setattr(fonts._TEXT, "get_font", get_font)
    fonts._tables_read_once.cache_clear()
    yield reads
    fonts._tables_read_once.cache_clear()


@pytest.mark.skipif(fonts._GET_FONT is None, reason="a matplotlib whose text module reads no font tables")
def test_font_tables_are_read_once_and_draw_the_same(table_reads):
    plain = png("Latency (s)")
    assert len(table_reads) > 10   # matplotlib reads them for every string
    table_reads.clear()
    with fonts.font_lookups_memoized():
        memo = png("Latency (s)")
        png("Energy (J)")
    assert memo == plain
    assert sorted(table_reads) == sorted(set(table_reads))   # each table once
    assert fonts._TEXT.get_font is fonts._GET_FONT           # scoped: matplotlib's own again


def test_font_files_are_looked_up_once_per_properties(monkeypatch):
    from matplotlib.font_manager import FontManager, FontProperties, fontManager
    lookups: list[str] = []
    original = FontManager._find_fonts_by_props

    def counted(self, prop, *args, **kwargs):
        lookups.append(str(prop))
        return original(self, prop, *args, **kwargs)
    monkeypatch.setattr(FontManager, "_find_fonts_by_props", counted)
    plain = png("Latency (s)")
    assert len(lookups) > 10   # every string looks its font up
    lookups.clear()
    with fonts.font_lookups_memoized():
        assert png("Latency (s)") == plain
        assert sorted(lookups) == sorted(set(lookups))   # each font properties once
        # properties changed after a look-up are looked up again (the memo keeps a copy of what it looked up)
        prop = FontProperties(family="DejaVu Sans", size=9)
        sans = fontManager._find_fonts_by_props(prop)
        prop.set_family("DejaVu Serif")
        assert fontManager._find_fonts_by_props(prop) != sans
        assert "DejaVuSerif" in str(fontManager._find_fonts_by_props(prop)[0])
    assert "_find_fonts_by_props" not in vars(fontManager)   # scoped: the manager's own method again
