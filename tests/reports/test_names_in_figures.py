"""Model names are drawn as written (issue 28): a model named ``$\\foo$`` ran, then ``report`` died in
matplotlib's mathtext ("Unknown symbol: \\foo")."""
from __future__ import annotations

from fusemax.cli import main


def test_a_name_with_tex_markup_is_drawn_as_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--out", str(out), "--cache", str(tmp_path / "cache"), "--quiet", "--jobs", "1",
                 "--configs", "binding", "--models", "$\\foo$:D=64,H=2,E=32,S=128", "--seq-lens", "1K"]) == 0
    assert main(["report", str(out), "-o", str(tmp_path / "report")]) == 0, capsys.readouterr().err
    assert (tmp_path / "report" / "roofline-__foo_.png").is_file()
    assert "$\\foo$" in (tmp_path / "report" / "index.html").read_text()
