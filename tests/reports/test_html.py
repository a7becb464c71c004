"""The HTML page: every figure inlined, the CLI, and a headless Chromium screenshot without console errors."""
from __future__ import annotations

import base64
import re
import shutil
import subprocess

import matplotlib.image as mpimg
import pytest

from fusemax.cli import main


def test_page_inlines_every_figure(report_index):
    text = report_index.read_text()
    folder = report_index.parent
    stems = {p.stem for p in folder.glob("*.png")}
    assert {"fig6a", "fig6b", "fig7", "fig8", "fig9", "roofline-BERT", "intensity-vs-length"} <= stems
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="[^"]*" data-figure="([^"]+)"', text)
    assert {stem for _, stem in images} == stems
    for data, stem in images:
        assert base64.b64decode(data) == (folder / f"{stem}.png").read_bytes()
        assert f'href="{stem}.pdf"' in text
    assert "Fig. 12 skipped" in text and "Figs. 10-11 skipped" in text
    assert "hardware.dram_bandwidth" in text and "Headline" in text


def test_cli_rejects_a_folder_without_results(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert main(["report", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no attn-*.csv results found" in err[0] and str(empty) in err[0]


def test_chromium_renders_page_without_console_errors(report_index, tmp_path):
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install -y chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    url = report_index.resolve().as_uri()
    shot = tmp_path / "page.png"
    done = subprocess.run([browser, *flags, "--window-size=1400,2400", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=120)
    assert "Uncaught" not in done.stderr and "ERROR:CONSOLE" not in done.stderr, done.stderr[-2000:]
    assert shot.is_file(), done.stderr[-2000:]
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1400)
    assert pixels.std() > 0.05, "screenshot is blank"
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    figures = set(re.findall(r'data-figure="([^"]+)"', dom.stdout))
    assert figures == {p.stem for p in report_index.parent.glob("*.png")}
