"""Atomic, link-safe writes and safe folder modes (fusemax.fileio), and the results writers using them."""
from __future__ import annotations

import os
import stat

import pytest

from fusemax import fileio, results
from tests.experiments.test_results import _result


def test_write_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = tmp_path / "out" / "results.csv"
    target.parent.mkdir()
    target.symlink_to(victim)
    fileio.write_text_atomic(target, "a,b\n")
    assert victim.read_text() == "precious\n"
    assert not target.is_symlink() and target.read_text() == "a,b\n"
    assert [p.name for p in target.parent.iterdir()] == ["results.csv"]   # no temporary left


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text("old\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        fileio.write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_every_created_folder_is_safe_under_umask_000(tmp_path):
    old = os.umask(0)
    try:
        fileio.write_text_atomic(tmp_path / "a" / "b" / "c" / "f.txt", "x")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o775, folder
    assert stat.S_IMODE((tmp_path / "a" / "b" / "c" / "f.txt").stat().st_mode) == 0o664


def test_results_write_never_follows_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    folder = tmp_path / "out" / "results"
    folder.mkdir(parents=True)
    for name in ("attn-binding.csv", "einsums.csv", "run.json"):
        (folder / name).symlink_to(victim)
    results.write(tmp_path / "out", [_result()], {"engine": "test"})
    assert victim.read_text() == "precious\n"
    assert not any(p.is_symlink() for p in folder.iterdir())
    assert results.load(tmp_path / "out")["binding"]["latency"].tolist() == [0.002]


def test_end2end_and_pareto_writers_are_atomic(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("end2end-flat.csv", "pareto.csv"):
        (folder / name).symlink_to(victim)
    results.write_end2end(tmp_path, {"flat": []})
    results.write_pareto(tmp_path, [])
    assert victim.read_text() == "precious\n"
    assert (folder / "end2end-flat.csv").read_text().splitlines() == [",".join(results.END2END.columns)]
    assert (folder / "pareto.csv").read_text().splitlines() == [",".join(results.PARETO.columns)]
