"""The report's fonts: the subsets its PDFs embed, cut once per process, and font tables read once.

A PDF embeds (``pdf.fonttype`` 42, TrueType) subsets of each font it uses, cut from the font file by
fontTools, which reads and rewrites the font's layout tables every time (~0.1 s whatever the glyphs). Cut
to each figure's own glyphs, that was about 40 % of a PDF's cost (31 distinct subsets for 29 figures). So a
PDF's subset is cut to a fixed glyph set instead, the first of :data:`SUPERSETS` that holds the glyphs the
PDF uses (all the report's own text needs), and each fixed set is cut once per font file and process. A
figure whose text needs a glyph outside them (a model named in another script) embeds its exact subset, as
matplotlib would. Which subset a PDF embeds depends only on its own text, and a subset is a pure function of
the font file and the glyphs, so a PDF's bytes never depend on what the process drew before. The bigger
subsets make a PDF about 8 KB larger (31 KB on average before); viewers draw and extract the same text from
it (matplotlib writes the same glyph widths and Unicode map, and draws only the glyphs the text uses).

For every string it measures or draws, matplotlib looks up the font files of the text's font properties (24 µs
through its font manager's caches, and its renderers look them up again) and reads two of the font's tables
(``OS/2`` or ``hhea``, and ``head``: 46 µs through FreeType): 15,000 strings, 1.5 s for the 29 figures.
:func:`font_lookups_memoized` serves both from memos while a figure is saved.

This module also imports matplotlib's PDF backend (and fontTools with it) with the figure modules: a drawing
pool's workers, forked after, find it imported rather than each importing it for its first PDF.
"""
from __future__ import annotations

import contextlib
import functools
import io
from typing import Any, Iterable, Iterator

import matplotlib.backends.backend_pdf  # imported once, before a pool forks (see above)
import matplotlib.font_manager
import matplotlib.text
from fontTools.ttLib import TTFont
from matplotlib.backends import _backend_pdf_ps
from matplotlib.font_manager import get_font

#: The fixed glyph sets, by their characters, that a PDF's subsets of a font are cut to (the first that holds
#: a subset's glyphs). Every character the report's text writes is in one: printable ASCII, the superscripts of
#: log-axis labels (:class:`.style.PowerFormatter`), matplotlib's minus sign, the labels' symbols, and the
#: ligatures text shaping forms ("fi" is drawn as one glyph). matplotlib's PDF backend puts the characters below
#: U+0100 in a font's first subset and the others, and ligatures, in a second one (it sizes subsets by
#: ``ps.fonttype``): hence the first two sets; the third, their union, serves a first subset holding both.
#: Fixed, so that a PDF's subsets depend on its own text only.
_LATIN1 = "".join(map(chr, range(0x20, 0x7F))) + "¹²³×·µ"
_BEYOND = "⁰⁴⁵⁶⁷⁸⁹⁻−–" + "ﬀﬁﬂﬃﬄ"
SUPERSETS = (_LATIN1, _BEYOND, _LATIN1 + _BEYOND)

#: How many subsets a process keeps: :data:`SUPERSETS`' for each font file, and the exact subsets of figures
#: whose text needs other glyphs (up to 40 KB each).
MEMO_SIZE = 32

#: matplotlib's subsetter; None where matplotlib's PDF backend subsets otherwise (before 3.11: no memo).
_ORIGINAL = getattr(_backend_pdf_ps, "get_glyphs_subset", None) \
    if hasattr(_backend_pdf_ps, "SubsetResults") else None


@functools.lru_cache(maxsize=MEMO_SIZE)
def superset_glyphs(fontfile: Any) -> tuple[frozenset[int], ...]:
    """The glyph indices of each of :data:`SUPERSETS` in ``fontfile`` (of the characters it has)."""
    charmap = get_font(fontfile).get_charmap()
    return tuple(frozenset(charmap[ord(c)] for c in chars if ord(c) in charmap) for chars in SUPERSETS)


def cut_glyphs(fontfile: Any, glyphs: Iterable[int]) -> frozenset[int]:
    """The glyphs a subset of ``fontfile`` holding ``glyphs`` is cut to: the first of its
    :func:`superset_glyphs` that holds them all, else ``glyphs`` themselves."""
    glyphs = frozenset(glyphs)
    return next((fixed for fixed in superset_glyphs(fontfile) if glyphs <= fixed), glyphs)


