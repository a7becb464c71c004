"""Whether two report folders hold the same report: the same set of files, every file byte for byte, except
what records when and by which code a file was written, which no reader sees: a PDF's ``/CreationDate``, the
stamp comment ending ``index.html`` (:func:`fusemax.reports.current.page_stamp`: file times, the code's hash)
and the ``*.inputs.sha256`` stamps (the code's hash is part of each key), whose presence is still compared.
The page names the experiment folder it was drawn from (the report folder's parent), so that path is compared
as ``OUT``: two copies of one experiment's tables make the same report.

A PDF whose bytes differ still counts as the same when a reader cannot tell (what a change of the embedded font
subsets does, :mod:`fusemax.reports.fonts`): each page rasterizes (pdfium) to the same pixels at 100 and 200 dpi,
gives the same text with the same characters' fonts, sizes and places (pdfplumber), and every font both embed
is TrueType (Type 3 fonts are refused by paper submission systems). ``--bytes`` compares PDFs byte for byte.

Run as ``python benchmarks/compare_reports.py A B [--bytes]`` (e.g. a baseline's ``OUT/report`` and a new run's); prints
one line per difference and exits 1 when there is any, 0 when the reports are the same. A change meant to make
the report faster, not different, must leave this silent.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdfium2
from pdfminer.pdftypes import resolve1
from pdfplumber.utils.exceptions import PdfminerException

#: The PDF info entry matplotlib dates each file with (``/CreationDate (D:20260101000000Z)``).
CREATION_DATE = re.compile(rb"/CreationDate \(D:[^)]*\)")
#: The page's stamp (an HTML comment on a line of its own).
PAGE_STAMP = re.compile(rb"\n<!-- fusemax report stamp: [^\n]* -->\n")


def comparable(path: Path, report: Path) -> bytes:
    """``path``'s bytes as compared (``path`` is in the folder ``report``): a PDF without its creation date, the
    page without its stamp and with ``report``'s parent folder as ``OUT``, a figure's inputs stamp as nothing."""
    if path.name.endswith(".inputs.sha256"):
        return b""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return CREATION_DATE.sub(b"/CreationDate ()", data)
    if path.suffix == ".html":
        return PAGE_STAMP.sub(b"\n", data).replace(str(report.resolve().parent).encode(), b"OUT")
    return data


#: The resolutions (dpi) a PDF's pages are compared at.
RASTER_DPI = (100, 200)


def _pixels(pdf: Path, dpi: int) -> list[np.ndarray]:
    """Each page of ``pdf`` rasterized by pdfium at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_numpy() for page in document]
    finally:
        document.close()


def _font_kind(font: Any) -> str:
    """``TrueType`` for a simple TrueType font or a CID font with TrueType outlines (``pdf.fonttype`` 42),
    else the font's subtype (``Type3``, ``Type1``...)."""
    font = resolve1(font)
    subtype = resolve1(font.get("Subtype")).name
    if subtype == "Type0":
        kinds = {resolve1(resolve1(d).get("Subtype")).name for d in resolve1(font.get("DescendantFonts"))}
        return "TrueType" if kinds == {"CIDFontType2"} else "Type0 of " + "/".join(sorted(kinds))
    return subtype


def _text(pdf: Path) -> tuple[list[str], list[tuple], set[str]]:
    """``pdf``'s text per page, its characters (text, font, size and place, in page order) and its fonts' kinds
    (:func:`_font_kind`)."""
    with pdfplumber.open(pdf) as document:
        texts = [page.extract_text() for page in document.pages]
        chars = [(c["page_number"], c["text"], c["fontname"], round(c["size"], 3), round(c["x0"], 3),
                  round(c["top"], 3)) for page in document.pages for c in page.chars]
        kinds = {_font_kind(font) for page in document.pages
                 for font in (resolve1(page.page_obj.resources.get("Font")) or {}).values()}
    return texts, chars, kinds


def pdf_difference(a: Path, b: Path) -> str | None:
    """Why a reader can tell the PDFs ``a`` and ``b`` apart (the module's rules), or None if they cannot."""
    try:
        (texts_a, chars_a, kinds_a), (texts_b, chars_b, kinds_b) = _text(a), _text(b)
    except PdfminerException as error:
        return f"not a readable PDF: {error!r}"
    if (kinds_a | kinds_b) - {"TrueType"}:
        return "fonts not TrueType: " + ", ".join(sorted((kinds_a | kinds_b) - {"TrueType"}))
    if texts_a != texts_b:
        return "extracted text"
    if chars_a != chars_b:
        return "characters' fonts, sizes or places"
    for dpi in RASTER_DPI:
        pages_a, pages_b = _pixels(a, dpi), _pixels(b, dpi)
        if len(pages_a) != len(pages_b):
            return f"{len(pages_a)} pages against {len(pages_b)}"
        if any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(pages_a, pages_b)):
            return f"pixels at {dpi} dpi"
    return None


def differences(a: Path, b: Path, drawn: bool = True) -> list[str]:
    """Every file only one of the folders ``a`` and ``b`` holds, and every file whose comparable bytes differ
    (paths relative to the folders, sorted); with ``drawn``, a PDF that differs only in bytes a reader cannot
    tell apart (:func:`pdf_difference`) counts as the same, one that differs more says why."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    out = [f"only in {a}: {p}" for p in sorted(files_a - files_b)]
    out += [f"only in {b}: {p}" for p in sorted(files_b - files_a)]
    for p in sorted(files_a & files_b):
        if comparable(a / p, a) == comparable(b / p, b):
            continue
        if not (drawn and p.suffix == ".pdf"):
            out.append(f"differs: {p}")
        elif (why := pdf_difference(a / p, b / p)) is not None:
            out.append(f"differs: {p} ({why})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a report folder")
    parser.add_argument("b", type=Path, help="the report folder to compare it with")
    parser.add_argument("--bytes", action="store_true", help="PDFs byte for byte too (not only as drawn)")
    args = parser.parse_args(argv)
    found = differences(args.a, args.b, drawn=not args.bytes)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
