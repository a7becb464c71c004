"""Issue 28: no verb writes through a symbolic link planted at one of its output paths, and no reader
follows a link out of a results folder.

Each writer test first runs the verb into a clean folder to learn every file it writes (so a file added
later is covered too), then plants a link to a victim at each of those paths in a fresh folder, runs the
verb again and checks that the victim is untouched and that every output is now a plain file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fusemax import results
from fusemax.cli import main
from fusemax.errors import FusemaxError
from fusemax.render import render, write_rendered
from fusemax.workload import Workload, get_model
from tests.experiments.test_results import _result

VICTIM = "precious, not yours\n"


def _outputs(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def _plant(folder: Path, names: list[Path], victim: Path) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(victim)


def _check_written_around(folder: Path, names: list[Path], victim: Path) -> None:
    assert victim.read_text() == VICTIM
    for name in names:
        path = folder / name
        assert path.is_file() and not path.is_symlink(), name
    assert not [p for p in folder.rglob("*") if p.is_symlink()]


def _verb_through_links(tmp_path: Path, argv_for) -> None:
    """Run ``argv_for(out)`` into a clean folder, then again into one with a link at every output path."""
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM)
    clean, planted = tmp_path / "clean", tmp_path / "planted"
    assert main(argv_for(clean)) == 0
    names = _outputs(clean)
    assert names
    _plant(planted, names, victim)
    assert main(argv_for(planted)) == 0
    _check_written_around(planted, names, victim)


RENDER = ["render", "--config", "binding", "--model", "BERT", "--seq-len", "1K"]


def test_render_never_writes_through_a_planted_link(tmp_path):
    _verb_through_links(tmp_path, lambda out: [*RENDER, "-o", str(out)])


def test_render_for_timeloop_never_writes_through_a_planted_link(tmp_path):
    _verb_through_links(tmp_path, lambda out: [*RENDER, "-o", str(out / "specs"), "--for-timeloop",
                                               str(out / "timeloop"), "--timeloop-keys", "v3.0.3"])


def _qk_files(tmp_path: Path, config: str = "binding") -> list[str]:
    write_rendered(render(config, Workload(get_model("BERT"), 1024)), tmp_path / "spec")
    return sorted(str(p) for p in (tmp_path / "spec" / "qk").glob("*.yaml"))


def test_model_never_writes_through_a_planted_link(tmp_path):
    files = _qk_files(tmp_path)
    _verb_through_links(tmp_path, lambda out: ["model", *files, "-o", str(out)])


def test_mapper_never_writes_through_a_planted_link(tmp_path):
    write_rendered(render("unfused", Workload(get_model("T5"), 1024)), tmp_path / "spec")
    d = tmp_path / "spec" / "qk"
    files = [str(d / f) for f in ("arch.yaml", "problem.yaml", "constraints.yaml", "mapper.yaml")]
    _verb_through_links(tmp_path, lambda out: ["mapper", *files, "-o", str(out)])


def test_animate_never_writes_through_a_planted_link(tmp_path):
    _verb_through_links(tmp_path, lambda out: ["animate", "--config", "binding", "--einsums", "RM", "--pe", "2x2",
                                               "--pe1d", "2", "--size", "B=1,H=1,M=4,P=2,E=2", "--no-mp4",
                                               "-o", str(out)])


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--out", str(out), "--configs", "binding,flat", "--models", "BERT", "--seq-lens", "1K",
                 "--quiet"]) == 0
    return out


def test_report_never_writes_through_a_planted_link(small_run, tmp_path):
    _verb_through_links(tmp_path, lambda out: ["report", str(small_run), "-o", str(out)])


def test_run_never_writes_through_a_planted_link(tmp_path):
    _verb_through_links(tmp_path, lambda out: ["run", "--out", str(out), "--configs", "binding", "--models", "BERT",
                                               "--seq-lens", "1K", "--quiet", "--cache", str(tmp_path / "cache")])


# --- readers -----------------------------------------------------------------------------------------

def _copy_run(small_run: Path, tmp_path: Path) -> Path:
    import shutil
    shutil.copytree(small_run / "results", tmp_path / "res" / "results")
    return tmp_path / "res"


def test_report_refuses_a_run_json_linked_out_of_the_folder_and_leaks_nothing(small_run, tmp_path, capsys):
    res = _copy_run(small_run, tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"api_key": "hunter2-do-not-leak"}))
    (res / "results" / "run.json").unlink()
    (res / "results" / "run.json").symlink_to(secret)
    assert main(["report", str(res)]) == 2
    err = capsys.readouterr().err
    assert str(res / "results" / "run.json") in err and "symbolic link out of the results folder" in err
    assert "hunter2" not in err
    index = res / "report" / "index.html"
    assert not index.exists() or "hunter2" not in index.read_text()


@pytest.mark.parametrize("name", ["attn-binding.csv", "einsums.csv", "roofline.csv"])
def test_a_results_csv_linked_out_is_refused_without_quoting_it(small_run, tmp_path, name, capsys):
    res = _copy_run(small_run, tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("model,seq_len,traffic,latency,energy\nTOPSECRET,1,2,3,x-secret-cell\n")
    (res / "results" / name).unlink()
    (res / "results" / name).symlink_to(secret)
    with pytest.raises(FusemaxError, match="symbolic link out of the results folder") as caught:
        results.load(res)
    assert str(res / "results" / name) in str(caught.value) and "SECRET" not in str(caught.value).upper()
    assert main(["validate", str(res)]) == 2
    assert "secret" not in capsys.readouterr().err.lower().replace(str(tmp_path).lower(), "")


def test_a_link_inside_the_folder_is_read(tmp_path):
    # a link to a file of the same folder leaks nothing; it is read like the file
    folder = results.write(tmp_path, [_result()], {"engine": "test"})
    os.rename(folder / "attn-binding.csv", folder / "attn-binding.data")
    (folder / "attn-binding.csv").symlink_to("attn-binding.data")
    assert results.load(tmp_path)["binding"]["latency"].tolist() == [0.002]
