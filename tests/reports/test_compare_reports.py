"""``benchmarks/compare_reports.py``: which differences between two report folders count.

Truth: hand-written files; what may differ is what records when and from where a file was written.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_reports.py"
spec = importlib.util.spec_from_file_location("compare_reports", SCRIPT)
assert spec is not None and spec.loader is not None
compare_reports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_reports)


def report(root: Path, date: str, stamp: str, **files: bytes) -> Path:
    """``root/report`` holding a PNG, a PDF dated ``date``, a page naming ``root`` and ending with ``stamp``."""
    folder = root / "report"
    folder.mkdir(parents=True)
    (folder / "fig.png").write_bytes(b"\x89PNG pixels")
    (folder / "fig.pdf").write_bytes(b"%PDF-1.4\n<< /CreationDate (D:" + date.encode() + b") >>\nstream\n")
    (folder / "fig.inputs.sha256").write_text(stamp + "\n")
    (folder / "index.html").write_bytes(f"<p>Results folder: <code>{root}/results</code></p>\n"
                                        f"<!-- fusemax report stamp: {{\"key\": \"{stamp}\"}} -->\n"
                                        "</body></html>".encode())
    for name, data in files.items():
        (folder / name.replace("_", ".")).write_bytes(data)
    return folder


def test_dates_stamps_and_the_folder_do_not_count(tmp_path):
    a = report(tmp_path / "one", "20261207035000Z", "aaa")
    b = report(tmp_path / "two", "20261207041500Z", "bbb")
    assert compare_reports.differences(a, b) == []
    assert compare_reports.main([str(a), str(b)]) == 0


def test_content_and_missing_files_count(tmp_path):
    a = report(tmp_path / "one", "20261207035000Z", "aaa", fig2_png=b"\x89PNG one")
    b = report(tmp_path / "two", "20261207035000Z", "aaa", fig2_png=b"\x89PNG two", extra_json=b"{}")
    (b / "fig.pdf").write_bytes((b / "fig.pdf").read_bytes() + b"1 0 0 RG\n")
    assert compare_reports.differences(a, b, drawn=False) == [f"only in {b}: extra.json", "differs: fig.pdf",
                                                              "differs: fig2.png"]
    # drawn, a PDF that is no PDF cannot be the same
    assert compare_reports.differences(a, b)[1].startswith("differs: fig.pdf (not a readable PDF: ")
    assert compare_reports.main([str(a), str(b)]) == 1


def figure_pdf(title: str, fonttype: int = 42, subsets: bool = False, color: str = "black") -> bytes:
    """A small figure as PDF (its fonts of ``fonttype``, its title in ``color``), with ``subsets``: its fonts cut
    to the report's fixed glyph sets (other bytes, drawn the same)."""
    import io

    import matplotlib
    from matplotlib.figure import Figure

    from fusemax.reports.fonts import memoized_subsets
    with matplotlib.rc_context({"pdf.fonttype": fonttype}):
        fig = Figure(figsize=(3, 2))
        fig.subplots().set_title(title, color=color)
        buffer = io.BytesIO()
        if subsets:
            with memoized_subsets():
                fig.savefig(buffer, format="pdf")
        else:
            fig.savefig(buffer, format="pdf")
    return buffer.getvalue()


def test_pdfs_are_compared_as_drawn(tmp_path):
    a = report(tmp_path / "one", "20261207035000Z", "aaa", same_pdf=figure_pdf("Speedup"),
               typo_pdf=figure_pdf("Speedup"), red_pdf=figure_pdf("Speedup"), type3_pdf=figure_pdf("Speedup"))
    b = report(tmp_path / "two", "20261207035000Z", "aaa", same_pdf=figure_pdf("Speedup", subsets=True),
               typo_pdf=figure_pdf("Speedop"), red_pdf=figure_pdf("Speedup", color="red"),
               type3_pdf=figure_pdf("Speedup", fonttype=3))
    assert (a / "same.pdf").read_bytes() != (b / "same.pdf").read_bytes()   # other font subsets
    assert compare_reports.differences(a, b) == ["differs: red.pdf (pixels at 100 dpi)",
                                                 "differs: type3.pdf (fonts not TrueType: Type3)",
                                                 "differs: typo.pdf (extracted text)"]
    assert compare_reports.differences(a, b, drawn=False) == ["differs: red.pdf", "differs: same.pdf",
                                                              "differs: type3.pdf", "differs: typo.pdf"]
    assert compare_reports.main([str(a), str(b), "--bytes"]) == 1
