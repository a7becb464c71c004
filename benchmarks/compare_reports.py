"""Whether two report folders hold the same report: the same set of files, every file byte for byte, except
what records when and by which code a file was written, which no reader sees: a PDF's ``/CreationDate``, the
stamp comment ending ``index.html`` (:func:`fusemax.reports.current.page_stamp`: file times, the code's hash)
and the ``*.inputs.sha256`` stamps (the code's hash is part of each key), whose presence is still compared.
The page names the experiment folder it was drawn from (the report folder's parent), so that path is compared
as ``OUT``: two copies of one experiment's tables make the same report.

Run as ``python benchmarks/compare_reports.py A B`` (e.g. a baseline's ``OUT/report`` and a new run's); prints
one line per difference and exits 1 when there is any, 0 when the reports are the same. A change meant to make
the report faster, not different, must leave this silent.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

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


def differences(a: Path, b: Path) -> list[str]:
    """Every file only one of the folders ``a`` and ``b`` holds, and every file whose comparable bytes differ
    (paths relative to the folders, sorted)."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    out = [f"only in {a}: {p}" for p in sorted(files_a - files_b)]
    out += [f"only in {b}: {p}" for p in sorted(files_b - files_a)]
    out += [f"differs: {p}" for p in sorted(files_a & files_b) if comparable(a / p, a) != comparable(b / p, b)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a report folder")
    parser.add_argument("b", type=Path, help="the report folder to compare it with")
    args = parser.parse_args(argv)
    found = differences(args.a, args.b)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
