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
    assert compare_reports.differences(a, b) == [f"only in {b}: extra.json", "differs: fig.pdf", "differs: fig2.png"]
    assert compare_reports.main([str(a), str(b)]) == 1
