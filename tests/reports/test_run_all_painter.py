"""``run_all.py``'s painter: the paper's figures drawn in a background process during the study, then the
report from the same process, so that the main process never imports matplotlib; when the painter cannot
answer, the main process writes the report itself."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

RUN_ALL = Path(__file__).resolve().parents[2] / "scripts" / "run_all.py"


def _run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all_under_test", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_painter_writes_the_report_and_the_main_process_never_imports_matplotlib(run_dir, tmp_path):
    shutil.copytree(run_dir / "results", tmp_path / "results")
    child = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("run_all", {str(RUN_ALL)!r})
run_all = importlib.util.module_from_spec(spec); spec.loader.exec_module(run_all)
answer = run_all._Painter({str(tmp_path)!r}).report()
print(json.dumps({{"answer": answer, "matplotlib": "matplotlib" in sys.modules}}))
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=600)
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["answer"] == ["ok", str(tmp_path / "report" / "index.html")]
    assert said["matplotlib"] is False
    report = tmp_path / "report"
    assert (report / "index.html").is_file()
    assert {"fig8", "roofline-BERT", "roofline-XLM"} <= {p.stem for p in report.glob("*.pdf")}


def test_a_painter_that_died_leaves_the_report_to_the_main_process(tmp_path):
    painter = _run_all()._Painter(str(tmp_path))
    painter.process.kill()
    painter.process.join()
    assert painter.report() is None


def test_the_painter_reports_why_it_could_not_write_the_report(tmp_path):
    # an empty folder: no paper results and no study, which write_report refuses with one clear reason
    kind, why = _run_all()._Painter(str(tmp_path)).report()
    assert kind == "error" and "attn-" in why


def test_a_stopped_painter_ends_at_once(tmp_path):
    painter = _run_all()._Painter(str(tmp_path))
    painter.stop()
    assert not painter.process.is_alive() and painter.process.exitcode is not None