@functools.lru_cache(maxsize=MEMO_SIZE)
def _subset(fontfile: Any, glyphs: frozenset[int]) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """matplotlib's own subset of ``fontfile`` to ``glyphs``: the font file's bytes and the glyph index map."""
    assert _ORIGINAL is not None   # installed only where matplotlib has it (:func:`memoized_subsets`)
    with _ORIGINAL(fontfile, glyphs) as result:
        return _backend_pdf_ps.font_as_file(result.font).getvalue(), tuple(result.glyph_index_map.items())


def _memoized(fontfile: Any, glyphs: Iterable[int]) -> Any:
    """``get_glyphs_subset`` served from :func:`_subset`, cut to :func:`cut_glyphs`."""
    data, index_map = _subset(fontfile, cut_glyphs(fontfile, glyphs))
    # Read back as fontTools' subsetter loads a font (no timestamp or bounds recomputed): saving it again
    # gives ``data`` byte for byte.
    font = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False)
    return _backend_pdf_ps.SubsetResults(font, dict(index_map))._as_cm()


@contextlib.contextmanager
def memoized_subsets() -> Iterator[None]:
    """While active (around a PDF ``savefig``), matplotlib's PDF backend embeds each font's subsets cut to
    :func:`cut_glyphs`, each cut only the first time in this process. Not for threads that save PDFs
    concurrently: it swaps a matplotlib module attribute."""
    if _ORIGINAL is None or _backend_pdf_ps.get_glyphs_subset is not _ORIGINAL:
        yield   # an older matplotlib, or already active
        return
    _backend_pdf_ps.get_glyphs_subset = _memoized
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = _ORIGINAL


class _TablesReadOnce:
    """A font (matplotlib's ``FT2Font``) whose sfnt tables are each read from FreeType once; everything else
    is the font's own."""

    def __init__(self, font: Any) -> None:
        self._font = font
        self._tables: dict[str, Any] = {}

    def get_sfnt_table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = self._font.get_sfnt_table(name)
        return self._tables[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._font, name)


@functools.lru_cache(maxsize=MEMO_SIZE)
def _tables_read_once(font: Any) -> _TablesReadOnce:
    # matplotlib's get_font keeps one FT2Font per font file, so one wrapper per font it returns
    return _TablesReadOnce(font)


def _get_font(*args: Any, **kwargs: Any) -> Any:
    return _tables_read_once(_GET_FONT(*args, **kwargs))


#: matplotlib's text module, and its font getter (which it calls to read the tables of a text's font).
_TEXT: Any = matplotlib.text
_GET_FONT: Any = getattr(_TEXT, "get_font", None)


@contextlib.contextmanager
def font_lookups_memoized() -> Iterator[None]:
    """While active (around a figure's layout and saves), matplotlib finds the font files of each set of font
    properties once (in a memo of this block: font rc parameters are fixed while a figure is saved), and its
    text layout reads each font table from this process's memo: the same values, looked up once. Not for
    threads that lay text out concurrently: it swaps attributes of matplotlib's text module and font
    manager."""
    manager: Any = matplotlib.font_manager.fontManager
    if (_GET_FONT is None or _TEXT.get_font is not _GET_FONT
            or "_find_fonts_by_props" in vars(manager) or not hasattr(manager, "_find_fonts_by_props")):
        yield   # a matplotlib that looks fonts up otherwise, or already active
        return
    find = manager._find_fonts_by_props
    found: dict[tuple, Any] = {}

    def find_once(prop: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(prop, matplotlib.font_manager.FontProperties):
            return find(prop, *args, **kwargs)   # a pattern or a path: looked up as matplotlib would
        key = (prop, args, tuple(sorted(kwargs.items())))
        if key not in found:   # keyed by a copy: a caller may change its properties later
            found[(prop.copy(), *key[1:])] = find(prop, *args, **kwargs)
        return found[key]
    manager._find_fonts_by_props = find_once
    _TEXT.get_font = _get_font
    try:
        yield
    finally:
        _TEXT.get_font = _GET_FONT
        del manager._find_fonts_by_props
