"""The fonts embedded in a report's PDFs, subset once per glyph set in a process.

A PDF embeds (``pdf.fonttype`` 42, TrueType) a subset of each font it uses: only the glyphs its text shows,
cut from the font file by fontTools, which reads and rewrites the font's layout tables every time (~0.1 s
whatever the glyphs). That was about 40 % of a PDF's cost, and a report asks for the same subset again and
again: 43 subsets in a full report, 22 of them distinct (every roofline figure's second font is the same
glyph, the study's prefill figures share one, Figs. 8 and 10 show the same characters).
:func:`memoized_subsets` hands matplotlib the subset it cut before for the same font file and glyphs (the
same bytes: fontTools' subset depends on nothing else), so each is cut once per process.

This module also imports matplotlib's PDF backend (and fontTools with it) with the figure modules: a drawing
pool's workers, forked after, find it imported rather than each importing it for its first PDF.
"""
from __future__ import annotations

import contextlib
import functools
import io
from typing import Any, Iterable, Iterator

import matplotlib.backends.backend_pdf  # noqa: F401  # imported once, before a pool forks (see above)
from fontTools.ttLib import TTFont
from matplotlib.backends import _backend_pdf_ps

#: How many subsets a process keeps (a report has a few dozen distinct ones, of 15-30 KB each).
MEMO_SIZE = 128

#: matplotlib's subsetter; None where matplotlib's PDF backend subsets otherwise (before 3.11: no memo).
_ORIGINAL = getattr(_backend_pdf_ps, "get_glyphs_subset", None) \
    if hasattr(_backend_pdf_ps, "SubsetResults") else None


@functools.lru_cache(maxsize=MEMO_SIZE)
def _subset(fontfile: Any, glyphs: frozenset[int]) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """matplotlib's own subset of ``fontfile`` to ``glyphs``: the font file's bytes and the glyph index map."""
    assert _ORIGINAL is not None   # installed only where matplotlib has it (:func:`memoized_subsets`)
    with _ORIGINAL(fontfile, glyphs) as result:
        return _backend_pdf_ps.font_as_file(result.font).getvalue(), tuple(result.glyph_index_map.items())


def _memoized(fontfile: Any, glyphs: Iterable[int]) -> Any:
    """``get_glyphs_subset`` served from :func:`_subset`."""
    data, index_map = _subset(fontfile, frozenset(glyphs))
    # Read back as fontTools' subsetter loads a font (no timestamp or bounds recomputed): saving it again
    # gives ``data`` byte for byte.
    font = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False)
    return _backend_pdf_ps.SubsetResults(font, dict(index_map))._as_cm()


@contextlib.contextmanager
def memoized_subsets() -> Iterator[None]:
    """While active (around a PDF ``savefig``), matplotlib's PDF backend takes each font subset from this
    process's memo, cutting only those it has not cut before. Not for threads that save PDFs concurrently:
    it swaps a matplotlib module attribute."""
    if _ORIGINAL is None or _backend_pdf_ps.get_glyphs_subset is not _ORIGINAL:
        yield   # an older matplotlib, or already active
        return
    _backend_pdf_ps.get_glyphs_subset = _memoized
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = _ORIGINAL
